// RUN: fd-opt %s --pass-pipeline='builtin.module(func.func(fd-tile-flat-gemm{pad-m=64 wide-from=64 wide-tile-n=128 wide-tile-k=64 wide-stages=3 gemv=false direct=false cluster-k=3}),convert-flat-gemm-to-gpu,canonicalize,cse)' | FileCheck %s

// A cluster of 3 over K = 1024, 16 K tiles of 64: ranks 0 / 1 / 2 get
// 6 / 5 / 5 tiles from tiles 0 / 6 / 11, i.e. rank * 5 + min(rank, 1), and
// 5 + (rank < 1) of them. The steady-state loop then runs to that count
// minus the ring's 2 prologue tiles, and the drain's ring slots are
// computed from it (static when the cluster divides the tiles: see
// mma-wide.mlir).
// CHECK-LABEL: func.func @proj
// CHECK: gpu.func @proj_flat_gemm_mma_m64({{.*}}) kernel attributes {fd.cluster = [1, 3, 1],{{.*}}nvvm.cluster_dim = array<i32: 1, 3, 1>}
// CHECK: %[[BY:.*]] = gpu.block_id  y
// CHECK: %[[BASE:.*]] = arith.muli %[[BY]], %c5
// CHECK: %[[EXTRA:.*]] = arith.minui %[[BY]], %c1
// CHECK: %[[KT0:.*]] = arith.addi %[[BASE]], %[[EXTRA]]
// CHECK: %[[FIRST:.*]] = arith.cmpi ult, %[[BY]], %c1
// CHECK: %[[ONE:.*]] = arith.select %[[FIRST]], %c1, %c0
// (5 + that) - 2 folds to that + 3.
// CHECK: %[[STEADY:.*]] = arith.addi %[[ONE]], %c3
// CHECK: scf.for %{{.*}} = %c0 to %[[STEADY]] step %c1
// The drain's two tiles: slots (steady + 0) % 3 and (steady + 1) % 3.
// CHECK: arith.remui %[[STEADY]], %c3
// CHECK: %[[NEXT:.*]] = arith.addi %[[ONE]], %c4
// CHECK: arith.remui %[[NEXT]], %c3
// CHECK: nvvm.cluster.arrive
// CHECK: nvvm.mapa {{.*}}, %c2_i32
// CHECK: gpu.return
func.func @proj(%x: memref<?x1024xf16>, %w: memref<256x1024xf16>, %y: memref<?x256xf16>) {
  fd.flat_gemm ins(%x, %w : memref<?x1024xf16>, memref<256x1024xf16>) outs(%y : memref<?x256xf16>)
  return
}
