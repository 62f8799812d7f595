// Context-parallel decode for fd-sharded-gputest (sharded-gpu.test,
// sharded-multigpu.test): the LLaMA-3-8B decode shape (32 query heads over
// 8 KV heads, D 128, f16) writing its log-sum-exp, so that the shards'
// states can be merged, and merge_states entries of 2, 4 and 8 states (one
// per world size) writing the merged log-sum-exp.

!kv = memref<?x8x?x128xf16, strided<[?, ?, ?, 1], offset: ?>>
func.func @shard_decode(%q: memref<?x32x128xf16>, %k: !kv, %v: !kv,
    %lens: memref<?xi32>, %out: memref<?x32x128xf16>,
    %lse: memref<?x32xf32>) {
  fd.decode_attention ins(%q, %k, %v, %lens : memref<?x32x128xf16>, !kv, !kv,
      memref<?xi32>)
      outs(%out : memref<?x32x128xf16>) lse(%lse : memref<?x32xf32>)
      {scale = 0.0883883461 : f32, softmax = #fd.online_softmax}
  return
}

!o = memref<?x32x128xf16>
!l = memref<?x32xf32>

func.func @merge2(%s0: !o, %s1: !o, %l0: !l, %l1: !l, %out: !o, %lse: !l) {
  fd.merge_states ins(%s0, %s1 : !o, !o)
      lses(%l0, %l1 : !l, !l)
      outs(%out : !o) lse(%lse : !l)
  return
}

func.func @merge4(%s0: !o, %s1: !o, %s2: !o, %s3: !o, %l0: !l, %l1: !l, %l2: !l, %l3: !l, %out: !o, %lse: !l) {
  fd.merge_states ins(%s0, %s1, %s2, %s3 : !o, !o, !o, !o)
      lses(%l0, %l1, %l2, %l3 : !l, !l, !l, !l)
      outs(%out : !o) lse(%lse : !l)
  return
}

func.func @merge8(%s0: !o, %s1: !o, %s2: !o, %s3: !o, %s4: !o, %s5: !o, %s6: !o, %s7: !o, %l0: !l, %l1: !l, %l2: !l, %l3: !l, %l4: !l, %l5: !l, %l6: !l, %l7: !l, %out: !o, %lse: !l) {
  fd.merge_states ins(%s0, %s1, %s2, %s3, %s4, %s5, %s6, %s7 : !o, !o, !o, !o, !o, !o, !o, !o)
      lses(%l0, %l1, %l2, %l3, %l4, %l5, %l6, %l7 : !l, !l, !l, !l, !l, !l, !l, !l)
      outs(%out : !o) lse(%lse : !l)
  return
}
