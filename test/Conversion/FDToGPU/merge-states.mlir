// RUN: fd-opt %s --convert-fd-to-gpu | FileCheck %s
// RUN: fd-opt %s --convert-fd-to-gpu | FileCheck %s --check-prefix=RAGGED
// RUN: fd-opt %s --pass-pipeline="builtin.module(fd-lower-to-ptx)" | FileCheck %s --check-prefix=PTX

// fd.merge_states becomes one kernel: a thread merges 8 elements of a row
// (16-byte loads and stores), a CTA 128 / (D / 8) = 8 rows of one sequence,
// so the grid is (Hq / 8, B); states are bound by index; every load is
// issued before the arithmetic, the weights are 2^(lse log2(e) - M) from
// M = -FLT_MAX up, and the row's first thread writes the merged lse.
// CHECK-LABEL: func.func @merge
// CHECK: gpu.launch_func @fd_kernels::@merge_merge_states blocks in (%c4, %{{.*}}, %c1) threads in (%c16, %c8, %c1)
// CHECK-LABEL: gpu.func @merge_merge_states
// CHECK-SAME: {fd.binding = "state_out_0"}
// CHECK-SAME: {fd.binding = "state_out_1"}
// CHECK-SAME: {fd.binding = "state_out_2"}
// CHECK-SAME: {fd.binding = "state_lse_0"}
// CHECK-SAME: {fd.binding = "state_lse_1"}
// CHECK-SAME: {fd.binding = "state_lse_2"}
// CHECK-SAME: {fd.binding = "out"}
// CHECK-SAME: {fd.binding = "lse"}
// CHECK-SAME: fd.entry = "merge", fd.grid = ["4", "B"], fd.role = "merge_states", known_block_size = array<i32: 16, 8, 1>
// CHECK-NOT: scf.if
// CHECK-COUNT-3: vector.load {{.*}} {alignment = 16 : i64} {{.*}} vector<8xbf16>
// CHECK-NOT: memref.load
// CHECK: arith.maximumf %{{.*}}, %cst{{.*}} : f32
// CHECK-COUNT-3: llvm.call_intrinsic "llvm.nvvm.ex2.approx.ftz.f32"
// CHECK: arith.divf
// CHECK: arith.truncf {{.*}} : vector<8xf32> to vector<8xbf16>
// CHECK: vector.store {{.*}} {alignment = 16 : i64}
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

// 20 heads in CTAs of 8 rows: 3 CTAs per sequence, the last one's rows past
// Hq do nothing.
// RAGGED-LABEL: func.func @ragged
// RAGGED: gpu.launch_func @fd_kernels::@ragged_merge_states blocks in (%c3, %{{.*}}, %c1) threads in (%c16, %c8, %c1)
// RAGGED-LABEL: gpu.func @ragged_merge_states
// RAGGED-SAME: fd.grid = ["3", "B"]
// RAGGED: %[[IN:.*]] = arith.cmpi ult, %{{.*}}, %c20
// RAGGED-NEXT: scf.if %[[IN]] {
// RAGGED: vector.load
!r = memref<?x20x128xf16>
!rl = memref<?x20xf32>
func.func @ragged(%a: !r, %b: !r, %la: !rl, %lb: !rl, %out: !r) {
  fd.merge_states ins(%a, %b : !r, !r) lses(%la, %lb : !rl, !rl) outs(%out : !r)
  return
}

