// RUN: fd-opt %s -split-input-file --convert-fd-to-scf | FileCheck %s

// The reference lowering leaves loops and f32 math, and no fd op.
// CHECK-LABEL: func.func @split_plan
// CHECK: scf.for {{.*}} iter_args
// CHECK: arith.maxui
// CHECK: arith.ceildivui
// CHECK-NOT: fd.split_plan
func.func @split_plan(%lens: memref<?xi32>) -> (index, index) {
  %s, %c = fd.split_plan %lens : memref<?xi32> {num_kv_heads = 8, sm_count = 132, ctas_per_sm = 2, min_chunk = 256, chunk_align = 64, max_splits = 256}
  return %s, %c : index, index
}

// -----

// CHECK-LABEL: func.func @gemm
// CHECK: scf.for
// CHECK: arith.extf {{.*}} : f16 to f32
// CHECK: arith.mulf
// CHECK: arith.truncf {{.*}} : f32 to f16
// CHECK-NOT: fd.flat_gemm
func.func @gemm(%x: memref<?x64xf16>, %w: memref<32x64xf16>, %b: memref<32xf16>, %y: memref<?x32xf16>) {
  fd.flat_gemm ins(%x, %w : memref<?x64xf16>, memref<32x64xf16>) bias(%b : memref<32xf16>) outs(%y : memref<?x32xf16>)
  return
}

