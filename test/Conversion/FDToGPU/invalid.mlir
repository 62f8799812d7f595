// RUN: fd-opt %s -split-input-file --convert-fd-to-gpu -verify-diagnostics
// Each option out of its range is a diagnostic naming it, the range and the
// value, before anything is lowered.
// RUN: not fd-opt %s --convert-fd-to-gpu="block-size=100" 2>&1 | FileCheck %s --check-prefix=BLOCK100
// RUN: not fd-opt %s --convert-fd-to-gpu="block-size=0" 2>&1 | FileCheck %s --check-prefix=BLOCK0
// RUN: not fd-opt %s --convert-fd-to-gpu="block-size=2048" 2>&1 | FileCheck %s --check-prefix=BLOCK2048
// RUN: not fd-opt %s --convert-fd-to-gpu="unroll=17" 2>&1 | FileCheck %s --check-prefix=UNROLL17
// RUN: not fd-opt %s --convert-fd-to-gpu="unroll=0" 2>&1 | FileCheck %s --check-prefix=UNROLL0
// RUN: not fd-opt %s --convert-fd-to-gpu="mma-min-group=17" 2>&1 | FileCheck %s --check-prefix=MMA17
// RUN: not fd-opt %s --convert-fd-to-gpu="mma-min-group=-1" 2>&1 | FileCheck %s --check-prefix=MMANEG
// RUN: not fd-opt %s --convert-fd-to-gpu="mma-stages=9" 2>&1 | FileCheck %s --check-prefix=STAGES9
// RUN: not fd-opt %s --convert-fd-to-gpu="mma-stages=1" 2>&1 | FileCheck %s --check-prefix=STAGES1
// RUN: not fd-opt %s --convert-fd-to-gpu="mma-warps=6" 2>&1 | FileCheck %s --check-prefix=WARPS6
// RUN: not fd-opt %s --convert-fd-to-gpu="mma-warps=16" 2>&1 | FileCheck %s --check-prefix=WARPS16
// RUN: not fd-opt %s --convert-fd-to-gpu="cluster-splits=1" 2>&1 | FileCheck %s --check-prefix=CLUSTER1
// RUN: not fd-opt %s --convert-fd-to-gpu="cluster-splits=17" 2>&1 | FileCheck %s --check-prefix=CLUSTER17
// RUN: not fd-opt %s --convert-fd-to-gpu="cluster-splits=-2" 2>&1 | FileCheck %s --check-prefix=CLUSTERNEG
// The pipeline's options reach the pass.
// RUN: not fd-opt %S/../../../examples/llama_decode.mlir --pass-pipeline="builtin.module(fd-lower-to-ptx{block-size=1056})" 2>&1 | FileCheck %s --check-prefix=PIPE
// RUN: not fd-opt %s --pass-pipeline="builtin.module(fd-lower-to-ptx{opt-level=4})" 2>&1 | FileCheck %s --check-prefix=OPTLEVEL

// BLOCK100: convert-fd-to-gpu: block-size must be a multiple of 32 in [32, 1024], got 100
// BLOCK0: convert-fd-to-gpu: block-size must be a multiple of 32 in [32, 1024], got 0
// BLOCK2048: convert-fd-to-gpu: block-size must be a multiple of 32 in [32, 1024], got 2048
// UNROLL17: convert-fd-to-gpu: unroll must be in [1, 16], got 17
// UNROLL0: convert-fd-to-gpu: unroll must be in [1, 16], got 0
// The values used to print as characters ("got A" for 65).
// MMA17: convert-fd-to-gpu: mma-min-group must be in [0, 16] (0: never use tensor cores), got 17
// MMANEG: convert-fd-to-gpu: mma-min-group must be in [0, 16] (0: never use tensor cores), got -1
// STAGES9: convert-fd-to-gpu: mma-stages must be 0 (by head dim) or in [2, 8], got 9
// STAGES1: convert-fd-to-gpu: mma-stages must be 0 (by head dim) or in [2, 8], got 1
// WARPS6: convert-fd-to-gpu: mma-warps must be 4 or 8, got 6
// WARPS16: convert-fd-to-gpu: mma-warps must be 4 or 8, got 16
// CLUSTER1: convert-fd-to-gpu: cluster-splits must be 0 (no split_cluster variant) or in [2, 16], got 1
// CLUSTER17: convert-fd-to-gpu: cluster-splits must be 0 (no split_cluster variant) or in [2, 16], got 17
// CLUSTERNEG: convert-fd-to-gpu: cluster-splits must be 0 (no split_cluster variant) or in [2, 16], got -2
// PIPE: convert-fd-to-gpu: block-size must be a multiple of 32 in [32, 1024], got 1056
// OPTLEVEL: error: fd-lower-to-ptx: opt-level must be in [0, 3], got 4

func.func @unsplit(%q: memref<?x8x64xf16>, %k: memref<?x8x?x64xf16>,
    %v: memref<?x8x?x64xf16>, %lens: memref<?xi32>, %out: memref<?x8x64xf16>) {
  // expected-error @+1 {{must be split before GPU lowering: run fd-split-kv first}}
  fd.decode_attention ins(%q, %k, %v, %lens : memref<?x8x64xf16>,
      memref<?x8x?x64xf16>, memref<?x8x?x64xf16>, memref<?xi32>)
      outs(%out : memref<?x8x64xf16>)
      {scale = 0.125 : f32, softmax = #fd.online_softmax}
  return
}

// -----

func.func @gemm(%x: memref<?x64xf16>, %w: memref<64x64xf16>, %y: memref<?x64xf16>) {
  // expected-error @+1 {{must be lowered before convert-fd-to-gpu: run fd-tile-flat-gemm and convert-flat-gemm-to-gpu first}}
  fd.flat_gemm ins(%x, %w : memref<?x64xf16>, memref<64x64xf16>) outs(%y : memref<?x64xf16>)
  return
}

// -----

func.func @unified(%acc: memref<?x8x?x64xf32>, %max: memref<?x8x?xf32>,
    %sum: memref<?x8x?xf32>, %out: memref<?x8x64xf16>) {
  // A unified-max merge without its fallback is not exact: the GPU lowering
  // only takes the complete fd-split-kv form.
  // expected-error @+1 {{with the unified_max strategy must be part of the fd-split-kv form}}
  fd.merge_partials ins(%acc, %max, %sum : memref<?x8x?x64xf32>,
      memref<?x8x?xf32>, memref<?x8x?xf32>) outs(%out : memref<?x8x64xf16>)
      {softmax = #fd.unified_max<phi = 6.0, threshold = 40.0>}
  return
}

// -----

// A fallback whose partials are not in the function (written elsewhere):
// the kernels need all three ops to build the launch.
func.func @fallback_alone(%q: memref<?x8x64xf16>, %k: memref<?x8x?x64xf16>,
    %v: memref<?x8x?x64xf16>, %lens: memref<?xi32>, %max: memref<?x8x?xf32>,
    %sum: memref<?x8x?xf32>, %out: memref<?x8x64xf16>, %flags: memref<?x8xi32>) {
  // expected-error @+1 {{with the unified_max strategy must be part of the fd-split-kv form}}
  fd.overflow_fallback ins(%q, %k, %v, %lens, %max, %sum : memref<?x8x64xf16>,
      memref<?x8x?x64xf16>, memref<?x8x?x64xf16>, memref<?xi32>,
      memref<?x8x?xf32>, memref<?x8x?xf32>)
      outs(%out, %flags : memref<?x8x64xf16>, memref<?x8xi32>)
      {scale = 0.125 : f32, softmax = #fd.unified_max<phi = 0.0, threshold = 20.0>}
  return
}

// -----

// Partials with a different phi than the fallback: not one strategy.
func.func @mismatched_phi(%q: memref<?x8x64xf16>, %k: memref<?x8x?x64xf16>,
    %v: memref<?x8x?x64xf16>, %lens: memref<?xi32>, %acc: memref<?x8x?x64xf32>,
    %max: memref<?x8x?xf32>, %sum: memref<?x8x?xf32>, %out: memref<?x8x64xf16>,
    %flags: memref<?x8xi32>, %chunk: index) {
  // expected-error @+1 {{with the unified_max strategy must be part of the fd-split-kv form}}
  fd.partial_attention ins(%q, %k, %v, %lens : memref<?x8x64xf16>,
      memref<?x8x?x64xf16>, memref<?x8x?x64xf16>, memref<?xi32>)
      outs(%acc, %max, %sum : memref<?x8x?x64xf32>, memref<?x8x?xf32>,
           memref<?x8x?xf32>)
      chunk_size(%chunk) {scale = 0.125 : f32, softmax = #fd.unified_max<phi = 1.0, threshold = 20.0>}
  // expected-error @+1 {{with the unified_max strategy must be part of the fd-split-kv form}}
  fd.merge_partials ins(%acc, %max, %sum : memref<?x8x?x64xf32>,
      memref<?x8x?xf32>, memref<?x8x?xf32>) outs(%out : memref<?x8x64xf16>)
      {softmax = #fd.unified_max<phi = 0.0, threshold = 20.0>}
  // expected-error @+1 {{with the unified_max strategy must be part of the fd-split-kv form}}
  fd.overflow_fallback ins(%q, %k, %v, %lens, %max, %sum : memref<?x8x64xf16>,
      memref<?x8x?x64xf16>, memref<?x8x?x64xf16>, memref<?xi32>,
      memref<?x8x?xf32>, memref<?x8x?xf32>)
      outs(%out, %flags : memref<?x8x64xf16>, memref<?x8xi32>)
      {scale = 0.125 : f32, softmax = #fd.unified_max<phi = 0.0, threshold = 20.0>}
  return
}
