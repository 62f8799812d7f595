// Two flat GEMM entries and a host function calling one of them: host
// code is not compiled into a bundle, and each compile unit holds its entry
// alone (compile-units.test).
func.func @a(%x: memref<?x4096xf16>, %w: memref<4096x4096xf16>, %y: memref<?x4096xf16>) {
  fd.flat_gemm ins(%x, %w : memref<?x4096xf16>, memref<4096x4096xf16>) outs(%y : memref<?x4096xf16>)
  return
}
func.func @b(%x: memref<?x4096xf16>, %w: memref<4096x4096xf16>, %y: memref<?x4096xf16>) {
  fd.flat_gemm ins(%x, %w : memref<?x4096xf16>, memref<4096x4096xf16>) outs(%y : memref<?x4096xf16>)
  return
}
func.func @host(%x: memref<?x4096xf16>, %w: memref<4096x4096xf16>, %y: memref<?x4096xf16>) {
  call @a(%x, %w, %y) : (memref<?x4096xf16>, memref<4096x4096xf16>, memref<?x4096xf16>) -> ()
  return
}
