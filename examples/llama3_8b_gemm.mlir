// The four GEMMs of a LLaMA-3-8B decode step (grouped-query attention: 32
// query and 8 KV heads of 128, so QKV is 4096 -> 6144; FFN-up and gate fused,
// 4096 -> 2 x 14336; FFN-down 14336 -> 4096), y = x W^T with M = the batch,
// in f16 and bf16. `fd-compile` makes one bundle entry per function.
func.func @qkv_f16(%x: memref<?x4096xf16>, %w: memref<6144x4096xf16>, %y: memref<?x6144xf16>) {
  fd.flat_gemm ins(%x, %w : memref<?x4096xf16>, memref<6144x4096xf16>) outs(%y : memref<?x6144xf16>)
  return
}
func.func @o_f16(%x: memref<?x4096xf16>, %w: memref<4096x4096xf16>, %y: memref<?x4096xf16>) {
  fd.flat_gemm ins(%x, %w : memref<?x4096xf16>, memref<4096x4096xf16>) outs(%y : memref<?x4096xf16>)
  return
}
func.func @up_gate_f16(%x: memref<?x4096xf16>, %w: memref<28672x4096xf16>, %y: memref<?x28672xf16>) {
  fd.flat_gemm ins(%x, %w : memref<?x4096xf16>, memref<28672x4096xf16>) outs(%y : memref<?x28672xf16>)
  return
}
func.func @down_f16(%x: memref<?x14336xf16>, %w: memref<4096x14336xf16>, %y: memref<?x4096xf16>) {
  fd.flat_gemm ins(%x, %w : memref<?x14336xf16>, memref<4096x14336xf16>) outs(%y : memref<?x4096xf16>)
  return
}
func.func @qkv_bf16(%x: memref<?x4096xbf16>, %w: memref<6144x4096xbf16>, %y: memref<?x6144xbf16>) {
  fd.flat_gemm ins(%x, %w : memref<?x4096xbf16>, memref<6144x4096xbf16>) outs(%y : memref<?x6144xbf16>)
  return
}
func.func @o_bf16(%x: memref<?x4096xbf16>, %w: memref<4096x4096xbf16>, %y: memref<?x4096xbf16>) {
  fd.flat_gemm ins(%x, %w : memref<?x4096xbf16>, memref<4096x4096xbf16>) outs(%y : memref<?x4096xbf16>)
  return
}
func.func @up_gate_bf16(%x: memref<?x4096xbf16>, %w: memref<28672x4096xbf16>, %y: memref<?x28672xbf16>) {
  fd.flat_gemm ins(%x, %w : memref<?x4096xbf16>, memref<28672x4096xbf16>) outs(%y : memref<?x28672xbf16>)
  return
}
func.func @down_bf16(%x: memref<?x14336xbf16>, %w: memref<4096x14336xbf16>, %y: memref<?x4096xbf16>) {
  fd.flat_gemm ins(%x, %w : memref<?x14336xbf16>, memref<4096x14336xbf16>) outs(%y : memref<?x4096xbf16>)
  return
}
