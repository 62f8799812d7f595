// RUN: fd-opt %s --fd-split-kv="num-splits=2 chunk-size=64" -verify-diagnostics

// expected-error @+1 {{fd-split-kv: give at most one of num-splits and chunk-size (got num-splits=2, chunk-size=64)}}
func.func @both(%q: memref<?x8x64xf16>, %k: memref<?x8x?x64xf16>,
    %v: memref<?x8x?x64xf16>, %lens: memref<?xi32>, %out: memref<?x8x64xf16>) {
  fd.decode_attention ins(%q, %k, %v, %lens : memref<?x8x64xf16>,
      memref<?x8x?x64xf16>, memref<?x8x?x64xf16>, memref<?xi32>)
      outs(%out : memref<?x8x64xf16>)
      {scale = 0.125 : f32, softmax = #fd.online_softmax}
  return
}
