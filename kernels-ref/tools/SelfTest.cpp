//===- SelfTest.cpp - fd-ref-selftest: checks of the fp64 CPU reference ---===//
//
// Plain executable (no test framework): prints each failed check and exits
// non-zero if any failed. Each check states a fact that a plausible bug in
// the reference (wrong head mapping, wrong strides, no max subtraction,
// wrong rounding...) would break.
//
//===----------------------------------------------------------------------===//

#include "fd/ref/Half.h"
#include "fd/ref/Reference.h"

#include <cmath>
#include <cstdio>
#include <limits>
#include <vector>

using namespace fd::ref;

static int failures = 0;
static int checks = 0;

static void check(bool ok, const char *what, int line) {
  ++checks;
  if (!ok) {
    ++failures;
    std::printf("FAIL (line %d): %s\n", line, what);
  }
}
#define CHECK(cond) check((cond), #cond, __LINE__)
#define CHECKM(cond, msg) check((cond), msg, __LINE__)

static bool near(double a, double b, double tol) {
  return std::fabs(a - b) <= tol; // false for NaN.
}

/// Deterministic values in [-1, 1) (xorshift; no <random> so runs match).
struct Rng {
  uint64_t s = 0x9E3779B97F4A7C15ull;
  double next() {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return double(s >> 11) * 0x1.0p-52 - 1.0;
  }
};

static void testHalf() {
  CHECK(floatToHalf(1.0f) == 0x3C00);
  CHECK(floatToBf16(1.0f) == 0x3F80);
  CHECK(floatToHalf(-2.0f) == 0xC000);
  CHECK(floatToBf16(-2.0f) == 0xC000);
  CHECK(floatToHalf(0.0f) == 0x0000 && floatToHalf(-0.0f) == 0x8000);
  CHECK(floatToHalf(65504.0f) == 0x7BFF && halfToFloat(0x7BFF) == 65504.0f);
  CHECK(floatToHalf(65519.0f) == 0x7BFF); // Below the tie: max finite.
  CHECK(floatToHalf(65520.0f) == 0x7C00); // The tie rounds to even = Inf.
  CHECK(floatToHalf(1e6f) == 0x7C00 && floatToHalf(-1e6f) == 0xFC00);
  // Ties to even: 1 + 2^-11 is halfway between 0x3C00 and 0x3C01.
  CHECK(floatToHalf(1.0f + 0x1.0p-11f) == 0x3C00);
  CHECK(floatToHalf(1.0f + 3 * 0x1.0p-11f) == 0x3C02);
  CHECK(floatToHalf(1.0f + 0x1.0p-11f + 0x1.0p-20f) == 0x3C01);
  CHECK(floatToBf16(1.0f + 0x1.0p-8f) == 0x3F80);
  CHECK(floatToBf16(1.0f + 3 * 0x1.0p-8f) == 0x3F82);
  CHECK(floatToBf16(1.0f + 0x1.0p-8f + 0x1.0p-20f) == 0x3F81);
  // Half subnormals and the normal boundary.
  CHECK(floatToHalf(0x1.0p-14f) == 0x0400 && halfToFloat(0x0400) == 0x1.0p-14f);
  CHECK(floatToHalf(0x1.0p-24f) == 0x0001 && halfToFloat(0x0001) == 0x1.0p-24f);
  CHECK(floatToHalf(0x1.0p-25f) == 0x0000);     // Tie to even: 0.
  CHECK(floatToHalf(3 * 0x1.0p-25f) == 0x0002); // Tie to even: 2.
  CHECK(floatToHalf(0x1.0p-14f - 0x1.0p-26f) == 0x0400); // Rounds up to normal.
  CHECK(floatToHalf(std::numeric_limits<float>::denorm_min()) == 0x0000);
  CHECK(std::isnan(halfToFloat(floatToHalf(NAN))));
  CHECK(std::isnan(bf16ToFloat(floatToBf16(NAN))));
  CHECK(std::isinf(halfToFloat(0x7C00)) && std::isinf(bf16ToFloat(0x7F80)));
  // Every non-NaN pattern survives bits -> float -> bits.
  bool halfTrip = true, bf16Trip = true;
  for (uint32_t i = 0; i < 0x10000; ++i) {
    const uint16_t bits = uint16_t(i);
    const float h = halfToFloat(bits), b = bf16ToFloat(bits);
    if (std::isnan(h) ? !std::isnan(halfToFloat(floatToHalf(h)))
                      : floatToHalf(h) != bits)
      halfTrip = false;
    if (std::isnan(b) ? !std::isnan(bf16ToFloat(floatToBf16(b)))
                      : floatToBf16(b) != bits)
      bf16Trip = false;
  }
  CHECKM(halfTrip, "f16 bits -> float -> bits round-trips");
  CHECKM(bf16Trip, "bf16 bits -> float -> bits round-trips");
}

/// Random [B, H, L, D] cache in head-major order.
static std::vector<float> randomCache(const DecodeShape &s, Rng &rng) {
  std::vector<float> c(size_t(s.B) * s.Hkv * s.L * s.D);
  for (float &x : c)
    x = float(rng.next());
  return c;
}

static double maxAbs(const std::vector<double> &a) {
  double m = 0;
  for (double x : a)
    m = std::max(m, std::fabs(x));
  return m;
}

static void testDecode() {
  Rng rng;
  const double nan = std::numeric_limits<double>::quiet_NaN();

  // Hand-computed: scores {0, ln 3} -> weights {1/4, 3/4}.
  {
    const DecodeShape s{1, 1, 1, 2, 2};
    const float q[2] = {1, 0}, k[4] = {0, 0, float(std::log(3.0)), 0};
    const float v[4] = {4, 0, 0, 8};
    const int32_t lens[1] = {2};
    double out[2];
    decodeAttention(s, 1.0, q, k, headMajorStrides(1, 2, 2), v,
                    headMajorStrides(1, 2, 2), lens, out);
    CHECK(near(out[0], 1.0, 1e-6) && near(out[1], 6.0, 1e-6));
  }

  // len = 0 gives zeros, and tokens at or past len are never read: poison
  // everything past each length with NaN.
  {
    const DecodeShape s{3, 4, 2, 8, 16};
    auto k = randomCache(s, rng), v = randomCache(s, rng);
    std::vector<float> q(size_t(s.B) * s.Hq * s.D);
    for (float &x : q)
      x = float(rng.next());
    const int32_t lens[3] = {0, 5, 8};
    const KVStrides st = headMajorStrides(s.Hkv, s.L, s.D);
    for (int b = 0; b < s.B; ++b)
      for (int g = 0; g < s.Hkv; ++g)
        for (int t = lens[b]; t < s.L; ++t)
          for (int d = 0; d < s.D; ++d)
            k[b * st.b + g * st.h + t * st.l + d] =
                v[b * st.b + g * st.h + t * st.l + d] = float(nan);
    std::vector<double> out(q.size(), nan);
    decodeAttention(s, 0.25, q.data(), k.data(), st, v.data(), st, lens,
                    out.data());
    bool zeroRow = true, finite = true;
    for (int i = 0; i < s.Hq * s.D; ++i)
      zeroRow &= out[i] == 0.0;
    for (double x : out)
      finite &= std::isfinite(x);
    CHECKM(zeroRow, "len = 0 gives an all-zero row");
    CHECKM(finite, "NaN past lens[b] is never read");
  }

  // q = 0 makes all scores equal: the output is the mean of V[0:len).
  {
    const DecodeShape s{1, 2, 2, 9, 8};
    auto k = randomCache(s, rng), v = randomCache(s, rng);
    std::vector<float> q(size_t(s.Hq) * s.D, 0.0f);
    const int32_t lens[1] = {7};
    const KVStrides st = headMajorStrides(s.Hkv, s.L, s.D);
    std::vector<double> out(q.size());
    decodeAttention(s, 1.0, q.data(), k.data(), st, v.data(), st, lens,
                    out.data());
    double worst = 0;
    for (int h = 0; h < s.Hq; ++h)
      for (int d = 0; d < s.D; ++d) {
        double mean = 0;
        for (int t = 0; t < lens[0]; ++t)
          mean += v[h * st.h + t * st.l + d];
        mean /= lens[0];
        worst = std::max(worst, std::fabs(out[h * s.D + d] - mean));
      }
    CHECKM(worst < 1e-12, "q = 0 gives the mean of V[0:len)");
  }

  // One dominating score (60 vs 0; e^-60 ~ 1e-26) returns that V row; the
  // huge scores also need the max subtraction to stay finite.
  {
    const DecodeShape s{1, 1, 1, 6, 4};
    std::vector<float> k(6 * 4, 0.0f), v(6 * 4);
    for (float &x : v)
      x = float(rng.next());
    k[3 * 4 + 0] = 1.0f;
    const float q[4] = {600, 0, 0, 0};
    const int32_t lens[1] = {6};
    double out[4];
    const KVStrides st = headMajorStrides(1, 6, 4);
    decodeAttention(s, 0.1, q, k.data(), st, v.data(), st, lens, out);
    bool ok = true;
    for (int d = 0; d < 4; ++d)
      ok &= near(out[d], v[3 * 4 + d], 1e-6);
    CHECKM(ok, "a dominating score returns its V row");
    // Shifting every score by +1000 (exp(1000) overflows double) by adding
    // the same vector to all K rows must not change the result.
    for (int t = 0; t < 6; ++t)
      k[t * 4 + 1] += 10.0f;
    const float q2[4] = {600, 1000, 0, 0};
    double out2[4];
    decodeAttention(s, 0.1, q2, k.data(), st, v.data(), st, lens, out2);
    ok = true;
    for (int d = 0; d < 4; ++d)
      ok &= near(out2[d], out[d], 1e-9);
    CHECKM(ok, "shifting all scores by +1000 changes nothing");
  }

  // GQA: query head h reads KV head h / (Hq / Hkv). With q = 0 the output is
  // the mean V row, and V encodes its KV head as 100 * g.
  {
    const DecodeShape s{2, 8, 2, 5, 4};
    std::vector<float> k(size_t(s.B) * s.Hkv * s.L * s.D, 0.5f), v(k.size());
    const KVStrides st = headMajorStrides(s.Hkv, s.L, s.D);
    for (int b = 0; b < s.B; ++b)
      for (int g = 0; g < s.Hkv; ++g)
        for (int t = 0; t < s.L; ++t)
          for (int d = 0; d < s.D; ++d)
            v[b * st.b + g * st.h + t * st.l + d] = float(100 * g + 10 * b + t);
    std::vector<float> q(size_t(s.B) * s.Hq * s.D, 0.0f);
    const int32_t lens[2] = {5, 3};
    std::vector<double> out(q.size());
    decodeAttention(s, 1.0, q.data(), k.data(), st, v.data(), st, lens,
                    out.data());
    bool ok = true;
    for (int b = 0; b < s.B; ++b)
      for (int h = 0; h < s.Hq; ++h) {
        const double meanT = (lens[b] - 1) / 2.0;
        const double want = 100.0 * (h / 4) + 10.0 * b + meanT;
        ok &= near(out[(b * s.Hq + h) * s.D], want, 1e-9);
      }
    CHECKM(ok, "GQA: query head h reads KV head h / (Hq / Hkv)");
  }

  // GQA with random data equals MHA over KV heads replicated per query head.
  {
    const DecodeShape s{2, 6, 3, 7, 8};
    auto k = randomCache(s, rng), v = randomCache(s, rng);
    std::vector<float> q(size_t(s.B) * s.Hq * s.D);
    for (float &x : q)
      x = float(rng.next()) * 3;
    const int32_t lens[2] = {7, 4};
    const KVStrides st = headMajorStrides(s.Hkv, s.L, s.D);
    const DecodeShape mha{s.B, s.Hq, s.Hq, s.L, s.D};
    const KVStrides mst = headMajorStrides(s.Hq, s.L, s.D);
    std::vector<float> k2(size_t(s.B) * s.Hq * s.L * s.D), v2(k2.size());
    for (int b = 0; b < s.B; ++b)
      for (int h = 0; h < s.Hq; ++h)
        for (int i = 0; i < s.L * s.D; ++i) {
          k2[b * mst.b + h * mst.h + i] = k[b * st.b + (h / 2) * st.h + i];
          v2[b * mst.b + h * mst.h + i] = v[b * st.b + (h / 2) * st.h + i];
        }
    std::vector<double> out(q.size()), want(q.size());
    decodeAttention(s, 0.3, q.data(), k.data(), st, v.data(), st, lens,
                    out.data());
    decodeAttention(mha, 0.3, q.data(), k2.data(), mst, v2.data(), mst, lens,
                    want.data());
    CHECK(maxAbsError(out.data(), want.data(), out.size()) == 0.0);
    CHECK(maxAbs(out) > 0.01); // Not vacuous.
  }

  // Token-major [B, L, Hkv, D] storage through strides equals head-major
  // copies of the same values; f16/bf16 inputs equal their float widening.
  for (DType dt : {DType::F16, DType::BF16}) {
    const DecodeShape s{2, 8, 4, 11, 16};
    const size_t n = size_t(s.B) * s.Hkv * s.L * s.D;
    std::vector<uint16_t> kT(n), vT(n), kH(n), vH(n);
    std::vector<uint16_t> q(size_t(s.B) * s.Hq * s.D);
    for (auto &x : q)
      x = fromFloat(dt, float(rng.next() * 2));
    const KVStrides tm = tokenMajorStrides(s.Hkv, s.L, s.D);
    const KVStrides hm = headMajorStrides(s.Hkv, s.L, s.D);
    CHECK(tm.b == int64_t(s.L) * s.Hkv * s.D && tm.h == s.D &&
          tm.l == int64_t(s.Hkv) * s.D);
    for (int b = 0; b < s.B; ++b)
      for (int g = 0; g < s.Hkv; ++g)
        for (int t = 0; t < s.L; ++t)
          for (int d = 0; d < s.D; ++d) {
            const uint16_t kx = fromFloat(dt, float(rng.next()));
            const uint16_t vx = fromFloat(dt, float(rng.next()));
            kT[b * tm.b + g * tm.h + t * tm.l + d] = kx;
            vT[b * tm.b + g * tm.h + t * tm.l + d] = vx;
            kH[b * hm.b + g * hm.h + t * hm.l + d] = kx;
            vH[b * hm.b + g * hm.h + t * hm.l + d] = vx;
          }
    const int32_t lens[2] = {11, 6};
    std::vector<double> outT(q.size()), outH(q.size()), outF(q.size());
    decodeAttention(dt, s, 0.25, q.data(), kT.data(), tm, vT.data(), tm, lens,
                    outT.data());
    decodeAttention(dt, s, 0.25, q.data(), kH.data(), hm, vH.data(), hm, lens,
                    outH.data());
    CHECK(maxAbsError(outT.data(), outH.data(), outT.size()) == 0.0);
    auto widen = [&](const std::vector<uint16_t> &x) {
      std::vector<float> f(x.size());
      for (size_t i = 0; i < x.size(); ++i)
        f[i] = toFloat(dt, x[i]);
      return f;
    };
    auto qf = widen(q), kf = widen(kH), vf = widen(vH);
    decodeAttention(s, 0.25, qf.data(), kf.data(), hm, vf.data(), hm, lens,
                    outF.data());
    CHECK(maxAbsError(outF.data(), outH.data(), outF.size()) == 0.0);
    CHECK(maxAbs(outH) > 0.01);
  }
}

static void testGemm() {
  // x = [[1,2],[3,4]], W = [[1,0],[0,1],[1,1]], bias = [0.5,-1,2]:
  // y = x W^T + bias = [[1.5,1,5],[3.5,3,9]].
  const float x[4] = {1, 2, 3, 4}, w[6] = {1, 0, 0, 1, 1, 1};
  const float bias[3] = {0.5f, -1, 2};
  const double want[6] = {1.5, 1, 5, 3.5, 3, 9};
  const double wantNoBias[6] = {1, 2, 3, 3, 4, 7};
  double y[6];
  flatGemm(2, 3, 2, x, w, bias, y);
  CHECK(maxAbsError(y, want, 6) == 0.0);
  flatGemm(2, 3, 2, x, w, nullptr, y);
  CHECK(maxAbsError(y, wantNoBias, 6) == 0.0);
  for (DType dt : {DType::F16, DType::BF16}) {
    uint16_t xb[4], wb[6], bb[3];
    for (int i = 0; i < 4; ++i)
      xb[i] = fromFloat(dt, x[i]);
    for (int i = 0; i < 6; ++i)
      wb[i] = fromFloat(dt, w[i]);
    for (int i = 0; i < 3; ++i)
      bb[i] = fromFloat(dt, bias[i]);
    flatGemm(dt, 2, 3, 2, xb, wb, bb, y);
    CHECK(maxAbsError(y, want, 6) == 0.0);
  }
  // Non-square, inputs not representable in bf16: accumulation is exact
  // double over the widened inputs.
  const float x2[3] = {0.1f, 0.2f, 0.3f}, w2[3] = {1, 1, 1};
  double y2;
  flatGemm(1, 1, 3, x2, w2, nullptr, &y2);
  CHECK(y2 == double(0.1f) + double(0.2f) + double(0.3f));
}

static void testErrors() {
  const double ref[2] = {3, 4}, out[2] = {3, 5}, zero[2] = {0, 0};
  CHECK(near(relativeError(out, ref, 2), 1.0 / 5.0, 1e-15));
  CHECK(relativeError(ref, ref, 2) == 0.0);
  CHECK(near(relativeError(ref, zero, 2), 5.0, 1e-15)); // ||ref|| = 0 guard.
  CHECK(relativeError(zero, zero, 2) == 0.0);
  CHECK(maxAbsError(out, ref, 2) == 1.0);
  const double withNan[2] = {std::numeric_limits<double>::quiet_NaN(), 4};
  CHECK(std::isnan(relativeError(withNan, ref, 2)));
  CHECK(std::isnan(maxAbsError(withNan, ref, 2)));
  const double nanLast[2] = {3, std::numeric_limits<double>::quiet_NaN()};
  CHECK(std::isnan(maxAbsError(nanLast, ref, 2)));
}

int main() {
  testHalf();
  testDecode();
  testGemm();
  testErrors();
  if (failures) {
    std::printf("fd-ref-selftest: %d of %d checks FAILED\n", failures, checks);
    return 1;
  }
  std::printf("fd-ref-selftest: all %d checks passed\n", checks);
  return 0;
}
