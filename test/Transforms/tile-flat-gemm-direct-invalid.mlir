// RUN: fd-opt %s --split-input-file --fd-tile-flat-gemm="direct-split-k=16" -verify-diagnostics

// An explicit direct-split-k larger than the K steps can feed is a
// diagnostic naming the value, not a kernel with idle warps: K = 256 is 8
// steps of 32, 2 groups of direct-unroll = 4.
func.func @too_many_warps(%x: memref<?x256xf16>, %w: memref<4096x256xf16>, %y: memref<?x4096xf16>) {
  // expected-error @+1 {{fd-tile-flat-gemm: direct-split-k (16) leaves warps without K: K = 256 has 2 groups of direct-unroll (4) 32-wide steps}}
  fd.flat_gemm ins(%x, %w : memref<?x256xf16>, memref<4096x256xf16>) outs(%y : memref<?x4096xf16>)
  return
}

// -----

// K = 512 = 16 steps: 4 groups of 4, enough for 16 warps? No: 16 > 4.
func.func @still_too_many(%x: memref<?x512xf16>, %w: memref<4096x512xf16>, %y: memref<?x4096xf16>) {
  // expected-error @+1 {{fd-tile-flat-gemm: direct-split-k (16) leaves warps without K: K = 512 has 4 groups of direct-unroll (4) 32-wide steps}}
  fd.flat_gemm ins(%x, %w : memref<?x512xf16>, memref<4096x512xf16>) outs(%y : memref<?x4096xf16>)
  return
}

// -----

// K = 2048 = 64 steps, 16 groups: 16 warps fit exactly (no diagnostic).
func.func @fits(%x: memref<?x2048xf16>, %w: memref<4096x2048xf16>, %y: memref<?x4096xf16>) {
  fd.flat_gemm ins(%x, %w : memref<?x2048xf16>, memref<4096x2048xf16>) outs(%y : memref<?x4096xf16>)
  return
}
