// RUN: fd-opt %s --split-input-file --convert-flat-gemm-to-gpu -verify-diagnostics

// The conversion builds what fd-tile-flat-gemm described; an op without a
// description, or with one the kernel builders cannot honour, is a
// diagnostic naming the field, never a broken kernel.

func.func @untiled(%x: memref<?x64xf16>, %w: memref<64x64xf16>, %y: memref<?x64xf16>) {
  // expected-error @+1 {{has no kernel description (fd.flat_gemm.kernel): run fd-tile-flat-gemm first}}
  fd.flat_gemm ins(%x, %w : memref<?x64xf16>, memref<64x64xf16>) outs(%y : memref<?x64xf16>)
  return
}

// -----

func.func @bad_kind(%x: memref<?x64xf16>, %w: memref<64x64xf16>, %y: memref<?x64xf16>) {
  // expected-error @+1 {{fd.flat_gemm.kernel: 'kind' must be "gemv", "mma" or "direct"}}
  fd.flat_gemm ins(%x, %w : memref<?x64xf16>, memref<64x64xf16>) outs(%y : memref<?x64xf16>) {fd.flat_gemm.kernel = {kind = "ring"}}
  return
}

// -----

func.func @no_kind(%x: memref<?x64xf16>, %w: memref<64x64xf16>, %y: memref<?x64xf16>) {
  // expected-error @+1 {{fd.flat_gemm.kernel: 'kind' must be "gemv", "mma" or "direct"}}
  fd.flat_gemm ins(%x, %w : memref<?x64xf16>, memref<64x64xf16>) outs(%y : memref<?x64xf16>) {fd.flat_gemm.kernel = {warps = 4 : i64}}
  return
}

// -----

// Every field of the family is required.
func.func @missing_field(%x: memref<?x64xf16>, %w: memref<64x64xf16>, %y: memref<?x64xf16>) {
  // expected-error @+1 {{fd.flat_gemm.kernel: 'mma' needs an integer 'stages'}}
  fd.flat_gemm ins(%x, %w : memref<?x64xf16>, memref<64x64xf16>) outs(%y : memref<?x64xf16>) {fd.flat_gemm.kernel = {kind = "mma", m_tile = 8 : i64, tile_n = 32 : i64, tile_k = 64 : i64, split_k = 1 : i64}}
  return
}

// -----

func.func @mistyped_field(%x: memref<?x64xf16>, %w: memref<64x64xf16>, %y: memref<?x64xf16>) {
  // expected-error @+1 {{fd.flat_gemm.kernel: 'direct' needs a bool 'prefetch'}}
  fd.flat_gemm ins(%x, %w : memref<?x64xf16>, memref<64x64xf16>) outs(%y : memref<?x64xf16>) {fd.flat_gemm.kernel = {kind = "direct", m_tile = 16 : i64, split_k = 1 : i64, unroll = 1 : i64, prefetch = 1 : i64}}
  return
}

// -----

func.func @gemv_warps(%x: memref<?x64xf16>, %w: memref<64x64xf16>, %y: memref<?x64xf16>) {
  // expected-error @+1 {{fd.flat_gemm.kernel: gemv needs 1 <= warps <= 32 dividing N = 64 and unroll >= 1}}
  fd.flat_gemm ins(%x, %w : memref<?x64xf16>, memref<64x64xf16>) outs(%y : memref<?x64xf16>) {fd.flat_gemm.kernel = {kind = "gemv", warps = 3 : i64, unroll = 4 : i64}}
  return
}

// -----

// tile_k must divide K = 64.
func.func @mma_tile_k(%x: memref<?x64xf16>, %w: memref<64x64xf16>, %y: memref<?x64xf16>) {
  // expected-error @+1 {{fd.flat_gemm.kernel: mma needs 1 <= split_k * warps_n * warps_m <= 32, m_tile a multiple of 8 * warps_m, tile_n a multiple of 16 * warps_n dividing N = 64 and tile_k a multiple of 16 * split_k dividing K = 64}}
  fd.flat_gemm ins(%x, %w : memref<?x64xf16>, memref<64x64xf16>) outs(%y : memref<?x64xf16>) {fd.flat_gemm.kernel = {kind = "mma", m_tile = 8 : i64, tile_n = 32 : i64, tile_k = 48 : i64, stages = 2 : i64, split_k = 1 : i64}}
  return
}

// -----

// One K tile cannot fill a ring of 3 (the prologue issues stages - 1).
func.func @mma_stages(%x: memref<?x64xf16>, %w: memref<64x64xf16>, %y: memref<?x64xf16>) {
  // expected-error @+1 {{fd.flat_gemm.kernel: mma needs 2 <= stages <= K / (tile_k * cluster_k) + 1 = 2, got 3}}
  fd.flat_gemm ins(%x, %w : memref<?x64xf16>, memref<64x64xf16>) outs(%y : memref<?x64xf16>) {fd.flat_gemm.kernel = {kind = "mma", m_tile = 8 : i64, tile_n = 32 : i64, tile_k = 64 : i64, stages = 3 : i64, split_k = 1 : i64}}
  return
}

// -----

// A warp per 16 rows of W: tile_n 32 cannot hold 4 warps along N.
func.func @mma_warps_n(%x: memref<?x64xf16>, %w: memref<64x64xf16>, %y: memref<?x64xf16>) {
  // expected-error @+1 {{fd.flat_gemm.kernel: mma needs 1 <= split_k * warps_n * warps_m <= 32, m_tile a multiple of 8 * warps_m, tile_n a multiple of 16 * warps_n dividing N = 64 and tile_k a multiple of 16 * split_k dividing K = 64}}
  fd.flat_gemm ins(%x, %w : memref<?x64xf16>, memref<64x64xf16>) outs(%y : memref<?x64xf16>) {fd.flat_gemm.kernel = {kind = "mma", m_tile = 8 : i64, tile_n = 32 : i64, tile_k = 64 : i64, stages = 2 : i64, split_k = 1 : i64, warps_n = 4 : i64}}
  return
}

// -----

// K = 256 is 4 K tiles of 64: a cluster of 5 would leave a CTA none (3
// would split them 2 / 1 / 1).
func.func @mma_cluster(%x: memref<?x256xf16>, %w: memref<64x256xf16>, %y: memref<?x64xf16>) {
  // expected-error @+1 {{fd.flat_gemm.kernel: mma needs cluster_k in [1, 8] and at most the 4 K tiles, got 5}}
  fd.flat_gemm ins(%x, %w : memref<?x256xf16>, memref<64x256xf16>) outs(%y : memref<?x64xf16>) {fd.flat_gemm.kernel = {kind = "mma", m_tile = 8 : i64, tile_n = 32 : i64, tile_k = 64 : i64, stages = 2 : i64, split_k = 1 : i64, cluster_k = 5 : i64}}
  return
}

// -----

func.func @mma_cluster_big(%x: memref<?x1024xf16>, %w: memref<64x1024xf16>, %y: memref<?x64xf16>) {
  // expected-error @+1 {{fd.flat_gemm.kernel: mma needs cluster_k in [1, 8] and at most the 16 K tiles, got 16}}
  fd.flat_gemm ins(%x, %w : memref<?x1024xf16>, memref<64x1024xf16>) outs(%y : memref<?x64xf16>) {fd.flat_gemm.kernel = {kind = "mma", m_tile = 8 : i64, tile_n = 32 : i64, tile_k = 64 : i64, stages = 2 : i64, split_k = 1 : i64, cluster_k = 16 : i64}}
  return
}

// -----

// Each CTA of a cluster of 4 gets one of the 4 K tiles: a ring of 3 needs 2.
func.func @mma_cluster_stages(%x: memref<?x256xf16>, %w: memref<64x256xf16>, %y: memref<?x64xf16>) {
  // expected-error @+1 {{fd.flat_gemm.kernel: mma needs 2 <= stages <= K / (tile_k * cluster_k) + 1 = 2, got 3}}
  fd.flat_gemm ins(%x, %w : memref<?x256xf16>, memref<64x256xf16>) outs(%y : memref<?x64xf16>) {fd.flat_gemm.kernel = {kind = "mma", m_tile = 8 : i64, tile_n = 32 : i64, tile_k = 64 : i64, stages = 3 : i64, split_k = 1 : i64, cluster_k = 4 : i64}}
  return
}

// -----

func.func @mma_warps_type(%x: memref<?x64xf16>, %w: memref<64x64xf16>, %y: memref<?x64xf16>) {
  // expected-error @+1 {{fd.flat_gemm.kernel: 'mma' needs an integer 'warps_m'}}
  fd.flat_gemm ins(%x, %w : memref<?x64xf16>, memref<64x64xf16>) outs(%y : memref<?x64xf16>) {fd.flat_gemm.kernel = {kind = "mma", m_tile = 8 : i64, tile_n = 32 : i64, tile_k = 64 : i64, stages = 2 : i64, split_k = 1 : i64, warps_m = "two"}}
  return
}

// -----

func.func @mma_smem(%x: memref<?x4096xf16>, %w: memref<4096x4096xf16>, %y: memref<?x4096xf16>) {
  // expected-error @+1 {{fd.flat_gemm.kernel: mma needs 1056768 bytes of shared memory, more than the 227 KB of sm_90}}
  fd.flat_gemm ins(%x, %w : memref<?x4096xf16>, memref<4096x4096xf16>) outs(%y : memref<?x4096xf16>) {fd.flat_gemm.kernel = {kind = "mma", m_tile = 64 : i64, tile_n = 64 : i64, tile_k = 1024 : i64, stages = 4 : i64, split_k = 1 : i64}}
  return
}

// -----

func.func @direct_tile(%x: memref<?x64xf16>, %w: memref<64x64xf16>, %y: memref<?x64xf16>) {
  // expected-error @+1 {{fd.flat_gemm.kernel: direct needs m_tile 8, 16, 32 or 64, 1 <= split_k <= 32, 1 <= unroll <= 16 and N a multiple of 16}}
  fd.flat_gemm ins(%x, %w : memref<?x64xf16>, memref<64x64xf16>) outs(%y : memref<?x64xf16>) {fd.flat_gemm.kernel = {kind = "direct", m_tile = 48 : i64, split_k = 1 : i64, unroll = 1 : i64, prefetch = true}}
  return
}
