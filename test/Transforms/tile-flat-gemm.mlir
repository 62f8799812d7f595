// RUN: fd-opt %s --pass-pipeline='builtin.module(func.func(fd-tile-flat-gemm{pad-m=8 stages=3 tile-n=32 tile-k=128 split-k=4 direct=false}),canonicalize,cse)' | FileCheck %s
// RUN: fd-opt %s --pass-pipeline='builtin.module(func.func(fd-tile-flat-gemm{pad-m=8,16 stages=2 gemv=false direct=false}))' | FileCheck %s --check-prefix=TWO
// RUN: fd-opt %s --pass-pipeline='builtin.module(func.func(fd-tile-flat-gemm{direct=false}))' | FileCheck %s --check-prefix=FIT
// RUN: fd-opt %s --pass-pipeline='builtin.module(func.func(fd-tile-flat-gemm{only-dispatched=true}))' | FileCheck %s --check-prefix=ONLY
// A second run leaves the described ops alone.
// RUN: fd-opt %s --pass-pipeline='builtin.module(func.func(fd-tile-flat-gemm{direct=false},fd-tile-flat-gemm{direct=false}))' | FileCheck %s --check-prefix=FIT

// The pass only decides: the kernels (test/Conversion/FlatGemmToGPU builds
// them) and the host dispatch on M. Nothing for M = 0; the one ring tile
// (pad-to-8, its K tile the largest multiple of 16 * split-k up to tile-k
// dividing K, 128, with the 3 ring stages asked for) is the default rule
// for every M; the GEMV, which no rule names, sits behind M <= 0 (never
// true inside M > 0: reached through dispatch tables only). The rules go
// on the function for the bundle writer.
// CHECK-LABEL: func.func @proj
// CHECK-SAME: fd.dispatch = [{kernel = "mma_m8"}]
// CHECK: %[[M:.*]] = memref.dim %arg0, %c0
// CHECK: %[[NE:.*]] = arith.cmpi ugt, %[[M]], %c0
// CHECK: scf.if %[[NE]] {
// CHECK: %[[NEVER:.*]] = arith.cmpi ule, %[[M]], %c0
// CHECK: scf.if %[[NEVER]] {
// CHECK-NEXT: fd.flat_gemm ins(%arg0, %arg1 : memref<?x4096xf16>, memref<4096x4096xf16>) outs(%arg2 : memref<?x4096xf16>) {fd.flat_gemm.kernel = {kind = "gemv", unroll = 4 : i64, warps = 4 : i64}}
// CHECK-NEXT: } else {
// CHECK-NEXT: fd.flat_gemm ins(%arg0, %arg1 : memref<?x4096xf16>, memref<4096x4096xf16>) outs(%arg2 : memref<?x4096xf16>) {fd.flat_gemm.kernel = {kind = "mma", m_tile = 8 : i64, split_k = 4 : i64, stages = 3 : i64, tile_k = 128 : i64, tile_n = 32 : i64}}
// CHECK-NEXT: }
// CHECK-NEXT: }
// CHECK-NOT: fd.flat_gemm ins
// CHECK: return

// Two stages, two tensor-core kernels: M <= 8, then the rest; no GEMV.
// only-dispatched: the kernels of the default rules and no others (no GEMV,
// no direct tiles), in the same chain.
// ONLY-LABEL: func.func @proj
// ONLY-SAME: fd.dispatch = [{kernel = "mma_m8", max_m = 8 : i64}, {kernel = "mma_m16", max_m = 16 : i64}, {kernel = "mma_m32", max_m = 32 : i64}, {kernel = "mma_m64"}]
// ONLY-NOT: kind = "gemv"
// ONLY-NOT: kind = "direct"
// ONLY: kind = "mma", m_tile = 8 :
// ONLY-NOT: kind = "direct"
// ONLY: kind = "mma", m_tile = 16 :
// ONLY: kind = "mma", m_tile = 32 :
// ONLY-NOT: kind = "direct"
// ONLY: } else {
// ONLY-NEXT: fd.flat_gemm {{.*}}kind = "mma", m_tile = 64 :
// ONLY-LABEL: func.func @fit

// TWO-LABEL: func.func @proj
// TWO-SAME: fd.dispatch = [{kernel = "mma_m8", max_m = 8 : i64}, {kernel = "mma_m16"}]
// TWO-NOT: kind = "gemv"
// TWO: arith.cmpi ule, %{{.*}}, %c8
// TWO: kind = "mma", m_tile = 8 : i64, split_k = 4 : i64, stages = 2 : i64, tile_k = 256 : i64
// TWO: } else {
// TWO: kind = "mma", m_tile = 16 : i64, split_k = 4 : i64, stages = 2 : i64, tile_k = 256 : i64
func.func @proj(%x: memref<?x4096xf16>, %w: memref<4096x4096xf16>,
                %y: memref<?x4096xf16>) {
  fd.flat_gemm ins(%x, %w : memref<?x4096xf16>, memref<4096x4096xf16>)
      outs(%y : memref<?x4096xf16>)
  return
}

// bf16 with a bias: the same decisions, the bias stays an operand of every
// copy.
// CHECK-LABEL: func.func @down_bf16
// CHECK: fd.flat_gemm {{.*}} bias(%arg2 : memref<4096xbf16>) outs(%arg3 : memref<?x4096xf32>) {fd.flat_gemm.kernel = {kind = "gemv"
// CHECK: fd.flat_gemm {{.*}} bias(%arg2 : memref<4096xbf16>) outs(%arg3 : memref<?x4096xf32>) {fd.flat_gemm.kernel = {kind = "mma", m_tile = 8
func.func @down_bf16(%x: memref<?x11008xbf16>, %w: memref<4096x11008xbf16>,
                     %b: memref<4096xbf16>, %y: memref<?x4096xf32>) {
  fd.flat_gemm ins(%x, %w : memref<?x11008xbf16>, memref<4096x11008xbf16>)
      bias(%b : memref<4096xbf16>) outs(%y : memref<?x4096xf32>)
  return
}

// The defaults fit the shape. K = 4096: 6 ring slots of 256-wide K tiles,
// except for the 64-row variant, whose 6 slots would need 297 KB: it gets 4.
// The default rules (measured on the H200): mma_m8 up to 8, mma_m16 up to
// 16, mma_m32 up to 32, the wide mma_m64 beyond; the GEMV only through
// tables. Kernels in
// the bundle's order: GEMV, then the ring tiles by size.
// FIT-LABEL: func.func @proj
// FIT-SAME: fd.dispatch = [{kernel = "mma_m8", max_m = 8 : i64}, {kernel = "mma_m16", max_m = 16 : i64}, {kernel = "mma_m32", max_m = 32 : i64}, {kernel = "mma_m64"}]
// FIT: arith.cmpi ule, %{{.*}}, %c0
// FIT: kind = "gemv"
// FIT: arith.cmpi ule, %{{.*}}, %c8
// FIT: kind = "mma", m_tile = 8 : i64, split_k = 4 : i64, stages = 6 : i64, tile_k = 256 : i64, tile_n = 32 : i64
// FIT: arith.cmpi ugt, %{{.*}}, %c8
// FIT: arith.cmpi ule, %{{.*}}, %c16
// FIT: arith.andi
// FIT: kind = "mma", m_tile = 16 : i64, split_k = 4 : i64, stages = 6 : i64, tile_k = 256 : i64, tile_n = 32 : i64
// FIT: arith.cmpi ugt, %{{.*}}, %c16
// FIT: kind = "mma", m_tile = 32 : i64, split_k = 4 : i64, stages = 6 : i64, tile_k = 256 : i64, tile_n = 32 : i64
// From wide-from = 64 the ring tiles are wide: a warp per 32 x 32 piece,
// 128-wide K tiles, and (wide-tile-n = 0) the rows and cluster giving the
// most CTAs of one wave: for N = 4096, 64 rows in clusters of 2 (128 CTAs).
// FIT: } else {
// FIT-NEXT: fd.flat_gemm {{.*}}cluster_k = 2 : i64, kind = "mma", m_tile = 64 : i64, split_k = 1 : i64, stages = 6 : i64, tile_k = 128 : i64, tile_n = 64 : i64, warps_m = 2 : i64, warps_n = 2 : i64}}
// K = 4224 = 33 * 128: the K tile is 128, the largest multiple of
// 16 * split-k up to 256 that divides K.
// FIT-LABEL: func.func @fit
// FIT: kind = "mma", m_tile = 8 : i64, split_k = 4 : i64, stages = 6 : i64, tile_k = 128 : i64
func.func @fit(%x: memref<?x4224xf16>, %w: memref<4096x4224xf16>,
               %y: memref<?x4096xf16>) {
  fd.flat_gemm ins(%x, %w : memref<?x4224xf16>, memref<4096x4224xf16>)
      outs(%y : memref<?x4096xf16>)
  return
}
