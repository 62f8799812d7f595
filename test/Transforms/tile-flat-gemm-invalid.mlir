// RUN: fd-opt %s --split-input-file --fd-tile-flat-gemm -verify-diagnostics

// Shapes the default tiles (tile-n = 32, tile-k = 128, split-k = 4) do not
// fit are diagnostics naming the option and the value, never a wrong kernel.

func.func @n_not_tiled(%x: memref<?x4096xf16>, %w: memref<4080x4096xf16>, %y: memref<?x4080xf16>) {
  // expected-error @+1 {{fd-tile-flat-gemm: tile-n (32) must be a multiple of 16 that divides N = 4080}}
  fd.flat_gemm ins(%x, %w : memref<?x4096xf16>, memref<4080x4096xf16>) outs(%y : memref<?x4080xf16>)
  return
}

// -----

func.func @k_not_tiled(%x: memref<?x4104xf16>, %w: memref<4096x4104xf16>, %y: memref<?x4096xf16>) {
  // expected-error @+1 {{fd-tile-flat-gemm: tile-k (128) must be a multiple of 16 * split-k = 64 that divides K = 4104}}
  fd.flat_gemm ins(%x, %w : memref<?x4104xf16>, memref<4096x4104xf16>) outs(%y : memref<?x4096xf16>)
  return
}

// -----

func.func @k_too_small(%x: memref<?x64xf16>, %w: memref<4096x64xf16>, %y: memref<?x4096xf16>) {
  // expected-error @+1 {{fd-tile-flat-gemm: tile-k (128) must be a multiple of 16 * split-k = 64 that divides K = 64}}
  fd.flat_gemm ins(%x, %w : memref<?x64xf16>, memref<4096x64xf16>) outs(%y : memref<?x4096xf16>)
  return
}
