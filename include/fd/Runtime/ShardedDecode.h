//===- ShardedDecode.h - Context-parallel decode across ranks ---*- C++ -*-===//
//
// Context (sequence) parallelism for decode: the KV sequence of every
// sequence is sharded across the ranks of a Communicator, each rank runs an
// fd decode_attention entry over its shard, and the ranks' attention states
// are merged so that every rank ends with the attention over the whole
// sequence. This is Flash-Decoding's split with the splits on different
// GPUs, and it merges the same way: each rank's entry writes its shard's
// (out, lse) straight into its slot of a gather buffer, one in-place
// ncclAllGather gives every rank all the slots, and a merge_states entry of
// num_states = world size combines them by the log-sum-exp rule. One
// collective per step, nothing allocated, nothing read on the host:
// capturable into a CUDA graph together with the caller's other work.
//
// Shards may differ in length from sequence to sequence and may be empty
// (length 0: that rank's state is out 0, lse -inf and weighs nothing). The
// shard's position in the sequence does not enter the result: fd's decode
// has no positional term, so the same tokens give the same attention in
// any order, and no offset is taken.
//
// The pieces (the shard's decode, the exchange, the merge) are public so
// that a single process can run every rank's shard on one GPU (a
// communicator-less ShardedDecode: the tests, and a model split across
// streams) and a benchmark can time each.
//
//===----------------------------------------------------------------------===//

#ifndef FD_RUNTIME_SHARDEDDECODE_H
#define FD_RUNTIME_SHARDEDDECODE_H

#include "fd/Runtime/Arguments.h"
#include "fd/Runtime/Bundle.h"
#include "fd/Runtime/Communicator.h"
#include "fd/Runtime/Executable.h"
#include "fd/Runtime/Export.h"
#include "fd/Runtime/MergeStates.h"
#include "fd/Runtime/Planner.h"
#include "fd/Runtime/Status.h"

#include <cstdint>
#include <memory>
#include <vector>

namespace fd::rt {

/// The most ranks one merge combines (a merge_states entry's states).
inline constexpr int kMaxShardRanks = static_cast<int>(fdb::kMaxMergedStates);
/// The largest batch a ShardedDecode may be built for.
inline constexpr int64_t kMaxShardBatch = 1 << 16;

/// Where a rank's state lives in its slot of the gather buffer: out [B, Hq,
/// D] of the entry's dtype, contiguous, then lse [B, Hq] f32. Every slot
/// is slabBytes; offsets are 256-byte aligned, as the kernels' 16-byte
/// accesses and NCCL's fast paths want.
struct ShardSlab {
  uint64_t outBytes = 0;
  uint64_t lseOffset = 0;
  uint64_t slabBytes = 0;
};

/// The slab of \p attention's state for batches up to \p maxBatch (in [1,
/// kMaxShardBatch]).
FD_RT_API Expected<ShardSlab> shardSlab(const EntrySpec &attention,
                                        int64_t maxBatch);

/// Checks that \p attention (decode_attention writing lse, whenever
/// \p worldSize > 1) and \p merge (merge_states of worldSize states, same
/// dtype, Hq and D; null when worldSize is 1) fit together.
FD_RT_API Status checkShardedEntries(const EntrySpec &attention,
                                     const EntrySpec *merge, int worldSize);

/// What each rank sends the others once, when its ShardedDecode is built:
/// a mismatch is an error naming the rank and the field, instead of a
/// collective of mismatched sizes that hangs or mixes heads. Plain data,
/// the same bytes on every host.
struct ShardDescriptor {
  static constexpr uint32_t kMagic = 0x66645344; // "fdSD"
  static constexpr uint32_t kVersion = 1;
  uint32_t magic = kMagic;
  uint32_t version = kVersion;
  int32_t rank = 0;
  int32_t worldSize = 0;
  int32_t dtype = 0;
  int32_t numQHeads = 0;
  int32_t numKvHeads = 0;
  int32_t headDim = 0;
  int32_t mergeWritesLse = 0;
  int32_t reserved = 0;
  int64_t maxBatch = 0;
  uint64_t slabBytes = 0;
  double scale = 0;
};
static_assert(sizeof(ShardDescriptor) == 64, "ShardDescriptor is wire data");

/// This rank's descriptor.
FD_RT_API ShardDescriptor describeShard(const EntrySpec &attention,
                                        const EntrySpec *merge, int rank,
                                        int worldSize, int64_t maxBatch,
                                        const ShardSlab &slab);

/// Checks the descriptors gathered from every rank (all[i] from rank i)
/// against \p mine: the first rank whose slot is missing (not arrived:
/// no magic) or differs is named with the field and both values.
FD_RT_API Status checkShardDescriptors(const ShardDescriptor &mine,
                                       const std::vector<ShardDescriptor> &all);

struct ShardedDecodeOptions {
  /// The largest batch run() will be called with: it sizes the gather
  /// buffer and every exchange (the same bytes every step, so that ranks
  /// with different batches still exchange matching sizes and a captured
  /// graph replays for any batch up to it).
  int64_t maxBatch = 1;
  /// How long create() waits for every rank's descriptor.
  double timeoutSeconds = kDefaultRankTimeoutSeconds;
  /// Ranks of the world the caller planned for (0: whatever the
  /// communicator has). A communicator of another size is an error.
  int expectedWorldSize = 0;
  /// Without a communicator: how many shards the process runs itself.
  int localShards = 1;
};

/// One rank's context-parallel decode. Not thread-safe (one step at a
/// time, on one stream: the exchange follows NCCL's ordering rules).
class FD_RT_API ShardedDecode {
public:
  /// Builds this rank's ShardedDecode over \p communicator: checks the
  /// entries, allocates the gather buffer, and exchanges descriptors with
  /// every other rank (a collective: every rank calls create, or it times
  /// out with an error that names the ranks not heard from). \p merge may
  /// be null when the world has one rank.
  static Expected<std::unique_ptr<ShardedDecode>>
  create(const BoundEntry &attention, const BoundEntry *merge,
         std::shared_ptr<Communicator> communicator,
         const ShardedDecodeOptions &options);

  /// Without a communicator: options.localShards shards, all run by this
  /// process (runShard for each, then merge).
  static Expected<std::unique_ptr<ShardedDecode>>
  createLocal(const BoundEntry &attention, const BoundEntry *merge,
              const ShardedDecodeOptions &options);

  ~ShardedDecode();
  ShardedDecode(const ShardedDecode &) = delete;
  ShardedDecode &operator=(const ShardedDecode &) = delete;

  int getRank() const { return rank; }
  int getWorldSize() const { return worldSize; }
  const ShardSlab &getSlab() const { return slab; }
  int64_t getMaxBatch() const { return maxBatch; }

  /// One step on \p stream: this rank's shard (\p args: q [B, Hq, D] the
  /// same on every rank, k/v/lens/block_table this rank's shard; out and,
  /// where the merge writes one, lse are the merged result every rank
  /// gets), with \p plan this rank's plan of the attention entry for its
  /// shard and \p workspace that plan's. B <= maxBatch. Needs a
  /// communicator.
  Status run(const Plan &plan, const AttentionArgs &args, void *workspace,
             uint64_t workspaceBytes, CUstream stream);

  /// The pieces of run(). runShard: shard \p shard's decode (args.out and
  /// args.lse are ignored: it writes slot \p shard). exchange: the
  /// all-gather (nothing with one rank or no communicator). merge: the
  /// slots' states for \p batch sequences into \p out and \p lse.
  Status runShard(int shard, const Plan &plan, const AttentionArgs &args,
                  void *workspace, uint64_t workspaceBytes, CUstream stream);
  Status exchange(CUstream stream);
  Status merge(int64_t batch, const TensorRef &out, const TensorRef &lse,
               CUstream stream);

private:
  ShardedDecode() = default;
  static Expected<std::unique_ptr<ShardedDecode>>
  build(const BoundEntry &attention, const BoundEntry *merge,
        const ShardedDecodeOptions &options, int worldSize);
  Status handshake(double timeoutSeconds);
  /// Slot \p shard's out and lse as tensors of \p batch sequences.
  TensorRef slotOut(int shard, int64_t batch) const;
  TensorRef slotLse(int shard, int64_t batch) const;

  const BoundEntry *attention = nullptr;
  const BoundEntry *mergeEntry = nullptr;
  std::shared_ptr<Communicator> communicator;
  int rank = 0, worldSize = 1;
  int64_t maxBatch = 0;
  ShardSlab slab;
  CUdeviceptr gather = 0;
};

} // namespace fd::rt

#endif // FD_RUNTIME_SHARDEDDECODE_H
