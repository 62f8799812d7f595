//===- UnifiedMax.cpp - Run-time phi of the unified-max kernels -----------===//
#include "fd/Runtime/UnifiedMax.h"

#include <cmath>
#include <cstring>

using namespace fd::rt;

uint32_t fd::rt::orderedKey(float x) {
  uint32_t bits;
  std::memcpy(&bits, &x, sizeof bits);
  // Negative floats order backwards as integers: flip them all; set the
  // sign bit of the others so that they sort above every negative one.
  return (bits & 0x80000000u) ? ~bits : bits | 0x80000000u;
}

float fd::rt::fromOrderedKey(uint32_t key) {
  uint32_t bits = (key & 0x80000000u) ? key ^ 0x80000000u : ~key;
  float x;
  std::memcpy(&x, &bits, sizeof x);
  return x;
}

ScoreStats fd::rt::decodeScoreStats(const uint32_t words[4]) {
  ScoreStats stats;
  stats.rows = words[2];
  stats.fallbacks = words[3];
  if (stats.rows > 0) {
    stats.minRowMax = fromOrderedKey(~words[0]);
    stats.maxRowMax = fromOrderedKey(words[1]);
  }
  return stats;
}

RecentreDecision fd::rt::decideRecentre(const ScoreStats &stats, double phi,
                                        double threshold,
                                        const RecentrePolicy &policy) {
  RecentreDecision d;
  d.oldPhi = d.newPhi = phi;
  d.stats = stats;
  if (stats.rows == 0 || stats.rows < policy.minRows)
    return d;
  d.decided = true;
  double lo = stats.minRowMax, hi = stats.maxRowMax;
  bool finite = std::isfinite(lo) && std::isfinite(hi) && lo <= hi;
  d.covers = finite && lo >= phi - threshold && hi <= phi + threshold;
  double rate = double(stats.fallbacks) / double(stats.rows);
  if (!finite || rate <= policy.maxFallbackRate)
    return d;
  double centre = lo + (hi - lo) / 2;
  // float is what the kernels read.
  d.newPhi = double(float(centre));
  d.changed = d.newPhi != phi;
  d.covers = hi - lo <= 2 * threshold;
  return d;
}
