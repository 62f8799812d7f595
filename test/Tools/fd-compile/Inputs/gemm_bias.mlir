// A biased bf16 GEMM with an f32 output, for the flat_gemm manifest test.
func.func @o_bias(%x: memref<?x4096xbf16>, %w: memref<4096x4096xbf16>,
                  %b: memref<4096xbf16>, %y: memref<?x4096xf32>) {
  fd.flat_gemm ins(%x, %w : memref<?x4096xbf16>, memref<4096x4096xbf16>)
      bias(%b : memref<4096xbf16>) outs(%y : memref<?x4096xf32>)
  return
}
