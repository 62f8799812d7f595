// Decode attention of LLaMA-2-7B (MHA: 32 query heads, 32 KV heads) and of
// LLaMA-3-8B (GQA: 32 query heads sharing 8 KV heads), head dim 128, f16,
// dynamic batch and cache capacity, K/V with arbitrary outer strides.
func.func @llama2_7b_decode(%q: memref<?x32x128xf16>,
    %k: memref<?x32x?x128xf16, strided<[?, ?, ?, 1], offset: ?>>,
    %v: memref<?x32x?x128xf16, strided<[?, ?, ?, 1], offset: ?>>,
    %lens: memref<?xi32>, %out: memref<?x32x128xf16>) {
  fd.decode_attention ins(%q, %k, %v, %lens : memref<?x32x128xf16>,
      memref<?x32x?x128xf16, strided<[?, ?, ?, 1], offset: ?>>,
      memref<?x32x?x128xf16, strided<[?, ?, ?, 1], offset: ?>>, memref<?xi32>)
      outs(%out : memref<?x32x128xf16>)
      {scale = 0.0883883461 : f32, softmax = #fd.online_softmax}
  return
}

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
