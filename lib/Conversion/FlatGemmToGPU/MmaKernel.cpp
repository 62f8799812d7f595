//===- MmaKernel.cpp - the cp.async-pipelined tensor-core kernel ----------===//
//
// mma_m<P> computes y^T = W x^T with mma.sync m16n8k16, W on the m = 16
// side and the batch M on the n = 8 side, so M is padded to a multiple of
// 8 only (FlashDecoding++'s flat GEMM). W and x tiles stream through a
// `stages`-deep cp.async ring in shared memory, so the copies of later K
// tiles overlap the MMAs of the current one. The pipeline is written out
// explicitly rather than with scf's pipeliner (MLIR22-NOTES 10): the wait
// counts are then exactly what the lit tests check.
//
// A cluster of clusterK CTAs (grid y) splits K, the first K tiles % clusterK
// ranks one K tile more than the others when clusterK does not divide them
// (N = 11008 has no row count giving a full wave of one-ring CTAs but 256
// rows x 3); each CTA reduces its warps'
// partial tiles into its shared memory and, after a cluster barrier, sums a
// 1 / clusterK share of the tile over every CTA of the cluster through
// distributed shared memory (mapa + ld.shared::cluster) and stores it. No
// workspace and no second launch: the reduction stays inside the kernel
// and so inside a CUDA graph.
//
//===----------------------------------------------------------------------===//
#include "GemmKernels.h"

#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

using namespace mlir;
using namespace mlir::fd;
using namespace mlir::fd::flat_gemm;

namespace {
/// The kernel body over grid (N / tileN, clusterK, ceil(M / P)) with
/// cfg.threads() threads; `build` emits it in order: ring views, prologue,
/// steady state, drain, cross-warp (and cross-CTA) reduction.
struct MmaKernel {
  KernelEmitter &e;
  const LaunchContext &ctx;
  const MmaTiling &cfg;
  GemmOperands ops;
  Value tid, n0, m0, warp, lane, rows;
  /// The warp's place in the [splitK][warpsN][warpsM] grid: its K slice
  /// and the first W row / x row of its output piece.
  Value warpK, warpN0, warpM0;
  /// The first K tile of this CTA's share of K (0 without a cluster) and
  /// the share's size (kTilesPerCta(), one more on the first kTilesLeft()
  /// ranks).
  Value kTile0, kTiles;
  Value smem, wBuf, xBuf;
  Value aRow, aCol, bRow, bCol, warpK0;
  /// Per lane: the swizzled columns of the A and B addresses of the 4 K steps
  /// of an 8-chunk group (just aCol / bCol when not swizzled).
  SmallVector<Value, 4> aCols, bCols;

  int64_t mTiles() const { return cfg.warpTileN() / 16; }
  int64_t nTiles() const { return cfg.warpTileM() / 8; }
  /// The K tiles every CTA of a cluster has, and how many are left over
  /// (the first that many ranks take one more each).
  int64_t kTilesPerCta() const {
    return ctx.shape.k / cfg.tileK / cfg.clusterK;
  }
  int64_t kTilesLeft() const {
    return ctx.shape.k / cfg.tileK % cfg.clusterK;
  }
  int64_t chunksPerRow() const { return cfg.tileK / kChunk; }
  /// The ring column of element `col` (a multiple of kChunk) of a row with
  /// row % 8 == `phase` (MmaTiling::swizzled).
  Value ringCol(Value phase, Value col) {
    if (!cfg.swizzled())
      return col;
    return swizzledColumn(e, phase, col);
  }
  /// The ring column of the ldmatrix address at K step ks of this warp's
  /// slice, for the lane's column `cols[ks % 4]` of the 4-step group
  /// (swizzled; precomputed so that the steps add constants only: XORs per
  /// step made mma_m64 spill).
  Value stepCol(ArrayRef<Value> cols, int64_t ks) {
    if (!cfg.swizzled())
      return e.addi(warpK0, e.addi(cols[0], e.idx(ks * 16)));
    return e.addi(warpK0, e.addi(cols[ks % 4], e.idx(ks / 4 * 8 * kChunk)));
  }

  void build();
  void setUp();
  Value issue(Value slot, Value kt);
  int64_t copyRounds(int64_t chunks) const;
  Value chunkOf(int64_t round, int64_t chunks);
  void copyRows(Value slot, Value k0, SmallVectorImpl<Value> &tokens);
  SmallVector<Value> compute(Value slot, ValueRange in);
  void wait(Value token, int64_t pending);
  SmallVector<Value> pipeline();
  void reduce(ArrayRef<Value> acc);
};
} // namespace

/// The ids, the ring (the W slots, then the x slots) and the ldmatrix
/// addresses: x4 on W gives the A fragment (rows 0-15 at k and at k + 8);
/// x2 on x gives B (x is [M][K], i.e. x^T in the "col" layout).
void MmaKernel::setUp() {
  ops = alignOperands(e, ctx.ops);
  tid = ctx.launch.getThreadIds().x;
  n0 = e.muli(ctx.launch.getBlockIds().x, cfg.tileN);
  m0 = e.muli(ctx.launch.getBlockIds().z, cfg.mTile);
  warp = e.divui(tid, 32);
  lane = e.remui(tid, 32);
  warpK = e.remui(warp, cfg.splitK);
  warpN0 = e.muli(e.remui(e.divui(warp, cfg.splitK), cfg.warpsN),
                  cfg.warpTileN());
  warpM0 = e.muli(e.divui(warp, cfg.splitK * cfg.warpsN), cfg.warpTileM());
  Value rank = ctx.launch.getBlockIds().y;
  kTile0 = cfg.clusterK > 1 ? e.muli(rank, kTilesPerCta()) : e.idx(0);
  kTiles = e.idx(kTilesPerCta());
  if (kTilesLeft() != 0) {
    kTile0 = e.addi(kTile0, e.mini(rank, e.idx(kTilesLeft())));
    kTiles = e.addi(kTiles, e.select(e.ult(rank, e.idx(kTilesLeft())),
                                     e.idx(1), e.idx(0)));
  }
  rows = memref::DimOp::create(e.b, e.loc, ops.x, 0);
  const int64_t stages = cfg.stages, ld = cfg.rowStride();
  Type elem = ctx.shape.elem;
  smem = dynamicSharedMemory(e);
  wBuf = sharedView(e, smem, {stages, cfg.tileN, ld}, elem, 0);
  xBuf = sharedView(e, smem, {stages, cfg.mTile, ld}, elem,
                    stages * cfg.tileN * ld * 2);
  aRow = e.remui(lane, 16);
  aCol = e.muli(e.divui(lane, 16), kChunk);
  bRow = e.remui(lane, 8);
  bCol = e.muli(e.remui(e.divui(lane, 8), 2), kChunk);
  warpK0 = e.muli(warpK, cfg.tileK / cfg.splitK);
  // Every ldmatrix row address of this lane is a ring row = lane (mod 8)
  // (the warp's first rows are multiples of 8).
  Value phase = e.remui(lane, 8);
  for (int64_t j = 0; j < (cfg.swizzled() ? 4 : 1); ++j) {
    aCols.push_back(ringCol(phase, e.addi(aCol, e.idx(16 * j))));
    bCols.push_back(ringCol(phase, e.addi(bCol, e.idx(16 * j))));
  }
}

/// 16-byte copies per thread for `chunks` chunks of a tile: whole rounds of
/// every thread, the last one partial when the thread count does not divide
/// the chunks (a wide tile of 96 or 224 rows has 6 or 14 warps).
int64_t MmaKernel::copyRounds(int64_t chunks) const {
  return llvm::divideCeil(chunks, cfg.threads());
}

/// The chunk this thread copies in round `round`. In a partial last round
/// the threads past the end copy the tile's last chunk again: the same bytes
/// to the same place, harmless, and no branch (a copy under scf.if could not
/// give its token to the group).
Value MmaKernel::chunkOf(int64_t round, int64_t chunks) {
  const int64_t threads = cfg.threads();
  Value c = e.addi(tid, round * threads);
  if ((round + 1) * threads > chunks)
    c = arith::MinUIOp::create(e.b, e.loc, c, e.idx(chunks - 1));
  return c;
}

/// The x rows of K tile k0 into ring slot `slot`. Rows at or past M copy 0
/// source bytes (zero fill) from row 0, which exists since the launch is
/// skipped for M = 0.
void MmaKernel::copyRows(Value slot, Value k0, SmallVectorImpl<Value> &tokens) {
  OpBuilder &b = e.b;
  auto tokenType = nvgpu::DeviceAsyncTokenType::get(b.getContext());
  const int64_t perRow = chunksPerRow(), chunks = cfg.mTile * perRow;
  for (int64_t i = 0; i < copyRounds(chunks); ++i) {
    Value c = chunkOf(i, chunks);
    Value r = e.divui(c, perRow);
    Value col = e.muli(e.remui(c, perRow), kChunk);
    Value row = e.addi(m0, r);
    Value valid = e.ult(row, rows);
    tokens.push_back(nvgpu::DeviceAsyncCopyOp::create(
        b, e.loc, tokenType, xBuf,
        ValueRange{slot, r, ringCol(e.remui(r, 8), col)}, ops.x,
        ValueRange{e.select(valid, row, e.idx(0)), e.addi(k0, col)},
        b.getIndexAttr(kChunk), e.select(valid, e.idx(kChunk), e.idx(0)),
        b.getUnitAttr()));
  }
}

/// Copies this CTA's K tile `kt` (W, then x) into ring slot `slot`;
/// returns its group token.
Value MmaKernel::issue(Value slot, Value kt) {
  OpBuilder &b = e.b;
  auto tokenType = nvgpu::DeviceAsyncTokenType::get(b.getContext());
  const int64_t perRow = chunksPerRow(), chunks = cfg.tileN * perRow;
  SmallVector<Value> tokens;
  Value k0 = e.muli(e.addi(kTile0, kt), cfg.tileK);
  for (int64_t i = 0; i < copyRounds(chunks); ++i) {
    Value c = chunkOf(i, chunks);
    Value r = e.divui(c, perRow);
    Value col = e.muli(e.remui(c, perRow), kChunk);
    tokens.push_back(nvgpu::DeviceAsyncCopyOp::create(
        b, e.loc, tokenType, wBuf,
        ValueRange{slot, r, ringCol(e.remui(r, 8), col)}, ops.w,
        ValueRange{e.addi(n0, r), e.addi(k0, col)}, b.getIndexAttr(kChunk),
        Value(), b.getUnitAttr()));
  }
  copyRows(slot, k0, tokens);
  return nvgpu::DeviceAsyncCreateGroupOp::create(b, e.loc, tokenType, tokens);
}

/// The MMAs of the K tile in ring slot `slot`: the warp's K slice in
/// 16-wide steps over its output piece, accumulators [mTiles][nTiles] in
/// `in`.
SmallVector<Value> MmaKernel::compute(Value slot, ValueRange in) {
  OpBuilder &b = e.b;
  Type elem = ctx.shape.elem;
  auto aFragType = VectorType::get({4, 2}, elem);
  auto bFragType = VectorType::get({2, 2}, elem);
  SmallVector<Value> acc(in.begin(), in.end());
  for (int64_t ks = 0; ks < cfg.tileK / cfg.splitK / 16; ++ks) {
    Value aK = stepCol(aCols, ks), bK = stepCol(bCols, ks);
    SmallVector<Value> aFrag, bFrag;
    for (int64_t mt = 0; mt < mTiles(); ++mt)
      aFrag.push_back(nvgpu::LdMatrixOp::create(
          b, e.loc, aFragType, wBuf,
          ValueRange{slot, e.addi(warpN0, e.addi(aRow, mt * 16)), aK}, false,
          4));
    for (int64_t nt = 0; nt < nTiles(); ++nt)
      bFrag.push_back(nvgpu::LdMatrixOp::create(
          b, e.loc, bFragType, xBuf,
          ValueRange{slot, e.addi(warpM0, e.addi(bRow, nt * 8)), bK}, false,
          2));
    for (int64_t mt = 0; mt < mTiles(); ++mt)
      for (int64_t nt = 0; nt < nTiles(); ++nt)
        acc[mt * nTiles() + nt] =
            emitMma(e, aFrag[mt], bFrag[nt], acc[mt * nTiles() + nt]);
  }
  return acc;
}

void MmaKernel::wait(Value token, int64_t pending) {
  nvgpu::DeviceAsyncWaitOp::create(e.b, e.loc, token,
                                   e.b.getI32IntegerAttr(pending));
  // Every thread's copies of the tile have landed, and every warp is done
  // with the slot the next issue overwrites.
  gpu::BarrierOp::create(e.b, e.loc);
}

/// The K loop; returns the accumulators.
SmallVector<Value> MmaKernel::pipeline() {
  OpBuilder &b = e.b;
  const int64_t stages = cfg.stages;
  // Static unless the cluster's ranks have unequal shares of K.
  const bool even = kTilesLeft() == 0;
  const int64_t numKTiles = kTilesPerCta();
  auto accType = VectorType::get({2, 2}, b.getF32Type());

  // Prologue: tiles 0 .. stages-2 in flight.
  Value token;
  for (int64_t s = 0; s + 1 < stages; ++s)
    token = issue(e.idx(s), e.idx(s));

  // Steady state: wait for tile kt, refill the slot tile kt-1 used with tile
  // kt + stages - 1, then compute tile kt.
  SmallVector<Value> init(mTiles() * nTiles(), e.zeros(accType));
  init.push_back(token);
  Value steady = even ? e.idx(numKTiles - (stages - 1))
                      : arith::SubIOp::create(b, e.loc, kTiles,
                                              e.idx(stages - 1))
                            .getResult();
  auto loop = scf::ForOp::create(
      b, e.loc, e.idx(0), steady, e.idx(1), init,
      [&](OpBuilder &, Location, Value kt, ValueRange state) {
        wait(state.back(), stages - 2);
        Value next = e.addi(kt, stages - 1);
        Value newToken = issue(e.remui(next, stages), next);
        SmallVector<Value> acc =
            compute(e.remui(kt, stages), state.drop_back());
        acc.push_back(newToken);
        scf::YieldOp::create(b, e.loc, acc);
      });

  // Drain: the last stages-1 tiles are in flight; fewer groups may stay
  // pending before each one.
  SmallVector<Value> acc(loop.getResults().drop_back());
  token = loop.getResults().back();
  for (int64_t j = 0; j + 1 < stages; ++j) {
    int64_t kt = numKTiles - (stages - 1) + j;
    wait(token, stages - 2 - j);
    acc = compute(even ? e.idx(kt % stages)
                       : e.remui(e.addi(steady, e.idx(j)), stages),
                  acc);
  }
  return acc;
}

/// Cross-warp reduction through shared memory, reusing the ring: the last
/// wait(0) + the barrier here mean no copy is in flight and no warp still
/// reads. With a cluster the CTAs then sum each other's tiles.
void MmaKernel::reduce(ArrayRef<Value> acc) {
  OpBuilder &b = e.b;
  gpu::BarrierOp::create(b, e.loc);
  Value red = sharedView(e, smem, {cfg.splitK, cfg.tileN, cfg.mTile + 1},
                         b.getF32Type(), 0);
  Value g = e.divui(lane, 4), t2 = e.muli(e.remui(lane, 4), 2);
  for (int64_t mt = 0; mt < mTiles(); ++mt)
    for (int64_t nt = 0; nt < nTiles(); ++nt)
      for (int64_t i = 0; i < 2; ++i)
        for (int64_t j = 0; j < 2; ++j) {
          Value v = vector::ExtractOp::create(b, e.loc, acc[mt * nTiles() + nt],
                                              ArrayRef<int64_t>{i, j});
          memref::StoreOp::create(
              b, e.loc, v, red,
              ValueRange{warpK, e.addi(warpN0, e.addi(g, mt * 16 + 8 * i)),
                         e.addi(warpM0, e.addi(t2, nt * 8 + j))});
        }
  ReducedTile tile{red,       cfg.threads(), cfg.tileN, cfg.mTile,
                   cfg.splitK, n0,           m0,        rows};
  if (cfg.clusterK == 1) {
    gpu::BarrierOp::create(b, e.loc);
    storeReducedTile(e, ops, tile, tid);
    return;
  }
  // Every CTA's tile is in its shared memory (the cluster barrier has
  // release / acquire semantics and includes this CTA's threads) ...
  NVVM::ClusterArriveOp::create(b, e.loc, /*aligned=*/UnitAttr());
  NVVM::ClusterWaitOp::create(b, e.loc, /*aligned=*/UnitAttr());
  storeClusterReducedTile(e, ops, tile, tid, cfg.clusterK,
                          ctx.launch.getBlockIds().y);
  // ... and stays there until every CTA has read its share.
  NVVM::ClusterArriveOp::create(b, e.loc, /*aligned=*/UnitAttr());
  NVVM::ClusterWaitOp::create(b, e.loc, /*aligned=*/UnitAttr());
}

void MmaKernel::build() {
  setUp();
  SmallVector<Value> acc = pipeline();
  reduce(acc);
  gpu::TerminatorOp::create(e.b, e.loc);
}

void flat_gemm::buildMmaBody(OpBuilder &b, const LaunchContext &ctx,
                             const MmaTiling &tiling) {
  b.setInsertionPointToStart(&ctx.launch.getBody().front());
  KernelEmitter e{b, ctx.launch.getLoc()};
  MmaKernel{e, ctx, tiling}.build();
}
