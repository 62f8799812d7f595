//===- TileFlatGemm.cpp - choose the kernels of each fd.flat_gemm ---------===//
//
// A decode-time GEMM reads every weight byte once and does almost no math
// per byte, so each kernel is chosen to keep enough loads in flight:
//   - the GEMV (M = 1) skips shared memory and padding entirely;
//   - the register-direct tensor-core kernels direct_m<P> (M <= 64) load
//     their MMA fragments straight from global memory, many small CTAs per
//     SM;
//   - the cp.async-pipelined tensor-core kernels mma_m<P> stream W through
//     a shared-memory ring, M padded to 8 only (FlashDecoding++'s flat
//     GEMM).
// This pass checks the options against each op's shape, fits the tiles to
// it (K tile, ring depth, split-k), writes the host dispatch on M and leaves
// one fd.flat_gemm per kernel with its description (TileFlatGemm.h);
// convert-flat-gemm-to-gpu builds the kernels.
//
//===----------------------------------------------------------------------===//
#include "fd/Dialect/FD/Transforms/TileFlatGemm.h"
#include "fd/Dialect/FD/IR/FDOps.h"
#include "fd/Dialect/FD/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/Builders.h"
#include "mlir/Interfaces/FunctionInterfaces.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringSet.h"

namespace mlir::fd {
#define GEN_PASS_DEF_FDTILEFLATGEMM
#include "fd/Dialect/FD/Transforms/Passes.h.inc"
} // namespace mlir::fd

using namespace mlir;
using namespace mlir::fd;
using namespace mlir::fd::flat_gemm;

namespace {
struct GemmShape {
  int64_t n = 0, k = 0;
};

/// Warps a direct launch aims for with split-k = 0: about 8-12 per SM of
/// an H100/H200, each with a whole iteration of 16-byte loads in flight.
/// Measured (docs/perf.md): 4096 warps (split-k 8-16) were 10-30% slower
/// than 1024-1536 (split-k 2 for N = 12288, 4 for N = 4096).
constexpr int64_t kDirectWarps = 1024;

/// The most K one warp of a direct launch walks with split-k = 0 (more
/// warps split a longer K). Measured on an H100 (docs/perf.md, "direct
/// split-k for long K"): FFN-down (K = 11008, N = 4096) ran 5% faster with
/// split-k 8 (1376 K per warp) than with the warp rule's 4 (2752), while
/// QKV and up (K = 4096) lost 20% at split-k 8 against their 2. Not for
/// direct_m64: its 142 registers x 256 threads allow one CTA per SM, and
/// FFN-down's 256 CTAs then take two waves on 132 SMs (83 -> 96 us at M = 64).
constexpr int64_t kDirectMaxWarpK = 2048;
constexpr int64_t kDirectMaxPadForKBound = 32;

/// Upper bounds of the options (checkOptions), each well past what is
/// useful: a 2-stage ring of tile-k or tile-n above 2413 never fits in
/// 227 KB (2 x (16 + 8) rows x (tile-k + 8) x 2 bytes at the narrowest
/// tiles); tile-n 1024 is 64 row tiles of MMAs per warp and pad-m 256 32
/// n-tiles; the deepest ring measured was 8 stages (docs/perf.md).
constexpr int64_t kMaxStages = 32;
constexpr int64_t kMaxTileK = 4096;
constexpr int64_t kMaxTileN = 1024;
constexpr int64_t kMaxPadM = 256;
/// The largest ring tile of the default dispatch (defaultRules): on the
/// H200 mma_m32 was the fastest kernel from M = 17 to 32 (docs/perf.md,
/// session 9), and the wide mma_m64 of the automatic tiling beyond, 1.2-1.9x
/// faster than two passes of mma_m32 at M = 64 (session 13).
constexpr int64_t kDefaultMaxTile = 64;

/// CTAs a wide-tiled launch aims for with cluster-k = 0: about one per SM
/// of an H100/H200 (132), each streaming its W rows through its own ring.
constexpr int64_t kWideCtas = 128;
/// The CTAs of one wave of the automatic wide tiling (wide-tile-n = 0): one
/// ring of ~200 KB per SM, 132 SMs on the H100 and H200.
constexpr int64_t kWaveCtas = 132;
/// The most rows of W per CTA the automatic wide tiling considers (at
/// pad-m 64: 16 warps, a 2-stage ring of 160 KB).
constexpr int64_t kAutoWideMaxRows = 256;
/// The K granule of the wide tiling: a warp's K slice is the whole tile
/// (split-k 1), swizzled when it is whole 8-chunk groups.
constexpr int64_t kWideKStep = 8 * kChunk;
/// Rows of W and of x per warp of the wide tiling (its 32 x 32 piece:
/// 2 x 4 MMA tiles, 32 accumulator registers).
constexpr int64_t kWideWarpRows = 32;

/// One kernel of the host dispatch: used for lo < M <= hi; hi = 0: never
/// (a kernel only dispatch tables reach). The last one of a chain takes
/// every M the others do not.
struct Choice {
  int64_t lo = 0, hi = 0;
  DictionaryAttr kernel;
};

DictionaryAttr describe(Builder &b, const GemvTiling &t) {
  return b.getDictionaryAttr(
      {b.getNamedAttr(key::kKind, b.getStringAttr(kind::kGemv)),
       b.getNamedAttr(key::kWarps, b.getI64IntegerAttr(t.warps)),
       b.getNamedAttr(key::kUnroll, b.getI64IntegerAttr(t.unroll))});
}

DictionaryAttr describe(Builder &b, const MmaTiling &t) {
  SmallVector<NamedAttribute> fields = {
      b.getNamedAttr(key::kKind, b.getStringAttr(kind::kMma)),
      b.getNamedAttr(key::kMTile, b.getI64IntegerAttr(t.mTile)),
      b.getNamedAttr(key::kTileN, b.getI64IntegerAttr(t.tileN)),
      b.getNamedAttr(key::kTileK, b.getI64IntegerAttr(t.tileK)),
      b.getNamedAttr(key::kStages, b.getI64IntegerAttr(t.stages)),
      b.getNamedAttr(key::kSplitK, b.getI64IntegerAttr(t.splitK))};
  // The wide tiling's fields, absent (1) for the narrow tiles.
  for (auto [name, value] : {std::pair{key::kWarpsN, t.warpsN},
                             std::pair{key::kWarpsM, t.warpsM},
                             std::pair{key::kClusterK, t.clusterK}})
    if (value != 1)
      fields.push_back(b.getNamedAttr(name, b.getI64IntegerAttr(value)));
  return b.getDictionaryAttr(fields);
}

DictionaryAttr describe(Builder &b, const DirectTiling &t) {
  return b.getDictionaryAttr(
      {b.getNamedAttr(key::kKind, b.getStringAttr(kind::kDirect)),
       b.getNamedAttr(key::kMTile, b.getI64IntegerAttr(t.mTile)),
       b.getNamedAttr(key::kSplitK, b.getI64IntegerAttr(t.splitK)),
       b.getNamedAttr(key::kUnroll, b.getI64IntegerAttr(t.unroll)),
       b.getNamedAttr(key::kPrefetch, b.getBoolAttr(t.prefetch))});
}

SmallVector<int64_t> sortedUnique(ArrayRef<int64_t> values,
                                  ArrayRef<int64_t> defaults) {
  SmallVector<int64_t> out(values.begin(), values.end());
  if (out.empty())
    out.assign(defaults.begin(), defaults.end());
  llvm::sort(out);
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

struct FDTileFlatGemm : mlir::fd::impl::FDTileFlatGemmBase<FDTileFlatGemm> {
  using Base::Base;

  /// One parsed `dispatch` rule: `kernel` (a role) for M <= maxM; no maxM:
  /// every M past the rules before.
  struct Rule {
    std::optional<int64_t> maxM;
    std::string kernel;
  };
  SmallVector<Rule> rules;

  void runOnOperation() override {
    if (failed(checkOptions()))
      return signalPassFailure();
    SmallVector<FlatGemmOp> ops;
    getOperation().walk([&](FlatGemmOp op) {
      // Already tiled (a described op of an earlier run): left alone.
      if (!op->hasAttr(kKernelAttr))
        ops.push_back(op);
    });
    for (FlatGemmOp op : ops) {
      SmallVector<Choice> choices;
      SmallVector<Rule> used;
      if (failed(choose(op, choices, used)))
        return signalPassFailure();
      recordDispatch(op, used);
      emitDispatch(op, choices);
    }
  }

  /// Checks every numeric option against its range before any op is
  /// looked at, so that the tiling arithmetic below never overflows and the
  /// searches stay short; the shape-dependent checks follow per op.
  LogicalResult checkOptions() {
    auto bad = [&](const Twine &msg) {
      return getOperation().emitError() << "fd-tile-flat-gemm: " << msg;
    };
    auto range = [&](StringRef name, int64_t v, int64_t lo, int64_t hi,
                     StringRef note = "") -> LogicalResult {
      if (v >= lo && v <= hi)
        return success();
      return bad(name + " must be in [" + Twine(lo) + ", " + Twine(hi) + "]" +
                 note + ", got " + Twine(v));
    };
    if (failed(range("stages", stages, 2, kMaxStages)) ||
        failed(range("split-k", splitK, 1, 32)) ||
        failed(range("tile-k", tileK, 16, kMaxTileK)) ||
        failed(range("gemv-warps", gemvWarps, 1, 32)) ||
        failed(range("gemv-unroll", gemvUnroll, 1, 16)) ||
        failed(range("direct-split-k", directSplitK, 0, 32, " (0: auto)")) ||
        failed(range("direct-unroll", directUnroll, 1, 16)) ||
        failed(range("wide-from", wideFrom, 0, kMaxPadM, " (0: none)")) ||
        failed(range("wide-tile-k", wideTileK, kWideKStep, kMaxTileK)) ||
        failed(range("wide-stages", wideStages, 2, kMaxStages)) ||
        failed(range("cluster-k", clusterK, 0, kMaxClusterK, " (0: auto)")))
      return failure();
    if (wideTileN != 0 &&
        (wideTileN < kWideWarpRows || wideTileN > kMaxTileN ||
         wideTileN % kWideWarpRows != 0))
      return bad("wide-tile-n must be 0 (auto) or a multiple of 32 in [32, " +
                 Twine(kMaxTileN) + "], got " + Twine(wideTileN));
    if (tileN < 16 || tileN > kMaxTileN || tileN % 16 != 0)
      return bad("tile-n must be a multiple of 16 in [16, " + Twine(kMaxTileN) +
                 "], got " + Twine(tileN));
    if (failed(parseDispatch()))
      return failure();
    for (int64_t p : padM)
      if (p < 8 || p > kMaxPadM || p % 8 != 0)
        return bad("pad-m value " + Twine(p) + " must be a multiple of 8 in "
                   "[8, " + Twine(kMaxPadM) + "]");
    for (int64_t p : directPadM)
      if (p != 8 && p != 16 && p != 32 && p != 64)
        return bad("direct-pad-m value " + Twine(p) +
                   " must be 8, 16, 32 or 64");
    return success();
  }

  /// The `dispatch` rules, parsed: "<maxM>:<kernel>" in increasing maxM,
  /// the last one possibly a bare "<kernel>". Whether each kernel is one
  /// this pass emits is checked per op (choose).
  LogicalResult parseDispatch() {
    auto bad = [&](const Twine &msg) {
      return getOperation().emitError() << "fd-tile-flat-gemm: dispatch: "
                                        << msg;
    };
    rules.clear();
    for (size_t i = 0; i < dispatch.size(); ++i) {
      StringRef item = StringRef(dispatch[i]).trim();
      auto [bound, kernel] = item.split(':');
      Rule r;
      if (kernel.empty() && !item.contains(':')) {
        kernel = bound;
        if (i + 1 != dispatch.size())
          return bad("only the last rule may omit its <maxM>: got '" + item +
                     "' before others");
      } else {
        int64_t maxM = 0;
        if (bound.getAsInteger(10, maxM) || maxM < 1 ||
            maxM > fdb::kMaxCount)
          return bad("'" + item + "': <maxM> must be an integer in [1, " +
                     Twine(fdb::kMaxCount) + "]");
        if (!rules.empty() && rules.back().maxM && *rules.back().maxM >= maxM)
          return bad("'" + item + "': bounds must increase (the rule before "
                     "ends at " + Twine(*rules.back().maxM) + ")");
        r.maxM = maxM;
      }
      if (!fdb::gemm_kernel::isGemmKernel(kernel))
        return bad("'" + item + "': unknown kernel '" + kernel +
                   "' (expected gemv, mma_m<P> or direct_m<P>)");
      r.kernel = kernel.str();
      rules.push_back(std::move(r));
    }
    return success();
  }

  /// The default dispatch without a `dispatch` option: the ring tiles with
  /// P <= kDefaultMaxTile in increasing order, each for M <= P, the last
  /// one for every larger M; the smallest ring tile if none is that small.
  SmallVector<Rule> defaultRules(ArrayRef<int64_t> pads) const {
    SmallVector<Rule> out;
    for (int64_t p : pads)
      if (p <= kDefaultMaxTile)
        out.push_back({p, fdb::gemm_kernel::mmaRole(p)});
    if (out.empty())
      out.push_back({std::nullopt, fdb::gemm_kernel::mmaRole(pads.front())});
    out.back().maxM = std::nullopt;
    return out;
  }

  SmallVector<int64_t> getPadM() const {
    return sortedUnique(SmallVector<int64_t>(padM.begin(), padM.end()),
                        {8, 16, 32, 64});
  }

  SmallVector<int64_t> getDirectPadM() const {
    if (!direct)
      return {};
    // direct_m8 only on request: in docs/perf.md's measurements ptxas
    // interleaves its loads with the MMAs that consume them (it keeps
    // fewer registers than the loads in flight need) and it is slower than
    // direct_m16 even at M = 1. direct_m32/m64 read W once for M <= 64
    // where the ring tiles' 1-CTA/SM pipeline is 10-20% slower on the
    // large shapes (H100, docs/perf.md).
    return sortedUnique(
        SmallVector<int64_t>(directPadM.begin(), directPadM.end()),
        {16, 32, 64});
  }

  /// Unroll of the direct variant with \p p batch rows: `direct-unroll`,
  /// lowered for wide tiles so that one (or, double-buffered, two)
  /// iterations of 16-byte pieces, (2 + p / 8) per step, stay within 128
  /// data registers (p = 32: 2 steps, p = 64: 1 step at the default).
  int64_t directUnrollFor(int64_t p) const {
    const int64_t perStep = (directPrefetch ? 2 : 1) * (2 + p / 8) * 4;
    return std::max<int64_t>(1, std::min<int64_t>(directUnroll, 128 / perStep));
  }

  /// The auto split-k of the direct variant with \p p batch rows: the
  /// smallest power of two giving kDirectWarps warps over the N / 16 CTAs
  /// and (up to 32 batch rows) at most kDirectMaxWarpK of K per warp, at
  /// most 16, at most the iterations' worth of K, and small enough that a
  /// thread's registers hold the loads in flight.
  int64_t autoDirectSplitK(const GemmShape &shape, int64_t p) const {
    const int64_t steps =
        (shape.k + DirectTiling::kStepK - 1) / DirectTiling::kStepK;
    const int64_t unroll = directUnrollFor(p);
    const int64_t ctas = shape.n / 16;
    int64_t split = 1;
    const bool boundK = p <= kDirectMaxPadForKBound;
    while (split < 16 && (ctas * split < kDirectWarps ||
                          (boundK && split * kDirectMaxWarpK < shape.k)))
      split *= 2;
    split = std::min(split, (steps + unroll - 1) / unroll);
    // Register double buffering holds two iterations of 16-byte pieces
    // (4 registers each) per lane; a CTA of 32 * split-k threads gets at
    // most 64K / threads registers each (ptxas spills beyond). Keep ~48 for
    // addresses and accumulators (2 per n-tile more).
    const int64_t dataRegs =
        (directPrefetch ? 2 : 1) * unroll * (2 + p / 8) * 4 + p / 2;
    while (split > 1 &&
           std::min<int64_t>(255, 65536 / (32 * split)) < dataRegs + 48)
      split /= 2;
    return split;
  }

  /// Checks the direct variants' options against the op's shape and
  /// describes one kernel per direct-pad-m (explicit or auto split-k).
  LogicalResult checkDirect(FlatGemmOp op, const GemmShape &shape,
                            ArrayRef<int64_t> pads,
                            SmallVectorImpl<DirectTiling> &tilings) const {
    auto bad = [&](const Twine &msg) {
      return op.emitOpError() << "fd-tile-flat-gemm: " << msg;
    };
    // The options' ranges were checked by checkOptions.
    if (pads.empty())
      return success();
    // N % 16 == 0 and K % 8 == 0 (whole 16-byte pieces, 16-byte aligned
    // rows) follow from `check`: tile-n is a multiple of 16 dividing N, and
    // the K tile a multiple of 16 dividing K.
    assert(shape.n % 16 == 0 && shape.k % kChunk == 0);
    const int64_t steps =
        (shape.k + DirectTiling::kStepK - 1) / DirectTiling::kStepK;
    const int64_t maxSplit = (steps + directUnroll - 1) / directUnroll;
    if (directSplitK > maxSplit)
      return bad("direct-split-k (" + Twine(directSplitK) +
                 ") leaves warps without K: K = " + Twine(shape.k) + " has " +
                 Twine(maxSplit) + " groups of direct-unroll (" +
                 Twine(directUnroll) + ") 32-wide steps");
    for (int64_t p : pads) {
      int64_t split = directSplitK != 0 ? int64_t(directSplitK)
                                        : autoDirectSplitK(shape, p);
      tilings.push_back({p, split, directUnrollFor(p), directPrefetch});
    }
    return success();
  }

  /// The K tile: the largest multiple of 16 * split-k up to tile-k that
  /// divides K and gives every pad-m a whole number of 16-byte x copies
  /// per thread (the W tile always splits evenly: tile-n is a multiple of
  /// 16); 0 if none.
  int64_t fitTileK(const GemmShape &shape, ArrayRef<int64_t> pads) const {
    const int64_t kStep = 16 * splitK, threads = 32 * splitK;
    auto fits = [&](int64_t tk) {
      return shape.k % tk == 0 && llvm::all_of(pads, [&](int64_t p) {
               return (p * tk / kChunk) % threads == 0;
             });
    };
    // Never above K: a larger tile cannot divide it.
    const int64_t most = std::min<int64_t>(tileK, shape.k);
    int64_t tk = most - most % kStep;
    while (tk >= kStep && !fits(tk))
      tk -= kStep;
    return tk < kStep ? 0 : tk;
  }

  /// Warp rows of the wide tiling at pad-m \p p: one per 32 rows of x,
  /// one for all of p when p is not a multiple of 32.
  static int64_t wideWarpsM(int64_t p) {
    return p % kWideWarpRows == 0 ? p / kWideWarpRows : 1;
  }

  /// The wide tiling of pad-m \p p (p >= wide-from): wide-tile-n rows of W
  /// (0: autoWideShape's), one warp per 32 x min(p, 32) piece of the output
  /// (all of p when p is not a multiple of 32), the largest K tile of
  /// multiples of 64 up to wide-tile-k, and the cluster splitting K.
  LogicalResult wideTiling(FlatGemmOp op, const GemmShape &shape, int64_t p,
                           MmaTiling &t) const {
    auto bad = [&](const Twine &msg) {
      return op.emitOpError() << "fd-tile-flat-gemm: " << msg;
    };
    int64_t tk = std::min<int64_t>(wideTileK, shape.k);
    tk -= tk % kWideKStep;
    while (tk >= kWideKStep && shape.k % tk != 0)
      tk -= kWideKStep;
    if (tk < kWideKStep)
      return bad("pad-m " + Twine(p) + ": no wide K tile fits: a multiple "
                 "of 64 up to wide-tile-k (" + Twine(wideTileK) +
                 ") dividing K = " + Twine(shape.k));
    const int64_t kTiles = shape.k / tk;
    // Each CTA of a cluster gets whole K tiles. A cluster-k given may
    // leave the ranks one tile apart (MmaKernel); the automatic choices
    // divide the K tiles.
    auto usable = [&](int64_t c) {
      return kTiles % c == 0 && kTiles / c >= 1;
    };
    int64_t rows = wideTileN, cluster = clusterK;
    if (cluster > kTiles)
      return bad("cluster-k (" + Twine(cluster) + ") must be at most the " +
                 Twine(kTiles) + " K tiles of " + Twine(tk));
    if (rows == 0)
      std::tie(rows, cluster) = autoWideShape(shape, p, kTiles);
    if (rows == 0)
      return bad("pad-m " + Twine(p) + ": no wide tile of 64..256 rows "
                 "(multiples of 32) divides N = " + Twine(shape.n) +
                 "; give wide-tile-n");
    if (shape.n % rows != 0)
      return bad("wide-tile-n (" + Twine(rows) +
                 ") must divide N = " + Twine(shape.n));
    t = MmaTiling{p, rows, tk, 0, /*splitK=*/1};
    t.warpsN = rows / kWideWarpRows;
    t.warpsM = wideWarpsM(p);
    if (t.warps() > 32)
      return bad("pad-m " + Twine(p) + " with wide-tile-n " + Twine(rows) +
                 " needs " + Twine(t.warps()) +
                 " warps of 32 x 32, more than a CTA's 32");
    if (cluster != 0) {
      t.clusterK = cluster;
    } else {
      // The smallest power of two reaching kWideCtas CTAs.
      const int64_t ctas = shape.n / rows;
      while (t.clusterK < kMaxClusterK && ctas * t.clusterK < kWideCtas &&
             usable(2 * t.clusterK) && kTiles / (2 * t.clusterK) >= 4)
        t.clusterK *= 2;
    }
    t.stages = std::min<int64_t>(wideStages, kTiles / t.clusterK + 1);
    while (t.stages > 2 && t.smemBytes() > kSmemLimit)
      --t.stages;
    if (t.smemBytes() > kSmemLimit)
      return bad("pad-m " + Twine(p) + " with wide-tile-n " + Twine(rows) +
                 " needs " + Twine(t.smemBytes()) +
                 " bytes of shared memory with 2 stages, more than the "
                 "227 KB of sm_90");
    return success();
  }

  /// wide-tile-n = 0: the rows of W per CTA and the cluster (cluster-k, or
  /// 1 or 2 with cluster-k = 0) giving the most CTAs that one wave holds,
  /// one ring per SM (kWaveCtas); ties to the smaller cluster, then the
  /// fewer rows. If none reaches half a wave, the fewest CTAs beyond it.
  /// Measured on the H200 at M = 64 (docs/perf.md, session 13): QKV
  /// 12288 x 4096 took 32.0 us with 96 rows x 128 CTAs and 40.7 us with
  /// 64 rows x 192; O 4096 x 4096 17.0 us with 64 rows x a cluster of 2
  /// (128 CTAs), 21.5 without (64 CTAs), 23-42 us with clusters of 4.
  /// Returns {0, 0} when no row count of 64..256 divides N.
  std::pair<int64_t, int64_t> autoWideShape(const GemmShape &shape, int64_t p,
                                            int64_t kTiles) const {
    SmallVector<int64_t, 2> clusters = {1, 2};
    if (clusterK != 0)
      clusters = {clusterK};
    // In increasing rows, then cluster: the first of equal CTA counts has
    // the smaller cluster and the fewer rows.
    struct Choice {
      int64_t rows = 0, cluster = 0, ctas = 0;
    } inWave, beyond;
    for (int64_t rows = 2 * kWideWarpRows; rows <= kAutoWideMaxRows;
         rows += kWideWarpRows) {
      if (shape.n % rows != 0 || rows / kWideWarpRows * wideWarpsM(p) > 32)
        continue;
      for (int64_t c : clusters) {
        // A cluster-k given may split K unevenly (256 rows x 3 of N =
        // 11008: 129 CTAs, where no even split reaches 87).
        if ((clusterK == 0 && kTiles % c != 0) || (c > 1 && kTiles / c < 4))
          continue;
        const int64_t ctas = shape.n / rows * c;
        if (ctas <= kWaveCtas ? ctas > inWave.ctas
                              : !beyond.ctas || ctas < beyond.ctas)
          (ctas <= kWaveCtas ? inWave : beyond) = {rows, c, ctas};
      }
    }
    const Choice &best =
        beyond.ctas && 2 * inWave.ctas < kWaveCtas ? beyond : inWave;
    return {best.rows, best.cluster};
  }

  /// Checks the options against the op's shape and describes one
  /// tensor-core kernel per pad-m: the K tile of fitTileK, and as many of
  /// the `stages` buffers as fit in shared memory (and as the K loop can
  /// use). Diagnostics name the option and the value that does not fit.
  LogicalResult check(FlatGemmOp op, const GemmShape &shape,
                      ArrayRef<int64_t> pads,
                      SmallVectorImpl<MmaTiling> &tilings) const {
    auto bad = [&](const Twine &msg) {
      return op.emitOpError() << "fd-tile-flat-gemm: " << msg;
    };
    // The options' ranges were checked by checkOptions; here they meet
    // the shape. tile-n, tile-k and split-k are the narrow tiles' (the
    // pads below wide-from).
    auto isWide = [&](int64_t p) { return wideFrom != 0 && p >= wideFrom; };
    SmallVector<int64_t> narrow(llvm::make_filter_range(
        pads, [&](int64_t p) { return !isWide(p); }));
    if (!narrow.empty() && shape.n % tileN != 0)
      return bad(
          "tile-n (" + Twine(tileN) +
          ") must be a multiple of 16 that divides N = " + Twine(shape.n));
    const int64_t tileKUsed = narrow.empty() ? 0 : fitTileK(shape, narrow);
    if (!narrow.empty() && tileKUsed == 0)
      return bad("no K tile fits: it must be a multiple of 16 * split-k = " +
                 Twine(16 * splitK) + ", at most tile-k (" + Twine(tileK) +
                 "), divide K = " + Twine(shape.k) +
                 " and give every pad-m a whole number of 16-byte x copies "
                 "per thread");
    if (gemv && shape.n % gemvWarps != 0)
      return bad("gemv-warps (" + Twine(gemvWarps) + ") must divide N = " +
                 Twine(shape.n));
    // A K loop shorter than the ring needs fewer stages; a wide M tile may
    // fit fewer buffers in shared memory than a narrow one.
    for (int64_t p : pads) {
      if (isWide(p)) {
        MmaTiling t{};
        if (failed(wideTiling(op, shape, p, t)))
          return failure();
        tilings.push_back(t);
        continue;
      }
      MmaTiling t{p, tileN, tileKUsed,
                  std::min<int64_t>(stages, shape.k / tileKUsed + 1), splitK};
      while (t.stages > 2 && t.smemBytes() > kSmemLimit)
        --t.stages;
      if (t.smemBytes() > kSmemLimit)
        return bad("pad-m " + Twine(p) + " needs " + Twine(t.smemBytes()) +
                   " bytes of shared memory with 2 stages, more than the "
                   "227 KB of sm_90");
      tilings.push_back(t);
    }
    return success();
  }

  /// Every kernel of \p op (GEMV, direct tiles, ring tiles, in that order:
  /// the bundle lists them so) with the range of M its rule (`dispatch`, or
  /// defaultRules) gives it; a kernel no rule names gets none (`M <= 0`,
  /// which never holds inside the M > 0 branch): reached only through the
  /// runtime's dispatch tables, but a kernel of the bundle all the same.
  LogicalResult choose(FlatGemmOp op, SmallVectorImpl<Choice> &choices,
                       SmallVectorImpl<Rule> &used) const {
    auto wType = cast<MemRefType>(op.getW().getType());
    GemmShape shape{wType.getDimSize(0), wType.getDimSize(1)};
    SmallVector<int64_t> pads = getPadM();
    SmallVector<MmaTiling> mma;
    if (failed(check(op, shape, pads, mma)))
      return failure();
    SmallVector<DirectTiling> directs;
    if (failed(checkDirect(op, shape, getDirectPadM(), directs)))
      return failure();
    Builder b(op.getContext());
    // Every kernel by its role, in the order the bundle lists them.
    SmallVector<std::pair<std::string, DictionaryAttr>> kernels;
    if (gemv)
      kernels.push_back({std::string(fdb::gemm_kernel::kGemv),
                         describe(b, GemvTiling{gemvWarps, gemvUnroll})});
    for (const DirectTiling &t : directs)
      kernels.push_back({fdb::gemm_kernel::directRole(t.mTile), describe(b, t)});
    for (const MmaTiling &t : mma)
      kernels.push_back({fdb::gemm_kernel::mmaRole(t.mTile), describe(b, t)});
    used.assign(rules.begin(), rules.end());
    if (used.empty())
      used = defaultRules(pads);
    llvm::StringSet<> inRules;
    for (const Rule &r : used) {
      auto it = llvm::find_if(kernels, [&](auto &k) { return k.first == r.kernel; });
      if (it == kernels.end()) {
        std::string have;
        for (auto &k : kernels)
          have += (have.empty() ? "" : ", ") + k.first;
        return op.emitOpError()
               << "fd-tile-flat-gemm: dispatch names the kernel '" << r.kernel
               << "', which the options do not emit (kernels: " << have << ")";
      }
      if (!inRules.insert(r.kernel).second)
        return op.emitOpError() << "fd-tile-flat-gemm: dispatch names the "
                                   "kernel '"
                                << r.kernel << "' twice";
    }
    for (auto &[role, kernel] : kernels) {
      // Compile time is per kernel (docs/perf.md, session 12): without the
      // ones only a dispatch table could reach, a layer's bundle compiles
      // several times faster.
      if (onlyDispatched && !inRules.contains(role))
        continue;
      Choice c{0, 0, kernel};
      for (size_t i = 0; i < used.size(); ++i)
        if (used[i].kernel == role) {
          c.lo = i == 0 ? 0 : *used[i - 1].maxM;
          c.hi = i + 1 == used.size() ? INT64_MAX : *used[i].maxM;
        }
      choices.push_back(c);
    }
    return success();
  }

  /// Replaces \p op with `if (M > 0)` (a zero grid is not launchable) around
  /// the chain `if (lo < M <= hi) kernel else ...` over \p choices, one
  /// described copy of op per kernel, the last one in the final else.
  void emitDispatch(FlatGemmOp op, ArrayRef<Choice> choices) const {
    OpBuilder b(op);
    Location loc = op.getLoc();
    Value rows = memref::DimOp::create(b, loc, op.getX(), 0);
    auto compare = [&](arith::CmpIPredicate p, int64_t bound) {
      return arith::CmpIOp::create(
          b, loc, p, rows, arith::ConstantIndexOp::create(b, loc, bound));
    };
    auto nonEmpty =
        scf::IfOp::create(b, loc, compare(arith::CmpIPredicate::ugt, 0), false);
    b.setInsertionPointToStart(&nonEmpty.getThenRegion().front());
    // lo < M <= hi, without the tests that hold anyway (M > 0, M <= max).
    auto inRange = [&](const Choice &c) -> Value {
      if (c.hi == 0)
        return compare(arith::CmpIPredicate::ule, 0);
      Value above = c.lo > 0 ? compare(arith::CmpIPredicate::ugt, c.lo) : Value();
      Value below =
          c.hi < INT64_MAX ? compare(arith::CmpIPredicate::ule, c.hi) : Value();
      if (above && below)
        return arith::AndIOp::create(b, loc, above, below);
      return above ? above : below;
    };
    for (size_t i = 0; i < choices.size(); ++i) {
      const Choice &c = choices[i];
      if (i + 1 == choices.size()) {
        b.clone(*op)->setAttr(kKernelAttr, c.kernel);
        break;
      }
      Value cond = inRange(c);
      if (!cond) // every M: nothing after it is reached
        cond = compare(arith::CmpIPredicate::ugt, 0);
      auto ifOp = scf::IfOp::create(b, loc, cond, true);
      b.setInsertionPointToStart(&ifOp.getThenRegion().front());
      b.clone(*op)->setAttr(kKernelAttr, c.kernel);
      b.setInsertionPointToStart(&ifOp.getElseRegion().front());
    }
    op.erase();
  }

  /// Records the dispatch rules on the enclosing function
  /// (fdb::ir::kDispatch: an array of {max_m, kernel}, the last one's max_m
  /// absent when it takes every larger M) for the bundle writer, which lists
  /// them as the entry's "dispatch" for the runtime.
  void recordDispatch(FlatGemmOp op, ArrayRef<Rule> used) const {
    auto fn = op->getParentOfType<FunctionOpInterface>();
    if (!fn)
      return;
    Builder b(op.getContext());
    SmallVector<Attribute> list;
    for (const Rule &r : used) {
      SmallVector<NamedAttribute> fields;
      if (r.maxM)
        fields.push_back(
            b.getNamedAttr(fdb::key::kMaxM, b.getI64IntegerAttr(*r.maxM)));
      fields.push_back(
          b.getNamedAttr(fdb::key::kKernel, b.getStringAttr(r.kernel)));
      list.push_back(b.getDictionaryAttr(fields));
    }
    fn->setAttr(fdb::ir::kDispatch, b.getArrayAttr(list));
  }
};
} // namespace
