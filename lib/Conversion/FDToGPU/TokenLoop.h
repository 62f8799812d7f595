//===- TokenLoop.h - the split-attention work of one CTA --------*- C++ -*-===//
//
// Private to lib/Conversion/FDToGPU. What every split-attention kernel does
// for its (split, KV head, sequence): the thread layout, the query rows, the
// token loop with its online-softmax or fixed-max state, and the combination
// of the CTA's thread groups through shared memory. The online-softmax
// partial kernel (FDToGPU.cpp) and the unified-max kernels, whose exact
// fallback is online softmax too (UnifiedMaxKernels.cpp), are built from
// these, so a change to the loop reaches every kernel.
//
//===----------------------------------------------------------------------===//
#ifndef FD_LIB_CONVERSION_FDTOGPU_TOKENLOOP_H
#define FD_LIB_CONVERSION_FDTOGPU_TOKENLOOP_H

#include "KernelUtils.h"

#include "fd/Dialect/FD/IR/FDOps.h"

#include <functional>
#include <utility>

namespace mlir::fd::gpu_kernels {

/// Online: a running max with correction factors. FixedMax: 2^(x - phi)
/// with no rescaling (unified max); `m` then only records the largest score.
enum class Mode { Online, FixedMax };

/// Per-thread layout of the token loop: groups of D/8 lanes cover one row
/// with 16-byte loads, `rows` groups walk the tokens interleaved.
struct Layout {
  int64_t headDim, threadsPerRow, rows, blockSize, unroll;
  Value tid, lane, slot, d0;
};

Layout makeLayout(KernelEmitter &e, int64_t headDim, int64_t blockSize,
                  int64_t unroll);

/// The query fragment of `head`, pre-scaled into the log2 domain.
Value loadQuery(KernelEmitter &e, const Layout &l, Value q, Value batch,
                Value head, double scale);

/// Per-thread state of each query head after the token loop.
struct ThreadState {
  SmallVector<Value> m, l, acc;
};

/// The token loop over [begin, end) for the heads of `qFrag`. The trip count
/// is CTA-uniform (full-warp shuffles inside); rows past `end` are clamped
/// to a valid token and masked. `phiLog2` (FixedMax only, null for Online) is phi in
/// the log2 domain, a kernel value: the unified kernels read phi from the
/// workspace so that the runtime can re-centre it without recompiling.
ThreadState emitTokenLoop(KernelEmitter &e, const Layout &lay,
                          ArrayRef<Value> qFrag, const KVCacheOperands &kv,
                          Value batch,
                          Value kvHead, Value begin, Value end, Mode mode,
                          Value phiLog2);

/// Shared buffers for combining the thread groups of one CTA.
struct SharedBuffers {
  Value acc, max, sum, bcast;
};

/// The buffers of `fn`'s CTA: `withCombine` those of combineGroups,
/// `withBroadcast` 4 floats for broadcasting a decision to the CTA.
SharedBuffers makeShared(gpu::GPUFuncOp fn, KernelEmitter &e, const Layout &lay,
                         bool withCombine, bool withBroadcast);

/// The combine of `slots` partial states (max, sum, acc) of one head into
/// the CTA's: every thread gets (max, sum) and perElement(d, acc_d, sum)
/// runs for the elements d = tid + k * threads it owns. Online: each slot
/// weighted by 2^(max_j - max); fixed max: plain sums. Shared by both
/// engines, whose slots are thread groups and warps.
std::pair<Value, Value>
combineSlots(KernelEmitter &e, int64_t slots, function_ref<Value(int64_t)> max,
             function_ref<Value(int64_t)> sum,
             function_ref<Value(int64_t, Value)> acc, Mode mode, Value tid,
             int64_t threads, int64_t headDim,
             function_ref<void(Value, Value, Value)> perElement);

/// Combines one head's per-group state across the CTA. Every thread gets
/// the CTA's (max, sum); `perElement(d, acc_d, sum)` runs for the elements d
/// this thread owns (d = tid + k * blockSize). Ends without a barrier: the
/// caller separates reuses of the buffers.
std::pair<Value, Value>
combineGroups(KernelEmitter &e, const Layout &lay, const SharedBuffers &sb,
              Value m, Value l, Value acc, Mode mode,
              function_ref<void(Value, Value, Value)> perElement);

/// Which token loop a split-attention kernel runs.
enum class Engine {
  /// Thread groups of D/8 lanes per token row, one dot product per query
  /// head (emitTokenLoop): best for MHA, where a K row serves one head.
  CudaCores,
  /// The group's query heads as the m side of mma.sync m16n8k16 and the
  /// tokens as n (MmaSplitWork.cpp): a K/V row serves every head of the
  /// group at the cost of one MMA, not `group` dot products.
  TensorCores,
};

/// The engine of the partial kernels for `shape`: tensor cores for group
/// sizes in [options.mmaMinGroup, kMmaMaxGroup] (mmaMinGroup 0: never) when
/// D is a multiple of 64 up to kMmaMaxHeadDim.
inline constexpr int64_t kMmaMaxGroup = 16, kMmaMaxHeadDim = 256;

/// The most CTAs of a split_cluster kernel's cluster (sm_90's non-portable
/// limit: above 8 the runtime opts the kernel in when it loads it).
inline constexpr int64_t kMaxClusterSplits = ::fdb::kMaxClusterCtas;
Engine chooseEngine(const FDToGPUOptions &options, const AttentionShape &shape);

/// Threads per CTA of a split-attention kernel on `engine` for `shape`: the
/// CUDA cores' block-size; 32 x mma-warps on tensor cores (4 warps below
/// D = 128).
int64_t threadsFor(Engine engine, const FDToGPUOptions &options,
                   const AttentionShape &shape);

/// Combines query head `i` of the group across the CTA, as combineGroups
/// does: returns (max, sum) to every thread and calls perElement(d, acc_d,
/// sum) for the elements d = tid + k * threads it owns.
using CombineFn = std::function<std::pair<Value, Value>(
    int64_t i, function_ref<void(Value, Value, Value)> perElement)>;

/// The token range and state of the CTA (split, KV head, sequence) =
/// (block x, y, z) over `chunk`-token splits.
struct SplitWork {
  Value split, kvHead, batch, len, begin, end;
  /// split x chunk, before the length clamps it (w.begin): the first token
  /// of a non-empty split, known before the length is. Null for the
  /// split_cluster kernel (its chunk comes from the length).
  Value firstToken;
  /// The query heads of the KV head's group.
  SmallVector<Value> heads;
  /// The CTA's combined state per head. When combineReusesBuffers (the
  /// CUDA-core engine, which stages one head at a time), the caller
  /// separates consecutive calls with a barrier.
  CombineFn combine;
  /// False for the tensor-core engine: its warps' states of every head are
  /// in shared memory at once, so the heads' combines need no barrier
  /// between them and their loads overlap.
  bool combineReusesBuffers = true;
};

/// Everything before the combine: block ids, the split's token range, the
/// group's query rows and the token loop of `engine`. `lay` must be made
/// with threadsFor(engine). The CUDA-core engine takes its combine buffers
/// as static shared memory; the tensor-core engine takes dynamic shared
/// memory and records its size on `fn` (fd.dynamic_smem). `combineBuffers`
/// (CUDA cores only; made here if null) lets a kernel that also needs
/// combineGroups for something else share the buffers.
///
/// `chunk` null: the split_cluster kernel, whose `clusterSplits` CTAs (block
/// x = the cluster rank) split each sequence into equal chunks of whole
/// 64-token tiles from its own length, read on the device.
SplitWork emitSplitWork(gpu::GPUFuncOp fn, KernelEmitter &e, const Layout &lay,
                        Engine engine, int64_t mmaStages,
                        const AttentionShape &shape,
                        double scale, Value q, const KVCacheOperands &kv,
                        Value lens,
                        Value chunk, Mode mode, Value phiLog2,
                        const SharedBuffers *combineBuffers = nullptr,
                        int64_t clusterSplits = 0,
                        bool speculativeFirstTile = false);

/// The tensor-core engine's first tile of K and V from token `first` of
/// (batch, kvHead) into L2, rows past the cache's capacity left out, by
/// `threads` threads: issued before the length's first use, so the tile's
/// DRAM latency overlaps the length's instead of following it (a contiguous
/// cache only; a paged one needs the table first).
void emitMmaPrefetchFirstTile(KernelEmitter &e, Value tid, int64_t threads,
                              const AttentionShape &shape,
                              const KVCacheOperands &kv, Value batch,
                              Value kvHead, Value first);

/// Bytes of dynamic shared memory the tensor-core engine's combine of its
/// `warps` warps uses from offset 0 (w.combine reads them): a kernel may
/// keep other state past them across the combine.
int64_t mmaCombineBytes(int64_t headDim, int64_t warps);

/// The tensor-core ring depth when convert-fd-to-gpu's mma-stages is 0, as
/// measured on the H200 (docs/perf.md, sessions 6 and 8): 2 at D = 256 (3
/// stages were 1-4% slower); at D <= 128, 4 for the split kernels (one wave
/// of CTAs, one per SM, 3 tiles in flight) and 3 for the unsplit kernel,
/// which runs when the sequences alone fill the GPU (often several waves):
/// two 100 KB CTAs per SM hide one CTA's prologue and tail under the
/// other's stream, 2.4-3.7% faster at B = 32 and 64.
int64_t defaultMmaStages(int64_t headDim, bool unsplit);

/// The tensor-core engine's part of emitSplitWork (MmaSplitWork.cpp): the
/// token loop over [w.begin, w.end) and w.combine, with a ring of
/// `stages` tiles (0: defaultMmaStages of a split kernel). `bounds` sets
/// w.begin and w.end; it is called once the copies that need no length
/// (Q's, and with w.firstToken a contiguous cache's first tile) are issued.
void emitMmaTokenLoop(gpu::GPUFuncOp fn, KernelEmitter &e, const Layout &lay,
                      int64_t stages, const AttentionShape &shape,
                      double scale, Value q,
                      const KVCacheOperands &kv, Mode mode, Value phiLog2,
                      SplitWork &w, function_ref<void()> bounds);

} // namespace mlir::fd::gpu_kernels

#endif // FD_LIB_CONVERSION_FDTOGPU_TOKENLOOP_H
