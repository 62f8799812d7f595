// merge_states entries for fd-merge-states-gputest (merge-states-gpu.test):
// state counts 2, 3 and 16, f16 and bf16, head dims 64, 128 and 256, the
// states' outs contiguous or views (strided over batch and head), their
// lses contiguous or views (any strides: vLLM's [Hq, B] transposed), with
// and without the merged lse output.

!lv = memref<?x32xf32, strided<[?, ?], offset: ?>>
func.func @merge2_f16_d128(%a: memref<?x32x128xf16>, %b: memref<?x32x128xf16>,
                           %la: !lv, %lb: !lv, %out: memref<?x32x128xf16>,
                           %lse: memref<?x32xf32>) {
  fd.merge_states ins(%a, %b : memref<?x32x128xf16>, memref<?x32x128xf16>)
      lses(%la, %lb : !lv, !lv) outs(%out : memref<?x32x128xf16>)
      lse(%lse : memref<?x32xf32>)
  return
}

!ov = memref<?x8x64xbf16, strided<[?, ?, 1], offset: ?>>
func.func @merge3_bf16_d64(%a: !ov, %b: !ov, %c: !ov, %la: memref<?x8xf32>,
                           %lb: memref<?x8xf32>, %lc: memref<?x8xf32>,
                           %out: !ov) {
  fd.merge_states ins(%a, %b, %c : !ov, !ov, !ov)
      lses(%la, %lb, %lc : memref<?x8xf32>, memref<?x8xf32>, memref<?x8xf32>)
      outs(%out : !ov)
  return
}

!o = memref<?x4x256xf16>
!l = memref<?x4xf32>
func.func @merge16_f16_d256(%s0: !o, %s1: !o, %s2: !o, %s3: !o, %s4: !o,
    %s5: !o, %s6: !o, %s7: !o, %s8: !o, %s9: !o, %s10: !o, %s11: !o,
    %s12: !o, %s13: !o, %s14: !o, %s15: !o, %l0: !l, %l1: !l, %l2: !l,
    %l3: !l, %l4: !l, %l5: !l, %l6: !l, %l7: !l, %l8: !l, %l9: !l, %l10: !l,
    %l11: !l, %l12: !l, %l13: !l, %l14: !l, %l15: !l, %out: !o, %lse: !l) {
  fd.merge_states ins(%s0, %s1, %s2, %s3, %s4, %s5, %s6, %s7, %s8, %s9, %s10,
                      %s11, %s12, %s13, %s14, %s15 : !o, !o, !o, !o, !o, !o,
                      !o, !o, !o, !o, !o, !o, !o, !o, !o, !o)
      lses(%l0, %l1, %l2, %l3, %l4, %l5, %l6, %l7, %l8, %l9, %l10, %l11, %l12,
           %l13, %l14, %l15 : !l, !l, !l, !l, !l, !l, !l, !l, !l, !l, !l, !l,
           !l, !l, !l, !l)
      outs(%out : !o) lse(%lse : !l)
  return
}

!ob = memref<?x32x128xbf16>
func.func @merge2_bf16_d128(%a: !ob, %b: !ob, %la: memref<?x32xf32>,
                            %lb: memref<?x32xf32>, %out: !ob,
                            %lse: memref<?x32xf32>) {
  fd.merge_states ins(%a, %b : !ob, !ob)
      lses(%la, %lb : memref<?x32xf32>, memref<?x32xf32>) outs(%out : !ob)
      lse(%lse : memref<?x32xf32>)
  return
}
