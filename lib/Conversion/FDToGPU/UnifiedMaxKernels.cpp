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
// phi is not a constant of the kernels: they read it from the workspace
// buffer `phi` (initialised from the strategy's phi), so the runtime can
// re-centre it between calls — and CUDA-graph replays pick the new value up
// — without recompiling. Every checked row also adds to `score_stats` its
// largest score (order-preserving keys, atomic max) and whether it fell
// back: the live statistics a re-centring needs.
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
namespace binding = ::fdb::binding;
namespace symbol = ::fdb::symbol;
namespace variant = ::fdb::variant;
namespace role = ::fdb::role;

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

Value isThread0(KernelEmitter &e, const Layout &lay) {
  return e.cmp(arith::CmpIPredicate::eq, lay.tid, e.idx(0));
}

/// phi and the band [lo, hi] = phi -+ threshold, in the log2 domain of the
/// scores, from the workspace's `phi` buffer (natural units).
struct Band {
  Value phi, hi, lo;
};

Band loadBand(KernelEmitter &e, Value phiBuf, double threshold) {
  Value phi = memref::LoadOp::create(e.b, e.loc, phiBuf, ValueRange{e.idx(0)});
  auto log2 = [&](Value x) { return e.mul(x, e.f32(kLog2e)); };
  return {log2(phi), log2(e.add(phi, e.f32(threshold))),
          log2(e.add(phi, e.f32(-threshold)))};
}

Value i32Const(KernelEmitter &e, int64_t x) {
  return arith::ConstantIntOp::create(e.b, e.loc, e.b.getI32Type(), x);
}

/// An i1 flag as an i32 0 or 1.
Value toI32(KernelEmitter &e, Value flag) {
  return arith::ExtUIOp::create(e.b, e.loc, e.b.getI32Type(), flag);
}

/// An order-preserving unsigned key of an f32: unsigned max on keys is max
/// on the floats, and 0 (a zeroed workspace) is below every float, so a
/// zero-initialised buffer holds "nothing seen yet" for atomic maxima.
Value orderedKey(KernelEmitter &e, Value x) {
  Value bits = arith::BitcastOp::create(e.b, e.loc, e.b.getI32Type(), x);
  Value negative = e.cmp(arith::CmpIPredicate::slt, bits, i32Const(e, 0));
  return e.select(negative,
                  arith::XOrIOp::create(e.b, e.loc, bits, i32Const(e, -1)),
                  arith::OrIOp::create(e.b, e.loc, bits,
                                       i32Const(e, int32_t(0x80000000u))));
}

/// The float of orderedKey.
Value fromOrderedKey(KernelEmitter &e, Value key) {
  Value nonNegative = e.cmp(arith::CmpIPredicate::slt, key, i32Const(e, 0));
  Value bits = e.select(
      nonNegative,
      arith::XOrIOp::create(e.b, e.loc, key, i32Const(e, int32_t(0x80000000u))),
      arith::XOrIOp::create(e.b, e.loc, key, i32Const(e, -1)));
  return arith::BitcastOp::create(e.b, e.loc, e.b.getF32Type(), bits);
}

/// Adds one checked row of positive length to `score_stats` (i32[4]):
/// [0] the largest ~key of the rows' largest scores (natural units), i.e.
/// the smallest one, [1] the largest key, [2] rows checked, [3] rows that
/// fell back. The runtime decodes them (fd/Runtime/UnifiedMax.h).
void recordRow(KernelEmitter &e, Value rowMaxLog2, Value fellBack,
               Value stats) {
  auto rmw = [&](arith::AtomicRMWKind kind, Value x, int64_t i) {
    memref::AtomicRMWOp::create(e.b, e.loc, kind, x, stats,
                                ValueRange{e.idx(i)});
  };
  Value key = orderedKey(e, e.mul(rowMaxLog2, e.f32(1.0 / kLog2e)));
  rmw(arith::AtomicRMWKind::maxu,
      arith::XOrIOp::create(e.b, e.loc, key, i32Const(e, -1)), 0);
  rmw(arith::AtomicRMWKind::maxu, key, 1);
  rmw(arith::AtomicRMWKind::addi, i32Const(e, 1), 2);
  rmw(arith::AtomicRMWKind::addi, toI32(e, fellBack), 3);
}

void ifThread0(KernelEmitter &e, const Layout &lay, function_ref<void()> body) {
  scf::IfOp::create(e.b, e.loc, isThread0(e, lay), [&](OpBuilder &, Location) {
    body();
    scf::YieldOp::create(e.b, e.loc);
  });
}

/// Thread 0 writes the row's natural log-sum-exp when the kernel has an
/// `lse` output; `maxLog2` is the log2-domain reference of `total`.
void storeLse(KernelEmitter &e, const Layout &lay, Value lse, Value maxLog2,
              Value total, Value batch, Value head) {
  if (!lse)
    return;
  ifThread0(e, lay, [&] {
    memref::StoreOp::create(e.b, e.loc, e.logSumExp(maxLog2, total, false),
                            lse, ValueRange{batch, head});
  });
}

/// The exact path for a flagged row: online softmax over [0, len) of query
/// head `head` by the whole CTA, normalised into `out` (and its log-sum-exp
/// into `lse`, if any). The caller has made the condition CTA-uniform and
/// separated it from earlier buffer use.
void emitRowFallback(KernelEmitter &e, const Layout &lay,
                     const SharedBuffers &sb, Value q,
                     const KVCacheOperands &kv, Value out, Value lse,
                     Value batch, Value head, Value kvHead, Value len,
                     double scale) {
  Value qFrag = loadQuery(e, lay, q, batch, head, scale);
  ThreadState st = emitTokenLoop(e, lay, {qFrag}, kv, batch, kvHead, e.idx(0),
                                 len, Mode::Online, 0);
  auto [big, total] = combineGroups(
      e, lay, sb, st.m[0], st.l[0], st.acc[0], Mode::Online,
      [&](Value d, Value a, Value total) {
        storeOut(e, divideOrZero(e, a, total), out, ValueRange{batch, head, d});
      });
  storeLse(e, lay, lse, big, total, batch, head);
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
  double scale, threshold;
  int64_t blockSize, unroll;
  /// The partial and single-launch kernels' engine and threads (the merge
  /// kernel and the row fallback run on CUDA cores with blockSize threads).
  Engine engine;
  int64_t partialThreads, mmaStages;
  bool speculativeFirstTile;
};

/// The row check of both variants: a row of positive length falls back when
/// its largest score `rowMax` is outside the band or its sum `total` is 0,
/// infinite or NaN.
Value rowFallsBack(KernelEmitter &e, Value rowMax, Value total,
                   const Band &band, Value len) {
  Value bad = arith::OrIOp::create(
      e.b, e.loc, fcmp(e, arith::CmpFPredicate::UGT, rowMax, band.hi),
      fcmp(e, arith::CmpFPredicate::ULT, rowMax, band.lo));
  Value unusable =
      arith::XOrIOp::create(e.b, e.loc, sumIsUsable(e, total),
                            arith::ConstantIntOp::create(e.b, e.loc, 1, 1));
  bad = arith::OrIOp::create(e.b, e.loc, bad, unusable);
  Value nonEmpty = e.cmp(arith::CmpIPredicate::ugt, len, e.idx(0));
  return arith::AndIOp::create(e.b, e.loc, bad, nonEmpty);
}

/// Partial kernel of the two-kernel variant: like the online one, but every
/// split uses the same phi, so `sum`/`acc` need no rescaling later and `max`
/// only records the split's largest score for the row check.
void buildPartial(gpu::GPUFuncOp fn, OpBuilder &b, const Params &p) {
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(&fn.getBody().front());
  KernelEmitter e{b, fn.getLoc()};
  auto arg = [&](std::string_view name) { return getBoundArg(fn, name); };
  Value accOut = arg(binding::kPartialAcc), maxOut = arg(binding::kPartialMax),
        sumOut = arg(binding::kPartialSum);
  Layout lay = makeLayout(e, p.shape.headDim, p.partialThreads, p.unroll);
  Band band = loadBand(e, arg(binding::kPhi), p.threshold);
  SplitWork w = emitSplitWork(fn, e, lay, p.engine, p.mmaStages, p.shape,
                              p.scale,
                              arg(binding::kQ), getKVCacheArgs(fn),
                              arg(binding::kLens),
                              arg(symbol::kChunk), Mode::FixedMax, band.phi,
                              /*combineBuffers=*/nullptr, /*clusterSplits=*/0,
                              p.speculativeFirstTile);
  Value split = w.split, batch = w.batch;
  int64_t group = p.shape.groupSize();
  const SmallVector<Value> &heads = w.heads;
  for (int64_t i = 0; i < group; ++i) {
    Value head = heads[i];
    auto [big, total] = w.combine(
        i, [&](Value d, Value a, Value) {
          memref::StoreOp::create(b, e.loc, a, accOut,
                                  ValueRange{batch, head, split, d});
        });
    ifThread0(e, lay, [&] {
      memref::StoreOp::create(b, e.loc, big, maxOut,
                              ValueRange{batch, head, split});
      memref::StoreOp::create(b, e.loc, total, sumOut,
                              ValueRange{batch, head, split});
    });
    if (i + 1 < group && w.combineReusesBuffers)
      gpu::BarrierOp::create(b, e.loc);
  }
  gpu::ReturnOp::create(b, e.loc);
}

/// Merge kernel of the two-kernel variant, one CTA per (query head,
/// sequence): plain sums, one division; a flagged row is recomputed here
/// with online softmax (the condition is CTA-uniform).
void buildMerge(gpu::GPUFuncOp fn, OpBuilder &b, const Params &p) {
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(&fn.getBody().front());
  KernelEmitter e{b, fn.getLoc()};
  Location loc = e.loc;
  auto arg = [&](std::string_view name) { return getBoundArg(fn, name); };
  Value acc = arg(binding::kPartialAcc), max = arg(binding::kPartialMax),
        sum = arg(binding::kPartialSum), out = arg(binding::kOut),
        q = arg(binding::kQ), lens = arg(binding::kLens),
        lse = lookupBoundArg(fn, binding::kLse),
        flags = arg(binding::kRowFlags),
        count = arg(binding::kFallbackCount), phiBuf = arg(binding::kPhi),
        scoreStats = arg(binding::kScoreStats);
  Layout lay = makeLayout(e, p.shape.headDim, p.blockSize, p.unroll);
  Band band = loadBand(e, phiBuf, p.threshold);
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
  Value bad = rowFallsBack(e, m, total, band, len);
  ifThread0(e, lay, [&] {
    memref::StoreOp::create(b, loc, toI32(e, bad), flags,
                            ValueRange{batch, head});
    Value nonEmpty = e.cmp(arith::CmpIPredicate::ugt, len, e.idx(0));
    scf::IfOp::create(b, loc, nonEmpty, [&](OpBuilder &, Location) {
      recordRow(e, m, bad, scoreStats);
      scf::YieldOp::create(b, loc);
    });
  });
  scf::IfOp::create(
      b, loc, bad,
      [&](OpBuilder &, Location) {
        SharedBuffers sb = makeShared(fn, e, lay, /*withCombine=*/true,
                                      /*withBroadcast=*/false);
        emitRowFallback(e, lay, sb, q, getKVCacheArgs(fn), out, lse, batch,
                        head, kvHead, len, p.scale);
        ifThread0(e, lay, [&] {
          atomic(e, arith::AtomicRMWKind::addi,
                 arith::ConstantIntOp::create(b, loc, b.getI32Type(), 1), count,
                 ValueRange{e.idx(0)});
        });
        scf::YieldOp::create(b, loc);
      },
      [&](OpBuilder &, Location) {
        // The sums are relative to phi, which every split shared.
        storeLse(e, lay, lse, band.phi, total, batch, head);
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
/// flags: everything it keeps in the workspace besides the fallback counter,
/// phi and the score statistics is zero between calls, so a later call laid out
/// for another batch never finds stale values in its accumulators. The row
/// maxima travel as order-preserving keys (`ua_max`, atomic max), so the
/// last CTA checks each row against the band of the phi it read.
void buildSingle(gpu::GPUFuncOp fn, OpBuilder &b, const Params &p) {
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(&fn.getBody().front());
  KernelEmitter e{b, fn.getLoc()};
  Location loc = e.loc;
  auto arg = [&](std::string_view name) { return getBoundArg(fn, name); };
  Value q = arg(binding::kQ), lens = arg(binding::kLens),
        out = arg(binding::kOut), lse = lookupBoundArg(fn, binding::kLse),
        uAcc = arg(binding::kUaAcc), uSum = arg(binding::kUaSum),
        uMax = arg(binding::kUaMax), uCount = arg(binding::kUaCount),
        count = arg(binding::kFallbackCount), stats = arg(binding::kScoreStats);
  Layout lay = makeLayout(e, p.shape.headDim, p.partialThreads, p.unroll);
  Band band = loadBand(e, arg(binding::kPhi), p.threshold);
  // The row fallback runs on CUDA cores with these buffers, whatever the
  // engine of the token loop; the CUDA-core loop shares them.
  SharedBuffers sb = makeShared(fn, e, lay, /*withCombine=*/true,
                                /*withBroadcast=*/true);
  SplitWork w =
      emitSplitWork(fn, e, lay, p.engine, p.mmaStages, p.shape, p.scale, q,
                    getKVCacheArgs(fn), lens,
                    arg(symbol::kChunk), Mode::FixedMax, band.phi, &sb,
                    /*clusterSplits=*/0, p.speculativeFirstTile);
  Value kvHead = w.kvHead, batch = w.batch, len = w.len;
  Value splits = gpu::GridDimOp::create(b, loc, gpu::Dimension::x);
  int64_t group = p.shape.groupSize();
  const SmallVector<Value> &heads = w.heads;
  // 1. Publish this split's partials. Empty splits add nothing.
  for (int64_t i = 0; i < group; ++i) {
    Value head = heads[i];
    auto [big, total] = w.combine(
        i, [&](Value d, Value a, Value total) {
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
      // The row's largest score so far (an empty split adds -FLT_MAX).
      atomic(e, arith::AtomicRMWKind::maxu, orderedKey(e, big), uMax,
             ValueRange{batch, head});
    });
    gpu::BarrierOp::create(b, loc);
  }
  // 2. Count this split in; the CTA that completes the count finishes.
  Value isLast =
      emitCountIn(e, lay.tid, sb.bcast, uCount, ValueRange{batch, kvHead},
                  splits);
  scf::IfOp::create(b, loc, isLast, [&](OpBuilder &, Location) {
    fenceGpu(e);
    for (int64_t i = 0; i < group; ++i) {
      Value head = heads[i];
      // Read and reset in one atomic exchange, so the accumulators are zero
      // for the next call; atomics also bypass the non-coherent L1.
      ifThread0(e, lay, [&] {
        Value total = atomic(e, arith::AtomicRMWKind::assign, e.f32(0), uSum,
                             ValueRange{batch, head});
        Value key = atomic(e, arith::AtomicRMWKind::assign, i32Const(e, 0), uMax,
                           ValueRange{batch, head});
        Value rowMax = fromOrderedKey(e, key);
        memref::StoreOp::create(b, loc, total, sb.bcast, ValueRange{e.idx(1)});
        memref::StoreOp::create(b, loc, rowMax, sb.bcast, ValueRange{e.idx(2)});
      });
      gpu::BarrierOp::create(b, loc);
      Value total =
          memref::LoadOp::create(b, loc, sb.bcast, ValueRange{e.idx(1)});
      Value rowMax =
          memref::LoadOp::create(b, loc, sb.bcast, ValueRange{e.idx(2)});
      Value bad = rowFallsBack(e, rowMax, total, band, len);
      Value good = arith::XOrIOp::create(
          b, loc, bad, arith::ConstantIntOp::create(b, loc, 1, 1));
      ifThread0(e, lay, [&] {
        Value nonEmpty = e.cmp(arith::CmpIPredicate::ugt, len, e.idx(0));
        scf::IfOp::create(b, loc, nonEmpty, [&](OpBuilder &, Location) {
          recordRow(e, rowMax, bad, stats);
          scf::YieldOp::create(b, loc);
        });
      });
      for (int64_t base = 0; base < p.shape.headDim; base += p.partialThreads) {
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
      scf::IfOp::create(b, loc, good, [&](OpBuilder &, Location) {
        storeLse(e, lay, lse, band.phi, total, batch, head);
        scf::YieldOp::create(b, loc);
      });
      scf::IfOp::create(b, loc, bad, [&](OpBuilder &, Location) {
        emitRowFallback(e, lay, sb, q, getKVCacheArgs(fn), out, lse, batch,
                        head, kvHead, len, p.scale);
        ifThread0(e, lay, [&] {
          atomic(e, arith::AtomicRMWKind::addi, i32Const(e, 1), count,
                 ValueRange{e.idx(0)});
        });
        scf::YieldOp::create(b, loc);
      });
      // The next head reuses the shared buffers.
      gpu::BarrierOp::create(b, loc);
    }
    ifThread0(e, lay, [&] {
      atomic(e, arith::AtomicRMWKind::assign, i32Const(e, 0), uCount,
             ValueRange{batch, kvHead});
    });
    scf::YieldOp::create(b, loc);
  });
  gpu::ReturnOp::create(b, loc);
}
} // namespace

namespace {
/// The fd-split-kv form of one unified-max attention.
struct SplitForm {
  PartialAttentionOp partial;
  MergePartialsOp merge;
};

/// The partial and merge before `op` in its block on the same buffers and
/// strategy, or failure.
FailureOr<SplitForm> findSplitForm(OverflowFallbackOp op) {
  SplitForm f;
  for (Operation *user : op.getMax().getUsers()) {
    if (user->getBlock() != op->getBlock() || !user->isBeforeInBlock(op))
      continue;
    if (auto p = dyn_cast<PartialAttentionOp>(user);
        p && p.getSum() == op.getSum())
      f.partial = p;
    if (auto m = dyn_cast<MergePartialsOp>(user);
        m && m.getSum() == op.getSum() && m.getOut() == op.getOut())
      f.merge = m;
  }
  if (!f.partial || !f.merge || f.merge.getAcc() != f.partial.getAcc() ||
      f.partial.getSoftmax() != op.getSoftmaxAttr() ||
      f.merge.getSoftmax() != op.getSoftmaxAttr() ||
      // One log-sum-exp output and one cache: the kernels are built from
      // the three ops together.
      f.merge.getLse() != op.getLse() ||
      f.partial.getBlockTable() != op.getBlockTable() ||
      f.partial.getPageIndptr() != op.getPageIndptr())
    return failure();
  return f;
}

/// The state buffers every variant shares: the fallback counter, phi and the
/// score statistics (the runtime gives them fixed offsets).
struct StateTypes {
  MemRefType count, phi, stats;
};

StateTypes getStateTypes(Builder &b) {
  return {MemRefType::get({1}, b.getI32Type()),
          MemRefType::get({1}, b.getF32Type()),
          MemRefType::get({4}, b.getI32Type())};
}

/// Host side: the state buffers, allocated and initialised as the runtime's
/// initWorkspace does (counter and statistics 0, phi the strategy's).
SmallVector<Value> allocState(OpBuilder &b, Location loc, const StateTypes &t,
                              double phi) {
  Value count = memref::AllocOp::create(b, loc, t.count);
  Value phiBuf = memref::AllocOp::create(b, loc, t.phi);
  Value stats = memref::AllocOp::create(b, loc, t.stats);
  Value c0 = arith::ConstantIndexOp::create(b, loc, 0);
  Value zero = arith::ConstantIntOp::create(b, loc, b.getI32Type(), 0);
  memref::StoreOp::create(b, loc, zero, count, ValueRange{c0});
  memref::StoreOp::create(
      b, loc, arith::ConstantOp::create(b, loc, b.getF32FloatAttr(phi)),
      phiBuf, ValueRange{c0});
  for (int64_t i = 0; i < 4; ++i)
    memref::StoreOp::create(
        b, loc, zero, stats,
        ValueRange{arith::ConstantIndexOp::create(b, loc, i)});
  return {count, phiBuf, stats};
}

/// A launch of `fn` with `threads` threads per CTA over `grid`.
void launch(OpBuilder &b, Location loc, gpu::GPUFuncOp fn,
            gpu::KernelDim3 grid, int64_t threads, ValueRange operands) {
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  Value n = arith::ConstantIndexOp::create(b, loc, threads);
  gpu::LaunchFuncOp::create(b, loc, fn, grid, gpu::KernelDim3{n, one, one},
                            dynamicSharedMemorySize(b, loc, fn), operands);
}
} // namespace

LogicalResult
UnifiedMaxToGPU::matchAndRewrite(OverflowFallbackOp op,
                                 PatternRewriter &rewriter) const {
  FailureOr<SplitForm> form = findSplitForm(op);
  if (failed(form))
    return rewriter.notifyMatchFailure(
        op, "expected the fd-split-kv form: partial, merge and fallback with "
            "one unified_max strategy on the same buffers");
  if (options.blockSize % 32 != 0 || options.blockSize > 1024 ||
      options.unroll < 1)
    return rewriter.notifyMatchFailure(op, "bad block size or unroll");
  PartialAttentionOp partial = form->partial;
  UnifiedMaxAttr um = op.getSoftmax();
  AttentionShape shape = getAttentionShape(op.getQuery(), op.getKey());
  Engine engine = chooseEngine(options, shape);
  Params p{shape,
           partial.getScale().convertToDouble(),
           um.getThreshold().convertToDouble(),
           options.blockSize,
           options.unroll,
           engine,
           threadsFor(engine, options, shape),
           options.mmaStages,
           options.speculativeFirstTile};
  Location loc = op.getLoc();
  gpu::GPUModuleOp module = getKernelModule(op, rewriter);
  StringRef entry = entryName(op);
  StateTypes state = getStateTypes(rewriter);

  // Two-kernel variant: partial + merge (with the fallback inside).
  rewriter.setInsertionPoint(partial);
  SmallVector<Value> stateBufs =
      allocState(rewriter, loc, state, um.getPhi().convertToDouble());
  Value countBuf = stateBufs[0], phiBuf = stateBufs[1],
        statsBuf = stateBufs[2];
  SmallVector<Value> partialOperands = {
      partial.getQuery(),   partial.getKey(),       partial.getValue(),
      partial.getLengths(), partial.getAcc(),       partial.getMax(),
      partial.getSum(),     partial.getChunkSize(), phiBuf};
  SmallVector<std::string_view> partialBindings = {
      binding::kQ,          binding::kK,          binding::kV,
      binding::kLens,       binding::kPartialAcc, binding::kPartialMax,
      binding::kPartialSum, symbol::kChunk,       binding::kPhi};
  appendPageTable(partialBindings, partialOperands, partial);
  auto partialFn = createKernel(module, rewriter, loc,
                                (entry + "_partial_unified").str(),
                                bindValues(partialBindings, partialOperands),
                                p.partialThreads);
  setManifestAttrs(partialFn, role::kPartial, entry,
                   {symbol::kS, symbol::kHkv, symbol::kB}, variant::kTwoKernel,
                   um);
  buildPartial(partialFn, rewriter, p);

  SmallVector<Value> mergeOperands = {
      partial.getAcc(), op.getMax(),     op.getSum(),   op.getOut(),
      op.getQuery(),    op.getKey(),     op.getValue(), op.getLengths(),
      op.getFlags(),    countBuf,        phiBuf,        statsBuf};
  SmallVector<std::string_view> mergeBindings = {
      binding::kPartialAcc, binding::kPartialMax,    binding::kPartialSum,
      binding::kOut,        binding::kQ,             binding::kK,
      binding::kV,          binding::kLens,          binding::kRowFlags,
      binding::kFallbackCount, binding::kPhi,        binding::kScoreStats};
  appendPageTable(mergeBindings, mergeOperands, op);
  if (Value lse = op.getLse()) {
    mergeBindings.push_back(binding::kLse);
    mergeOperands.push_back(lse);
  }
  auto mergeFn = createKernel(module, rewriter, loc,
                              (entry + "_merge_unified").str(),
                              bindValues(mergeBindings, mergeOperands),
                              p.blockSize);
  setManifestAttrs(mergeFn, role::kMerge, entry, {symbol::kHq, symbol::kB},
                   variant::kTwoKernel, um);
  buildMerge(mergeFn, rewriter, p);

  // Single-launch variant: not launched by the host IR (which shows the
  // two-kernel variant); fd-compile lists it and the runtime may pick it.
  int64_t dyn = ShapedType::kDynamic, hq = p.shape.numQueryHeads;
  Type f32 = rewriter.getF32Type(), i32 = rewriter.getI32Type();
  SmallVector<KernelParam> singleParams = {
      {binding::kQ, op.getQuery().getType()},
      {binding::kK, op.getKey().getType()},
      {binding::kV, op.getValue().getType()},
      {binding::kLens, op.getLengths().getType()},
      {binding::kOut, op.getOut().getType()},
      {binding::kUaAcc, MemRefType::get({dyn, hq, p.shape.headDim}, f32)},
      {binding::kUaSum, MemRefType::get({dyn, hq}, f32)},
      {binding::kUaMax, MemRefType::get({dyn, hq}, i32)},
      {binding::kUaCount, MemRefType::get({dyn, p.shape.numKVHeads}, i32)},
      {binding::kFallbackCount, state.count},
      {symbol::kChunk, rewriter.getIndexType()},
      {binding::kPhi, state.phi},
      {binding::kScoreStats, state.stats}};
  if (Value table = op.getBlockTable())
    singleParams.push_back({binding::kBlockTable, table.getType()});
  if (Value indptr = op.getPageIndptr())
    singleParams.push_back({binding::kPageIndptr, indptr.getType()});
  if (Value lse = op.getLse())
    singleParams.push_back({binding::kLse, lse.getType()});
  auto singleFn =
      createKernel(module, rewriter, loc, (entry + "_single_unified").str(),
                   singleParams, p.partialThreads);
  setManifestAttrs(singleFn, role::kFused, entry,
                   {symbol::kS, symbol::kHkv, symbol::kB},
                   variant::kSingleLaunch, um);
  buildSingle(singleFn, rewriter, p);

  // The two-kernel launches in place of the three ops.
  rewriter.setInsertionPoint(partial);
  {
    Location ploc = partial.getLoc();
    Value splits = memref::DimOp::create(rewriter, ploc, partial.getAcc(), 2);
    Value batch = memref::DimOp::create(rewriter, ploc, partial.getQuery(), 0);
    Value kvHeads =
        arith::ConstantIndexOp::create(rewriter, ploc, p.shape.numKVHeads);
    launch(rewriter, ploc, partialFn, {splits, kvHeads, batch},
           p.partialThreads, partialOperands);
  }
  rewriter.setInsertionPoint(op);
  Value batch = memref::DimOp::create(rewriter, loc, op.getQuery(), 0);
  Value heads = arith::ConstantIndexOp::create(rewriter, loc, hq);
  Value c1 = arith::ConstantIndexOp::create(rewriter, loc, 1);
  launch(rewriter, loc, mergeFn, {heads, batch, c1}, p.blockSize,
         mergeOperands);
  for (Value buf : stateBufs)
    memref::DeallocOp::create(rewriter, loc, buf);
  rewriter.eraseOp(op);
  rewriter.eraseOp(form->merge);
  rewriter.eraseOp(partial);
  return success();
}

void mlir::fd::gpu_kernels::populateUnifiedMaxToGPUPatterns(
    RewritePatternSet &patterns, const FDToGPUOptions &options) {
  patterns.add<UnifiedMaxToGPU>(patterns.getContext(), options);
}
