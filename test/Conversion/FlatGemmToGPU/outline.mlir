// RUN: fd-opt %s --pass-pipeline='builtin.module(func.func(fd-tile-flat-gemm{pad-m=8,32 wide-from=0}),convert-flat-gemm-to-gpu,cse)' | FileCheck %s

// Each described fd.flat_gemm becomes a kernel of @fd_kernels whose
// arguments carry their bindings (x, w, bias, y, in that order) and the
// manifest attributes fd-compile reads; the host keeps the dispatch on M.
// CHECK: module attributes {gpu.container_module}
// CHECK-LABEL: func.func @qkv
// CHECK-NOT: gpu.launch blocks
// CHECK-NOT: fd.flat_gemm
// CHECK: %[[M:.*]] = memref.dim %arg0
// CHECK: scf.if
// CHECK: gpu.launch_func  @fd_kernels::@qkv_flat_gemm_gemv blocks in (%c3072, %[[M]], %{{.*}}) threads in (%c128, %{{.*}}, %{{.*}})  args(%arg0 : memref<?x4096xf16>, %arg1 : memref<12288x4096xf16>, %arg2 : memref<12288xf16>, %arg3 : memref<?x12288xf16>)
// CHECK: gpu.launch_func  @fd_kernels::@qkv_flat_gemm_mma_m8 blocks in (%c384, %{{.*}}, %{{.*}}) threads in (%c128, %{{.*}}, %{{.*}})  dynamic_shared_memory_size %c122880_i32 args(%arg0 : memref<?x4096xf16>, %arg1 : memref<12288x4096xf16>, %arg2 : memref<12288xf16>, %arg3 : memref<?x12288xf16>)
// CHECK: gpu.launch_func  @fd_kernels::@qkv_flat_gemm_mma_m32 blocks in (%c384, %{{.*}}, %{{.*}}) threads in (%c128, %{{.*}}, %{{.*}})  dynamic_shared_memory_size %c196608_i32
// CHECK-NOT: fd.flat_gemm
// CHECK: gpu.module @fd_kernels
// CHECK: gpu.func @qkv_flat_gemm_gemv(%{{.*}}: memref<?x4096xf16> {fd.binding = "x"}, %{{.*}}: memref<12288x4096xf16> {fd.binding = "w"}, %{{.*}}: memref<12288xf16> {fd.binding = "bias"}, %{{.*}}: memref<?x12288xf16> {fd.binding = "y"}) kernel attributes {fd.dynamic_smem = 0 : i64, fd.entry = "qkv", fd.grid = ["3072", "M"], fd.m_tile = 1 : i64, fd.role = "gemv", known_block_size = array<i32: 128, 1, 1>}
// CHECK: gpu.shuffle
// CHECK: gpu.return
// CHECK: gpu.func @qkv_flat_gemm_mma_m8({{.*}}) kernel attributes {fd.dynamic_smem = 122880 : i64, fd.entry = "qkv", fd.grid = ["384", "1", "MT"], fd.m_tile = 8 : i64, fd.role = "mma_m8", known_block_size = array<i32: 128, 1, 1>}
// CHECK: gpu.block_id  x
// CHECK: gpu.block_id  z
// CHECK: gpu.thread_id  x
// CHECK: gpu.dynamic_shared_memory
// CHECK: nvgpu.device_async_copy
// CHECK: nvgpu.mma.sync
// CHECK: gpu.func @qkv_flat_gemm_mma_m32({{.*}}) kernel attributes {{{.*}}fd.dynamic_smem = 196608 : i64{{.*}}fd.m_tile = 32 : i64, fd.role = "mma_m32"
func.func @qkv(%x: memref<?x4096xf16>, %w: memref<12288x4096xf16>,
               %b: memref<12288xf16>, %y: memref<?x12288xf16>) {
  fd.flat_gemm ins(%x, %w : memref<?x4096xf16>, memref<12288x4096xf16>)
      bias(%b : memref<12288xf16>) outs(%y : memref<?x12288xf16>)
  return
}
