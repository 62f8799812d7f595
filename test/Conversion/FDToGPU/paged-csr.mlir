// RUN: fd-opt %s --fd-split-kv | FileCheck %s --check-prefix=SPLIT
// RUN: fd-opt %s --fd-split-kv --convert-fd-to-gpu | FileCheck %s
// RUN: fd-opt %s --fd-split-kv --convert-fd-to-gpu="mma-min-group=0" | FileCheck %s --check-prefix=CC
// RUN: fd-compile %s --no-ptxas -o %t.fdb --ptx-out=%t.ptx && FileCheck %s --check-prefix=PTX < %t.ptx

// CSR page addressing (FlashInfer's kv_indptr / kv_indices): the flat page
// list and its indptr travel together through fd-split-kv, which plans over
// nnz_pages * page_size tokens (one sequence may own every page).
// SPLIT-LABEL: func.func @csr_gqa
// SPLIT: %[[NNZ:.*]] = memref.dim %arg4, %c0
// SPLIT: arith.muli %[[NNZ]], %c16
// SPLIT: fd.partial_attention {{.*}} block_table(%arg4 : memref<?xi32>) page_indptr(%arg5 : memref<?xi32>)

// Tensor cores: the sequence's start indptr[b] is loaded once, before the
// token loop; every page lookup, the prologue's and the table ring's
// cp.async alike, reads indices[start + t / 16].
// CHECK-LABEL: gpu.func @csr_gqa_partial_online
// CHECK-SAME: %arg8: memref<?xi32> {fd.binding = "block_table"}, %arg9: memref<?xi32> {fd.binding = "page_indptr"}
// CHECK: %[[S:.*]] = memref.load %arg9[%block_id_z] : memref<?xi32>
// CHECK-NEXT: %[[START:.*]] = arith.index_cast %[[S]] : i32 to index
// CHECK-NOT: memref.load %arg9
// CHECK: %[[AT:.*]] = arith.addi %[[START]], %{{.*}} : index
// CHECK-NEXT: memref.load %arg8[%[[AT]]] : memref<?xi32>
// CHECK: arith.select %{{.*}}, %c1, %c0 : index
// CHECK-NEXT: %[[RSLOT:.*]] = arith.addi %[[START]], %{{.*}} : index
// CHECK-NEXT: nvgpu.device_async_copy %arg8[%[[RSLOT]]], %{{.*}}[%c3, %thread_id_x], 1
// CHECK-NOT: memref.load %arg9
// CHECK: scf.for
// CHECK-NOT: memref.load %arg9
// CHECK: nvgpu.mma.sync
// CHECK-LABEL: gpu.func @csr_gqa_unsplit_online
// CHECK-SAME: {fd.binding = "block_table"}, %{{.*}}: memref<?xi32> {fd.binding = "page_indptr"}
// CHECK-LABEL: gpu.func @csr_umax_partial_unified
// CHECK-SAME: {fd.binding = "page_indptr"}
// CHECK-LABEL: gpu.func @csr_umax_merge_unified
// CHECK-SAME: {fd.binding = "page_indptr"}
// CHECK-LABEL: gpu.func @csr_umax_single_unified
// CHECK-SAME: {fd.binding = "page_indptr"}

// CUDA cores: the start is loaded once too, then indices[start + t].
// CC-LABEL: gpu.func @csr_gqa_partial_online
// CC: %[[S:.*]] = memref.load %arg9[%block_id_z] : memref<?xi32>
// CC-NEXT: %[[START:.*]] = arith.index_cast %[[S]] : i32 to index
// CC: arith.addi %[[START]]
// CC-NEXT: memref.load %arg8

// PTX: .entry csr_gqa_partial_online
// PTX: .entry csr_umax_single_unified

#kv = strided<[?, ?, ?, 1], offset: ?>
func.func @csr_gqa(%q: memref<?x32x128xf16>,
    %k: memref<?x8x16x128xf16, #kv>, %v: memref<?x8x16x128xf16, #kv>,
    %lens: memref<?xi32>, %indices: memref<?xi32>, %indptr: memref<?xi32>,
    %out: memref<?x32x128xf16>, %lse: memref<?x32xf32>) {
  fd.decode_attention ins(%q, %k, %v, %lens : memref<?x32x128xf16>,
      memref<?x8x16x128xf16, #kv>, memref<?x8x16x128xf16, #kv>, memref<?xi32>)
      block_table(%indices : memref<?xi32>) page_indptr(%indptr : memref<?xi32>)
      outs(%out : memref<?x32x128xf16>) lse(%lse : memref<?x32xf32>)
      {scale = 0.0883883461 : f32, softmax = #fd.online_softmax}
  return
}

func.func @csr_umax(%q: memref<?x32x128xf16>,
    %k: memref<?x32x1x128xf16, #kv>, %v: memref<?x32x1x128xf16, #kv>,
    %lens: memref<?xi64>, %indices: memref<?xi64>, %indptr: memref<?xi64>,
    %out: memref<?x32x128xf16>, %lse: memref<?x32xf32>) {
  fd.decode_attention ins(%q, %k, %v, %lens : memref<?x32x128xf16>,
      memref<?x32x1x128xf16, #kv>, memref<?x32x1x128xf16, #kv>, memref<?xi64>)
      block_table(%indices : memref<?xi64>) page_indptr(%indptr : memref<?xi64>)
      outs(%out : memref<?x32x128xf16>) lse(%lse : memref<?x32xf32>)
      {scale = 0.0883883461 : f32,
       softmax = #fd.unified_max<phi = 6.0, threshold = 40.0>}
  return
}
