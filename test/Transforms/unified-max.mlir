// RUN: fd-opt %s -split-input-file --fd-unified-max="phi=6 threshold=40" | FileCheck %s
// RUN: fd-opt %s -split-input-file --fd-unified-max="phi=6 threshold=40" --fd-split-kv="num-splits=4 ctas-per-sm=2 min-chunk=256" | FileCheck %s --check-prefix=SPLIT
// RUN: fd-opt %s -split-input-file --fd-unified-max -verify-diagnostics
// Given values must be finite f32s (the kernels compute in f32), the
// threshold positive: a diagnostic names the option, the range and the value.
// RUN: not fd-opt %s --fd-unified-max="phi=1 threshold=0" 2>&1 | FileCheck %s --check-prefix=THRESH0
// RUN: not fd-opt %s --fd-unified-max="phi=1 threshold=-3" 2>&1 | FileCheck %s --check-prefix=THRESHNEG
// RUN: not fd-opt %s --fd-unified-max="phi=1 threshold=1e39" 2>&1 | FileCheck %s --check-prefix=THRESHBIG
// RUN: not fd-opt %s --fd-unified-max="phi=1e39" 2>&1 | FileCheck %s --check-prefix=PHI
// RUN: not fd-opt %s --fd-unified-max="phi=-1e39" 2>&1 | FileCheck %s --check-prefix=PHINEG
// RUN: not fd-opt %s --pass-pipeline="builtin.module(fd-lower-to-cpu{unified-max-phi=1e39})" 2>&1 | FileCheck %s --check-prefix=PHI
// THRESH0: error: fd-unified-max: threshold must be in (0, 3.40282347e+38] (finite, an f32), got 0
// THRESHNEG: error: fd-unified-max: threshold must be in (0, 3.40282347e+38] (finite, an f32), got -3
// THRESHBIG: error: fd-unified-max: threshold must be in (0, 3.40282347e+38] (finite, an f32), got 1e+39
// PHI: error: fd-unified-max: phi must be in [-3.40282347e+38, 3.40282347e+38] (finite, an f32), got 1e+39
// PHINEG: error: fd-unified-max: phi must be in [-3.40282347e+38, 3.40282347e+38] (finite, an f32), got -1e+39

// CHECK-LABEL: func.func @online
// CHECK: fd.decode_attention {{.*}}softmax = #fd.unified_max<phi = 6.000000e+00, threshold = 4.000000e+01>
// The split form of the unified max is partials, a plain-sum merge and the
// exact fallback, whose flags live only as long as the op.
// SPLIT-LABEL: func.func @online
// SPLIT-SAME: (%[[Q:.*]]: memref<?x32x128xf16>, %[[K:.*]]: memref<?x8x?x128xf16>, %[[V:.*]]: memref<?x8x?x128xf16>, %[[L:.*]]: memref<?xi32>, %[[O:.*]]: memref<?x32x128xf16>)
// SPLIT: %[[B:.*]] = memref.dim %[[Q]], %c0
// SPLIT: %[[MAX:.*]] = memref.alloc(%[[B]], %c4) : memref<?x32x?xf32>
// SPLIT: %[[SUM:.*]] = memref.alloc(%[[B]], %c4) : memref<?x32x?xf32>
// SPLIT: fd.partial_attention {{.*}}softmax = #fd.unified_max<phi = 6.000000e+00, threshold = 4.000000e+01>
// SPLIT: fd.merge_partials {{.*}}softmax = #fd.unified_max<phi = 6.000000e+00, threshold = 4.000000e+01>
// SPLIT: %[[F:.*]] = memref.alloc(%[[B]]) : memref<?x32xi32>
// SPLIT: fd.overflow_fallback ins(%[[Q]], %[[K]], %[[V]], %[[L]], %[[MAX]], %[[SUM]] : {{.*}}) outs(%[[O]], %[[F]] : memref<?x32x128xf16>, memref<?x32xi32>) {scale = 0.0883883461 : f32, softmax = #fd.unified_max<phi = 6.000000e+00, threshold = 4.000000e+01>}
// SPLIT: memref.dealloc %[[F]]
func.func @online(%q: memref<?x32x128xf16>, %k: memref<?x8x?x128xf16>,
    %v: memref<?x8x?x128xf16>, %lens: memref<?xi32>,
    %out: memref<?x32x128xf16>) {
  // expected-error @-3 {{fd-unified-max: phi must be given; fd-calibrate derives phi and threshold from score samples}}
  fd.decode_attention ins(%q, %k, %v, %lens : memref<?x32x128xf16>,
      memref<?x8x?x128xf16>, memref<?x8x?x128xf16>, memref<?xi32>)
      outs(%out : memref<?x32x128xf16>)
      {scale = 0.0883883461 : f32, softmax = #fd.online_softmax}
  return
}

// -----

// Calibrated values replace older ones.
// CHECK-LABEL: func.func @recalibrate
// CHECK: softmax = #fd.unified_max<phi = 6.000000e+00, threshold = 4.000000e+01>
func.func @recalibrate(%q: memref<?x8x64xf16>, %k: memref<?x8x?x64xf16>,
    %v: memref<?x8x?x64xf16>, %lens: memref<?xi32>, %out: memref<?x8x64xf16>) {
  // expected-error @-2 {{fd-unified-max: phi must be given}}
  fd.decode_attention ins(%q, %k, %v, %lens : memref<?x8x64xf16>,
      memref<?x8x?x64xf16>, memref<?x8x?x64xf16>, memref<?xi32>)
      outs(%out : memref<?x8x64xf16>)
      {scale = 0.125 : f32, softmax = #fd.unified_max<phi = 1.0, threshold = 2.0>}
  return
}

// -----

// The split form is left alone: its partials and merge must agree.
// CHECK-LABEL: func.func @negative_split_form
// CHECK: fd.merge_partials {{.*}}softmax = #fd.online_softmax
func.func @negative_split_form(%acc: memref<?x8x?x64xf32>, %max: memref<?x8x?xf32>,
    %sum: memref<?x8x?xf32>, %out: memref<?x8x64xf16>) {
  // expected-error @-2 {{fd-unified-max: phi must be given}}
  fd.merge_partials ins(%acc, %max, %sum : memref<?x8x?x64xf32>,
      memref<?x8x?xf32>, memref<?x8x?xf32>) outs(%out : memref<?x8x64xf16>)
      {softmax = #fd.online_softmax}
  return
}
