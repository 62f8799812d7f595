// RUN: fd-opt %s --convert-fd-to-scf -verify-diagnostics

func.func @unified(%q: memref<?x8x64xf16>, %k: memref<?x8x?x64xf16>,
    %v: memref<?x8x?x64xf16>, %lens: memref<?xi32>, %out: memref<?x8x64xf16>) {
  // expected-error @+1 {{could not be lowered by convert-fd-to-scf: the unified_max strategy is not supported yet}}
  fd.decode_attention ins(%q, %k, %v, %lens : memref<?x8x64xf16>,
      memref<?x8x?x64xf16>, memref<?x8x?x64xf16>, memref<?xi32>)
      outs(%out : memref<?x8x64xf16>)
      {scale = 0.125 : f32, softmax = #fd.unified_max<phi = 6.0, threshold = 40.0>}
  return
}
