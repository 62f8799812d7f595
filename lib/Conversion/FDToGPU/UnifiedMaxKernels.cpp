//===- UnifiedMaxKernels.cpp - FlashDecoding++ unified-max kernels --------===//
//
// With one max phi shared by every split, partials need no rescaling, so the
// merge is a plain sum and can be asynchronous. The split form
// (fd.partial_attention + fd.merge_partials + fd.overflow_fallback on the
// same max/sum buffers) becomes two launch variants, both in the gpu.module:
//
//   two_kernel    partial kernel (grid S x Hkv x B) writing numerators,
//                 denominators and the largest score per split; merge kernel
//                 (grid Hq x B) summing them, checking the row, and
//                 recomputing a flagged row with online softmax itself, so
//                 the launch sequence is fixed (CUDA graphs stay valid).
//   single_launch one kernel (grid S x Hkv x B): each CTA adds its partials
//                 into f32 accumulators with atomics; a per-(b, kv head)
//                 counter tells the last CTA, which checks the rows of its
//                 group, normalises (or recomputes a flagged row) and resets
//                 the accumulators and the counter to 0 for the next call.
//
// The host side launches the two-kernel variant; fd-compile lists both and
// the runtime chooses. The row check: with hi/lo = (phi +- threshold)
// log2(e), a row of positive length falls back when its largest score is
// above hi or below lo, or its sum is 0, infinite or NaN.
//
//===----------------------------------------------------------------------===//
#include "TokenLoop.h"

#include "fd/Dialect/FD/IR/FDOps.h"

#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/PatternMatch.h"

#include <cfloat>

using namespace mlir;
using namespace mlir::fd;
using namespace mlir::fd::gpu_kernels;

namespace {
Value fcmp(KernelEmitter &e, arith::CmpFPredicate p, Value x, Value y) {
  return arith::CmpFOp::create(e.b, e.loc, p, x, y);
}

/// total in (0, FLT_MAX]: false for 0, inf and NaN.
Value sumIsUsable(KernelEmitter &e, Value total) {
  return arith::AndIOp::create(
      e.b, e.loc, fcmp(e, arith::CmpFPredicate::OGT, total, e.f32(0)),
      fcmp(e, arith::CmpFPredicate::OLE, total, e.f32(FLT_MAX)));
}

Value divideOrZero(KernelEmitter &e, Value a, Value total) {
  Value positive = fcmp(e, arith::CmpFPredicate::OGT, total, e.f32(0));
  Value safe = e.select(positive, total, e.f32(1));
  Value r = arith::DivFOp::create(e.b, e.loc, a, safe);
  return e.select(positive, r, e.f32(0));
}

void storeOut(KernelEmitter &e, Value x, Value out, ValueRange idx) {
  Type et = cast<MemRefType>(out.getType()).getElementType();
  memref::StoreOp::create(e.b, e.loc,
                          arith::TruncFOp::create(e.b, e.loc, et, x), out, idx);
}

Value atomic(KernelEmitter &e, arith::AtomicRMWKind kind, Value x, Value mem,
             ValueRange idx) {
  return memref::AtomicRMWOp::create(e.b, e.loc, kind, x, mem, idx);
}

/// A GPU-scope acquire-release fence (fence.acq_rel.gpu): orders this
/// thread's accumulator atomics before the counter increment, and the last
/// CTA's counter read before its accumulator reads.
void fenceGpu(KernelEmitter &e) {
  LLVM::FenceOp::create(e.b, e.loc, LLVM::AtomicOrdering::acq_rel,
                        e.b.getStringAttr("device"));
}

Value isThread0(KernelEmitter &e, const Layout &lay) {
  return e.cmp(arith::CmpIPredicate::eq, lay.tid, e.idx(0));
}

/// The exact path for a flagged row: online softmax over [0, len) of query
/// head `head` by the whole CTA, normalised into `out`. The caller has made
/// the condition CTA-uniform and separated it from earlier buffer use.
void emitRowFallback(KernelEmitter &e, const Layout &lay,
                     const SharedBuffers &sb, Value q, Value k, Value v,
                     Value out, Value batch, Value head, Value kvHead,
                     Value len, double scale) {
  Value qFrag = loadQuery(e, lay, q, batch, head, scale);
  ThreadState st = emitTokenLoop(e, lay, {qFrag}, k, v, batch, kvHead, e.idx(0),
                                 len, Mode::Online, 0);
  combineGroups(
      e, lay, sb, st.m[0], st.l[0], st.acc[0], Mode::Online,
      [&](Value d, Value a, Value total) {
        storeOut(e, divideOrZero(e, a, total), out, ValueRange{batch, head, d});
      });
}

//===----------------------------------------------------------------------===//
// The pattern
//===----------------------------------------------------------------------===//

struct UnifiedMaxToGPU : OpRewritePattern<OverflowFallbackOp> {
  UnifiedMaxToGPU(MLIRContext *ctx, const FDToGPUOptions &options)
      : OpRewritePattern(ctx), options(options) {}

  LogicalResult matchAndRewrite(OverflowFallbackOp op,
                                PatternRewriter &rewriter) const override;

  FDToGPUOptions options;
};
} // namespace

namespace {
/// Constants of one unified-max lowering.
struct Params {
  AttentionShape shape;
  double scale, phiLog2, hiLog2, loLog2;
  int64_t blockSize, unroll;
  /// Carry the next tile's K/V rows through the token loop (the option of
  /// the same name); the exact fallback's loop never prefetches.
  bool prefetch;
};

Value toI32(KernelEmitter &e, Value flag) {
  return arith::ExtUIOp::create(e.b, e.loc, e.b.getI32Type(), flag);
}

void ifThread0(KernelEmitter &e, const Layout &lay, function_ref<void()> body) {
  scf::IfOp::create(e.b, e.loc, isThread0(e, lay), [&](OpBuilder &, Location) {
    body();
    scf::YieldOp::create(e.b, e.loc);
  });
}

/// `len > 0 && bad`.
Value onlyNonEmpty(KernelEmitter &e, Value bad, Value len) {
  Value nonEmpty = e.cmp(arith::CmpIPredicate::ugt, len, e.idx(0));
  return arith::AndIOp::create(e.b, e.loc, bad, nonEmpty);
}

/// Partial kernel of the two-kernel variant: like the online one, but every
/// split uses the same phi, so `sum`/`acc` need no rescaling later and `max`
/// only records the split's largest score for the row check.
void buildPartial(gpu::GPUFuncOp fn, OpBuilder &b, const Params &p) {
  OpBuilder::InsertionGuard guard(b);
  Block &entry = fn.getBody().front();
  b.setInsertionPointToStart(&entry);
  KernelEmitter e{b, fn.getLoc()};
  Value q = entry.getArgument(0), k = entry.getArgument(1),
        v = entry.getArgument(2), lens = entry.getArgument(3),
        accOut = entry.getArgument(4), maxOut = entry.getArgument(5),
        sumOut = entry.getArgument(6), chunk = entry.getArgument(7);
  Layout lay = makeLayout(e, p.shape.headDim, p.blockSize, p.unroll);
  SplitWork w = emitSplitWork(e, lay, p.shape, p.scale, q, k, v, lens, chunk,
                              Mode::FixedMax, p.phiLog2, p.prefetch);
  Value split = w.split, batch = w.batch;
  int64_t group = p.shape.groupSize();
  const SmallVector<Value> &heads = w.heads;
  const ThreadState &st = w.state;
  SharedBuffers sb = makeShared(fn, e, lay, /*withBroadcast=*/true);
  for (int64_t i = 0; i < group; ++i) {
    Value head = heads[i];
    auto [big, total] = combineGroups(
        e, lay, sb, st.m[i], st.l[i], st.acc[i], Mode::FixedMax,
        [&](Value d, Value a, Value) {
          memref::StoreOp::create(b, e.loc, a, accOut,
                                  ValueRange{batch, head, split, d});
        });
    ifThread0(e, lay, [&] {
      memref::StoreOp::create(b, e.loc, big, maxOut,
                              ValueRange{batch, head, split});
      memref::StoreOp::create(b, e.loc, total, sumOut,
                              ValueRange{batch, head, split});
    });
    if (i + 1 < group)
      gpu::BarrierOp::create(b, e.loc);
  }
  gpu::ReturnOp::create(b, e.loc);
}

/// Merge kernel of the two-kernel variant, one CTA per (query head,
/// sequence): plain sums, one division; a flagged row is recomputed here
/// with online softmax (the condition is CTA-uniform).
void buildMerge(gpu::GPUFuncOp fn, OpBuilder &b, const Params &p) {
  OpBuilder::InsertionGuard guard(b);
  Block &entry = fn.getBody().front();
  b.setInsertionPointToStart(&entry);
  KernelEmitter e{b, fn.getLoc()};
  Location loc = e.loc;
  Value acc = entry.getArgument(0), max = entry.getArgument(1),
        sum = entry.getArgument(2), out = entry.getArgument(3),
        q = entry.getArgument(4), k = entry.getArgument(5),
        v = entry.getArgument(6), lens = entry.getArgument(7),
        flags = entry.getArgument(8), count = entry.getArgument(9);
  Layout lay = makeLayout(e, p.shape.headDim, p.blockSize, p.unroll);
  Value head = gpu::BlockIdOp::create(b, loc, gpu::Dimension::x);
  Value batch = gpu::BlockIdOp::create(b, loc, gpu::Dimension::y);
  Value kvHead =
      arith::DivUIOp::create(b, loc, head, e.idx(p.shape.groupSize()));
  Value len = e.length(lens, batch);
  Value splits = memref::DimOp::create(b, loc, acc, 2);
  auto stats = scf::ForOp::create(
      b, loc, e.idx(0), splits, e.idx(1), ValueRange{e.f32(-FLT_MAX), e.f32(0)},
      [&](OpBuilder &, Location, Value s, ValueRange st) {
        Value m =
            memref::LoadOp::create(b, loc, max, ValueRange{batch, head, s});
        Value l =
            memref::LoadOp::create(b, loc, sum, ValueRange{batch, head, s});
        scf::YieldOp::create(b, loc,
                             ValueRange{e.maxf(st[0], m), e.add(st[1], l)});
      });
  Value m = stats.getResult(0), total = stats.getResult(1);
  Value bad = arith::OrIOp::create(
      b, loc, fcmp(e, arith::CmpFPredicate::UGT, m, e.f32(p.hiLog2)),
      fcmp(e, arith::CmpFPredicate::ULT, m, e.f32(p.loLog2)));
  Value usable = sumIsUsable(e, total);
  Value unusable = arith::XOrIOp::create(
      b, loc, usable, arith::ConstantIntOp::create(b, loc, 1, 1));
  bad = onlyNonEmpty(e, arith::OrIOp::create(b, loc, bad, unusable), len);
  ifThread0(e, lay, [&] {
    memref::StoreOp::create(b, loc, toI32(e, bad), flags,
                            ValueRange{batch, head});
  });
  scf::IfOp::create(
      b, loc, bad,
      [&](OpBuilder &, Location) {
        SharedBuffers sb = makeShared(fn, e, lay, /*withBroadcast=*/true);
        emitRowFallback(e, lay, sb, q, k, v, out, batch, head, kvHead, len,
                        p.scale);
        ifThread0(e, lay, [&] {
          atomic(e, arith::AtomicRMWKind::addi,
                 arith::ConstantIntOp::create(b, loc, b.getI32Type(), 1), count,
                 ValueRange{e.idx(0)});
        });
        scf::YieldOp::create(b, loc);
      },
      [&](OpBuilder &, Location) {
        for (int64_t base = 0; base < p.shape.headDim; base += p.blockSize) {
          Value d = e.addi(lay.tid, e.idx(base));
          Value inRange =
              e.cmp(arith::CmpIPredicate::ult, d, e.idx(p.shape.headDim));
          scf::IfOp::create(b, loc, inRange, [&](OpBuilder &, Location) {
            auto a = scf::ForOp::create(
                b, loc, e.idx(0), splits, e.idx(1), ValueRange{e.f32(0)},
                [&](OpBuilder &, Location, Value s, ValueRange st) {
                  Value x = memref::LoadOp::create(
                      b, loc, acc, ValueRange{batch, head, s, d});
                  scf::YieldOp::create(b, loc, e.add(st[0], x));
                });
            storeOut(e, divideOrZero(e, a.getResult(0), total), out,
                     ValueRange{batch, head, d});
            scf::YieldOp::create(b, loc);
          });
        }
        scf::YieldOp::create(b, loc);
      });
  gpu::ReturnOp::create(b, loc);
}

/// The single-launch kernel: partials go into f32 accumulators with atomics
/// and the last CTA of each (sequence, KV head) finishes the rows of its
/// group, then leaves the accumulators and its counter at zero, so the next
/// launch (or a CUDA-graph replay) needs no memset. It writes no per-row
/// flags: everything it keeps in the workspace besides the fallback counter
/// is zero between calls, so a later call laid out for another batch never
/// finds stale values in its accumulators.
void buildSingle(gpu::GPUFuncOp fn, OpBuilder &b, const Params &p) {
  OpBuilder::InsertionGuard guard(b);
  Block &entry = fn.getBody().front();
  b.setInsertionPointToStart(&entry);
  KernelEmitter e{b, fn.getLoc()};
  Location loc = e.loc;
  Value q = entry.getArgument(0), k = entry.getArgument(1),
        v = entry.getArgument(2), lens = entry.getArgument(3),
        out = entry.getArgument(4), uAcc = entry.getArgument(5),
        uSum = entry.getArgument(6), uBits = entry.getArgument(7),
        uCount = entry.getArgument(8), count = entry.getArgument(9),
        chunk = entry.getArgument(10);
  Layout lay = makeLayout(e, p.shape.headDim, p.blockSize, p.unroll);
  SplitWork w = emitSplitWork(e, lay, p.shape, p.scale, q, k, v, lens, chunk,
                              Mode::FixedMax, p.phiLog2, p.prefetch);
  Value kvHead = w.kvHead, batch = w.batch, len = w.len;
  Value splits = gpu::GridDimOp::create(b, loc, gpu::Dimension::x);
  int64_t group = p.shape.groupSize();
  Type i32 = b.getI32Type();
  auto i32c = [&](int64_t x) -> Value {
    return arith::ConstantIntOp::create(b, loc, i32, x);
  };
  const SmallVector<Value> &heads = w.heads;
  const ThreadState &st = w.state;
  SharedBuffers sb = makeShared(fn, e, lay, /*withBroadcast=*/true);
  // 1. Publish this split's partials. Empty splits add nothing.
  for (int64_t i = 0; i < group; ++i) {
    Value head = heads[i];
    auto [big, total] = combineGroups(
        e, lay, sb, st.m[i], st.l[i], st.acc[i], Mode::FixedMax,
        [&](Value d, Value a, Value total) {
          Value some = fcmp(e, arith::CmpFPredicate::UNE, total, e.f32(0));
          scf::IfOp::create(b, loc, some, [&](OpBuilder &, Location) {
            atomic(e, arith::AtomicRMWKind::addf, a, uAcc,
                   ValueRange{batch, head, d});
            scf::YieldOp::create(b, loc);
          });
        });
    ifThread0(e, lay, [&] {
      Value some = fcmp(e, arith::CmpFPredicate::UNE, total, e.f32(0));
      scf::IfOp::create(b, loc, some, [&](OpBuilder &, Location) {
        atomic(e, arith::AtomicRMWKind::addf, total, uSum,
               ValueRange{batch, head});
        scf::YieldOp::create(b, loc);
      });
      // bit 0: a score above hi; bit 1: a score at or above lo.
      Value above = fcmp(e, arith::CmpFPredicate::UGT, big, e.f32(p.hiLog2));
      Value inBand = fcmp(e, arith::CmpFPredicate::OGE, big, e.f32(p.loLog2));
      Value bits =
          arith::OrIOp::create(b, loc, e.select(above, i32c(1), i32c(0)),
                               e.select(inBand, i32c(2), i32c(0)));
      Value any = e.cmp(arith::CmpIPredicate::ne, bits, i32c(0));
      scf::IfOp::create(b, loc, any, [&](OpBuilder &, Location) {
        atomic(e, arith::AtomicRMWKind::ori, bits, uBits,
               ValueRange{batch, head});
        scf::YieldOp::create(b, loc);
      });
    });
    gpu::BarrierOp::create(b, loc);
  }
  // 2. Count this split in; the CTA that completes the count finishes.
  fenceGpu(e);
  gpu::BarrierOp::create(b, loc);
  ifThread0(e, lay, [&] {
    Value old = atomic(e, arith::AtomicRMWKind::addi, i32c(1), uCount,
                       ValueRange{batch, kvHead});
    Value lastIdx = arith::IndexCastOp::create(
        b, loc, i32, arith::SubIOp::create(b, loc, splits, e.idx(1)));
    Value last = e.cmp(arith::CmpIPredicate::eq, old, lastIdx);
    memref::StoreOp::create(b, loc, e.select(last, e.f32(1), e.f32(0)),
                            sb.bcast, ValueRange{e.idx(0)});
  });
  gpu::BarrierOp::create(b, loc);
  Value lastFlag =
      memref::LoadOp::create(b, loc, sb.bcast, ValueRange{e.idx(0)});
  Value isLast = fcmp(e, arith::CmpFPredicate::OGT, lastFlag, e.f32(0.5));
  scf::IfOp::create(b, loc, isLast, [&](OpBuilder &, Location) {
    fenceGpu(e);
    for (int64_t i = 0; i < group; ++i) {
      Value head = heads[i];
      // Read and reset in one atomic exchange, so the accumulators are zero
      // for the next call; atomics also bypass the non-coherent L1.
      ifThread0(e, lay, [&] {
        Value total = atomic(e, arith::AtomicRMWKind::assign, e.f32(0), uSum,
                             ValueRange{batch, head});
        Value bits = atomic(e, arith::AtomicRMWKind::assign, i32c(0), uBits,
                            ValueRange{batch, head});
        memref::StoreOp::create(b, loc, total, sb.bcast, ValueRange{e.idx(1)});
        memref::StoreOp::create(
            b, loc, arith::SIToFPOp::create(b, loc, b.getF32Type(), bits),
            sb.bcast, ValueRange{e.idx(2)});
      });
      gpu::BarrierOp::create(b, loc);
      Value total =
          memref::LoadOp::create(b, loc, sb.bcast, ValueRange{e.idx(1)});
      Value bits = arith::FPToSIOp::create(
          b, loc, i32,
          memref::LoadOp::create(b, loc, sb.bcast, ValueRange{e.idx(2)}));
      Value above =
          e.cmp(arith::CmpIPredicate::ne,
                arith::AndIOp::create(b, loc, bits, i32c(1)), i32c(0));
      Value noneInBand =
          e.cmp(arith::CmpIPredicate::eq,
                arith::AndIOp::create(b, loc, bits, i32c(2)), i32c(0));
      Value unusable =
          arith::XOrIOp::create(b, loc, sumIsUsable(e, total),
                                arith::ConstantIntOp::create(b, loc, 1, 1));
      Value bad = arith::OrIOp::create(
          b, loc, arith::OrIOp::create(b, loc, above, noneInBand), unusable);
      bad = onlyNonEmpty(e, bad, len);
      Value good = arith::XOrIOp::create(
          b, loc, bad, arith::ConstantIntOp::create(b, loc, 1, 1));
      for (int64_t base = 0; base < p.shape.headDim; base += p.blockSize) {
        Value d = e.addi(lay.tid, e.idx(base));
        Value inRange =
            e.cmp(arith::CmpIPredicate::ult, d, e.idx(p.shape.headDim));
        scf::IfOp::create(b, loc, inRange, [&](OpBuilder &, Location) {
          Value a = atomic(e, arith::AtomicRMWKind::assign, e.f32(0), uAcc,
                           ValueRange{batch, head, d});
          scf::IfOp::create(b, loc, good, [&](OpBuilder &, Location) {
            storeOut(e, divideOrZero(e, a, total), out,
                     ValueRange{batch, head, d});
            scf::YieldOp::create(b, loc);
          });
          scf::YieldOp::create(b, loc);
        });
      }
      scf::IfOp::create(b, loc, bad, [&](OpBuilder &, Location) {
        emitRowFallback(e, lay, sb, q, k, v, out, batch, head, kvHead, len,
                        p.scale);
        ifThread0(e, lay, [&] {
          atomic(e, arith::AtomicRMWKind::addi, i32c(1), count,
                 ValueRange{e.idx(0)});
        });
        scf::YieldOp::create(b, loc);
      });
      // The next head reuses the shared buffers.
      gpu::BarrierOp::create(b, loc);
    }
    ifThread0(e, lay, [&] {
      atomic(e, arith::AtomicRMWKind::assign, i32c(0), uCount,
             ValueRange{batch, kvHead});
    });
    scf::YieldOp::create(b, loc);
  });
  gpu::ReturnOp::create(b, loc);
}
} // namespace

LogicalResult
UnifiedMaxToGPU::matchAndRewrite(OverflowFallbackOp op,
                                 PatternRewriter &rewriter) const {
  PartialAttentionOp partial;
  MergePartialsOp merge;
  for (Operation *user : op.getMax().getUsers()) {
    if (user->getBlock() != op->getBlock() || !user->isBeforeInBlock(op))
      continue;
    if (auto p = dyn_cast<PartialAttentionOp>(user);
        p && p.getSum() == op.getSum())
      partial = p;
    if (auto m = dyn_cast<MergePartialsOp>(user);
        m && m.getSum() == op.getSum() && m.getOut() == op.getOut())
      merge = m;
  }
  if (!partial || !merge || merge.getAcc() != partial.getAcc() ||
      partial.getSoftmax() != op.getSoftmaxAttr() ||
      merge.getSoftmax() != op.getSoftmaxAttr())
    return rewriter.notifyMatchFailure(
        op, "expected the fd-split-kv form: partial, merge and fallback with "
            "one unified_max strategy on the same buffers");
  if (options.blockSize % 32 != 0 || options.blockSize > 1024 ||
      options.unroll < 1)
    return rewriter.notifyMatchFailure(op, "bad block size or unroll");

  UnifiedMaxAttr um = op.getSoftmax();
  double phi = um.getPhi().convertToDouble();
  double threshold = um.getThreshold().convertToDouble();
  Params p{getAttentionShape(op.getQuery(), op.getKey()),
           partial.getScale().convertToDouble(),
           phi * kLog2e,
           (phi + threshold) * kLog2e,
           (phi - threshold) * kLog2e,
           options.blockSize,
           options.unroll,
           options.prefetch};
  Location loc = op.getLoc();
  gpu::GPUModuleOp module = getKernelModule(op, rewriter);
  StringRef entry = entryName(op);
  auto setVariant = [&](gpu::GPUFuncOp fn, StringRef variant) {
    fn->setAttr(kernel_attr::kVariant, rewriter.getStringAttr(variant));
  };

  // Two-kernel variant: partial + merge (with the fallback inside).
  SmallVector<Value> partialOperands = {
      partial.getQuery(),   partial.getKey(),      partial.getValue(),
      partial.getLengths(), partial.getAcc(),      partial.getMax(),
      partial.getSum(),     partial.getChunkSize()};
  auto partialFn =
      createKernel(module, rewriter, loc, (entry + "_partial_unified").str(),
                   ValueRange(partialOperands).getTypes(), p.blockSize);
  setManifestAttrs(partialFn, rewriter, "partial", entry, {"S", "Hkv", "B"},
                   {"q", "k", "v", "lens", "partial_acc", "partial_max",
                    "partial_sum", "chunk"},
                   um);
  setVariant(partialFn, "two_kernel");
  // Same occupancy hint as the online partial kernel.
  setMinCtasPerSm(partialFn, rewriter, options);
  buildPartial(partialFn, rewriter, p);

  auto countType = MemRefType::get({1}, rewriter.getI32Type());
  SmallVector<Type> mergeTypes = {
      partial.getAcc().getType(), op.getMax().getType(),
      op.getSum().getType(),      op.getOut().getType(),
      op.getQuery().getType(),    op.getKey().getType(),
      op.getValue().getType(),    op.getLengths().getType(),
      op.getFlags().getType(),    countType};
  auto mergeFn =
      createKernel(module, rewriter, loc, (entry + "_merge_unified").str(),
                   mergeTypes, p.blockSize);
  setManifestAttrs(mergeFn, rewriter, "merge", entry, {"Hq", "B"},
                   {"partial_acc", "partial_max", "partial_sum", "out", "q",
                    "k", "v", "lens", "row_flags", "fallback_count"},
                   um);
  setVariant(mergeFn, "two_kernel");
  buildMerge(mergeFn, rewriter, p);

  // Single-launch variant: not launched by the host IR (which shows the
  // two-kernel variant); fd-compile lists it and the runtime may pick it.
  int64_t dyn = ShapedType::kDynamic;
  Type f32 = rewriter.getF32Type(), i32 = rewriter.getI32Type();
  int64_t hq = p.shape.numQueryHeads;
  SmallVector<Type> singleTypes = {
      op.getQuery().getType(),
      op.getKey().getType(),
      op.getValue().getType(),
      op.getLengths().getType(),
      op.getOut().getType(),
      MemRefType::get({dyn, hq, p.shape.headDim}, f32),
      MemRefType::get({dyn, hq}, f32),
      MemRefType::get({dyn, hq}, i32),
      MemRefType::get({dyn, p.shape.numKVHeads}, i32),
      countType,
      rewriter.getIndexType()};
  auto singleFn =
      createKernel(module, rewriter, loc, (entry + "_single_unified").str(),
                   singleTypes, p.blockSize);
  setManifestAttrs(singleFn, rewriter, "fused", entry, {"S", "Hkv", "B"},
                   {"q", "k", "v", "lens", "out", "ua_acc", "ua_sum", "ua_bits",
                    "ua_count", "fallback_count", "chunk"},
                   um);
  setVariant(singleFn, "single_launch");
  setMinCtasPerSm(singleFn, rewriter, options);
  buildSingle(singleFn, rewriter, p);

  // Host side: the two-kernel launches in place of the three ops.
  Value c1 = arith::ConstantIndexOp::create(rewriter, loc, 1);
  Value threads = arith::ConstantIndexOp::create(rewriter, loc, p.blockSize);
  rewriter.setInsertionPoint(partial);
  {
    Location ploc = partial.getLoc();
    Value splits = memref::DimOp::create(rewriter, ploc, partial.getAcc(), 2);
    Value batch = memref::DimOp::create(rewriter, ploc, partial.getQuery(), 0);
    Value kvHeads =
        arith::ConstantIndexOp::create(rewriter, ploc, p.shape.numKVHeads);
    Value nthreads =
        arith::ConstantIndexOp::create(rewriter, ploc, p.blockSize);
    Value one = arith::ConstantIndexOp::create(rewriter, ploc, 1);
    gpu::LaunchFuncOp::create(
        rewriter, ploc, partialFn, gpu::KernelDim3{splits, kvHeads, batch},
        gpu::KernelDim3{nthreads, one, one}, Value(), partialOperands);
  }
  rewriter.setInsertionPoint(op);
  Value countBuf = memref::AllocOp::create(rewriter, loc, countType);
  Value batch = memref::DimOp::create(rewriter, loc, op.getQuery(), 0);
  Value heads = arith::ConstantIndexOp::create(rewriter, loc, hq);
  gpu::LaunchFuncOp::create(
      rewriter, loc, mergeFn, gpu::KernelDim3{heads, batch, c1},
      gpu::KernelDim3{threads, c1, c1}, Value(),
      ValueRange{partial.getAcc(), op.getMax(), op.getSum(), op.getOut(),
                 op.getQuery(), op.getKey(), op.getValue(), op.getLengths(),
                 op.getFlags(), countBuf});
  memref::DeallocOp::create(rewriter, loc, countBuf);
  rewriter.eraseOp(op);
  rewriter.eraseOp(merge);
  rewriter.eraseOp(partial);
  return success();
}

void mlir::fd::gpu_kernels::populateUnifiedMaxToGPUPatterns(
    RewritePatternSet &patterns, const FDToGPUOptions &options) {
  patterns.add<UnifiedMaxToGPU>(patterns.getContext(), options);
}
