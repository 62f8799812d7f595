// RUN: fd-opt %s --fd-split-kv --convert-fd-to-gpu | FileCheck %s
// RUN: fd-opt %s --pass-pipeline="builtin.module(fd-lower-to-ptx)" | FileCheck %s --check-prefix=PTX
// RUN: fd-opt %s --fd-split-kv --convert-fd-to-gpu="prefetch=true unroll=2" | FileCheck %s --check-prefix=PREFETCH

// The host launches the two-kernel variant in place of partial, merge and
// fallback; the single-launch kernel sits in the gpu.module for fd-compile.
// CHECK-LABEL: func.func @llama
// CHECK: gpu.launch_func @fd_kernels::@llama_partial_unified blocks in (%{{.*}}, %c8, %{{.*}}) threads in (%c128, %c1, %c1)
// CHECK: %[[CNT:.*]] = memref.alloc() : memref<1xi32>
// CHECK: gpu.launch_func @fd_kernels::@llama_merge_unified blocks in (%c32, %{{.*}}, %c1) threads in (%c128, %c1, %c1)
// CHECK-SAME: %[[CNT]] : memref<1xi32>
// CHECK-NOT: fd.
// CHECK-NOT: gpu.launch_func

// Partial: fixed phi * log2(e) = 5.77078, no correction factor, so one ex2
// per token and head and no running-max rescale.
// CHECK: gpu.func @llama_partial_unified({{.*}}) kernel attributes {{{.*}}fd.grid = ["S", "Hkv", "B"], fd.role = "partial", fd.softmax = #fd.unified_max<phi = 4.000000e+00, threshold = 3.000000e+01>, fd.variant = "two_kernel"
// CHECK: arith.constant 5.770780e+00 : f32

// Merge: row check against hi = 49.0516 and lo = -37.5101 (log2 domain),
// fallback counter incremented by the CTA that recomputes its row.
// CHECK: gpu.func @llama_merge_unified({{.*}}) kernel attributes {fd.args = ["partial_acc", "partial_max", "partial_sum", "out", "q", "k", "v", "lens", "row_flags", "fallback_count"], {{.*}}fd.variant = "two_kernel"
// CHECK-DAG: arith.constant 49.0516{{[0-9]*}} : f32
// CHECK-DAG: arith.constant -37.5100{{[0-9]*}} : f32
// CHECK: memref.atomic_rmw addi

// Single launch: atomics into the accumulators, a counter per (b, kv head),
// fences around it, exchange-with-zero reads that reset the workspace.
// CHECK: gpu.func @llama_single_unified({{.*}}) kernel attributes {fd.args = ["q", "k", "v", "lens", "out", "ua_acc", "ua_sum", "ua_bits", "ua_count", "fallback_count", "chunk"], {{.*}}fd.variant = "single_launch"
// CHECK: memref.atomic_rmw addf
// CHECK: memref.atomic_rmw ori
// CHECK: llvm.fence syncscope("device") acq_rel
// CHECK: memref.atomic_rmw addi
// CHECK: llvm.fence syncscope("device") acq_rel
// CHECK: memref.atomic_rmw assign
// CHECK: memref.atomic_rmw assign

// The PTX has 16-byte K/V loads, f32 atomics and GPU-scope fences.
// PTX-DAG: .entry llama_partial_unified
// PTX-DAG: ld.global.v4.b32
// PTX-DAG: .entry llama_merge_unified
// PTX-DAG: .entry llama_single_unified
// PTX-DAG: atom.global.add.f32
// PTX-DAG: atom.global.or.b32
// PTX-DAG: fence.acq_rel.gpu
// PTX-DAG: atom.global.add.u32
// PTX-DAG: atom.global.exch.b32
func.func @llama(%q: memref<?x32x128xf16>, %k: memref<?x8x?x128xf16, strided<[?, ?, ?, 1], offset: ?>>,
    %v: memref<?x8x?x128xf16, strided<[?, ?, ?, 1], offset: ?>>, %lens: memref<?xi32>,
    %out: memref<?x32x128xf16>) {
  fd.decode_attention ins(%q, %k, %v, %lens : memref<?x32x128xf16>,
      memref<?x8x?x128xf16, strided<[?, ?, ?, 1], offset: ?>>,
      memref<?x8x?x128xf16, strided<[?, ?, ?, 1], offset: ?>>, memref<?xi32>)
      outs(%out : memref<?x32x128xf16>)
      {scale = 0.0883883461 : f32, softmax = #fd.unified_max<phi = 4.0, threshold = 30.0>}
  return
}

// prefetch reaches the unified kernels' token loop as it does the online one:
// the first tile is loaded before the loop and carried, the next one loaded
// inside before the current one is used.
// PREFETCH-LABEL: gpu.func @llama_partial_unified
// PREFETCH: %[[FIRST:.*]]:4 = scf.if %{{.*}} -> (vector<8xf16>, vector<8xf16>, vector<8xf16>, vector<8xf16>)
// PREFETCH: scf.for {{.*}} iter_args({{.*}} = %[[FIRST]]#0, %{{.*}} = %[[FIRST]]#1, %{{.*}} = %[[FIRST]]#2, %{{.*}} = %[[FIRST]]#3)
// PREFETCH-LABEL: gpu.func @llama_single_unified
// PREFETCH: %[[FIRST2:.*]]:4 = scf.if %{{.*}} -> (vector<8xf16>, vector<8xf16>, vector<8xf16>, vector<8xf16>)
// PREFETCH: scf.for {{.*}} iter_args({{.*}} = %[[FIRST2]]#0, %{{.*}} = %[[FIRST2]]#1, %{{.*}} = %[[FIRST2]]#2, %{{.*}} = %[[FIRST2]]#3)
