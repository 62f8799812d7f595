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
#include "KernelUtils.h"
#include "fd/Conversion/FDToSCF/FDToSCF.h"
#include "fd/Dialect/FD/IR/FDOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
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

namespace {
//===----------------------------------------------------------------------===//
// fd.partial_attention
//===----------------------------------------------------------------------===//

struct PartialAttentionToGPU : OpRewritePattern<PartialAttentionOp> {
  PartialAttentionToGPU(MLIRContext *ctx, const FDToGPUOptions &options)
      : OpRewritePattern(ctx), options(options) {}

  LogicalResult matchAndRewrite(PartialAttentionOp op,
                                PatternRewriter &rewriter) const override {
    if (isa<UnifiedMaxAttr>(op.getSoftmax()))
      return rewriter.notifyMatchFailure(op, "unified_max is not lowered yet");
    AttentionShape shape = getAttentionShape(op.getQuery(), op.getKey());
    int64_t blockSize = options.blockSize;
    // threadsPerRow (8, 16 or 32) divides any multiple of 32.
    if (blockSize % 32 != 0 || blockSize > 1024 || options.unroll < 1)
      return rewriter.notifyMatchFailure(op, "bad block size or unroll");

    Location loc = op.getLoc();
    gpu::GPUModuleOp module = getKernelModule(op, rewriter);
    SmallVector<Value> operands = {op.getQuery(), op.getKey(),  op.getValue(),
                                   op.getLengths(), op.getAcc(), op.getMax(),
                                   op.getSum(),    op.getChunkSize()};
    std::string name = (entryName(op) + "_partial_online").str();
    auto fn = createKernel(module, rewriter, loc, name,
                           ValueRange(operands).getTypes(), blockSize);
    setManifestAttrs(fn, rewriter, "partial", entryName(op),
                     {"S", "Hkv", "B"},
                     {"q", "k", "v", "lens", "partial_acc", "partial_max",
                      "partial_sum", "chunk"},
                     op.getSoftmax());
    if (options.minCtasPerSm > 0)
      fn->setAttr("nvvm.minctasm",
                  rewriter.getI32IntegerAttr(int32_t(options.minCtasPerSm)));
    buildBody(fn, rewriter, shape, op.getScale().convertToDouble());

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
                              /*dynamicSharedMemorySize=*/Value(), operands);
    rewriter.eraseOp(op);
    return success();
  }

  void buildBody(gpu::GPUFuncOp fn, OpBuilder &b, const AttentionShape &shape,
                 double scale) const {
    OpBuilder::InsertionGuard guard(b);
    Block &entry = fn.getBody().front();
    b.setInsertionPointToStart(&entry);
    Location loc = fn.getLoc();
    KernelEmitter e{b, loc};
    Value q = entry.getArgument(0), k = entry.getArgument(1),
          v = entry.getArgument(2), lens = entry.getArgument(3),
          accOut = entry.getArgument(4), maxOut = entry.getArgument(5),
          sumOut = entry.getArgument(6), chunk = entry.getArgument(7);

    const int64_t headDim = shape.headDim, group = shape.groupSize();
    const int64_t threadsPerRow = headDim / kVectorWidth;
    const int64_t rowsInParallel = options.blockSize / threadsPerRow;
    const int64_t unroll = options.unroll;
    Type f32 = b.getF32Type();
    auto vec = VectorType::get({kVectorWidth}, f32);

    Value tid = gpu::ThreadIdOp::create(b, loc, gpu::Dimension::x);
    Value split = gpu::BlockIdOp::create(b, loc, gpu::Dimension::x);
    Value kvHead = gpu::BlockIdOp::create(b, loc, gpu::Dimension::y);
    Value batch = gpu::BlockIdOp::create(b, loc, gpu::Dimension::z);
    Value lane = arith::RemUIOp::create(b, loc, tid, e.idx(threadsPerRow));
    Value slot = arith::DivUIOp::create(b, loc, tid, e.idx(threadsPerRow));
    Value d0 = e.muli(lane, e.idx(kVectorWidth));

    Value len = e.length(lens, batch);
    Value begin = e.mini(e.muli(split, chunk), len);
    Value end = e.mini(e.addi(begin, chunk), len);

    // The group's query rows, pre-scaled into the log2 domain.
    Value scaleLog2e = e.splat(e.f32(scale * kLog2e), vec);
    SmallVector<Value> qFrag;
    for (int64_t i = 0; i < group; ++i) {
      Value head = e.addi(e.muli(kvHead, e.idx(group)), e.idx(i));
      auto ld = vector::LoadOp::create(
          b, loc, VectorType::get({kVectorWidth}, shape.elementType), q,
          ValueRange{batch, head, d0});
      ld.setAlignment(16);
      qFrag.push_back(e.mul(e.extf(ld, vec), scaleLog2e));
    }

    // State per query head: running max, sum, accumulator (log2 domain).
    // The max starts finite so that an empty range never computes -inf-(-inf).
    SmallVector<Value> init;
    for (int64_t i = 0; i < group; ++i)
      init.push_back(e.f32(-FLT_MAX));
    for (int64_t i = 0; i < group; ++i)
      init.push_back(e.f32(0));
    for (int64_t i = 0; i < group; ++i)
      init.push_back(arith::ConstantOp::create(
          b, loc, DenseElementsAttr::get(vec, b.getF32FloatAttr(0))));

    KVCacheAccess keys(k, batch, kvHead), values(v, batch, kvHead);
    // The trip count must be the same for every thread: the shuffles below
    // are full-warp shfl.sync, and row groups of one warp that ran different
    // numbers of iterations would deadlock. So the loop walks the split in
    // CTA-wide steps and each group masks the rows past `end`.
    Value start = begin;
    Value step = e.idx(rowsInParallel * unroll);
    auto tokenAt = [&](Value t0, int64_t u) {
      return e.addi(e.addi(t0, slot), e.idx(u * rowsInParallel));
    };
    // The K rows then the V rows of the tile at t0 (requires t0 < end). Rows
    // past `end` are clamped to t0, so no token at or past the length is
    // ever read; their scores are masked by the caller.
    auto loadTile = [&](Value t0) {
      SmallVector<Value> tokens, rows;
      for (int64_t u = 0; u < unroll; ++u) {
        Value t = tokenAt(t0, u);
        tokens.push_back(
            e.select(e.cmp(arith::CmpIPredicate::ult, t, end), t, t0));
        rows.push_back(keys.loadRow(b, loc, tokens.back(), d0));
      }
      for (int64_t u = 0; u < unroll; ++u)
        rows.push_back(values.loadRow(b, loc, tokens[u], d0));
      return rows;
    };
    // With prefetch, the tile at t0 is loaded in the previous iteration (or
    // before the loop) and carried in registers, so the loads of one tile
    // overlap the arithmetic of the one before: a split of few iterations
    // (short contexts) then pays one memory latency, not one per iteration.
    // The guard is CTA-uniform, so it does not break the warp-wide shuffles.
    auto rowType = VectorType::get({kVectorWidth}, shape.elementType);
    auto guardedTile = [&](Value t0) {
      SmallVector<Type> types(2 * unroll, rowType);
      auto branch = scf::IfOp::create(
          b, loc, types, e.cmp(arith::CmpIPredicate::ult, t0, end),
          /*withElseRegion=*/true);
      {
        OpBuilder::InsertionGuard g(b);
        b.setInsertionPointToStart(branch.thenBlock());
        scf::YieldOp::create(b, loc, loadTile(t0));
        b.setInsertionPointToStart(branch.elseBlock());
        Value zero = arith::ConstantOp::create(
            b, loc,
            DenseElementsAttr::get(rowType,
                                   b.getFloatAttr(shape.elementType, 0)));
        scf::YieldOp::create(b, loc, SmallVector<Value>(2 * unroll, zero));
      }
      return SmallVector<Value>(branch.getResults());
    };
    const bool prefetch = options.prefetch;
    if (prefetch)
      init.append(guardedTile(start));
    auto loop = scf::ForOp::create(
        b, loc, start, end, step, init,
        [&](OpBuilder &, Location, Value t0, ValueRange state) {
          // Issue every load first: `unroll` K and V rows per thread in
          // flight (and, with prefetch, those of the next tile).
          SmallVector<Value> rows, next;
          if (prefetch) {
            for (Value row : state.take_back(2 * unroll))
              rows.push_back(row);
            next = guardedTile(e.addi(t0, step));
          } else {
            rows = loadTile(t0);
          }
          SmallVector<Value> valid, kRows(rows.begin(), rows.begin() + unroll),
              vRows(rows.begin() + unroll, rows.end());
          for (int64_t u = 0; u < unroll; ++u)
            valid.push_back(
                e.cmp(arith::CmpIPredicate::ult, tokenAt(t0, u), end));
          SmallVector<Value> kf, vf;
          for (int64_t u = 0; u < unroll; ++u) {
            kf.push_back(e.extf(kRows[u], vec));
            vf.push_back(e.extf(vRows[u], vec));
          }

          SmallVector<Value> nextM, nextL, nextAcc;
          for (int64_t i = 0; i < group; ++i) {
            SmallVector<Value> x;
            Value m = state[i];
            for (int64_t u = 0; u < unroll; ++u) {
              Value partial = vector::ReductionOp::create(
                  b, loc, vector::CombiningKind::ADD,
                  e.mul(qFrag[i], kf[u]));
              Value s = e.groupSum(partial, threadsPerRow);
              s = e.select(valid[u], s, e.f32(-FLT_MAX));
              x.push_back(s);
              m = e.maxf(m, s);
            }
            Value corr = e.exp2(e.sub(state[i], m));
            Value l = e.mul(state[group + i], corr);
            Value acc = e.mul(state[2 * group + i], e.splat(corr, vec));
            for (int64_t u = 0; u < unroll; ++u) {
              Value p = e.exp2(e.sub(x[u], m));
              p = e.select(valid[u], p, e.f32(0));
              l = e.add(l, p);
              acc = vector::FMAOp::create(b, loc, e.splat(p, vec), vf[u], acc);
            }
            nextM.push_back(m);
            nextL.push_back(l);
            nextAcc.push_back(acc);
          }
          SmallVector<Value> yields(nextM);
          yields.append(nextL);
          yields.append(nextAcc);
          yields.append(next);
          scf::YieldOp::create(b, loc, yields);
        });

    // Merge the thread groups' states, one query head at a time, through a
    // small shared buffer (4 KB at 128 threads), then write the split's
    // partial state.
    auto module = fn->getParentOfType<gpu::GPUModuleOp>();
    Value smAcc = getSharedBuffer(module, b, loc, fn.getName().str() + "_acc",
                                  {rowsInParallel, headDim});
    Value smMax = getSharedBuffer(module, b, loc, fn.getName().str() + "_max",
                                  {rowsInParallel});
    Value smSum = getSharedBuffer(module, b, loc, fn.getName().str() + "_sum",
                                  {rowsInParallel});
    Value isLeader = e.cmp(arith::CmpIPredicate::eq, lane, e.idx(0));
    Value isFirst = e.cmp(arith::CmpIPredicate::eq, tid, e.idx(0));
    for (int64_t i = 0; i < group; ++i) {
      Value head = e.addi(e.muli(kvHead, e.idx(group)), e.idx(i));
      auto st = vector::StoreOp::create(b, loc, loop.getResult(2 * group + i),
                                        smAcc, ValueRange{slot, d0});
      st.setAlignment(16);
      scf::IfOp::create(b, loc, isLeader, [&](OpBuilder &, Location) {
        memref::StoreOp::create(b, loc, loop.getResult(i), smMax, slot);
        memref::StoreOp::create(b, loc, loop.getResult(group + i), smSum,
                                slot);
        scf::YieldOp::create(b, loc);
      });
      gpu::BarrierOp::create(b, loc);

      Value big = e.f32(-FLT_MAX);
      SmallVector<Value> maxes;
      for (int64_t j = 0; j < rowsInParallel; ++j) {
        maxes.push_back(memref::LoadOp::create(b, loc, smMax, e.idx(j)));
        big = e.maxf(big, maxes.back());
      }
      SmallVector<Value> weights;
      Value total = e.f32(0);
      for (int64_t j = 0; j < rowsInParallel; ++j) {
        weights.push_back(e.exp2(e.sub(maxes[j], big)));
        Value l = memref::LoadOp::create(b, loc, smSum, e.idx(j));
        total = e.add(total, e.mul(l, weights.back()));
      }
      for (int64_t base = 0; base < headDim; base += options.blockSize) {
        Value d = e.addi(tid, e.idx(base));
        Value inRange = e.cmp(arith::CmpIPredicate::ult, d, e.idx(headDim));
        scf::IfOp::create(b, loc, inRange, [&](OpBuilder &, Location) {
          Value a = e.f32(0);
          for (int64_t j = 0; j < rowsInParallel; ++j) {
            Value x = memref::LoadOp::create(b, loc, smAcc,
                                             ValueRange{e.idx(j), d});
            a = e.add(a, e.mul(x, weights[j]));
          }
          memref::StoreOp::create(b, loc, a, accOut,
                                  ValueRange{batch, head, split, d});
          scf::YieldOp::create(b, loc);
        });
      }
      scf::IfOp::create(b, loc, isFirst, [&](OpBuilder &, Location) {
        memref::StoreOp::create(b, loc, big, maxOut,
                                ValueRange{batch, head, split});
        memref::StoreOp::create(b, loc, total, sumOut,
                                ValueRange{batch, head, split});
        scf::YieldOp::create(b, loc);
      });
      // The next head reuses the buffers.
      if (i + 1 < group)
        gpu::BarrierOp::create(b, loc);
    }
    gpu::ReturnOp::create(b, loc);
  }

  FDToGPUOptions options;
};

//===----------------------------------------------------------------------===//
// fd.merge_partials
//===----------------------------------------------------------------------===//

struct MergePartialsToGPU : OpRewritePattern<MergePartialsOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(MergePartialsOp op,
                                PatternRewriter &rewriter) const override {
    if (isa<UnifiedMaxAttr>(op.getSoftmax()))
      return rewriter.notifyMatchFailure(op, "unified_max is not lowered yet");
    Location loc = op.getLoc();
    auto outType = cast<MemRefType>(op.getOut().getType());
    int64_t headDim = outType.getDimSize(2);
    gpu::GPUModuleOp module = getKernelModule(op, rewriter);
    SmallVector<Value> operands = {op.getAcc(), op.getMax(), op.getSum(),
                                   op.getOut()};
    std::string name = (entryName(op) + "_merge_online").str();
    // One thread per output element of a (sequence, query head) row.
    auto fn = createKernel(module, rewriter, loc, name,
                           ValueRange(operands).getTypes(), headDim);
    setManifestAttrs(fn, rewriter, "merge", entryName(op), {"Hq", "B"},
                     {"partial_acc", "partial_max", "partial_sum", "out"},
                     op.getSoftmax());
    buildBody(fn, rewriter);

    Value c1 = arith::ConstantIndexOp::create(rewriter, loc, 1);
    Value batch = memref::DimOp::create(rewriter, loc, op.getOut(), 0);
    Value heads =
        arith::ConstantIndexOp::create(rewriter, loc, outType.getDimSize(1));
    Value threads = arith::ConstantIndexOp::create(rewriter, loc, headDim);
    gpu::LaunchFuncOp::create(rewriter, loc, fn,
                              gpu::KernelDim3{heads, batch, c1},
                              gpu::KernelDim3{threads, c1, c1}, Value(),
                              operands);
    rewriter.eraseOp(op);
    return success();
  }

  /// Splits merged per step of the unrolled loops.
  static constexpr int64_t kMergeUnroll = 8;
  using SplitStep =
      function_ref<SmallVector<Value>(ArrayRef<Value> splits, ValueRange)>;

  /// Folds \p step over splits [0, numSplits): kMergeUnroll splits per
  /// iteration, then the remainder one at a time. Returns the final state.
  static SmallVector<Value> forEachSplit(KernelEmitter &e, Value numSplits,
                                         ValueRange init, SplitStep step) {
    OpBuilder &b = e.b;
    Location loc = e.loc;
    Value unroll = e.idx(kMergeUnroll);
    Value full = e.muli(
        arith::DivUIOp::create(b, loc, numSplits, unroll), unroll);
    auto main = scf::ForOp::create(
        b, loc, e.idx(0), full, unroll, init,
        [&](OpBuilder &, Location, Value s0, ValueRange st) {
          SmallVector<Value> ss;
          for (int64_t i = 0; i < kMergeUnroll; ++i)
            ss.push_back(e.addi(s0, e.idx(i)));
          scf::YieldOp::create(b, loc, step(ss, st));
        });
    auto rest = scf::ForOp::create(
        b, loc, full, numSplits, e.idx(1), main.getResults(),
        [&](OpBuilder &, Location, Value s, ValueRange st) {
          scf::YieldOp::create(b, loc, step({s}, st));
        });
    return SmallVector<Value>(rest.getResults());
  }

  static void buildBody(gpu::GPUFuncOp fn, OpBuilder &b) {
    OpBuilder::InsertionGuard guard(b);
    Block &entry = fn.getBody().front();
    b.setInsertionPointToStart(&entry);
    Location loc = fn.getLoc();
    KernelEmitter e{b, loc};
    Value acc = entry.getArgument(0), max = entry.getArgument(1),
          sum = entry.getArgument(2), out = entry.getArgument(3);
    Value d = gpu::ThreadIdOp::create(b, loc, gpu::Dimension::x);
    Value head = gpu::BlockIdOp::create(b, loc, gpu::Dimension::x);
    Value batch = gpu::BlockIdOp::create(b, loc, gpu::Dimension::y);
    Value splits = memref::DimOp::create(b, loc, acc, 2);
    Value c0 = e.idx(0), c1 = e.idx(1);

    // Log-sum-exp: the largest split max, then every split rescaled to it.
    // Both loops over the splits are unrolled with all loads of a step
    // issued first: a rolled loop waits one memory latency per split, which
    // at S = 64 splits costs tens of microseconds, more than the whole merge
    // should.
    auto gmax = forEachSplit(
        e, splits, ValueRange{e.f32(-FLT_MAX)},
        [&](ArrayRef<Value> ss, ValueRange st) -> SmallVector<Value> {
          SmallVector<Value> ms;
          for (Value s : ss)
            ms.push_back(memref::LoadOp::create(b, loc, max,
                                                ValueRange{batch, head, s}));
          Value m = st[0];
          for (Value x : ms)
            m = e.maxf(m, x);
          return {m};
        });
    Value big = gmax[0];
    auto sums = forEachSplit(
        e, splits, ValueRange{e.f32(0), e.f32(0)},
        [&](ArrayRef<Value> ss, ValueRange st) -> SmallVector<Value> {
          SmallVector<Value> ms, ls, as;
          for (Value s : ss) {
            ms.push_back(memref::LoadOp::create(b, loc, max,
                                                ValueRange{batch, head, s}));
            ls.push_back(memref::LoadOp::create(b, loc, sum,
                                                ValueRange{batch, head, s}));
            as.push_back(memref::LoadOp::create(
                b, loc, acc, ValueRange{batch, head, s, d}));
          }
          Value total = st[0], numer = st[1];
          for (size_t i = 0; i < ss.size(); ++i) {
            Value w = e.exp2(e.sub(ms[i], big));
            total = e.add(total, e.mul(ls[i], w));
            numer = e.add(numer, e.mul(as[i], w));
          }
          return {total, numer};
        });
    // A row whose splits are all empty (length 0) has total 0: write zeros.
    Value total = sums[0];
    Value positive = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGT,
                                           total, e.f32(0));
    Value safe = e.select(positive, total, e.f32(1));
    Value res = arith::DivFOp::create(b, loc, sums[1], safe);
    res = e.select(positive, res, e.f32(0));
    Type et = cast<MemRefType>(out.getType()).getElementType();
    res = arith::TruncFOp::create(b, loc, et, res);
    memref::StoreOp::create(b, loc, res, out, ValueRange{batch, head, d});
    gpu::ReturnOp::create(b, loc);
  }
};

struct ConvertFDToGPU : mlir::fd::impl::ConvertFDToGPUBase<ConvertFDToGPU> {
  using Base::Base;
  void runOnOperation() override {
    ModuleOp module = getOperation();
    bool bad = false;
    module.walk([&](Operation *op) {
      if (isa<DecodeAttentionOp>(op)) {
        op->emitOpError() << "must be split before GPU lowering: run "
                             "fd-split-kv first";
        bad = true;
      } else if (isa<FlatGemmOp>(op)) {
        op->emitOpError() << "has no GPU lowering yet";
        bad = true;
      }
    });
    if (blockSize <= 0 || blockSize % 32 != 0 || blockSize > 1024 ||
        unroll < 1) {
      module.emitError() << "convert-fd-to-gpu: block-size must be a positive "
                            "multiple of 32 up to 1024 and unroll at least 1";
      bad = true;
    }
    if (bad)
      return signalPassFailure();

    FDToGPUOptions options;
    options.blockSize = blockSize;
    options.unroll = unroll;
    options.minCtasPerSm = minCtasPerSm;
    options.prefetch = prefetch;
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
  patterns.add<PartialAttentionToGPU>(patterns.getContext(), options);
  patterns.add<MergePartialsToGPU>(patterns.getContext());
  populateUnifiedMaxToGPUPatterns(patterns, options);
  populateFDSplitPlanLoweringPatterns(patterns);
}
