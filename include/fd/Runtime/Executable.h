//===- Executable.h - A bundle bound to a device ----------------*- C++ -*-===//
//
// An Executable is a validated Bundle on one Context. Modules are JIT-loaded
// lazily, when an entry is first bound, so a bundle with many entries pays
// only for those it uses. A BoundEntry is one entry with its kernels loaded;
// it plans and runs decode attention. The unified-max state in a workspace
// is read and written through UnifiedMaxState (UnifiedMaxState.h), a
// flat_gemm entry runs through FlatGemm (FlatGemm.h); both are made from a
// BoundEntry.
//
//===----------------------------------------------------------------------===//

#ifndef FD_RUNTIME_EXECUTABLE_H
#define FD_RUNTIME_EXECUTABLE_H

#include "fd/Runtime/Arguments.h"
#include "fd/Runtime/Bundle.h"
#include "fd/Runtime/Context.h"
#include "fd/Runtime/Export.h"
#include "fd/Runtime/Module.h"
#include "fd/Runtime/Planner.h"
#include "fd/Runtime/Status.h"

#include <memory>
#include <mutex>
#include <string_view>
#include <vector>

namespace fd::rt {

/// One entry with its kernels loaded, ready to plan and run. Owned by its
/// Executable; const and safe to use from several threads.
class FD_RT_API BoundEntry {
public:
  const EntrySpec &getSpec() const { return *spec; }
  const Context &getContext() const { return *context; }
  /// The loaded kernels of launch variant \p variant, parallel to
  /// getSpec().variants[variant].kernels; of a flat_gemm entry (variant 0),
  /// its GEMM kernels, parallel to getSpec().gemm.kernels.
  const std::vector<KernelInfo> &getKernels(size_t variant = 0) const {
    return kernels[variant];
  }
  /// Resident CTAs per SM of each launch variant's first kernel (0 where
  /// unknown): the occupancy the planner sizes the split count by.
  const std::vector<int64_t> &getResidentCtasPerSm() const {
    return residentCtasPerSm;
  }

  /// The planner's request for this device: its SM count and the
  /// occupancy of every variant.
  PlanRequest makePlanRequest(int64_t batch, int64_t maxLen,
                              bool graphSafe = false, int variant = -1) const;
  /// Plans a call with this device's SM count and occupancy, for the
  /// launch variant choosePlan picks (online softmax: split or unsplit).
  /// \p totalTokens: the sum of the lengths where the caller knows it (0:
  /// unknown); a ragged batch then gets a split by its real tokens
  /// (chooseSplits).
  Expected<Plan> plan(int64_t batch, int64_t maxLen,
                      int64_t totalTokens = 0) const;
  /// planForGraph() with this device's SM count and occupancy;
  /// \p totalTokens: the tokens expected per call, as for plan().
  Expected<Plan> planForGraph(int64_t maxBatch, int64_t maxLen,
                              int64_t totalTokens = 0) const;
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

  /// Paged entries: the checking mode. Validates \p args, then checks on
  /// the device that every length is in [0, max_pages * page_size] and every
  /// page a sequence reaches is in [0, num_pages), and waits for the answer:
  /// an InvalidArgument error names the first bad entry (sequence, slot,
  /// value). Synchronises \p stream, so it is refused while the stream
  /// captures a CUDA graph. With FD_CHECK_PAGES=1 in the environment, run()
  /// does this before every launch of a paged entry (then not graph-safe).
  Status checkPages(const Plan &plan, const AttentionArgs &args,
                    CUstream stream) const;

private:
  friend class Executable;
  BoundEntry() = default;

  /// The owning Executable's variant table, shared so that a table set
  /// after binding reaches entries bound before.
  struct TableSlot {
    mutable std::mutex mutex;
    std::shared_ptr<const VariantTable> table;
  };

  const EntrySpec *spec = nullptr;
  const Context *context = nullptr;
  std::shared_ptr<const TableSlot> tableSlot;
  /// Loaded kernels of each launch variant (a flat_gemm entry: one list,
  /// its GEMM kernels), and their functions in launch order.
  std::vector<std::vector<KernelInfo>> kernels;
  std::vector<std::vector<CUfunction>> functions;
  std::vector<int64_t> residentCtasPerSm;
  /// Paged entries: the block-table check kernel (PageCheck.h).
  CUfunction pageCheck = nullptr;
};

/// A bundle loaded on a device.
class FD_RT_API Executable {
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
  /// The context shared, for objects that must keep it alive (a
  /// Communicator).
  const std::shared_ptr<Context> &getSharedContext() const { return context; }

  /// The entry \p name with its modules and kernels loaded (once; later
  /// calls return the same object). Thread-safe. The pointer is valid as
  /// long as the Executable.
  Expected<const BoundEntry *> bind(std::string_view name);
  Expected<const BoundEntry *> bind(size_t entryIndex);

  /// Loads module \p index if it is not loaded yet. Thread-safe.
  Expected<CUmodule> getModule(size_t index);

  /// Measured launch-variant choices for this device (fd-bench
  /// --write-variant-table; VariantTable.h) that every entry's planning
  /// consults from now on; null: the planner's built-in rules. Thread-safe.
  /// An Executable starts with the table fd ships for its device, if any
  /// (ShippedVariantTables.h).
  void setVariantTable(std::shared_ptr<const VariantTable> table);
  /// The table planning consults now (null: the built-in rules).
  std::shared_ptr<const VariantTable> getVariantTable() const;

private:
  Executable() = default;
  Expected<CUmodule> getModuleLocked(size_t index);

  std::shared_ptr<Context> context;
  std::shared_ptr<const Bundle> bundle;
  std::shared_ptr<BoundEntry::TableSlot> tableSlot =
      std::make_shared<BoundEntry::TableSlot>();
  std::mutex mutex;
  std::vector<CUmodule> modules;
  /// The block-table check's module, loaded with the first paged entry.
  CUmodule pageCheckModule = nullptr;
  std::vector<std::unique_ptr<BoundEntry>> entries;
};

} // namespace fd::rt

#endif // FD_RUNTIME_EXECUTABLE_H
