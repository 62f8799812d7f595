//===- GpuCheck.cpp - fd-ref-gpucheck: CUDA reference kernels vs fp64 -----===//
//
// Runs the baseline and two-stage kernels over a matrix of shapes, dtypes,
// layouts and split plans against the fp64 CPU reference. Outputs and the
// workspace are poisoned with 0xFF bytes (NaN in f16/bf16/f32) before each
// run, and K/V past each sequence's length hold NaN, so an unwritten output
// or a read past lens[b] shows up as a failure. Exit 0: all passed; 1: a
// failure; 77: no GPU (skipped). `--bench` times a few decode shapes instead.
//
//===----------------------------------------------------------------------===//

#include "fd/ref/Half.h"
#include "fd/ref/RefKernels.h"
#include "fd/ref/Reference.h"

#include <cuda_runtime_api.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

using namespace fd::ref;

#define CUDA_CHECK(expr)                                                       \
  do {                                                                         \
    cudaError_t err_ = (expr);                                                 \
    if (err_ != cudaSuccess) {                                                 \
      std::printf("FAIL: %s:%d: %s: %s\n", __FILE__, __LINE__, #expr,          \
                  cudaGetErrorString(err_));                                   \
      std::exit(1);                                                            \
    }                                                                          \
  } while (0)

namespace {

/// Deterministic uniform values in [-1, 1).
struct Rng {
  uint64_t s;
  explicit Rng(uint64_t seed) : s(seed * 0x9E3779B97F4A7C15ull | 1) {}
  float next() {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return float(double(s >> 11) * 0x1.0p-52 - 1.0);
  }
};

/// Owning device buffer.
struct DeviceBuffer {
  void *ptr = nullptr;
  explicit DeviceBuffer(size_t bytes) { CUDA_CHECK(cudaMalloc(&ptr, bytes)); }
  ~DeviceBuffer() { cudaFree(ptr); }
  DeviceBuffer(const DeviceBuffer &) = delete;
  DeviceBuffer &operator=(const DeviceBuffer &) = delete;
};

struct Case {
  int B, L, Hq, Hkv, D;
  DType dtype;
  bool tokenMajor;
};

/// Split plans: chunk 0 = per-sequence ceil(len / S). (3, 16) leaves a
/// remainder for the last split; (64, 0) and (16, 64) give empty splits.
struct SplitPlan {
  int numSplits, chunk;
};
const SplitPlan kPlans[] = {{1, 0}, {5, 0}, {3, 16}, {64, 0}, {16, 64}};

std::vector<int32_t> lengthsFor(int B, int L) {
  if (B == 1)
    return {L};
  // A partial length (not a multiple of any chunk above), empty, one token.
  std::vector<int32_t> lens = {std::min(L, 2 * L / 3 + 1), 0, 1};
  lens.resize(size_t(B), L);
  return lens;
}

/// Worst per-sequence relative error of `outBits` against `ref`, or NaN if
/// anything is non-finite or a len = 0 row is not exactly zero.
double compare(const Case &c, const std::vector<int32_t> &lens,
               const std::vector<uint16_t> &outBits,
               const std::vector<double> &ref) {
  const size_t row = size_t(c.Hq) * c.D;
  std::vector<double> out(outBits.size());
  for (size_t i = 0; i < out.size(); ++i)
    out[i] = toFloat(c.dtype, outBits[i]);
  double worst = 0;
  for (int b = 0; b < c.B; ++b) {
    const double *o = out.data() + b * row, *r = ref.data() + b * row;
    double err = relativeError(o, r, row);
    if (lens[b] == 0 &&
        !std::all_of(o, o + row, [](double x) { return x == 0.0; }))
      err = NAN;
    if (!(err < 1e300))
      return NAN;
    worst = std::max(worst, err);
  }
  return worst;
}

/// Returns true if the case passed; prints one line.
bool runCase(const Case &c, cudaStream_t stream) {
  const std::vector<int32_t> lens = lengthsFor(c.B, c.L);
  const DecodeShape shape{c.B, c.Hq, c.Hkv, c.L, c.D};
  const KVStrides st = c.tokenMajor ? tokenMajorStrides(c.Hkv, c.L, c.D)
                                    : headMajorStrides(c.Hkv, c.L, c.D);
  const size_t qElems = size_t(c.B) * c.Hq * c.D;
  const size_t kvElems = size_t(c.B) * c.Hkv * c.L * c.D;
  const uint16_t nanBits = c.dtype == DType::F16 ? 0x7E00 : 0x7FC0;

  Rng rng(uint64_t(c.B) * 1000003 + c.L * 10007 + c.Hq * 101 + c.Hkv * 13 +
          c.D + int(c.dtype) * 7 + c.tokenMajor);
  std::vector<uint16_t> q(qElems), k(kvElems, nanBits), v(kvElems, nanBits);
  // q in [-4, 4) against K in [-1, 1): scores spread by ~1.3, so the
  // softmax is neither uniform nor one-hot.
  for (auto &x : q)
    x = fromFloat(c.dtype, 4 * rng.next());
  for (int b = 0; b < c.B; ++b)
    for (int g = 0; g < c.Hkv; ++g)
      for (int t = 0; t < lens[b]; ++t)
        for (int d = 0; d < c.D; ++d) {
          const int64_t i = b * st.b + g * st.h + t * st.l + d;
          k[i] = fromFloat(c.dtype, rng.next());
          v[i] = fromFloat(c.dtype, rng.next());
        }
  const double scale = 1.0 / std::sqrt(double(c.D));
  std::vector<double> ref(qElems);
  decodeAttention(c.dtype, shape, scale, q.data(), k.data(), st, v.data(), st,
                  lens.data(), ref.data());

  DeviceBuffer dq(qElems * 2), dk(kvElems * 2), dv(kvElems * 2),
      dlens(lens.size() * 4), dout(qElems * 2);
  size_t wsBytes = 0;
  for (const SplitPlan &p : kPlans)
    wsBytes = std::max(
        wsBytes, splitDecodeWorkspaceBytes(c.B, c.Hq, c.D, p.numSplits));
  DeviceBuffer ws(wsBytes);
  CUDA_CHECK(cudaMemcpy(dq.ptr, q.data(), qElems * 2, cudaMemcpyHostToDevice));
  CUDA_CHECK(cudaMemcpy(dk.ptr, k.data(), kvElems * 2, cudaMemcpyHostToDevice));
  CUDA_CHECK(cudaMemcpy(dv.ptr, v.data(), kvElems * 2, cudaMemcpyHostToDevice));
  CUDA_CHECK(cudaMemcpy(dlens.ptr, lens.data(), lens.size() * 4,
                        cudaMemcpyHostToDevice));

  DecodeParams params;
  params.dtype = c.dtype;
  params.shape = shape;
  params.scale = float(scale);
  params.q = dq.ptr;
  params.k = dk.ptr;
  params.v = dv.ptr;
  params.kStrides = params.vStrides = st;
  params.lens = static_cast<const int32_t *>(dlens.ptr);
  params.out = dout.ptr;

  std::vector<uint16_t> out(qElems);
  auto fetch = [&] {
    CUDA_CHECK(cudaStreamSynchronize(stream));
    CUDA_CHECK(
        cudaMemcpy(out.data(), dout.ptr, qElems * 2, cudaMemcpyDeviceToHost));
    return compare(c, lens, out, ref);
  };
  const double tol = 1e-2;
  bool ok = true;

  CUDA_CHECK(cudaMemsetAsync(dout.ptr, 0xFF, qElems * 2, stream));
  CUDA_CHECK(launchDecodeBaseline(params, stream));
  const double baseErr = fetch();
  ok &= baseErr < tol;

  double splitErr = 0;
  std::string badPlans;
  for (const SplitPlan &p : kPlans) {
    CUDA_CHECK(cudaMemsetAsync(dout.ptr, 0xFF, qElems * 2, stream));
    CUDA_CHECK(cudaMemsetAsync(ws.ptr, 0xFF, wsBytes, stream));
    CUDA_CHECK(
        launchDecodeSplit(params, p.numSplits, p.chunk, ws.ptr, wsBytes, stream));
    const double err = fetch();
    if (!(err < tol)) {
      ok = false;
      badPlans += " S=" + std::to_string(p.numSplits) +
                  "/chunk=" + std::to_string(p.chunk);
    }
    splitErr = std::isnan(err) ? err : std::max(splitErr, err);
  }

  std::string lensText;
  for (int32_t n : lens)
    lensText += (lensText.empty() ? "" : ",") + std::to_string(n);
  std::printf("%s B=%d L=%-4d Hq=%-2d Hkv=%-2d D=%-3d %-4s %-11s lens=%-10s "
              "baseline %.2e  split(worst of %zu) %.2e%s%s\n",
              ok ? "PASS" : "FAIL", c.B, c.L, c.Hq, c.Hkv, c.D,
              dtypeName(c.dtype), c.tokenMajor ? "token-major" : "head-major",
              lensText.c_str(), baseErr, std::size(kPlans), splitErr,
              badPlans.empty() ? "" : "  failing:", badPlans.c_str());
  return ok;
}

/// Launchers must refuse what the kernels cannot do, without launching.
bool checkRejects() {
  DecodeParams p;
  p.shape = {1, 8, 8, 16, 128};
  p.scale = 1;
  DeviceBuffer buf(1 << 20);
  p.q = p.k = p.v = buf.ptr;
  p.out = buf.ptr;
  p.lens = static_cast<const int32_t *>(buf.ptr);
  p.kStrides = p.vStrides = headMajorStrides(8, 16, 128);
  const size_t ws = splitDecodeWorkspaceBytes(1, 8, 128, 4);
  bool ok = true;
  auto expectInvalid = [&](cudaError_t err, const char *what) {
    if (err != cudaErrorInvalidValue) {
      std::printf("FAIL reject: %s gave %s\n", what, cudaGetErrorString(err));
      ok = false;
    }
  };
  DecodeParams bad = p;
  bad.shape.D = 96;
  expectInvalid(launchDecodeBaseline(bad, 0), "D = 96");
  bad = p;
  bad.shape.Hkv = 3;
  expectInvalid(launchDecodeBaseline(bad, 0), "Hq % Hkv != 0");
  bad = p;
  bad.kStrides.l = 130;
  expectInvalid(launchDecodeBaseline(bad, 0), "stride not a multiple of 8");
  bad = p;
  bad.k = static_cast<char *>(buf.ptr) + 2;
  expectInvalid(launchDecodeBaseline(bad, 0), "misaligned k");
  expectInvalid(launchDecodeSplit(p, 4, 0, buf.ptr, ws - 1, 0),
                "workspace too small");
  expectInvalid(launchDecodeSplit(p, 0, 0, buf.ptr, ws, 0), "numSplits = 0");
  expectInvalid(launchDecodeSplit(p, 4, 0, static_cast<char *>(buf.ptr) + 16,
                                  ws, 0),
                "misaligned workspace");
  CUDA_CHECK(cudaGetLastError()); // Nothing may have been launched.
  std::printf("%s launcher argument checks\n", ok ? "PASS" : "FAIL");
  return ok;
}

/// The split plan of docs/bundle.md, mode "auto".
void planAuto(int B, int Hkv, int maxLen, int smCount, int &S, int &chunk) {
  auto ceilDiv = [](long a, long b) { return (a + b - 1) / b; };
  const long target = 2L * smCount;
  long s = long(B) * Hkv >= target ? 1 : ceilDiv(target, long(B) * Hkv);
  s = std::min({s, std::max(1L, ceilDiv(maxLen, 256)), 256L});
  chunk = int(ceilDiv(ceilDiv(std::max(maxLen, 1), s), 64) * 64);
  S = int(std::max(1L, ceilDiv(maxLen, chunk)));
}

/// Times both kernels on typical decode shapes; K/V bytes over time.
int bench() {
  int dev = 0, smCount = 0;
  CUDA_CHECK(cudaGetDevice(&dev));
  CUDA_CHECK(cudaDeviceGetAttribute(&smCount, cudaDevAttrMultiProcessorCount,
                                    dev));
  cudaEvent_t start, stop;
  CUDA_CHECK(cudaEventCreate(&start));
  CUDA_CHECK(cudaEventCreate(&stop));
  struct Shape {
    int B, Hq, Hkv, L, D;
  };
  const Shape shapes[] = {{1, 32, 8, 4096, 128},   {1, 32, 8, 32768, 128},
                          {8, 32, 8, 8192, 128},   {64, 32, 8, 2048, 128},
                          {1, 64, 8, 32768, 128},  {4, 32, 32, 8192, 128},
                          {1, 8, 1, 131072, 256}};
  for (const Shape &sh : shapes) {
    const size_t kvElems = size_t(sh.B) * sh.Hkv * sh.L * sh.D;
    const size_t qElems = size_t(sh.B) * sh.Hq * sh.D;
    DeviceBuffer dq(qElems * 2), dk(kvElems * 2), dv(kvElems * 2),
        dlens(sh.B * 4), dout(qElems * 2);
    CUDA_CHECK(cudaMemset(dq.ptr, 0, qElems * 2));
    CUDA_CHECK(cudaMemset(dk.ptr, 0, kvElems * 2));
    CUDA_CHECK(cudaMemset(dv.ptr, 0, kvElems * 2));
    std::vector<int32_t> lens(size_t(sh.B), sh.L);
    CUDA_CHECK(cudaMemcpy(dlens.ptr, lens.data(), sh.B * 4,
                          cudaMemcpyHostToDevice));
    int S, chunk;
    planAuto(sh.B, sh.Hkv, sh.L, smCount, S, chunk);
    const size_t wsBytes = splitDecodeWorkspaceBytes(sh.B, sh.Hq, sh.D, S);
    DeviceBuffer ws(wsBytes);
    DecodeParams p;
    p.shape = {sh.B, sh.Hq, sh.Hkv, sh.L, sh.D};
    p.scale = 1.0f / std::sqrt(float(sh.D));
    p.q = dq.ptr, p.k = dk.ptr, p.v = dv.ptr, p.out = dout.ptr;
    p.lens = static_cast<const int32_t *>(dlens.ptr);
    p.kStrides = p.vStrides = headMajorStrides(sh.Hkv, sh.L, sh.D);
    auto time = [&](auto &&launch) {
      for (int i = 0; i < 3; ++i)
        CUDA_CHECK(launch());
      const int iters = 20;
      CUDA_CHECK(cudaEventRecord(start));
      for (int i = 0; i < iters; ++i)
        CUDA_CHECK(launch());
      CUDA_CHECK(cudaEventRecord(stop));
      CUDA_CHECK(cudaEventSynchronize(stop));
      float ms = 0;
      CUDA_CHECK(cudaEventElapsedTime(&ms, start, stop));
      return double(ms) * 1e3 / iters;
    };
    const double us0 = time([&] { return launchDecodeBaseline(p, 0); });
    const double us1 = time(
        [&] { return launchDecodeSplit(p, S, chunk, ws.ptr, wsBytes, 0); });
    const double gb = 2.0 * kvElems * 2 / 1e9;
    std::printf("B=%-3d Hq=%-2d Hkv=%-2d L=%-6d D=%-3d  baseline %8.1f us "
                "%6.0f GB/s   split S=%-3d chunk=%-5d %8.1f us %6.0f GB/s\n",
                sh.B, sh.Hq, sh.Hkv, sh.L, sh.D, us0, gb / (us0 * 1e-6), S,
                chunk, us1, gb / (us1 * 1e-6));
  }
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  int devices = 0;
  const cudaError_t err = cudaGetDeviceCount(&devices);
  if (err != cudaSuccess || devices == 0) {
    std::printf("skipped: no GPU (%s)\n", err != cudaSuccess
                                              ? cudaGetErrorString(err)
                                              : "no CUDA devices");
    return 77;
  }
  if (argc > 1 && std::strcmp(argv[1], "--bench") == 0)
    return bench();

  cudaStream_t stream;
  CUDA_CHECK(cudaStreamCreate(&stream));
  int cases = 0, failed = 0;
  if (!checkRejects())
    ++failed;
  const std::pair<int, int> heads[] = {{32, 32}, {32, 8}, {8, 1}};
  for (int B : {1, 3})
    for (int L : {1, 17, 1000})
      for (auto [Hq, Hkv] : heads)
        for (int D : {64, 128, 256})
          for (DType dt : {DType::F16, DType::BF16})
            for (bool tokenMajor : {false, true}) {
              ++cases;
              if (!runCase({B, L, Hq, Hkv, D, dt, tokenMajor}, stream))
                ++failed;
            }
  CUDA_CHECK(cudaStreamDestroy(stream));
  std::printf("fd-ref-gpucheck: %d cases (+ argument checks), %d failed\n",
              cases, failed);
  return failed ? 1 : 0;
}
