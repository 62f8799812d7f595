//===- Planner.cpp - Split planning and workspace layout ------------------===//

#include "fd/Runtime/Planner.h"

#include <algorithm>

using namespace fd::rt;

static int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }
static int64_t roundUp(int64_t a, int64_t b) { return ceilDiv(a, b) * b; }

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

Expected<SplitChoice> fd::rt::chooseSplits(const SplitPolicy &policy,
                                           int64_t batch, int64_t numKvHeads,
                                           int64_t maxLen, int64_t smCount,
                                           int64_t residentCtasPerSm) {
  if (Status range = checkBatchAndLength(batch, maxLen); !range.ok())
    return range;
  if (smCount < 1 || smCount > 65535)
    return Status::error(ErrorCode::InvalidArgument,
                         "smCount " + std::to_string(smCount) +
                             " is out of range [1, 65535]");
  if (numKvHeads < 1)
    return Status::error(ErrorCode::InvalidArgument,
                         "num_kv_heads must be at least 1");

  SplitChoice choice;
  switch (policy.mode) {
  case SplitMode::Auto: {
    // Enough CTAs to fill every SM ctas_per_sm times, but no split shorter
    // than min_chunk and no more than max_splits.
    int64_t work = batch * numKvHeads;
    int64_t s;
    if (residentCtasPerSm > 0) {
      // The most splits that still fit in one wave of resident CTAs
      // (ctas_per_sm caps the CTAs per SM counted).
      int64_t target =
          smCount * std::min(policy.ctasPerSm, residentCtasPerSm);
      s = std::max<int64_t>(1, target / work);
    } else {
      int64_t target = smCount * policy.ctasPerSm;
      s = work >= target ? 1 : ceilDiv(target, work);
    }
    s = std::min({s, std::max<int64_t>(1, ceilDiv(maxLen, policy.minChunk)),
                  policy.maxSplits});
    choice.chunk =
        roundUp(ceilDiv(std::max<int64_t>(maxLen, 1), s), policy.chunkAlign);
    // Rounding chunk up can leave trailing splits empty; drop them.
    choice.numSplits = std::max<int64_t>(1, ceilDiv(maxLen, choice.chunk));
    return choice;
  }
  case SplitMode::Fixed:
    choice.numSplits = policy.numSplits;
    choice.chunk =
        roundUp(ceilDiv(std::max<int64_t>(maxLen, 1), policy.numSplits),
                policy.chunkAlign);
    return choice;
  case SplitMode::Chunk:
    choice.chunk = policy.chunkSize;
    choice.numSplits = std::max<int64_t>(1, ceilDiv(maxLen, choice.chunk));
    return choice;
  }
  return Status::error(ErrorCode::Internal, "unknown split mode");
}

Expected<WorkspaceLayout> fd::rt::layoutWorkspace(const EntrySpec &entry,
                                                  const SymbolValues &symbols) {
  WorkspaceLayout layout;
  if (entry.workspace.size() > kMaxWorkspaceBuffers)
    return Status::error(ErrorCode::Internal, "too many workspace buffers");
  uint64_t offset = 0;
  for (const WorkspaceSpec &buffer : entry.workspace) {
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

Expected<Plan> fd::rt::makePlan(const EntrySpec &top, int64_t batch,
                                int64_t maxLen, int64_t smCount,
                                int64_t numSplits, int64_t chunk,
                                bool graphSafe, int variant) {
  if (variant >= static_cast<int>(getNumVariants(top)))
    return Status::error(ErrorCode::InvalidArgument,
                         "entry '" + top.name + "' has no variant " +
                             std::to_string(variant) + " (it has " +
                             std::to_string(getNumVariants(top)) + ")");
  if (variant < 0)
    variant = static_cast<int>(getDefaultVariant(top));
  const EntrySpec &entry = getVariant(top, static_cast<size_t>(variant));
  if (entry.op != OpKind::DecodeAttention)
    return Status::error(ErrorCode::Unsupported,
                         "entry '" + entry.name + "': op '" + entry.opName +
                             "' cannot be planned by this runtime (only "
                             "decode_attention)");
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
  for (const KernelSpec &kernel : entry.kernels) {
    Expected<std::array<uint32_t, 3>> grid = evaluateGrid(kernel, symbols);
    if (!grid)
      return grid.getStatus().withContext("entry '" + entry.name + "'");
    result.grids.push_back(*grid);
  }
  Expected<WorkspaceLayout> layout = layoutWorkspace(entry, symbols);
  if (!layout)
    return layout.getStatus().withContext("entry '" + entry.name + "'");
  result.workspace = *layout;
  result.workspaceBytes = layout->totalBytes;
  return result;
}

static Expected<Plan> planImpl(const EntrySpec &entry, int64_t batch,
                               int64_t maxLen, int64_t smCount,
                               int64_t residentCtasPerSm, bool graphSafe,
                               int variant) {
  if (entry.op != OpKind::DecodeAttention)
    return makePlan(entry, batch, maxLen, smCount, 1, 1, graphSafe, variant);
  if (variant < 0)
    variant = static_cast<int>(
        chooseVariant(entry, batch, maxLen, smCount, residentCtasPerSm));
  if (variant < static_cast<int>(getNumVariants(entry)) &&
      getVariant(entry, size_t(variant)).variantName == "unsplit") {
    // One CTA walks the whole sequence: one split covering maxLen.
    if (Status range = checkBatchAndLength(batch, maxLen); !range.ok())
      return range.withContext("cannot plan entry '" + entry.name + "'");
    int64_t align = std::max<int64_t>(1, entry.split.chunkAlign);
    return makePlan(entry, batch, maxLen, smCount, 1,
                    roundUp(std::max<int64_t>(maxLen, 1), align), graphSafe,
                    variant);
  }
  Expected<SplitChoice> choice =
      chooseSplits(entry.split, batch, entry.numKvHeads, maxLen, smCount,
                   residentCtasPerSm);
  if (!choice)
    return choice.getStatus().withContext("cannot plan entry '" + entry.name +
                                          "'");
  return makePlan(entry, batch, maxLen, smCount, choice->numSplits,
                  choice->chunk, graphSafe, variant);
}

Expected<Plan> fd::rt::plan(const EntrySpec &entry, int64_t batch,
                            int64_t maxLen, int64_t smCount,
                            int64_t residentCtasPerSm, int variant) {
  return planImpl(entry, batch, maxLen, smCount, residentCtasPerSm,
                  /*graphSafe=*/false, variant);
}

Expected<Plan> fd::rt::planForGraph(const EntrySpec &entry, int64_t maxBatch,
                                    int64_t maxLen, int64_t smCount,
                                    int64_t residentCtasPerSm, int variant) {
  // Correctness needs only S * chunk >= every length and a batch within the
  // plan, so a plan for the maxima serves every smaller step; a smaller step
  // merely leaves some of the planned parallelism idle.
  return planImpl(entry, maxBatch, maxLen, smCount, residentCtasPerSm,
                  /*graphSafe=*/true, variant);
}

/// Byte offset of the workspace buffer \p index selects in \p plan's
/// variant (a unified-max state buffer), or an error naming \p what.
static Expected<uint64_t> stateOffset(const EntrySpec &entry, const Plan &plan,
                                      int EntrySpec::*index, const char *what) {
  if (plan.variant < 0 ||
      plan.variant >= static_cast<int>(getNumVariants(entry)))
    return Status::error(ErrorCode::InvalidArgument,
                         "plan variant " + std::to_string(plan.variant) +
                             " is out of range for entry '" + entry.name +
                             "'");
  const EntrySpec &variant = getVariant(entry, plan.variant);
  if (variant.*index < 0)
    return Status::error(ErrorCode::InvalidArgument,
                         "entry '" + entry.name + "' (variant '" +
                             variant.variantName + "') has no " + what +
                             ": only unified-max entries have one");
  return plan.workspace.offsets[variant.*index];
}

Expected<uint64_t> fd::rt::getFallbackCounterOffset(const EntrySpec &entry,
                                                    const Plan &plan) {
  return stateOffset(entry, plan, &EntrySpec::fallbackCounter,
                     "fallback counter");
}

Expected<uint64_t> fd::rt::getPhiOffset(const EntrySpec &entry,
                                        const Plan &plan) {
  return stateOffset(entry, plan, &EntrySpec::phiBuffer,
                     "phi buffer (bundles before run-time phi bake phi into "
                     "the kernels)");
}

Expected<uint64_t> fd::rt::getScoreStatsOffset(const EntrySpec &entry,
                                               const Plan &plan) {
  return stateOffset(entry, plan, &EntrySpec::scoreStats, "score statistics");
}
