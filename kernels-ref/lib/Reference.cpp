//===- Reference.cpp - fp64 CPU reference for decode attention ------------===//

#include "fd/ref/Reference.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <vector>

using namespace fd::ref;

/// A broken precondition means the test itself is wrong: stop loudly.
[[noreturn]] static void fatal(const char *msg) {
  std::fprintf(stderr, "fd::ref: %s\n", msg);
  std::abort();
}

namespace {
/// Widens one input element to double.
struct FloatLoad {
  const float *p;
  double operator()(int64_t i) const { return p[i]; }
};
struct Bits16Load {
  DType dtype;
  const uint16_t *p;
  double operator()(int64_t i) const { return toFloat(dtype, p[i]); }
};
} // namespace

template <typename Load>
static void decodeImpl(const DecodeShape &s, double scale, Load q, Load k,
                       KVStrides ks, Load v, KVStrides vs,
                       const int32_t *lens, double *out, double *lse) {
  if (s.B < 0 || s.Hq <= 0 || s.Hkv <= 0 || s.L < 0 || s.D <= 0)
    fatal("decodeAttention: bad shape");
  if (s.Hq % s.Hkv != 0)
    fatal("decodeAttention: Hq must be a multiple of Hkv");
  const int group = s.Hq / s.Hkv;
  std::vector<double> scores;
  for (int b = 0; b < s.B; ++b) {
    const int n = lens[b];
    if (n < 0 || n > s.L)
      fatal("decodeAttention: lens[b] outside [0, L]");
    scores.assign(size_t(n), 0.0);
    for (int h = 0; h < s.Hq; ++h) {
      const int g = h / group;
      const int64_t qRow = (int64_t(b) * s.Hq + h) * s.D;
      double *o = out + qRow;
      std::fill(o, o + s.D, 0.0);
      if (lse)
        lse[b * s.Hq + h] = -std::numeric_limits<double>::infinity();
      if (n == 0)
        continue; // Empty softmax: defined as a zero row.
      const int64_t kHead = b * ks.b + g * ks.h, vHead = b * vs.b + g * vs.h;
      double maxScore = -std::numeric_limits<double>::infinity();
      for (int t = 0; t < n; ++t) {
        double dot = 0;
        for (int d = 0; d < s.D; ++d)
          dot += q(qRow + d) * k(kHead + t * ks.l + d);
        scores[t] = scale * dot;
        maxScore = std::max(maxScore, scores[t]);
      }
      // Subtracting the max keeps exp() finite; the result is unchanged.
      double sum = 0;
      for (int t = 0; t < n; ++t) {
        const double p = std::exp(scores[t] - maxScore);
        sum += p;
        for (int d = 0; d < s.D; ++d)
          o[d] += p * v(vHead + t * vs.l + d);
      }
      for (int d = 0; d < s.D; ++d)
        o[d] /= sum;
      if (lse)
        lse[b * s.Hq + h] = maxScore + std::log(sum);
    }
  }
}

void fd::ref::decodeAttention(const DecodeShape &shape, double scale,
                              const float *q, const float *k,
                              KVStrides kStrides, const float *v,
                              KVStrides vStrides, const int32_t *lens,
                              double *out, double *lse) {
  decodeImpl(shape, scale, FloatLoad{q}, FloatLoad{k}, kStrides, FloatLoad{v},
             vStrides, lens, out, lse);
}

void fd::ref::decodeAttention(DType dtype, const DecodeShape &shape,
                              double scale, const uint16_t *q,
                              const uint16_t *k, KVStrides kStrides,
                              const uint16_t *v, KVStrides vStrides,
                              const int32_t *lens, double *out,
                              double *lse) {
  decodeImpl(shape, scale, Bits16Load{dtype, q}, Bits16Load{dtype, k},
             kStrides, Bits16Load{dtype, v}, vStrides, lens, out, lse);
}

template <typename Load>
static void gemmImpl(int M, int N, int K, Load x, Load w, const Load *bias,
                     double *y) {
  if (M < 0 || N < 0 || K < 0)
    fatal("flatGemm: bad shape");
  for (int m = 0; m < M; ++m)
    for (int n = 0; n < N; ++n) {
      double acc = bias ? (*bias)(n) : 0.0;
      for (int kk = 0; kk < K; ++kk)
        acc += x(int64_t(m) * K + kk) * w(int64_t(n) * K + kk);
      y[int64_t(m) * N + n] = acc;
    }
}

void fd::ref::flatGemm(int M, int N, int K, const float *x, const float *w,
                       const float *bias, double *y) {
  const FloatLoad b{bias};
  gemmImpl(M, N, K, FloatLoad{x}, FloatLoad{w}, bias ? &b : nullptr, y);
}

void fd::ref::flatGemm(DType dtype, int M, int N, int K, const uint16_t *x,
                       const uint16_t *w, const uint16_t *bias, double *y) {
  const Bits16Load b{dtype, bias};
  gemmImpl(M, N, K, Bits16Load{dtype, x}, Bits16Load{dtype, w},
           bias ? &b : nullptr, y);
}

double fd::ref::relativeError(const double *out, const double *ref,
                              size_t n) {
  double diff2 = 0, ref2 = 0, out2 = 0;
  for (size_t i = 0; i < n; ++i) {
    const double d = out[i] - ref[i];
    diff2 += d * d;
    ref2 += ref[i] * ref[i];
    out2 += out[i] * out[i];
  }
  if (ref2 == 0)
    return std::sqrt(out2);
  return std::sqrt(diff2) / std::sqrt(ref2);
}

double fd::ref::maxAbsError(const double *out, const double *ref, size_t n) {
  double worst = 0;
  for (size_t i = 0; i < n; ++i) {
    const double d = std::fabs(out[i] - ref[i]);
    if (std::isnan(d))
      return d; // std::max would silently drop it.
    worst = std::max(worst, d);
  }
  return worst;
}
