// RUN: fd-opt %s --pass-pipeline='builtin.module(func.func(fd-tile-flat-gemm{direct-pad-m=8,16 direct-unroll=2 direct-prefetch=false direct-split-k=16 dispatch=1:gemv,8:direct_m8,16:direct_m16,mma_m32}))' | FileCheck %s
// RUN: fd-opt %s --pass-pipeline='builtin.module(func.func(fd-tile-flat-gemm))' | FileCheck %s --check-prefix=PF
// RUN: fd-opt %s --pass-pipeline='builtin.module(func.func(fd-tile-flat-gemm{direct-split-k=2 direct-pad-m=8}))' | FileCheck %s --check-prefix=SPLIT
// RUN: fd-opt %s --pass-pipeline='builtin.module(func.func(fd-tile-flat-gemm{direct=false}))' | FileCheck %s --check-prefix=OFF

// The register-direct kernels fd-tile-flat-gemm chooses
// (test/Conversion/FlatGemmToGPU/direct.mlir checks what they become).
// Host dispatch from the rules given: GEMV for M <= 1, the direct tiles up
// to their sizes, mma_m32 beyond; the other ring tiles only through tables
// (M <= 0). Kernels in the bundle's order: GEMV, direct, ring.
// CHECK-LABEL: func.func @proj
// CHECK-SAME: fd.dispatch = [{kernel = "gemv", max_m = 1 : i64}, {kernel = "direct_m8", max_m = 8 : i64}, {kernel = "direct_m16", max_m = 16 : i64}, {kernel = "mma_m32"}]
// CHECK: %[[M:.*]] = memref.dim %arg0, %c0
// CHECK: arith.cmpi ule, %[[M]], %c1
// CHECK-NEXT: scf.if
// CHECK-NEXT: kind = "gemv"
// CHECK: arith.cmpi ugt, %[[M]], %c1
// CHECK: arith.cmpi ule, %[[M]], %c8
// CHECK: fd.flat_gemm {{.*}} {fd.flat_gemm.kernel = {kind = "direct", m_tile = 8 : i64, prefetch = false, split_k = 16 : i64, unroll = 2 : i64}}
// CHECK: arith.cmpi ule, %[[M]], %c16
// CHECK: fd.flat_gemm {{.*}} {fd.flat_gemm.kernel = {kind = "direct", m_tile = 16 : i64, prefetch = false, split_k = 16 : i64, unroll = 2 : i64}}
// CHECK: arith.cmpi ule, %[[M]], %c0
// CHECK-NEXT: scf.if
// CHECK-NEXT: kind = "mma", m_tile = 8
// CHECK: arith.cmpi ule, %[[M]], %c0
// CHECK-NEXT: scf.if
// CHECK-NEXT: kind = "mma", m_tile = 16
// CHECK: arith.cmpi ugt, %[[M]], %c16
// CHECK-NEXT: scf.if
// CHECK-NEXT: kind = "mma", m_tile = 32
// CHECK: } else {
// CHECK-NEXT: kind = "mma", m_tile = 64

// Defaults: direct_m16, m32, m64 (no m8: docs/perf.md), double buffered,
// the unroll lowered for wide tiles (4, 2, 1) and the auto split-k: 256
// CTAs x 4 warps = 1024 warps for N = 4096.
// PF-LABEL: func.func @proj
// PF-NOT: m_tile = 8 : i64, prefetch
// PF: kind = "direct", m_tile = 16 : i64, prefetch = true, split_k = 4 : i64, unroll = 4 : i64
// PF: kind = "direct", m_tile = 32 : i64, prefetch = true, split_k = 4 : i64, unroll = 2 : i64
// PF: kind = "direct", m_tile = 64 : i64, prefetch = true, split_k = 4 : i64, unroll = 1 : i64
// PF: kind = "mma", m_tile = 8
// An explicit split-k: 2 warps, one direct tile.
// SPLIT-LABEL: func.func @proj
// SPLIT: kind = "direct", m_tile = 8 : i64, prefetch = true, split_k = 2 : i64
// SPLIT-NOT: kind = "direct"
// SPLIT: kind = "mma", m_tile = 8
// OFF-NOT: kind = "direct"
func.func @proj(%x: memref<?x4096xf16>, %w: memref<4096x4096xf16>,
                %y: memref<?x4096xf16>) {
  fd.flat_gemm ins(%x, %w : memref<?x4096xf16>, memref<4096x4096xf16>)
      outs(%y : memref<?x4096xf16>)
  return
}

// The auto split-k also bounds the K one warp walks (2048) for tiles of
// up to 32 rows: FFN-down's K = 11008 gets 8 warps per CTA (11008 / 8 =
// 1376 per warp) where the warp count alone (256 CTAs x 4 = 1024 warps)
// would give 4, as @proj (K = 4096) keeps. direct_m64 keeps 4 (one CTA per
// SM at 8 warps: two waves).
// PF-LABEL: func.func @ffn_down
// PF: kind = "direct", m_tile = 16 : i64, prefetch = true, split_k = 8 : i64
// PF: kind = "direct", m_tile = 32 : i64, prefetch = true, split_k = 8 : i64
// PF: kind = "direct", m_tile = 64 : i64, prefetch = true, split_k = 4 : i64
func.func @ffn_down(%x: memref<?x11008xf16>, %w: memref<4096x11008xf16>,
                    %y: memref<?x4096xf16>) {
  fd.flat_gemm ins(%x, %w : memref<?x11008xf16>, memref<4096x11008xf16>)
      outs(%y : memref<?x4096xf16>)
  return
}
