// RUN: fd-opt %s --split-input-file --verify-diagnostics --fd-tile-flat-gemm="pad-m=64 gemv=false direct=false" | FileCheck %s

// wide-tile-n = 0 (the default): the rows of W per CTA and the cluster that
// give the most CTAs one wave of 132 holds (docs/perf.md, session 13).
// 12288 rows: 96 per CTA, 128 CTAs, no cluster (64 rows would be 192 CTAs,
// over a wave); 5 stages of (96 + 64) x 128 fit 227 KB.
// CHECK-LABEL: func.func @qkv
// CHECK: fd.flat_gemm.kernel = {kind = "mma", m_tile = 64 : i64, split_k = 1 : i64, stages = 5 : i64, tile_k = 128 : i64, tile_n = 96 : i64, warps_m = 2 : i64, warps_n = 3 : i64}
func.func @qkv(%x: memref<?x4096xf16>, %w: memref<12288x4096xf16>, %y: memref<?x12288xf16>) {
  fd.flat_gemm ins(%x, %w : memref<?x4096xf16>, memref<12288x4096xf16>) outs(%y : memref<?x12288xf16>)
  return
}

// -----

// 4096 rows: 64 per CTA in clusters of 2 splitting K, 128 CTAs.
// CHECK-LABEL: func.func @o
// CHECK: fd.flat_gemm.kernel = {cluster_k = 2 : i64, kind = "mma", m_tile = 64 : i64, split_k = 1 : i64, stages = 6 : i64, tile_k = 128 : i64, tile_n = 64 : i64, warps_m = 2 : i64, warps_n = 2 : i64}
func.func @o(%x: memref<?x4096xf16>, %w: memref<4096x4096xf16>, %y: memref<?x4096xf16>) {
  fd.flat_gemm ins(%x, %w : memref<?x4096xf16>, memref<4096x4096xf16>) outs(%y : memref<?x4096xf16>)
  return
}

// -----

// 28672 rows: 224 per CTA (14 warps), 128 CTAs, a 3-stage ring.
// CHECK-LABEL: func.func @up_gate
// CHECK: fd.flat_gemm.kernel = {kind = "mma", m_tile = 64 : i64, split_k = 1 : i64, stages = 3 : i64, tile_k = 128 : i64, tile_n = 224 : i64, warps_m = 2 : i64, warps_n = 7 : i64}
func.func @up_gate(%x: memref<?x4096xf16>, %w: memref<28672x4096xf16>, %y: memref<?x28672xf16>) {
  fd.flat_gemm ins(%x, %w : memref<?x4096xf16>, memref<28672x4096xf16>) outs(%y : memref<?x28672xf16>)
  return
}

// -----

// 11008 = 2^8 x 43 rows: 128 per CTA gives 86 CTAs (64 would be 172, over
// a wave); 86 is more than half a wave, so it stays.
// CHECK-LABEL: func.func @up
// CHECK: fd.flat_gemm.kernel = {kind = "mma", m_tile = 64 : i64, split_k = 1 : i64, stages = 4 : i64, tile_k = 128 : i64, tile_n = 128 : i64, warps_m = 2 : i64, warps_n = 4 : i64}
func.func @up(%x: memref<?x4096xf16>, %w: memref<11008x4096xf16>, %y: memref<?x11008xf16>) {
  fd.flat_gemm ins(%x, %w : memref<?x4096xf16>, memref<11008x4096xf16>) outs(%y : memref<?x11008xf16>)
  return
}

// -----

// 4192 = 32 x 131 rows: no multiple of 32 in 64..256 divides it.
func.func @prime(%x: memref<?x4096xf16>, %w: memref<4192x4096xf16>, %y: memref<?x4192xf16>) {
  // expected-error @+1 {{fd-tile-flat-gemm: pad-m 64: no wide tile of 64..256 rows (multiples of 32) divides N = 4192; give wide-tile-n}}
  fd.flat_gemm ins(%x, %w : memref<?x4096xf16>, memref<4192x4096xf16>) outs(%y : memref<?x4192xf16>)
  return
}
