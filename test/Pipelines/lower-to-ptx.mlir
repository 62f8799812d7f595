// RUN: fd-opt %s --fd-lower-to-ptx | FileCheck %s
// RUN: fd-opt %s --fd-lower-to-ptx="chip=sm_80 num-splits=4" | FileCheck %s --check-prefix=SM80
// RUN: fd-opt %s --fd-lower-to-ptx="pdl=false" | FileCheck %s --check-prefix=NOPDL

// The whole path, fd ops to PTX in a gpu.binary: no fd op, kernel module or
// unlowered GPU op is left, and the PTX has the 16-byte K/V loads, the
// butterfly shuffles and ex2.approx.
// CHECK-NOT: fd.decode_attention
// CHECK-NOT: fd.partial_attention
// CHECK-NOT: fd.merge_partials
// CHECK-NOT: fd.split_plan
// CHECK-NOT: gpu.module
// CHECK: llvm.func @llama3_8b_decode
// CHECK: gpu.launch_func @fd_kernels::@llama3_8b_decode_partial_online
// CHECK: gpu.launch_func @fd_kernels::@llama3_8b_decode_merge_online
// CHECK: gpu.binary @fd_kernels [#gpu.object<#nvvm.target<O = 3, chip = "sm_90", features = "+ptx80">
// CHECK-SAME: .target sm_90
// On sm_90 every kernel waits for the previous grid, then lets the next one
// launch, before its first global load (fd-programmatic-launch).
// CHECK-SAME: .entry llama3_8b_decode_partial_online
// CHECK-NOT: ld.global
// CHECK-SAME: griddepcontrol.wait;\0A\09griddepcontrol.launch_dependents;
// CHECK-SAME: ld.global
// CHECK-SAME: cp.async.cg.shared.global
// CHECK-SAME: shfl.sync.bfly.b32
// CHECK-SAME: ex2.approx.ftz.f32
// CHECK-SAME: .entry llama3_8b_decode_merge_online
// CHECK-NOT: ld.global
// CHECK-SAME: griddepcontrol.wait;\0A\09griddepcontrol.launch_dependents;
// CHECK-SAME: ld.global
// sm_80 has no griddepcontrol: the pipeline leaves it out.
// SM80: chip = "sm_80"
// SM80-SAME: .target sm_80
// SM80-NOT: griddepcontrol
// NOPDL: .target sm_90
// NOPDL-NOT: griddepcontrol
func.func @llama3_8b_decode(%q: memref<?x32x128xf16>,
    %k: memref<?x8x?x128xf16, strided<[?, ?, ?, 1], offset: ?>>,
    %v: memref<?x8x?x128xf16, strided<[?, ?, ?, 1], offset: ?>>,
    %lens: memref<?xi32>, %out: memref<?x32x128xf16>) {
  fd.decode_attention ins(%q, %k, %v, %lens : memref<?x32x128xf16>,
      memref<?x8x?x128xf16, strided<[?, ?, ?, 1], offset: ?>>,
      memref<?x8x?x128xf16, strided<[?, ?, ?, 1], offset: ?>>, memref<?xi32>)
      outs(%out : memref<?x32x128xf16>)
      {scale = 0.0883883461 : f32, softmax = #fd.online_softmax}
  return
}

// Issue 16, item 5: an unknown chip is refused before lowering (it aborted in
// instruction selection).
// RUN: not fd-opt %s --fd-lower-to-ptx="chip=bogus" 2>&1 | FileCheck %s --check-prefix=CHIP
// RUN: not fd-opt %s --fd-lower-to-ptx="chip=sm_99999" 2>&1 | FileCheck %s --check-prefix=CHIP
// CHIP: error: fd-lower-to-ptx: unknown GPU architecture '{{.*}}' (LLVM's NVPTX backend knows e.g. sm_80, sm_90, sm_90a)
