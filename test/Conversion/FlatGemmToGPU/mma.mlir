// RUN: fd-opt %s --pass-pipeline='builtin.module(func.func(fd-tile-flat-gemm{pad-m=8 stages=3 tile-n=32 tile-k=128 split-k=4 direct=false dispatch=1:gemv,mma_m8}),convert-flat-gemm-to-gpu,canonicalize,cse)' | FileCheck %s
// RUN: fd-opt %s --pass-pipeline='builtin.module(func.func(fd-tile-flat-gemm{pad-m=8,16 stages=2 gemv=false direct=false}),convert-flat-gemm-to-gpu)' | FileCheck %s --check-prefix=TWO
// RUN: fd-opt %s --pass-pipeline='builtin.module(func.func(fd-tile-flat-gemm{direct=false wide-from=0}),convert-flat-gemm-to-gpu)' | FileCheck %s --check-prefix=FIT

// The GEMV and the cp.async-pipelined tensor-core kernel (mma_m<P>) built
// from fd-tile-flat-gemm's descriptions (test/Transforms/tile-flat-gemm.mlir
// checks the decisions).

// Host: nothing for M = 0, GEMV for M <= 1 (the rules given), then the pad-to-8
// tensor-core launch with grid.z = ceil(M / 8).
// CHECK-LABEL: func.func @proj
// CHECK: %[[M:.*]] = memref.dim %arg0, %c0
// CHECK: arith.cmpi ugt, %[[M]], %c0
// CHECK: %[[GEMV:.*]] = arith.cmpi ule, %[[M]], %c1
// CHECK: scf.if %[[GEMV]]
// CHECK: gpu.launch_func  @fd_kernels::@proj_flat_gemm_gemv blocks in (%c1024, %[[M]], %c1) threads in (%c128, %c1, %c1)  args(%arg0 : memref<?x4096xf16>, %arg1 : memref<4096x4096xf16>, %arg2 : memref<?x4096xf16>)
// CHECK: %[[MT:.*]] = arith.divui %{{.*}}, %c8
// CHECK: gpu.launch_func  @fd_kernels::@proj_flat_gemm_mma_m8 blocks in (%c128, %c1, %[[MT]]) threads in (%c128, %c1, %c1)  dynamic_shared_memory_size %c32640_i32
// CHECK-NOT: fd.flat_gemm ins
// CHECK-LABEL: func.func @down_bf16
// CHECK-LABEL: func.func @fit

// GEMV: 16-byte loads of W and x, FMA in f32, a butterfly over the warp.
// The arguments are bound by name.
// CHECK-LABEL: gpu.func @proj_flat_gemm_gemv(%arg0: memref<?x4096xf16> {fd.binding = "x"}, %arg1: memref<4096x4096xf16> {fd.binding = "w"}, %arg2: memref<?x4096xf16> {fd.binding = "y"}) kernel attributes {fd.dynamic_smem = 0 : i64, fd.entry = "proj", fd.grid = ["1024", "M"], fd.m_tile = 1 : i64, fd.role = "gemv", known_block_size = array<i32: 128, 1, 1>}
// CHECK: vector.load %{{.*}} {alignment = 16 : i64} : memref<4096x4096xf16>, vector<8xf16>
// CHECK: vector.load %{{.*}} {alignment = 16 : i64} : memref<?x4096xf16>, vector<8xf16>
// CHECK: vector.fma
// CHECK: gpu.shuffle  xor %{{.*}}, %c16_i32, %c32_i32
// CHECK: gpu.return

// The kernel assumes 16-byte alignment of every argument (the cp.async
// copies and vector loads rely on it).
// CHECK-LABEL: gpu.func @proj_flat_gemm_mma_m8(%arg0: memref<?x4096xf16> {fd.binding = "x"}, %arg1: memref<4096x4096xf16> {fd.binding = "w"}, %arg2: memref<?x4096xf16> {fd.binding = "y"}) kernel attributes {fd.dynamic_smem = 32640 : i64, fd.entry = "proj", fd.grid = ["128", "1", "MT"], fd.m_tile = 8 : i64, fd.role = "mma_m8", known_block_size = array<i32: 128, 1, 1>}
// CHECK: memref.assume_alignment %arg0, 16
// CHECK-NEXT: memref.assume_alignment %arg1, 16
// CHECK-NEXT: memref.assume_alignment %arg2, 16
// Three ring slots of W (32 rows of 128 + 8 padding halves: rows 272 bytes
// apart, so ldmatrix's 8 row addresses fall in 8 different bank groups) and
// three of x (8 rows: M padded to 8 only).
// CHECK: %[[SMEM:.*]] = gpu.dynamic_shared_memory
// CHECK: %[[WBUF:.*]] = memref.view %[[SMEM]][%c0][] {{.*}} to memref<3x32x136xf16, #gpu.address_space<workgroup>>
// CHECK: %[[XBUF:.*]] = memref.view %[[SMEM]][%c26112][] {{.*}} to memref<3x8x136xf16, #gpu.address_space<workgroup>>
// Prologue: stages - 1 = 2 K tiles in flight, one group each, into slots 0
// and 1; x rows at or past M copy 0 source bytes (zero fill).
// CHECK: nvgpu.device_async_copy %{{.*}}, %[[WBUF]][%c0, {{.*}}], 8 {bypassL1}
// CHECK: %[[VALID:.*]] = arith.cmpi ult, %{{.*}}, %[[ROWS:.*]] : index
// CHECK: %[[SRC:.*]] = arith.select %[[VALID]], %c8, %c0
// CHECK: nvgpu.device_async_copy %{{.*}}, %[[XBUF]][%c0, {{.*}}], 8, %[[SRC]] {bypassL1}
// CHECK: nvgpu.device_async_create_group
// CHECK-NOT: nvgpu.device_async_wait
// CHECK: nvgpu.device_async_copy %{{.*}}, %[[WBUF]][%c1, {{.*}}], 8 {bypassL1}
// CHECK: %[[G1:.*]] = nvgpu.device_async_create_group
// Steady state over K tiles 0..29 (32 tiles - 2 in the drain): wait until at
// most one group is pending (tile kt has landed), barrier, refill slot
// (kt + 2) % 3 with tile kt + 2, then the MMAs of tile kt from slot kt % 3.
// CHECK: scf.for %[[KT:.*]] = %c0 to %c30 step %c1 iter_args({{.*}}, %[[TOK:.*]] = %[[G1]]) -> (vector<2x2xf32>, vector<2x2xf32>, !nvgpu.device.async.token)
// CHECK-NEXT: nvgpu.device_async_wait %[[TOK]] {numGroups = 1 : i32}
// CHECK-NEXT: gpu.barrier
// CHECK: %[[NEXT:.*]] = arith.addi %[[KT]], %c2
// CHECK: %[[SLOT:.*]] = arith.remui %[[NEXT]], %c3
// CHECK: nvgpu.device_async_copy {{.*}}, %[[WBUF]][%[[SLOT]], {{.*}}], 8 {bypassL1}
// CHECK: %[[NEWTOK:.*]] = nvgpu.device_async_create_group
// CHECK: %[[CUR:.*]] = arith.remui %[[KT]], %c3
// CHECK: nvgpu.ldmatrix %[[WBUF]][%[[CUR]], {{.*}}] {numTiles = 4 : i32, transpose = false} {{.*}} -> vector<4x2xf16>
// CHECK: nvgpu.ldmatrix %[[XBUF]][%[[CUR]], {{.*}}] {numTiles = 2 : i32, transpose = false} {{.*}} -> vector<2x2xf16>
// W on the m = 16 side, x^T (the batch) on the n = 8 side.
// CHECK: nvgpu.mma.sync({{.*}}) {mmaShape = [16, 8, 16]} : (vector<4x2xf16>, vector<2x2xf16>, vector<2x2xf32>) -> vector<2x2xf32>
// CHECK: scf.yield {{.*}}, %[[NEWTOK]]
// Drain: tiles 30 and 31 (slots 0 and 1) with 1 then 0 groups pending.
// CHECK: nvgpu.device_async_wait %{{.*}} {numGroups = 1 : i32}
// CHECK-NEXT: gpu.barrier
// CHECK: nvgpu.ldmatrix %[[WBUF]][%c0,
// CHECK: nvgpu.device_async_wait %{{.*}} {numGroups = 0 : i32}
// CHECK-NEXT: gpu.barrier
// CHECK: nvgpu.ldmatrix %[[WBUF]][%c1,
// CHECK-NOT: nvgpu.device_async_copy
// Cross-warp reduction of the 4 K slices, [warps][32][8 + 1] f32 reusing the
// ring, then masked stores of rows < M.
// CHECK: gpu.barrier
// CHECK: memref.view %[[SMEM]][%c0][] {{.*}} to memref<4x32x9xf32, #gpu.address_space<workgroup>>
// CHECK: scf.for
// CHECK: arith.cmpi ult, %{{.*}}, %[[ROWS]]
// CHECK: arith.truncf %{{.*}} : f32 to f16
// CHECK: memref.store {{.*}} : memref<?x4096xf16>
// CHECK: gpu.return

// Two stages: wait for 0 pending groups in the loop (the refill is issued
// after the wait, so it still overlaps the MMAs); two tensor-core kernels,
// no GEMV.
// TWO-LABEL: func.func @proj
// TWO-NOT: flat_gemm_gemv
// TWO: gpu.launch_func  @fd_kernels::@proj_flat_gemm_mma_m8
// TWO: gpu.launch_func  @fd_kernels::@proj_flat_gemm_mma_m16
// TWO-LABEL: gpu.func @proj_flat_gemm_mma_m8
// TWO: memref<2x32x256xf16, #gpu.address_space<workgroup>>
// TWO: scf.for
// TWO-NEXT: nvgpu.device_async_wait %{{.*}} {numGroups = 0 : i32}
// TWO-LABEL: gpu.func @proj_flat_gemm_mma_m16
// TWO: memref<2x16x256xf16, #gpu.address_space<workgroup>>
func.func @proj(%x: memref<?x4096xf16>, %w: memref<4096x4096xf16>,
                %y: memref<?x4096xf16>) {
  fd.flat_gemm ins(%x, %w : memref<?x4096xf16>, memref<4096x4096xf16>)
      outs(%y : memref<?x4096xf16>)
  return
}

// bf16: nvgpu.mma.sync cannot type bf16 in LLVM 22, so the MMA is
// nvvm.mma.sync on packed i32 fragments; the bias is added in f32.
// CHECK-LABEL: gpu.func @down_bf16_flat_gemm_gemv({{.*}}: memref<4096xbf16> {fd.binding = "bias"}
// CHECK-LABEL: gpu.func @down_bf16_flat_gemm_mma_m8(%arg0: memref<?x11008xbf16> {fd.binding = "x"}, %arg1: memref<4096x11008xbf16> {fd.binding = "w"}, %arg2: memref<4096xbf16> {fd.binding = "bias"}, %arg3: memref<?x4096xf32> {fd.binding = "y"}) kernel attributes {
// CHECK: nvgpu.ldmatrix {{.*}} -> vector<4x2xbf16>
// CHECK: vector.bitcast %{{.*}} : vector<2xbf16> to vector<1xi32>
// CHECK: nvvm.mma.sync A[{{.*}}] B[{{.*}}] C[{{.*}}] {layoutA = #nvvm.mma_layout<row>, layoutB = #nvvm.mma_layout<col>, multiplicandAPtxType = #nvvm.mma_type<bf16>, multiplicandBPtxType = #nvvm.mma_type<bf16>, shape = #nvvm.shape<m = 16, n = 8, k = 16>}
// CHECK: memref.load %{{.*}} : memref<4096xbf16>
// CHECK: arith.extf %{{.*}} : bf16 to f32
// CHECK: memref.store %{{.*}} : memref<?x4096xf32>
func.func @down_bf16(%x: memref<?x11008xbf16>, %w: memref<4096x11008xbf16>,
                     %b: memref<4096xbf16>, %y: memref<?x4096xf32>) {
  fd.flat_gemm ins(%x, %w : memref<?x11008xbf16>, memref<4096x11008xbf16>)
      bias(%b : memref<4096xbf16>) outs(%y : memref<?x4096xf32>)
  return
}

// The narrow tiles (wide-from=0; mma-wide.mlir has the wide ones) fit the
// shape. K = 4096: 6 ring slots of 256-wide K tiles,
// except for the 64-row variant, whose 6 slots would need 297 KB: it gets 4.
// Rows of whole 8-chunk warp slices are dense and XOR-swizzled (256), the
// m64 kernel's (at the register limit) and 32-wide slices' padded (264, 136).
// FIT-LABEL: gpu.func @proj_flat_gemm_mma_m8
// FIT: memref<6x32x256xf16, #gpu.address_space<workgroup>>
// FIT: arith.xori
// FIT-LABEL: gpu.func @proj_flat_gemm_mma_m16
// FIT: memref<6x16x256xf16, #gpu.address_space<workgroup>>
// FIT-LABEL: gpu.func @proj_flat_gemm_mma_m32
// FIT: memref<6x32x256xf16, #gpu.address_space<workgroup>>
// FIT-LABEL: gpu.func @proj_flat_gemm_mma_m64
// FIT: memref<4x32x264xf16, #gpu.address_space<workgroup>>
// FIT: memref<4x64x264xf16, #gpu.address_space<workgroup>>
// K = 4224 = 33 * 128: the K tile is 128, the largest multiple of
// 16 * split-k up to 256 that divides K.
// FIT-LABEL: gpu.func @fit_flat_gemm_mma_m8
// FIT: memref<6x32x136xf16, #gpu.address_space<workgroup>>
func.func @fit(%x: memref<?x4224xf16>, %w: memref<4096x4224xf16>,
               %y: memref<?x4096xf16>) {
  fd.flat_gemm ins(%x, %w : memref<?x4224xf16>, memref<4096x4224xf16>)
      outs(%y : memref<?x4096xf16>)
  return
}
