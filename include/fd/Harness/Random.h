//===- Random.h - deterministic random numbers for GPU tests ----*- C++ -*-===//
//
// A 64-bit LCG rather than <random>'s distributions, whose output differs
// between standard libraries: a failing case must reproduce from its seed on
// any machine.
//
//===----------------------------------------------------------------------===//
#ifndef FD_HARNESS_RANDOM_H
#define FD_HARNESS_RANDOM_H

#include <cstdint>

namespace fd::harness {

struct Random {
  uint64_t state;
  explicit Random(uint64_t seed) : state(seed * 6364136223846793005ull + 1) {}
  uint32_t next() {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return uint32_t(state >> 33);
  }
  /// Uniform in [-1, 1).
  float uniform() { return float(next()) / float(1u << 31) * 2.f - 1.f; }
  /// Uniform in [0, n); 0 if n <= 0.
  int32_t below(int32_t n) {
    return n <= 0 ? 0 : int32_t(next() % uint32_t(n));
  }
};

} // namespace fd::harness

#endif // FD_HARNESS_RANDOM_H
