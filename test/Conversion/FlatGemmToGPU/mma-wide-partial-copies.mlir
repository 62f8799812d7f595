// RUN: fd-opt %s --pass-pipeline='builtin.module(func.func(fd-tile-flat-gemm{pad-m=64 wide-from=64 wide-tile-n=96 wide-tile-k=64 gemv=false direct=false cluster-k=1}),convert-flat-gemm-to-gpu,canonicalize,cse)' | FileCheck %s
// RUN: fd-opt %s --pass-pipeline='builtin.module(func.func(fd-tile-flat-gemm{pad-m=8 wide-from=8 wide-tile-n=192 wide-tile-k=64 gemv=false direct=false cluster-k=1}),convert-flat-gemm-to-gpu,canonicalize,cse)' | FileCheck %s --check-prefix=SMALL

// A wide tile of 96 rows of W has a [3][2] grid of warps (192 threads), a
// number that does not divide the x tile's copies: 64 rows x 8 chunks of a
// 64-wide K tile = 512 16-byte copies, 2 whole rounds and a partial third,
// whose threads past the end copy the last chunk (511) again. W's 96 x 8 =
// 768 copies are 4 whole rounds: no clamp.
// CHECK: gpu.func @proj_flat_gemm_mma_m64({{.*}}) kernel attributes {{{.*}}known_block_size = array<i32: 192, 1, 1>}
// CHECK-NOT: arith.minui {{.*}}, %c767
// CHECK: arith.minui %{{.*}}, %c511 : index
// CHECK: nvgpu.device_async_copy
// CHECK: gpu.return

// An 8-row x tile is 64 copies, fewer than the 6 warps (192 threads) of
// 192 rows of W: one partial round, every thread from 64 on copying chunk
// 63 again.
// SMALL: gpu.func @proj_flat_gemm_mma_m8({{.*}}) kernel attributes {{{.*}}known_block_size = array<i32: 192, 1, 1>}
// SMALL: arith.minui %{{.*}}, %c63 : index
// SMALL: gpu.return
func.func @proj(%x: memref<?x1024xf16>, %w: memref<192x1024xf16>, %y: memref<?x192xf16>) {
  fd.flat_gemm ins(%x, %w : memref<?x1024xf16>, memref<192x1024xf16>) outs(%y : memref<?x192xf16>)
  return
}
