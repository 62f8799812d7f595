// RUN: fd-opt %s --fd-programmatic-launch -split-input-file -verify-diagnostics

// A module that already targets a chip without griddepcontrol is refused
// (the NVPTX backend would abort on the instruction).
// expected-error @+1 {{fd-programmatic-launch: griddepcontrol needs sm_90 or later, but the module targets sm_80}}
gpu.module @fd_kernels [#nvvm.target<chip = "sm_80">] {
  gpu.func @k(%out: memref<4xf32>) kernel {
    gpu.return
  }
}

// -----

// sm_90a (and later, e.g. sm_100f) is accepted.
gpu.module @fd_kernels [#nvvm.target<chip = "sm_90a">] {
  gpu.func @k(%out: memref<4xf32>) kernel {
    gpu.return
  }
}
