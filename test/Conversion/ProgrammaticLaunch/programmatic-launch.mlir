// RUN: fd-opt %s --fd-programmatic-launch | FileCheck %s
// Running it twice changes nothing more: a kernel marked fd.pdl is skipped.
// RUN: fd-opt %s --fd-programmatic-launch --fd-programmatic-launch | FileCheck %s

// Every kernel starts with the wait (before its first memory access, here
// the load) and then the trigger, and is marked for the manifest.
// CHECK-LABEL: gpu.func @reads_then_writes
// CHECK-SAME: fd.pdl
// CHECK-NEXT: nvvm.griddepcontrol wait
// CHECK-NEXT: nvvm.griddepcontrol launch_dependents
// CHECK-NEXT: arith.constant
// CHECK-NEXT: memref.load
// CHECK-NOT: nvvm.griddepcontrol
// CHECK: gpu.return

// A kernel that only writes waits too: the kernel before it may still be
// reading the buffer.
// CHECK-LABEL: gpu.func @writes_only
// CHECK-SAME: fd.pdl
// CHECK-NEXT: nvvm.griddepcontrol wait
// CHECK-NEXT: nvvm.griddepcontrol launch_dependents
// CHECK-NEXT: arith.constant
// CHECK-NOT: nvvm.griddepcontrol

// A device function that is not a kernel is left alone.
// CHECK-LABEL: gpu.func @helper
// CHECK-NOT: fd.pdl
// CHECK-NOT: nvvm.griddepcontrol
// CHECK: gpu.return
gpu.module @fd_kernels {
  gpu.func @reads_then_writes(%in: memref<4xf32>, %out: memref<4xf32>) kernel {
    %c0 = arith.constant 0 : index
    %x = memref.load %in[%c0] : memref<4xf32>
    memref.store %x, %out[%c0] : memref<4xf32>
    gpu.return
  }
  gpu.func @writes_only(%out: memref<4xf32>) kernel {
    %c1 = arith.constant 1.0 : f32
    %c0 = arith.constant 0 : index
    memref.store %c1, %out[%c0] : memref<4xf32>
    gpu.return
  }
  gpu.func @helper(%out: memref<4xf32>) {
    gpu.return
  }
}
