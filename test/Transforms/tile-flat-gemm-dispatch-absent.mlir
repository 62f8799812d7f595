// RUN: fd-opt %s --fd-tile-flat-gemm="dispatch=8:mma_m128" -verify-diagnostics
// A dispatch rule must name a kernel the pass emits for this op.
func.func @proj(%x: memref<?x4096xf16>, %w: memref<4096x4096xf16>,
                %y: memref<?x4096xf16>) {
  // expected-error @below {{fd-tile-flat-gemm: dispatch names the kernel 'mma_m128', which the options do not emit (kernels: gemv, direct_m16, direct_m32, direct_m64, mma_m8, mma_m16, mma_m32, mma_m64)}}
  fd.flat_gemm ins(%x, %w : memref<?x4096xf16>, memref<4096x4096xf16>)
      outs(%y : memref<?x4096xf16>)
  return
}
