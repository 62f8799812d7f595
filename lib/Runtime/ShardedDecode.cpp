//===- ShardedDecode.cpp - Context-parallel decode across ranks -----------===//

#include "fd/Runtime/ShardedDecode.h"

#include "TensorCheck.h"

#include <cstring>
#include <string>

using namespace fd::rt;

namespace {
constexpr uint64_t kSlabAlign = 256;

uint64_t alignUp(uint64_t x, uint64_t a) { return (x + a - 1) / a * a; }

Status invalid(std::string message) {
  return Status::error(ErrorCode::InvalidArgument, std::move(message));
}

std::string entryName(const EntrySpec &e) { return "entry '" + e.name + "'"; }
} // namespace

Expected<ShardSlab> fd::rt::shardSlab(const EntrySpec &attention,
                                      int64_t maxBatch) {
  if (maxBatch < 1 || maxBatch > kMaxShardBatch)
    return invalid("maxBatch " + std::to_string(maxBatch) +
                   " is out of range [1, " + std::to_string(kMaxShardBatch) +
                   "]");
  ShardSlab s;
  const uint64_t rows = uint64_t(maxBatch) * uint64_t(attention.numQHeads);
  s.outBytes = rows * uint64_t(attention.headDim) * dtypeSize(attention.dtype);
  s.lseOffset = alignUp(s.outBytes, kSlabAlign);
  s.slabBytes = alignUp(s.lseOffset + rows * sizeof(float), kSlabAlign);
  return s;
}

Status fd::rt::checkShardedEntries(const EntrySpec &attention,
                                   const EntrySpec *merge, int worldSize) {
  if (attention.op != OpKind::DecodeAttention)
    return invalid(entryName(attention) + " is a " + attention.opName +
                   ", not a decode_attention entry");
  if (worldSize < 1 || worldSize > kMaxShardRanks)
    return invalid("world size " + std::to_string(worldSize) +
                   " is out of range [1, " + std::to_string(kMaxShardRanks) +
                   "] (a merge_states entry merges at most " +
                   std::to_string(kMaxShardRanks) + " states)");
  if (worldSize == 1)
    return Status::success();
  if (!attention.tensor(Tensor::Lse).present)
    return invalid(entryName(attention) +
                   " writes no log-sum-exp, which the merge across ranks "
                   "needs; compile it with lse(...)");
  if (!merge)
    return invalid("a world of " + std::to_string(worldSize) +
                   " ranks needs a merge_states entry of " +
                   std::to_string(worldSize) + " states");
  if (merge->op != OpKind::MergeStates)
    return invalid(entryName(*merge) + " is a " + merge->opName +
                   ", not a merge_states entry");
  if (merge->merge.numStates != worldSize)
    return invalid(entryName(*merge) + " merges " +
                   std::to_string(merge->merge.numStates) +
                   " states, but the world has " + std::to_string(worldSize) +
                   " ranks");
  if (merge->dtype != attention.dtype || merge->numQHeads != attention.numQHeads ||
      merge->headDim != attention.headDim)
    return invalid(entryName(*merge) + " (" + dtypeName(merge->dtype) +
                   ", Hq " + std::to_string(merge->numQHeads) + ", D " +
                   std::to_string(merge->headDim) + ") does not merge the "
                   "states of " + entryName(attention) + " (" +
                   dtypeName(attention.dtype) + ", Hq " +
                   std::to_string(attention.numQHeads) + ", D " +
                   std::to_string(attention.headDim) + ")");
  return Status::success();
}

ShardDescriptor fd::rt::describeShard(const EntrySpec &attention,
                                      const EntrySpec *merge, int rank,
                                      int worldSize, int64_t maxBatch,
                                      const ShardSlab &slab) {
  ShardDescriptor d;
  d.rank = rank;
  d.worldSize = worldSize;
  d.dtype = static_cast<int32_t>(attention.dtype);
  d.numQHeads = static_cast<int32_t>(attention.numQHeads);
  d.numKvHeads = static_cast<int32_t>(attention.numKvHeads);
  d.headDim = static_cast<int32_t>(attention.headDim);
  d.mergeWritesLse = merge && merge->tensor(Tensor::Lse).present ? 1 : 0;
  d.maxBatch = maxBatch;
  d.slabBytes = slab.slabBytes;
  d.scale = attention.scale;
  return d;
}

Status fd::rt::checkShardDescriptors(const ShardDescriptor &mine,
                                     const std::vector<ShardDescriptor> &all) {
  std::string missing;
  for (size_t i = 0; i < all.size(); ++i)
    if (all[i].magic != ShardDescriptor::kMagic)
      missing += (missing.empty() ? "" : ", ") + std::to_string(i);
  if (!missing.empty())
    return invalid("rank " + std::to_string(mine.rank) +
                   " received no ShardedDecode descriptor from rank(s) " +
                   missing);
  for (size_t i = 0; i < all.size(); ++i) {
    const ShardDescriptor &d = all[i];
    std::string r = "rank " + std::to_string(i);
    auto differs = [&](const char *field, const std::string &theirs,
                       const std::string &ours) {
      return invalid(r + "'s " + field + " is " + theirs + ", but rank " +
                     std::to_string(mine.rank) + "'s is " + ours);
    };
    if (d.version != mine.version)
      return differs("descriptor version", std::to_string(d.version),
                     std::to_string(mine.version));
    if (d.rank != static_cast<int32_t>(i))
      return invalid(r + "'s slot holds the descriptor of rank " +
                     std::to_string(d.rank));
#define FD_SAME(field, name, show)                                             \
  if (d.field != mine.field)                                                   \
    return differs(name, show(d.field), show(mine.field));
    auto num = [](auto v) { return std::to_string(v); };
    auto type = [](int32_t v) {
      return std::string(dtypeName(static_cast<DType>(v)));
    };
    FD_SAME(worldSize, "world size", num)
    FD_SAME(dtype, "dtype", type)
    FD_SAME(numQHeads, "num_q_heads", num)
    FD_SAME(numKvHeads, "num_kv_heads", num)
    FD_SAME(headDim, "head_dim", num)
    FD_SAME(mergeWritesLse, "merged-lse output (1: written)", num)
    FD_SAME(maxBatch, "maxBatch", num)
    FD_SAME(slabBytes, "slab bytes", num)
    FD_SAME(scale, "softmax scale", num)
#undef FD_SAME
  }
  return Status::success();
}

Expected<std::unique_ptr<ShardedDecode>>
ShardedDecode::build(const BoundEntry &attention, const BoundEntry *merge,
                     const ShardedDecodeOptions &options, int worldSize) {
  const EntrySpec *mergeSpec = merge ? &merge->getSpec() : nullptr;
  if (Status s = checkShardedEntries(attention.getSpec(), mergeSpec, worldSize);
      !s.ok())
    return s;
  Expected<ShardSlab> slab = shardSlab(attention.getSpec(), options.maxBatch);
  if (!slab)
    return slab.getStatus();
  if (merge && &merge->getContext() != &attention.getContext())
    return invalid("the attention and merge entries are bound to different "
                   "contexts");
  std::unique_ptr<ShardedDecode> d(new ShardedDecode());
  d->attention = &attention;
  d->mergeEntry = worldSize > 1 ? merge : nullptr;
  d->worldSize = worldSize;
  d->maxBatch = options.maxBatch;
  d->slab = *slab;
  if (worldSize == 1)
    return d; // the shard's decode writes the result itself
  const Context &context = attention.getContext();
  const DriverApi &api = context.getDriver();
  ContextGuard guard(context);
  if (!guard.getStatus().ok())
    return guard.getStatus();
  uint64_t bytes = slab->slabBytes * uint64_t(worldSize);
  CUresult r = api.cuMemAlloc(&d->gather, bytes);
  if (r != CUDA_SUCCESS) {
    d->gather = 0;
    return driverError(api, r,
                       "ShardedDecode: cuMemAlloc of the gather buffer (" +
                           std::to_string(bytes) + " bytes)");
  }
  return d;
}

Expected<std::unique_ptr<ShardedDecode>>
ShardedDecode::create(const BoundEntry &attention, const BoundEntry *merge,
                      std::shared_ptr<Communicator> communicator,
                      const ShardedDecodeOptions &options) {
  if (!communicator)
    return invalid("ShardedDecode::create: no communicator (createLocal runs "
                   "every shard in this process)");
  if (communicator->isBroken())
    return invalid("ShardedDecode::create: the communicator was aborted by "
                   "an earlier failure");
  if (Status s = checkRankTimeout(options.timeoutSeconds); !s.ok())
    return s.withContext("ShardedDecode::create");
  const int world = communicator->getWorldSize();
  if (options.expectedWorldSize != 0 && options.expectedWorldSize != world)
    return invalid("ShardedDecode::create: the communicator has " +
                   std::to_string(world) + " ranks, but " +
                   std::to_string(options.expectedWorldSize) +
                   " were expected");
  if (communicator->getContext().getDevice() !=
      attention.getContext().getDevice())
    return invalid("ShardedDecode::create: the communicator is on device " +
                   std::to_string(communicator->getContext().getOrdinal()) +
                   ", the attention entry on device " +
                   std::to_string(attention.getContext().getOrdinal()));
  Expected<std::unique_ptr<ShardedDecode>> d =
      build(attention, merge, options, world);
  if (!d)
    return d.getStatus().withContext("ShardedDecode::create");
  (*d)->communicator = std::move(communicator);
  (*d)->rank = (*d)->communicator->getRank();
  if (world > 1)
    if (Status s = (*d)->handshake(options.timeoutSeconds); !s.ok())
      return s.withContext("ShardedDecode::create");
  return d;
}

Expected<std::unique_ptr<ShardedDecode>>
ShardedDecode::createLocal(const BoundEntry &attention, const BoundEntry *merge,
                           const ShardedDecodeOptions &options) {
  Expected<std::unique_ptr<ShardedDecode>> d =
      build(attention, merge, options, options.localShards);
  if (!d)
    return d.getStatus().withContext("ShardedDecode::createLocal");
  return d;
}

ShardedDecode::~ShardedDecode() {
  if (!gather)
    return;
  ContextGuard guard(attention->getContext());
  if (guard.getStatus().ok())
    (void)attention->getContext().getDriver().cuMemFree(gather);
}

Status ShardedDecode::handshake(double timeoutSeconds) {
  const Context &context = attention->getContext();
  const DriverApi &api = context.getDriver();
  ContextGuard guard(context);
  if (!guard.getStatus().ok())
    return guard.getStatus();
  const ShardDescriptor mine =
      describeShard(attention->getSpec(),
                    mergeEntry ? &mergeEntry->getSpec() : nullptr, rank,
                    worldSize, maxBatch, slab);
  const size_t each = sizeof(ShardDescriptor);
  // The descriptors travel through the head of the gather buffer (it holds
  // at least 256 bytes per rank); a zeroed slot is one that never arrived.
  CUstream stream = nullptr;
  CUresult r = api.cuStreamCreate(&stream, CU_STREAM_NON_BLOCKING);
  if (r != CUDA_SUCCESS)
    return driverError(api, r, "cuStreamCreate");
  struct StreamDestroyer {
    const DriverApi &api;
    CUstream stream;
    ~StreamDestroyer() { (void)api.cuStreamDestroy(stream); }
  } destroy{api, stream};
  // Overwritten by the copies below before it is read.
  std::vector<ShardDescriptor> all(worldSize);
  if ((r = api.cuMemsetD8Async(gather, 0, each * worldSize, stream)) !=
          CUDA_SUCCESS ||
      (r = api.cuMemcpyHtoDAsync(gather + each * rank, &mine, each, stream)) !=
          CUDA_SUCCESS)
    return driverError(api, r, "the ShardedDecode handshake's copies");
  Status gathered = communicator->allGather(
      reinterpret_cast<void *>(gather + each * rank),
      reinterpret_cast<void *>(gather), each, stream,
      "the ShardedDecode handshake");
  if (gathered.ok())
    gathered = communicator->waitForPeers(stream, timeoutSeconds,
                                          "the ShardedDecode handshake");
  if (!gathered.ok()) {
    // Which descriptors did arrive says who to look at. Read on a stream of
    // its own: the handshake's may never drain.
    CUstream reader = nullptr;
    if (api.cuStreamCreate(&reader, CU_STREAM_NON_BLOCKING) == CUDA_SUCCESS) {
      if (api.cuMemcpyDtoHAsync(all.data(), gather, each * worldSize,
                                reader) == CUDA_SUCCESS &&
          api.cuStreamSynchronize(reader) == CUDA_SUCCESS) {
        std::string silent;
        for (int i = 0; i < worldSize; ++i)
          if (i != rank && all[i].magic != ShardDescriptor::kMagic)
            silent += (silent.empty() ? "" : ", ") + std::to_string(i);
        if (!silent.empty())
          gathered = Status::error(
              gathered.getCode(),
              gathered.getMessage() + "; no descriptor reached rank " +
                  std::to_string(rank) + " from rank(s) " + silent);
      }
      (void)api.cuStreamDestroy(reader);
    }
    return gathered;
  }
  if ((r = api.cuMemcpyDtoHAsync(all.data(), gather, each * worldSize,
                                 stream)) != CUDA_SUCCESS ||
      (r = api.cuStreamSynchronize(stream)) != CUDA_SUCCESS)
    return driverError(api, r, "reading the ShardedDecode handshake");
  return checkShardDescriptors(mine, all);
}

TensorRef ShardedDecode::slotOut(int shard, int64_t batch) const {
  const EntrySpec &e = attention->getSpec();
  return makeTensorRef(
      reinterpret_cast<void *>(gather + slab.slabBytes * uint64_t(shard)),
      e.dtype, {batch, e.numQHeads, e.headDim});
}

TensorRef ShardedDecode::slotLse(int shard, int64_t batch) const {
  const EntrySpec &e = attention->getSpec();
  return makeTensorRef(reinterpret_cast<void *>(gather +
                                                slab.slabBytes * uint64_t(shard) +
                                                slab.lseOffset),
                       DType::F32, {batch, e.numQHeads});
}

static Expected<int64_t> stepBatch(const AttentionArgs &args,
                                   int64_t maxBatch) {
  if (args.q.rank < 1)
    return argError("q", "needs rank 3 ([B, Hq, D]), got rank " +
                             std::to_string(args.q.rank));
  int64_t b = args.q.sizes[0];
  if (b < 0 || b > maxBatch)
    return argError("q", "batch " + std::to_string(b) +
                             " is out of range [0, maxBatch " +
                             std::to_string(maxBatch) +
                             "] of this ShardedDecode");
  return b;
}

Status ShardedDecode::runShard(int shard, const Plan &plan,
                               const AttentionArgs &args, void *workspace,
                               uint64_t workspaceBytes, CUstream stream) {
  const char *what = "ShardedDecode: the shard's decode";
  const int shards = communicator ? 1 : worldSize;
  const int own = communicator ? rank : shard;
  if (communicator ? shard != rank : (shard < 0 || shard >= shards))
    return invalid(std::string(what) + ": shard " + std::to_string(shard) +
                   (communicator ? " is not this rank's (" +
                                       std::to_string(rank) + ")"
                                 : " is out of range [0, " +
                                       std::to_string(shards) + ")"));
  Expected<int64_t> b = stepBatch(args, maxBatch);
  if (!b)
    return b.getStatus().withContext(what);
  if (worldSize == 1)
    return attention->run(plan, args, workspace, workspaceBytes, stream);
  AttentionArgs shardArgs = args;
  shardArgs.out = slotOut(own, *b);
  shardArgs.lse = slotLse(own, *b);
  return attention->run(plan, shardArgs, workspace, workspaceBytes, stream);
}

Status ShardedDecode::exchange(CUstream stream) {
  if (!communicator || worldSize == 1)
    return Status::success();
  // Always the whole slab: every rank sends the same bytes whatever its
  // batch, and a captured exchange serves every batch up to maxBatch.
  const uint64_t bytes = slab.slabBytes;
  return communicator->allGather(
      reinterpret_cast<void *>(gather + bytes * uint64_t(rank)),
      reinterpret_cast<void *>(gather), bytes, stream,
      "ShardedDecode: the exchange of attention states");
}

Status ShardedDecode::merge(int64_t batch, const TensorRef &out,
                            const TensorRef &lse, CUstream stream) {
  if (worldSize == 1)
    return Status::success();
  if (batch < 0 || batch > maxBatch)
    return invalid("ShardedDecode: merge of batch " + std::to_string(batch) +
                   " is out of range [0, maxBatch " + std::to_string(maxBatch) +
                   "]");
  MergeStatesArgs m;
  m.numStates = worldSize;
  for (int i = 0; i < worldSize; ++i) {
    m.outs[i] = slotOut(i, batch);
    m.lses[i] = slotLse(i, batch);
  }
  m.out = out;
  m.lse = lse;
  return MergeStates(*mergeEntry).run(m, stream).withContext(
      "ShardedDecode: the merge across ranks");
}

Status ShardedDecode::run(const Plan &plan, const AttentionArgs &args,
                          void *workspace, uint64_t workspaceBytes,
                          CUstream stream) {
  if (!communicator)
    return invalid("ShardedDecode::run needs a communicator; a local "
                   "ShardedDecode runs runShard for each shard, then merge");
  Expected<int64_t> b = stepBatch(args, maxBatch);
  if (!b)
    return b.getStatus().withContext("ShardedDecode::run");
  if (worldSize == 1)
    return attention->run(plan, args, workspace, workspaceBytes, stream);
  // The merged result is checked before anything is launched, so a bad out
  // fails here rather than after the exchange. Either way a rank that
  // returns an error leaves its peers' exchange waiting for it: the caller
  // stops every rank (or aborts the communicator), as with any collective.
  MergeStatesArgs probe;
  probe.numStates = worldSize;
  for (int i = 0; i < worldSize; ++i) {
    probe.outs[i] = slotOut(i, *b);
    probe.lses[i] = slotLse(i, *b);
  }
  probe.out = args.out;
  probe.lse = args.lse;
  if (Expected<int64_t> v = validateMergeStatesArgs(mergeEntry->getSpec(), probe);
      !v)
    return v.getStatus().withContext("ShardedDecode::run: the merged result");
  if (Status s = runShard(rank, plan, args, workspace, workspaceBytes, stream);
      !s.ok())
    return s;
  if (Status s = exchange(stream); !s.ok())
    return s;
  return merge(*b, args.out, args.lse, stream);
}
