// RUN: fd-opt %s --fd-split-kv="ctas-per-sm=2 min-chunk=256" --convert-fd-to-gpu="unroll=2" | FileCheck %s
// RUN: fd-opt %s --pass-pipeline="builtin.module(fd-lower-to-ptx)" | FileCheck %s --check-prefix=PTX

// The host launches the two-kernel variant in place of partial, merge and
// fallback; the single-launch kernel sits in the gpu.module for fd-compile.
// phi is not a kernel constant: a one-element buffer, initialised here to
// the strategy's phi (the runtime's initWorkspace does the same), feeds
// both kernels; the score statistics start at zero.
// CHECK-LABEL: func.func @llama
// CHECK-DAG: %[[PHI0:.*]] = arith.constant 4.000000e+00 : f32
// CHECK: %[[CNT:.*]] = memref.alloc() : memref<1xi32>
// CHECK: %[[PHI:.*]] = memref.alloc() : memref<1xf32>
// CHECK: %[[STATS:.*]] = memref.alloc() : memref<4xi32>
// CHECK: memref.store %[[PHI0]], %[[PHI]][%{{.*}}] : memref<1xf32>
// CHECK: gpu.launch_func @fd_kernels::@llama_partial_unified blocks in (%{{.*}}, %c8, %{{.*}}) threads in (%c128, %c1, %c1)
// CHECK-SAME: %[[PHI]] : memref<1xf32>)
// CHECK: gpu.launch_func @fd_kernels::@llama_merge_unified blocks in (%c32, %{{.*}}, %c1) threads in (%c128, %c1, %c1)
// CHECK-SAME: %[[CNT]] : memref<1xi32>, %[[PHI]] : memref<1xf32>, %[[STATS]] : memref<4xi32>)
// CHECK-NOT: fd.
// CHECK-NOT: gpu.launch_func

// Partial: phi read from its buffer and taken to the log2 domain; no
// correction factor, so one ex2 per token and head and no running-max
// rescale.
// CHECK: gpu.func @llama_partial_unified({{.*}}{fd.binding = "q"}{{.*}}{fd.binding = "k"}{{.*}}{fd.binding = "v"}{{.*}}{fd.binding = "lens"}{{.*}}{fd.binding = "partial_acc"}{{.*}}{fd.binding = "partial_max"}{{.*}}{fd.binding = "partial_sum"}{{.*}}{fd.binding = "chunk"}, %[[PPHI:arg[0-9]+]]: memref<1xf32> {fd.binding = "phi"}) kernel attributes {{.*}}fd.grid = ["S", "Hkv", "B"], fd.role = "partial", fd.softmax = #fd.unified_max<phi = 4.000000e+00, threshold = 3.000000e+01>, fd.variant = "two_kernel"
// CHECK-DAG: %[[LOG2E:.*]] = arith.constant 1.44269{{[0-9]*}} : f32
// CHECK: %[[P:.*]] = memref.load %[[PPHI]][%{{.*}}] : memref<1xf32>
// CHECK: arith.mulf %[[P]], %[[LOG2E]] : f32

// Merge: the row check against hi/lo = (phi +- 30) log2(e), computed from
// the buffer; every row of positive length adds its largest score (as
// order-preserving keys: ~key and key, atomic max) and whether it fell back
// to the score statistics; the fallback counter is incremented by the CTA
// that recomputes its row.
// CHECK: gpu.func @llama_merge_unified({{.*}}{fd.binding = "partial_acc"}{{.*}}{fd.binding = "partial_max"}{{.*}}{fd.binding = "partial_sum"}{{.*}}{fd.binding = "out"}{{.*}}{fd.binding = "q"}{{.*}}{fd.binding = "k"}{{.*}}{fd.binding = "v"}{{.*}}{fd.binding = "lens"}{{.*}}{fd.binding = "row_flags"}{{.*}}{fd.binding = "fallback_count"}, %[[MPHI:arg[0-9]+]]: memref<1xf32> {fd.binding = "phi"}, %[[MSTATS:arg[0-9]+]]: memref<4xi32> {fd.binding = "score_stats"}) kernel attributes {{.*}}fd.variant = "two_kernel"
// CHECK-DAG: %[[PLUS:.*]] = arith.constant 3.000000e+01 : f32
// CHECK-DAG: %[[MINUS:.*]] = arith.constant -3.000000e+01 : f32
// CHECK: %[[M:.*]] = memref.load %[[MPHI]]
// CHECK: arith.addf %[[M]], %[[PLUS]] : f32
// CHECK: arith.addf %[[M]], %[[MINUS]] : f32
// CHECK: memref.atomic_rmw maxu %{{.*}}, %[[MSTATS]][%c0]
// CHECK: memref.atomic_rmw maxu %{{.*}}, %[[MSTATS]][%c1]
// CHECK: memref.atomic_rmw addi %{{.*}}, %[[MSTATS]][%c2]
// CHECK: memref.atomic_rmw addi %{{.*}}, %[[MSTATS]][%c3]
// CHECK: memref.atomic_rmw addi

// Single launch: atomics into the accumulators, the rows' largest scores as
// keys (atomic max), a counter per (b, kv head), fences around it,
// exchange-with-zero reads that reset the workspace, then the statistics.
// CHECK: gpu.func @llama_single_unified({{.*}}{fd.binding = "q"}{{.*}}{fd.binding = "k"}{{.*}}{fd.binding = "v"}{{.*}}{fd.binding = "lens"}{{.*}}{fd.binding = "out"}{{.*}}{fd.binding = "ua_acc"}{{.*}}{fd.binding = "ua_sum"}{{.*}}{fd.binding = "ua_max"}{{.*}}{fd.binding = "ua_count"}{{.*}}{fd.binding = "fallback_count"}{{.*}}{fd.binding = "chunk"}{{.*}}{fd.binding = "phi"}{{.*}}{fd.binding = "score_stats"}) kernel attributes {{.*}}fd.variant = "single_launch"
// CHECK: memref.atomic_rmw addf
// CHECK: memref.atomic_rmw maxu
// CHECK: llvm.fence syncscope("device") acq_rel
// CHECK: memref.atomic_rmw addi
// CHECK: llvm.fence syncscope("device") acq_rel
// CHECK: memref.atomic_rmw assign
// CHECK: memref.atomic_rmw assign
// CHECK: memref.atomic_rmw maxu
// CHECK: memref.atomic_rmw maxu
// CHECK: memref.atomic_rmw addi
// CHECK: memref.atomic_rmw addi

// The PTX has 16-byte K/V loads, f32 atomics, unsigned atomic maxima and
// GPU-scope fences.
// PTX-DAG: .entry llama_partial_unified
// PTX-DAG: ld.global.v4.b32
// PTX-DAG: .entry llama_merge_unified
// PTX-DAG: .entry llama_single_unified
// PTX-DAG: atom.global.add.f32
// PTX-DAG: atom.global.max.u32
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
