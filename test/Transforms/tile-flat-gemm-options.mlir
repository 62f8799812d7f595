// RUN: not fd-opt %s --fd-tile-flat-gemm="stages=1" 2>&1 | FileCheck %s --check-prefix=STAGES
// RUN: not fd-opt %s --fd-tile-flat-gemm="split-k=0" 2>&1 | FileCheck %s --check-prefix=SPLITK
// RUN: not fd-opt %s --fd-tile-flat-gemm="pad-m=8,12" 2>&1 | FileCheck %s --check-prefix=PADM
// RUN: not fd-opt %s --fd-tile-flat-gemm="m1=4 m2=2" 2>&1 | FileCheck %s --check-prefix=THRESH
// RUN: not fd-opt %s --fd-tile-flat-gemm="gemv-warps=3" 2>&1 | FileCheck %s --check-prefix=GEMV
// RUN: not fd-opt %s --fd-tile-flat-gemm="tile-k=64" 2>&1 | FileCheck %s --check-prefix=COPIES
// RUN: not fd-opt %s --fd-tile-flat-gemm="pad-m=256 tile-k=1024" 2>&1 | FileCheck %s --check-prefix=SMEM
// RUN: not fd-opt %s --fd-tile-flat-gemm="direct-pad-m=8,48" 2>&1 | FileCheck %s --check-prefix=DPADM
// RUN: not fd-opt %s --fd-tile-flat-gemm="direct-split-k=-1" 2>&1 | FileCheck %s --check-prefix=DSPLIT
// RUN: not fd-opt %s --fd-tile-flat-gemm="direct-split-k=33" 2>&1 | FileCheck %s --check-prefix=DSPLIT33
// RUN: not fd-opt %s --fd-tile-flat-gemm="direct-unroll=0" 2>&1 | FileCheck %s --check-prefix=DUNROLL
// RUN: not fd-opt %s --fd-tile-flat-gemm="direct-unroll=17" 2>&1 | FileCheck %s --check-prefix=DUNROLL17
// With the direct variants off, their options are still checked.
// RUN: not fd-opt %s --fd-tile-flat-gemm="direct=false direct-unroll=0" 2>&1 | FileCheck %s --check-prefix=DUNROLL

// Bad option values are reported on the op, with the value.
// STAGES: error: 'fd.flat_gemm' op fd-tile-flat-gemm: stages must be at least 2, got 1
// SPLITK: error: 'fd.flat_gemm' op fd-tile-flat-gemm: split-k must be in [1, 32], got 0
// PADM: error: 'fd.flat_gemm' op fd-tile-flat-gemm: pad-m value 12 must be a positive multiple of 8
// THRESH: error: 'fd.flat_gemm' op fd-tile-flat-gemm: thresholds must satisfy 0 <= m1 <= m2
// GEMV: error: 'fd.flat_gemm' op fd-tile-flat-gemm: gemv-warps (3) must be in [1, 32] and divide N
// An 8 x 64 x tile is 64 16-byte copies, fewer than the 128 threads.
// COPIES: error: 'fd.flat_gemm' op fd-tile-flat-gemm: no K tile fits: it must be a multiple of 16 * split-k = 64, at most tile-k (64), divide K = 4096 and give every pad-m a whole number of 16-byte x copies per thread
// SMEM: error: 'fd.flat_gemm' op fd-tile-flat-gemm: pad-m 256 needs {{[0-9]+}} bytes of shared memory with 2 stages, more than the 227 KB of sm_90
// DPADM: error: 'fd.flat_gemm' op fd-tile-flat-gemm: direct-pad-m value 48 must be 8, 16, 32 or 64
// DSPLIT: error: 'fd.flat_gemm' op fd-tile-flat-gemm: direct-split-k must be in [0, 32] (0: auto), got -1
// DSPLIT33: error: 'fd.flat_gemm' op fd-tile-flat-gemm: direct-split-k must be in [0, 32] (0: auto), got 33
// DUNROLL: error: 'fd.flat_gemm' op fd-tile-flat-gemm: direct-unroll must be in [1, 16], got 0
// DUNROLL17: error: 'fd.flat_gemm' op fd-tile-flat-gemm: direct-unroll must be in [1, 16], got 17
func.func @proj(%x: memref<?x4096xf16>, %w: memref<4096x4096xf16>, %y: memref<?x4096xf16>) {
  fd.flat_gemm ins(%x, %w : memref<?x4096xf16>, memref<4096x4096xf16>) outs(%y : memref<?x4096xf16>)
  return
}
