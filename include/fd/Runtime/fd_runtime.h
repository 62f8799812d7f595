/*===- fd_runtime.h - C API of the fd runtime ----------------------*- C -*-===*
 *
 * A plain C interface over the C++ runtime for FFI users (ctypes, Rust, Go).
 * Handles are opaque; every fallible function returns an int status (0 is
 * FD_OK) and, on failure, leaves a message for fd_last_error() on the
 * calling thread. No function throws or aborts on bad input.
 *
 *===----------------------------------------------------------------------===*/

#ifndef FD_RUNTIME_FD_RUNTIME_H
#define FD_RUNTIME_FD_RUNTIME_H

#include "fd/Runtime/Export.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The driver's stream type, declared so that this header needs no cuda.h:
 * a CUstream or a cudaStream_t can be passed as is. */
struct CUstream_st;

/* Status codes (the same values as fd::rt::ErrorCode). */
enum {
  FD_OK = 0,
  FD_ERROR_INVALID_ARGUMENT = 1,
  FD_ERROR_IO = 2,
  FD_ERROR_PARSE = 3,
  FD_ERROR_INVALID_BUNDLE = 4,
  FD_ERROR_UNSUPPORTED = 5,
  FD_ERROR_NO_DEVICE = 6,
  FD_ERROR_DRIVER = 7,
  FD_ERROR_INTERNAL = 8
};

/* Element types (the same values as fd::rt::DType). */
enum {
  FD_DTYPE_F16 = 0,
  FD_DTYPE_BF16 = 1,
  FD_DTYPE_F32 = 2,
  FD_DTYPE_I32 = 3,
  FD_DTYPE_I64 = 4,
  FD_DTYPE_F64 = 5
};

/* A strided view of device memory; sizes and strides in elements. */
typedef struct fd_tensor {
  void *data;
  int32_t dtype; /* FD_DTYPE_* */
  int32_t rank;  /* at most 4 */
  int64_t sizes[4];
  int64_t strides[4];
} fd_tensor;

/* q [B,Hq,D], k and v [B,Hkv,L,D], lens [B] i32 (device), out [B,Hq,D].
 * q and out may be strided views where the entry was compiled with a
 * strided layout for them; lens is i64 where compiled so. For a paged entry
 * k and v are page pools [num_pages,Hkv,page_size,D] (see extras). */
typedef struct fd_attention_args {
  fd_tensor q, k, v, lens, out;
} fd_attention_args;

/* The tensors only some entries take. Zero-initialise, set `size` to
 * sizeof(fd_attention_extras) and fill what the entry has; a tensor with
 * data == NULL is absent, and passing one an entry does not take is an
 * error, as is leaving out one it needs.
 *   block_table: paged entries, [B, max_pages] i32 (or i64 as compiled) on
 *     the device: token t of sequence b is row t % page_size of page
 *     block_table[b][t / page_size]. Pages a sequence reaches must be in
 *     [0, num_pages) (the caller's contract, as in vLLM).
 *     With CSR addressing (entries compiled with page_indptr, FlashInfer's
 *     kv_indices) block_table is the flat page list [nnz_pages].
 *   lse: entries compiled with an lse output, [B, Hq] f32: the natural
 *     log-sum-exp of each row's scores, -inf for an empty sequence.
 *   page_indptr: CSR entries, [B + 1] i32 (or i64 as compiled): sequence b's
 *     pages are block_table[page_indptr[b] .. page_indptr[b + 1]), token t
 *     row t % page_size of page block_table[page_indptr[b] + t / page_size].
 *     lens still gives the tokens (FlashInfer's last_page_len[b] is
 *     lens[b] - (page_indptr[b + 1] - page_indptr[b] - 1) * page_size). */
typedef struct fd_attention_extras {
  uint32_t size;
  uint32_t reserved;
  fd_tensor block_table;
  fd_tensor lse;
  fd_tensor page_indptr;
} fd_attention_extras;

/* How an entry is launched (see docs/bundle.md, "Split planning"). Filled by
 * the planning functions; run recomputes grids and the workspace layout from
 * entry, batch, max_len, num_splits and chunk. */
typedef struct fd_plan {
  int32_t entry;      /* entry index in the bundle */
  int32_t graph_safe; /* planned for maxima, for CUDA graph capture */
  int64_t batch;      /* largest batch a run may use */
  int64_t max_len;    /* longest sequence a run may see */
  int64_t sm_count;
  int64_t num_splits;
  int64_t chunk;
  uint64_t workspace_bytes; /* scratch a run needs, 256-byte aligned */
  int32_t variant;          /* launch variant (see fd_bundle_variant_name) */
  int32_t reserved;
} fd_plan;

typedef struct fd_bundle fd_bundle;
typedef struct fd_executable fd_executable;

/* The message of the last failed call on this thread ("" if none). Valid
 * until the next failing call on this thread; successful calls keep it. */
FD_RT_API const char *fd_last_error(void);

/* Parses and validates a bundle. */
FD_RT_API int fd_bundle_load_file(const char *path, fd_bundle **bundle);
FD_RT_API int fd_bundle_load_memory(const void *data, size_t size,
                                    fd_bundle **bundle);
/* Accepts NULL. Executables created from the bundle stay valid. */
FD_RT_API void fd_bundle_destroy(fd_bundle *bundle);

FD_RT_API int fd_bundle_entry_count(const fd_bundle *bundle, int32_t *count);
/* The name stays valid as long as the bundle. */
FD_RT_API int fd_bundle_entry_name(const fd_bundle *bundle, int32_t index,
                                   const char **name);
FD_RT_API int fd_bundle_find_entry(const fd_bundle *bundle, const char *name,
                                   int32_t *index);

/* What an entry computes and the tensors it takes, as its manifest says
 * (docs/bundle.md), for callers that allocate the tensors (FFI users have no
 * fd::rt::EntrySpec). Zero-initialise and set `size` to
 * sizeof(fd_entry_info), as for fd_attention_extras: a caller built against
 * an older header gets the fields its struct has. Strings stay valid as
 * long as the bundle. */
typedef struct fd_entry_info {
  uint32_t size;
  int32_t dtype;       /* FD_DTYPE_* of q, k, v, out (flat_gemm: x, w) */
  const char *op;      /* "decode_attention", "flat_gemm", "merge_states" */
  const char *softmax; /* "online" or "unified_max"; "" for flat_gemm */
  /* decode_attention (0 for flat_gemm): Hq, Hkv, D, and the tokens per page
   * of a paged KV cache (0: contiguous). merge_states: Hq and D. */
  int64_t num_q_heads;
  int64_t num_kv_heads;
  int64_t head_dim;
  int64_t page_size;
  double scale;
  int32_t lens_dtype;        /* FD_DTYPE_I32 or FD_DTYPE_I64; -1 flat_gemm */
  int32_t block_table_dtype; /* paged entries; -1 where none */
  int32_t has_lse; /* the entry takes (merge_states: writes) an lse output */
  /* flat_gemm (0 otherwise): y [M, gemm_n] = x [M, gemm_k] * w^T. */
  int32_t gemm_has_bias;
  int64_t gemm_n;
  int64_t gemm_k;
  int32_t gemm_out_dtype; /* FD_DTYPE_* of y; -1 for decode_attention */
  int32_t page_indptr_dtype; /* CSR paged entries; -1 where none */
  int32_t merge_num_states;  /* merge_states: the states merged; else 0 */
} fd_entry_info;
FD_RT_API int fd_bundle_entry_info(const fd_bundle *bundle, int32_t entry,
                                   fd_entry_info *info);

/* Plans without a GPU for a device of sm_count SMs. graph_safe != 0 plans
 * for the maxima (batch and max_len) for CUDA graph capture. Without a GPU
 * the kernels' occupancy is unknown, so the split count, and for online
 * softmax the choice between split and unsplit, can differ from what
 * fd_executable_plan chooses on the device. */
FD_RT_API int fd_bundle_plan(const fd_bundle *bundle, int32_t entry,
                             int64_t batch, int64_t max_len, int32_t sm_count,
                             int32_t graph_safe, fd_plan *plan);
FD_RT_API int fd_plan_workspace_size(const fd_plan *plan, uint64_t *bytes);

/* Binds the bundle to the primary context of device `device`. Fails with
 * FD_ERROR_NO_DEVICE when there is no driver or GPU. */
FD_RT_API int fd_executable_create(const fd_bundle *bundle, int32_t device,
                                   fd_executable **executable);
/* Accepts NULL. */
FD_RT_API void fd_executable_destroy(fd_executable *executable);
FD_RT_API int fd_executable_sm_count(const fd_executable *executable,
                                     int32_t *sm_count);
/* Loads the entry's kernels (once) and plans with the device's SM count and
 * the kernels' occupancy (resident CTAs per SM). */
FD_RT_API int fd_executable_plan(fd_executable *executable, int32_t entry,
                                 int64_t batch, int64_t max_len,
                                 int32_t graph_safe, fd_plan *plan);
/* fd_executable_plan for a batch whose lengths sum to total_tokens (in
 * [0, batch * max_len]; 0: unknown, as fd_executable_plan). A ragged batch
 * then gets a split by its real tokens, not by the longest sequence: shorter
 * chunks, more CTAs than one wave, the GPU's block scheduler balancing them.
 * Graph-safe plans stay correct for any lengths up to the maxima; the hint
 * only sizes the split. */
FD_RT_API int fd_executable_plan_tokens(fd_executable *executable,
                                        int32_t entry, int64_t batch,
                                        int64_t max_len, int64_t total_tokens,
                                        int32_t graph_safe, fd_plan *plan);
/* Launches the entry's kernels on `stream`. With a workspace of
 * plan->workspace_bytes (256-byte aligned) it allocates nothing and does not
 * synchronise, so it can be captured into a CUDA graph. workspace == NULL
 * with workspace_bytes == 0 allocates the workspace itself (not graph-safe)
 * when the plan needs one. */
FD_RT_API int fd_executable_run(fd_executable *executable, const fd_plan *plan,
                                const fd_attention_args *args, void *workspace,
                                uint64_t workspace_bytes,
                                struct CUstream_st *stream);
/* fd_executable_run with the tensors of paged entries and of entries with
 * an lse output (extras may be NULL: none). CUDA-graph safe as run is: the
 * block table and lengths are read on the device, grids come from the
 * plan. */
FD_RT_API int fd_executable_run_ex(fd_executable *executable,
                                   const fd_plan *plan,
                                   const fd_attention_args *args,
                                   const fd_attention_extras *extras,
                                   void *workspace, uint64_t workspace_bytes,
                                   struct CUstream_st *stream);

/* The checking mode for paged entries: checks on the device that every
 * lens[b] is in [0, max_pages * page_size] (CSR: that page_indptr is
 * non-decreasing within [0, nnz_pages] and lens[b] in [0, (page_indptr[b+1]
 * - page_indptr[b]) * page_size]) and every page a sequence reaches
 * is in [0, num_pages), waits for the result, and fails with
 * FD_ERROR_INVALID_ARGUMENT naming the first bad entry (sequence, slot,
 * value). Synchronises the stream: refused while it captures a CUDA graph.
 * Setting FD_CHECK_PAGES=1 in the environment makes every run of a paged
 * entry check first. */
FD_RT_API int fd_executable_check_pages(fd_executable *executable,
                                        const fd_plan *plan,
                                        const fd_attention_args *args,
                                        const fd_attention_extras *extras,
                                        struct CUstream_st *stream);

/* Measured launch-variant choices (split / unsplit / two_kernel /
 * single_launch) per shape, written by fd-bench --write-variant-table; see
 * include/fd/Runtime/VariantTable.h for the format. Once set on an
 * executable, fd_executable_plan* takes the variant of the nearest measured
 * (B, L) of the entry's shape within a factor of 2 of both (else the rules);
 * NULL restores the built-in rules. The
 * executable keeps its own reference: the table may be destroyed after.
 * A new executable plans with the table fd ships for its device, where
 * there is one (fd_variant_table_load_shipped); a ragged batch
 * (total_tokens below batch x max_len) is always planned by the rules. */
typedef struct fd_variant_table fd_variant_table;
FD_RT_API int fd_variant_table_load_file(const char *path,
                                         fd_variant_table **table);
/* Accepts NULL. */
FD_RT_API void fd_variant_table_destroy(fd_variant_table *table);
FD_RT_API int fd_executable_set_variant_table(fd_executable *executable,
                                              const fd_variant_table *table);
/* The variant table fd ships for the executable's device (by its name, e.g.
 * "NVIDIA H100 80GB HBM3"), the one a new executable starts with.
 * FD_ERROR_UNSUPPORTED when fd ships none for that device. Destroy it with
 * fd_variant_table_destroy. */
FD_RT_API int fd_variant_table_load_shipped(const fd_executable *executable,
                                            fd_variant_table **table);

/* ---- Flat GEMM (entries with op "flat_gemm"; docs/bundle.md) ----------- */

/* y [M,N] = x [M,K] * w [N,K]^T (+ bias [N]); all contiguous row-major,
 * x and w 16-byte aligned. bias.data == NULL: no bias (the entry decides
 * whether one is required). */
typedef struct fd_flat_gemm_args {
  fd_tensor x, w, bias, y;
} fd_flat_gemm_args;

/* Measured GEMM kernel choices per [N, K, dtype] (written by fd-tune). */
typedef struct fd_dispatch_table fd_dispatch_table;

FD_RT_API int fd_dispatch_table_load_file(const char *path,
                                          fd_dispatch_table **table);
/* A copy of the dispatch table fd ships for the executable's device (by its
 * name, e.g. "NVIDIA H200"), to pass to the runs below: fd's kernels and
 * cuBLAS as measured there (without a table a run keeps the entry's rules,
 * cuBLAS-free). FD_ERROR_UNSUPPORTED
 * when fd ships none for that device. Destroy it with
 * fd_dispatch_table_destroy. */
FD_RT_API int fd_dispatch_table_load_shipped(const fd_executable *executable,
                                             fd_dispatch_table **table);
/* Accepts NULL. */
FD_RT_API void fd_dispatch_table_destroy(fd_dispatch_table *table);

/* The GEMM kernel (its role, e.g. "gemv", "mma_m8", or "cublas" where the
 * table names it) a run with M rows would launch. table may be NULL (the
 * entry's dispatch rules). The name stays valid as long as the bundle. */
FD_RT_API int fd_bundle_flat_gemm_select(const fd_bundle *bundle, int32_t entry,
                                         int64_t m,
                                         const fd_dispatch_table *table,
                                         const char **variant);

/* Launches a flat_gemm entry on `stream`, choosing the GEMM kernel from M
 * (x's rows) and table (may be NULL; fd_dispatch_table_load_shipped has
 * the measured one of some devices), or the one whose role `variant` names
 * when variant != NULL. The kernels allocate nothing and do not synchronise
 * (graph-capturable). variant "cublas" runs cublasGemmEx instead (libcublas
 * loaded at run time; no bias; pitched rows allowed; FD_ERROR_UNSUPPORTED
 * without the library; first use per stream allocates its workspace:
 * docs/runtime.md). */
FD_RT_API int fd_executable_run_flat_gemm(fd_executable *executable,
                                          int32_t entry,
                                          const fd_flat_gemm_args *args,
                                          const fd_dispatch_table *table,
                                          const char *variant,
                                          struct CUstream_st *stream);
/* ---- Merging attention states (op "merge_states"; docs/bundle.md) ---- */

/* The num_states attention states of one merge (outs[i] [B, Hq, D] of the
 * entry's dtype, innermost stride 1; lses[i] [B, Hq] f32, natural logs, any
 * strides), out [B, Hq, D] and, for an entry that writes it, lse [B, Hq]
 * f32 (data NULL otherwise). out may be a state's out as the very same
 * view; lse must not be a state's lse. Set size to
 * sizeof(fd_merge_states_args). */
typedef struct fd_merge_states_args {
  uint32_t size;
  int32_t num_states;
  const fd_tensor *outs;
  const fd_tensor *lses;
  fd_tensor out;
  fd_tensor lse;
} fd_merge_states_args;

/* Merges by the log-sum-exp rule on `stream`: a row whose every lse is
 * -inf gets zeros and lse -inf. Validates every tensor before the launch;
 * allocates nothing and does not synchronise (graph-capturable). */
FD_RT_API int fd_executable_run_merge_states(fd_executable *executable,
                                             int32_t entry,
                                             const fd_merge_states_args *args,
                                             struct CUstream_st *stream);

/* Launch variants of an entry: alternative kernel sequences for the same
 * computation. fd-compile writes "split" and "unsplit" for online softmax,
 * "two_kernel" and "single_launch" for unified max; an entry whose manifest
 * lists no variants, and a flat_gemm entry, have one, named "". The name
 * stays valid as long as the bundle. Plans made without a variant use the
 * planner's choice: online softmax unsplit exactly when the split plan has
 * one split (B * Hkv CTAs already fill the GPU), else split; unified max
 * single_launch for MHA (num_q_heads == num_kv_heads) and two_kernel for
 * GQA/MQA; otherwise the first variant. */
FD_RT_API int fd_bundle_variant_count(const fd_bundle *bundle, int32_t entry,
                                      int32_t *count);
FD_RT_API int fd_bundle_variant_name(const fd_bundle *bundle, int32_t entry,
                                     int32_t variant, const char **name);
/* fd_executable_plan for the launch variant named `variant`. */
FD_RT_API int fd_executable_plan_variant(fd_executable *executable,
                                         int32_t entry, int64_t batch,
                                         int64_t max_len, int32_t graph_safe,
                                         const char *variant, fd_plan *plan);
/* Zeroes the plan's workspace on `stream` (stream-ordered memset). Unified
 * max needs it once after allocating a workspace: its kernels leave the
 * workspace zeroed for the next run and for CUDA-graph replays. */
FD_RT_API int fd_executable_init_workspace(fd_executable *executable,
                                           const fd_plan *plan, void *workspace,
                                           uint64_t workspace_bytes,
                                           struct CUstream_st *stream);
/* Unified max: byte offset in the workspace of the fallback-row counter, a
 * uint32 counting the (batch, query head) rows recomputed by the exact
 * fallback since it was last zeroed. */
FD_RT_API int fd_plan_fallback_counter_offset(const fd_bundle *bundle,
                                              const fd_plan *plan,
                                              uint64_t *offset);
/* Reads the counter (synchronises `stream`) / zeroes it (stream-ordered). */
FD_RT_API int fd_executable_read_fallback_count(fd_executable *executable,
                                                const fd_plan *plan,
                                                const void *workspace,
                                                struct CUstream_st *stream,
                                                uint32_t *count);
FD_RT_API int fd_executable_reset_fallback_count(fd_executable *executable,
                                                 const fd_plan *plan,
                                                 void *workspace,
                                                 struct CUstream_st *stream);

/* Unified max, run-time phi (docs/unified-max.md, "Re-centring phi"): the
 * kernels read phi (units of scale * q.k) from the workspace at every launch.
 * set_phi is a stream-ordered memset (graph-capturable); read_phi and
 * read_score_stats synchronise `stream`. */
FD_RT_API int fd_executable_set_phi(fd_executable *executable,
                                    const fd_plan *plan, void *workspace,
                                    float phi, struct CUstream_st *stream);
FD_RT_API int fd_executable_read_phi(fd_executable *executable,
                                     const fd_plan *plan, const void *workspace,
                                     struct CUstream_st *stream, float *phi);
/* Rows checked and fallen back, and the smallest and largest of their
 * largest scores, since the statistics were last zeroed. */
typedef struct fd_score_stats {
  uint32_t rows, fallbacks;
  float min_row_max, max_row_max; /* meaningful when rows > 0 */
} fd_score_stats;
FD_RT_API int fd_executable_read_score_stats(fd_executable *executable,
                                             const fd_plan *plan,
                                             const void *workspace,
                                             struct CUstream_st *stream,
                                             fd_score_stats *stats);
/* Once at least `min_rows` rows were checked since the last decision, and
 * more than `max_fallback_rate` of them fell back, moves phi to the middle of
 * the observed row maxima; a decision zeroes the statistics. Synchronises
 * `stream`. `decision` may be null. */
typedef struct fd_recentre_decision {
  int32_t decided, changed, covers;
  double old_phi, new_phi;
  fd_score_stats stats;
} fd_recentre_decision;
FD_RT_API int fd_executable_recentre_phi(fd_executable *executable,
                                         const fd_plan *plan, void *workspace,
                                         struct CUstream_st *stream,
                                         uint32_t min_rows,
                                         double max_fallback_rate,
                                         fd_recentre_decision *decision);

/* ---- Context-parallel decode across GPUs (docs/runtime.md) ----------- */

/* NCCL's unique id: rank 0 creates it and sends the bytes to every other
 * rank by its own means (a file, torch.distributed, MPI). */
typedef struct fd_nccl_unique_id {
  char internal[128];
} fd_nccl_unique_id;
typedef struct fd_communicator fd_communicator;
typedef struct fd_sharded_decode fd_sharded_decode;

/* NCCL is loaded at run time: $FD_LIBNCCL, else libnccl.so.2 (in a PyTorch
 * process, the copy PyTorch loaded). Without it these return
 * FD_ERROR_UNSUPPORTED. */
FD_RT_API int fd_nccl_unique_id_create(fd_nccl_unique_id *id);

/* Joins the communicator of `id` as `rank` of `world_size` on the
 * executable's device; times out (FD_ERROR_DRIVER, the communicator
 * aborted) when not every rank joins within timeout_seconds, in (0, 3600]. */
FD_RT_API int fd_communicator_create(const fd_executable *executable,
                                     const fd_nccl_unique_id *id,
                                     int32_t world_size, int32_t rank,
                                     double timeout_seconds,
                                     fd_communicator **communicator);
/* Borrows the caller's ncclComm_t (e.g. PyTorch's
 * ProcessGroupNCCL._comm_ptr()), which must be on the executable's device;
 * fd never destroys it. */
FD_RT_API int fd_communicator_borrow(const fd_executable *executable,
                                     void *nccl_comm,
                                     fd_communicator **communicator);
/* Accepts NULL. Sharded decodes built on it keep it alive. */
FD_RT_API void fd_communicator_destroy(fd_communicator *communicator);
FD_RT_API int fd_communicator_rank(const fd_communicator *communicator,
                                   int32_t *rank, int32_t *world_size);

/* Zero-initialise and set size to sizeof(fd_sharded_decode_options).
 *   max_batch: the largest batch a run takes, in [1, 65536] (0: 1); it sizes
 *     the exchange, the same bytes every step.
 *   timeout_seconds: the handshake's wait for every rank (0: 60).
 *   expected_world_size: the ranks planned for (0: the communicator's). */
typedef struct fd_sharded_decode_options {
  uint32_t size;
  int32_t expected_world_size;
  int64_t max_batch;
  double timeout_seconds;
} fd_sharded_decode_options;

/* This rank's context-parallel decode: `attention` a decode_attention entry
 * writing lse, `merge` a merge_states entry of world-size states (-1 for a
 * world of one rank). A collective: every rank calls it, and a rank whose
 * entries or options differ, or that never calls, is named in the error. */
FD_RT_API int fd_sharded_decode_create(fd_executable *executable,
                                       int32_t attention, int32_t merge,
                                       fd_communicator *communicator,
                                       const fd_sharded_decode_options *options,
                                       fd_sharded_decode **sharded);
/* Accepts NULL. */
FD_RT_API void fd_sharded_decode_destroy(fd_sharded_decode *sharded);

/* One step on `stream`: args and extras describe this rank's shard (q the
 * same on every rank; k, v, lens, block_table its part of each sequence,
 * lengths 0 allowed), args->out and extras->lse the merged result, which
 * every rank receives. `plan` is this rank's plan of the attention entry
 * for its shard, workspace that plan's. One all-gather, nothing allocated,
 * nothing synchronised: capturable into a CUDA graph. */
FD_RT_API int fd_sharded_decode_run(fd_sharded_decode *sharded,
                                    const fd_plan *plan,
                                    const fd_attention_args *args,
                                    const fd_attention_extras *extras,
                                    void *workspace, uint64_t workspace_bytes,
                                    struct CUstream_st *stream);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* FD_RUNTIME_FD_RUNTIME_H */
