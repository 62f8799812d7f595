//===- DirectFragmentsTest.cpp - CPU emulation of the direct_mP MMAs ------===//
//
// Emulates what one warp of convert-flat-gemm-to-gpu's direct_mP kernel
// computes for one 32-wide K step, lane by lane: the 16-byte loads, the
// fragments built with direct_gemm::pieceOffset (as the emitter builds them),
// and mma.sync.m16n8k16.row.col as the PTX ISA defines its fragment layouts
// (independently of pieceOffset). The result must be the plain dot product
// over the step's 32 physical k, for f16-exact integer data (so the
// comparison is exact) and for random reals. A wrong k renaming gives a
// silently wrong GEMM on the GPU; here it is a failed check.
//
//===----------------------------------------------------------------------===//

#include "fd/Conversion/FlatGemmToGPU/DirectFragments.h"

#include <cmath>
#include <cstdio>
#include <random>
#include <set>

using namespace mlir::fd::direct_gemm;

namespace {
int failures = 0;

void check(bool ok, const char *what, int a = 0, int b = 0) {
  if (!ok) {
    std::printf("FAIL %s (%d, %d)\n", what, a, b);
    ++failures;
  }
}

/// The lanes' fragments of one m16n8k16 MMA.
struct Fragments {
  double a[32][8]; // a0..a7
  double b[32][4]; // b0..b3
};

/// D = A B + C with A (16 x 16), B (16 x 8) and C/D (16 x 8) distributed
/// as in the PTX ISA ("Matrix Fragments for mma.m16n8k16", f16/bf16):
///   a0,a1: (row g, k 2t + i)      a2,a3: (row g + 8, k 2t + i)
///   a4,a5: (row g, k 2t + 8 + i)  a6,a7: (row g + 8, k 2t + 8 + i)
///   b0,b1: (k 2t + i, col g)      b2,b3: (k 2t + 8 + i, col g)
///   c0,c1: (row g, col 2t + i)    c2,c3: (row g + 8, col 2t + i)
void mma(const Fragments &f, double c[32][4]) {
  double A[16][16], B[16][8];
  for (int lane = 0; lane < 32; ++lane) {
    int g = lane / 4, t = lane % 4;
    for (int i = 0; i < 2; ++i) {
      A[g][2 * t + i] = f.a[lane][i];
      A[g + 8][2 * t + i] = f.a[lane][2 + i];
      A[g][2 * t + 8 + i] = f.a[lane][4 + i];
      A[g + 8][2 * t + 8 + i] = f.a[lane][6 + i];
      B[2 * t + i][g] = f.b[lane][i];
      B[2 * t + 8 + i][g] = f.b[lane][2 + i];
    }
  }
  for (int lane = 0; lane < 32; ++lane) {
    int g = lane / 4, t = lane % 4;
    for (int r = 0; r < 2; ++r)
      for (int i = 0; i < 2; ++i) {
        double s = 0;
        for (int k = 0; k < 16; ++k)
          s += A[g + 8 * r][k] * B[k][2 * t + i];
        c[lane][2 * r + i] += s;
      }
  }
}

/// One step of the kernel: W is 16 x 32 (the CTA's rows), X is 8 x 32 (one
/// n-tile of batch rows); returns Y (16 x 8) read back from the C fragments.
void directStep(const double W[16][32], const double X[8][32],
                double Y[16][8]) {
  double c[32][4] = {};
  for (int j = 0; j < 2; ++j) {
    Fragments f;
    for (int lane = 0; lane < 32; ++lane) {
      int g = lane / 4, t = lane % 4;
      // The lane's three 16-byte loads: physical k 8t .. 8t + 7.
      const double *wg = &W[g][kPiece * t], *wg8 = &W[g + 8][kPiece * t],
                   *x = &X[g][kPiece * t];
      // A: [row g low, row g + 8 low, row g high, row g + 8 high] pairs,
      // B: [low, high] pairs, as buildDirectBody shuffles them.
      int r = 0;
      for (bool high : {false, true})
        for (const double *row : {wg, wg8})
          for (int e = 0; e < 2; ++e)
            f.a[lane][r++] = row[pieceOffset(j, high, e)];
      r = 0;
      for (bool high : {false, true})
        for (int e = 0; e < 2; ++e)
          f.b[lane][r++] = x[pieceOffset(j, high, e)];
    }
    mma(f, c);
  }
  for (int lane = 0; lane < 32; ++lane) {
    int g = lane / 4, t = lane % 4;
    for (int r = 0; r < 2; ++r)
      for (int i = 0; i < 2; ++i)
        Y[g + 8 * r][2 * t + i] = c[lane][2 * r + i];
  }
}

void compare(const double W[16][32], const double X[8][32], bool exact,
             const char *what) {
  double Y[16][8];
  directStep(W, X, Y);
  for (int n = 0; n < 16; ++n)
    for (int m = 0; m < 8; ++m) {
      double ref = 0;
      for (int k = 0; k < 32; ++k)
        ref += W[n][k] * X[m][k];
      check(exact ? Y[n][m] == ref : std::fabs(Y[n][m] - ref) < 1e-9, what, n,
            m);
    }
}
} // namespace

int main() {
  // physicalK is a bijection of each MMA's 16 logical k onto half of the
  // step, and the two MMAs cover all 32 physical k once.
  std::set<int64_t> seen;
  for (int j = 0; j < 2; ++j)
    for (int k = 0; k < 16; ++k) {
      int64_t p = physicalK(j, k);
      check(p >= 0 && p < kStepK, "physicalK in range", j, k);
      check(seen.insert(p).second, "physicalK used twice", j, k);
    }
  check(seen.size() == size_t(kStepK), "physicalK covers the step");
  // Each fragment register (an aligned pair) is one aligned pair of the
  // loaded piece: no data movement when building fragments.
  for (int j = 0; j < 2; ++j)
    for (bool high : {false, true})
      check(pieceOffset(j, high, 0) % 2 == 0 &&
                pieceOffset(j, high, 1) == pieceOffset(j, high, 0) + 1,
            "aligned pair", j, high);

  static double W[16][32], X[8][32];
  // Distinct small integers: exact in f64, and a swapped k shows up.
  for (int n = 0; n < 16; ++n)
    for (int k = 0; k < 32; ++k)
      W[n][k] = (n * 37 + k * 11) % 23 - 11;
  for (int m = 0; m < 8; ++m)
    for (int k = 0; k < 32; ++k)
      X[m][k] = (m * 13 + k * k) % 19 - 9;
  compare(W, X, true, "integer data");
  // One-hot: a single physical k must land on exactly its own product.
  for (int k = 0; k < 32; ++k) {
    static double W1[16][32], X1[8][32];
    for (int n = 0; n < 16; ++n)
      for (int kk = 0; kk < 32; ++kk)
        W1[n][kk] = kk == k ? n + 1 : 0;
    for (int m = 0; m < 8; ++m)
      for (int kk = 0; kk < 32; ++kk)
        X1[m][kk] = kk == k ? 100 * (m + 1) : (kk + 1) * 1000;
    compare(W1, X1, true, "one-hot k");
  }
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> uni(-1, 1);
  for (int trial = 0; trial < 20; ++trial) {
    for (auto &row : W)
      for (double &v : row)
        v = uni(rng);
    for (auto &row : X)
      for (double &v : row)
        v = uni(rng);
    compare(W, X, false, "random data");
  }
  std::printf("%s\n", failures ? "FAILED" : "PASSED");
  return failures ? 1 : 0;
}
