// LLaMA-3-8B decode (32 query heads over 8 KV heads, D = 128), online softmax
// as written; fd-compile's unified-max-phi option switches it.
func.func @llama3_8b_decode(%q: memref<?x32x128xf16>,
    %k: memref<?x8x?x128xf16, strided<[?, ?, ?, 1], offset: ?>>,
    %v: memref<?x8x?x128xf16, strided<[?, ?, ?, 1], offset: ?>>,
    %lens: memref<?xi32>, %out: memref<?x32x128xf16>) {
  fd.decode_attention ins(%q, %k, %v, %lens : memref<?x32x128xf16>,
      memref<?x8x?x128xf16, strided<[?, ?, ?, 1], offset: ?>>,
      memref<?x8x?x128xf16, strided<[?, ?, ?, 1], offset: ?>>, memref<?xi32>)
      outs(%out : memref<?x32x128xf16>)
      {scale = 0.0883883461 : f32, softmax = #fd.online_softmax}
  return
}
