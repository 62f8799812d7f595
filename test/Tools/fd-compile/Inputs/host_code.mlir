func.func @f(%q: memref<?x32x128xf16>, %k: memref<?x8x?x128xf16, strided<[?, ?, ?, 1], offset: ?>>,
    %v: memref<?x8x?x128xf16, strided<[?, ?, ?, 1], offset: ?>>,
    %lens: memref<?xi32>, %out: memref<?x32x128xf16>, %tmp: memref<?x32x128xf16>) {
  memref.copy %q, %tmp : memref<?x32x128xf16> to memref<?x32x128xf16>
  fd.decode_attention ins(%tmp, %k, %v, %lens : memref<?x32x128xf16>,
      memref<?x8x?x128xf16, strided<[?, ?, ?, 1], offset: ?>>,
      memref<?x8x?x128xf16, strided<[?, ?, ?, 1], offset: ?>>, memref<?xi32>)
      outs(%out : memref<?x32x128xf16>)
      {scale = 0.0883883461 : f32, softmax = #fd.online_softmax}
  return
}
