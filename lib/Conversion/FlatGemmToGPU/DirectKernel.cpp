//===- DirectKernel.cpp - the register-direct tensor-core kernel ----------===//
//
// direct_m<P> (M <= 64) uses the MMAs of mma_m<P> without the ring: each
// warp loads its fragments straight from global memory, 16 bytes per lane
// and row, with k renamed so that a 16-byte load is a fragment
// (DirectFragments.h). No barrier and no shared memory until the final
// cross-warp reduction, so a CTA starts streaming at once and many small
// CTAs share an SM.
//
//===----------------------------------------------------------------------===//
#include "GemmKernels.h"
#include "fd/Conversion/FlatGemmToGPU/DirectFragments.h"

#include "mlir/Dialect/SCF/IR/SCF.h"

using namespace mlir;
using namespace mlir::fd;
using namespace mlir::fd::flat_gemm;
namespace dg = mlir::fd::direct_gemm;

static_assert(dg::kStepK == DirectTiling::kStepK && dg::kPiece == kChunk,
              "the tiling counts K in the kernel's steps and pieces");

namespace {
/// The body over grid (N / 16, 1, ceil(M / P)) with 32 * splitK threads.
/// Each warp owns the CTA's 16 rows of W and every splitK-th group of
/// `unroll` 32-wide K steps; the loads of an iteration are all issued before
/// its first MMA. The warps' C fragments are reduced once through shared
/// memory at the end.
struct DirectKernel {
  KernelEmitter &e;
  const LaunchContext &ctx;
  const DirectTiling &cfg;
  GemmOperands ops;
  Value tid, warp, lane, g, t, n0, m0, rows, wRow0, wRow1, warpK0;
  Value zeroPiece;
  SmallVector<Value> xRow, xValid;

  int64_t nTiles() const { return cfg.mTile / 8; }
  int64_t perIter() const { return cfg.splitK * cfg.unroll; }
  int64_t iterations() const {
    const int64_t steps = (ctx.shape.k + dg::kStepK - 1) / dg::kStepK;
    return (steps + perIter() - 1) / perIter();
  }
  /// Pieces past K exist when the warps' steps overrun K (K not a multiple
  /// of 32 * split-k * unroll); K % 8 == 0 keeps every piece whole. The
  /// loads of iteration it + 1 (prefetch) stay in bounds without masking
  /// since the peeled last iteration loads nothing.
  bool masked() const { return ctx.shape.k % (dg::kStepK * perIter()) != 0; }
  /// The 16-byte pieces of one step, in load order: W rows g and g + 8,
  /// then x for each n-tile.
  int64_t perStep() const { return 2 + nTiles(); }

  void build();
  void setUp();
  Value colOf(Value it, int64_t u);
  Value inK(Value col);
  Value load(Value mem, Value row, Value col);
  Value fragment(VectorType type, ArrayRef<std::pair<Value, int64_t>> pairs);
  Value aFragment(Value w0, Value w1, int64_t j);
  Value bFragment(Value x, int64_t j);
  SmallVector<Value> loadIteration(Value it, bool clamp);
  SmallVector<Value> compute(Value it, ValueRange pieces, ValueRange in);
  SmallVector<Value> mainLoop();
  void reduce(ArrayRef<Value> acc);
};
} // namespace

/// The ids and the rows a lane reads. Batch rows g (and g + 8) of the tile
/// at or past M read row m0 instead (it exists: grid.z only covers rows <
/// M), the same address as lane g = 0, so the warp's request fetches no
/// extra sector; the value is zeroed before the MMA.
void DirectKernel::setUp() {
  ops = alignOperands(e, ctx.ops);
  tid = ctx.launch.getThreadIds().x;
  warp = e.divui(tid, 32);
  lane = e.remui(tid, 32);
  g = e.divui(lane, 4);
  t = e.remui(lane, 4);
  n0 = e.muli(ctx.launch.getBlockIds().x, 16);
  m0 = e.muli(ctx.launch.getBlockIds().z, cfg.mTile);
  rows = memref::DimOp::create(e.b, e.loc, ops.x, 0);
  wRow0 = e.addi(n0, g);
  wRow1 = e.addi(wRow0, 8);
  for (int64_t nt = 0; nt < nTiles(); ++nt) {
    Value r = e.addi(m0, e.addi(g, nt * 8));
    xValid.push_back(e.ult(r, rows));
    xRow.push_back(e.select(xValid.back(), r, m0));
  }
  // Step of (iteration, u): (it * splitK + warp) * unroll + u, so a warp's
  // `unroll` steps of an iteration are contiguous in K (whole 128-byte
  // lines of each W row).
  Value lanePiece = e.muli(t, dg::kPiece);
  warpK0 = e.addi(e.muli(warp, cfg.unroll * dg::kStepK), lanePiece);
  zeroPiece = e.zeros(VectorType::get({dg::kPiece}, ctx.shape.elem));
}

Value DirectKernel::colOf(Value it, int64_t u) {
  return e.addi(e.addi(e.muli(it, perIter() * dg::kStepK), warpK0),
                u * dg::kStepK);
}

Value DirectKernel::inK(Value col) { return e.ult(col, e.idx(ctx.shape.k)); }

Value DirectKernel::load(Value mem, Value row, Value col) {
  auto type = VectorType::get({dg::kPiece}, ctx.shape.elem);
  auto l = vector::LoadOp::create(e.b, e.loc, type, mem, ValueRange{row, col});
  l.setAlignment(16);
  return l;
}

/// A fragment [rows][2] from (piece, offset) pairs, one register each:
/// vector.insert of 2-element shuffles (a 2-D vector.shape_cast has no
/// LLVM lowering in the NVVM pipeline).
Value DirectKernel::fragment(VectorType type,
                             ArrayRef<std::pair<Value, int64_t>> pairs) {
  Value frag = e.zeros(type);
  for (auto [r, pair] : llvm::enumerate(pairs)) {
    Value v = vector::ShuffleOp::create(
        e.b, e.loc, pair.first, pair.first,
        ArrayRef<int64_t>{pair.second, pair.second + 1});
    frag = vector::InsertOp::create(e.b, e.loc, v, frag,
                                    ArrayRef<int64_t>{int64_t(r)});
  }
  return frag;
}

/// A: [(row g, low), (row g + 8, low), (row g, high), (row g + 8, high)]
/// (the PTX m16n8k16 fragment order).
Value DirectKernel::aFragment(Value w0, Value w1, int64_t j) {
  return fragment(VectorType::get({4, 2}, ctx.shape.elem),
                  {{w0, dg::pieceOffset(j, false, 0)},
                   {w1, dg::pieceOffset(j, false, 0)},
                   {w0, dg::pieceOffset(j, true, 0)},
                   {w1, dg::pieceOffset(j, true, 0)}});
}

/// B: [low, high].
Value DirectKernel::bFragment(Value x, int64_t j) {
  return fragment(
      VectorType::get({2, 2}, ctx.shape.elem),
      {{x, dg::pieceOffset(j, false, 0)}, {x, dg::pieceOffset(j, true, 0)}});
}

/// The pieces of iteration `it`, perStep() per step.
SmallVector<Value> DirectKernel::loadIteration(Value it, bool clamp) {
  SmallVector<Value> pieces;
  for (int64_t u = 0; u < cfg.unroll; ++u) {
    Value col = colOf(it, u);
    // Past K: re-read piece 0 of the row (cached); `compute` zeroes it.
    if (clamp)
      col = e.select(inK(col), col, e.idx(0));
    pieces.push_back(load(ops.w, wRow0, col));
    pieces.push_back(load(ops.w, wRow1, col));
    for (int64_t nt = 0; nt < nTiles(); ++nt)
      pieces.push_back(load(ops.x, xRow[nt], col));
  }
  return pieces;
}

/// The MMAs of iteration `it` on its `pieces`, pieces past K or M zeroed.
SmallVector<Value> DirectKernel::compute(Value it, ValueRange pieces,
                                         ValueRange in) {
  SmallVector<Value> acc(in.begin(), in.end());
  for (int64_t u = 0; u < cfg.unroll; ++u) {
    Value a0 = pieces[u * perStep()], a1 = pieces[u * perStep() + 1];
    Value valid;
    if (masked()) {
      valid = inK(colOf(it, u));
      a0 = e.select(valid, a0, zeroPiece);
      a1 = e.select(valid, a1, zeroPiece);
    }
    SmallVector<Value> xPiece;
    for (int64_t nt = 0; nt < nTiles(); ++nt) {
      Value ok = xValid[nt];
      if (masked())
        ok = arith::AndIOp::create(e.b, e.loc, ok, valid);
      xPiece.push_back(e.select(ok, pieces[u * perStep() + 2 + nt], zeroPiece));
    }
    for (int64_t j = 0; j < 2; ++j) {
      Value aFrag = aFragment(a0, a1, j);
      for (int64_t nt = 0; nt < nTiles(); ++nt)
        acc[nt] = emitMma(e, aFrag, bFragment(xPiece[nt], j), acc[nt]);
    }
  }
  return acc;
}

/// The K loop; returns the accumulators.
SmallVector<Value> DirectKernel::mainLoop() {
  OpBuilder &b = e.b;
  const int64_t nt = nTiles(), iters = iterations();
  const bool mask = masked();
  SmallVector<Value> init(nt, e.zeros(VectorType::get({2, 2}, b.getF32Type())));
  if (!cfg.prefetch) {
    // Every load of the iteration first, then its MMAs: 2 * unroll W
    // pieces and unroll * P / 8 x pieces per lane in flight (ptxas may
    // still interleave them with the MMAs that consume them).
    auto loop = scf::ForOp::create(
        b, e.loc, e.idx(0), e.idx(iters), e.idx(1), init,
        [&](OpBuilder &, Location, Value it, ValueRange state) {
          SmallVector<Value> pieces = loadIteration(it, mask);
          scf::YieldOp::create(b, e.loc, compute(it, pieces, state));
        });
    return SmallVector<Value>(loop.getResults());
  }
  // Register double buffering: iteration `it` issues the loads of it + 1
  // before the MMAs of `it`, whose pieces were loaded one iteration earlier
  // (loop-carried), so no MMA waits on the loads just issued and a warp
  // always has a whole iteration of loads in flight. The last iteration is
  // peeled (it loads nothing).
  SmallVector<Value> state = init;
  llvm::append_range(state, loadIteration(e.idx(0), mask));
  auto loop = scf::ForOp::create(
      b, e.loc, e.idx(0), e.idx(iters - 1), e.idx(1), state,
      [&](OpBuilder &, Location, Value it, ValueRange st) {
        SmallVector<Value> next = loadIteration(e.addi(it, 1), mask);
        SmallVector<Value> out =
            compute(it, st.drop_front(nt), st.take_front(nt));
        llvm::append_range(out, next);
        scf::YieldOp::create(b, e.loc, out);
      });
  return compute(e.idx(iters - 1), loop.getResults().drop_front(nt),
                 loop.getResults().take_front(nt));
}

/// Cross-warp reduction: [splitK][16][P + 1] f32 (the +1 staggers the
/// columns the final pass reads), one barrier.
void DirectKernel::reduce(ArrayRef<Value> acc) {
  OpBuilder &b = e.b;
  Value smem = dynamicSharedMemory(e);
  Value red =
      sharedView(e, smem, {cfg.splitK, 16, cfg.mTile + 1}, b.getF32Type(), 0);
  Value t2 = e.muli(t, 2);
  for (int64_t nt = 0; nt < nTiles(); ++nt)
    for (int64_t i = 0; i < 2; ++i)
      for (int64_t j = 0; j < 2; ++j) {
        Value v = vector::ExtractOp::create(b, e.loc, acc[nt],
                                            ArrayRef<int64_t>{i, j});
        memref::StoreOp::create(
            b, e.loc, v, red,
            ValueRange{warp, e.addi(g, 8 * i), e.addi(t2, nt * 8 + j)});
      }
  gpu::BarrierOp::create(b, e.loc);
  storeReducedTile(
      e, ops, {red, cfg.threads(), 16, cfg.mTile, cfg.splitK, n0, m0, rows},
      tid);
}

void DirectKernel::build() {
  setUp();
  SmallVector<Value> acc = mainLoop();
  reduce(acc);
  gpu::TerminatorOp::create(e.b, e.loc);
}

void flat_gemm::buildDirectBody(OpBuilder &b, const LaunchContext &ctx,
                                const DirectTiling &tiling) {
  b.setInsertionPointToStart(&ctx.launch.getBody().front());
  KernelEmitter e{b, ctx.launch.getLoc()};
  DirectKernel{e, ctx, tiling}.build();
}
