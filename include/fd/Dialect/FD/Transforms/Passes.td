//===- Passes.td - fd dialect transformations -------------*- tablegen -*-===//
#ifndef FD_DIALECT_FD_TRANSFORMS_PASSES_TD
#define FD_DIALECT_FD_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def FDSplitKV : Pass<"fd-split-kv", "func::FuncOp"> {
  let summary = "Split decode attention along the KV sequence (Flash-Decoding)";
  let description = [{
    Rewrites every `fd.decode_attention` into `fd.partial_attention` over
    chunks of the KV sequence plus `fd.merge_partials`, with the partial state
    in f32 buffers `[B, Hq, S, D]` (accumulator) and `[B, Hq, S]` (max, sum).
    The reduction each split performs follows the op's `softmax` strategy:
    online softmax keeps a running max and rescales at the merge (log-sum-exp);
    unified max needs no rescaling, and is followed by an
    `fd.overflow_fallback` (with a `[B, Hq]` i32 flag buffer) that recomputes
    the rows a fixed max cannot handle.

    How S (the number of splits) and the chunk size are chosen, in priority
    order: the op's `num_splits` or `chunk_size` attribute; this pass's
    `num-splits` or `chunk-size` option; otherwise `auto`, which emits an
    `fd.split_plan` so that S is a run-time value computed per call from the
    batch, the lengths and the SM count (see `fd.split_plan` for the formula;
    its constants are this pass's options). A fixed S uses the chunk
    `ceil(Lmax / S)`; a fixed chunk uses `S = ceil(Lmax / chunk)`, where
    `Lmax` is the cache capacity (dim 2 of K).

    Before:
    ```mlir
    fd.decode_attention ins(%q, %k, %v, %lens : ...) outs(%out : ...)
        {scale = 0.0883883461 : f32, softmax = #fd.online_softmax}
    ```
    After (auto):
    ```mlir
    %S, %chunk = fd.split_plan %lens : memref<?xi32> {num_kv_heads = 8, ...}
    %acc = memref.alloc(%B, %S) : memref<?x32x?x128xf32>
    %max = memref.alloc(%B, %S) : memref<?x32x?xf32>
    %sum = memref.alloc(%B, %S) : memref<?x32x?xf32>
    fd.partial_attention ins(%q, %k, %v, %lens : ...)
        outs(%acc, %max, %sum : ...) chunk_size(%chunk) {...}
    fd.merge_partials ins(%acc, %max, %sum : ...) outs(%out : ...) {...}
    memref.dealloc %acc : ...
    ```
  }];
  let dependentDialects = ["memref::MemRefDialect", "arith::ArithDialect"];
  let options = [
    Option<"numSplits", "num-splits", "int64_t", /*default=*/"0",
           "Fixed number of splits (0: not fixed)">,
    Option<"chunkSize", "chunk-size", "int64_t", /*default=*/"0",
           "Fixed tokens per split (0: not fixed)">,
    Option<"smCount", "sm-count", "int64_t", /*default=*/"132",
           "auto: SMs of the target GPU (132 on the H100 SXM and the H200)">,
    // The split constants' defaults are the bundle schema's (measured by
    // fd-bench; docs/perf.md), shared with fd-compile and the runtime.
    Option<"ctasPerSM", "ctas-per-sm", "int64_t",
           /*default=*/"::fdb::SplitConstants{}.ctasPerSm",
           "auto: CTAs per SM to aim for (the runtime caps it at the partial "
           "kernel's occupancy)">,
    Option<"minChunk", "min-chunk", "int64_t",
           /*default=*/"::fdb::SplitConstants{}.minChunk",
           "auto: smallest chunk, so short contexts are not cut into slivers">,
    Option<"chunkAlign", "chunk-align", "int64_t",
           /*default=*/"::fdb::SplitConstants{}.chunkAlign",
           "auto: chunks are a multiple of this many tokens">,
    Option<"maxSplits", "max-splits", "int64_t",
           /*default=*/"::fdb::SplitConstants{}.maxSplits",
           "auto: upper bound on the number of splits">
  ];
}


def FDTileFlatGemm : Pass<"fd-tile-flat-gemm", "func::FuncOp"> {
  let summary = "Choose the kernels of each fd.flat_gemm and dispatch on M";
  let description = [{
    Decides how every `fd.flat_gemm` (y = x * W^T, M small and dynamic) is
    computed: checks the options against the op's shape, fits the tiles to
    it, and replaces the op with a host dispatch on M (`scf.if`) whose
    branches hold one copy of the op each, annotated with the kernel that
    computes it (`fd.flat_gemm.kernel`, see TileFlatGemm.h);
    `convert-flat-gemm-to-gpu` builds the kernels. The kernels:

    - `gemv`: CUDA cores, `gemv-warps` outputs per CTA, one warp
      per output column n, 16-byte loads of W and x, a warp-shuffle
      reduction; no padding at all.
    - `mma` with `m_tile` P for each P in `pad-m`: y^T = W * x^T with
      m16n8k16 MMAs, W on the m = 16 side and the batch on the n = 8 side,
      so M is padded only to a multiple of 8 (P rows per CTA; grid.z covers
      larger M). A CTA owns `tile-n` rows of W and `split-k` warps, each
      reducing its own slice of every K tile. The K loop is a `stages`-deep
      cp.async pipeline in shared memory. The K tile (`tile_k`) is the
      largest multiple of 16 * split-k up to `tile-k` that divides K and
      gives every P a whole number of x copies per thread; a variant whose
      ring would exceed 227 KB, or a K loop shorter than the ring, gets
      fewer `stages`.
    - `direct` with `m_tile` P for each P in `direct-pad-m` (8, 16, 32, 64;
      default 16, 32, 64): the same MMAs without shared memory in the K loop, each of the
      CTA's `split_k` warps loading its fragments straight from global
      memory, `unroll` 32-wide K steps per iteration (`direct-unroll`,
      lowered for wide tiles), register double buffering with
      `direct-prefetch`. `split_k` is `direct-split-k`, or with 0 the
      smallest power of two giving about 1024 warps, at most 2048 of K per
      warp (P <= 32), at most 16, and halved while the registers cannot hold
      the loads in flight.
    Every kernel is emitted; `dispatch` says which one each M runs by
    default (the bundle's "dispatch" rules; the runtime's dispatch tables
    override them per shape). The default, the ring tiles mma_m8/16/32
    each up to its P and the wide mma_m64 for every larger M, is what
    fd-tune measured fastest on the H200 (docs/perf.md, sessions 8, 9 and
    13): mma_m8 beats the GEMV at M = 1, mma_m16 beats direct_m16, mma_m32
    beats direct_m32 up to M = 32, and the wide mma_m64 (W read once, one
    wave of CTAs) beats two passes of mma_m32 by 1.2-2x at M = 64.
    The host chain tests M against each rule in order; kernels no rule
    names follow behind a condition that never holds (M <= 0 inside the
    M > 0 branch), so they too become kernels of the bundle, reached only
    through dispatch tables. M = 0 runs nothing.

    ```mlir
    fd.flat_gemm ins(%x, %w : memref<?x4096xf16>, memref<4096x4096xf16>)
        outs(%y : memref<?x4096xf16>)
    ```
    becomes (abridged, `pad-m=8,16 direct=false`)
    ```mlir
    %M = memref.dim %x, %c0
    scf.if (M > 0) {
      scf.if (M <= 1) {
        fd.flat_gemm ins(%x, %w ...) outs(%y ...) {fd.flat_gemm.kernel =
            {kind = "gemv", unroll = 4 : i64, warps = 4 : i64}}
      } else {
        scf.if (M <= 8) {
          fd.flat_gemm ... {fd.flat_gemm.kernel = {kind = "mma",
              m_tile = 8 : i64, split_k = 4 : i64, stages = 6 : i64,
              tile_k = 256 : i64, tile_n = 32 : i64}}
        } else {
          fd.flat_gemm ... {fd.flat_gemm.kernel = {kind = "mma",
              m_tile = 16 : i64, ...}}
        }
      }
    }
    ```
  }];
  let dependentDialects = ["scf::SCFDialect", "arith::ArithDialect",
                           "memref::MemRefDialect"];
  let options = [
    ListOption<"padM", "pad-m", "int64_t",
               "M rows per CTA of each tensor-core variant (multiples of 8; "
               "default 8,16,32,64)">,
    Option<"stages", "stages", "int64_t", /*default=*/"6",
           "Shared-memory buffers of the cp.async pipeline (>= 2); a variant "
           "whose ring would exceed 227 KB gets fewer">,
    Option<"tileN", "tile-n", "int64_t", /*default=*/"32",
           "Rows of W per CTA (a multiple of 16 dividing N)">,
    Option<"tileK", "tile-k", "int64_t", /*default=*/"256",
           "Most K elements per pipeline stage: the largest multiple of "
           "16 * split-k up to it that divides K is used">,
    Option<"splitK", "split-k", "int64_t", /*default=*/"4",
           "Warps per CTA, each reducing a disjoint K slice of every tile">,
    Option<"wideFrom", "wide-from", "int64_t", /*default=*/"64",
           "Ring tiles of at least this many batch rows (pad-m) get the wide "
           "tiling: wide-tile-n rows of W per CTA, a warp per 32 x 32 piece "
           "of the output, K split over a thread-block cluster; 0: none "
           "(0..256)">,
    Option<"wideTileN", "wide-tile-n", "int64_t", /*default=*/"0",
           "Wide tiling: rows of W per CTA (a multiple of 32 dividing N, at "
           "most 1024 / pad-m * 32 rows so that one warp per piece fits "
           "1024 threads); 0 = auto: of 64..256 rows and clusters of 1 or 2 "
           "(or cluster-k), the most CTAs one wave of 132 holds">,
    Option<"wideTileK", "wide-tile-k", "int64_t", /*default=*/"128",
           "Wide tiling: most K per stage (the largest multiple of 64 up to "
           "it that divides K is used; 64..4096)">,
    Option<"wideStages", "wide-stages", "int64_t", /*default=*/"6",
           "Wide tiling: ring depth (2..32; fewer where the K loop is "
           "shorter or shared memory smaller)">,
    Option<"clusterK", "cluster-k", "int64_t", /*default=*/"0",
           "Wide tiling: CTAs of a cluster splitting K (1..8, at most the K "
           "tiles; one that does not divide them gives the first ranks one "
           "tile more; 0 = auto: with wide-tile-n = 0 see there, else the "
           "smallest power of two giving (N / wide-tile-n) * cluster-k >= "
           "128 CTAs, at most 8, with whole ring loads per CTA)">,
    Option<"gemv", "gemv", "bool", /*default=*/"true",
           "Also emit the CUDA-core GEMV variant">,
    Option<"onlyDispatched", "only-dispatched", "bool", /*default=*/"false",
           "Emit only the kernels the dispatch rules name (a dispatch table "
           "can then choose no other; compiles faster)">,
    Option<"gemvWarps", "gemv-warps", "int64_t", /*default=*/"4",
           "GEMV: warps (output columns) per CTA">,
    Option<"gemvUnroll", "gemv-unroll", "int64_t", /*default=*/"4",
           "GEMV: 16-byte W loads in flight per lane">,
    ListOption<"dispatch", "dispatch", "std::string",
               "The default dispatch on M: rules <maxM>:<kernel> in "
               "increasing maxM (1..2147483647), the last may be a bare "
               "<kernel>; M uses the first rule with M <= maxM, a larger M "
               "the last rule's kernel. Kernels: gemv, mma_m<P>, direct_m<P> "
               "of this pass's options. Default: the ring tiles mma_m<P> "
               "with P <= 32, each for M <= P, the last one beyond">,
    Option<"direct", "direct", "bool", /*default=*/"true",
           "Also emit the register-direct tensor-core variants direct_mP "
           "(no shared-memory ring), for dispatch rules and tables">,
    ListOption<"directPadM", "direct-pad-m", "int64_t",
               "Batch rows per CTA of each direct variant (8, 16, 32 or 64; "
               "default 16,32,64: direct_m8 measured slower, docs/perf.md)">,
    Option<"directSplitK", "direct-split-k", "int64_t", /*default=*/"0",
           "Direct variants: warps per CTA splitting K (1..32; 0 = auto: the "
           "next power of two giving (N / 16) * split-k >= 1024 warps, at "
           "most 16, at most the K steps per unroll, and halved while the "
           "CTA's registers cannot hold the loads in flight)">,
    Option<"directPrefetch", "direct-prefetch", "bool", /*default=*/"true",
           "Direct variants: load iteration i + 1 into registers before the "
           "MMAs of iteration i (register double buffering)">,
    Option<"directUnroll", "direct-unroll", "int64_t", /*default=*/"4",
           "Direct variants: 32-wide K steps per warp and iteration, all "
           "loaded before the first MMA (1..16); wide tiles use fewer so "
           "that the pieces in flight fit 128 registers (32 rows: 2, "
           "64 rows: 1)">
  ];
}
def FDUnifiedMax : Pass<"fd-unified-max", "func::FuncOp"> {
  let summary = "Use the FlashDecoding++ unified-max softmax for decode attention";
  let description = [{
    Sets `softmax = #fd.unified_max<phi = .., threshold = ..>` on every
    `fd.decode_attention` (replacing an online or an older unified-max
    strategy), so that the split partials compute `exp(s - phi)` with one
    `phi` shared by all splits and the merge is a plain sum followed by one
    division. `fd-split-kv` then adds an `fd.overflow_fallback` that
    recomputes, with online softmax, every row whose scores leave
    `[phi - threshold, phi + threshold]` or whose sum underflows, so the
    result stays exact on every input. `phi` and `threshold` are in units of
    the scaled score `scale * q.k`; `fd-calibrate` derives them from score
    samples. Ops already in the split form are left alone (their partials and
    merge must agree on one strategy).

    Before:
    ```mlir
    fd.decode_attention ins(...) outs(...)
        {scale = 0.0883883461 : f32, softmax = #fd.online_softmax}
    ```
    After `fd-unified-max{phi=6 threshold=40}`:
    ```mlir
    fd.decode_attention ins(...) outs(...)
        {scale = 0.0883883461 : f32,
         softmax = #fd.unified_max<phi = 6.0, threshold = 40.0>}
    ```
  }];
  // It creates #fd.unified_max attributes, also in modules without fd ops.
  let dependentDialects = ["mlir::fd::FDDialect"];
  let options = [
    Option<"phi", "phi", "double",
           /*default=*/"std::numeric_limits<double>::quiet_NaN()",
           "The unified max, in units of scale * q.k (required)">,
    Option<"threshold", "threshold", "double", /*default=*/"40.0",
           "Largest |s - phi| computed without fallback (positive)">
  ];
}

#endif // FD_DIALECT_FD_TRANSFORMS_PASSES_TD
