// RUN: not fd-opt %s --fd-tile-flat-gemm="stages=1" 2>&1 | FileCheck %s --check-prefix=STAGES
// RUN: not fd-opt %s --fd-tile-flat-gemm="stages=33" 2>&1 | FileCheck %s --check-prefix=STAGES33
// RUN: not fd-opt %s --fd-tile-flat-gemm="split-k=0" 2>&1 | FileCheck %s --check-prefix=SPLITK
// RUN: not fd-opt %s --fd-tile-flat-gemm="split-k=576460752303423488" 2>&1 | FileCheck %s --check-prefix=SPLITKBIG
// RUN: not fd-opt %s --fd-tile-flat-gemm="pad-m=8,12" 2>&1 | FileCheck %s --check-prefix=PADM
// RUN: not fd-opt %s --fd-tile-flat-gemm="pad-m=8,264" 2>&1 | FileCheck %s --check-prefix=PADMBIG
// RUN: not fd-opt %s --fd-tile-flat-gemm="dispatch=16:mma_m16,8:mma_m8" 2>&1 | FileCheck %s --check-prefix=ORDER
// RUN: not fd-opt %s --fd-tile-flat-gemm="dispatch=0:mma_m8" 2>&1 | FileCheck %s --check-prefix=BOUND0
// RUN: not fd-opt %s --fd-tile-flat-gemm="dispatch=2147483648:mma_m8" 2>&1 | FileCheck %s --check-prefix=BOUNDBIG
// RUN: not fd-opt %s --fd-tile-flat-gemm="dispatch=x:mma_m8" 2>&1 | FileCheck %s --check-prefix=BOUNDX
// RUN: not fd-opt %s --fd-tile-flat-gemm="dispatch=mma_m8,mma_m16" 2>&1 | FileCheck %s --check-prefix=BARE
// RUN: not fd-opt %s --fd-tile-flat-gemm="dispatch=8:tiles" 2>&1 | FileCheck %s --check-prefix=KIND
// RUN: not fd-opt %s --fd-tile-flat-gemm="dispatch=8:mma_m128" 2>&1 | FileCheck %s --check-prefix=ABSENT
// RUN: not fd-opt %s --fd-tile-flat-gemm="dispatch=8:mma_m8,mma_m8" 2>&1 | FileCheck %s --check-prefix=TWICE
// RUN: not fd-opt %s --fd-tile-flat-gemm="gemv=false dispatch=1:gemv,mma_m8" 2>&1 | FileCheck %s --check-prefix=NOGEMV
// RUN: not fd-opt %s --fd-tile-flat-gemm="gemv-warps=3" 2>&1 | FileCheck %s --check-prefix=GEMV
// RUN: not fd-opt %s --fd-tile-flat-gemm="gemv-warps=33" 2>&1 | FileCheck %s --check-prefix=GEMV33
// RUN: not fd-opt %s --fd-tile-flat-gemm="gemv-unroll=0" 2>&1 | FileCheck %s --check-prefix=GUNROLL0
// RUN: not fd-opt %s --fd-tile-flat-gemm="gemv-unroll=1000000" 2>&1 | FileCheck %s --check-prefix=GUNROLL
// RUN: not fd-opt %s --fd-tile-flat-gemm="tile-k=64" 2>&1 | FileCheck %s --check-prefix=COPIES
// tile-k was a search from the value down in steps of 16 * split-k: 2^57
// steps for this one. It is out of range now, and the search starts at K.
// RUN: not fd-opt %s --fd-tile-flat-gemm="tile-k=9223372036854775807" 2>&1 | FileCheck %s --check-prefix=TILEK
// RUN: not fd-opt %s --fd-tile-flat-gemm="tile-k=8" 2>&1 | FileCheck %s --check-prefix=TILEK8
// RUN: not fd-opt %s --fd-tile-flat-gemm="tile-n=24" 2>&1 | FileCheck %s --check-prefix=TILEN
// RUN: not fd-opt %s --fd-tile-flat-gemm="tile-n=2048" 2>&1 | FileCheck %s --check-prefix=TILEN2048
// RUN: not fd-opt %s --fd-tile-flat-gemm="tile-n=48" 2>&1 | FileCheck %s --check-prefix=TILEN48
// RUN: not fd-opt %s --fd-tile-flat-gemm="pad-m=256 tile-k=1024 wide-from=0" 2>&1 | FileCheck %s --check-prefix=SMEM
// The wide tiling's options (ranges first, then against the shape).
// RUN: not fd-opt %s --fd-tile-flat-gemm="wide-from=-1" 2>&1 | FileCheck %s --check-prefix=WFROM
// RUN: not fd-opt %s --fd-tile-flat-gemm="wide-from=264" 2>&1 | FileCheck %s --check-prefix=WFROM264
// RUN: not fd-opt %s --fd-tile-flat-gemm="wide-tile-n=48" 2>&1 | FileCheck %s --check-prefix=WTILEN
// RUN: not fd-opt %s --fd-tile-flat-gemm="wide-tile-n=2048" 2>&1 | FileCheck %s --check-prefix=WTILEN2048
// RUN: not fd-opt %s --fd-tile-flat-gemm="wide-tile-k=32" 2>&1 | FileCheck %s --check-prefix=WTILEK
// RUN: not fd-opt %s --fd-tile-flat-gemm="wide-stages=1" 2>&1 | FileCheck %s --check-prefix=WSTAGES
// RUN: not fd-opt %s --fd-tile-flat-gemm="cluster-k=9" 2>&1 | FileCheck %s --check-prefix=CLUSTER9
// RUN: not fd-opt %s --fd-tile-flat-gemm="cluster-k=-1" 2>&1 | FileCheck %s --check-prefix=CLUSTERNEG
// RUN: not fd-opt %s --fd-tile-flat-gemm="wide-tile-n=96" 2>&1 | FileCheck %s --check-prefix=WDIVIDE
// RUN: not fd-opt %s --fd-tile-flat-gemm="pad-m=8,256 wide-tile-n=256" 2>&1 | FileCheck %s --check-prefix=WWARPS
// RUN: not fd-opt %s --fd-tile-flat-gemm="cluster-k=2 wide-tile-k=4096" 2>&1 | FileCheck %s --check-prefix=WCLUSTER
// RUN: not fd-opt %s --fd-tile-flat-gemm="pad-m=64 wide-tile-k=4096" 2>&1 | FileCheck %s --check-prefix=WSMEM
// RUN: not fd-opt %s --fd-tile-flat-gemm="direct-pad-m=8,48" 2>&1 | FileCheck %s --check-prefix=DPADM
// RUN: not fd-opt %s --fd-tile-flat-gemm="direct-split-k=-1" 2>&1 | FileCheck %s --check-prefix=DSPLIT
// RUN: not fd-opt %s --fd-tile-flat-gemm="direct-split-k=33" 2>&1 | FileCheck %s --check-prefix=DSPLIT33
// RUN: not fd-opt %s --fd-tile-flat-gemm="direct-split-k=-9223372036854775808" 2>&1 | FileCheck %s --check-prefix=DSPLITMIN
// RUN: not fd-opt %s --fd-tile-flat-gemm="direct-unroll=0" 2>&1 | FileCheck %s --check-prefix=DUNROLL
// RUN: not fd-opt %s --fd-tile-flat-gemm="direct-unroll=17" 2>&1 | FileCheck %s --check-prefix=DUNROLL17
// With the direct variants off, their options are still checked.
// RUN: not fd-opt %s --fd-tile-flat-gemm="direct=false direct-unroll=0" 2>&1 | FileCheck %s --check-prefix=DUNROLL
// The pipeline's gemm-* options reach the pass.
// RUN: not fd-opt %s --pass-pipeline="builtin.module(fd-lower-to-ptx{gemm-gemv-unroll=64})" 2>&1 | FileCheck %s --check-prefix=GUNROLL64

// An option out of its range is reported on the function before any op is
// tiled, naming the option, the range and the value.
// STAGES: error: fd-tile-flat-gemm: stages must be in [2, 32], got 1
// STAGES33: error: fd-tile-flat-gemm: stages must be in [2, 32], got 33
// SPLITK: error: fd-tile-flat-gemm: split-k must be in [1, 32], got 0
// SPLITKBIG: error: fd-tile-flat-gemm: split-k must be in [1, 32], got 576460752303423488
// PADM: error: fd-tile-flat-gemm: pad-m value 12 must be a multiple of 8 in [8, 256]
// PADMBIG: error: fd-tile-flat-gemm: pad-m value 264 must be a multiple of 8 in [8, 256]
// ORDER: error: fd-tile-flat-gemm: dispatch: '8:mma_m8': bounds must increase (the rule before ends at 16)
// BOUND0: error: fd-tile-flat-gemm: dispatch: '0:mma_m8': <maxM> must be an integer in [1, 2147483647]
// BOUNDBIG: error: fd-tile-flat-gemm: dispatch: '2147483648:mma_m8': <maxM> must be an integer in [1, 2147483647]
// BOUNDX: error: fd-tile-flat-gemm: dispatch: 'x:mma_m8': <maxM> must be an integer in [1, 2147483647]
// BARE: error: fd-tile-flat-gemm: dispatch: only the last rule may omit its <maxM>: got 'mma_m8' before others
// KIND: error: fd-tile-flat-gemm: dispatch: '8:tiles': unknown kernel 'tiles' (expected gemv, mma_m<P> or direct_m<P>)
// ABSENT: error: 'fd.flat_gemm' op fd-tile-flat-gemm: dispatch names the kernel 'mma_m128', which the options do not emit (kernels: gemv, direct_m16, direct_m32, direct_m64, mma_m8, mma_m16, mma_m32, mma_m64)
// TWICE: error: 'fd.flat_gemm' op fd-tile-flat-gemm: dispatch names the kernel 'mma_m8' twice
// NOGEMV: error: 'fd.flat_gemm' op fd-tile-flat-gemm: dispatch names the kernel 'gemv', which the options do not emit (kernels: direct_m16, direct_m32, direct_m64, mma_m8, mma_m16, mma_m32, mma_m64)
// GEMV33: error: fd-tile-flat-gemm: gemv-warps must be in [1, 32], got 33
// GUNROLL0: error: fd-tile-flat-gemm: gemv-unroll must be in [1, 16], got 0
// GUNROLL: error: fd-tile-flat-gemm: gemv-unroll must be in [1, 16], got 1000000
// GUNROLL64: error: fd-tile-flat-gemm: gemv-unroll must be in [1, 16], got 64
// TILEK: error: fd-tile-flat-gemm: tile-k must be in [16, 4096], got 9223372036854775807
// TILEK8: error: fd-tile-flat-gemm: tile-k must be in [16, 4096], got 8
// TILEN: error: fd-tile-flat-gemm: tile-n must be a multiple of 16 in [16, 1024], got 24
// TILEN2048: error: fd-tile-flat-gemm: tile-n must be a multiple of 16 in [16, 1024], got 2048
// DPADM: error: fd-tile-flat-gemm: direct-pad-m value 48 must be 8, 16, 32 or 64
// DSPLIT: error: fd-tile-flat-gemm: direct-split-k must be in [0, 32] (0: auto), got -1
// DSPLIT33: error: fd-tile-flat-gemm: direct-split-k must be in [0, 32] (0: auto), got 33
// DSPLITMIN: error: fd-tile-flat-gemm: direct-split-k must be in [0, 32] (0: auto), got -9223372036854775808
// DUNROLL: error: fd-tile-flat-gemm: direct-unroll must be in [1, 16], got 0
// DUNROLL17: error: fd-tile-flat-gemm: direct-unroll must be in [1, 16], got 17

// Values in range that do not fit the op's shape are reported on the op.
// GEMV: error: 'fd.flat_gemm' op fd-tile-flat-gemm: gemv-warps (3) must divide N = 4096
// TILEN48: error: 'fd.flat_gemm' op fd-tile-flat-gemm: tile-n (48) must be a multiple of 16 that divides N = 4096
// An 8 x 64 x tile is 64 16-byte copies, fewer than the 128 threads.
// COPIES: error: 'fd.flat_gemm' op fd-tile-flat-gemm: no K tile fits: it must be a multiple of 16 * split-k = 64, at most tile-k (64), divide K = 4096 and give every pad-m a whole number of 16-byte x copies per thread
// SMEM: error: 'fd.flat_gemm' op fd-tile-flat-gemm: pad-m 256 needs {{[0-9]+}} bytes of shared memory with 2 stages, more than the 227 KB of sm_90
// WFROM: error: fd-tile-flat-gemm: wide-from must be in [0, 256] (0: none), got -1
// WFROM264: error: fd-tile-flat-gemm: wide-from must be in [0, 256] (0: none), got 264
// WTILEN: error: fd-tile-flat-gemm: wide-tile-n must be 0 (auto) or a multiple of 32 in [32, 1024], got 48
// WTILEN2048: error: fd-tile-flat-gemm: wide-tile-n must be 0 (auto) or a multiple of 32 in [32, 1024], got 2048
// WTILEK: error: fd-tile-flat-gemm: wide-tile-k must be in [64, 4096], got 32
// WSTAGES: error: fd-tile-flat-gemm: wide-stages must be in [2, 32], got 1
// CLUSTER9: error: fd-tile-flat-gemm: cluster-k must be in [0, 8] (0: auto), got 9
// CLUSTERNEG: error: fd-tile-flat-gemm: cluster-k must be in [0, 8] (0: auto), got -1
// WDIVIDE: error: 'fd.flat_gemm' op fd-tile-flat-gemm: wide-tile-n (96) must divide N = 4096
// 256 rows of x over 256 rows of W: 8 x 8 warps of 32 x 32.
// WWARPS: error: 'fd.flat_gemm' op fd-tile-flat-gemm: pad-m 256 with wide-tile-n 256 needs 64 warps of 32 x 32, more than a CTA's 32
// A cluster may split the K tiles unevenly, but every CTA needs one.
// WCLUSTER: error: 'fd.flat_gemm' op fd-tile-flat-gemm: cluster-k (2) must be at most the 1 K tiles of 4096
// WSMEM: error: 'fd.flat_gemm' op fd-tile-flat-gemm: pad-m 64 with wide-tile-n 64 needs 2097152 bytes of shared memory with 2 stages, more than the 227 KB of sm_90
func.func @proj(%x: memref<?x4096xf16>, %w: memref<4096x4096xf16>, %y: memref<?x4096xf16>) {
  fd.flat_gemm ins(%x, %w : memref<?x4096xf16>, memref<4096x4096xf16>) outs(%y : memref<?x4096xf16>)
  return
}
