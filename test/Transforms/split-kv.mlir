// RUN: fd-opt %s -split-input-file --fd-split-kv="ctas-per-sm=2 min-chunk=256" | FileCheck %s
// RUN: fd-opt %s -split-input-file --fd-split-kv="num-splits=4 ctas-per-sm=2 min-chunk=256" | FileCheck %s --check-prefix=FIXED
// RUN: fd-opt %s -split-input-file --fd-split-kv="chunk-size=512 ctas-per-sm=2 min-chunk=256" | FileCheck %s --check-prefix=CHUNK
// RUN: fd-opt %s -split-input-file --fd-split-kv="sm-count=108 min-chunk=128 ctas-per-sm=2" | FileCheck %s --check-prefix=A100

// Without attributes or options the split is planned at run time.
// CHECK-LABEL: func.func @auto
// CHECK-SAME: (%[[Q:.*]]: memref<?x32x128xf16>, %[[K:.*]]: memref<?x8x?x128xf16>, %[[V:.*]]: memref<?x8x?x128xf16>, %[[L:.*]]: memref<?xi32>, %[[O:.*]]: memref<?x32x128xf16>)
// CHECK: %[[B:.*]] = memref.dim %[[Q]], %c0
// CHECK: %[[S:.*]], %[[C:.*]] = fd.split_plan %[[L]] : memref<?xi32> {chunk_align = 64 : i64, ctas_per_sm = 2 : i64, max_splits = 256 : i64, min_chunk = 256 : i64, num_kv_heads = 8 : i64, sm_count = 132 : i64}
// CHECK: %[[ACC:.*]] = memref.alloc(%[[B]], %[[S]]) : memref<?x32x?x128xf32>
// CHECK: %[[MAX:.*]] = memref.alloc(%[[B]], %[[S]]) : memref<?x32x?xf32>
// CHECK: %[[SUM:.*]] = memref.alloc(%[[B]], %[[S]]) : memref<?x32x?xf32>
// CHECK: fd.partial_attention ins(%[[Q]], %[[K]], %[[V]], %[[L]] : {{.*}}) outs(%[[ACC]], %[[MAX]], %[[SUM]] : {{.*}}) chunk_size(%[[C]]) {scale = 0.0883883461 : f32, softmax = #fd.online_softmax}
// CHECK: fd.merge_partials ins(%[[ACC]], %[[MAX]], %[[SUM]] : {{.*}}) outs(%[[O]] : memref<?x32x128xf16>) {softmax = #fd.online_softmax}
// CHECK-DAG: memref.dealloc %[[ACC]]
// CHECK-DAG: memref.dealloc %[[MAX]]
// CHECK-DAG: memref.dealloc %[[SUM]]
// CHECK-NOT: fd.decode_attention
// A fixed split count takes chunk = ceil(capacity / S), at least 1.
// FIXED-LABEL: func.func @auto
// FIXED: %[[CAP:.*]] = memref.dim %{{.*}}, %c2
// FIXED: %[[CEIL:.*]] = arith.ceildivui %[[CAP]], %c4
// FIXED: %[[CH:.*]] = arith.maxui %[[CEIL]], %c1
// FIXED: memref.alloc(%{{.*}}, %c4)
// FIXED: chunk_size(%[[CH]])
// A fixed chunk takes S = ceil(capacity / chunk), at least 1.
// CHUNK-LABEL: func.func @auto
// CHUNK: %[[CAP:.*]] = memref.dim %{{.*}}, %c2
// CHUNK: %[[CEIL:.*]] = arith.ceildivui %[[CAP]], %c512
// CHUNK: %[[S:.*]] = arith.maxui %[[CEIL]], %c1
// CHUNK: memref.alloc(%{{.*}}, %[[S]])
// CHUNK: chunk_size(%c512)
// A100-LABEL: func.func @auto
// A100: fd.split_plan {{.*}}min_chunk = 128 : i64, num_kv_heads = 8 : i64, sm_count = 108 : i64
func.func @auto(%q: memref<?x32x128xf16>, %k: memref<?x8x?x128xf16>,
    %v: memref<?x8x?x128xf16>, %lens: memref<?xi32>,
    %out: memref<?x32x128xf16>) {
  fd.decode_attention ins(%q, %k, %v, %lens : memref<?x32x128xf16>,
      memref<?x8x?x128xf16>, memref<?x8x?x128xf16>, memref<?xi32>)
      outs(%out : memref<?x32x128xf16>)
      {scale = 0.0883883461 : f32, softmax = #fd.online_softmax}
  return
}

// -----

// The op's own attribute wins over the pass options.
// CHECK-LABEL: func.func @op_attr_wins
// CHECK-NOT: fd.split_plan
// CHECK: memref.alloc(%{{.*}}, %c3) : memref<?x32x?x128xf32>
// FIXED-LABEL: func.func @op_attr_wins
// FIXED: memref.alloc(%{{.*}}, %c3)
// CHUNK-LABEL: func.func @op_attr_wins
// CHUNK: memref.alloc(%{{.*}}, %c3)
// A100-LABEL: func.func @op_attr_wins
func.func @op_attr_wins(%q: memref<?x32x128xf16>, %k: memref<?x32x?x128xf16>,
    %v: memref<?x32x?x128xf16>, %lens: memref<?xi32>,
    %out: memref<?x32x128xf16>) {
  fd.decode_attention ins(%q, %k, %v, %lens : memref<?x32x128xf16>,
      memref<?x32x?x128xf16>, memref<?x32x?x128xf16>, memref<?xi32>)
      outs(%out : memref<?x32x128xf16>)
      {scale = 0.0883883461 : f32, num_splits = 3 : i64,
       softmax = #fd.online_softmax}
  return
}

// -----

// The strategy is carried to both halves.
// CHECK-LABEL: func.func @unified_max_carried
// CHECK: fd.partial_attention {{.*}}softmax = #fd.unified_max<phi = 6.000000e+00, threshold = 4.000000e+01>
// CHECK: fd.merge_partials {{.*}}softmax = #fd.unified_max<phi = 6.000000e+00, threshold = 4.000000e+01>
// FIXED-LABEL: func.func @unified_max_carried
// CHUNK-LABEL: func.func @unified_max_carried
// A100-LABEL: func.func @unified_max_carried
func.func @unified_max_carried(%q: memref<2x8x64xbf16>,
    %k: memref<2x1x64x64xbf16>, %v: memref<2x1x64x64xbf16>,
    %lens: memref<2xi32>, %out: memref<2x8x64xbf16>) {
  fd.decode_attention ins(%q, %k, %v, %lens : memref<2x8x64xbf16>,
      memref<2x1x64x64xbf16>, memref<2x1x64x64xbf16>, memref<2xi32>)
      outs(%out : memref<2x8x64xbf16>)
      {scale = 0.125 : f32,
       softmax = #fd.unified_max<phi = 6.0, threshold = 40.0>}
  return
}

// -----

// Nothing to split: the function is left alone.
// CHECK-LABEL: func.func @negative_no_attention
// CHECK-NEXT: return
// FIXED-LABEL: func.func @negative_no_attention
// CHUNK-LABEL: func.func @negative_no_attention
// A100-LABEL: func.func @negative_no_attention
func.func @negative_no_attention() {
  return
}
