//===- FDOps.td - fd dialect operations -------------------*- tablegen -*-===//
#ifndef FD_DIALECT_FD_IR_FDOPS_TD
#define FD_DIALECT_FD_IR_FDOPS_TD

include "fd/Dialect/FD/IR/FDDialect.td"
include "fd/Dialect/FD/IR/FDAttrs.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/IR/CommonAttrConstraints.td"

// Operand constraints stay loose (any memref) on purpose: the verifiers check
// ranks, shapes and element types themselves so that every message names the
// operand by its role ("key", "lengths") and says what was expected, instead
// of ODS's "operand #2 must be ...".
def FD_In : Arg<AnyMemRef, "", [MemRead]>;
def FD_Out : Arg<AnyMemRef, "", [MemWrite]>;

def FD_PositiveI64 : ConfinedAttr<I64Attr, [IntPositive]>;

//===----------------------------------------------------------------------===//
// fd.decode_attention
//===----------------------------------------------------------------------===//

def FD_OptIn : Arg<Optional<AnyMemRef>, "", [MemRead]>;
def FD_OptOut : Arg<Optional<AnyMemRef>, "", [MemWrite]>;

def FD_DecodeAttentionOp : FD_Op<"decode_attention",
                                 [AttrSizedOperandSegments]> {
  let summary = "Attention of one query token per sequence over a KV cache";
  let description = [{
    For every sequence `b < B` and query head `h < Hq`:

    ```
    out[b, h, :] = softmax(scale * q[b, h, :] . K[b, g, t, :] for t < lengths[b])
                   . V[b, g, 0:lengths[b], :]          with g = h / (Hq / Hkv)
    ```

    Operands: `q [B, Hq, D]`, K and V caches `[B, Hkv, Lmax, D]`, valid
    lengths `[B]` (i32, `0 <= lengths[b] <= Lmax`) and `out [B, Hq, D]`.
    `B` and `Lmax` may be dynamic; `Hq`, `Hkv` and `D` are static, `Hq` a
    multiple of `Hkv` (GQA/MQA). K and V may have any strides whose innermost
    one is 1: head-major caches, token-major caches `[B, Lmax, Hkv, D]`
    viewed as `[B, Hkv, Lmax, D]`, and caches over-allocated along `Lmax`
    need no copies. Element types: f16 or bf16, the same for q, K, V and out;
    `D` is 64, 128 or 256. A sequence of length 0 gets a zero output row.

    `softmax` selects the strategy (`#fd.online_softmax` or
    `#fd.unified_max<...>`). `num_splits` or `chunk_size` fixes how
    `fd-split-kv` splits the sequence; without them the split is chosen at
    run time. `lengths` may be i32 or i64.

    **Paged KV cache.** With `block_table(%table : memref<?x?xi32>)` K and V
    are pools of pages `[num_pages, Hkv, page_size, D]` (any strides with an
    innermost 1, so token-major NHD pages `[num_pages, page_size, Hkv, D]`
    are the same pool viewed with swapped strides, and one KV tensor
    `[num_pages, 2, page_size, Hkv, D]` is two views of one buffer). Token
    `t` of sequence `b` is row `t mod page_size` of page
    `table[b, t / page_size]`; `page_size` (dim 2) is static, any value in
    [1, 65536]. Pages a sequence does not reach are never read, and every
    page index it does reach must be in [0, num_pages): that is the
    caller's contract (the runtime's page check verifies it on the device).

    **CSR page addressing** (FlashInfer's `kv_indptr` / `kv_indices`): with
    `block_table(%indices : memref<?xi32>) page_indptr(%indptr :
    memref<?xi32>)` the table is one flat list of pages `[nnz_pages]` and
    sequence `b` owns `indices[indptr[b] .. indptr[b + 1])`: token `t` is row
    `t mod page_size` of page `indices[indptr[b] + t / page_size]`.
    `indptr` is `[B + 1]`, i32 or i64. `lengths` still gives each sequence's
    tokens (FlashInfer's `last_page_len[b]` is
    `lengths[b] - (indptr[b + 1] - indptr[b] - 1) * page_size`).

    **Log-sum-exp.** With `lse(%lse : memref<?x32xf32>)` the op also writes
    `lse[b, h] = ln(sum_t exp(scale * q[b,h,:] . K[b,g,t,:]))` (natural
    log, f32), `-inf` for an empty sequence: what merging attention states
    needs (cascade attention, chunked prefill, context parallelism).

    Example (LLaMA-3-8B: 32 query heads sharing 8 KV heads, D = 128):

    ```mlir
    fd.decode_attention
        ins(%q, %k, %v, %lens : memref<?x32x128xf16>,
            memref<?x8x?x128xf16, strided<[?, ?, ?, 1], offset: ?>>,
            memref<?x8x?x128xf16, strided<[?, ?, ?, 1], offset: ?>>,
            memref<?xi32>)
        outs(%out : memref<?x32x128xf16>)
        {scale = 0.0883883461 : f32, softmax = #fd.online_softmax}
    ```
  }];
  let arguments = (ins FD_In:$query, FD_In:$key, FD_In:$value,
                       FD_In:$lengths, FD_OptIn:$block_table,
                       FD_OptIn:$page_indptr, FD_Out:$out,
                       FD_OptOut:$lse,
                       F32Attr:$scale, FD_SoftmaxAttr:$softmax,
                       OptionalAttr<I64Attr>:$num_splits,
                       OptionalAttr<I64Attr>:$chunk_size);
  let assemblyFormat = [{
    `ins` `(` $query `,` $key `,` $value `,` $lengths `:` type($query) `,`
      type($key) `,` type($value) `,` type($lengths) `)`
    (`block_table` `(` $block_table^ `:` type($block_table) `)`)?
    (`page_indptr` `(` $page_indptr^ `:` type($page_indptr) `)`)?
    `outs` `(` $out `:` type($out) `)`
    (`lse` `(` $lse^ `:` type($lse) `)`)? attr-dict
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// fd.split_plan
//===----------------------------------------------------------------------===//

def FD_SplitPlanOp : FD_Op<"split_plan", [Pure]> {
  let summary = "Choose the number of KV splits and the chunk size at run time";
  let description = [{
    Computes `(num_splits, chunk_size)` for a split-KV decode attention from
    the batch size `B = dim(lengths, 0)`, the longest valid length, the
    number of KV heads and the GPU's SM count, because lengths change at every
    decoding step. The formula (also implemented by the runtime's planner):

    ```
    target = sm_count * ctas_per_sm
    S      = B*Hkv >= target ? 1 : ceil(target / (B*Hkv))
    S      = min(S, max(1, ceil(maxLen / min_chunk)), max_splits)
    chunk  = roundUp(ceil(max(maxLen, 1) / S), chunk_align)
    S      = max(1, ceil(maxLen / chunk))
    ```

    ```mlir
    %splits, %chunk = fd.split_plan %lens : memref<?xi32>
        {num_kv_heads = 8, sm_count = 132, ctas_per_sm = 2, min_chunk = 256,
         chunk_align = 64, max_splits = 256}
    ```
  }];
  let arguments = (ins FD_In:$lengths, FD_PositiveI64:$num_kv_heads,
                       FD_PositiveI64:$sm_count, FD_PositiveI64:$ctas_per_sm,
                       FD_PositiveI64:$min_chunk, FD_PositiveI64:$chunk_align,
                       FD_PositiveI64:$max_splits);
  let results = (outs Index:$num_splits, Index:$chunk_size);
  let assemblyFormat = "$lengths `:` type($lengths) attr-dict";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// fd.partial_attention
//===----------------------------------------------------------------------===//

def FD_PartialAttentionOp : FD_Op<"partial_attention",
                                  [AttrSizedOperandSegments]> {
  let summary = "Attention of each KV chunk, as unnormalised partial state";
  let description = [{
    The first half of split-KV attention (Flash-Decoding). Split `s` covers
    tokens `[s * chunk_size, min((s + 1) * chunk_size, lengths[b]))`; the
    number of splits `S` is dim 2 of `acc`. For every `(b, h, s)`, with
    scores in the log2 domain `x_t = scale * log2(e) * q[b,h,:] . K[b,g,t,:]`:

    - online softmax: `max = max_t x_t`, `sum = sum_t 2^(x_t - max)`,
      `acc = sum_t 2^(x_t - max) V[b,g,t,:]`;
    - unified max: the same with `max` replaced by the fixed
      `phi * log2(e)`; `max` then records the largest `x_t` seen, which the
      overflow check reads.

    An empty split writes `max = -FLT_MAX` (finite, so that merging never
    computes `-inf - -inf`), `sum = 0` and `acc = 0`. `block_table` reads a
    paged cache as `fd.decode_attention` does.

    ```mlir
    fd.partial_attention
        ins(%q, %k, %v, %lens : memref<?x32x128xf16>, memref<?x8x?x128xf16>,
            memref<?x8x?x128xf16>, memref<?xi32>)
        outs(%acc, %max, %sum : memref<?x32x?x128xf32>, memref<?x32x?xf32>,
             memref<?x32x?xf32>)
        chunk_size(%chunk)
        {scale = 0.0883883461 : f32, softmax = #fd.online_softmax}
    ```
  }];
  let arguments = (ins FD_In:$query, FD_In:$key, FD_In:$value,
                       FD_In:$lengths, FD_OptIn:$block_table,
                       FD_OptIn:$page_indptr, FD_Out:$acc,
                       FD_Out:$max, FD_Out:$sum,
                       Index:$chunk_size, F32Attr:$scale,
                       FD_SoftmaxAttr:$softmax);
  let assemblyFormat = [{
    `ins` `(` $query `,` $key `,` $value `,` $lengths `:` type($query) `,`
      type($key) `,` type($value) `,` type($lengths) `)`
    (`block_table` `(` $block_table^ `:` type($block_table) `)`)?
    (`page_indptr` `(` $page_indptr^ `:` type($page_indptr) `)`)?
    `outs` `(` $acc `,` $max `,` $sum `:` type($acc) `,` type($max) `,`
      type($sum) `)`
    `chunk_size` `(` $chunk_size `)` attr-dict
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// fd.merge_partials
//===----------------------------------------------------------------------===//

def FD_MergePartialsOp : FD_Op<"merge_partials"> {
  let summary = "Combine per-split partial attention into the output";
  let description = [{
    The second half of split-KV attention. Online softmax rescales each split
    by `2^(max_s - M)` with `M = max_s max_s` (log-sum-exp), unified max adds
    numerators and denominators as they are; both end with one division.
    A row whose total sum is 0 (every split empty) gets a zero output.
    With `lse`, also the row's natural log-sum-exp (`-inf` when empty).

    ```mlir
    fd.merge_partials
        ins(%acc, %max, %sum : memref<?x32x?x128xf32>, memref<?x32x?xf32>,
            memref<?x32x?xf32>)
        outs(%out : memref<?x32x128xf16>) {softmax = #fd.online_softmax}
    ```
  }];
  let arguments = (ins FD_In:$acc, FD_In:$max, FD_In:$sum, FD_Out:$out,
                       FD_OptOut:$lse, FD_SoftmaxAttr:$softmax);
  let assemblyFormat = [{
    `ins` `(` $acc `,` $max `,` $sum `:` type($acc) `,` type($max) `,`
      type($sum) `)`
    `outs` `(` $out `:` type($out) `)`
    (`lse` `(` $lse^ `:` type($lse) `)`)? attr-dict
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// fd.overflow_fallback
//===----------------------------------------------------------------------===//

def FD_OverflowFallbackOp : FD_Op<"overflow_fallback",
                                  [AttrSizedOperandSegments]> {
  let summary = "Recompute the rows whose unified-max partials overflowed";
  let description = [{
    The exactness guarantee of the unified-max strategy (FlashDecoding++).
    Runs after `fd.merge_partials` with `#fd.unified_max<phi, threshold>` and
    reads the per-split `max` (largest log2-domain score of the split) and
    `sum` that `fd.partial_attention` wrote. With `hi = (phi + threshold) *
    log2(e)`, `lo = (phi - threshold) * log2(e)` and `M = max_s max[b,h,s]`,
    the row `(b, h)` falls back when `lengths[b] > 0` and

    - some score exceeds `hi` (`M > hi`: `exp(s - phi)` may overflow), or
    - every score is below `lo` (`M < lo`: the terms underflow or lose
      precision in the subnormal range), or
    - `sum_s sum[b,h,s]` is 0, infinite or NaN.

    Such rows are recomputed from `q`, `K`, `V` with the synchronised
    online-softmax path (the same arithmetic as `#fd.online_softmax`) and
    overwrite `out`; `flags[b, h]` is set to 1 for them and 0 for every other
    row, so the number of rows that fell back is the sum of `flags`. With
    `lse`, a recomputed row overwrites its log-sum-exp too; `block_table`
    reads a paged cache as `fd.decode_attention` does.

    ```mlir
    fd.overflow_fallback
        ins(%q, %k, %v, %lens, %max, %sum : memref<?x32x128xf16>,
            memref<?x8x?x128xf16>, memref<?x8x?x128xf16>, memref<?xi32>,
            memref<?x32x?xf32>, memref<?x32x?xf32>)
        outs(%out, %flags : memref<?x32x128xf16>, memref<?x32xi32>)
        {scale = 0.0883883461 : f32,
         softmax = #fd.unified_max<phi = 6.0, threshold = 40.0>}
    ```
  }];
  let arguments = (ins FD_In:$query, FD_In:$key, FD_In:$value,
                       FD_In:$lengths, FD_In:$max, FD_In:$sum,
                       FD_OptIn:$block_table, FD_OptIn:$page_indptr,
                       Arg<AnyMemRef, "", [MemRead, MemWrite]>:$out,
                       FD_Out:$flags,
                       Arg<Optional<AnyMemRef>, "", [MemRead, MemWrite]>:$lse,
                       F32Attr:$scale, FD_UnifiedMaxAttr:$softmax);
  let assemblyFormat = [{
    `ins` `(` $query `,` $key `,` $value `,` $lengths `,` $max `,` $sum `:`
      type($query) `,` type($key) `,` type($value) `,` type($lengths) `,`
      type($max) `,` type($sum) `)`
    (`block_table` `(` $block_table^ `:` type($block_table) `)`)?
    (`page_indptr` `(` $page_indptr^ `:` type($page_indptr) `)`)?
    `outs` `(` $out `,` $flags `:` type($out) `,` type($flags) `)`
    (`lse` `(` $lse^ `:` type($lse) `)`)? attr-dict
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// fd.merge_states
//===----------------------------------------------------------------------===//

def FD_MergeStatesOp : FD_Op<"merge_states", [AttrSizedOperandSegments]> {
  let summary = "Merge attention states (out, lse) computed over disjoint keys";
  let description = [{
    Combines `N` attention results over disjoint parts of the same keys
    (cascade / shared-prefix attention, chunked prefill, context-parallel
    decode) into the attention over all of them, as vLLM's
    `merge_attn_states` and FlashInfer's `merge_states` do. For every row
    `(b, h)` with `M = max_i lse_i[b, h]` and `w_i = exp(lse_i[b, h] - M)`:

    ```
    out[b, h, :] = sum_i w_i * out_i[b, h, :] / sum_i w_i
    lse[b, h]    = M + ln(sum_i w_i)
    ```

    and a row whose every `lse_i` is `-inf` (no keys at all) gets a zero
    output and `lse = -inf`. `lse` values are natural logs (what
    `fd.decode_attention`'s `lse` writes), finite or `-inf`.

    Operands: `2 <= N <= 16` states `out_i [B, Hq, D]` (f16 or bf16, one type
    for all and for `out`, innermost stride 1: q-like views of engines'
    buffers) with their `lse_i [B, Hq]` f32 (any strides, so vLLM's
    `[Hq, B]` log-sum-exps are a transposed view), `out [B, Hq, D]` and an
    optional merged `lse [B, Hq]`. `Hq` in [1, 1024] and `D` (64, 128 or
    256) are static.

    ```mlir
    fd.merge_states ins(%prefix, %suffix : memref<?x32x128xf16>,
                                           memref<?x32x128xf16>)
        lses(%prefix_lse, %suffix_lse : memref<?x32xf32>, memref<?x32xf32>)
        outs(%out : memref<?x32x128xf16>) lse(%lse : memref<?x32xf32>)
    ```
  }];
  let arguments = (ins Arg<Variadic<AnyMemRef>, "", [MemRead]>:$states,
                       Arg<Variadic<AnyMemRef>, "", [MemRead]>:$state_lses,
                       FD_Out:$out, FD_OptOut:$lse);
  let assemblyFormat = [{
    `ins` `(` $states `:` type($states) `)`
    `lses` `(` $state_lses `:` type($state_lses) `)`
    `outs` `(` $out `:` type($out) `)`
    (`lse` `(` $lse^ `:` type($lse) `)`)? attr-dict
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// fd.flat_gemm
//===----------------------------------------------------------------------===//

def FD_FlatGemmOp : FD_Op<"flat_gemm"> {
  let summary = "y = x * W^T (+ bias) with a small dynamic M";
  let description = [{
    The GEMMs of a decoding step (QKV projection, output projection, FFN):
    `x [M, K]` holds one row per sequence of the batch, so `M` is small and
    dynamic while `N` and `K` are static. `W [N, K]` is stored row-major as
    in PyTorch's `Linear`. Inputs are f16 or bf16 (both the same), the
    accumulation is f32, `y` is the input type or f32 and the optional
    `bias [N]` is the input type. `K` must be a multiple of 8 so that every
    row of x and W can be read with 16-byte loads.

    ```mlir
    fd.flat_gemm ins(%x, %w : memref<?x4096xf16>, memref<12288x4096xf16>)
        outs(%y : memref<?x12288xf16>)
    fd.flat_gemm ins(%x, %w : memref<?x4096xf16>, memref<4096x4096xf16>)
        bias(%b : memref<4096xf16>) outs(%y : memref<?x4096xf32>)
    ```
  }];
  let arguments = (ins FD_In:$x, FD_In:$w, FD_Out:$y,
                       Arg<Optional<AnyMemRef>, "", [MemRead]>:$bias);
  let assemblyFormat = [{
    `ins` `(` $x `,` $w `:` type($x) `,` type($w) `)`
    (`bias` `(` $bias^ `:` type($bias) `)`)?
    `outs` `(` $y `:` type($y) `)` attr-dict
  }];
  let hasVerifier = 1;
}

#endif // FD_DIALECT_FD_IR_FDOPS_TD
