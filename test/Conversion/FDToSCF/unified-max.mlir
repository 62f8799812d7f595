// RUN: fd-opt %s -split-input-file --convert-fd-to-scf | FileCheck %s

#um = #fd.unified_max<phi = 2.0, threshold = 10.0>

// Partials subtract the fixed phi * log2(e) = 2.88539 and keep no running
// max: no correction factor, just the largest score for the overflow check.
// CHECK-LABEL: func.func @partial
// CHECK: %[[PHI:.*]] = arith.constant 2.885390e+00 : f32
// CHECK: scf.for {{.*}} iter_args(%[[M:.*]] = %{{.*}}, %[[L:.*]] = %{{.*}}) -> (f32, f32)
// CHECK: scf.yield
// CHECK: %[[X:.*]] = arith.mulf
// CHECK: %[[D:.*]] = arith.subf %[[X]], %[[PHI]] : f32
// CHECK: %[[P:.*]] = math.exp2 %[[D]] : f32
// CHECK-NOT: math.exp2
// CHECK: arith.maximumf %[[M]], %[[X]]
// CHECK: arith.addf %[[L]], %[[P]]
func.func @partial(%q: memref<?x8x64xf16>, %k: memref<?x8x?x64xf16>,
    %v: memref<?x8x?x64xf16>, %lens: memref<?xi32>,
    %acc: memref<?x8x?x64xf32>, %max: memref<?x8x?xf32>,
    %sum: memref<?x8x?xf32>, %chunk: index) {
  fd.partial_attention ins(%q, %k, %v, %lens : memref<?x8x64xf16>,
      memref<?x8x?x64xf16>, memref<?x8x?x64xf16>, memref<?xi32>)
      outs(%acc, %max, %sum : memref<?x8x?x64xf32>, memref<?x8x?xf32>,
           memref<?x8x?xf32>)
      chunk_size(%chunk) {scale = 0.125 : f32, softmax = #um}
  return
}

// -----

#um = #fd.unified_max<phi = 2.0, threshold = 10.0>

// The merge is a plain sum: it never reads the split maxima.
// CHECK-LABEL: func.func @merge
// CHECK-SAME: %[[MAX:[^:]*]]: memref<?x8x?xf32>
// CHECK-NOT: memref.load %[[MAX]]
// CHECK-NOT: math.exp2
// CHECK: arith.divf
func.func @merge(%acc: memref<?x8x?x64xf32>, %max: memref<?x8x?xf32>,
    %sum: memref<?x8x?xf32>, %out: memref<?x8x64xf16>) {
  fd.merge_partials ins(%acc, %max, %sum : memref<?x8x?x64xf32>,
      memref<?x8x?xf32>, memref<?x8x?xf32>) outs(%out : memref<?x8x64xf16>)
      {softmax = #um}
  return
}

// -----

#um = #fd.unified_max<phi = 2.0, threshold = 10.0>

// Band [phi - threshold, phi + threshold] * log2(e) = [-11.54, 17.31]; a row
// is flagged when its largest score leaves it or its sum is not in
// (0, FLT_MAX], and only when its length is positive; flagged rows run the
// online-softmax loop (running max, correction factor).
// CHECK-LABEL: func.func @fallback
// CHECK-DAG: %[[HI:.*]] = arith.constant 17.31{{[0-9]*}} : f32
// CHECK-DAG: %[[LO:.*]] = arith.constant -11.54{{[0-9]*}} : f32
// CHECK-DAG: arith.cmpf ugt, %{{.*}}, %[[HI]]
// CHECK-DAG: arith.cmpf ult, %{{.*}}, %[[LO]]
// CHECK: %[[BAD:.*]] = arith.andi %{{.*}}, %{{.*}} : i1
// CHECK: %[[FLAG:.*]] = arith.extui %[[BAD]] : i1 to i32
// CHECK: memref.store %[[FLAG]], %{{.*}} : memref<?x8xi32>
// CHECK: scf.if %[[BAD]]
// CHECK: arith.maximumf
// CHECK: math.exp2
// CHECK: math.exp2
func.func @fallback(%q: memref<?x8x64xf16>, %k: memref<?x8x?x64xf16>,
    %v: memref<?x8x?x64xf16>, %lens: memref<?xi32>, %max: memref<?x8x?xf32>,
    %sum: memref<?x8x?xf32>, %out: memref<?x8x64xf16>,
    %flags: memref<?x8xi32>) {
  fd.overflow_fallback ins(%q, %k, %v, %lens, %max, %sum : memref<?x8x64xf16>,
      memref<?x8x?x64xf16>, memref<?x8x?x64xf16>, memref<?xi32>,
      memref<?x8x?xf32>, memref<?x8x?xf32>)
      outs(%out, %flags : memref<?x8x64xf16>, memref<?x8xi32>)
      {scale = 0.125 : f32, softmax = #um}
  return
}

// -----

// Unsplit there is nothing to synchronise: the unified max lowers to the
// exact online loop.
// CHECK-LABEL: func.func @unsplit
// CHECK: math.exp2
// CHECK-NOT: fd.
func.func @unsplit(%q: memref<?x8x64xf16>, %k: memref<?x8x?x64xf16>,
    %v: memref<?x8x?x64xf16>, %lens: memref<?xi32>, %out: memref<?x8x64xf16>) {
  fd.decode_attention ins(%q, %k, %v, %lens : memref<?x8x64xf16>,
      memref<?x8x?x64xf16>, memref<?x8x?x64xf16>, memref<?xi32>)
      outs(%out : memref<?x8x64xf16>)
      {scale = 0.125 : f32, softmax = #fd.unified_max<phi = 6.0, threshold = 40.0>}
  return
}
