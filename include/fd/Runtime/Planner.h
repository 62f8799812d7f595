//===- Planner.h - Planning one decode-attention call ----------*- C++ -*-===//
//
// Plans one call of a decode_attention entry: which launch variant, how many
// KV splits S of how many tokens, and from them the grid of every kernel and
// the workspace layout, exactly as docs/bundle.md specifies. The variant and
// the split are chosen together, once (choosePlan); the split formula is
// fdb::SplitFormula, the one the compiler emits. Pure arithmetic: no
// GPU is needed.
//
//===----------------------------------------------------------------------===//

#ifndef FD_RUNTIME_PLANNER_H
#define FD_RUNTIME_PLANNER_H

#include "fd/Runtime/Bundle.h"
#include "fd/Runtime/Export.h"
#include "fd/Runtime/Status.h"
#include "fd/Runtime/VariantTable.h"

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace fd::rt {

/// Alignment of every workspace buffer inside the workspace, in bytes.
constexpr uint64_t kWorkspaceAlignment = 256;

/// The value of each Symbol for one plan or one launch.
struct SymbolValues {
  std::array<int64_t, kNumSymbols> values{};

  int64_t get(Symbol symbol) const { return values[static_cast<int>(symbol)]; }
  void set(Symbol symbol, int64_t value) {
    values[static_cast<int>(symbol)] = value;
  }
  int64_t evaluate(const SizeExpr &size) const {
    return size.symbol ? get(*size.symbol) : size.constant;
  }
};

/// Symbol values of \p entry for batch B, S splits of \p chunk tokens and a
/// K/V capacity L (0 when unknown, as when planning).
FD_RT_API SymbolValues getSymbolValues(const EntrySpec &entry, int64_t batch,
                                       int64_t numSplits, int64_t chunk,
                                       int64_t cacheLen = 0);

/// The outcome of the split formula.
struct SplitChoice {
  int64_t numSplits = 1;
  int64_t chunk = 1;
};

/// The split formula of docs/bundle.md for \p policy (all three modes).
/// \p residentCtasPerSm: how many partial-kernel CTAs one SM holds at once
/// (from the driver's occupancy calculator), or 0 if unknown. When known,
/// auto mode fills exactly one wave instead of rounding the split count up,
/// because a wave that is only slightly over-full costs a whole extra wave.
/// \p totalTokens: the sum of the batch's lengths where the caller knows it
/// (0: unknown, taken as batch * maxLen). Auto mode then counts the work in
/// real tokens — Hkv * totalTokens / maxLen sequences of the longest length
/// — and, when that is fewer than batch * maxLen, aims at
/// policy.raggedWaves waves instead of one: a ragged batch gets short
/// chunks, most of the short sequences' CTAs are empty, and the GPU's block
/// scheduler balances the rest. Must be in [0, batch * maxLen].
FD_RT_API Expected<SplitChoice> chooseSplits(const SplitPolicy &policy,
                                             int64_t batch, int64_t numKvHeads,
                                             int64_t maxLen, int64_t smCount,
                                             int64_t residentCtasPerSm = 0,
                                             int64_t totalTokens = 0);

/// What the planner is asked: one call (or, graph-safe, every call up to
/// the maxima) on a device of smCount SMs.
struct PlanRequest {
  int64_t batch = 0;
  int64_t maxLen = 0;
  int64_t smCount = 0;
  /// Resident CTAs per SM of each launch variant's first kernel (the one
  /// whose grid the split count sizes), parallel to EntrySpec::variants;
  /// missing or 0 where unknown (chooseSplits says what that changes).
  std::vector<int64_t> residentCtasPerSm;
  /// The launch variant (index into EntrySpec::variants), or -1: the
  /// planner's choice.
  int variant = -1;
  /// Planned for the maxima (planForGraph).
  bool graphSafe = false;
  /// The sum of the lengths, where known (chooseSplits); 0: unknown.
  int64_t totalTokens = 0;
  /// Measured variant choices (VariantTable.h), consulted first when the
  /// variant is the planner's to choose and the batch is not ragged
  /// (totalTokens < batch * maxLen); null: the built-in rules.
  std::shared_ptr<const VariantTable> variantTable;

  int64_t getResidentCtas(size_t v) const {
    return v < residentCtasPerSm.size() ? residentCtasPerSm[v] : 0;
  }
};

/// The variant the runtime launches unless the split decides (below) or the
/// caller says otherwise: "single_launch" for MHA (Hq == Hkv), "two_kernel"
/// for GQA/MQA, as measured (docs/unified-max.md); else the first.
FD_RT_API size_t getDefaultVariant(const EntrySpec &entry);

/// The planner's decision for one request: the launch variant and its
/// split, or the error planning that variant reports.
struct PlanChoice {
  size_t variant = 0;
  Expected<SplitChoice> split = SplitChoice();
};

/// Chooses the variant and the split of \p request together. An explicit
/// request.variant is taken as is; then request.variantTable's measured
/// choice for the entry's shape, where it has one. Online-softmax entries have "split" and
/// "unsplit" (FlashDecoding++'s heuristic dataflow, split-KV or not per
/// call): unsplit exactly when the split formula, with the split variant's
/// occupancy, gives one split, i.e. when B * Hkv CTAs already fill the GPU,
/// since the merge then buys nothing. Measured on an H100 (docs/perf.md),
/// the seed's coarser rule "unsplit once B * Hkv >= SMs" loses up to 5x at
/// B * Hkv = 1-2 CTAs per SM: one CTA walking a whole sequence keeps too few
/// loads in flight. Other entries: getDefaultVariant. The unsplit variant
/// is one split over the whole (chunk_align-aligned) context. Errors only
/// for an explicit variant out of range.
FD_RT_API Expected<PlanChoice> choosePlan(const EntrySpec &entry,
                                          const PlanRequest &request);

/// choosePlan's variant for a call with \p residentCtasPerSm for every
/// variant; with out-of-range arguments the split variant (planning it
/// reports them).
FD_RT_API size_t chooseVariant(const EntrySpec &entry, int64_t batch,
                               int64_t maxLen, int64_t smCount,
                               int64_t residentCtasPerSm);

/// Byte offsets and sizes of an entry's workspace buffers. Fixed capacity so
/// that the launch path can compute it without allocating.
struct WorkspaceLayout {
  size_t numBuffers = 0;
  std::array<uint64_t, kMaxWorkspaceBuffers> offsets{};
  std::array<uint64_t, kMaxWorkspaceBuffers> bytes{};
  /// End of the last buffer: the bytes the caller must provide.
  uint64_t totalBytes = 0;
};

/// Lays \p variant's workspace buffers out in manifest order, each at a
/// 256-byte aligned offset, contiguous row-major over its shape.
FD_RT_API Expected<WorkspaceLayout>
layoutWorkspace(const VariantSpec &variant, const SymbolValues &symbols);

/// The launch grid of \p kernel, checked against CUDA's grid limits.
FD_RT_API Expected<std::array<uint32_t, 3>>
evaluateGrid(const KernelSpec &kernel, const SymbolValues &symbols);

/// How one entry is launched for at most `batch` sequences of at most
/// `maxLen` tokens.
struct Plan {
  std::string entryName;
  /// The batch planned for; a launch may use any batch up to it.
  int64_t batch = 0;
  /// The longest sequence planned for; lens must not exceed it.
  int64_t maxLen = 0;
  int64_t smCount = 0;
  /// Planned for the maxima (planForGraph): replays of one captured launch
  /// stay correct while lens change within maxLen.
  bool graphSafe = false;
  /// The launch variant (index into EntrySpec::variants); grids and
  /// workspace below are that variant's.
  int variant = 0;
  int64_t numSplits = 1;
  int64_t chunk = 1;
  /// Grid of each kernel of the entry, in launch order, for `batch`.
  std::vector<std::array<uint32_t, 3>> grids;
  /// Workspace layout for `batch`.
  WorkspaceLayout workspace;
  /// Workspace bytes to provide (enough for any batch up to `batch`).
  uint64_t workspaceBytes = 0;
};

/// Plans \p entry for \p request: choosePlan, then the grids and the
/// workspace of the chosen variant. The caller knows maxLen on the host.
FD_RT_API Expected<Plan> plan(const EntrySpec &entry,
                              const PlanRequest &request);

/// plan() for \p batch sequences whose longest is \p maxLen tokens on a GPU
/// with \p smCount SMs, \p residentCtasPerSm (as for chooseSplits) for
/// every variant; \p variant picks a launch variant (-1: choosePlan's).
FD_RT_API Expected<Plan> plan(const EntrySpec &entry, int64_t batch,
                              int64_t maxLen, int64_t smCount,
                              int64_t residentCtasPerSm = 0, int variant = -1);

/// Plans for the maxima, for CUDA-graph capture: the kernels read lens on
/// the device, so a captured launch replays correctly as long as the batch
/// stays <= maxBatch and every length <= maxLen.
FD_RT_API Expected<Plan> planForGraph(const EntrySpec &entry, int64_t maxBatch,
                                      int64_t maxLen, int64_t smCount,
                                      int64_t residentCtasPerSm = 0,
                                      int variant = -1);

/// Completes a plan from an explicit S and chunk (e.g. one that came through
/// the C API); checks that they cover maxLen.
FD_RT_API Expected<Plan> makePlan(const EntrySpec &entry, int64_t batch,
                                  int64_t maxLen, int64_t smCount,
                                  int64_t numSplits, int64_t chunk,
                                  bool graphSafe, int variant = -1);

/// Byte offset of the fallback-row counter (one i32) in the workspace of
/// \p plan, or an error when its variant has none.
FD_RT_API Expected<uint64_t> getFallbackCounterOffset(const EntrySpec &entry,
                                                      const Plan &plan);
/// Byte offset of phi (one f32, natural units of the scaled score) in the
/// workspace of \p plan: the unified-max kernels read it at every launch.
FD_RT_API Expected<uint64_t> getPhiOffset(const EntrySpec &entry,
                                          const Plan &plan);
/// Byte offset of the score statistics (four u32: ~key of the smallest row
/// maximum, key of the largest, rows checked, rows fallen back; see
/// fd/Runtime/UnifiedMax.h). The three offsets are where UnifiedMaxState
/// reads and writes.
FD_RT_API Expected<uint64_t> getScoreStatsOffset(const EntrySpec &entry,
                                                 const Plan &plan);

} // namespace fd::rt

#endif // FD_RUNTIME_PLANNER_H
