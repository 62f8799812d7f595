// RUN: fd-opt %s --split-input-file --fd-tile-flat-gemm -verify-diagnostics

// Shapes the default tiles (tile-n = 32, tile-k <= 256, split-k = 4) do not
// fit are diagnostics naming the option and the value, never a wrong kernel.

func.func @n_not_tiled(%x: memref<?x4096xf16>, %w: memref<4080x4096xf16>, %y: memref<?x4080xf16>) {
  // expected-error @+1 {{fd-tile-flat-gemm: tile-n (32) must be a multiple of 16 that divides N = 4080}}
  fd.flat_gemm ins(%x, %w : memref<?x4096xf16>, memref<4080x4096xf16>) outs(%y : memref<?x4080xf16>)
  return
}

// -----

func.func @k_not_tiled(%x: memref<?x4104xf16>, %w: memref<4096x4104xf16>, %y: memref<?x4096xf16>) {
  // expected-error @+1 {{fd-tile-flat-gemm: no K tile fits: it must be a multiple of 16 * split-k = 64, at most tile-k (256), divide K = 4104 and give every pad-m a whole number of 16-byte x copies per thread}}
  fd.flat_gemm ins(%x, %w : memref<?x4104xf16>, memref<4096x4104xf16>) outs(%y : memref<?x4096xf16>)
  return
}

// -----

func.func @k_too_small(%x: memref<?x40xf16>, %w: memref<4096x40xf16>, %y: memref<?x4096xf16>) {
  // expected-error @+1 {{fd-tile-flat-gemm: no K tile fits: it must be a multiple of 16 * split-k = 64, at most tile-k (256), divide K = 40 and give every pad-m a whole number of 16-byte x copies per thread}}
  fd.flat_gemm ins(%x, %w : memref<?x40xf16>, memref<4096x40xf16>) outs(%y : memref<?x4096xf16>)
  return
}
