//===- UnifiedMaxState.h - The unified-max state in a workspace -*- C++ -*-===//
//
// A unified-max launch variant keeps state in its workspace across calls
// (docs/unified-max.md): the fallback-row counter, the run-time phi the
// kernels read at every launch and the score statistics they accumulate.
// UnifiedMaxState reads and writes them on a stream; the decisions it
// applies (decodeScoreStats, decideRecentre) are in UnifiedMax.h, apart
// from the driver. Where each buffer lies is the planner's
// (getFallbackCounterOffset and friends, Planner.h).
//
//===----------------------------------------------------------------------===//

#ifndef FD_RUNTIME_UNIFIEDMAXSTATE_H
#define FD_RUNTIME_UNIFIEDMAXSTATE_H

#include "fd/Runtime/Bundle.h"
#include "fd/Runtime/Context.h"
#include "fd/Runtime/Export.h"
#include "fd/Runtime/Planner.h"
#include "fd/Runtime/Status.h"
#include "fd/Runtime/UnifiedMax.h"

#include <cstdint>

namespace fd::rt {

class BoundEntry;

/// The unified-max state of one bound entry's workspaces. A view: cheap to
/// make, valid as long as the BoundEntry. Every call takes the plan the
/// workspace was sized by; an entry or variant without unified max is an
/// error naming what it lacks.
class FD_RT_API UnifiedMaxState {
public:
  explicit UnifiedMaxState(const BoundEntry &bound);

  /// Rows recomputed by the exact fallback since the counter was last
  /// zeroed (BoundEntry::initWorkspace or resetFallbackCount). Synchronises
  /// \p stream to read it.
  Expected<uint32_t> readFallbackCount(const Plan &plan, const void *workspace,
                                       CUstream stream) const;
  /// Zeroes the fallback counter on \p stream (stream-ordered).
  Status resetFallbackCount(const Plan &plan, void *workspace,
                            CUstream stream) const;

  /// Run-time phi (docs/unified-max.md, "Re-centring phi"): the kernels
  /// read phi from the workspace at every launch, so a new value takes
  /// effect from the next launch on \p stream, CUDA-graph replays included.
  /// setPhi is a stream-ordered, graph-capturable memset; phi is in the
  /// units of the scaled score (scale * q.k), finite.
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

private:
  const EntrySpec *entry;
  const Context *context;
};

} // namespace fd::rt

#endif // FD_RUNTIME_UNIFIEDMAXSTATE_H
