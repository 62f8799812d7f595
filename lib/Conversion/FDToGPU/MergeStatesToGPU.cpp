//===- MergeStatesToGPU.cpp - fd.merge_states to one GPU kernel -----------===//
//
// One CTA per (query head, sequence), one thread per element of the row (as
// the online merge of the partials): every thread reads the N log-sum-exps
// (one broadcast load each), forms the weights 2^(lse_i log2(e) - M) and
// sums its element of each state; thread 0 writes the merged lse. The
// states are read once and the output written once, so the kernel moves
// (N + 1) B Hq D elements: a memory-bound pass that needs no workspace and
// no synchronisation.
//
//===----------------------------------------------------------------------===//
#include "KernelUtils.h"

#include "fd/Dialect/FD/IR/FDOps.h"

#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/PatternMatch.h"

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
    gpu::GPUModuleOp module = getKernelModule(op, rewriter);
    auto fn = createKernel(module, rewriter, loc,
                           (entryName(op) + "_merge_states").str(),
                           bindValues(bindings, operands), headDim);
    setManifestAttrs(fn, role::kMergeStates, entryName(op),
                     {symbol::kHq, symbol::kB});
    buildBody(fn, rewriter, n);

    Value c1 = arith::ConstantIndexOp::create(rewriter, loc, 1);
    Value batch = memref::DimOp::create(rewriter, loc, op.getOut(), 0);
    Value heads = arith::ConstantIndexOp::create(rewriter, loc, numHeads);
    Value threads = arith::ConstantIndexOp::create(rewriter, loc, headDim);
    gpu::LaunchFuncOp::create(rewriter, loc, fn,
                              gpu::KernelDim3{heads, batch, c1},
                              gpu::KernelDim3{threads, c1, c1}, Value(),
                              operands);
    rewriter.eraseOp(op);
    return success();
  }

  static void buildBody(gpu::GPUFuncOp fn, OpBuilder &b, size_t n) {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&fn.getBody().front());
    Location loc = fn.getLoc();
    KernelEmitter e{b, loc};
    Value d = gpu::ThreadIdOp::create(b, loc, gpu::Dimension::x);
    Value head = gpu::BlockIdOp::create(b, loc, gpu::Dimension::x);
    Value batch = gpu::BlockIdOp::create(b, loc, gpu::Dimension::y);
    auto state = [&](std::string_view prefix, size_t i) {
      return getBoundArg(fn, std::string(prefix) + std::to_string(i));
    };
    // Every load is issued before any arithmetic waits on one.
    SmallVector<Value> x, o;
    for (size_t i = 0; i < n; ++i) {
      Value l = memref::LoadOp::create(b, loc,
                                       state(binding::kStateLsePrefix, i),
                                       ValueRange{batch, head});
      x.push_back(e.mul(l, e.f32(kLog2e)));
      o.push_back(memref::LoadOp::create(b, loc,
                                         state(binding::kStateOutPrefix, i),
                                         ValueRange{batch, head, d}));
    }
    // From -FLT_MAX: a row whose lses are all -inf gets weights 0 and total
    // 0 (a zero row, lse -inf) instead of -inf - -inf.
    Value big = e.f32(-FLT_MAX);
    for (Value xi : x)
      big = e.maxf(big, xi);
    Value total = e.f32(0), numer = e.f32(0);
    for (size_t i = 0; i < n; ++i) {
      Value w = e.exp2(e.sub(x[i], big));
      total = e.add(total, w);
      numer = e.add(numer, e.mul(e.extf(o[i], b.getF32Type()), w));
    }
    emitMergedRow(fn, e, numer, total, big, batch, head, d);
    gpu::ReturnOp::create(b, loc);
  }
};
} // namespace

void mlir::fd::gpu_kernels::populateMergeStatesToGPUPatterns(
    RewritePatternSet &patterns) {
  patterns.add<MergeStatesToGPU>(patterns.getContext());
}
