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
           "auto: SMs of the target GPU (132 on the H100 SXM)">,
    Option<"ctasPerSM", "ctas-per-sm", "int64_t", /*default=*/"2",
           "auto: CTAs per SM to aim for">,
    Option<"minChunk", "min-chunk", "int64_t", /*default=*/"256",
           "auto: smallest chunk, so short contexts are not cut into slivers">,
    Option<"chunkAlign", "chunk-align", "int64_t", /*default=*/"64",
           "auto: chunks are a multiple of this many tokens">,
    Option<"maxSplits", "max-splits", "int64_t", /*default=*/"256",
           "auto: upper bound on the number of splits">
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
  let options = [
    Option<"phi", "phi", "double",
           /*default=*/"std::numeric_limits<double>::quiet_NaN()",
           "The unified max, in units of scale * q.k (required)">,
    Option<"threshold", "threshold", "double", /*default=*/"40.0",
           "Largest |s - phi| computed without fallback (positive)">
  ];
}

#endif // FD_DIALECT_FD_TRANSFORMS_PASSES_TD
