// RUN: fd-opt %s --convert-fd-to-gpu | FileCheck %s
// RUN: fd-opt %s --pass-pipeline="builtin.module(fd-lower-to-ptx)" | FileCheck %s --check-prefix=PTX

// fd.merge_states becomes one kernel, grid (Hq, B), one thread per element
// of a row, bound by state index; every load is issued before the
// arithmetic, the weights are 2^(lse log2(e) - M) from M = -FLT_MAX up, and
// thread 0 writes the merged lse.
// CHECK-LABEL: func.func @merge
// CHECK: gpu.launch_func @fd_kernels::@merge_merge_states blocks in (%c32, %{{.*}}, %c1) threads in (%c128, %c1, %c1)
// CHECK-LABEL: gpu.func @merge_merge_states
// CHECK-SAME: {fd.binding = "state_out_0"}
// CHECK-SAME: {fd.binding = "state_out_1"}
// CHECK-SAME: {fd.binding = "state_out_2"}
// CHECK-SAME: {fd.binding = "state_lse_0"}
// CHECK-SAME: {fd.binding = "state_lse_1"}
// CHECK-SAME: {fd.binding = "state_lse_2"}
// CHECK-SAME: {fd.binding = "out"}
// CHECK-SAME: {fd.binding = "lse"}
// CHECK-SAME: fd.entry = "merge", fd.grid = ["Hq", "B"], fd.role = "merge_states"
// CHECK-COUNT-6: memref.load
// CHECK-NOT: memref.load
// CHECK: arith.maximumf %{{.*}}, %cst{{.*}} : f32
// CHECK-COUNT-3: llvm.call_intrinsic "llvm.nvvm.ex2.approx.ftz.f32"
// CHECK: arith.divf
// CHECK: arith.truncf {{.*}} : f32 to bf16
// CHECK: scf.if
// CHECK: llvm.call_intrinsic "llvm.nvvm.lg2.approx.f"
// CHECK: memref.store {{.*}} : memref<?x32xf32>

// PTX: .entry merge_merge_states
// PTX-COUNT-3: ex2.approx.ftz.f32

!o = memref<?x32x128xbf16, strided<[?, ?, 1], offset: ?>>
!l = memref<?x32xf32, strided<[?, ?], offset: ?>>
func.func @merge(%a: !o, %b: !o, %c: !o, %la: !l, %lb: !l, %lc: !l,
                 %out: memref<?x32x128xbf16>, %lse: memref<?x32xf32>) {
  fd.merge_states ins(%a, %b, %c : !o, !o, !o) lses(%la, %lb, %lc : !l, !l, !l)
      outs(%out : memref<?x32x128xbf16>) lse(%lse : memref<?x32xf32>)
  return
}
