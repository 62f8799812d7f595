//===- MmaSplitWork.cpp - the split-attention work of one CTA on tensor cores ===//
//
// For grouped queries the CUDA-core token loop is instruction-bound: per
// token and lane it computes every query head's dot product, shuffle
// reduction, exp2 and FMA (docs/perf.md). Here the group's query heads are
// the m = 16 side of mma.sync m16n8k16 (rows past the group are zero) and
// tokens the n = 8 side, so a K/V row costs the same whatever the group:
//
//   S = Q K^T   A = Q (ldmatrix from shared memory, kept in registers up to
//               D = 128), B = the K rows (ldmatrix: K's [token][d] layout is
//               the "col" B operand as it is)
//   O += P V    A = P straight from S's accumulators (TensorCore.h), B = the
//               V rows (ldmatrix.trans)
//
// The CTA's 4 warps take 16 tokens each of every 64-token tile (8 warps: 8
// tokens each, P V then as m16n8k8 MMAs, the k = 8 of P being the n = 8 of
// S, so the same registers again); tiles stream
// through a `stages`-deep cp.async ring (bypassing L1), so the copies of the
// next tiles overlap the MMAs of this one. The ring's rows are dense and
// XOR-swizzled (ringCol), not padded: see kPad. Each warp keeps the online-softmax
// (or fixed-max) state of its 16 rows; the warps are combined once, at the
// end, through the same shared memory. Tokens past the split's end are
// zero-filled by the copy (no byte past the length is read) and masked.
//
//===----------------------------------------------------------------------===//
#include "../Utils/TensorCore.h"
#include "TokenLoop.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

#include <cfloat>

using namespace mlir;
using namespace mlir::fd;

namespace mlir::fd::gpu_kernels {
namespace {
constexpr int64_t kTile = kMmaTile;
/// Row padding (elements) of the query tile, written by plain stores: a row
/// stride of D + 8 elements puts the 8 rows an ldmatrix phase reads in 8
/// distinct 16-byte bank groups. The K/V ring, filled by cp.async, swizzles
/// instead (ringCol, swizzledColumn): padded, it fetched 1.5x the sectors
/// from L2 (ncu at 45f1805: L2 hit rate 34% on a pure stream, L2 94% busy
/// while DRAM ran at 87%; docs/perf.md "Session 8").
constexpr int64_t kPad = 8;
/// Shared memory one block may opt into on sm_80 / sm_90 (227 KB).
constexpr int64_t kMaxSharedPerBlock = 227 * 1024;

struct MmaTokenLoop {
  KernelEmitter &e;
  const Layout &lay;
  const AttentionShape &shape;
  Mode mode;
  Value phi;
  KVCacheAccess keys, values;
  SplitWork &w;

  int64_t d = shape.headDim;
  /// 4 or 8 warps (threadsFor): each takes tokensPerWarp of every tile.
  int64_t threads = lay.blockSize, warps = threads / 32,
          tokensPerWarp = kTile / warps;
  /// Row strides (elements) of the query tile and of the ring.
  int64_t qLd = d + kPad, ld = d;
  int64_t stages = 0;
  /// Q's A fragments stay in registers up to D = 128; at D = 256 they would
  /// double the accumulators' 128 registers, so they are re-read per tile.
  bool qInRegisters = d <= 128;
  Type elem = shape.elementType;

  Value smem, qBuf, kRing, vRing, tRing;
  Value warp, lane, g, t2, aRow, aCol, kRow, kCol, vRow, vCol;
  /// lane % 8: the ring row modulo 8 of every ldmatrix row address this lane
  /// gives (the warps' 16-row blocks start at multiples of 8).
  Value rowPhase;
  SmallVector<Value> qFrag;
  /// Contiguous cache: where this thread's copies read, in elements from
  /// the cache's aligned base (see ContiguousRows).
  struct ContiguousRows {
    /// Token 0 of (batch, KV head) at this thread's column: the row a copy
    /// past the end names (it moves no bytes).
    Value first;
    /// The token stride, and the distance of consecutive copies' rows.
    Value tokenStride, copyStride;
    /// Tokens the cache holds per (batch, KV head): what a copy made before
    /// the length is known may read.
    Value capacity;
  };
  ContiguousRows keyRows, valueRows;
  /// ceil((end - begin) / 64): the split's tiles.
  Value tiles;

  /// The row halves of the m = 16 fragments that hold query heads: rows
  /// g + 8 i for i < rowHalves(). At groups up to 8 the upper half is
  /// padding whose softmax, rescale and combine stores are skipped: a
  /// quarter of a tile's scalar work at group 4.
  int64_t rowHalves() const { return shape.groupSize() > 8 ? 2 : 1; }
  int64_t qBytes() const { return 16 * qLd * 2; }
  int64_t slotBytes() const { return kTile * ld * 2; }
  /// Paged: a ring of page numbers beside the K/V ring, one per copy thread
  /// and slot (threads past the tile's 64 tokens zero-fill theirs).
  int64_t tableRingBytes() const {
    if (!keys.isPaged())
      return 0;
    return stages * threads * tableElemBytes();
  }
  int64_t tableElemBytes() const {
    auto t = cast<MemRefType>(keys.blockTable().getType());
    return t.getElementTypeBitWidth() / 8;
  }
  int64_t ringBytes() const {
    return qBytes() + 2 * stages * slotBytes() + tableRingBytes();
  }
  int64_t combineBytes() const { return mmaCombineBytes(d, warps); }
  int64_t smemBytes() const { return std::max(ringBytes(), combineBytes()); }

  void setUp();
  ContiguousRows contiguousRows(const KVCacheAccess &cache);
  Value issueQuery(Value q);
  void loadQueryFragments(Value token, int64_t groupsAfter);
  int64_t rowsPerThread() const { return kTile * (d / kVectorWidth) / threads; }
  /// The i-th 16-byte copy this thread makes of tile kt: ring row and
  /// column (rowSlot: the same for every tile), the token (token 0 past the
  /// end: those copies move no bytes) and whether it is in the split.
  struct RowSlot {
    Value row, col, ringCol;
  };
  struct RowCopy : RowSlot {
    Value token, valid;
  };
  RowSlot rowSlot(int64_t i);
  /// Where element `col` of a ring row with row % 8 == `phase` is stored
  /// (D is a multiple of 64: whole 8-chunk rows).
  Value ringCol(Value phase, Value col) {
    return swizzledColumn(e, phase, col);
  }
  RowCopy rowCopy(Value kt, int64_t i);
  /// Rows of a copy: threads / (D / 8) tile rows apart.
  int64_t copyRowStep() const { return threads / (d / kVectorWidth); }
  SmallVector<Value> pagesOf(Value kt);
  SmallVector<Value> pagesFromRing(Value kt);
  using PagesFn = function_ref<SmallVector<Value>(Value)>;
  Value issue(Value kt, PagesFn pages, Value tableTile);
  /// `speculative`: tile 0 from w.firstToken, rows bounded by the cache's
  /// capacity instead of the split's end (contiguous only).
  void issueCopies(Value kt, ValueRange pages, Value tableTile,
                   SmallVectorImpl<Value> &tokens, bool speculative = false);
  /// Whether tile 0 is copied before the length is known: a contiguous
  /// cache whose split starts at w.firstToken.
  bool speculative() const { return !keys.isPaged() && w.firstToken; }
  Value issueSpeculativeTile();
  void zeroValuesPastEnd();
  SmallVector<Value> compute(Value kt, ValueRange state, double scale);
  /// compute()'s S = Q K^T over the warp's tokens: one C fragment per n
  /// tile of 8 tokens (two at 16 tokens a warp, one at 8).
  SmallVector<Value, 2> scores(Value slot, Value row0);
  void finish(ValueRange state, Value token);
};

void MmaTokenLoop::setUp() {
  warp = e.divui(lay.tid, 32);
  lane = e.remui(lay.tid, 32);
  g = e.divui(lane, 4);
  t2 = e.muli(e.remui(lane, 4), 2);
  // ldmatrix row addresses. A (Q, x4): rows lane % 16, k half lane / 16.
  aRow = e.remui(lane, 16);
  aCol = e.muli(e.divui(lane, 16), 8);
  if (tokensPerWarp == 16) {
    // B of S (K, x4 = two n tiles): token lane % 8 (+ 8 for lanes 16-31),
    // k half (lane / 8) % 2.
    kRow = e.addi(e.remui(lane, 8), e.muli(e.divui(lane, 16), 8));
    kCol = e.muli(e.remui(e.divui(lane, 8), 2), 8);
    // B of O (V, x4.trans = two d tiles): token lane % 16, d half lane / 16.
    vRow = e.remui(lane, 16);
    vCol = e.muli(e.divui(lane, 16), 8);
  } else {
    // 8 tokens: each x4 is four 8 x 8 matrices of the same tokens at four
    // consecutive 8-column blocks (lane / 8): the B fragments of two k
    // steps of S (K), or of four d tiles of O (V, trans, k = the tokens).
    kRow = vRow = e.remui(lane, 8);
    kCol = vCol = e.muli(e.divui(lane, 8), 8);
  }
  rowPhase = e.remui(lane, 8);

  smem = dynamicSharedMemory(e);
  qBuf = sharedView(e, smem, {16, qLd}, elem, 0);
  kRing = sharedView(e, smem, {stages, kTile, ld}, elem, qBytes());
  vRing = sharedView(e, smem, {stages, kTile, ld}, elem,
                     qBytes() + stages * slotBytes());
  if (!keys.isPaged()) {
    keyRows = contiguousRows(keys);
    valueRows = contiguousRows(values);
  } else {
    tRing = sharedView(
        e, smem, {stages, threads},
        cast<MemRefType>(keys.blockTable().getType()).getElementType(),
        qBytes() + 2 * stages * slotBytes());
  }
}

Value MmaTokenLoop::issueQuery(Value q) {
  // The group's query rows into qBuf by cp.async, rows past the group
  // zero-filled (no byte read). Issued before anything waits on the
  // sequence length: staged through registers and a barrier, Q's load was
  // a whole memory latency on every CTA's critical path before the first
  // K/V copy could start. The scale is applied to the f32 scores, not to Q,
  // so Q keeps its input precision.
  OpBuilder &b = e.b;
  auto tokenType = nvgpu::DeviceAsyncTokenType::get(b.getContext());
  int64_t group = shape.groupSize(), perRow = d / kVectorWidth;
  SmallVector<Value> tokens;
  assert(16 * perRow % threads == 0 && "whole query tiles (threadsFor)");
  for (int64_t i = 0; i < 16 * perRow / threads; ++i) {
    Value c = e.addi(lay.tid, i * threads);
    Value r = e.divui(c, perRow);
    Value col = e.muli(e.remui(c, perRow), kVectorWidth);
    Value inGroup = e.ult(r, e.idx(group));
    Value head = e.addi(e.muli(w.kvHead, group),
                        e.mini(r, e.idx(group - 1)));
    tokens.push_back(nvgpu::DeviceAsyncCopyOp::create(
        b, e.loc, tokenType, qBuf, ValueRange{r, col}, q,
        ValueRange{w.batch, head, col}, b.getIndexAttr(kVectorWidth),
        e.select(inGroup, e.idx(kVectorWidth), e.idx(0)), b.getUnitAttr()));
  }
  return nvgpu::DeviceAsyncCreateGroupOp::create(b, e.loc, tokenType, tokens);
}

void MmaTokenLoop::loadQueryFragments(Value token, int64_t groupsAfter) {
  if (!qInRegisters)
    return; // read from qBuf per tile, after the loop's first wait
  OpBuilder &b = e.b;
  // Q's group is the oldest: let the K/V groups issued after it stay in
  // flight.
  nvgpu::DeviceAsyncWaitOp::create(b, e.loc, token,
                                   b.getI32IntegerAttr(groupsAfter));
  gpu::BarrierOp::create(b, e.loc);
  for (int64_t kd = 0; kd < d / 16; ++kd)
    qFrag.push_back(nvgpu::LdMatrixOp::create(
        b, e.loc, VectorType::get({4, 2}, elem), qBuf,
        ValueRange{aRow, e.addi(aCol, kd * 16)}, false, 4));
}

MmaTokenLoop::RowSlot MmaTokenLoop::rowSlot(int64_t i) {
  int64_t perRow = d / kVectorWidth;
  Value c = e.addi(lay.tid, i * threads);
  Value r = e.divui(c, perRow);
  Value col = e.muli(e.remui(c, perRow), kVectorWidth);
  return {r, col, ringCol(e.remui(r, 8), col)};
}

MmaTokenLoop::RowCopy MmaTokenLoop::rowCopy(Value kt, int64_t i) {
  RowCopy c;
  static_cast<RowSlot &>(c) = rowSlot(i);
  Value t = e.addi(e.addi(w.begin, e.muli(kt, kTile)), c.row);
  c.valid = e.ult(t, w.end);
  c.token = e.select(c.valid, t, e.idx(0));
  return c;
}

/// Paged: the page of each row this thread copies of tile kt, one table
/// load per row for both K and V; empty for a contiguous cache. Read from
/// the block table itself: the prologue's tiles only.
SmallVector<Value> MmaTokenLoop::pagesOf(Value kt) {
  SmallVector<Value> pages;
  if (!keys.isPaged())
    return pages;
  for (int64_t i = 0; i < rowsPerThread(); ++i)
    pages.push_back(keys.page(e.b, e.loc, rowCopy(kt, i).token));
  return pages;
}

/// Paged: as pagesOf, from the table ring that issue() filled stages - 1
/// tiles earlier (in a copy group the loop has waited for and behind a
/// barrier). Loading the pages from the table just before the copies put
/// the table's latency (a DRAM miss per 32 entries) on every tile's
/// critical path: paged decode was 1.24-1.58x slower than contiguous, with
/// the loads one tile ahead in registers still 1.24x.
SmallVector<Value> MmaTokenLoop::pagesFromRing(Value kt) {
  SmallVector<Value> pages;
  if (!keys.isPaged())
    return pages;
  Value slot = e.remui(kt, stages);
  for (int64_t i = 0; i < rowsPerThread(); ++i) {
    Value page = memref::LoadOp::create(e.b, e.loc, tRing,
                                        ValueRange{slot, rowSlot(i).row});
    pages.push_back(
        arith::IndexCastOp::create(e.b, e.loc, e.b.getIndexType(), page));
  }
  return pages;
}

/// Copies tile `kt` of the split (K then V, tokens begin + 64 kt ...) into
/// ring slot kt % stages; tokens at or past the end copy no bytes (zero
/// fill) from token 0. `pages(kt)`: the pages of kt's rows (pagesOf or
/// pagesFromRing). Paged, the same group also copies the page of each token
/// of tile `tableTile` into its table ring slot (thread i: token i; tokens
/// past the end: token 0's). Returns the group's token.
///
/// Only the split's tiles are copied. A tile past the end moves no bytes,
/// yet it cost its 2 x rowsPerThread copies' address arithmetic and issue
/// slots: at a one-tile split (B = 1, L = 1K: 64 tokens a CTA) 48 of the 64
/// copies a thread made, on a warp whose instruction stream is the step's
/// critical path (docs/perf.md "Session 17"). The empty group in their place
/// keeps the count of groups the ring's waits rely on.
Value MmaTokenLoop::issue(Value kt, PagesFn pages, Value tableTile) {
  OpBuilder &b = e.b;
  auto tokenType = nvgpu::DeviceAsyncTokenType::get(b.getContext());
  auto inSplit = scf::IfOp::create(b, e.loc, TypeRange{tokenType},
                                   e.ult(kt, tiles), /*withElse=*/true);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(inSplit.thenBlock());
  SmallVector<Value> tokens;
  issueCopies(kt, pages(kt), tableTile, tokens);
  scf::YieldOp::create(b, e.loc,
                       nvgpu::DeviceAsyncCreateGroupOp::create(b, e.loc,
                                                               tokenType,
                                                               tokens)
                           .getResult());
  b.setInsertionPointToStart(inSplit.elseBlock());
  scf::YieldOp::create(
      b, e.loc,
      nvgpu::DeviceAsyncCreateGroupOp::create(b, e.loc, tokenType, ValueRange{})
          .getResult());
  return inSplit.getResult(0);
}

/// Contiguous: the copies read through a view at an element offset built
/// here, not at indices (batch, head, token, col). From indices the memref
/// lowering multiplies each copy's token by the token stride, in 64 bits,
/// after the select that sends a copy past the end to token 0, which keeps
/// LLVM from strength-reducing it: about 15 instructions a copy. Here a tile
/// costs one multiply and each copy an add, a compare and a select.
MmaTokenLoop::ContiguousRows
MmaTokenLoop::contiguousRows(const KVCacheAccess &cache) {
  KVContiguousRows rows = cache.contiguousRows(e.b, e.loc);
  int64_t perRow = d / kVectorWidth;
  assert(threads % perRow == 0 && "whole rows per copy step");
  Value col = e.muli(e.remui(lay.tid, perRow), kVectorWidth);
  return {e.addi(rows.first, col), rows.tokenStride,
          e.muli(rows.tokenStride, copyRowStep()), rows.capacity};
}

void MmaTokenLoop::issueCopies(Value kt, ValueRange pages, Value tableTile,
                               SmallVectorImpl<Value> &tokens,
                               bool speculative) {
  OpBuilder &b = e.b;
  Location loc = e.loc;
  auto tokenType = nvgpu::DeviceAsyncTokenType::get(b.getContext());
  Value slot = e.remui(kt, stages);
  // Contiguous: this thread's first row of the tile, and how many of its
  // rows (copyRowStep apart) are before the end.
  Value firstToken, ahead;
  if (!keys.isPaged()) {
    Value tileStart = speculative ? w.firstToken
                                  : e.addi(w.begin, e.muli(kt, kTile));
    firstToken = e.addi(tileStart, e.divui(lay.tid, d / kVectorWidth));
    if (!speculative)
      ahead = arith::SubIOp::create(b, loc, w.end, firstToken);
  }
  for (const KVCacheAccess *cache : {&keys, &values}) {
    Value ring = cache == &keys ? kRing : vRing;
    const ContiguousRows &rows = cache == &keys ? keyRows : valueRows;
    Value rowAt;
    if (!keys.isPaged())
      rowAt = e.addi(rows.first, e.muli(firstToken, rows.tokenStride));
    // Before the length: any row the cache holds (zeroValuesPastEnd
    // clears V's rows past the split's end once it is known).
    if (speculative)
      ahead = arith::SubIOp::create(b, loc, rows.capacity, firstToken);
    for (int64_t i = 0; i < rowsPerThread(); ++i) {
      // Contiguous: the slot only (the validity comes from `ahead`).
      RowCopy c;
      if (keys.isPaged())
        c = rowCopy(kt, i);
      else
        static_cast<RowSlot &>(c) = rowSlot(i);
      Value src = cache->memref(), valid = c.valid;
      SmallVector<Value, 4> srcIndices;
      if (keys.isPaged()) {
        srcIndices = cache->indicesInPage(b, loc, c.token, pages[i], c.col);
      } else {
        valid = e.cmp(arith::CmpIPredicate::slt, e.idx(i * copyRowStep()),
                      ahead);
        Value at = e.select(valid, e.addi(rowAt, e.muli(rows.copyStride, i)),
                            rows.first);
        auto srcType = cast<MemRefType>(src.getType());
        auto viewType = MemRefType::get(
            {kVectorWidth}, elem,
            StridedLayoutAttr::get(b.getContext(), ShapedType::kDynamic, {1}),
            srcType.getMemorySpace());
        src = memref::ReinterpretCastOp::create(
            b, loc, viewType, src, OpFoldResult(at),
            ArrayRef<OpFoldResult>{b.getIndexAttr(kVectorWidth)},
            ArrayRef<OpFoldResult>{b.getIndexAttr(1)});
        srcIndices = {e.idx(0)};
      }
      tokens.push_back(nvgpu::DeviceAsyncCopyOp::create(
          b, loc, tokenType, ring, ValueRange{slot, c.row, c.ringCol}, src,
          srcIndices, b.getIndexAttr(kVectorWidth),
          e.select(valid, e.idx(kVectorWidth), e.idx(0)), b.getUnitAttr()));
    }
  }
  if (keys.isPaged()) {
    assert(kTile <= threads && "one table entry per thread");
    Value t = e.addi(e.addi(w.begin, e.muli(tableTile, kTile)), lay.tid);
    Value valid = e.andi(e.ult(lay.tid, e.idx(kTile)), e.ult(t, w.end));
    Value tableSlot = e.divui(e.select(valid, t, e.idx(0)), keys.pageSize());
    tokens.push_back(nvgpu::DeviceAsyncCopyOp::create(
        b, loc, tokenType, tRing,
        ValueRange{e.remui(tableTile, stages), lay.tid}, keys.blockTable(),
        keys.tableIndices(b, loc, tableSlot), b.getIndexAttr(1),
        e.select(valid, e.idx(1), e.idx(0)), UnitAttr()));
  }
}

/// Tile 0 of a contiguous cache, issued before the length is read: the
/// length's latency and the tile's then overlap, where the tile's copies
/// had waited for the length (15% and 14% of a one-tile step's warp samples
/// went to those two waits, one after the other: docs/perf.md "Session
/// 20"). Rows up to the cache's capacity are read, however short the
/// sequence; K's rows past the end are masked in compute(), V's are zeroed
/// by zeroValuesPastEnd (0 x a NaN of stale memory is NaN in P V).
Value MmaTokenLoop::issueSpeculativeTile() {
  auto tokenType = nvgpu::DeviceAsyncTokenType::get(e.b.getContext());
  SmallVector<Value> tokens;
  issueCopies(e.idx(0), {}, Value(), tokens, /*speculative=*/true);
  return nvgpu::DeviceAsyncCreateGroupOp::create(e.b, e.loc, tokenType, tokens);
}

/// After this thread's copies of tile 0 have landed and before the barrier
/// that publishes them: zeros over its V rows at or past the split's end.
void MmaTokenLoop::zeroValuesPastEnd() {
  OpBuilder &b = e.b;
  Location loc = e.loc;
  Value zeros = e.zeros(VectorType::get({kVectorWidth}, elem));
  for (int64_t i = 0; i < rowsPerThread(); ++i) {
    RowSlot c = rowSlot(i);
    Value past = e.cmp(arith::CmpIPredicate::uge,
                       e.addi(w.firstToken, c.row), w.end);
    scf::IfOp::create(b, loc, past, [&](OpBuilder &, Location) {
      vector::StoreOp::create(b, loc, zeros, vRing,
                              ValueRange{e.idx(0), c.row, c.ringCol});
      scf::YieldOp::create(b, loc);
    });
  }
}

SmallVector<Value, 2> MmaTokenLoop::scores(Value slot, Value row0) {
  OpBuilder &b = e.b;
  Location loc = e.loc;
  auto fragA = VectorType::get({4, 2}, elem);
  auto accType = VectorType::get({2, 2}, b.getF32Type());
  auto queryA = [&](int64_t kd) {
    return qInRegisters
               ? qFrag[kd]
               : nvgpu::LdMatrixOp::create(
                     b, loc, fragA, qBuf,
                     ValueRange{aRow, e.addi(aCol, kd * 16)}, false, 4)
                     .getResult();
  };
  // The K ldmatrix.x4 at ring column `col` of this warp's tokens.
  auto keyX4 = [&](int64_t col) {
    return nvgpu::LdMatrixOp::create(
        b, loc, fragA, kRing,
        ValueRange{slot, e.addi(row0, kRow),
                   ringCol(rowPhase, e.addi(kCol, col))},
        false, 4);
  };
  if (tokensPerWarp == 16) {
    // Two n tiles of 8 tokens, one k step of 16 per x4.
    SmallVector<Value, 2> s = {e.zeros(accType), e.zeros(accType)};
    for (int64_t kd = 0; kd < d / 16; ++kd) {
      Value a = queryA(kd), kx4 = keyX4(kd * 16);
      s[0] = emitMma(e, a, takeRowPair(e, kx4, 0), s[0]);
      s[1] = emitMma(e, a, takeRowPair(e, kx4, 2), s[1]);
    }
    return s;
  }
  // One n tile of 8 tokens, two k steps of 16 per x4.
  Value s = e.zeros(accType);
  for (int64_t kd2 = 0; kd2 < d / 32; ++kd2) {
    Value kx4 = keyX4(kd2 * 32);
    for (int64_t h = 0; h < 2; ++h)
      s = emitMma(e, queryA(2 * kd2 + h), takeRowPair(e, kx4, 2 * h), s);
  }
  return {s};
}

/// The loop state: m[2], l[2] (rows g and g + 8 of this lane), then the
/// D / 8 accumulator tiles of O.
SmallVector<Value> MmaTokenLoop::compute(Value kt, ValueRange state,
                                         double scale) {
  OpBuilder &b = e.b;
  Location loc = e.loc;
  auto fragA = VectorType::get({4, 2}, elem);
  auto accType = VectorType::get({2, 2}, b.getF32Type());
  Value slot = e.remui(kt, stages);
  Value row0 = e.muli(warp, tokensPerWarp);

  // S = Q K^T over this warp's tokens: nTiles n tiles of 8.
  SmallVector<Value, 2> s = scores(slot, row0);
  const int64_t nTiles = s.size();

  // Scores in the log2 domain, tokens past the end masked.
  Value tok0 = e.addi(e.addi(w.begin, e.muli(kt, kTile)), e.addi(row0, t2));
  Value x[2][2][2];   // [row half i][n tile][j]
  Value ok[2][2];     // [n tile][j]
  for (int64_t n = 0; n < nTiles; ++n)
    for (int64_t j = 0; j < 2; ++j)
      ok[n][j] = e.ult(e.addi(tok0, 8 * n + j), w.end);
  Value scaleLog2 = e.f32(scale * kLog2e);
  const int64_t halves = rowHalves();
  for (int64_t i = 0; i < halves; ++i)
    for (int64_t n = 0; n < nTiles; ++n)
      for (int64_t j = 0; j < 2; ++j) {
        Value v = vector::ExtractOp::create(b, loc, s[n],
                                            ArrayRef<int64_t>{i, j});
        x[i][n][j] = e.select(ok[n][j], e.mul(v, scaleLog2), e.f32(-FLT_MAX));
      }

  // Per row half i: the quad's tile max mt, p = 2^(x - ref) and the
  // factor `fac` the running state takes. Online: ref = the new running max,
  // O and l rescaled by 2^(m - ref) first. Fixed max (unified max): ref = mt
  // too, so every p is in (0, 1] — P is f16/bf16 for the MMA, and f16 would
  // overflow at 2^(x - phi) > 65504 (a band of +-40 in natural units
  // spans 2^+-58) — and the tile adds 2^(mt - phi) (P V) to O: the state
  // stays relative to phi, which is what lets the splits merge by plain
  // sums; a row out of range makes the factor (and so the sum) inf or 0,
  // which the row check catches. A padding half keeps its state and P = 0.
  SmallVector<Value> next(state.begin(), state.end());
  Value fac[2];
  Value p[2][2][2];
  for (int64_t i = halves; i < 2; ++i)
    for (int64_t n = 0; n < nTiles; ++n)
      for (int64_t j = 0; j < 2; ++j)
        p[i][n][j] = e.f32(0);
  for (int64_t i = 0; i < halves; ++i) {
    Value mx = e.maxf(x[i][0][0], x[i][0][1]);
    for (int64_t n = 1; n < nTiles; ++n)
      mx = e.maxf(mx, e.maxf(x[i][n][0], x[i][n][1]));
    Value mt = e.groupMax(mx, 4);
    Value m = state[i], ref;
    Value l = state[2 + i], tileSum = e.f32(0);
    if (mode == Mode::Online) {
      ref = e.maxf(m, mt);
      fac[i] = e.exp2(e.sub(m, ref));
      l = e.mul(l, fac[i]);
    } else {
      ref = mt;
      fac[i] = e.exp2(e.sub(mt, phi));
    }
    next[i] = e.maxf(m, mt);
    for (int64_t n = 0; n < nTiles; ++n)
      for (int64_t j = 0; j < 2; ++j) {
        p[i][n][j] = e.select(ok[n][j], e.exp2(e.sub(x[i][n][j], ref)),
                              e.f32(0));
        tileSum = e.add(tileSum, p[i][n][j]);
      }
    next[2 + i] = mode == Mode::Online ? e.add(l, tileSum)
                                       : e.add(l, e.mul(fac[i], tileSum));
  }

  // P as the A operand: its k halves are the n tiles of S (k = 16), or
  // its one n tile (k = 8).
  Value pTile[2];
  for (int64_t n = 0; n < nTiles; ++n) {
    Value t = e.zeros(accType);
    for (int64_t i = 0; i < 2; ++i)
      for (int64_t j = 0; j < 2; ++j)
        t = vector::InsertOp::create(b, loc, p[i][n][j], t,
                                     ArrayRef<int64_t>{i, j});
    pTile[n] = t;
  }
  Value pA = nTiles == 2 ? accumulatorsToA(e, pTile[0], pTile[1], elem)
                         : accumulatorToA(e, pTile[0], elem);
  // acc * fac, or acc + fac * r, on the rows of the live halves only.
  auto scaled = [&](Value acc, Value r) {
    for (int64_t i = 0; i < halves; ++i)
      for (int64_t j = 0; j < 2; ++j) {
        SmallVector<int64_t, 2> at{i, j};
        Value a = vector::ExtractOp::create(b, loc, acc, at);
        Value v = r ? e.add(a, e.mul(vector::ExtractOp::create(b, loc, r, at),
                                     fac[i]))
                    : e.mul(a, fac[i]);
        acc = vector::InsertOp::create(b, loc, v, acc, at);
      }
    return acc;
  };
  // Online: O = O fac + P V. Fixed max: O = O + fac (P V). B: rows
  // [first, first + nTiles) of an x4.
  auto accumulate = [&](int64_t tile, Value vx4, int64_t first) {
    Value &acc = next[4 + tile];
    auto mma = [&](Value c) {
      return nTiles == 2 ? emitMma(e, pA, takeRowPair(e, vx4, first), c)
                         : emitMmaK8(e, pA, vx4, first, c);
    };
    if (mode == Mode::Online)
      acc = mma(scaled(acc, Value()));
    else
      acc = scaled(acc, mma(e.zeros(accType)));
  };
  // Per ldmatrix.x4.trans: two d tiles of k = 16 tokens, or four of k = 8.
  const int64_t tilesPerX4 = 4 / nTiles;
  for (int64_t dx = 0; dx < d / (8 * tilesPerX4); ++dx) {
    Value vx4 = nvgpu::LdMatrixOp::create(
        b, loc, fragA, vRing,
        ValueRange{slot, e.addi(row0, vRow),
                   ringCol(rowPhase, e.addi(vCol, dx * 8 * tilesPerX4))},
        true, 4);
    for (int64_t h = 0; h < tilesPerX4; ++h)
      accumulate(dx * tilesPerX4 + h, vx4, h * nTiles);
  }
  return next;
}

/// After the loop: the warps' states into shared memory (the ring, drained),
/// and w.combine over them.
void MmaTokenLoop::finish(ValueRange state, Value token) {
  OpBuilder &b = e.b;
  Location loc = e.loc;
  Type f32 = b.getF32Type();
  // No copy in flight (the last tile's zero fill included) and
  // no warp still reading the ring.
  nvgpu::DeviceAsyncWaitOp::create(b, loc, token, b.getI32IntegerAttr(0));
  gpu::BarrierOp::create(b, loc);
  Value cAcc = sharedView(e, smem, {warps, 16, d}, f32, 0);
  Value cMax = sharedView(e, smem, {warps, 16}, f32, warps * 16 * d * 4);
  Value cSum = sharedView(e, smem, {warps, 16}, f32,
                          warps * 16 * (d + 1) * 4);
  Value quadLeader = e.cmp(arith::CmpIPredicate::eq, e.remui(lane, 4), e.idx(0));
  // The combine reads rows below the group only: a padding half (groups up
  // to 8) stores nothing. A lane's two adjacent columns go in one store.
  for (int64_t i = 0; i < rowHalves(); ++i) {
    Value m = state[i]; // quad-uniform: built from quad maxima
    Value l = e.groupSum(state[2 + i], 4);
    Value r = e.addi(g, 8 * i);
    scf::IfOp::create(b, loc, quadLeader, [&](OpBuilder &, Location) {
      memref::StoreOp::create(b, loc, m, cMax, ValueRange{warp, r});
      memref::StoreOp::create(b, loc, l, cSum, ValueRange{warp, r});
      scf::YieldOp::create(b, loc);
    });
    for (int64_t nt = 0; nt < d / 8; ++nt) {
      Value v = vector::ExtractOp::create(b, loc, state[4 + nt],
                                          ArrayRef<int64_t>{i});
      auto store = vector::StoreOp::create(
          b, loc, v, cAcc, ValueRange{warp, r, e.addi(t2, nt * 8)});
      store.setAlignment(8);
    }
  }
  gpu::BarrierOp::create(b, loc);

  // The warps are the slots of the shared combine, every head's at once.
  w.combineReusesBuffers = false;
  KernelEmitter &em = e;
  Mode md = mode;
  Value tid = lay.tid;
  int64_t headDim = d, slots = warps, threadCount = threads;
  w.combine = [&em, md, tid, headDim, slots, threadCount, cAcc, cMax, cSum](
                  int64_t i,
                  function_ref<void(Value, Value, Value)> perElement) {
    OpBuilder &b = em.b;
    Location loc = em.loc;
    Value row = em.idx(i);
    return combineSlots(
        em, slots,
        [&](int64_t wi) {
          return memref::LoadOp::create(b, loc, cMax,
                                        ValueRange{em.idx(wi), row});
        },
        [&](int64_t wi) {
          return memref::LoadOp::create(b, loc, cSum,
                                        ValueRange{em.idx(wi), row});
        },
        [&](int64_t wi, Value dIdx) {
          return memref::LoadOp::create(b, loc, cAcc,
                                        ValueRange{em.idx(wi), row, dIdx});
        },
        md, tid, threadCount, headDim, perElement);
  };
}
} // namespace

int64_t mmaCombineBytes(int64_t headDim, int64_t warps) {
  // finish(): acc [warps][16][D], then max and sum [warps][16], all f32.
  return warps * 16 * (headDim + 2) * 4;
}

int64_t defaultMmaStages(int64_t headDim, bool unsplit) {
  // Session 6 (padded ring): at D = 128 4 stages (one CTA per SM, 3 tiles in
  // flight) beat 3 (two CTAs with 2 each) by 2-10% at B = 1 and 8, and 6
  // lost again. Session 8 (swizzled ring, 100 KB at 3 stages): 3 stages won
  // for the unsplit kernel at B = 32 / 64 (126.9 vs 130.0 us, 129.3 vs
  // 134.2) and still lost 2-4% for the split kernel at B = 1.
  if (headDim > 128)
    return 2;
  return unsplit ? 3 : 4;
}

void emitMmaPrefetchFirstTile(KernelEmitter &e, Value tid, int64_t threads,
                              const AttentionShape &shape,
                              const KVCacheOperands &kv, Value batch,
                              Value kvHead, Value first) {
  if (kv.blockTable)
    return; // the page is not known before the table is read
  OpBuilder &b = e.b;
  Location loc = e.loc;
  constexpr int64_t kLineBytes = 128;
  const int64_t linesPerRow = shape.headDim * 2 / kLineBytes,
                lines = kMmaTile * linesPerRow,
                lineElems = kLineBytes / 2;
  for (Value cache : {kv.key, kv.value}) {
    KVContiguousRows rows = kvContiguousRows(e, cache, batch, kvHead);
    Value base =
        memref::ExtractAlignedPointerAsIndexOp::create(b, loc, cache);
    for (int64_t l0 = 0; l0 < lines; l0 += threads) {
      Value line = e.addi(tid, l0);
      Value token = e.addi(first, e.divui(line, linesPerRow));
      // Inside the cache's rows: reading past the length is harmless for a
      // prefetch, past the allocation it is not.
      Value ok = e.ult(token, rows.capacity);
      if (lines - l0 < threads)
        ok = e.andi(ok, e.ult(line, e.idx(lines)));
      scf::IfOp::create(b, loc, ok, [&](OpBuilder &, Location) {
        Value elem = e.addi(e.addi(rows.first, e.muli(token, rows.tokenStride)),
                            e.muli(e.remui(line, linesPerRow), lineElems));
        Value addr = arith::IndexCastOp::create(
            b, loc, b.getI64Type(), e.addi(base, e.muli(elem, 2)));
        // Inline PTX: LLVM 22 selects llvm.nvvm.prefetch.L2 for sm_90 only,
        // and prefetch.L2 (generic addressing) is PTX 2.0 on every chip.
        LLVM::InlineAsmOp::create(b, loc, Type(), ValueRange{addr},
                                  "prefetch.L2 [$0];", "l",
                                  /*has_side_effects=*/true,
                                  /*is_align_stack=*/false,
                                  LLVM::tailcallkind::TailCallKind::None,
                                  LLVM::AsmDialectAttr(), ArrayAttr());
        scf::YieldOp::create(b, loc);
      });
    }
  }
}

void emitMmaTokenLoop(gpu::GPUFuncOp fn, KernelEmitter &e, const Layout &lay,
                      int64_t stages, const AttentionShape &shape,
                      double scale, Value q,
                      const KVCacheOperands &kv, Mode mode, Value phiLog2,
                      SplitWork &w, function_ref<void()> bounds) {
  assert((mode == Mode::Online) == !phiLog2 &&
         "a fixed max needs phi, online softmax none");
  assert((lay.blockSize == 128 || lay.blockSize == 256) &&
         "the engine runs 4 or 8 warps");
  Value rowStart = kvTableRowStart(e, kv, w.batch);
  MmaTokenLoop t{e,
                 lay,
                 shape,
                 mode,
                 phiLog2,
                 KVCacheAccess(kv, /*isValue=*/false, w.batch, w.kvHead,
                               rowStart),
                 KVCacheAccess(kv, /*isValue=*/true, w.batch, w.kvHead,
                               rowStart),
                 w};
  // The ring depth: asked for, or defaultMmaStages; never more than fits in
  // 227 KB.
  t.stages = stages > 0 ? stages : defaultMmaStages(t.d, /*unsplit=*/false);
  while (t.stages > 2 && t.smemBytes() > kMaxSharedPerBlock)
    --t.stages;
  OpBuilder &b = e.b;
  t.setUp();
  Value qToken = t.issueQuery(q);
  fn->setAttr(::fdb::ir::kDynamicSmem, b.getI64IntegerAttr(t.smemBytes()));
  Value token;
  int64_t firstIssued = 0;
  if (t.speculative()) {
    token = t.issueSpeculativeTile();
    firstIssued = 1;
  }
  bounds();
  // ceil((end - begin) / 64) tiles: CTA-uniform, so the barriers are safe.
  t.tiles = e.divui(e.addi(arith::SubIOp::create(b, e.loc, w.end, w.begin),
                           kTile - 1),
                    kTile);

  // Prologue: tiles 0 .. stages - 2 in flight, their pages read from the
  // table; each group also fetches the pages of the tile stages - 1 later.
  for (int64_t s = firstIssued; s + 1 < t.stages; ++s)
    token = t.issue(
        e.idx(s), [&](Value kt) { return t.pagesOf(kt); },
        e.idx(s + t.stages - 1));
  t.loadQueryFragments(qToken, t.stages - 1);
  auto accType = VectorType::get({2, 2}, b.getF32Type());
  SmallVector<Value> init = {e.f32(-FLT_MAX), e.f32(-FLT_MAX), e.f32(0),
                             e.f32(0)};
  for (int64_t nt = 0; nt < t.d / 8; ++nt)
    init.push_back(e.zeros(accType));
  init.push_back(token);
  // Each step: wait for tile kt (and with it the pages of tile
  // kt + stages - 1), refill the slot tile kt - 1 used with tile
  // kt + stages - 1 (zero fill past the end), then compute tile kt. The
  // barrier also orders every thread's reads of a table ring slot before
  // the copy that refills it.
  auto loop = scf::ForOp::create(
      b, e.loc, e.idx(0), t.tiles, e.idx(1), init,
      [&](OpBuilder &, Location, Value kt, ValueRange state) {
        nvgpu::DeviceAsyncWaitOp::create(b, e.loc, state.back(),
                                         b.getI32IntegerAttr(t.stages - 2));
        if (t.speculative())
          scf::IfOp::create(b, e.loc,
                            e.cmp(arith::CmpIPredicate::eq, kt, e.idx(0)),
                            [&](OpBuilder &, Location) {
                              t.zeroValuesPastEnd();
                              scf::YieldOp::create(b, e.loc);
                            });
        gpu::BarrierOp::create(b, e.loc);
        Value next = e.addi(kt, t.stages - 1);
        Value newToken = t.issue(
            next, [&](Value kt) { return t.pagesFromRing(kt); },
            e.addi(next, t.stages - 1));
        SmallVector<Value> nextState = t.compute(kt, state.drop_back(), scale);
        nextState.push_back(newToken);
        scf::YieldOp::create(b, e.loc, nextState);
      });
  t.finish(loop.getResults().drop_back(), loop.getResults().back());
}

} // namespace mlir::fd::gpu_kernels
