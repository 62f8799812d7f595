// RUN: fd-opt %s --convert-fd-to-gpu="unroll=2 mma-min-group=0" | FileCheck %s

// D = 256 bf16: a whole warp reads one row (xor up to 16); MQA (8 heads on 1).
// CHECK-LABEL: gpu.func @d256_partial_online
// CHECK-COUNT-8: vector.load %arg0{{.*}} : memref<?x8x256xbf16>, vector<8xbf16>
// CHECK: gpu.shuffle  xor %{{.*}}, %c16_i32, %c32_i32
// CHECK-LABEL: gpu.func @d256_merge_online
// CHECK-SAME: known_block_size = array<i32: 256, 1, 1>
// CHECK: arith.truncf %{{.*}} : f32 to bf16
func.func @d256(%q: memref<?x8x256xbf16>, %k: memref<?x1x?x256xbf16>,
    %v: memref<?x1x?x256xbf16>, %lens: memref<?xi32>,
    %acc: memref<?x8x?x256xf32>, %max: memref<?x8x?xf32>,
    %sum: memref<?x8x?xf32>, %out: memref<?x8x256xbf16>, %chunk: index) {
  fd.partial_attention ins(%q, %k, %v, %lens : memref<?x8x256xbf16>,
      memref<?x1x?x256xbf16>, memref<?x1x?x256xbf16>, memref<?xi32>)
      outs(%acc, %max, %sum : memref<?x8x?x256xf32>, memref<?x8x?xf32>,
           memref<?x8x?xf32>)
      chunk_size(%chunk) {scale = 0.0625 : f32, softmax = #fd.online_softmax}
  fd.merge_partials ins(%acc, %max, %sum : memref<?x8x?x256xf32>,
      memref<?x8x?xf32>, memref<?x8x?xf32>)
      outs(%out : memref<?x8x256xbf16>) {softmax = #fd.online_softmax}
  return
}

// D = 64: 8 threads per row, xor 1, 2, 4 only.
// CHECK-LABEL: gpu.func @d64_partial_online
// CHECK: gpu.shuffle  xor %{{.*}}, %c4_i32, %c32_i32
// CHECK-NOT: gpu.shuffle  xor %{{.*}}, %c8_i32
// CHECK: gpu.return
func.func @d64(%q: memref<?x4x64xf16>, %k: memref<?x4x?x64xf16>,
    %v: memref<?x4x?x64xf16>, %lens: memref<?xi32>,
    %acc: memref<?x4x?x64xf32>, %max: memref<?x4x?xf32>,
    %sum: memref<?x4x?xf32>, %chunk: index) {
  fd.partial_attention ins(%q, %k, %v, %lens : memref<?x4x64xf16>,
      memref<?x4x?x64xf16>, memref<?x4x?x64xf16>, memref<?xi32>)
      outs(%acc, %max, %sum : memref<?x4x?x64xf32>, memref<?x4x?xf32>,
           memref<?x4x?xf32>)
      chunk_size(%chunk) {scale = 0.125 : f32, softmax = #fd.online_softmax}
  return
}
