//===- TileFlatGemm.h - the tiling fd-tile-flat-gemm decides ----*- C++ -*-===//
//
// fd-tile-flat-gemm decides how each fd.flat_gemm is computed: which kernels
// (GEMV, cp.async-pipelined mma, register-direct mma), with which
// parameters, and which of them serves which M. It writes the host dispatch
// on M as scf.if and leaves one fd.flat_gemm per kernel, each carrying the
// kernel's description in the `fd.flat_gemm.kernel` dictionary;
// convert-flat-gemm-to-gpu builds the kernels from it. This header is the
// contract between the two passes: the dictionary's keys and the shared
// memory each tiling needs (both passes compute it, so it is written once).
//
//===----------------------------------------------------------------------===//
#ifndef FD_DIALECT_FD_TRANSFORMS_TILEFLATGEMM_H
#define FD_DIALECT_FD_TRANSFORMS_TILEFLATGEMM_H

#include "fd/Bundle/Schema.h"

#include <algorithm>
#include <cstdint>

namespace mlir::fd::flat_gemm {

/// The kernel description on a tiled fd.flat_gemm (DictionaryAttr), e.g.
/// `{kind = "mma", m_tile = 8, tile_n = 32, tile_k = 256, stages = 6,
/// split_k = 4}` (all integers i64, `prefetch` a BoolAttr).
inline constexpr const char *kKernelAttr = "fd.flat_gemm.kernel";

/// Keys of the description.
namespace key {
inline constexpr const char *kKind = "kind";
/// Rows of M per CTA (1 for the GEMV).
inline constexpr const char *kMTile = "m_tile";
inline constexpr const char *kWarps = "warps";
inline constexpr const char *kUnroll = "unroll";
inline constexpr const char *kTileN = "tile_n";
inline constexpr const char *kTileK = "tile_k";
inline constexpr const char *kStages = "stages";
inline constexpr const char *kSplitK = "split_k";
inline constexpr const char *kPrefetch = "prefetch";
/// mma only, each 1 when absent: warps along N and M of the CTA's output
/// tile, and CTAs of a thread-block cluster splitting K.
inline constexpr const char *kWarpsN = "warps_n";
inline constexpr const char *kWarpsM = "warps_m";
inline constexpr const char *kClusterK = "cluster_k";
} // namespace key

/// Values of `kind`, one per kernel family.
namespace kind {
inline constexpr const char *kGemv = "gemv";
inline constexpr const char *kMma = "mma";
inline constexpr const char *kDirect = "direct";
} // namespace kind

/// Elements of f16/bf16 per 16-byte copy.
inline constexpr int64_t kChunk = 8;
/// The 8 row addresses of an ldmatrix phase must hit 8 different 16-byte
/// bank groups. The mma ring gets there by an XOR swizzle when each warp's K
/// slice is whole groups of 8 chunks (chunk c of row r at c ^ (r % 8), rows
/// dense), and otherwise by padding rows with one chunk. Padding costs
/// bandwidth: cp.async into rows 16 bytes apart modulo 128 splits each warp's
/// 32-byte global sectors and fetches 1.5x the sectors from L2 (docs/perf.md,
/// "Session 8").
inline constexpr int64_t kRowPad = 8;
/// sm_90's opt-in maximum of dynamic shared memory per CTA.
inline constexpr int64_t kSmemLimit = 227 * 1024;

/// The GEMV (M = 1 rows per CTA): `warps` outputs per CTA, one warp each,
/// `unroll` 16-byte W loads in flight per lane.
struct GemvTiling {
  int64_t warps = 4, unroll = 4;
  int64_t threads() const { return 32 * warps; }
};

/// The most CTAs of a cluster splitting K.
inline constexpr int64_t kMaxClusterK = ::fdb::kMaxPortableClusterCtas;

/// The cp.async-pipelined tensor-core kernel mma_m<P>: P = mTile batch rows
/// and tileN rows of W per CTA, a `stages`-deep ring of tileK-wide K tiles.
/// The CTA's warps form a [splitK][warpsN][warpsM] grid: each computes a
/// [tileN / warpsN] x [mTile / warpsM] piece of the output tile over its
/// slice of every K tile. clusterK > 1 splits K over the CTAs of a
/// thread-block cluster (grid y) that sum their tiles through distributed
/// shared memory, so a wide tile still gives enough CTAs: x is read from
/// L2 once per tileN rows of W, and a tile as wide as the batch keeps that
/// traffic below W's (docs/perf.md, session 12).
struct MmaTiling {
  int64_t mTile, tileN, tileK, stages, splitK;
  int64_t warpsN = 1, warpsM = 1, clusterK = 1;
  int64_t warps() const { return splitK * warpsN * warpsM; }
  int64_t threads() const { return 32 * warps(); }
  int64_t warpTileN() const { return tileN / warpsN; }
  int64_t warpTileM() const { return mTile / warpsM; }
  /// Whole 8-chunk groups per warp slice: swizzled, else padded (kRowPad).
  /// A warp tile of 32 x 64 (mma_m64 of one warp column) stays padded: it
  /// is at the register limit, and the swizzle's per-lane columns made
  /// ptxas spill.
  bool swizzled() const {
    return warpTileN() * warpTileM() < 32 * 64 &&
           (tileK / splitK) % (8 * kChunk) == 0;
  }
  int64_t rowStride() const { return swizzled() ? tileK : tileK + kRowPad; }
  int64_t pipelineBytes() const {
    return stages * (tileN + mTile) * rowStride() * 2;
  }
  /// The cross-warp reduction buffer [splitK][tileN][mTile + 1] f32 (the
  /// +1 staggers the columns the final pass reads).
  int64_t reductionBytes() const { return splitK * tileN * (mTile + 1) * 4; }
  int64_t smemBytes() const {
    return std::max(pipelineBytes(), reductionBytes());
  }
};

/// The register-direct tensor-core kernel direct_m<P>: P = mTile batch rows
/// (8, 16, 32 or 64) and 16 rows of W per CTA, splitK warps over K,
/// `unroll` 32-wide K steps per warp and iteration, register double
/// buffering with `prefetch`.
struct DirectTiling {
  /// K per step: two m16n8k16 MMAs (direct_gemm::kStepK).
  static constexpr int64_t kStepK = 32;
  int64_t mTile, splitK, unroll;
  bool prefetch;
  int64_t threads() const { return 32 * splitK; }
  /// The cross-warp reduction buffer [splitK][16][mTile + 1] f32.
  int64_t smemBytes() const { return splitK * 16 * (mTile + 1) * 4; }
};

} // namespace mlir::fd::flat_gemm

#endif // FD_DIALECT_FD_TRANSFORMS_TILEFLATGEMM_H
