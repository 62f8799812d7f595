// RUN: fd-opt %s --fd-tile-flat-gemm="dispatch=8:mma_m8,mma_m8" -verify-diagnostics
// A kernel takes one range of M: naming it in two rules is an error.
func.func @proj(%x: memref<?x4096xf16>, %w: memref<4096x4096xf16>,
                %y: memref<?x4096xf16>) {
  // expected-error @below {{fd-tile-flat-gemm: dispatch names the kernel 'mma_m8' twice}}
  fd.flat_gemm ins(%x, %w : memref<?x4096xf16>, memref<4096x4096xf16>)
      outs(%y : memref<?x4096xf16>)
  return
}
