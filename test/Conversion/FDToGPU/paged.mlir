// RUN: fd-opt %s --fd-split-kv | FileCheck %s --check-prefix=SPLIT
// RUN: fd-opt %s --fd-split-kv --convert-fd-to-gpu | FileCheck %s
// RUN: fd-opt %s --fd-split-kv --convert-fd-to-gpu="mma-min-group=0" | FileCheck %s --check-prefix=CC
// RUN: fd-compile %s --no-ptxas -o %t.fdb --ptx-out=%t.ptx && FileCheck %s --check-prefix=PTX < %t.ptx

// A paged cache reaches every kernel through the block table: fd-split-kv
// forwards it (and the lse output) and plans over max_pages * page_size
// tokens; each kernel that reads K/V takes the table and looks a token's
// page up in it, K/V rows at (page, head, token mod 16).
// SPLIT-LABEL: func.func @paged_gqa
// SPLIT: %[[PAGES:.*]] = memref.dim %arg4, %c1
// SPLIT: arith.muli %[[PAGES]], %c16
// SPLIT: fd.partial_attention {{.*}} block_table(%arg4 : memref<?x?xi32>)
// SPLIT: fd.merge_partials {{.*}} lse(%arg6 : memref<?x32xf32>)

// Tensor cores (group 4): cp.async from the page the table names, one page
// per copied row for K and V. The prologue's tiles read their pages from
// the table; each copy group also fetches, one 4-byte cp.async per thread,
// the pages of the tile 3 (stages - 1) later into a table ring in shared
// memory, where the loop reads them: the table's latency is hidden like the
// K/V data's.
// CHECK-LABEL: gpu.func @paged_gqa_partial_online
// CHECK-SAME: %arg8: memref<?x?xi32> {fd.binding = "block_table"}
// CHECK: %[[TR:.*]] = memref.view {{.*}} to memref<4x128xi32, #gpu.address_space<workgroup>>
// CHECK: %[[P:.*]] = memref.load %arg8[%block_id_z, %{{.*}}] : memref<?x?xi32>
// CHECK-NEXT: %[[PI:.*]] = arith.index_cast %[[P]] : i32 to index
// CHECK: nvgpu.device_async_copy %arg1[%[[PI]], %block_id_y,
// CHECK: nvgpu.device_async_copy %arg2[%[[PI]], %block_id_y,
// CHECK: nvgpu.device_async_copy %arg8[%block_id_z, %{{.*}}], %[[TR]][%c3, %thread_id_x], 1, %{{.*}} : memref<?x?xi32> to memref<4x128xi32
// CHECK: scf.for
// CHECK: nvgpu.device_async_wait
// CHECK: gpu.barrier
// CHECK: %[[RP:.*]] = memref.load %[[TR]][%{{.*}}, %{{.*}}] : memref<4x128xi32, #gpu.address_space<workgroup>>
// CHECK-NEXT: %[[RPI:.*]] = arith.index_cast %[[RP]] : i32 to index
// CHECK-NOT: memref.load %arg8
// CHECK: nvgpu.device_async_copy %arg1[%[[RPI]], %block_id_y,
// CHECK-NOT: memref.load %arg8
// CHECK: nvgpu.device_async_copy %arg8
// CHECK: nvgpu.mma.sync
// CHECK: scf.yield
// CHECK-LABEL: gpu.func @paged_gqa_unsplit_online
// CHECK-SAME: {fd.binding = "block_table"}
// CHECK-SAME: {fd.binding = "lse"}
// CHECK-LABEL: gpu.func @paged_gqa_merge_online
// CHECK-SAME: {fd.binding = "lse"}
// CHECK: llvm.nvvm.lg2.approx.f

// CUDA cores: 16-byte vector loads from the page.
// CC-LABEL: gpu.func @paged_gqa_partial_online
// CC: memref.load %arg8
// CC-NEXT: arith.index_cast
// CC-NEXT: arith.remui
// CC-NEXT: vector.load %arg1[{{.*}}] {alignment = 16 : i64} : memref<?x8x16x128xf16

// Unified max: the partial, the merge with its exact fallback and the
// single-launch kernel all read the pages; the merge and the single-launch
// kernel write lse for rows kept and rows recomputed.
// CHECK-LABEL: gpu.func @paged_umax_partial_unified
// CHECK-SAME: {fd.binding = "block_table"}
// CHECK-LABEL: gpu.func @paged_umax_merge_unified
// CHECK-SAME: {fd.binding = "block_table"}
// CHECK-SAME: {fd.binding = "lse"}
// CHECK-LABEL: gpu.func @paged_umax_single_unified
// CHECK-SAME: {fd.binding = "block_table"}
// CHECK-SAME: {fd.binding = "lse"}

// The whole pipeline reaches PTX.
// PTX: .entry paged_gqa_partial_online
// PTX: lg2.approx.f32
// PTX: .entry paged_umax_single_unified

#kv = strided<[?, ?, ?, 1], offset: ?>
func.func @paged_gqa(%q: memref<?x32x128xf16>,
    %k: memref<?x8x16x128xf16, #kv>, %v: memref<?x8x16x128xf16, #kv>,
    %lens: memref<?xi32>, %table: memref<?x?xi32>,
    %out: memref<?x32x128xf16>, %lse: memref<?x32xf32>) {
  fd.decode_attention ins(%q, %k, %v, %lens : memref<?x32x128xf16>,
      memref<?x8x16x128xf16, #kv>, memref<?x8x16x128xf16, #kv>, memref<?xi32>)
      block_table(%table : memref<?x?xi32>)
      outs(%out : memref<?x32x128xf16>) lse(%lse : memref<?x32xf32>)
      {scale = 0.0883883461 : f32, softmax = #fd.online_softmax}
  return
}

func.func @paged_umax(%q: memref<?x32x128xf16>,
    %k: memref<?x32x1x128xf16, #kv>, %v: memref<?x32x1x128xf16, #kv>,
    %lens: memref<?xi32>, %table: memref<?x?xi32>,
    %out: memref<?x32x128xf16>, %lse: memref<?x32xf32>) {
  fd.decode_attention ins(%q, %k, %v, %lens : memref<?x32x128xf16>,
      memref<?x32x1x128xf16, #kv>, memref<?x32x1x128xf16, #kv>, memref<?xi32>)
      block_table(%table : memref<?x?xi32>)
      outs(%out : memref<?x32x128xf16>) lse(%lse : memref<?x32xf32>)
      {scale = 0.0883883461 : f32,
       softmax = #fd.unified_max<phi = 6.0, threshold = 40.0>}
  return
}
