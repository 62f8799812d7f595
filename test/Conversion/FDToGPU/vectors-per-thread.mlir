// RUN: fd-opt %s --convert-fd-to-gpu="vectors-per-thread=2" | FileCheck %s
// RUN: fd-opt %s --convert-fd-to-gpu="vectors-per-thread=3" -verify-diagnostics -o /dev/null

// With two 16-byte slices per thread, a D = 128 row is covered by 8 threads
// (3 shuffle rounds instead of 4), each loading columns lane*8 and lane*8+64
// so the group's loads stay two contiguous 128-byte runs.
// CHECK-LABEL: gpu.func @mha_partial_online
// CHECK-SAME: known_block_size = array<i32: 128, 1, 1>
// CHECK: %[[LANE:.*]] = arith.remui %{{.*}}, %c8 : index
// CHECK: %[[D0:.*]] = arith.muli %[[LANE]], %c8 : index
// CHECK: %[[D1:.*]] = arith.addi %{{.*}}, %c64 : index
// CHECK: scf.for
// CHECK: vector.load %arg1[%{{.*}}, %{{.*}}, %{{.*}}, %[[D0]]] {alignment = 16 : i64}
// CHECK-NEXT: vector.load %arg1[%{{.*}}, %{{.*}}, %{{.*}}, %[[D1]]] {alignment = 16 : i64}
// CHECK-COUNT-3: gpu.shuffle  xor
// CHECK-NOT: gpu.shuffle
// CHECK: arith.maximumf
func.func @mha(%q: memref<?x8x128xf16>, %k: memref<?x8x?x128xf16>,
    %v: memref<?x8x?x128xf16>, %lens: memref<?xi32>,
    %acc: memref<?x8x?x128xf32>, %m: memref<?x8x?xf32>, %l: memref<?x8x?xf32>,
    %chunk: index) {
  // expected-error @+1 {{head dim 128 is not a multiple of 8 * vectors-per-thread (3)}}
  fd.partial_attention ins(%q, %k, %v, %lens : memref<?x8x128xf16>,
      memref<?x8x?x128xf16>, memref<?x8x?x128xf16>, memref<?xi32>)
      outs(%acc, %m, %l : memref<?x8x?x128xf32>,
      memref<?x8x?xf32>, memref<?x8x?xf32>)
      chunk_size(%chunk) {scale = 0.0883883461 : f32, softmax = #fd.online_softmax}
  return
}
