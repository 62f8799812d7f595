//===- UnifiedMax.h - Run-time phi of the unified-max kernels ---*- C++ -*-===//
//
// The unified-max kernels (docs/unified-max.md) read phi from their
// workspace at every launch and add each row's largest score to score
// statistics there. This header decodes those statistics and holds the
// re-centring policy, apart from the driver so that it is testable on a
// machine without a GPU; UnifiedMaxState::recentrePhi applies it.
//
//===----------------------------------------------------------------------===//

#ifndef FD_RUNTIME_UNIFIEDMAX_H
#define FD_RUNTIME_UNIFIEDMAX_H

#include "fd/Runtime/Export.h"

#include <cstdint>

namespace fd::rt {

/// The kernels' order-preserving key of an f32: unsigned order of keys is
/// the order of the floats, and 0 (a zeroed workspace) is below all of them.
FD_RT_API uint32_t orderedKey(float x);
/// The float of orderedKey.
FD_RT_API float fromOrderedKey(uint32_t key);

/// What the kernels accumulated since the statistics were last zeroed.
struct ScoreStats {
  /// Rows (sequence, query head) of positive length that were checked.
  uint32_t rows = 0;
  /// Of those, the rows recomputed by the exact fallback.
  uint32_t fallbacks = 0;
  /// The smallest and largest of those rows' largest scaled scores
  /// (scale * q.k, the units of phi); meaningful when rows > 0.
  float minRowMax = 0;
  float maxRowMax = 0;
};

/// Decodes the four u32 the kernels write: [0] ~key of the smallest row
/// maximum, [1] key of the largest, [2] rows, [3] fallbacks.
FD_RT_API ScoreStats decodeScoreStats(const uint32_t words[4]);

/// When UnifiedMaxState::recentrePhi moves phi.
struct RecentrePolicy {
  /// Decide only once this many rows were checked since the last decision;
  /// below it the statistics keep accumulating.
  uint32_t minRows = 1;
  /// Move phi when more than this fraction of those rows fell back
  /// (FlashDecoding++ expects about 1e-4 with a calibrated phi).
  double maxFallbackRate = 1e-3;
};

struct RecentreDecision {
  /// Enough rows were seen: the statistics were consumed (and zeroed).
  bool decided = false;
  /// phi moved to newPhi.
  bool changed = false;
  /// The band [newPhi - threshold, newPhi + threshold] holds every observed
  /// row maximum (false when they span more than 2 * threshold: rows at
  /// both ends then still fall back, and stay exact).
  bool covers = false;
  double oldPhi = 0;
  double newPhi = 0;
  ScoreStats stats;
};

/// The decision for \p stats, observed with \p phi and \p threshold: when
/// the fallback rate exceeds the policy's, phi moves to the middle of the
/// observed row maxima (fd-calibrate's rule for a range within 2 *
/// threshold). Non-finite maxima (NaN or infinite scores) never move phi.
FD_RT_API RecentreDecision decideRecentre(const ScoreStats &stats, double phi,
                                          double threshold,
                                          const RecentrePolicy &policy);

} // namespace fd::rt

#endif // FD_RUNTIME_UNIFIEDMAX_H
