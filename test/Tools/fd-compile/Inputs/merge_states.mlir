func.func @merge(%a: memref<?x32x128xf16>, %b: memref<?x32x128xf16>,
                 %la: memref<?x32xf32>, %lb: memref<?x32xf32>,
                 %out: memref<?x32x128xf16>) {
  fd.merge_states ins(%a, %b : memref<?x32x128xf16>, memref<?x32x128xf16>) lses(%la, %lb : memref<?x32xf32>, memref<?x32xf32>) outs(%out : memref<?x32x128xf16>)
  return
}
