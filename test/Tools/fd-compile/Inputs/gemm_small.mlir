// A small flat GEMM ([N, K] = [256, 1024]) for the cluster and
// only-dispatched bundle tests (gemm-cluster.test).
func.func @proj(%x: memref<?x1024xf16>, %w: memref<256x1024xf16>, %y: memref<?x256xf16>) {
  fd.flat_gemm ins(%x, %w : memref<?x1024xf16>, memref<256x1024xf16>) outs(%y : memref<?x256xf16>)
  return
}
