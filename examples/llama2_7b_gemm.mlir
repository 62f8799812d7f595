// The four GEMMs of a LLaMA-2-7B decode step, y = x W^T with M = the batch,
// in f16 and bf16: QKV 4096 -> 12288, O 4096 -> 4096, FFN-up 4096 -> 11008,
// FFN-down 11008 -> 4096. `fd-compile` makes one bundle entry per function,
// each with a GEMV and tensor-core variants the runtime picks from by M.
func.func @qkv_f16(%x: memref<?x4096xf16>, %w: memref<12288x4096xf16>, %y: memref<?x12288xf16>) {
  fd.flat_gemm ins(%x, %w : memref<?x4096xf16>, memref<12288x4096xf16>) outs(%y : memref<?x12288xf16>)
  return
}
func.func @o_f16(%x: memref<?x4096xf16>, %w: memref<4096x4096xf16>, %y: memref<?x4096xf16>) {
  fd.flat_gemm ins(%x, %w : memref<?x4096xf16>, memref<4096x4096xf16>) outs(%y : memref<?x4096xf16>)
  return
}
func.func @up_f16(%x: memref<?x4096xf16>, %w: memref<11008x4096xf16>, %y: memref<?x11008xf16>) {
  fd.flat_gemm ins(%x, %w : memref<?x4096xf16>, memref<11008x4096xf16>) outs(%y : memref<?x11008xf16>)
  return
}
func.func @down_f16(%x: memref<?x11008xf16>, %w: memref<4096x11008xf16>, %y: memref<?x4096xf16>) {
  fd.flat_gemm ins(%x, %w : memref<?x11008xf16>, memref<4096x11008xf16>) outs(%y : memref<?x4096xf16>)
  return
}
func.func @qkv_bf16(%x: memref<?x4096xbf16>, %w: memref<12288x4096xbf16>, %y: memref<?x12288xbf16>) {
  fd.flat_gemm ins(%x, %w : memref<?x4096xbf16>, memref<12288x4096xbf16>) outs(%y : memref<?x12288xbf16>)
  return
}
func.func @o_bf16(%x: memref<?x4096xbf16>, %w: memref<4096x4096xbf16>, %y: memref<?x4096xbf16>) {
  fd.flat_gemm ins(%x, %w : memref<?x4096xbf16>, memref<4096x4096xbf16>) outs(%y : memref<?x4096xbf16>)
  return
}
func.func @up_bf16(%x: memref<?x4096xbf16>, %w: memref<11008x4096xbf16>, %y: memref<?x11008xbf16>) {
  fd.flat_gemm ins(%x, %w : memref<?x4096xbf16>, memref<11008x4096xbf16>) outs(%y : memref<?x11008xbf16>)
  return
}
func.func @down_bf16(%x: memref<?x11008xbf16>, %w: memref<4096x11008xbf16>, %y: memref<?x4096xbf16>) {
  fd.flat_gemm ins(%x, %w : memref<?x11008xbf16>, memref<4096x11008xbf16>) outs(%y : memref<?x4096xbf16>)
  return
}
