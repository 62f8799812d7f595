//===- MergeStatesToGPU.cpp - fd.merge_states to one GPU kernel -----------===//
//
// Each thread merges 8 consecutive elements of one row (b, h): one 16-byte
// load per state, so that enough bytes are in flight to reach the memory's
// bandwidth (a first version with one 2-byte element per thread ran at 0.6
// TB/s on the H200, docs/perf.md "Session 11"). A CTA of 128 threads holds
// R = 128 / (D / 8) rows of one sequence (fewer when Hq is smaller); the
// grid is [ceil(Hq / R), B]. Every thread reads its row's N log-sum-exps
// (broadcast loads), forms the weights 2^(lse_i log2(e) - M) and sums its
// slice of each state; the row's first thread writes the merged lse. The
// states are read once and the output written once: (N + 1) B Hq D
// elements, no workspace, no synchronisation.
//
//===----------------------------------------------------------------------===//
#include "KernelUtils.h"

#include "fd/Dialect/FD/IR/FDOps.h"

#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/PatternMatch.h"

#include <algorithm>
#include <cfloat>
#include <string>

using namespace mlir;
using namespace mlir::fd;
using namespace mlir::fd::gpu_kernels;
namespace binding = ::fdb::binding;
namespace role = ::fdb::role;
namespace symbol = ::fdb::symbol;

namespace {
struct MergeStatesToGPU : OpRewritePattern<MergeStatesOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(MergeStatesOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto outType = cast<MemRefType>(op.getOut().getType());
    int64_t numHeads = outType.getDimSize(1), headDim = outType.getDimSize(2);
    const size_t n = op.getStates().size();
    // The binding names of the states: stored here, the kernel copies them.
    std::vector<std::string> names;
    for (size_t i = 0; i < n; ++i)
      names.push_back(std::string(binding::kStateOutPrefix) +
                      std::to_string(i));
    for (size_t i = 0; i < n; ++i)
      names.push_back(std::string(binding::kStateLsePrefix) +
                      std::to_string(i));
    SmallVector<Value> operands(op.getStates());
    llvm::append_range(operands, op.getStateLses());
    SmallVector<std::string_view> bindings(names.begin(), names.end());
    bindings.push_back(binding::kOut);
    operands.push_back(op.getOut());
    if (Value lse = op.getLse()) {
      bindings.push_back(binding::kLse);
      operands.push_back(lse);
    }
    const int64_t perRow = headDim / ::fdb::kMergeStatesElemsPerThread;
    const int64_t rows = std::min<int64_t>(kThreadsPerCta / perRow, numHeads);
    const int64_t ctasPerBatch = (numHeads + rows - 1) / rows;
    gpu::GPUModuleOp module = getKernelModule(op, rewriter);
    auto fn = createKernel(module, rewriter, loc,
                           (entryName(op) + "_merge_states").str(),
                           bindValues(bindings, operands), perRow);
    fn.setKnownBlockSizeAttr(rewriter.getDenseI32ArrayAttr(
        {int32_t(perRow), int32_t(rows), 1}));
    const std::string gridX = std::to_string(ctasPerBatch);
    setManifestAttrs(fn, role::kMergeStates, entryName(op),
                     {gridX, symbol::kB});
    buildBody(fn, rewriter, n, rows, numHeads);

    Value c1 = arith::ConstantIndexOp::create(rewriter, loc, 1);
    Value batch = memref::DimOp::create(rewriter, loc, op.getOut(), 0);
    Value ctas = arith::ConstantIndexOp::create(rewriter, loc, ctasPerBatch);
    Value tx = arith::ConstantIndexOp::create(rewriter, loc, perRow);
    Value ty = arith::ConstantIndexOp::create(rewriter, loc, rows);
    gpu::LaunchFuncOp::create(rewriter, loc, fn,
                              gpu::KernelDim3{ctas, batch, c1},
                              gpu::KernelDim3{tx, ty, c1}, Value(), operands);
    rewriter.eraseOp(op);
    return success();
  }

  /// Threads per CTA (fewer when Hq has fewer rows than fit).
  static constexpr int64_t kThreadsPerCta = 128;

  static void buildBody(gpu::GPUFuncOp fn, OpBuilder &b, size_t n,
                        int64_t rows, int64_t numHeads) {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&fn.getBody().front());
    Location loc = fn.getLoc();
    KernelEmitter e{b, loc};
    Value tx = gpu::ThreadIdOp::create(b, loc, gpu::Dimension::x);
    Value ty = gpu::ThreadIdOp::create(b, loc, gpu::Dimension::y);
    Value head = e.addi(e.muli(gpu::BlockIdOp::create(b, loc,
                                                      gpu::Dimension::x),
                               rows),
                        ty);
    Value batch = gpu::BlockIdOp::create(b, loc, gpu::Dimension::y);
    Value d = e.muli(tx, ::fdb::kMergeStatesElemsPerThread);
    // The last CTA of a sequence may have rows past Hq.
    if (numHeads % rows != 0) {
      auto inRange = scf::IfOp::create(b, loc, e.ult(head, e.idx(numHeads)),
                                       /*withElseRegion=*/false);
      b.setInsertionPointToStart(&inRange.getThenRegion().front());
    }
    auto state = [&](std::string_view prefix, size_t i) {
      return getBoundArg(fn, std::string(prefix) + std::to_string(i));
    };
    Type elem =
        cast<MemRefType>(state(binding::kStateOutPrefix, 0).getType())
            .getElementType();
    auto vt = VectorType::get({::fdb::kMergeStatesElemsPerThread}, elem);
    auto vf32 = VectorType::get({::fdb::kMergeStatesElemsPerThread},
                                b.getF32Type());
    // Every load is issued before any arithmetic waits on one. The 16-byte
    // alignment holds: innermost stride 1 (verifier), and the runtime checks
    // the base pointers and the outer strides.
    SmallVector<Value> x, o;
    for (size_t i = 0; i < n; ++i) {
      Value l = memref::LoadOp::create(b, loc,
                                       state(binding::kStateLsePrefix, i),
                                       ValueRange{batch, head});
      x.push_back(e.mul(l, e.f32(kLog2e)));
      auto load = vector::LoadOp::create(b, loc, vt,
                                         state(binding::kStateOutPrefix, i),
                                         ValueRange{batch, head, d});
      load.setAlignment(16);
      o.push_back(load);
    }
    // From -FLT_MAX: a row whose lses are all -inf gets weights 0 and total
    // 0 (a zero row, lse -inf) instead of -inf - -inf.
    Value big = e.f32(-FLT_MAX);
    for (Value xi : x)
      big = e.maxf(big, xi);
    Value total = e.f32(0), numer = e.zeros(vf32);
    for (size_t i = 0; i < n; ++i) {
      Value w = e.exp2(e.sub(x[i], big));
      total = e.add(total, w);
      numer = e.add(numer, e.mul(e.extf(o[i], vf32), e.splat(w, vf32)));
    }
    emitMergedRow(fn, e, numer, total, big, batch, head, d);
    b.setInsertionPointToEnd(&fn.getBody().front());
    gpu::ReturnOp::create(b, loc);
  }
};
} // namespace

void mlir::fd::gpu_kernels::populateMergeStatesToGPUPatterns(
    RewritePatternSet &patterns) {
  patterns.add<MergeStatesToGPU>(patterns.getContext());
}
