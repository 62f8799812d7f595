//===- Executable.h - A bundle bound to a device ----------------*- C++ -*-===//
//
// An Executable is a validated Bundle on one Context. Modules are JIT-loaded
// lazily, when an entry is first bound, so a bundle with many entries pays
// only for those it uses. A BoundEntry plans and runs one entry.
//
//===----------------------------------------------------------------------===//

#ifndef FD_RUNTIME_EXECUTABLE_H
#define FD_RUNTIME_EXECUTABLE_H

#include "fd/Runtime/Arguments.h"
#include "fd/Runtime/Bundle.h"
#include "fd/Runtime/Context.h"
#include "fd/Runtime/FlatGemm.h"
#include "fd/Runtime/Module.h"
#include "fd/Runtime/Planner.h"
#include "fd/Runtime/Status.h"
#include "fd/Runtime/UnifiedMax.h"

#include <memory>
#include <mutex>
#include <string_view>
#include <vector>

namespace fd::rt {

/// One entry with its kernels loaded, ready to plan and run. Owned by its
/// Executable; const and safe to use from several threads.
class BoundEntry {
public:
  const EntrySpec &getSpec() const { return *spec; }
  const Context &getContext() const { return *context; }
  /// The loaded kernels, parallel to getSpec().kernels.
  const std::vector<KernelInfo> &getKernels() const { return kernels; }

  /// plan() with this device's SM count, for the launch variant
  /// chooseVariant picks for this call (online softmax: split or unsplit).
  Expected<Plan> plan(int64_t batch, int64_t maxLen) const;
  /// planForGraph() with this device's SM count.
  Expected<Plan> planForGraph(int64_t maxBatch, int64_t maxLen) const;
  /// Either of the above for the launch variant named \p variant (e.g.
  /// "two_kernel" or "single_launch" of a unified-max entry).
  Expected<Plan> planVariant(int64_t batch, int64_t maxLen,
                             std::string_view variant,
                             bool graphSafe = false) const;

  /// Zeroes the whole workspace of \p plan on \p stream (stream-ordered,
  /// graph-capturable memsets) and, for unified max, writes the entry's
  /// compiled phi into it. Needed once after allocating a workspace for
  /// a variant whose manifest says workspace_init "zero" (unified max): the
  /// single-launch kernel leaves its accumulators and counters zeroed after
  /// every call, so later runs and CUDA-graph replays need no memset. Also
  /// resets the fallback counter and the score statistics.
  Status initWorkspace(const Plan &plan, void *workspace,
                       uint64_t workspaceBytes, CUstream stream) const;
  /// Rows recomputed by the exact fallback since the counter was last
  /// zeroed (initWorkspace or resetFallbackCount); unified max only.
  /// Synchronises \p stream to read it.
  Expected<uint32_t> readFallbackCount(const Plan &plan, const void *workspace,
                                       CUstream stream) const;
  /// Zeroes the fallback counter on \p stream (stream-ordered).
  Status resetFallbackCount(const Plan &plan, void *workspace,
                            CUstream stream) const;

  /// Unified max, run-time phi (docs/unified-max.md, "Re-centring phi"):
  /// the kernels read phi from the workspace at every launch, so a new
  /// value takes effect from the next launch on \p stream, CUDA-graph
  /// replays included. setPhi is a stream-ordered, graph-capturable memset;
  /// phi is in the units of the scaled score (scale * q.k), finite.
  Status setPhi(const Plan &plan, void *workspace, float phi,
                CUstream stream) const;
  /// The phi in the workspace (synchronises \p stream).
  Expected<float> readPhi(const Plan &plan, const void *workspace,
                          CUstream stream) const;
  /// The rows checked and fallen back, and the range of their largest
  /// scores, since the statistics were last zeroed (synchronises \p
  /// stream). Unlike the fallback counter they are zeroed by every
  /// recentrePhi decision.
  Expected<ScoreStats> readScoreStats(const Plan &plan, const void *workspace,
                                      CUstream stream) const;
  Status resetScoreStats(const Plan &plan, void *workspace,
                         CUstream stream) const;
  /// Reads phi and the statistics, applies decideRecentre with the entry's
  /// threshold, and, once decided, zeroes the statistics and writes the new
  /// phi (stream-ordered). Synchronises \p stream: call it between decode
  /// steps, e.g. every N steps, not inside a capture. Results stay exact
  /// whatever phi is; re-centring only cuts the fallback work.
  Expected<RecentreDecision>
  recentrePhi(const Plan &plan, void *workspace, CUstream stream,
              const RecentrePolicy &policy = {}) const;

  /// Launches the entry's kernels on \p stream (a stream of this device's
  /// primary context, e.g. one from the CUDA runtime API or PyTorch). The
  /// workspace must hold plan.workspaceBytes and be 256-byte aligned.
  /// Allocates nothing, never synchronises the host and reads no device
  /// memory, so it may be captured into a CUDA graph. Returns once the
  /// launches are enqueued; errors of the kernels themselves surface on the
  /// stream, as with any launch.
  Status run(const Plan &plan, const AttentionArgs &args, void *workspace,
             uint64_t workspaceBytes, CUstream stream) const;

  /// Convenience: allocates the workspace itself (stream-ordered when the
  /// device supports memory pools, otherwise with cuMemAlloc and a stream
  /// synchronisation before freeing). Not graph-safe: refuses a stream that
  /// is capturing.
  Status run(const Plan &plan, const AttentionArgs &args,
             CUstream stream) const;

  /// Runs a flat_gemm entry: y = x W^T (+ bias) for the M rows of x, with
  /// the variant \p variant (a kernel role, e.g. "mma_m8", or "cublas") or,
  /// when empty, the one selectFlatGemmKernel picks from M and \p table (may
  /// be null: the entry's thresholds). The kernels allocate nothing and
  /// never synchronise: graph-capturable. The cublas variant loads cuBLAS
  /// and allocates its stream's workspace on first use (docs/runtime.md says
  /// what that means for graphs). Defined in FlatGemm.cpp.
  Status runFlatGemm(const FlatGemmArgs &args, const DispatchTable *table,
                     CUstream stream, std::string_view variant = {}) const;

private:
  friend class Executable;
  BoundEntry() = default;
  size_t pickVariant(int64_t batch, int64_t maxLen) const;
  /// The cublas variant of runFlatGemm.
  Status runCublas(const FlatGemmArgs &args, CUstream stream) const;

  const EntrySpec *spec = nullptr;
  const Context *context = nullptr;
  std::vector<KernelInfo> kernels;
  /// Loaded kernels of each launch variant (variantFunctions[0] ==
  /// functions).
  std::vector<CUfunction> functions;
  std::vector<std::vector<CUfunction>> variantFunctions;
  /// Resident CTAs per SM of each variant's first kernel (0 if unknown).
  std::vector<int64_t> variantResidentCtas;
};

/// A bundle loaded on a device.
class Executable {
public:
  /// Binds \p bundle to \p context. Loads nothing yet.
  static Expected<std::shared_ptr<Executable>>
  create(std::shared_ptr<Context> context,
         std::shared_ptr<const Bundle> bundle);
  ~Executable();
  Executable(const Executable &) = delete;
  Executable &operator=(const Executable &) = delete;

  const Bundle &getBundle() const { return *bundle; }
  const Context &getContext() const { return *context; }

  /// The entry \p name with its modules and kernels loaded (once; later
  /// calls return the same object). Thread-safe. The pointer is valid as
  /// long as the Executable.
  Expected<const BoundEntry *> bind(std::string_view name);
  Expected<const BoundEntry *> bind(size_t entryIndex);

  /// Loads module \p index if it is not loaded yet. Thread-safe.
  Expected<CUmodule> getModule(size_t index);

private:
  Executable() = default;
  Expected<CUmodule> getModuleLocked(size_t index);

  std::shared_ptr<Context> context;
  std::shared_ptr<const Bundle> bundle;
  std::mutex mutex;
  std::vector<CUmodule> modules;
  std::vector<std::unique_ptr<BoundEntry>> entries;
};

} // namespace fd::rt

#endif // FD_RUNTIME_EXECUTABLE_H
