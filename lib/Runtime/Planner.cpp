//===- Planner.cpp - Planning one decode-attention call -------------------===//

#include "fd/Runtime/Planner.h"

#include <algorithm>
#include <tuple>

using namespace fd::rt;
namespace variant = fdb::variant;

using HostSplitFormula = fdb::SplitFormula<fdb::IntOps, int64_t>;

/// Largest batch / length / SM count accepted. lens are i32 on the device,
/// and these bounds keep every product in the formulas inside int64.
static constexpr int64_t kMaxValue = INT32_MAX;

SymbolValues fd::rt::getSymbolValues(const EntrySpec &entry, int64_t batch,
                                     int64_t numSplits, int64_t chunk,
                                     int64_t cacheLen) {
  SymbolValues values;
  values.set(Symbol::B, batch);
  values.set(Symbol::Hq, entry.numQHeads);
  values.set(Symbol::Hkv, entry.numKvHeads);
  values.set(Symbol::D, entry.headDim);
  values.set(Symbol::L, cacheLen);
  values.set(Symbol::S, numSplits);
  values.set(Symbol::Chunk, chunk);
  return values;
}

/// The ranges every plan needs: 1 <= batch and 0 <= maxLen, both within
/// the kernels' 32-bit sizes.
static Status checkBatchAndLength(int64_t batch, int64_t maxLen) {
  if (batch < 1 || batch > kMaxValue)
    return Status::error(ErrorCode::InvalidArgument,
                         "batch " + std::to_string(batch) +
                             " is out of range [1, 2147483647]");
  if (maxLen < 0 || maxLen > kMaxValue)
    return Status::error(ErrorCode::InvalidArgument,
                         "maxLen " + std::to_string(maxLen) +
                             " is out of range [0, 2147483647]");
  return Status::success();
}

/// \p choice with its chunk at most kMaxValue (the kernels' i32 lengths;
/// makePlan refuses more). Rounding ceil(maxLen / S) up to chunk_align can
/// pass INT32_MAX (S = 1 at max_len = INT32_MAX gives 2^31). The clamped
/// chunk INT32_MAX is still >= maxLen, so split 0 covers every token and
/// starts at 0, where alignment does not matter; later splits are empty,
/// as rounding up already leaves some.
static SplitChoice clampChunk(SplitChoice choice) {
  choice.chunk = std::min(choice.chunk, kMaxValue);
  return choice;
}

Expected<SplitChoice> fd::rt::chooseSplits(const SplitPolicy &policy,
                                           int64_t batch, int64_t numKvHeads,
                                           int64_t maxLen, int64_t smCount,
                                           int64_t residentCtasPerSm,
                                           int64_t totalTokens) {
  if (Status range = checkBatchAndLength(batch, maxLen); !range.ok())
    return range;
  if (smCount < 1 || smCount > 65535)
    return Status::error(ErrorCode::InvalidArgument,
                         "smCount " + std::to_string(smCount) +
                             " is out of range [1, 65535]");
  if (numKvHeads < 1)
    return Status::error(ErrorCode::InvalidArgument,
                         "num_kv_heads must be at least 1");
  if (policy.raggedWaves < 1 || policy.raggedWaves > kMaxRaggedWaves)
    return Status::error(ErrorCode::InvalidArgument,
                         "ragged_waves " + std::to_string(policy.raggedWaves) +
                             " is out of range [1, " +
                             std::to_string(kMaxRaggedWaves) + "]");
  if (totalTokens < 0 || totalTokens > batch * maxLen)
    return Status::error(ErrorCode::InvalidArgument,
                         "total_tokens " + std::to_string(totalTokens) +
                             " is out of range [0, batch * max_len = " +
                             std::to_string(batch * maxLen) + "]");

  fdb::IntOps ops;
  HostSplitFormula formula{ops};
  SplitChoice choice;
  switch (policy.mode) {
  case SplitMode::Auto: {
    // Enough CTAs to fill every SM ctas_per_sm times, but no split shorter
    // than min_chunk and no more than max_splits.
    // Real tokens where known: a ragged batch is Hkv * totalTokens / maxLen
    // sequences of the longest length.
    int64_t work = totalTokens > 0 && maxLen > 0
                       ? std::max<int64_t>(
                             1, ops.ceilDiv(numKvHeads * totalTokens, maxLen))
                       : batch * numKvHeads;
    // One wave suits equal lengths: every CTA streams a full chunk. With
    // unequal ones a chunk of a whole SM's share leaves the SMs that drew
    // short sequences idle while the others finish theirs, so a ragged
    // batch aims at raggedWaves waves of shorter chunks.
    int64_t waves = totalTokens > 0 && totalTokens < batch * maxLen
                        ? policy.raggedWaves
                        : 1;
    int64_t splits =
        residentCtasPerSm > 0
            // The most splits that still fit in `waves` waves of resident
            // CTAs (ctas_per_sm caps the CTAs per SM counted).
            ? formula.splitsInOneWave(
                  work, waves * smCount *
                            std::min(policy.ctasPerSm, residentCtasPerSm))
            : formula.splitsToFill(work, waves * smCount * policy.ctasPerSm);
    std::tie(choice.numSplits, choice.chunk) = formula.finish(
        splits, maxLen, policy.minChunk, policy.maxSplits, policy.chunkAlign);
    return clampChunk(choice);
  }
  case SplitMode::Fixed:
    choice.numSplits = policy.numSplits;
    choice.chunk =
        formula.chunkForSplits(policy.numSplits, maxLen, policy.chunkAlign);
    return clampChunk(choice);
  case SplitMode::Chunk:
    choice.chunk = policy.chunkSize;
    choice.numSplits = std::max<int64_t>(1, ops.ceilDiv(maxLen, choice.chunk));
    return choice;
  }
  return Status::error(ErrorCode::Internal, "unknown split mode");
}

size_t fd::rt::getDefaultVariant(const EntrySpec &entry) {
  // Measured with fd-bench on an H100 (docs/unified-max.md): one query head
  // per KV head (MHA), the single launch is the fastest (1-7% over online
  // softmax); with GQA groups each CTA's atomics and the last CTA's serial
  // tail cover several heads, and it lost 2-11% where the two-kernel
  // variant stayed within 0-4% of online softmax.
  int single = entry.findVariant(variant::kSingleLaunch);
  int two = entry.findVariant(variant::kTwoKernel);
  if (single >= 0 && (entry.numQHeads == entry.numKvHeads || two < 0))
    return static_cast<size_t>(single);
  return two >= 0 ? static_cast<size_t>(two) : 0;
}

/// The split of variant \p v: one split over the whole context for the
/// unsplit variant (one CTA walks each sequence), else the split formula
/// with that variant's occupancy.
static Expected<SplitChoice> splitFor(const EntrySpec &entry, size_t v,
                                      const PlanRequest &request) {
  if (entry.variants[v].name == variant::kUnsplit) {
    if (Status range = checkBatchAndLength(request.batch, request.maxLen);
        !range.ok())
      return range;
    fdb::IntOps ops;
    HostSplitFormula formula{ops};
    return clampChunk(SplitChoice{
        1, formula.chunkForSplits(1, request.maxLen,
                                  std::max<int64_t>(1, entry.split.chunkAlign))});
  }
  if (entry.variants[v].name == variant::kSplitCluster) {
    // The kernel splits each sequence over its cluster's CTAs from the
    // length on the device; the plan reports the CTAs and the longest
    // sequence's chunk (whole 64-token tiles), which no kernel reads.
    if (Status range = checkBatchAndLength(request.batch, request.maxLen);
        !range.ok())
      return range;
    const std::vector<KernelSpec> &kernels = entry.variants[v].kernels;
    int64_t ctas = kernels.empty() ? 1 : kernels.front().cluster[0];
    fdb::IntOps ops;
    int64_t chunk = ops.ceilDiv(ops.ceilDiv(request.maxLen, ctas),
                                variant::kSplitClusterChunkAlign) *
                    variant::kSplitClusterChunkAlign;
    return clampChunk(SplitChoice{ctas, std::max<int64_t>(chunk, 1)});
  }
  return chooseSplits(entry.split, request.batch, entry.numKvHeads,
                      request.maxLen, request.smCount,
                      request.getResidentCtas(v), request.totalTokens);
}

Expected<PlanChoice> fd::rt::choosePlan(const EntrySpec &entry,
                                        const PlanRequest &request) {
  size_t numVariants = entry.variants.size();
  if (request.variant >= static_cast<int>(numVariants) || numVariants == 0)
    return Status::error(ErrorCode::InvalidArgument,
                         "entry '" + entry.name + "' has no variant " +
                             std::to_string(request.variant) + " (it has " +
                             std::to_string(numVariants) + ")");
  PlanChoice choice;
  if (request.variant >= 0) {
    choice.variant = static_cast<size_t>(request.variant);
    choice.split = splitFor(entry, choice.variant, request);
    return choice;
  }
  // A table holds measurements of equal lengths (fd-bench writes no line
  // for a ragged case): a ragged batch's best variant is not a property of
  // (B, L) alone, so the rules below plan it.
  const bool ragged = request.totalTokens > 0 &&
                      request.totalTokens < request.batch * request.maxLen;
  if (request.variantTable && !ragged)
    if (std::optional<size_t> measured = request.variantTable->lookup(
            entry, request.batch, request.maxLen)) {
      choice.variant = *measured;
      choice.split = splitFor(entry, choice.variant, request);
      return choice;
    }
  // A ragged GQA batch whose cluster CTAs fill the GPU at least once:
  // split_cluster splits every sequence evenly from its own length, where
  // the split variant sizes one chunk for the longest. Measured on an H100
  // (docs/perf.md, session 17): 4 CTAs per cluster were 0.8-5% faster than
  // split on every such ragged case (B = 8-64, lengths uniform up to 8K-32K)
  // and lost below one wave (B = 2: 1.80x against 1.45x of the floor), with
  // MHA (1.5% behind) and on equal lengths (1.3-1.4x behind at B = 4 and 8).
  if (int cluster = entry.findVariant(variant::kSplitCluster);
      cluster >= 0 && entry.numQHeads > entry.numKvHeads &&
      request.totalTokens > 0 && request.batch > 0 &&
      request.totalTokens < request.batch * request.maxLen &&
      !entry.variants[cluster].kernels.empty()) {
    int64_t ctas = int64_t(entry.variants[cluster].kernels[0].cluster[0]) *
                   request.batch * entry.numKvHeads;
    if (ctas >= request.smCount) {
      choice.variant = static_cast<size_t>(cluster);
      choice.split = splitFor(entry, choice.variant, request);
      return choice;
    }
  }
  int split = entry.findVariant(variant::kSplit);
  int unsplit = entry.findVariant(variant::kUnsplit);
  if (split < 0 || unsplit < 0) {
    choice.variant = getDefaultVariant(entry);
    choice.split = splitFor(entry, choice.variant, request);
    return choice;
  }
  // The split variant's plan decides: one split means B * Hkv CTAs already
  // fill the GPU. Out-of-range arguments: planning the split variant
  // reports them.
  choice.variant = static_cast<size_t>(split);
  choice.split = splitFor(entry, choice.variant, request);
  if (choice.split && choice.split->numSplits == 1) {
    choice.variant = static_cast<size_t>(unsplit);
    choice.split = splitFor(entry, choice.variant, request);
  }
  return choice;
}

/// A request with one occupancy figure for every variant.
static PlanRequest makeRequest(const EntrySpec &entry, int64_t batch,
                               int64_t maxLen, int64_t smCount,
                               int64_t residentCtasPerSm, int variant,
                               bool graphSafe) {
  PlanRequest request;
  request.batch = batch;
  request.maxLen = maxLen;
  request.smCount = smCount;
  request.residentCtasPerSm.assign(entry.variants.size(), residentCtasPerSm);
  request.variant = variant;
  request.graphSafe = graphSafe;
  return request;
}

size_t fd::rt::chooseVariant(const EntrySpec &entry, int64_t batch,
                             int64_t maxLen, int64_t smCount,
                             int64_t residentCtasPerSm) {
  Expected<PlanChoice> choice =
      choosePlan(entry, makeRequest(entry, batch, maxLen, smCount,
                                    residentCtasPerSm, /*variant=*/-1,
                                    /*graphSafe=*/false));
  return choice ? choice->variant : 0;
}

Expected<WorkspaceLayout> fd::rt::layoutWorkspace(const VariantSpec &variant,
                                                  const SymbolValues &symbols) {
  WorkspaceLayout layout;
  if (variant.workspace.size() > kMaxWorkspaceBuffers)
    return Status::error(ErrorCode::Internal, "too many workspace buffers");
  uint64_t offset = 0;
  for (const WorkspaceSpec &buffer : variant.workspace) {
    uint64_t bytes = dtypeSize(buffer.elem);
    for (const SizeExpr &dim : buffer.shape) {
      int64_t extent = symbols.evaluate(dim);
      if (extent < 0 || __builtin_mul_overflow(bytes, uint64_t(extent), &bytes))
        return Status::error(ErrorCode::InvalidArgument,
                             "workspace buffer '" + buffer.name +
                                 "' size overflows 64 bits");
    }
    offset = (offset + kWorkspaceAlignment - 1) / kWorkspaceAlignment *
             kWorkspaceAlignment;
    layout.offsets[layout.numBuffers] = offset;
    layout.bytes[layout.numBuffers] = bytes;
    ++layout.numBuffers;
    if (__builtin_add_overflow(offset, bytes, &offset))
      return Status::error(ErrorCode::InvalidArgument,
                           "workspace size overflows 64 bits");
  }
  layout.totalBytes = offset;
  return layout;
}

Expected<std::array<uint32_t, 3>>
fd::rt::evaluateGrid(const KernelSpec &kernel, const SymbolValues &symbols) {
  static const int64_t limits[3] = {INT32_MAX, 65535, 65535};
  static const char *axes[3] = {"x", "y", "z"};
  std::array<uint32_t, 3> grid;
  for (int i = 0; i < 3; ++i) {
    int64_t extent = symbols.evaluate(kernel.grid[i]);
    if (extent < 0 || extent > limits[i])
      return Status::error(ErrorCode::InvalidArgument,
                           "kernel '" + kernel.symbol + "': grid." + axes[i] +
                               " = " + toString(kernel.grid[i]) + " = " +
                               std::to_string(extent) +
                               " is outside CUDA's limit [0, " +
                               std::to_string(limits[i]) + "]");
    grid[i] = static_cast<uint32_t>(extent);
  }
  return grid;
}

/// The error for planning an entry that is not a decode_attention.
static Status notPlannable(const EntrySpec &entry) {
  return Status::error(ErrorCode::Unsupported,
                       "entry '" + entry.name + "': op '" + entry.opName +
                           "' cannot be planned by this runtime (only "
                           "decode_attention)");
}

Expected<Plan> fd::rt::makePlan(const EntrySpec &entry, int64_t batch,
                                int64_t maxLen, int64_t smCount,
                                int64_t numSplits, int64_t chunk,
                                bool graphSafe, int variant) {
  if (entry.op != OpKind::DecodeAttention)
    return notPlannable(entry);
  if (variant >= static_cast<int>(entry.variants.size()))
    return Status::error(ErrorCode::InvalidArgument,
                         "entry '" + entry.name + "' has no variant " +
                             std::to_string(variant) + " (it has " +
                             std::to_string(entry.variants.size()) + ")");
  if (variant < 0)
    variant = static_cast<int>(getDefaultVariant(entry));
  const VariantSpec &launch = entry.variants[variant];
  if (Status range = checkBatchAndLength(batch, maxLen); !range.ok())
    return range;
  if (numSplits < 1 || numSplits > kMaxValue || chunk < 1 || chunk > kMaxValue)
    return Status::error(ErrorCode::InvalidArgument,
                         "num_splits " + std::to_string(numSplits) +
                             " and chunk " + std::to_string(chunk) +
                             " must both be in [1, 2147483647]");
  // Tokens past S * chunk would never be read: the output would silently
  // ignore the end of the longest sequence.
  if (numSplits * chunk < maxLen)
    return Status::error(ErrorCode::InvalidArgument,
                         "num_splits " + std::to_string(numSplits) +
                             " x chunk " + std::to_string(chunk) +
                             " covers fewer than maxLen " +
                             std::to_string(maxLen) + " tokens");

  Plan result;
  result.entryName = entry.name;
  result.batch = batch;
  result.maxLen = maxLen;
  result.smCount = smCount;
  result.graphSafe = graphSafe;
  result.variant = variant;
  result.numSplits = numSplits;
  result.chunk = chunk;
  SymbolValues symbols = getSymbolValues(entry, batch, numSplits, chunk);
  for (const KernelSpec &kernel : launch.kernels) {
    Expected<std::array<uint32_t, 3>> grid = evaluateGrid(kernel, symbols);
    if (!grid)
      return grid.getStatus().withContext("entry '" + entry.name + "'");
    result.grids.push_back(*grid);
  }
  Expected<WorkspaceLayout> layout = layoutWorkspace(launch, symbols);
  if (!layout)
    return layout.getStatus().withContext("entry '" + entry.name + "'");
  result.workspace = *layout;
  result.workspaceBytes = layout->totalBytes;
  return result;
}

Expected<Plan> fd::rt::plan(const EntrySpec &entry,
                            const PlanRequest &request) {
  if (entry.op != OpKind::DecodeAttention)
    return notPlannable(entry);
  Expected<PlanChoice> choice = choosePlan(entry, request);
  if (!choice)
    return choice.getStatus();
  if (!choice->split)
    return choice->split.getStatus().withContext("cannot plan entry '" +
                                                 entry.name + "'");
  return makePlan(entry, request.batch, request.maxLen, request.smCount,
                  choice->split->numSplits, choice->split->chunk,
                  request.graphSafe, static_cast<int>(choice->variant));
}


Expected<Plan> fd::rt::plan(const EntrySpec &entry, int64_t batch,
                            int64_t maxLen, int64_t smCount,
                            int64_t residentCtasPerSm, int variant) {
  return plan(entry, makeRequest(entry, batch, maxLen, smCount,
                                 residentCtasPerSm, variant,
                                 /*graphSafe=*/false));
}

Expected<Plan> fd::rt::planForGraph(const EntrySpec &entry, int64_t maxBatch,
                                    int64_t maxLen, int64_t smCount,
                                    int64_t residentCtasPerSm, int variant) {
  // Correctness needs only S * chunk >= every length and a batch within the
  // plan, so a plan for the maxima serves every smaller step; a smaller step
  // merely leaves some of the planned parallelism idle.
  return plan(entry, makeRequest(entry, maxBatch, maxLen, smCount,
                                 residentCtasPerSm, variant,
                                 /*graphSafe=*/true));
}

/// Byte offset of the workspace buffer \p index selects in \p plan's
/// variant (a unified-max state buffer), or an error naming \p what.
static Expected<uint64_t> stateOffset(const EntrySpec &entry, const Plan &plan,
                                      int VariantSpec::*index,
                                      const char *what) {
  if (plan.variant < 0 ||
      plan.variant >= static_cast<int>(entry.variants.size()))
    return Status::error(ErrorCode::InvalidArgument,
                         "plan variant " + std::to_string(plan.variant) +
                             " is out of range for entry '" + entry.name + "'");
  const VariantSpec &variant = entry.variants[plan.variant];
  if (variant.*index < 0)
    return Status::error(ErrorCode::InvalidArgument,
                         "entry '" + entry.name + "' (variant '" +
                             variant.name + "') has no " + what +
                             ": only unified-max entries have one");
  return plan.workspace.offsets[variant.*index];
}

Expected<uint64_t> fd::rt::getFallbackCounterOffset(const EntrySpec &entry,
                                                    const Plan &plan) {
  return stateOffset(entry, plan, &VariantSpec::fallbackCounter,
                     "fallback counter");
}

Expected<uint64_t> fd::rt::getPhiOffset(const EntrySpec &entry,
                                        const Plan &plan) {
  return stateOffset(entry, plan, &VariantSpec::phiBuffer,
                     "phi buffer (bundles before run-time phi bake phi into "
                     "the kernels)");
}

Expected<uint64_t> fd::rt::getScoreStatsOffset(const EntrySpec &entry,
                                               const Plan &plan) {
  return stateOffset(entry, plan, &VariantSpec::scoreStats, "score statistics");
}
