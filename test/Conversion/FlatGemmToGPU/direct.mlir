// The plain loop (no register double buffering), both direct tiles, 16
// warps:
// RUN: fd-opt %s --pass-pipeline='builtin.module(func.func(fd-tile-flat-gemm{direct-pad-m=8,16 direct-unroll=2 direct-prefetch=false direct-split-k=16 dispatch=1:gemv,8:direct_m8,16:direct_m16,mma_m32}),convert-flat-gemm-to-gpu,canonicalize,cse)' | FileCheck %s
// The defaults (direct_m16, m32, m64, auto split-k, double buffering;
// dispatched through tables only):
// RUN: fd-opt %s --pass-pipeline='builtin.module(func.func(fd-tile-flat-gemm),convert-flat-gemm-to-gpu,canonicalize,cse)' | FileCheck %s --check-prefix=PF
// RUN: fd-opt %s --pass-pipeline='builtin.module(func.func(fd-tile-flat-gemm{direct-split-k=2 direct-pad-m=8}),convert-flat-gemm-to-gpu)' | FileCheck %s --check-prefix=SPLIT
// RUN: fd-opt %s --pass-pipeline='builtin.module(func.func(fd-tile-flat-gemm{direct=false}),convert-flat-gemm-to-gpu)' | FileCheck %s --check-prefix=OFF

// The register-direct tensor-core kernels (direct_m<P>) built from
// fd-tile-flat-gemm's descriptions (test/Transforms/tile-flat-gemm-direct.mlir
// checks the decisions).

// Host dispatch from the rules given: GEMV for M <= 1, the direct tiles up
// to their sizes, mma_m32 beyond, the other ring tiles through tables only. N / 16 = 256 CTAs of 16 warps; the [16][16][9] f32
// reduction buffer is the only shared memory.
// CHECK-LABEL: func.func @proj
// CHECK: %[[M:.*]] = memref.dim %arg0, %c0
// CHECK: arith.cmpi ule, %[[M]], %c1
// CHECK: gpu.launch_func  @fd_kernels::@proj_flat_gemm_gemv
// CHECK: arith.cmpi ule, %[[M]], %c8
// CHECK: scf.if
// CHECK: gpu.launch_func  @fd_kernels::@proj_flat_gemm_direct_m8 blocks in (%c256, %c1, %{{.*}}) threads in (%c512, %c1, %c1)  dynamic_shared_memory_size %c9216_i32
// CHECK: arith.cmpi ule, %[[M]], %c16
// Two n-tiles: a [16][16][17] buffer.
// CHECK: gpu.launch_func  @fd_kernels::@proj_flat_gemm_direct_m16 {{.*}} dynamic_shared_memory_size %c17408_i32
// The ring kernels follow, all of them.
// CHECK: gpu.launch_func  @fd_kernels::@proj_flat_gemm_mma_m8
// CHECK: gpu.launch_func  @fd_kernels::@proj_flat_gemm_mma_m64
// CHECK-LABEL: func.func @masked_bf16
// CHECK: gpu.launch_func  @fd_kernels::@masked_bf16_flat_gemm_gemv
// CHECK: gpu.launch_func  @fd_kernels::@masked_bf16_flat_gemm_direct_m8 blocks in (%c768, %c1, %{{.*}}) threads in (%c512,

// CHECK-LABEL: gpu.func @proj_flat_gemm_direct_m8(%arg0: memref<?x4096xf16> {fd.binding = "x"}, %arg1: memref<4096x4096xf16> {fd.binding = "w"}, %arg2: memref<?x4096xf16> {fd.binding = "y"}) kernel attributes {fd.dynamic_smem = 9216 : i64, fd.entry = "proj", fd.grid = ["256", "1", "MT"], fd.m_tile = 8 : i64, fd.role = "direct_m8", known_block_size = array<i32: 512, 1, 1>}
// CHECK: memref.assume_alignment %arg0, 16
// CHECK-NEXT: memref.assume_alignment %arg1, 16
// CHECK-NEXT: memref.assume_alignment %arg2, 16
// Batch row g reads row m0 when it is at or past M (zeroed below).
// CHECK: %[[XOK:.*]] = arith.cmpi ult, %{{.*}}, %{{.*}} : index
// CHECK: %[[XROW:.*]] = arith.select %[[XOK]], %{{.*}}, %{{.*}} : index
// K = 4096 = 128 steps of 32, 16 warps x 2 per iteration: 4 iterations, no
// masking; no shared memory, cp.async or barrier inside the loop.
// CHECK: scf.for %{{.*}} = %c0 to %c4 step %c1 iter_args(%[[ACC:.*]] = %{{.*}}) -> (vector<2x2xf32>) {
// CHECK-NOT: gpu.barrier
// CHECK-NOT: nvgpu.device_async_copy
// CHECK-NOT: gpu.dynamic_shared_memory
// CHECK-NOT: arith.cmpi
// All loads of the iteration first: W rows g and g + 8, then x, per step.
// CHECK: %[[W0:.*]] = vector.load %{{.*}}[%[[R0:.*]], %[[K:.*]]] {alignment = 16 : i64} : memref<4096x4096xf16>, vector<8xf16>
// CHECK-NEXT: %[[W1:.*]] = vector.load %{{.*}}[%[[R1:.*]], %[[K]]] {alignment = 16 : i64} : memref<4096x4096xf16>, vector<8xf16>
// CHECK-NEXT: %[[X:.*]] = vector.load %{{.*}}[%[[XROW]], %[[K]]] {alignment = 16 : i64} : memref<?x4096xf16>, vector<8xf16>
// CHECK-NEXT: %[[K2:.*]] = arith.addi %[[K]], %c32
// CHECK-NEXT: vector.load %{{.*}}[%[[R0]], %[[K2]]]
// CHECK-NEXT: vector.load %{{.*}}[%[[R1]], %[[K2]]]
// CHECK-NEXT: vector.load %{{.*}}[%[[XROW]], %[[K2]]]
// CHECK-NEXT: %[[XZ:.*]] = arith.select %[[XOK]], %[[X]], %{{.*}} : vector<8xf16>
// MMA j = 0 of step 0: A = pairs (0, 1) of rows g, g + 8, then (2, 3); B =
// pairs (0, 1), (2, 3) of x (DirectFragments.h: the same k renaming).
// CHECK-NEXT: %[[A0:.*]] = vector.shuffle %[[W0]], %[[W0]] [0, 1]
// CHECK-NEXT: %[[A1:.*]] = vector.shuffle %[[W1]], %[[W1]] [0, 1]
// CHECK-NEXT: %[[A2:.*]] = vector.shuffle %[[W0]], %[[W0]] [2, 3]
// CHECK-NEXT: %[[A3:.*]] = vector.shuffle %[[W1]], %[[W1]] [2, 3]
// CHECK-NEXT: %[[E0:.*]]:2 = vector.to_elements %[[A0]]
// CHECK-NEXT: %[[E1:.*]]:2 = vector.to_elements %[[A1]]
// CHECK-NEXT: %[[E2:.*]]:2 = vector.to_elements %[[A2]]
// CHECK-NEXT: %[[E3:.*]]:2 = vector.to_elements %[[A3]]
// CHECK-NEXT: %[[AF:.*]] = vector.from_elements %[[E0]]#0, %[[E0]]#1, %[[E1]]#0, %[[E1]]#1, %[[E2]]#0, %[[E2]]#1, %[[E3]]#0, %[[E3]]#1 : vector<4x2xf16>
// CHECK-NEXT: %[[B0:.*]] = vector.shuffle %[[XZ]], %[[XZ]] [0, 1]
// CHECK-NEXT: %[[B1:.*]] = vector.shuffle %[[XZ]], %[[XZ]] [2, 3]
// CHECK-NEXT: %[[F0:.*]]:2 = vector.to_elements %[[B0]]
// CHECK-NEXT: %[[F1:.*]]:2 = vector.to_elements %[[B1]]
// CHECK-NEXT: %[[BF:.*]] = vector.from_elements %[[F0]]#0, %[[F0]]#1, %[[F1]]#0, %[[F1]]#1 : vector<2x2xf16>
// CHECK-NEXT: %[[D0:.*]] = nvgpu.mma.sync(%[[AF]], %[[BF]], %[[ACC]]) {mmaShape = [16, 8, 16]} : (vector<4x2xf16>, vector<2x2xf16>, vector<2x2xf32>) -> vector<2x2xf32>
// MMA j = 1 takes pairs (4, 5) and (6, 7).
// CHECK: vector.shuffle %[[W0]], %[[W0]] [4, 5]
// CHECK: vector.shuffle %[[W1]], %[[W1]] [6, 7]
// CHECK: vector.shuffle %[[XZ]], %[[XZ]] [6, 7]
// CHECK: nvgpu.mma.sync({{.*}}, {{.*}}, %[[D0]])
// CHECK: nvgpu.mma.sync
// CHECK: %[[LAST:.*]] = nvgpu.mma.sync
// CHECK-NEXT: scf.yield %[[LAST]]
// The split-k reduction: each warp's C fragment into [warp][row][col],
// one barrier, then summed over the 16 warps and stored for rows < M.
// CHECK: %[[SMEM:.*]] = gpu.dynamic_shared_memory
// CHECK: %[[RED:.*]] = memref.view %[[SMEM]][%c0][] {{.*}} to memref<16x16x9xf32, #gpu.address_space<workgroup>>
// CHECK-COUNT-4: memref.store %{{.*}}, %[[RED]]
// CHECK-NEXT: gpu.barrier
// CHECK: scf.for
// CHECK: memref.load %[[RED]][%c15,
// CHECK: arith.cmpi ult
// CHECK: memref.store {{.*}} : memref<?x4096xf16>
// CHECK: gpu.return
// Two n-tiles: 2 x loads and 4 MMAs per 32-wide step.
// CHECK-LABEL: gpu.func @proj_flat_gemm_direct_m16
// CHECK: scf.for {{.*}} -> (vector<2x2xf32>, vector<2x2xf32>)
// CHECK-COUNT-4: nvgpu.mma.sync
// CHECK: memref<16x16x17xf32, #gpu.address_space<workgroup>>
// CHECK: fd.role = "mma_m8"
// CHECK: fd.role = "mma_m64"

// Defaults: N / 16 = 256 CTAs of 4 warps (auto split-k: 1024 warps), one
// direct tile (16 rows). Iteration 0's 16 pieces (W rows g, g + 8, x rows
// g, g + 8, for 4 steps) are loaded before the loop; the loop (8
// iterations - 1 peeled) carries the pieces and loads iteration it + 1's
// before the MMAs of iteration it, which use the carried ones.
// PF-LABEL: func.func @proj
// PF: gpu.launch_func  @fd_kernels::@proj_flat_gemm_direct_m16 blocks in (%c256, %c1, %{{.*}}) threads in (%c128, %c1, %c1)  dynamic_shared_memory_size %c4352_i32
// PF-NOT: direct_m8
// The auto split-k also bounds the K one warp walks (2048) for tiles of
// up to 32 rows: FFN-down's K = 11008 gets 8 warps per CTA (256 threads;
// 11008 / 8 = 1376 per warp) where the warp count alone (256 CTAs x 4 =
// 1024 warps) would give 4, as @proj (K = 4096) keeps. direct_m64 keeps 4
// (one CTA per SM at 8 warps: two waves).
// PF-LABEL: func.func @ffn_down
// PF: gpu.launch_func  @fd_kernels::@ffn_down_flat_gemm_direct_m16 blocks in (%c256, %c1, %{{.*}}) threads in (%c256, %c1, %c1)
// PF: gpu.launch_func  @fd_kernels::@ffn_down_flat_gemm_direct_m32 blocks in (%c256, %c1, %{{.*}}) threads in (%c256, %c1, %c1)
// PF: gpu.launch_func  @fd_kernels::@ffn_down_flat_gemm_direct_m64 blocks in (%c256, %c1, %{{.*}}) threads in (%c128, %c1, %c1)
// PF-LABEL: gpu.func @proj_flat_gemm_direct_m16
// PF-NOT: nvvm.prefetch
// PF: %[[P0:.*]] = vector.load {{.*}} : memref<4096x4096xf16>, vector<8xf16>
// PF-COUNT-15: vector.load
// PF-NOT: nvgpu.mma.sync
// PF: scf.for %{{.*}} = %c0 to %c7 step %c1 iter_args(%[[A0:.*]] = %{{.*}}, %[[A1:.*]] = %{{.*}}, %[[C0:.*]] = %[[P0]], {{.*}}) -> (vector<2x2xf32>, vector<2x2xf32>, vector<8xf16>,
// PF-COUNT-16: vector.load
// PF-NOT: vector.load
// PF: vector.shuffle %[[C0]], %[[C0]] [0, 1]
// PF: nvgpu.mma.sync({{.*}}, {{.*}}, %[[A0]])
// PF: nvgpu.mma.sync({{.*}}, {{.*}}, %[[A1]])
// PF: scf.yield
// The peeled last iteration: MMAs only.
// PF-NOT: vector.load
// PF-COUNT-16: nvgpu.mma.sync
// PF-NOT: vector.load
// PF: memref<4x16x17xf32, #gpu.address_space<workgroup>>
// PF: gpu.barrier
// PF: gpu.return

// An explicit split-k: 2 warps.
// SPLIT-LABEL: func.func @proj
// SPLIT: gpu.launch_func  @fd_kernels::@proj_flat_gemm_direct_m8 {{.*}} threads in (%c64{{.*}}
// SPLIT-NOT: @proj_flat_gemm_direct_m16
// SPLIT: gpu.launch_func  @fd_kernels::@proj_flat_gemm_mma_m8
// SPLIT-LABEL: gpu.func @proj_flat_gemm_direct_m8
// SPLIT: memref<2x16x9xf32, #gpu.address_space<workgroup>>
// OFF-NOT: direct_m
func.func @proj(%x: memref<?x4096xf16>, %w: memref<4096x4096xf16>,
                %y: memref<?x4096xf16>) {
  fd.flat_gemm ins(%x, %w : memref<?x4096xf16>, memref<4096x4096xf16>)
      outs(%y : memref<?x4096xf16>)
  return
}

// K = 4224 = 132 steps: 16 warps x 2 steps per iteration, 5 iterations
// cover 160, so steps past K are masked: the column clamped to 0, W and x
// zeroed. bf16 goes through nvvm.mma.sync; bias added in f32.
// CHECK-LABEL: gpu.func @masked_bf16_flat_gemm_direct_m8(%arg0: memref<?x4224xbf16> {fd.binding = "x"}, %arg1: memref<12288x4224xbf16> {fd.binding = "w"}, %arg2: memref<12288xbf16> {fd.binding = "bias"}, %arg3: memref<?x12288xf32> {fd.binding = "y"}) kernel attributes {fd.dynamic_smem = 9216 : i64, fd.entry = "masked_bf16", fd.grid = ["768", "1", "MT"], fd.m_tile = 8 : i64, fd.role = "direct_m8"
// CHECK: scf.for %{{.*}} = %c0 to %c5 step %c1
// CHECK: %[[COL:.*]] = arith.addi
// CHECK-NEXT: %[[IN:.*]] = arith.cmpi ult, %[[COL]], %c4224 : index
// CHECK-NEXT: %[[CL:.*]] = arith.select %[[IN]], %[[COL]], %c0 : index
// CHECK-NEXT: %[[MW:.*]] = vector.load %{{.*}}[%{{.*}}, %[[CL]]] {alignment = 16 : i64} : memref<12288x4224xbf16>, vector<8xbf16>
// CHECK: arith.select %[[IN]], %[[MW]], %{{.*}} : vector<8xbf16>
// CHECK: %[[XIN:.*]] = arith.andi %{{.*}}, %[[IN]] : i1
// CHECK-NEXT: arith.select %[[XIN]], %{{.*}}, %{{.*}} : vector<8xbf16>
// CHECK: nvvm.mma.sync {{.*}} multiplicandAPtxType = #nvvm.mma_type<bf16>
// CHECK: memref.load %{{.*}} : memref<12288xbf16>
// CHECK: memref.store %{{.*}} : memref<?x12288xf32>
func.func @masked_bf16(%x: memref<?x4224xbf16>, %w: memref<12288x4224xbf16>,
                       %b: memref<12288xbf16>, %y: memref<?x12288xf32>) {
  fd.flat_gemm ins(%x, %w : memref<?x4224xbf16>, memref<12288x4224xbf16>)
      bias(%b : memref<12288xbf16>) outs(%y : memref<?x12288xf32>)
  return
}

func.func @ffn_down(%x: memref<?x11008xf16>, %w: memref<4096x11008xf16>,
                    %y: memref<?x4096xf16>) {
  fd.flat_gemm ins(%x, %w : memref<?x11008xf16>, memref<4096x11008xf16>)
      outs(%y : memref<?x4096xf16>)
  return
}
