// Entries for fd-unified-max-gputest: the unified max over GQA, MHA, MQA,
// f16 and bf16, D = 64, 128 and 256, plus online-softmax twins of the two
// D = 128 shapes for timing. phi and threshold suit scores of random
// uniform(-1, 1) data (|s| < 4): ordinary rows never fall back, shifted
// rows (+-200) always do.
#kv128_8 = strided<[?, ?, ?, 1], offset: ?>
#um = #fd.unified_max<phi = 2.0, threshold = 30.0>

func.func @um_gqa_f16_d128(%q: memref<?x32x128xf16>, %k: memref<?x8x?x128xf16, #kv128_8>,
    %v: memref<?x8x?x128xf16, #kv128_8>, %lens: memref<?xi32>, %out: memref<?x32x128xf16>) {
  fd.decode_attention ins(%q, %k, %v, %lens : memref<?x32x128xf16>,
      memref<?x8x?x128xf16, #kv128_8>, memref<?x8x?x128xf16, #kv128_8>, memref<?xi32>)
      outs(%out : memref<?x32x128xf16>) {scale = 0.0883883461 : f32, softmax = #um}
  return
}

func.func @um_mha_f16_d128(%q: memref<?x32x128xf16>, %k: memref<?x32x?x128xf16, #kv128_8>,
    %v: memref<?x32x?x128xf16, #kv128_8>, %lens: memref<?xi32>, %out: memref<?x32x128xf16>) {
  fd.decode_attention ins(%q, %k, %v, %lens : memref<?x32x128xf16>,
      memref<?x32x?x128xf16, #kv128_8>, memref<?x32x?x128xf16, #kv128_8>, memref<?xi32>)
      outs(%out : memref<?x32x128xf16>) {scale = 0.0883883461 : f32, softmax = #um}
  return
}

func.func @um_gqa_bf16_d64(%q: memref<?x8x64xbf16>, %k: memref<?x2x?x64xbf16, #kv128_8>,
    %v: memref<?x2x?x64xbf16, #kv128_8>, %lens: memref<?xi32>, %out: memref<?x8x64xbf16>) {
  fd.decode_attention ins(%q, %k, %v, %lens : memref<?x8x64xbf16>,
      memref<?x2x?x64xbf16, #kv128_8>, memref<?x2x?x64xbf16, #kv128_8>, memref<?xi32>)
      outs(%out : memref<?x8x64xbf16>) {scale = 0.125 : f32, softmax = #um}
  return
}

func.func @um_gqa_f16_d256(%q: memref<?x4x256xf16>, %k: memref<?x2x?x256xf16, #kv128_8>,
    %v: memref<?x2x?x256xf16, #kv128_8>, %lens: memref<?xi32>, %out: memref<?x4x256xf16>) {
  fd.decode_attention ins(%q, %k, %v, %lens : memref<?x4x256xf16>,
      memref<?x2x?x256xf16, #kv128_8>, memref<?x2x?x256xf16, #kv128_8>, memref<?xi32>)
      outs(%out : memref<?x4x256xf16>) {scale = 0.0625 : f32, softmax = #um}
  return
}

func.func @online_gqa_f16_d128(%q: memref<?x32x128xf16>, %k: memref<?x8x?x128xf16, #kv128_8>,
    %v: memref<?x8x?x128xf16, #kv128_8>, %lens: memref<?xi32>, %out: memref<?x32x128xf16>) {
  fd.decode_attention ins(%q, %k, %v, %lens : memref<?x32x128xf16>,
      memref<?x8x?x128xf16, #kv128_8>, memref<?x8x?x128xf16, #kv128_8>, memref<?xi32>)
      outs(%out : memref<?x32x128xf16>) {scale = 0.0883883461 : f32, softmax = #fd.online_softmax}
  return
}

func.func @online_mha_f16_d128(%q: memref<?x32x128xf16>, %k: memref<?x32x?x128xf16, #kv128_8>,
    %v: memref<?x32x?x128xf16, #kv128_8>, %lens: memref<?xi32>, %out: memref<?x32x128xf16>) {
  fd.decode_attention ins(%q, %k, %v, %lens : memref<?x32x128xf16>,
      memref<?x32x?x128xf16, #kv128_8>, memref<?x32x?x128xf16, #kv128_8>, memref<?xi32>)
      outs(%out : memref<?x32x128xf16>) {scale = 0.0883883461 : f32, softmax = #fd.online_softmax}
  return
}
