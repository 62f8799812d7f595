!o = memref<?x32x128xf16>
!l = memref<?x32xf32>
func.func @merge(%a: !o, %b: !o, %la: !l, %lb: !l, %out: !o, %out2: !o) {
  fd.merge_states ins(%a, %b : !o, !o) lses(%la, %lb : !l, !l) outs(%out : !o)
  fd.merge_states ins(%b, %a : !o, !o) lses(%lb, %la : !l, !l) outs(%out2 : !o)
  return
}
