//===- FDToSCF.cpp - fd ops to reference loops ----------------------------===//
//
// The reference semantics of the fd ops as plain loops with f32 arithmetic.
// The split form is lowered with exactly the state the GPU kernels keep
// (log2-domain max, sum, accumulator), so running split vs unsplit on the CPU
// checks the split and merge rewrites themselves.
//
//===----------------------------------------------------------------------===//
#include "fd/Conversion/FDToSCF/FDToSCF.h"
#include "fd/Dialect/FD/IR/FDOps.h"
#include "../Utils/KVCache.h"
#include "../Utils/KernelEmitter.h"
#include "fd/Bundle/Schema.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include <cfloat>
#include <optional>

namespace mlir::fd {
#define GEN_PASS_DEF_CONVERTFDTOSCF
#include "fd/Conversion/Passes.h.inc"
} // namespace mlir::fd

using namespace mlir;
using namespace mlir::fd;

namespace {
using Emitter = KernelEmitter;

/// Attention of query row (batch, head) over tokens [start, end) of KV head
/// `kvHead`, into `acc` (memref<Dxf32>, overwritten), in the log2 domain.
/// Online softmax (no `phiLog2`): a running max with correction factors;
/// returns (max, sum), an empty range gives (-FLT_MAX, 0). Unified max: with
/// the fixed max `phiLog2`, `acc = sum 2^(x - phi) V` and `sum = sum
/// 2^(x - phi)` need no running max and no rescaling; returns (largest x,
/// sum), the largest x being what the overflow check reads.
std::pair<Value, Value> emitChunk(Emitter &e, Value q,
                                  const KVCacheOperands &kv, Value acc, Value batch, Value head,
                                  Value kvHead, Value start, Value end,
                                  int64_t headDim, double scale,
                                  std::optional<double> phiLog2 = {}) {
  OpBuilder &b = e.b;
  Location loc = e.loc;
  Value c0 = e.idx(0), c1 = e.idx(1), cd = e.idx(headDim);
  scf::ForOp::create(b, loc, c0, cd, c1, ValueRange{},
                     [&](OpBuilder &, Location, Value d, ValueRange) {
                       memref::StoreOp::create(b, loc, e.f32(0), acc, d);
                       scf::YieldOp::create(b, loc);
                     });
  Value scaleLog2e = e.f32(scale * kLog2e);
  Value phi = phiLog2 ? e.f32(*phiLog2) : Value();
  auto loop = scf::ForOp::create(
      b, loc, start, end, c1, ValueRange{e.f32(-FLT_MAX), e.f32(0)},
      [&](OpBuilder &, Location, Value t, ValueRange state) {
        auto dot = scf::ForOp::create(
            b, loc, c0, cd, c1, ValueRange{e.f32(0)},
            [&](OpBuilder &, Location, Value d, ValueRange s) {
              Value qd = e.loadF32(q, {batch, head, d});
              Value kd = e.loadF32(
                  kv.key, kvRowIndices(e, kv, batch, kvHead, t, d));
              scf::YieldOp::create(b, loc, e.add(s[0], e.mul(qd, kd)));
            });
        Value x = e.mul(dot.getResult(0), scaleLog2e);
        // Online: rescale what came before by 2^(m - mNew).
        Value mNew, corr;
        if (!phi) {
          mNew = e.maxf(state[0], x);
          corr = e.exp2Exact(e.sub(state[0], mNew));
        }
        Value p = e.exp2Exact(e.sub(x, phi ? phi : mNew));
        scf::ForOp::create(b, loc, c0, cd, c1, ValueRange{},
                           [&](OpBuilder &, Location, Value d, ValueRange) {
                             Value a = memref::LoadOp::create(b, loc, acc, d);
                             Value vd = e.loadF32(
                                 kv.value,
                                 kvRowIndices(e, kv, batch, kvHead, t, d));
                             Value pv = e.mul(p, vd);
                             Value kept = corr ? e.mul(a, corr) : a;
                             memref::StoreOp::create(b, loc, e.add(kept, pv),
                                                     acc, d);
                             scf::YieldOp::create(b, loc);
                           });
        if (phi)
          scf::YieldOp::create(
              b, loc, ValueRange{e.maxf(state[0], x), e.add(state[1], p)});
        else
          scf::YieldOp::create(
              b, loc, ValueRange{mNew, e.add(e.mul(state[1], corr), p)});
      });
  return {loop.getResult(0), loop.getResult(1)};
}

/// Builds `for b < B, h < Hq` around `body(batch, head, kvHead)`.
void forEachRow(Emitter &e, Value batchSize, int64_t numHeads, int64_t group,
                function_ref<void(Value, Value, Value)> body) {
  OpBuilder &b = e.b;
  Location loc = e.loc;
  Value c0 = e.idx(0), c1 = e.idx(1);
  scf::ForOp::create(b, loc, c0, batchSize, c1, ValueRange{},
                     [&](OpBuilder &, Location, Value batch, ValueRange) {
                       scf::ForOp::create(
                           b, loc, c0, e.idx(numHeads), c1, ValueRange{},
                           [&](OpBuilder &, Location, Value head, ValueRange) {
                             Value kvHead = arith::DivUIOp::create(
                                 b, loc, head, e.idx(group));
                             body(batch, head, kvHead);
                             scf::YieldOp::create(b, loc);
                           });
                       scf::YieldOp::create(b, loc);
                     });
}

/// out[d] = sum > 0 ? acc[d] * (1 / sum) : 0, so empty rows give zeros.
void emitNormalise(Emitter &e, Value acc, Value sum, Value out, Value batch,
                   Value head, int64_t headDim) {
  OpBuilder &b = e.b;
  Location loc = e.loc;
  Value positive =
      arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGT, sum, e.f32(0));
  Value safe = arith::SelectOp::create(b, loc, positive, sum, e.f32(1));
  Value inv = arith::DivFOp::create(b, loc, e.f32(1), safe);
  inv = arith::SelectOp::create(b, loc, positive, inv, e.f32(0));
  scf::ForOp::create(b, loc, e.idx(0), e.idx(headDim), e.idx(1), ValueRange{},
                     [&](OpBuilder &, Location, Value d, ValueRange) {
                       Value a = memref::LoadOp::create(b, loc, acc, d);
                       e.storeAs(e.mul(a, inv), out, {batch, head, d});
                       scf::YieldOp::create(b, loc);
                     });
}

/// lse[batch, head] = the row's natural log-sum-exp, when the op has one.
void emitLse(Emitter &e, Value lse, Value maxLog2, Value sum, Value batch,
             Value head) {
  if (lse)
    memref::StoreOp::create(e.b, e.loc, e.logSumExp(maxLog2, sum, true), lse,
                            ValueRange{batch, head});
}

/// log2-domain value of `x` in units of the scaled score.
double toLog2(const llvm::APFloat &x) { return x.convertToDouble() * kLog2e; }

struct DecodeAttentionToSCF : OpRewritePattern<DecodeAttentionOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(DecodeAttentionOp op,
                                PatternRewriter &rewriter) const override {
    // Unsplit, there is nothing to synchronise: both strategies compute the
    // same softmax, and the exact online one is the reference for both.
    Emitter e{rewriter, op.getLoc()};
    AttentionShape s = getAttentionShape(op.getQuery(), op.getKey());
    Value acc = memref::AllocaOp::create(
        rewriter, e.loc, MemRefType::get({s.headDim}, rewriter.getF32Type()));
    Value batchSize = memref::DimOp::create(rewriter, e.loc, op.getQuery(), 0);
    double scale = op.getScale().convertToDouble();
    forEachRow(e, batchSize, s.numQueryHeads, s.groupSize(),
               [&](Value batch, Value head, Value kvHead) {
                 Value len = e.length(op.getLengths(), batch);
                 auto [m, l] = emitChunk(e, op.getQuery(), getKVCache(op),
                                         acc, batch, head, kvHead, e.idx(0),
                                         len, s.headDim, scale);
                 emitNormalise(e, acc, l, op.getOut(), batch, head, s.headDim);
                 emitLse(e, op.getLse(), m, l, batch, head);
               });
    rewriter.eraseOp(op);
    return success();
  }
};

struct PartialAttentionToSCF : OpRewritePattern<PartialAttentionOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(PartialAttentionOp op,
                                PatternRewriter &rewriter) const override {
    auto unified = dyn_cast<UnifiedMaxAttr>(op.getSoftmax());
    Emitter e{rewriter, op.getLoc()};
    Location loc = e.loc;
    AttentionShape s = getAttentionShape(op.getQuery(), op.getKey());
    Value acc = memref::AllocaOp::create(
        rewriter, loc, MemRefType::get({s.headDim}, rewriter.getF32Type()));
    Value batchSize = memref::DimOp::create(rewriter, loc, op.getQuery(), 0);
    Value numSplits = memref::DimOp::create(rewriter, loc, op.getAcc(), 2);
    Value chunk = op.getChunkSize();
    double scale = op.getScale().convertToDouble();
    forEachRow(
        e, batchSize, s.numQueryHeads, s.groupSize(),
        [&](Value batch, Value head, Value kvHead) {
          Value len = e.length(op.getLengths(), batch);
          scf::ForOp::create(
              rewriter, loc, e.idx(0), numSplits, e.idx(1), ValueRange{},
              [&](OpBuilder &, Location, Value split, ValueRange) {
                Value begin =
                    arith::MulIOp::create(rewriter, loc, split, chunk);
                begin = arith::MinUIOp::create(rewriter, loc, begin, len);
                Value end = arith::AddIOp::create(rewriter, loc, begin, chunk);
                end = arith::MinUIOp::create(rewriter, loc, end, len);
                auto [m, l] = emitChunk(
                    e, op.getQuery(), getKVCache(op), acc, batch, head,
                    kvHead, begin, end, s.headDim, scale,
                    unified ? std::optional<double>(toLog2(unified.getPhi()))
                            : std::nullopt);
                memref::StoreOp::create(rewriter, loc, m, op.getMax(),
                                        ValueRange{batch, head, split});
                memref::StoreOp::create(rewriter, loc, l, op.getSum(),
                                        ValueRange{batch, head, split});
                scf::ForOp::create(
                    rewriter, loc, e.idx(0), e.idx(s.headDim), e.idx(1),
                    ValueRange{},
                    [&](OpBuilder &, Location, Value d, ValueRange) {
                      Value a = memref::LoadOp::create(rewriter, loc, acc, d);
                      memref::StoreOp::create(
                          rewriter, loc, a, op.getAcc(),
                          ValueRange{batch, head, split, d});
                      scf::YieldOp::create(rewriter, loc);
                    });
                scf::YieldOp::create(rewriter, loc);
              });
        });
    rewriter.eraseOp(op);
    return success();
  }
};

struct MergePartialsToSCF : OpRewritePattern<MergePartialsOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(MergePartialsOp op,
                                PatternRewriter &rewriter) const override {
    bool unified = isa<UnifiedMaxAttr>(op.getSoftmax());
    Emitter e{rewriter, op.getLoc()};
    Location loc = e.loc;
    auto outType = cast<MemRefType>(op.getOut().getType());
    int64_t headDim = outType.getDimSize(2);
    Value acc = memref::AllocaOp::create(
        rewriter, loc, MemRefType::get({headDim}, rewriter.getF32Type()));
    Value batchSize = memref::DimOp::create(rewriter, loc, op.getOut(), 0);
    Value numSplits = memref::DimOp::create(rewriter, loc, op.getAcc(), 2);
    Value c0 = e.idx(0), c1 = e.idx(1), cd = e.idx(headDim);
    forEachRow(
        e, batchSize, outType.getDimSize(1), 1,
        [&](Value batch, Value head, Value) {
          // Log-sum-exp: rescale every split to the largest max, then divide
          // once. Unified max: every split already shares phi, so the weights
          // are 1 and the merge is a plain sum (the point of the strategy).
          Value big;
          if (!unified) {
            auto gmax = scf::ForOp::create(
                rewriter, loc, c0, numSplits, c1, ValueRange{e.f32(-FLT_MAX)},
                [&](OpBuilder &, Location, Value split, ValueRange st) {
                  Value m =
                      memref::LoadOp::create(rewriter, loc, op.getMax(),
                                             ValueRange{batch, head, split});
                  scf::YieldOp::create(rewriter, loc, e.maxf(st[0], m));
                });
            big = gmax.getResult(0);
          }
          scf::ForOp::create(rewriter, loc, c0, cd, c1, ValueRange{},
                             [&](OpBuilder &, Location, Value d, ValueRange) {
                               memref::StoreOp::create(rewriter, loc, e.f32(0),
                                                       acc, d);
                               scf::YieldOp::create(rewriter, loc);
                             });
          auto total = scf::ForOp::create(
              rewriter, loc, c0, numSplits, c1, ValueRange{e.f32(0)},
              [&](OpBuilder &, Location, Value split, ValueRange st) {
                Value l = memref::LoadOp::create(
                    rewriter, loc, op.getSum(), ValueRange{batch, head, split});
                Value w = e.f32(1);
                if (!unified) {
                  Value m =
                      memref::LoadOp::create(rewriter, loc, op.getMax(),
                                             ValueRange{batch, head, split});
                  w = e.exp2Exact(e.sub(m, big));
                }
                scf::ForOp::create(
                    rewriter, loc, c0, cd, c1, ValueRange{},
                    [&](OpBuilder &, Location, Value d, ValueRange) {
                      Value a = memref::LoadOp::create(rewriter, loc, acc, d);
                      Value p = memref::LoadOp::create(
                          rewriter, loc, op.getAcc(),
                          ValueRange{batch, head, split, d});
                      memref::StoreOp::create(rewriter, loc,
                                              e.add(a, e.mul(p, w)), acc, d);
                      scf::YieldOp::create(rewriter, loc);
                    });
                scf::YieldOp::create(rewriter, loc, e.add(st[0], e.mul(l, w)));
              });
          emitNormalise(e, acc, total.getResult(0), op.getOut(), batch, head,
                        headDim);
          // Online: the sum is relative to the largest split max; unified
          // max: to phi, which every split shares.
          if (op.getLse())
            emitLse(e, op.getLse(),
                    unified ? e.f32(toLog2(cast<UnifiedMaxAttr>(
                                  op.getSoftmax()).getPhi()))
                            : big,
                    total.getResult(0), batch, head);
        });
    rewriter.eraseOp(op);
    return success();
  }
};

/// The reference of fd.merge_states: per row, the largest lse in the log2
/// domain (from -FLT_MAX, so a row whose lses are all -inf gets weights 0, a
/// zero sum, a zero output and lse -inf), weights 2^(x_i - M), one division.
struct MergeStatesToSCF : OpRewritePattern<MergeStatesOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(MergeStatesOp op,
                                PatternRewriter &rewriter) const override {
    Emitter e{rewriter, op.getLoc()};
    Location loc = e.loc;
    auto outType = cast<MemRefType>(op.getOut().getType());
    int64_t headDim = outType.getDimSize(2);
    Value acc = memref::AllocaOp::create(
        rewriter, loc, MemRefType::get({headDim}, rewriter.getF32Type()));
    Value batchSize = memref::DimOp::create(rewriter, loc, op.getOut(), 0);
    Value c0 = e.idx(0), c1 = e.idx(1), cd = e.idx(headDim);
    Type f32 = rewriter.getF32Type();
    forEachRow(e, batchSize, outType.getDimSize(1), 1,
               [&](Value batch, Value head, Value) {
                 SmallVector<Value> x;
                 Value big = e.f32(-FLT_MAX);
                 for (Value lse : op.getStateLses()) {
                   Value l = memref::LoadOp::create(rewriter, loc, lse,
                                                    ValueRange{batch, head});
                   x.push_back(e.mul(l, e.f32(kLog2e)));
                   big = e.maxf(big, x.back());
                 }
                 scf::ForOp::create(
                     rewriter, loc, c0, cd, c1, ValueRange{},
                     [&](OpBuilder &, Location, Value d, ValueRange) {
                       memref::StoreOp::create(rewriter, loc, e.f32(0), acc, d);
                       scf::YieldOp::create(rewriter, loc);
                     });
                 Value total = e.f32(0);
                 for (auto [state, xi] : llvm::zip(op.getStates(), x)) {
                   Value w = e.exp2Exact(e.sub(xi, big));
                   scf::ForOp::create(
                       rewriter, loc, c0, cd, c1, ValueRange{},
                       [&](OpBuilder &, Location, Value d, ValueRange) {
                         Value a = memref::LoadOp::create(rewriter, loc, acc, d);
                         Value o = e.extf(
                             memref::LoadOp::create(rewriter, loc, state,
                                                    ValueRange{batch, head, d}),
                             f32);
                         memref::StoreOp::create(rewriter, loc,
                                                 e.add(a, e.mul(o, w)), acc, d);
                         scf::YieldOp::create(rewriter, loc);
                       });
                   total = e.add(total, w);
                 }
                 emitNormalise(e, acc, total, op.getOut(), batch, head,
                               headDim);
                 emitLse(e, op.getLse(), big, total, batch, head);
               });
    rewriter.eraseOp(op);
    return success();
  }
};

struct OverflowFallbackToSCF : OpRewritePattern<OverflowFallbackOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(OverflowFallbackOp op,
                                PatternRewriter &rewriter) const override {
    Emitter e{rewriter, op.getLoc()};
    Location loc = e.loc;
    AttentionShape s = getAttentionShape(op.getQuery(), op.getKey());
    UnifiedMaxAttr um = op.getSoftmax();
    double phi = um.getPhi().convertToDouble();
    double threshold = um.getThreshold().convertToDouble();
    Value hi = e.f32((phi + threshold) * kLog2e);
    Value lo = e.f32((phi - threshold) * kLog2e);
    Value acc = memref::AllocaOp::create(
        rewriter, loc, MemRefType::get({s.headDim}, rewriter.getF32Type()));
    Value batchSize = memref::DimOp::create(rewriter, loc, op.getQuery(), 0);
    Value numSplits = memref::DimOp::create(rewriter, loc, op.getMax(), 2);
    Value c0 = e.idx(0), c1 = e.idx(1);
    double scale = op.getScale().convertToDouble();
    forEachRow(
        e, batchSize, s.numQueryHeads, s.groupSize(),
        [&](Value batch, Value head, Value kvHead) {
          Value len = e.length(op.getLengths(), batch);
          auto stats = scf::ForOp::create(
              rewriter, loc, c0, numSplits, c1,
              ValueRange{e.f32(-FLT_MAX), e.f32(0)},
              [&](OpBuilder &, Location, Value split, ValueRange st) {
                Value m = memref::LoadOp::create(
                    rewriter, loc, op.getMax(), ValueRange{batch, head, split});
                Value l = memref::LoadOp::create(
                    rewriter, loc, op.getSum(), ValueRange{batch, head, split});
                scf::YieldOp::create(
                    rewriter, loc,
                    ValueRange{e.maxf(st[0], m), e.add(st[1], l)});
              });
          Value m = stats.getResult(0), total = stats.getResult(1);
          auto fcmp = [&](arith::CmpFPredicate p, Value x, Value y) -> Value {
            return arith::CmpFOp::create(rewriter, loc, p, x, y);
          };
          // Ordered compares: a NaN total is "not in (0, FLT_MAX]" and falls
          // back.
          Value sumOk = arith::AndIOp::create(
              rewriter, loc, fcmp(arith::CmpFPredicate::OGT, total, e.f32(0)),
              fcmp(arith::CmpFPredicate::OLE, total, e.f32(FLT_MAX)));
          Value bad = arith::OrIOp::create(
              rewriter, loc, fcmp(arith::CmpFPredicate::UGT, m, hi),
              fcmp(arith::CmpFPredicate::ULT, m, lo));
          bad = arith::OrIOp::create(
              rewriter, loc, bad,
              arith::XOrIOp::create(
                  rewriter, loc, sumOk,
                  arith::ConstantIntOp::create(rewriter, loc, 1, 1)));
          Value nonEmpty = arith::CmpIOp::create(
              rewriter, loc, arith::CmpIPredicate::ugt, len, c0);
          bad = arith::AndIOp::create(rewriter, loc, bad, nonEmpty);
          Value flag =
              arith::ExtUIOp::create(rewriter, loc, rewriter.getI32Type(), bad);
          memref::StoreOp::create(rewriter, loc, flag, op.getFlags(),
                                  ValueRange{batch, head});
          scf::IfOp::create(rewriter, loc, bad, [&](OpBuilder &, Location) {
            auto [mx, l] =
                emitChunk(e, op.getQuery(), getKVCache(op), acc, batch, head,
                          kvHead, c0, len, s.headDim, scale);
            emitNormalise(e, acc, l, op.getOut(), batch, head, s.headDim);
            emitLse(e, op.getLse(), mx, l, batch, head);
            scf::YieldOp::create(rewriter, loc);
          });
        });
    rewriter.eraseOp(op);
    return success();
  }
};

/// SplitFormula's domain for index values (all unsigned).
struct ArithSplitOps {
  KernelEmitter &e;
  Value c(int64_t v) { return e.idx(v); }
  Value ceilDiv(Value a, Value b) {
    return arith::CeilDivUIOp::create(e.b, e.loc, a, b);
  }
  Value div(Value a, Value b) { return arith::DivUIOp::create(e.b, e.loc, a, b); }
  Value max(Value a, Value b) { return arith::MaxUIOp::create(e.b, e.loc, a, b); }
  Value min(Value a, Value b) { return arith::MinUIOp::create(e.b, e.loc, a, b); }
  Value mul(Value a, Value b) { return arith::MulIOp::create(e.b, e.loc, a, b); }
  Value selectGe(Value a, Value b, Value x, Value y) {
    return e.select(e.cmp(arith::CmpIPredicate::uge, a, b), x, y);
  }
};

struct SplitPlanToArith : OpRewritePattern<SplitPlanOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(SplitPlanOp op,
                                PatternRewriter &rewriter) const override {
    Emitter e{rewriter, op.getLoc()};
    Location loc = e.loc;
    Value c0 = e.idx(0), c1 = e.idx(1);
    Value batchSize = memref::DimOp::create(rewriter, loc, op.getLengths(), 0);
    auto maxLoop = scf::ForOp::create(
        rewriter, loc, c0, batchSize, c1, ValueRange{c0},
        [&](OpBuilder &, Location, Value i, ValueRange st) {
          Value l = e.length(op.getLengths(), i);
          scf::YieldOp::create(
              rewriter, loc,
              arith::MaxUIOp::create(rewriter, loc, st[0], l).getResult());
        });
    Value maxLen = maxLoop.getResult(0);
    // The formula of fd.split_plan's description, shared with the runtime's
    // planner (fd/Bundle/Schema.h).
    ArithSplitOps ops{e};
    ::fdb::SplitFormula<ArithSplitOps, Value> formula{ops};
    Value rows = arith::MulIOp::create(rewriter, loc, batchSize,
                                       e.idx(op.getNumKvHeads()));
    Value wanted = formula.splitsToFill(
        rows, e.idx(op.getSmCount() * op.getCtasPerSm()));
    auto [splits, chunk] =
        formula.finish(wanted, maxLen, e.idx(op.getMinChunk()),
                       e.idx(op.getMaxSplits()), e.idx(op.getChunkAlign()));
    rewriter.replaceOp(op, ValueRange{splits, chunk});
    return success();
  }
};

struct FlatGemmToSCF : OpRewritePattern<FlatGemmOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(FlatGemmOp op,
                                PatternRewriter &rewriter) const override {
    Emitter e{rewriter, op.getLoc()};
    Location loc = e.loc;
    auto w = cast<MemRefType>(op.getW().getType());
    Value c0 = e.idx(0), c1 = e.idx(1);
    Value m = memref::DimOp::create(rewriter, loc, op.getX(), 0);
    scf::ForOp::create(
        rewriter, loc, c0, m, c1, ValueRange{},
        [&](OpBuilder &, Location, Value i, ValueRange) {
          scf::ForOp::create(
              rewriter, loc, c0, e.idx(w.getDimSize(0)), c1, ValueRange{},
              [&](OpBuilder &, Location, Value n, ValueRange) {
                auto dot = scf::ForOp::create(
                    rewriter, loc, c0, e.idx(w.getDimSize(1)), c1,
                    ValueRange{e.f32(0)},
                    [&](OpBuilder &, Location, Value k, ValueRange st) {
                      Value p = e.mul(e.loadF32(op.getX(), {i, k}),
                                      e.loadF32(op.getW(), {n, k}));
                      scf::YieldOp::create(rewriter, loc, e.add(st[0], p));
                    });
                Value y = dot.getResult(0);
                if (Value bias = op.getBias())
                  y = e.add(y, e.loadF32(bias, {n}));
                e.storeAs(y, op.getY(), {i, n});
                scf::YieldOp::create(rewriter, loc);
              });
          scf::YieldOp::create(rewriter, loc);
        });
    rewriter.eraseOp(op);
    return success();
  }
};

struct ConvertFDToSCF : mlir::fd::impl::ConvertFDToSCFBase<ConvertFDToSCF> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateFDToSCFPatterns(patterns);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace

void mlir::fd::populateFDSplitPlanLoweringPatterns(
    RewritePatternSet &patterns) {
  patterns.add<SplitPlanToArith>(patterns.getContext());
}

void mlir::fd::populateFDToSCFPatterns(RewritePatternSet &patterns) {
  patterns.add<DecodeAttentionToSCF, PartialAttentionToSCF, MergePartialsToSCF,
               MergeStatesToSCF,
               OverflowFallbackToSCF, FlatGemmToSCF>(patterns.getContext());
  populateFDSplitPlanLoweringPatterns(patterns);
}
