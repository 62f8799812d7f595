//===- MergeStates.h - Merging attention states (out, lse) ------*- C++ -*-===//
//
// A merge_states entry (fd.merge_states, docs/bundle.md "Merge states")
// combines N attention results over disjoint keys -- a shared prefix and
// each sequence's suffix (cascade attention), the chunks of a chunked
// prefill, the shards of context-parallel decode -- into the attention over
// all of them by the log-sum-exp rule. One kernel, no workspace, no plan:
// the grid is (Hq, B) from the tensors. Everything here except
// MergeStates::run is pure host logic, testable without a GPU.
//
//===----------------------------------------------------------------------===//

#ifndef FD_RUNTIME_MERGESTATES_H
#define FD_RUNTIME_MERGESTATES_H

#include "fd/Runtime/Arguments.h"
#include "fd/Runtime/Bundle.h"
#include "fd/Runtime/Context.h"
#include "fd/Runtime/Export.h"
#include "fd/Runtime/Launch.h"
#include "fd/Runtime/Module.h"
#include "fd/Runtime/Status.h"

#include <array>
#include <cstdint>
#include <vector>

namespace fd::rt {

/// The tensors of one merge: states 0 .. numStates - 1 (outs[i] [B, Hq, D]
/// of the entry's dtype, innermost stride 1, base and outer strides 16-byte
/// aligned: the kernel moves them 16 bytes at a time; lses[i] [B, Hq] f32, any
/// strides: vLLM's [Hq, B] log-sum-exps are a transposed view), out
/// [B, Hq, D] and, for an entry that writes it, lse [B, Hq] f32 (null data
/// otherwise). out may be state i's out itself (the same view: each element
/// is read before it is written, by the same thread); lse must not be a
/// state's lse, and no other overlap is allowed.
struct MergeStatesArgs {
  int numStates = 0;
  std::array<TensorRef, fdb::kMaxMergedStates> outs{}, lses{};
  TensorRef out, lse;
};

/// Checks \p args against \p entry (a merge_states entry): the state count,
/// every tensor's dtype, rank, [B, Hq, D] with B that of out, strides, the
/// static layout the kernel was compiled for, alignment (16 bytes for the
/// outs, their element for the lses), lse given
/// exactly when the entry writes one and not aliasing a state's lse.
/// Returns B. Errors name the argument ("state_out_1", "lse", ...).
FD_RT_API Expected<int64_t>
validateMergeStatesArgs(const EntrySpec &entry, const MergeStatesArgs &args);

/// Packs \p kernel's parameters from validated \p args.
FD_RT_API Status packMergeStatesParams(const KernelSpec &kernel,
                                       const MergeStatesArgs &args,
                                       KernelParams &params);

class BoundEntry;

/// A merge_states entry with its kernel loaded. A view of a BoundEntry
/// (Executable.h): cheap to make, valid as long as it; const and safe to
/// use from several threads.
class FD_RT_API MergeStates {
public:
  explicit MergeStates(const BoundEntry &bound);

  /// Validates \p args, then launches the merge on \p stream (B = 0
  /// launches nothing). Allocates nothing, never synchronises and reads no
  /// device memory on the host: graph-capturable.
  Status run(const MergeStatesArgs &args, CUstream stream) const;

private:
  const EntrySpec *entry;
  const Context *context;
  const std::vector<KernelInfo> *kernels;
};

} // namespace fd::rt

#endif // FD_RUNTIME_MERGESTATES_H
