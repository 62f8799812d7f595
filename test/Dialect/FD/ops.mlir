// RUN: fd-opt %s | fd-opt | FileCheck %s
// RUN: fd-opt %s --mlir-print-op-generic | fd-opt | FileCheck %s

// LLaMA-3-8B decode: GQA with 32 query heads over 8 KV heads, dynamic batch
// and capacity, K/V with arbitrary (dynamic) outer strides.
// CHECK-LABEL: func.func @gqa_strided
// CHECK: fd.decode_attention ins(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : memref<?x32x128xf16>, memref<?x8x?x128xf16, strided<[?, ?, ?, 1], offset: ?>>, memref<?x8x?x128xf16, strided<[?, ?, ?, 1], offset: ?>>, memref<?xi32>) outs(%{{.*}} : memref<?x32x128xf16>)
// CHECK-SAME: scale = 0.0883883461 : f32
// CHECK-SAME: softmax = #fd.online_softmax
func.func @gqa_strided(%q: memref<?x32x128xf16>,
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

// A token-major cache [B, L, Hkv, D] viewed as [B, Hkv, L, D] (static strides),
// bf16, MQA, unified max with a fixed split count.
// CHECK-LABEL: func.func @token_major_mqa
// CHECK: fd.decode_attention
// CHECK-SAME: memref<2x1x4096x64xbf16, strided<[262144, 64, 64, 1]>>
// CHECK-SAME: num_splits = 4
// CHECK-SAME: softmax = #fd.unified_max<phi = 6.000000e+00, threshold = 4.000000e+01>
func.func @token_major_mqa(%q: memref<2x8x64xbf16>,
    %k: memref<2x1x4096x64xbf16, strided<[262144, 64, 64, 1]>>,
    %v: memref<2x1x4096x64xbf16, strided<[262144, 64, 64, 1]>>,
    %lens: memref<2xi32>, %out: memref<2x8x64xbf16>) {
  fd.decode_attention ins(%q, %k, %v, %lens : memref<2x8x64xbf16>,
      memref<2x1x4096x64xbf16, strided<[262144, 64, 64, 1]>>,
      memref<2x1x4096x64xbf16, strided<[262144, 64, 64, 1]>>, memref<2xi32>)
      outs(%out : memref<2x8x64xbf16>)
      {scale = 0.125 : f32, num_splits = 4 : i64,
       softmax = #fd.unified_max<phi = 6.0, threshold = 40.0>}
  return
}

// CHECK-LABEL: func.func @chunked_d256
// CHECK: fd.decode_attention
// CHECK-SAME: chunk_size = 512
func.func @chunked_d256(%q: memref<?x16x256xf16>, %k: memref<?x16x?x256xf16>,
    %v: memref<?x16x?x256xf16>, %lens: memref<?xi32>,
    %out: memref<?x16x256xf16>) {
  fd.decode_attention ins(%q, %k, %v, %lens : memref<?x16x256xf16>,
      memref<?x16x?x256xf16>, memref<?x16x?x256xf16>, memref<?xi32>)
      outs(%out : memref<?x16x256xf16>)
      {scale = 0.0625 : f32, chunk_size = 512 : i64,
       softmax = #fd.online_softmax}
  return
}

// CHECK-LABEL: func.func @split_form
// CHECK: %[[S:.*]], %[[C:.*]] = fd.split_plan %{{.*}} : memref<?xi32> {chunk_align = 64 : i64, ctas_per_sm = 2 : i64, max_splits = 256 : i64, min_chunk = 256 : i64, num_kv_heads = 8 : i64, sm_count = 132 : i64}
// CHECK: fd.partial_attention ins({{.*}}) outs(%{{.*}}, %{{.*}}, %{{.*}} : memref<?x32x?x128xf32>, memref<?x32x?xf32>, memref<?x32x?xf32>) chunk_size(%[[C]])
// CHECK: fd.merge_partials ins({{.*}} : memref<?x32x?x128xf32>, memref<?x32x?xf32>, memref<?x32x?xf32>) outs(%{{.*}} : memref<?x32x128xf16>) {softmax = #fd.online_softmax}
func.func @split_form(%q: memref<?x32x128xf16>, %k: memref<?x8x?x128xf16>,
    %v: memref<?x8x?x128xf16>, %lens: memref<?xi32>,
    %acc: memref<?x32x?x128xf32>, %max: memref<?x32x?xf32>,
    %sum: memref<?x32x?xf32>, %out: memref<?x32x128xf16>) {
  %s, %chunk = fd.split_plan %lens : memref<?xi32>
      {num_kv_heads = 8, sm_count = 132, ctas_per_sm = 2, min_chunk = 256,
       chunk_align = 64, max_splits = 256}
  fd.partial_attention ins(%q, %k, %v, %lens : memref<?x32x128xf16>,
      memref<?x8x?x128xf16>, memref<?x8x?x128xf16>, memref<?xi32>)
      outs(%acc, %max, %sum : memref<?x32x?x128xf32>, memref<?x32x?xf32>,
           memref<?x32x?xf32>)
      chunk_size(%chunk) {scale = 0.0883883461 : f32, softmax = #fd.online_softmax}
  fd.merge_partials ins(%acc, %max, %sum : memref<?x32x?x128xf32>,
      memref<?x32x?xf32>, memref<?x32x?xf32>)
      outs(%out : memref<?x32x128xf16>) {softmax = #fd.online_softmax}
  return
}

// CHECK-LABEL: func.func @flat_gemm
// CHECK: fd.flat_gemm ins(%{{.*}}, %{{.*}} : memref<?x4096xf16>, memref<12288x4096xf16>) outs(%{{.*}} : memref<?x12288xf16>)
// CHECK: fd.flat_gemm ins(%{{.*}}, %{{.*}} : memref<?x4096xbf16>, memref<4096x4096xbf16>) bias(%{{.*}} : memref<4096xbf16>) outs(%{{.*}} : memref<?x4096xf32>)
func.func @flat_gemm(%x: memref<?x4096xf16>, %w: memref<12288x4096xf16>,
    %y: memref<?x12288xf16>, %xb: memref<?x4096xbf16>,
    %wb: memref<4096x4096xbf16>, %b: memref<4096xbf16>,
    %yf: memref<?x4096xf32>) {
  fd.flat_gemm ins(%x, %w : memref<?x4096xf16>, memref<12288x4096xf16>)
      outs(%y : memref<?x12288xf16>)
  fd.flat_gemm ins(%xb, %wb : memref<?x4096xbf16>, memref<4096x4096xbf16>)
      bias(%b : memref<4096xbf16>) outs(%yf : memref<?x4096xf32>)
  return
}

// CHECK-LABEL: func.func @overflow_fallback
// CHECK: fd.overflow_fallback ins(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : memref<?x32x128xf16>, memref<?x8x?x128xf16>, memref<?x8x?x128xf16>, memref<?xi32>, memref<?x32x?xf32>, memref<?x32x?xf32>) outs(%{{.*}}, %{{.*}} : memref<?x32x128xf16>, memref<?x32xi32>) {scale = 0.0883883461 : f32, softmax = #fd.unified_max<phi = 6.000000e+00, threshold = 4.000000e+01>}
func.func @overflow_fallback(%q: memref<?x32x128xf16>, %k: memref<?x8x?x128xf16>,
    %v: memref<?x8x?x128xf16>, %lens: memref<?xi32>, %max: memref<?x32x?xf32>,
    %sum: memref<?x32x?xf32>, %out: memref<?x32x128xf16>,
    %flags: memref<?x32xi32>) {
  fd.overflow_fallback ins(%q, %k, %v, %lens, %max, %sum : memref<?x32x128xf16>,
      memref<?x8x?x128xf16>, memref<?x8x?x128xf16>, memref<?xi32>,
      memref<?x32x?xf32>, memref<?x32x?xf32>)
      outs(%out, %flags : memref<?x32x128xf16>, memref<?x32xi32>)
      {scale = 0.0883883461 : f32,
       softmax = #fd.unified_max<phi = 6.0, threshold = 40.0>}
  return
}

// A paged cache (NHD pages of 16 tokens viewed as [num_pages, Hkv, 16, D])
// through a vLLM block table, i64 lengths, strided q/out and the
// log-sum-exp output.
// CHECK-LABEL: func.func @paged_lse
// CHECK: fd.decode_attention ins(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : memref<?x32x128xf16, strided<[?, ?, 1], offset: ?>>, memref<?x8x16x128xf16, strided<[?, ?, ?, 1], offset: ?>>, memref<?x8x16x128xf16, strided<[?, ?, ?, 1], offset: ?>>, memref<?xi64>) block_table(%{{.*}} : memref<?x?xi32>) outs(%{{.*}} : memref<?x32x128xf16, strided<[?, ?, 1], offset: ?>>) lse(%{{.*}} : memref<?x32xf32>)
func.func @paged_lse(%q: memref<?x32x128xf16, strided<[?, ?, 1], offset: ?>>,
    %k: memref<?x8x16x128xf16, strided<[?, ?, ?, 1], offset: ?>>,
    %v: memref<?x8x16x128xf16, strided<[?, ?, ?, 1], offset: ?>>,
    %lens: memref<?xi64>, %table: memref<?x?xi32>,
    %out: memref<?x32x128xf16, strided<[?, ?, 1], offset: ?>>,
    %lse: memref<?x32xf32>) {
  fd.decode_attention ins(%q, %k, %v, %lens : memref<?x32x128xf16, strided<[?, ?, 1], offset: ?>>,
      memref<?x8x16x128xf16, strided<[?, ?, ?, 1], offset: ?>>,
      memref<?x8x16x128xf16, strided<[?, ?, ?, 1], offset: ?>>, memref<?xi64>)
      block_table(%table : memref<?x?xi32>)
      outs(%out : memref<?x32x128xf16, strided<[?, ?, 1], offset: ?>>)
      lse(%lse : memref<?x32xf32>)
      {scale = 0.0883883461 : f32, softmax = #fd.online_softmax}
  return
}

// Merging two attention states: strided states and a vLLM-style [Hq, B]
// log-sum-exp seen transposed.
// CHECK-LABEL: func.func @merge_states
// CHECK: fd.merge_states ins(%{{.*}}, %{{.*}} : memref<?x32x128xf16>, memref<?x32x128xf16, strided<[?, ?, 1], offset: ?>>) lses(%{{.*}}, %{{.*}} : memref<?x32xf32>, memref<?x32xf32, strided<[1, ?], offset: ?>>) outs(%{{.*}} : memref<?x32x128xf16>) lse(%{{.*}} : memref<?x32xf32>)
func.func @merge_states(%a: memref<?x32x128xf16>, %b: memref<?x32x128xf16, strided<[?, ?, 1], offset: ?>>, %la: memref<?x32xf32>, %lb: memref<?x32xf32, strided<[1, ?], offset: ?>>, %out: memref<?x32x128xf16>, %lse: memref<?x32xf32>) {
  fd.merge_states ins(%a, %b : memref<?x32x128xf16>, memref<?x32x128xf16, strided<[?, ?, 1], offset: ?>>) lses(%la, %lb : memref<?x32xf32>, memref<?x32xf32, strided<[1, ?], offset: ?>>) outs(%out : memref<?x32x128xf16>) lse(%lse : memref<?x32xf32>)
  return
}
