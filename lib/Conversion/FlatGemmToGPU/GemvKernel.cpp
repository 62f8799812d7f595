//===- GemvKernel.cpp - the CUDA-core GEMV flat GEMM kernel ---------------===//
//
// M = 1 needs neither shared memory nor padding: one warp per output
// y[m, n], 16-byte loads of W and x (`unroll` of them in flight per lane),
// f32 FMAs and a shuffle reduction over the warp.
//
//===----------------------------------------------------------------------===//
#include "GemmKernels.h"

#include "mlir/Dialect/SCF/IR/SCF.h"

using namespace mlir;
using namespace mlir::fd;
using namespace mlir::fd::flat_gemm;

namespace {
/// One iteration of the K loop: chunk c of a row is covered by iteration
/// it, step u at chunk (it * unroll + u) * 32 + lane, so a warp's loads of
/// an iteration are contiguous.
struct GemvLoop {
  KernelEmitter &e;
  const GemmOperands &ops;
  Type elem;
  int64_t unroll, chunks;
  bool masked;
  Value lane, n, m;

  Value step(Value it, Value acc) {
    OpBuilder &b = e.b;
    Location loc = e.loc;
    auto loadType = VectorType::get({kChunk}, elem);
    auto accType = VectorType::get({kChunk}, b.getF32Type());
    Value base = e.addi(e.muli(it, 32 * unroll), lane);
    // All loads of the iteration first: `unroll` 16-byte W loads per lane
    // in flight. Chunks past K re-read chunk 0 and are zeroed.
    SmallVector<Value> valid, wv, xv;
    for (int64_t u = 0; u < unroll; ++u) {
      Value c = e.addi(base, u * 32);
      if (masked) {
        valid.push_back(e.ult(c, e.idx(chunks)));
        c = e.select(valid.back(), c, e.idx(0));
      }
      Value col = e.muli(c, kChunk);
      auto wl =
          vector::LoadOp::create(b, loc, loadType, ops.w, ValueRange{n, col});
      wl.setAlignment(16);
      auto xl =
          vector::LoadOp::create(b, loc, loadType, ops.x, ValueRange{m, col});
      xl.setAlignment(16);
      wv.push_back(wl);
      xv.push_back(xl);
    }
    for (int64_t u = 0; u < unroll; ++u) {
      Value wf = arith::ExtFOp::create(b, loc, accType, wv[u]);
      Value xf = arith::ExtFOp::create(b, loc, accType, xv[u]);
      if (masked)
        wf = e.select(valid[u], wf, e.zeros(accType));
      acc = vector::FMAOp::create(b, loc, wf, xf, acc);
    }
    return acc;
  }
};
} // namespace

void flat_gemm::buildGemvBody(OpBuilder &b, const LaunchContext &ctx,
                              const GemvTiling &tiling) {
  Location loc = ctx.launch.getLoc();
  b.setInsertionPointToStart(&ctx.launch.getBody().front());
  KernelEmitter e{b, loc};
  GemmOperands ops = alignOperands(e, ctx.ops);
  auto accType = VectorType::get({kChunk}, b.getF32Type());

  Value tid = ctx.launch.getThreadIds().x;
  Value warp = e.divui(tid, 32), lane = e.remui(tid, 32);
  Value n = e.addi(e.muli(ctx.launch.getBlockIds().x, tiling.warps), warp);
  Value m = ctx.launch.getBlockIds().y;

  const int64_t chunks = ctx.shape.k / kChunk, perIter = 32 * tiling.unroll;
  GemvLoop body{e,
                ops,
                ctx.shape.elem,
                tiling.unroll,
                chunks,
                chunks % perIter != 0,
                lane,
                n,
                m};
  const int64_t iters = (chunks + perIter - 1) / perIter;
  auto loop = scf::ForOp::create(
      b, loc, e.idx(0), e.idx(iters), e.idx(1), ValueRange{e.zeros(accType)},
      [&](OpBuilder &, Location, Value it, ValueRange state) {
        scf::YieldOp::create(b, loc, body.step(it, state[0]));
      });
  Value sum = vector::ReductionOp::create(b, loc, vector::CombiningKind::ADD,
                                          loop.getResult(0));
  for (int64_t off = 16; off >= 1; off /= 2) {
    Value other =
        gpu::ShuffleOp::create(b, loc, sum, off, 32, gpu::ShuffleMode::XOR)
            .getShuffleResult();
    sum = e.add(sum, other);
  }
  Value leader = e.cmp(arith::CmpIPredicate::eq, lane, e.idx(0));
  scf::IfOp::create(b, loc, leader, [&](OpBuilder &, Location) {
    storeOutput(e, ops, sum, m, n);
    scf::YieldOp::create(b, loc);
  });
  gpu::TerminatorOp::create(b, loc);
}
