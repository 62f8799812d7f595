// RUN: fd-opt %s --pass-pipeline='builtin.module(func.func(fd-tile-flat-gemm{pad-m=64 wide-from=64 wide-tile-n=128 wide-tile-k=64 wide-stages=4 gemv=false direct=false cluster-k=2}),convert-flat-gemm-to-gpu,canonicalize,cse)' | FileCheck %s
// RUN: fd-opt %s --pass-pipeline='builtin.module(func.func(fd-tile-flat-gemm{pad-m=32 wide-from=32 wide-tile-n=128 wide-tile-k=64 wide-stages=4 gemv=false direct=false cluster-k=1}),convert-flat-gemm-to-gpu,canonicalize,cse)' | FileCheck %s --check-prefix=NOCLUSTER

// The wide tiling of mma_m64: 128 rows of W per CTA, a [4][2] grid of
// warps of 32 x 32 (256 threads), 64-wide K tiles, and K split over a
// cluster of 2 CTAs along grid y. Each CTA walks its half of the K tiles
// (8 of 16, from block_id y * 8), reduces its warps' pieces into shared
// memory, and after a cluster barrier sums its share of the tile over both
// CTAs' shared memory (mapa to ranks 0 and 1, ld.shared::cluster); a
// second barrier keeps every CTA's buffer alive until all have read it.
// CHECK-LABEL: func.func @proj
// CHECK: gpu.launch_func  @fd_kernels::@proj_flat_gemm_mma_m64 blocks in (%c2, %c2, %{{.*}}) threads in (%c256, %c1, %c1)  dynamic_shared_memory_size %c98304_i32
// CHECK: gpu.func @proj_flat_gemm_mma_m64({{.*}}) kernel attributes {fd.cluster = [1, 2, 1], fd.dynamic_smem = 98304 : i64, fd.entry = "proj", fd.grid = ["2", "2", "MT"], fd.m_tile = 64 : i64, fd.role = "mma_m64", known_block_size = array<i32: 256, 1, 1>, nvvm.cluster_dim = array<i32: 1, 2, 1>}
// CHECK: %[[BY:.*]] = gpu.block_id  y
// CHECK: %[[TID:.*]] = gpu.thread_id  x
// CHECK: %[[N0:.*]] = arith.muli %block_id_x, %c128
// CHECK: %[[WARP:.*]] = arith.divui %[[TID]], %c32
// Warp column (N) = warp % 4, row (M) = warp / 4, 32 rows each.
// CHECK: %[[WN:.*]] = arith.remui %[[WARP]], %c4
// CHECK: arith.muli %[[WN]], %c32
// CHECK: %[[WM:.*]] = arith.divui %[[WARP]], %c4
// CHECK: arith.muli %[[WM]], %c32
// CHECK: %[[KT0:.*]] = arith.muli %[[BY]], %c8
// CHECK: memref<4x128x64xf16, #gpu.address_space<workgroup>>
// CHECK: memref<4x64x64xf16, #gpu.address_space<workgroup>>
// The loop runs the 8 - 3 steady-state tiles of this CTA.
// CHECK: scf.for %{{.*}} = %c0 to %c5 step %c1
// CHECK-COUNT-8: nvgpu.mma.sync
// CHECK: memref<1x128x65xf32, #gpu.address_space<workgroup>>
// CHECK: nvvm.cluster.arrive
// CHECK-NEXT: nvvm.cluster.wait
// CHECK: %[[RED:.*]] = memref.extract_aligned_pointer_as_index
// CHECK: %[[I64:.*]] = arith.index_cast %[[RED]] : index to i64
// CHECK: %[[PTR:.*]] = llvm.inttoptr %[[I64]] : i64 to !llvm.ptr<3>
// CHECK: %[[P0:.*]] = nvvm.mapa %[[PTR]], %c0_i32 : !llvm.ptr<3> -> !llvm.ptr<7>
// CHECK: %[[P1:.*]] = nvvm.mapa %[[PTR]], %c1_i32 : !llvm.ptr<3> -> !llvm.ptr<7>
// Rank r starts at element tid + 256 r, steps over both CTAs' 512.
// CHECK: scf.for %{{.*}} = %{{.*}} to %c8192 step %c512
// CHECK: llvm.getelementptr %[[P0]]
// CHECK: llvm.load {{.*}} : !llvm.ptr<7> -> f32
// CHECK: llvm.getelementptr %[[P1]]
// CHECK: llvm.load {{.*}} : !llvm.ptr<7> -> f32
// CHECK: arith.addf
// CHECK: memref.store {{.*}} : memref<?x256xf16>
// CHECK: nvvm.cluster.arrive
// CHECK-NEXT: nvvm.cluster.wait
// CHECK-NEXT: gpu.return

// Without a cluster: grid y is 1, no cluster attributes, the CTA's own
// barrier and store (a warp per 32 x 32: 4 warps for 32 rows of M).
// NOCLUSTER: gpu.launch_func  @fd_kernels::@proj_flat_gemm_mma_m32 blocks in (%c2, %c1, %{{.*}}) threads in (%c128, %c1, %c1)
// NOCLUSTER: gpu.func @proj_flat_gemm_mma_m32({{.*}}) kernel attributes {fd.dynamic_smem = 81920 : i64, fd.entry = "proj", fd.grid = ["2", "1", "MT"], fd.m_tile = 32 : i64, fd.role = "mma_m32", known_block_size = array<i32: 128, 1, 1>}
// NOCLUSTER-NOT: nvvm.cluster
// NOCLUSTER-NOT: nvvm.mapa
// NOCLUSTER: gpu.return
func.func @proj(%x: memref<?x1024xf16>, %w: memref<256x1024xf16>, %y: memref<?x256xf16>) {
  fd.flat_gemm ins(%x, %w : memref<?x1024xf16>, memref<256x1024xf16>) outs(%y : memref<?x256xf16>)
  return
}
