//===- FDToGPU.cpp - split decode attention to GPU kernels ----------------===//
//
// Decode attention is memory-bound: the only goal of the partial kernel is to
// stream every K/V byte once at full bandwidth. Hence:
//   - one CTA per (sequence, KV head, split) computes all Hq/Hkv query heads
//     of its group, so GQA reads each K/V row once, not once per query head;
//   - a group of D/8 threads covers one token row with 16-byte loads, and the
//     CTA's groups walk the split's tokens in an interleaved order so every
//     warp-wide load is fully coalesced;
//   - each group keeps its own online-softmax state in registers; the groups
//     are merged once at the end through shared memory;
//   - scores live in the log2 domain (log2(e) folded into the scale) so that
//     every exponential is one `ex2.approx` instruction, without libdevice.
//
//===----------------------------------------------------------------------===//
#include "fd/Conversion/FDToGPU/FDToGPU.h"
#include "TokenLoop.h"
#include "../Utils/TensorCore.h"
#include "fd/Conversion/FDToSCF/FDToSCF.h"
#include "fd/Dialect/FD/IR/FDOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include <cfloat>

namespace mlir::fd {
#define GEN_PASS_DEF_CONVERTFDTOGPU
#include "fd/Conversion/Passes.h.inc"
} // namespace mlir::fd

using namespace mlir;
using namespace mlir::fd;
using namespace mlir::fd::gpu_kernels;
namespace binding = ::fdb::binding;
namespace symbol = ::fdb::symbol;
namespace variant = ::fdb::variant;
namespace role = ::fdb::role;

namespace {
struct MergedRow {
  Value max, total, numer;
};

MergedRow emitOnlineMerge(KernelEmitter &e, Value acc, Value max, Value sum,
                          Value batch, Value head, Value d, Value numSplits,
                          int64_t unroll);

//===----------------------------------------------------------------------===//
// fd.partial_attention
//===----------------------------------------------------------------------===//

/// What a split-attention kernel built by PartialAttentionToGPU writes.
enum class PartialKind {
  Split,   ///< the split's (max, sum, acc) state
  Unsplit, ///< the output, one split over the whole sequence
  Cluster, ///< the output, a cluster's splits merged in distributed shared
           ///< memory (split_cluster)
};

struct PartialAttentionToGPU : OpRewritePattern<PartialAttentionOp> {
  PartialAttentionToGPU(MLIRContext *ctx, const FDToGPUOptions &options)
      : OpRewritePattern(ctx), options(options) {}

  LogicalResult matchAndRewrite(PartialAttentionOp op,
                                PatternRewriter &rewriter) const override {
    // Unified max is lowered from the partial, merge and fallback together
    // (UnifiedMaxKernels.cpp).
    if (isa<UnifiedMaxAttr>(op.getSoftmax()))
      return rewriter.notifyMatchFailure(op, "lowered by UnifiedMaxToGPU");
    AttentionShape shape = getAttentionShape(op.getQuery(), op.getKey());
    // threadsPerRow (8, 16 or 32) divides any multiple of 32.
    if (options.blockSize % 32 != 0 || options.blockSize > 1024 ||
        options.unroll < 1)
      return rewriter.notifyMatchFailure(op, "bad block size or unroll");
    Engine engine = chooseEngine(options, shape);
    int64_t blockSize = threadsFor(engine, options, shape);

    Location loc = op.getLoc();
    gpu::GPUModuleOp module = getKernelModule(op, rewriter);
    SmallVector<Value> operands = {
        op.getQuery(), op.getKey(), op.getValue(), op.getLengths(),
        op.getAcc(),   op.getMax(), op.getSum(),   op.getChunkSize()};
    SmallVector<std::string_view> bindings = {
        binding::kQ,          binding::kK,          binding::kV,
        binding::kLens,       binding::kPartialAcc, binding::kPartialMax,
        binding::kPartialSum, symbol::kChunk};
    appendPageTable(bindings, operands, op);
    std::string name = (entryName(op) + "_partial_online").str();
    auto fn = createKernel(module, rewriter, loc, name,
                           bindValues(bindings, operands), blockSize);
    // With a merge in the same block, this kernel is the `split` variant's.
    MergePartialsOp merge = findMerge(op);
    setManifestAttrs(fn, role::kPartial, entryName(op),
                     {symbol::kS, symbol::kHkv, symbol::kB},
                     merge ? variant::kSplit : std::string_view(),
                     op.getSoftmax());
    buildBody(fn, rewriter, engine, shape, op.getScale().convertToDouble(),
              PartialKind::Split);

    // With the merge in the same block, the entry also gets the `unsplit`
    // launch variant: one CTA per (sequence, KV head) over the whole
    // sequence, writing the normalised output itself. When B * Hkv alone
    // fills the GPU, splitting buys no parallelism and the merge launch and
    // the partial round trip through memory are pure cost (FlashDecoding++'s
    // heuristic dataflow); the runtime picks per call.
    if (merge) {
      SmallVector<Value> unsplitOperands = {op.getQuery(),   op.getKey(),
                                            op.getValue(),   op.getLengths(),
                                            merge.getOut(), op.getChunkSize()};
      SmallVector<std::string_view> unsplitBindings = {
          binding::kQ,    binding::kK,   binding::kV,
          binding::kLens, binding::kOut, symbol::kChunk};
      appendPageTable(unsplitBindings, unsplitOperands, op);
      if (Value lse = merge.getLse()) {
        unsplitBindings.push_back(binding::kLse);
        unsplitOperands.push_back(lse);
      }
      auto unsplitFn = createKernel(
          module, rewriter, loc, (entryName(op) + "_unsplit_online").str(),
          bindValues(unsplitBindings, unsplitOperands), blockSize);
      setManifestAttrs(unsplitFn, role::kFused, entryName(op),
                       {"1", symbol::kHkv, symbol::kB}, variant::kUnsplit,
                       op.getSoftmax());
      buildBody(unsplitFn, rewriter, engine, shape,
                op.getScale().convertToDouble(), PartialKind::Unsplit);

      // split_cluster: the split and the merge in one launch. It saves
      // what the merge kernel costs after the partial grid (its wait, one
      // L2 round trip of the partials) at short contexts, and needs no
      // workspace, unlike a last-CTA merge, whose counters must start at
      // zero (docs/perf.md, sessions 9 and 14).
      if (options.clusterSplits > 0) {
        SmallVector<Value> clusterOperands = {op.getQuery(), op.getKey(),
                                              op.getValue(), op.getLengths(),
                                              merge.getOut()};
        SmallVector<std::string_view> clusterBindings = {
            binding::kQ, binding::kK, binding::kV, binding::kLens,
            binding::kOut};
        appendPageTable(clusterBindings, clusterOperands, op);
        if (Value lse = merge.getLse()) {
          clusterBindings.push_back(binding::kLse);
          clusterOperands.push_back(lse);
        }
        auto clusterFn = createKernel(
            module, rewriter, loc, (entryName(op) + "_cluster_online").str(),
            bindValues(clusterBindings, clusterOperands), blockSize);
        const int64_t ctas = options.clusterSplits;
        std::string gridX = std::to_string(ctas);
        setManifestAttrs(clusterFn, role::kFused, entryName(op),
                         {gridX, symbol::kHkv, symbol::kB},
                         variant::kSplitCluster, op.getSoftmax());
        clusterFn->setAttr(::fdb::ir::kCluster,
                           rewriter.getI64ArrayAttr({ctas, 1, 1}));
        // The PTX's .reqnctapercluster: a launch without the cluster is the
        // driver's error, never a CTA reading a peer that is not there.
        clusterFn->setAttr(NVVM::NVVMDialect::getClusterDimAttrName(),
                           rewriter.getDenseI32ArrayAttr(
                               {static_cast<int32_t>(ctas), 1, 1}));
        buildBody(clusterFn, rewriter, engine, shape,
                  op.getScale().convertToDouble(), PartialKind::Cluster);
      }

      // Read by MergePartialsToGPU, which lowers `merge` next.
      rewriter.modifyOpInPlace(merge, [&] {
        merge->setAttr(fdb::ir::kVariant,
                       rewriter.getStringAttr(toRef(variant::kSplit)));
      });
    }

    // Host side: grid (S, Hkv, B).
    Value c1 = arith::ConstantIndexOp::create(rewriter, loc, 1);
    Value splits = memref::DimOp::create(rewriter, loc, op.getAcc(), 2);
    Value batch = memref::DimOp::create(rewriter, loc, op.getQuery(), 0);
    Value kvHeads =
        arith::ConstantIndexOp::create(rewriter, loc, shape.numKVHeads);
    Value threads = arith::ConstantIndexOp::create(rewriter, loc, blockSize);
    gpu::LaunchFuncOp::create(rewriter, loc, fn,
                              gpu::KernelDim3{splits, kvHeads, batch},
                              gpu::KernelDim3{threads, c1, c1},
                              dynamicSharedMemorySize(rewriter, loc, fn),
                              operands);
    rewriter.eraseOp(op);
    return success();
  }

  /// The online merge of `op`'s partials later in the same block, if any.
  static MergePartialsOp findMerge(PartialAttentionOp op) {
    for (Operation *user : op.getAcc().getUsers())
      if (auto merge = dyn_cast<MergePartialsOp>(user))
        if (merge->getBlock() == op->getBlock() && op->isBeforeInBlock(merge) &&
            merge.getMax() == op.getMax() && merge.getSum() == op.getSum() &&
            isa<OnlineSoftmaxAttr>(merge.getSoftmax()))
          return merge;
    return {};
  }

  /// The split kernel writes the (max, sum, acc) state of its split; the
  /// unsplit kernel (launched with one split) writes acc / sum, or zeros
  /// for an empty sequence, in the output's element type.
  void buildBody(gpu::GPUFuncOp fn, OpBuilder &b, Engine engine,
                 const AttentionShape &shape, double scale,
                 PartialKind kind) const {
    const bool unsplit = kind == PartialKind::Unsplit;
    const bool cluster = kind == PartialKind::Cluster;
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&fn.getBody().front());
    KernelEmitter e{b, fn.getLoc()};
    Value q = getBoundArg(fn, binding::kQ),
          lens = getBoundArg(fn, binding::kLens);
    // The cluster's CTAs size their chunks from the length on the device.
    Value chunk = cluster ? Value() : getBoundArg(fn, symbol::kChunk);
    Value out, lse, accOut, maxOut, sumOut;
    if (unsplit || cluster) {
      out = getBoundArg(fn, binding::kOut);
      lse = lookupBoundArg(fn, binding::kLse);
    } else {
      accOut = getBoundArg(fn, binding::kPartialAcc);
      maxOut = getBoundArg(fn, binding::kPartialMax);
      sumOut = getBoundArg(fn, binding::kPartialSum);
    }
    Layout lay = makeLayout(e, shape.headDim,
                            threadsFor(engine, options, shape), options.unroll);
    int64_t stages = options.mmaStages != 0
                         ? options.mmaStages
                         : defaultMmaStages(shape.headDim, unsplit);
    SplitWork w = emitSplitWork(fn, e, lay, engine, stages, shape,
                                scale, q, getKVCacheArgs(fn), lens, chunk,
                                Mode::Online,
                                /*phiLog2=*/Value(), /*combineBuffers=*/nullptr,
                                cluster ? options.clusterSplits : 0,
                                options.speculativeFirstTile);

    // Combine the CTA's states, one query head at a time, then write the
    // split's partial state (or the output; with a cluster, the CTA's state
    // into its shared memory past the combine's buffers, for the merge).
    const int64_t group = shape.groupSize();
    ClusterStates states;
    if (cluster)
      states = makeClusterStates(fn, e, shape, engine);
    for (int64_t i = 0; i < group; ++i) {
      Value head = w.heads[i];
      auto [big, total] = w.combine(
          i, [&](Value d, Value a, Value sum) {
            if (cluster) {
              memref::StoreOp::create(b, e.loc, a, states.buf,
                                      ValueRange{e.idx(i), d});
              return;
            }
            if (!unsplit) {
              memref::StoreOp::create(b, e.loc, a, accOut,
                                      ValueRange{w.batch, head, w.split, d});
              return;
            }
            Value positive = arith::CmpFOp::create(
                b, e.loc, arith::CmpFPredicate::OGT, sum, e.f32(0));
            Value res = arith::DivFOp::create(
                b, e.loc, a, e.select(positive, sum, e.f32(1)));
            res = e.select(positive, res, e.f32(0));
            Type et = cast<MemRefType>(out.getType()).getElementType();
            memref::StoreOp::create(b, e.loc,
                                    arith::TruncFOp::create(b, e.loc, et, res),
                                    out, ValueRange{w.batch, head, d});
          });
      if (cluster) {
        Value isFirst = e.cmp(arith::CmpIPredicate::eq, lay.tid, e.idx(0));
        scf::IfOp::create(b, e.loc, isFirst, [&](OpBuilder &, Location) {
          memref::StoreOp::create(b, e.loc, big, states.buf,
                                  ValueRange{e.idx(i), e.idx(shape.headDim)});
          memref::StoreOp::create(
              b, e.loc, total, states.buf,
              ValueRange{e.idx(i), e.idx(shape.headDim + 1)});
          scf::YieldOp::create(b, e.loc);
        });
      } else if (!unsplit || lse) {
        Value isFirst = e.cmp(arith::CmpIPredicate::eq, lay.tid, e.idx(0));
        scf::IfOp::create(b, e.loc, isFirst, [&](OpBuilder &, Location) {
          if (unsplit) {
            memref::StoreOp::create(b, e.loc, e.logSumExp(big, total, false),
                                    lse, ValueRange{w.batch, head});
          } else {
            memref::StoreOp::create(b, e.loc, big, maxOut,
                                    ValueRange{w.batch, head, w.split});
            memref::StoreOp::create(b, e.loc, total, sumOut,
                                    ValueRange{w.batch, head, w.split});
          }
          scf::YieldOp::create(b, e.loc);
        });
      }
      // The next head reuses the buffers.
      if (i + 1 < group && w.combineReusesBuffers)
        gpu::BarrierOp::create(b, e.loc);
    }
    if (cluster)
      emitClusterMerge(e, states, shape, lay, w, out, lse);
    gpu::ReturnOp::create(b, e.loc);
  }

  /// A split_cluster CTA's (acc[D], max, sum) per query head of its group:
  /// on tensor cores in its dynamic shared memory after the combine's
  /// buffers, on CUDA cores (whose combine buffers are static) a static
  /// buffer of its own.
  struct ClusterStates {
    Value buf; ///< memref<group x (D + 2) x f32, shared>
    int64_t rowFloats = 0;
  };

  ClusterStates makeClusterStates(gpu::GPUFuncOp fn, KernelEmitter &e,
                                  const AttentionShape &shape,
                                  Engine engine) const {
    const int64_t d = shape.headDim, group = shape.groupSize();
    if (engine == Engine::CudaCores)
      return {getSharedBuffer(fn->getParentOfType<gpu::GPUModuleOp>(), e.b,
                              e.loc, (fn.getName() + "_states").str(),
                              {group, d + 2}),
              d + 2};
    const int64_t warps = threadsFor(engine, options, shape) / 32;
    const int64_t offset = llvm::alignTo(mmaCombineBytes(d, warps), 16);
    const int64_t bytes = offset + group * (d + 2) * 4;
    auto size = fn->getAttrOfType<IntegerAttr>(::fdb::ir::kDynamicSmem);
    if (!size || size.getInt() < bytes)
      fn->setAttr(::fdb::ir::kDynamicSmem, e.b.getI64IntegerAttr(bytes));
    ClusterStates s;
    s.rowFloats = d + 2;
    s.buf = sharedView(e, dynamicSharedMemory(e), {group, d + 2},
                       e.b.getF32Type(), offset);
    return s;
  }

  /// After every CTA of the cluster stored its states: the cluster's
  /// group x D outputs are divided over all its threads; each reads the
  /// (max, sum, acc) of its element from every CTA (mapa +
  /// ld.shared::cluster), merges them by the log-sum-exp rule and stores
  /// the output (and the LSE). A second cluster barrier keeps every CTA's
  /// shared memory alive until its peers have read it.
  void emitClusterMerge(KernelEmitter &e, const ClusterStates &states,
                        const AttentionShape &shape, const Layout &lay,
                        const SplitWork &w, Value out, Value lse) const {
    OpBuilder &b = e.b;
    Location loc = e.loc;
    MLIRContext *ctx = b.getContext();
    const int64_t ctas = options.clusterSplits, d = shape.headDim,
                  group = shape.groupSize(), threads = lay.blockSize;
    Value tid = lay.tid;
    NVVM::ClusterArriveOp::create(b, loc, /*aligned=*/UnitAttr::get(ctx));
    NVVM::ClusterWaitOp::create(b, loc, /*aligned=*/UnitAttr::get(ctx));

    SmallVector<Value> peers = mapClusterPeers(e, states.buf, ctas);
    auto peerLoad = [&](Value peer, Value offset) {
      return loadClusterF32(e, peer, offset);
    };

    const int64_t elements = group * d, all = ctas * threads;
    Value first = e.addi(tid, e.muli(w.split, threads));
    Type et = cast<MemRefType>(out.getType()).getElementType();
    for (int64_t k = 0; k * all < elements; ++k) {
      Value idx = e.addi(first, k * all);
      auto body = [&] {
        Value row = e.divui(idx, d), col = e.remui(idx, d);
        Value rowBase = e.muli(row, states.rowFloats);
        Value maxAt = e.addi(rowBase, d), sumAt = e.addi(rowBase, d + 1);
        Value accAt = e.addi(rowBase, col);
        SmallVector<Value> ms, ls, as;
        for (Value peer : peers) {
          ms.push_back(peerLoad(peer, maxAt));
          ls.push_back(peerLoad(peer, sumAt));
          as.push_back(peerLoad(peer, accAt));
        }
        Value big = ms[0];
        for (Value m : ArrayRef(ms).drop_front())
          big = e.maxf(big, m);
        Value total = e.f32(0), numer = e.f32(0);
        for (int64_t c = 0; c < ctas; ++c) {
          Value wgt = e.exp2(e.sub(ms[c], big));
          total = e.add(total, e.mul(ls[c], wgt));
          numer = e.add(numer, e.mul(as[c], wgt));
        }
        Value positive = arith::CmpFOp::create(
            b, loc, arith::CmpFPredicate::OGT, total, e.f32(0));
        Value res = arith::DivFOp::create(
            b, loc, numer, e.select(positive, total, e.f32(1)));
        res = e.select(positive, res, e.f32(0));
        Value head = e.addi(e.muli(w.kvHead, group), row);
        memref::StoreOp::create(b, loc,
                                arith::TruncFOp::create(b, loc, et, res), out,
                                ValueRange{w.batch, head, col});
        if (lse) {
          Value colZero = e.cmp(arith::CmpIPredicate::eq, col, e.idx(0));
          scf::IfOp::create(b, loc, colZero, [&](OpBuilder &, Location) {
            memref::StoreOp::create(b, loc, e.logSumExp(big, total, false),
                                    lse, ValueRange{w.batch, head});
            scf::YieldOp::create(b, loc);
          });
        }
      };
      if ((k + 1) * all <= elements) {
        body();
        continue;
      }
      scf::IfOp::create(b, loc, e.ult(idx, e.idx(elements)),
                        [&](OpBuilder &, Location) {
                          body();
                          scf::YieldOp::create(b, loc);
                        });
    }
    NVVM::ClusterArriveOp::create(b, loc, /*aligned=*/UnitAttr::get(ctx));
    NVVM::ClusterWaitOp::create(b, loc, /*aligned=*/UnitAttr::get(ctx));
  }

  FDToGPUOptions options;
};

//===----------------------------------------------------------------------===//
// fd.merge_partials
//===----------------------------------------------------------------------===//

/// Splits merged per step of the merge kernel's loop: every load of a step
/// is issued before any is used, so a step costs one memory latency.
constexpr int64_t kMergeUnroll = 16;

/// The log-sum-exp merge of element \p d of row (batch, head) over the
/// splits [0, numSplits) of the partial state (acc, max, sum), in one pass:
/// \p unroll splits per step (the last step masked), the running state
/// rescaled to each step's new max. Two passes (the largest max first, then
/// every split rescaled to it) with rolled remainders cost 4 dependent
/// round trips at S = 16: ncu measured the merge kernel at 4.6 us beside a
/// 7.3 us partial at B = 1, L = 1K (docs/perf.md, session 9).
MergedRow emitOnlineMerge(KernelEmitter &e, Value acc, Value max, Value sum,
                          Value batch, Value head, Value d, Value numSplits,
                          int64_t unroll) {
  OpBuilder &b = e.b;
  Location loc = e.loc;
  Value last = arith::SubIOp::create(b, loc, numSplits, e.idx(1));
  auto loop = scf::ForOp::create(
      b, loc, e.idx(0), numSplits, e.idx(unroll),
      ValueRange{e.f32(-FLT_MAX), e.f32(0), e.f32(0)},
      [&](OpBuilder &, Location, Value s0, ValueRange st) {
        SmallVector<Value> ms, ls, as;
        for (int64_t i = 0; i < unroll; ++i) {
          Value s = e.addi(s0, e.idx(i));
          Value valid = e.ult(s, numSplits);
          Value at = e.mini(s, last);
          auto ld = [&](Value buf, ValueRange idx, Value dflt) {
            return e.select(valid, memref::LoadOp::create(b, loc, buf, idx),
                            dflt);
          };
          ms.push_back(ld(max, ValueRange{batch, head, at}, e.f32(-FLT_MAX)));
          ls.push_back(ld(sum, ValueRange{batch, head, at}, e.f32(0)));
          as.push_back(ld(acc, ValueRange{batch, head, at, d}, e.f32(0)));
        }
        Value big = st[0];
        for (Value m : ms)
          big = e.maxf(big, m);
        Value f = e.exp2(e.sub(st[0], big));
        Value total = e.mul(st[1], f), numer = e.mul(st[2], f);
        for (int64_t i = 0; i < unroll; ++i) {
          Value w = e.exp2(e.sub(ms[i], big));
          total = e.add(total, e.mul(ls[i], w));
          numer = e.add(numer, e.mul(as[i], w));
        }
        scf::YieldOp::create(b, loc, ValueRange{big, total, numer});
      });
  return {loop.getResult(0), loop.getResult(1), loop.getResult(2)};
}

struct MergePartialsToGPU : OpRewritePattern<MergePartialsOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(MergePartialsOp op,
                                PatternRewriter &rewriter) const override {
    if (isa<UnifiedMaxAttr>(op.getSoftmax()))
      return rewriter.notifyMatchFailure(op, "lowered by UnifiedMaxToGPU");
    // The partial pattern builds the `unsplit` variant from the pair, so the
    // merge waits until its partial is lowered: whatever order a driver
    // visits them in (bottom-up, the greedy default, reaches the merge
    // first), the result is the same.
    for (Operation *user : op.getAcc().getUsers())
      if (isa<PartialAttentionOp>(user))
        return rewriter.notifyMatchFailure(op, "its partial is lowered first");
    Location loc = op.getLoc();
    auto outType = cast<MemRefType>(op.getOut().getType());
    int64_t headDim = outType.getDimSize(2);
    gpu::GPUModuleOp module = getKernelModule(op, rewriter);
    SmallVector<Value> operands = {op.getAcc(), op.getMax(), op.getSum(),
                                   op.getOut()};
    SmallVector<std::string_view> bindings = {
        binding::kPartialAcc, binding::kPartialMax, binding::kPartialSum,
        binding::kOut};
    if (Value lse = op.getLse()) {
      bindings.push_back(binding::kLse);
      operands.push_back(lse);
    }
    std::string name = (entryName(op) + "_merge_online").str();
    // One thread per output element of a (sequence, query head) row.
    auto fn = createKernel(module, rewriter, loc, name,
                           bindValues(bindings, operands), headDim);
    StringAttr variant = op->getAttrOfType<StringAttr>(fdb::ir::kVariant);
    setManifestAttrs(fn, role::kMerge, entryName(op),
                     {symbol::kHq, symbol::kB},
                     variant ? std::string_view(variant.getValue())
                             : std::string_view(),
                     op.getSoftmax());
    buildBody(fn, rewriter);

    Value c1 = arith::ConstantIndexOp::create(rewriter, loc, 1);
    Value batch = memref::DimOp::create(rewriter, loc, op.getOut(), 0);
    Value heads =
        arith::ConstantIndexOp::create(rewriter, loc, outType.getDimSize(1));
    Value threads = arith::ConstantIndexOp::create(rewriter, loc, headDim);
    gpu::LaunchFuncOp::create(
        rewriter, loc, fn, gpu::KernelDim3{heads, batch, c1},
        gpu::KernelDim3{threads, c1, c1}, Value(), operands);
    rewriter.eraseOp(op);
    return success();
  }

  static void buildBody(gpu::GPUFuncOp fn, OpBuilder &b) {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&fn.getBody().front());
    Location loc = fn.getLoc();
    KernelEmitter e{b, loc};
    Value acc = getBoundArg(fn, binding::kPartialAcc),
          max = getBoundArg(fn, binding::kPartialMax),
          sum = getBoundArg(fn, binding::kPartialSum);
    Value d = gpu::ThreadIdOp::create(b, loc, gpu::Dimension::x);
    Value head = gpu::BlockIdOp::create(b, loc, gpu::Dimension::x);
    Value batch = gpu::BlockIdOp::create(b, loc, gpu::Dimension::y);
    Value splits = memref::DimOp::create(b, loc, acc, 2);

    auto [big, total, numer] =
        emitOnlineMerge(e, acc, max, sum, batch, head, d, splits, kMergeUnroll);
    // A row whose splits are all empty (length 0) has total 0: write zeros.
    emitMergedRow(fn, e, numer, total, big, batch, head, d);
    gpu::ReturnOp::create(b, loc);
  }
};

struct ConvertFDToGPU : mlir::fd::impl::ConvertFDToGPUBase<ConvertFDToGPU> {
  using Base::Base;
  void getDependentDialects(DialectRegistry &registry) const override {
    KernelDialects::insert(registry);
  }
  void runOnOperation() override {
    ModuleOp module = getOperation();
    bool bad = false;
    module.walk([&](Operation *op) {
      if (isa<DecodeAttentionOp>(op)) {
        op->emitOpError() << "must be split before GPU lowering: run "
                             "fd-split-kv first";
        bad = true;
      } else if (isa<FlatGemmOp>(op)) {
        op->emitOpError() << "must be lowered before convert-fd-to-gpu: run "
                             "fd-tile-flat-gemm and convert-flat-gemm-to-gpu "
                             "first";
        bad = true;
      }
    });
    if (blockSize < 32 || blockSize % 32 != 0 || blockSize > 1024) {
      module.emitError() << "convert-fd-to-gpu: block-size must be a multiple "
                            "of 32 in [32, 1024], got "
                         << int64_t(blockSize);
      bad = true;
    }
    if (unroll < 1 || unroll > 16) {
      module.emitError() << "convert-fd-to-gpu: unroll must be in [1, 16], got "
                         << int64_t(unroll);
      bad = true;
    }
    if (mmaStages != 0 && (mmaStages < 2 || mmaStages > 8)) {
      module.emitError() << "convert-fd-to-gpu: mma-stages must be 0 (by "
                            "head dim) or in [2, 8], got "
                         << int64_t(mmaStages);
      bad = true;
    }
    if (mmaMinGroup < 0 || mmaMinGroup > kMmaMaxGroup) {
      module.emitError() << "convert-fd-to-gpu: mma-min-group must be in [0, "
                         << kMmaMaxGroup << "] (0: never use tensor cores), got "
                         << int64_t(mmaMinGroup);
      bad = true;
    }
    if (mmaWarps != 4 && mmaWarps != 8) {
      module.emitError() << "convert-fd-to-gpu: mma-warps must be 4 or 8, got "
                         << int64_t(mmaWarps);
      bad = true;
    }
    if (clusterSplits != 0 &&
        (clusterSplits < 2 || clusterSplits > kMaxClusterSplits)) {
      module.emitError() << "convert-fd-to-gpu: cluster-splits must be 0 (no "
                            "split_cluster variant) or in [2, "
                         << kMaxClusterSplits << "], got "
                         << int64_t(clusterSplits);
      bad = true;
    }
    if (bad)
      return signalPassFailure();

    FDToGPUOptions options;
    options.blockSize = blockSize;
    options.unroll = unroll;
    options.mmaMinGroup = mmaMinGroup;
    options.mmaStages = mmaStages;
    options.mmaWarps = mmaWarps;
    options.speculativeFirstTile = speculativeFirstTile;
    options.clusterSplits = clusterSplits;
    RewritePatternSet patterns(&getContext());
    populateFDToGPUPatterns(patterns, options);
    GreedyRewriteConfig config;
    // Kernels are created in a sibling gpu.module; do not revisit them.
    config.setRegionSimplificationLevel(GreedySimplifyRegionLevel::Disabled);
    // Program order, so kernels appear in the gpu.module in source order.
    config.setUseTopDownTraversal(true);
    if (failed(applyPatternsGreedily(module, std::move(patterns), config)))
      return signalPassFailure();
    // The unified-max kernels are built from the partial, the merge and the
    // fallback together; any piece left over was not in that form.
    module.walk([&](Operation *op) {
      Attribute softmax;
      if (auto p = dyn_cast<PartialAttentionOp>(op))
        softmax = p.getSoftmax();
      else if (auto m = dyn_cast<MergePartialsOp>(op))
        softmax = m.getSoftmax();
      else if (auto f = dyn_cast<OverflowFallbackOp>(op))
        softmax = f.getSoftmaxAttr();
      else
        return;
      if (isa<UnifiedMaxAttr>(softmax))
        op->emitOpError() << "with the unified_max strategy must be part of "
                             "the fd-split-kv form (fd.partial_attention, "
                             "fd.merge_partials and fd.overflow_fallback on "
                             "the same max/sum buffers)";
      else
        op->emitOpError() << "could not be lowered to GPU kernels";
      bad = true;
    });
    if (bad)
      signalPassFailure();
  }
};
} // namespace

void mlir::fd::populateFDToGPUPatterns(RewritePatternSet &patterns,
                                       const FDToGPUOptions &options) {
  KernelDialects::load(patterns.getContext());
  patterns.add<PartialAttentionToGPU>(patterns.getContext(), options);
  patterns.add<MergePartialsToGPU>(patterns.getContext());
  populateUnifiedMaxToGPUPatterns(patterns, options);
  populateMergeStatesToGPUPatterns(patterns);
  populateFDSplitPlanLoweringPatterns(patterns);
}
