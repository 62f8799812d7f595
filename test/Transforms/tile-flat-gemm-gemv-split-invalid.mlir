// RUN: fd-opt %s --fd-tile-flat-gemm="gemv-warps=4 gemv-split-k=16" -verify-diagnostics

// gemv-split-k warps per output times gemv-warps outputs per CTA must fit a
// CTA of at most 32 warps; 4 x 16 = 64 is a diagnostic naming the value.
func.func @too_many_gemv_warps(%x: memref<?x4096xf16>, %w: memref<4096x4096xf16>, %y: memref<?x4096xf16>) {
  // expected-error @+1 {{fd-tile-flat-gemm: gemv-split-k (16) must be at least 1 with gemv-warps x gemv-split-k <= 32 warps per CTA}}
  fd.flat_gemm ins(%x, %w : memref<?x4096xf16>, memref<4096x4096xf16>) outs(%y : memref<?x4096xf16>)
  return
}
