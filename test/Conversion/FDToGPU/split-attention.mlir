// RUN: fd-opt %s --convert-fd-to-gpu="unroll=2 mma-min-group=0" | FileCheck %s
// RUN: fd-opt %s --convert-fd-to-gpu="block-size=256 unroll=4 mma-min-group=0" | FileCheck %s --check-prefix=TUNED
// RUN: fd-opt %s --convert-fd-to-gpu="unroll=2 mma-min-group=0" | FileCheck %s --check-prefix=MERGE
// RUN: fd-opt %s --convert-fd-to-gpu="unroll=2 mma-min-group=0" | FileCheck %s --check-prefix=UNSPLIT
// RUN: fd-opt %s --convert-fd-to-gpu="unroll=2 mma-min-group=0" | FileCheck %s --check-prefix=ALONE
// RUN: fd-opt %s --convert-fd-to-gpu="unroll=2 mma-min-group=0" | FileCheck %s --check-prefix=NOFUSED

// GQA, 4 query heads per KV head, D = 128: one CTA per (split, KV head, batch)
// computes the 4 heads of its group.
// CHECK: module attributes {gpu.container_module}
// CHECK-LABEL: func.func @gqa
// CHECK-SAME: (%[[Q:[a-z0-9]+]]: memref<?x32x128xf16>, %[[K:[a-z0-9]+]]: {{.*}}, %[[V:[a-z0-9]+]]: {{.*}}, %[[L:[a-z0-9]+]]: memref<?xi32>, %[[ACC:[a-z0-9]+]]: {{.*}}, %[[MAX:[a-z0-9]+]]: {{.*}}, %[[SUM:[a-z0-9]+]]: {{.*}}, %[[O:[a-z0-9]+]]: {{.*}}, %[[C:[a-z0-9]+]]: index)
// CHECK-DAG: %[[S:.*]] = memref.dim %[[ACC]], %c2
// CHECK-DAG: %[[B:.*]] = memref.dim %[[Q]], %c0
// CHECK: gpu.launch_func @fd_kernels::@gqa_partial_online blocks in (%[[S]], %c8, %[[B]]) threads in (%c128, %c1, %c1) args(%[[Q]] : {{.*}}, %[[K]] : {{.*}}, %[[V]] : {{.*}}, %[[L]] : {{.*}}, %[[ACC]] : {{.*}}, %[[MAX]] : {{.*}}, %[[SUM]] : {{.*}}, %[[C]] : index)
// CHECK: gpu.launch_func @fd_kernels::@gqa_merge_online blocks in (%c32, %{{.*}}, %c1) threads in (%c128, %c1, %c1) args(%[[ACC]] : {{.*}}, %[[MAX]] : {{.*}}, %[[SUM]] : {{.*}}, %[[O]] : {{.*}})
// CHECK-NOT: fd.

// CHECK: gpu.module @fd_kernels
// Shared buffers for merging the 8 row groups: 16-byte aligned globals.
// CHECK-DAG: memref.global "private" @gqa_partial_online_acc : memref<8x128xf32, #gpu.address_space<workgroup>> {alignment = 16 : i64}
// CHECK-DAG: memref.global "private" @gqa_partial_online_max : memref<8xf32, #gpu.address_space<workgroup>> {alignment = 16 : i64}

// Every argument carries its binding, in signature order.
// CHECK-LABEL: gpu.func @gqa_partial_online
// CHECK-SAME: %arg0: memref<?x32x128xf16> {fd.binding = "q"}{{.*}}{fd.binding = "k"}{{.*}}{fd.binding = "v"}{{.*}}{fd.binding = "lens"}{{.*}}{fd.binding = "partial_acc"}{{.*}}{fd.binding = "partial_max"}{{.*}}{fd.binding = "partial_sum"}, %arg7: index {fd.binding = "chunk"})
// CHECK-SAME: kernel
// CHECK-SAME: fd.grid = ["S", "Hkv", "B"], fd.role = "partial"
// CHECK-SAME: known_block_size = array<i32: 128, 1, 1>
// The group's 4 query rows, one 16-byte load each.
// CHECK-COUNT-4: vector.load %arg0{{.*}} {alignment = 16 : i64} : memref<?x32x128xf16>, vector<8xf16>
// The token loop walks [begin + slot, end) with 8 row groups x 2 tokens in flight.
// CHECK: scf.for {{.*}} step %c16 iter_args
// K rows first, then V rows, each one 16-byte load.
// CHECK-COUNT-2: vector.load %arg1{{.*}} {alignment = 16 : i64}
// CHECK-COUNT-2: vector.load %arg2{{.*}} {alignment = 16 : i64}
// Dot products are reduced over the 16 threads of a row: xor 1, 2, 4, 8.
// CHECK: vector.reduction <add>
// CHECK: gpu.shuffle  xor %{{.*}}, %c1_i32, %c32_i32
// CHECK: gpu.shuffle  xor %{{.*}}, %c2_i32, %c32_i32
// CHECK: gpu.shuffle  xor %{{.*}}, %c4_i32, %c32_i32
// CHECK: gpu.shuffle  xor %{{.*}}, %c8_i32, %c32_i32
// CHECK-NOT: gpu.shuffle  xor %{{.*}}, %c16_i32
// Exponentials are ex2.approx, not libdevice.
// CHECK: llvm.call_intrinsic "llvm.nvvm.ex2.approx.ftz.f32"
// CHECK-NOT: math.exp
// CHECK: scf.yield
// Cross-group merge through shared memory.
// CHECK: gpu.barrier
// CHECK: memref.store %{{.*}}, %arg4[
// CHECK: memref.store %{{.*}}, %arg5[
// CHECK: memref.store %{{.*}}, %arg6[
// CHECK: gpu.return

// CHECK-LABEL: gpu.func @gqa_merge_online
// CHECK-SAME: fd.grid = ["Hq", "B"], fd.role = "merge"
// CHECK: scf.for
// CHECK: arith.maximumf
// CHECK: llvm.call_intrinsic "llvm.nvvm.ex2.approx.ftz.f32"
// CHECK: scf.yield
// CHECK: arith.cmpf ogt
// CHECK: arith.truncf %{{.*}} : f32 to f16

// TUNED-LABEL: gpu.func @gqa_partial_online
// TUNED-SAME: known_block_size = array<i32: 256, 1, 1>
// TUNED: scf.for {{.*}} step %c64 iter_args
// TUNED-COUNT-4: vector.load %arg1
func.func @gqa(%q: memref<?x32x128xf16>,
    %k: memref<?x8x?x128xf16, strided<[?, ?, ?, 1], offset: ?>>,
    %v: memref<?x8x?x128xf16, strided<[?, ?, ?, 1], offset: ?>>,
    %lens: memref<?xi32>, %acc: memref<?x32x?x128xf32>,
    %max: memref<?x32x?xf32>, %sum: memref<?x32x?xf32>,
    %out: memref<?x32x128xf16>, %chunk: index) {
  fd.partial_attention ins(%q, %k, %v, %lens : memref<?x32x128xf16>,
      memref<?x8x?x128xf16, strided<[?, ?, ?, 1], offset: ?>>,
      memref<?x8x?x128xf16, strided<[?, ?, ?, 1], offset: ?>>, memref<?xi32>)
      outs(%acc, %max, %sum : memref<?x32x?x128xf32>, memref<?x32x?xf32>,
           memref<?x32x?xf32>)
      chunk_size(%chunk) {scale = 0.0883883461 : f32, softmax = #fd.online_softmax}
  fd.merge_partials ins(%acc, %max, %sum : memref<?x32x?x128xf32>,
      memref<?x32x?xf32>, memref<?x32x?xf32>)
      outs(%out : memref<?x32x128xf16>) {softmax = #fd.online_softmax}
  return
}

// No kernel carries an occupancy promise (nvvm.minctasm, ptxas's
// .minnctapersm): capping registers measured no better (docs/perf.md, item 5).
// CHECK-NOT: nvvm.minctasm

// The merge kernel walks the splits in one pass, 16 at a time with the loads
// of a step (max, sum and acc of each split; the last step masked) issued
// before any is used, so it waits one memory latency per 16 splits.
// MERGE-LABEL: gpu.func @gqa_merge_online
// MERGE: scf.for {{.*}} step %c16
// MERGE-COUNT-16: memref.load %arg1
// MERGE-NOT: scf.for
// MERGE: memref.load %arg0
// MERGE: arith.maximumf
// MERGE-NOT: scf.for
// MERGE: gpu.return

// A partial with its merge also gets the `unsplit` launch variant: one kernel
// over the whole sequence (grid 1 x Hkv x B) that writes the normalised
// output itself, with no partial buffers. The host IR launches the split
// variant; the runtime chooses per call (docs/bundle.md).
// UNSPLIT-LABEL: gpu.func @gqa_partial_online
// UNSPLIT-SAME: fd.variant = "split"
// UNSPLIT-LABEL: gpu.func @gqa_unsplit_online
// UNSPLIT-SAME: {fd.binding = "q"}{{.*}}{fd.binding = "k"}{{.*}}{fd.binding = "v"}{{.*}}{fd.binding = "lens"}, %arg4: memref<?x32x128xf16> {fd.binding = "out"}, %arg5: index {fd.binding = "chunk"})
// UNSPLIT-SAME: fd.grid = ["1", "Hkv", "B"], fd.role = "fused"
// UNSPLIT-SAME: fd.variant = "unsplit"
// UNSPLIT: scf.for {{.*}} step %c16 iter_args
// UNSPLIT: llvm.call_intrinsic "llvm.nvvm.ex2.approx.ftz.f32"
// UNSPLIT: gpu.barrier
// An empty sequence (sum 0) writes zeros rather than 0/0.
// UNSPLIT: arith.cmpf ogt
// UNSPLIT: arith.divf
// UNSPLIT: arith.truncf %{{.*}} : f32 to f16
// One output store per head of the group of 4.
// UNSPLIT: memref.store %{{.*}}, %arg4[
// UNSPLIT-COUNT-3: memref.store %{{.*}}, %arg4[
// UNSPLIT: gpu.return
// UNSPLIT-LABEL: gpu.func @gqa_merge_online
// UNSPLIT-SAME: fd.variant = "split"

// A partial whose merge is elsewhere (or absent) has only the split form.
// ALONE-LABEL: gpu.func @partial_only_partial_online
// ALONE-NOT: fd.variant
// ALONE-NOT: gpu.func @partial_only_unsplit_online
func.func @partial_only(%q: memref<?x32x128xf16>,
    %k: memref<?x8x?x128xf16>, %v: memref<?x8x?x128xf16>,
    %lens: memref<?xi32>, %acc: memref<?x32x?x128xf32>,
    %max: memref<?x32x?xf32>, %sum: memref<?x32x?xf32>, %chunk: index) {
  fd.partial_attention ins(%q, %k, %v, %lens : memref<?x32x128xf16>,
      memref<?x8x?x128xf16>, memref<?x8x?x128xf16>, memref<?xi32>)
      outs(%acc, %max, %sum : memref<?x32x?x128xf32>, memref<?x32x?xf32>,
           memref<?x32x?xf32>)
      chunk_size(%chunk) {scale = 0.0883883461 : f32, softmax = #fd.online_softmax}
  return
}

// An online pair gets split and unsplit only: no one-launch variant (its
// last-CTA merge measured slower than split + merge, docs/perf.md).
// NOFUSED-NOT: fd.variant = "split_fused"
// NOFUSED-NOT: split_count
