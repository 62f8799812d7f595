//===- UnifiedMaxTest.cpp - Score statistics and the re-centring policy ---===//
//
// The key encoding must match the kernels' (UnifiedMaxKernels.cpp); the
// GPU test checks the two against each other on real statistics.
//
//===----------------------------------------------------------------------===//

#include "TestUtil.h"

#include "fd/Runtime/UnifiedMax.h"

#include <cmath>
#include <limits>

using namespace fd::rt;

TEST(OrderedKeyKeepsOrder) {
  const float inf = std::numeric_limits<float>::infinity();
  const float values[] = {-inf, -3.4e38f, -200.f,  -1.f,   -1e-40f,
                          -0.f, 0.f,      1e-40f,  1e-30f, 0.5f,
                          4.f,  150.f,    3.4e38f, inf};
  const size_t n = sizeof(values) / sizeof(values[0]);
  for (size_t i = 0; i < n; ++i) {
    // 0 (a zeroed workspace) is below every float.
    CHECK(orderedKey(values[i]) > 0u);
    // Round trip, bit for bit (-0 stays -0).
    float back = fromOrderedKey(orderedKey(values[i]));
    CHECK(back == values[i] && std::signbit(back) == std::signbit(values[i]));
    if (i + 1 < n)
      CHECK(orderedKey(values[i]) < orderedKey(values[i + 1]));
  }
}

TEST(DecodeScoreStats) {
  uint32_t words[4] = {~orderedKey(-2.5f), orderedKey(7.25f), 12, 3};
  ScoreStats s = decodeScoreStats(words);
  CHECK_EQ(s.rows, 12u);
  CHECK_EQ(s.fallbacks, 3u);
  CHECK_EQ(s.minRowMax, -2.5f);
  CHECK_EQ(s.maxRowMax, 7.25f);
  // Nothing seen: the zeroed words.
  uint32_t zero[4] = {0, 0, 0, 0};
  CHECK_EQ(decodeScoreStats(zero).rows, 0u);
}

static ScoreStats stats(uint32_t rows, uint32_t fallbacks, float lo, float hi) {
  ScoreStats s;
  s.rows = rows;
  s.fallbacks = fallbacks;
  s.minRowMax = lo;
  s.maxRowMax = hi;
  return s;
}

TEST(RecentreWaitsForRows) {
  RecentrePolicy policy;
  policy.minRows = 64;
  RecentreDecision d = decideRecentre(stats(10, 10, 150, 160), 0, 30, policy);
  CHECK(!d.decided && !d.changed);
  CHECK_EQ(d.newPhi, 0.0);
  CHECK(!decideRecentre(stats(0, 0, 0, 0), 0, 30, {}).decided);
}

TEST(RecentreKeepsPhiBelowTheRate) {
  RecentrePolicy policy;
  policy.maxFallbackRate = 0.01;
  // 1 in 1000 rows fell back: below 1%, phi stays, the window is consumed.
  RecentreDecision d = decideRecentre(stats(1000, 1, -5, 40), 4, 30, policy);
  CHECK(d.decided && !d.changed);
  CHECK_EQ(d.newPhi, 4.0);
  CHECK(!d.covers); // 40 > 4 + 30
  d = decideRecentre(stats(1000, 0, -5, 20), 4, 30, policy);
  CHECK(d.decided && !d.changed && d.covers);
}

TEST(RecentreMovesPhiToTheMiddle) {
  // Every row overflowed phi = 0: scores sit at 140..170.
  RecentreDecision d = decideRecentre(stats(256, 256, 140, 170), 0, 30, {});
  CHECK(d.decided && d.changed && d.covers);
  CHECK_EQ(d.oldPhi, 0.0);
  CHECK_EQ(d.newPhi, 155.0);
  // Underflow: every row far below phi.
  d = decideRecentre(stats(8, 8, -260, -250), 0, 30, {});
  CHECK(d.changed && d.covers);
  CHECK_EQ(d.newPhi, -255.0);
  // Wider than 2 * threshold: the middle, and the band cannot cover it.
  d = decideRecentre(stats(8, 4, -100, 100), 60, 30, {});
  CHECK(d.changed && !d.covers);
  CHECK_EQ(d.newPhi, 0.0);
}

TEST(RecentreIgnoresNonFiniteScores) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  RecentreDecision d = decideRecentre(stats(8, 8, 0, nan), 0, 30, {});
  CHECK(d.decided && !d.changed);
  d = decideRecentre(stats(8, 8, -inf, 3), 0, 30, {});
  CHECK(d.decided && !d.changed);
}
