//===- fd-tune.cpp - check, benchmark and tune flat GEMM variants ---------===//
//
// fd-tune BUNDLE --check          every variant and the dispatched choice
//                                 against an fp64 CPU reference, eagerly
//                                 and replayed from a CUDA graph
// fd-tune BUNDLE --bench [--json F] [--table T]
//                                 median µs (CUDA events, L2 flushed) of every
//                                 variant and of the dispatched choice, GB/s
//                                 and ratio to the weight-bytes floor
// fd-tune BUNDLE --layer [--m LIST]
//                                 the entries of each dtype back to back, in
//                                 bundle order, as one decode layer runs its
//                                 GEMMs (dispatched variants, over copies of
//                                 the weights beyond the L2), with
//                                 programmatic dependent launch off and on
// fd-tune BUNDLE -o TABLE [--max-m N] [--tie-margin PCT]
//                                 times every variant for M = 1..N (128) and
//                                 writes the dispatch table the runtime reads
//                                 (a kernel within PCT (2) % of the fastest
//                                 keeps the previous M's rule)
//
// Each considers the entry's kernels and, where libcublas loads and the
// entry has no bias, the runtime's cublas variant.
//
// Without a GPU it prints "SKIPPED: no GPU: <reason>" and exits 77
// (skipped, as fd-gpu-suite and fd-bench), never 0.
//
//===----------------------------------------------------------------------===//

#include "fd/Harness/CommandLine.h"
#include "fd/Harness/ResultFile.h"
#ifdef FD_TUNE_HAS_HARNESS
#include "fd/Harness/Timing.h"
#endif
#include "fd/Runtime/Bundle.h"
#include "fd/Runtime/Context.h"
#include "fd/Runtime/Cublas.h"
#include "fd/Runtime/Executable.h"
#include "fd/Runtime/FlatGemm.h"
#include "fd/Runtime/Launch.h"
#include "fd/ref/Half.h"
#include "fd/ref/Reference.h"

#include <cuda_runtime.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

using namespace fd::rt;
namespace harness = fd::harness;

namespace {

/// Read bandwidth (bytes/s) the weight-bytes floors are computed with:
/// measured at start-up (a 2 GiB streaming read, fd::harness::Timer, as
/// fd-bench does) or given with --floor-bw.
double floorBandwidth = 0;

#define CUDA_CHECK(expr)                                                       \
  do {                                                                         \
    cudaError_t e = (expr);                                                    \
    if (e != cudaSuccess) {                                                    \
      std::fprintf(stderr, "fd-tune: %s failed: %s\n", #expr,                  \
                   cudaGetErrorString(e));                                     \
      std::exit(2);                                                            \
    }                                                                          \
  } while (0)

template <typename T> T check(Expected<T> e, const char *what) {
  if (!e) {
    std::fprintf(stderr, "fd-tune: %s: %s\n", what,
                 e.getStatus().getMessage().c_str());
    std::exit(2);
  }
  return e.take();
}

void checkStatus(const Status &s, const char *what) {
  if (!s.ok()) {
    std::fprintf(stderr, "fd-tune: %s: %s\n", what, s.getMessage().c_str());
    std::exit(2);
  }
}

uint16_t toBits(float v, DType t) {
  return t == DType::BF16 ? fd::ref::floatToBf16(v) : fd::ref::floatToHalf(v);
}

double fromBits(const void *base, size_t i, DType t) {
  if (t == DType::F32)
    return static_cast<const float *>(base)[i];
  uint16_t b = static_cast<const uint16_t *>(base)[i];
  return t == DType::BF16 ? fd::ref::bf16ToFloat(b) : fd::ref::halfToFloat(b);
}

fd::ref::DType refType(DType t) {
  return t == DType::BF16 ? fd::ref::DType::BF16 : fd::ref::DType::F16;
}

/// Device buffers and host copies of one entry's problem at the largest M.
struct Problem {
  const EntrySpec *entry = nullptr;
  int64_t maxM = 0;
  std::vector<uint16_t> x, w, bias;
  void *dx = nullptr, *dw = nullptr, *dbias = nullptr, *dy = nullptr;

  FlatGemmArgs args(int64_t m) const {
    FlatGemmArgs a;
    const FlatGemmSpec &g = entry->gemm;
    a.x = makeTensorRef(dx, entry->dtype, {m, g.k});
    a.w = makeTensorRef(dw, entry->dtype, {g.n, g.k});
    if (g.hasBias)
      a.bias = makeTensorRef(dbias, entry->dtype, {g.n});
    a.y = makeTensorRef(dy, g.outDtype, {m, g.n});
    return a;
  }
  void free() {
    cudaFree(dx);
    cudaFree(dw);
    cudaFree(dbias);
    cudaFree(dy);
  }
};

Problem makeProblem(const EntrySpec &e, int64_t maxM, uint32_t seed) {
  Problem p;
  p.entry = &e;
  p.maxM = maxM;
  const FlatGemmSpec &g = e.gemm;
  std::mt19937 rng(seed);
  // Weights ~ U(-1,1)/sqrt(K) keep |y| ~ 1 like a real layer.
  std::uniform_real_distribution<float> uni(-1.f, 1.f);
  float scale = 1.f / std::sqrt(float(g.k));
  p.x.resize(size_t(maxM * g.k));
  p.w.resize(size_t(g.n * g.k));
  for (auto &v : p.x)
    v = toBits(uni(rng), e.dtype);
  for (auto &v : p.w)
    v = toBits(uni(rng) * scale * 1.7f, e.dtype);
  size_t outBytes = size_t(maxM * g.n) * dtypeSize(g.outDtype);
  CUDA_CHECK(cudaMalloc(&p.dx, p.x.size() * 2));
  CUDA_CHECK(cudaMalloc(&p.dw, p.w.size() * 2));
  CUDA_CHECK(cudaMalloc(&p.dy, outBytes));
  CUDA_CHECK(cudaMemcpy(p.dx, p.x.data(), p.x.size() * 2, cudaMemcpyDefault));
  CUDA_CHECK(cudaMemcpy(p.dw, p.w.data(), p.w.size() * 2, cudaMemcpyDefault));
  if (g.hasBias) {
    p.bias.resize(size_t(g.n));
    for (auto &v : p.bias)
      v = toBits(uni(rng), e.dtype);
    CUDA_CHECK(cudaMalloc(&p.dbias, p.bias.size() * 2));
    CUDA_CHECK(cudaMemcpy(p.dbias, p.bias.data(), p.bias.size() * 2,
                          cudaMemcpyDefault));
  }
  return p;
}

/// fp64 reference for all maxM rows; rows of a smaller M are a prefix.
std::vector<double> reference(const Problem &p) {
  const FlatGemmSpec &g = p.entry->gemm;
  int64_t m = p.maxM;
  std::vector<double> y(size_t(m * g.n));
  unsigned threads = std::max(1u, std::thread::hardware_concurrency());
  int64_t chunk = (g.n + threads - 1) / threads;
  std::vector<std::thread> pool;
  for (unsigned t = 0; t < threads; ++t) {
    int64_t n0 = t * chunk, n1 = std::min<int64_t>(g.n, n0 + chunk);
    if (n0 >= n1)
      break;
    pool.emplace_back([&, n0, n1] {
      std::vector<double> part(size_t(m * (n1 - n0)));
      fd::ref::flatGemm(refType(p.entry->dtype), int(m), int(n1 - n0), int(g.k),
                        p.x.data(), p.w.data() + n0 * g.k,
                        g.hasBias ? p.bias.data() + n0 : nullptr, part.data());
      for (int64_t i = 0; i < m; ++i)
        for (int64_t n = n0; n < n1; ++n)
          y[size_t(i * g.n + n)] = part[size_t(i * (n1 - n0) + n - n0)];
    });
  }
  for (auto &th : pool)
    th.join();
  return y;
}

const int64_t kCheckMs[] = {1, 2, 3, 4, 5, 6, 7, 8, 13, 16, 31, 64, 128};

/// The variants to check, bench and tune: the entry's kernels and, when it
/// can run here, the cublas pseudo-variant. Says once per entry why cublas
/// is left out, so a table tuned without it is not mistaken for a
/// comparison.
std::vector<std::string> variantsOf(const BoundEntry &bound) {
  const EntrySpec &e = bound.getSpec();
  std::vector<std::string> variants;
  for (const KernelSpec &k : e.gemm.kernels)
    variants.push_back(k.role);
  std::string why;
  if (e.gemm.hasBias) {
    why = "the entry has a bias";
  } else {
    Expected<CublasHandle *> handle = bound.getContext().getCublas();
    if (handle)
      variants.push_back(std::string(kCublasName));
    else
      why = handle.getStatus().getMessage();
  }
  if (!why.empty())
    std::printf("%s: cublas: not available (%s)\n", e.name.c_str(),
                why.c_str());
  return variants;
}

/// Each variant captured into a CUDA graph at M = 8 (after one eager call on
/// the stream, as docs/runtime.md asks of the cublas variant), then replayed
/// twice: with the captured x, and after x's rows 8..15 were copied over rows
/// 0..7, so the replay must read the buffer's new contents. Both replays are
/// compared with the fp64 reference rows they correspond to.
int runGraphCheck(const BoundEntry &bound, const DispatchTable *table,
                  const Problem &p, const std::vector<double> &ref,
                  const std::vector<std::string> &variants) {
  const EntrySpec &e = bound.getSpec();
  const FlatGemmSpec &g = e.gemm;
  constexpr int64_t m = 8;
  const size_t rowBytes = size_t(g.k) * 2;
  const size_t outBytes = size_t(p.maxM * g.n) * dtypeSize(g.outDtype);
  std::vector<unsigned char> host(outBytes);
  cudaStream_t stream;
  CUDA_CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  int failures = 0;
  for (const std::string &variant : variants) {
    const char *name = variant.empty() ? "dispatched" : variant.c_str();
    checkStatus(
        FlatGemm(bound).run(p.args(m), table, CUstream(stream), variant),
        "run (before capture)");
    CUDA_CHECK(cudaStreamSynchronize(stream));
    cudaGraph_t graph = nullptr;
    cudaGraphExec_t exec = nullptr;
    CUDA_CHECK(
        cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal));
    Status captured =
        FlatGemm(bound).run(p.args(m), table, CUstream(stream), variant);
    CUDA_CHECK(cudaStreamEndCapture(stream, &graph));
    checkStatus(captured, "run (capture)");
    CUDA_CHECK(cudaGraphInstantiate(&exec, graph, 0));
    double worst = 0;
    for (int replay = 0; replay < 2; ++replay) {
      if (replay == 1)
        CUDA_CHECK(cudaMemcpy(p.dx, static_cast<char *>(p.dx) + m * rowBytes,
                              m * rowBytes, cudaMemcpyDefault));
      CUDA_CHECK(cudaMemset(p.dy, 0xFF, outBytes));
      CUDA_CHECK(cudaGraphLaunch(exec, stream));
      CUDA_CHECK(cudaStreamSynchronize(stream));
      CUDA_CHECK(cudaMemcpy(host.data(), p.dy, outBytes, cudaMemcpyDefault));
      std::vector<double> out(size_t(m * g.n));
      for (size_t i = 0; i < out.size(); ++i)
        out[i] = fromBits(host.data(), i, g.outDtype);
      double err = fd::ref::relativeError(
          out.data(), ref.data() + size_t(replay * m * g.n), out.size());
      worst = std::max(worst, std::isnan(err) ? INFINITY : err);
    }
    // Restore rows 0..7 of x for the next variant.
    CUDA_CHECK(cudaMemcpy(p.dx, p.x.data(), m * rowBytes, cudaMemcpyDefault));
    bool ok = worst < 1e-2;
    std::printf("%s graph %-10s %-10s M=8, 2 replays (x changed between): max "
                "rel err %.2e\n",
                ok ? "check" : "FAIL ", e.name.c_str(), name, worst);
    failures += ok ? 0 : 1;
    (void)cudaGraphExecDestroy(exec);
    (void)cudaGraphDestroy(graph);
  }
  CUDA_CHECK(cudaStreamDestroy(stream));
  return failures;
}

int runCheck(const BoundEntry &bound, const DispatchTable *table) {
  const EntrySpec &e = bound.getSpec();
  const FlatGemmSpec &g = e.gemm;
  Problem p = makeProblem(e, 128, 1234 + uint32_t(g.n + g.k));
  std::vector<double> ref = reference(p);
  int failures = 0;
  size_t outBytes = size_t(p.maxM * g.n) * dtypeSize(g.outDtype);
  std::vector<unsigned char> host(outBytes);
  std::vector<std::string> variants = {""};
  for (const std::string &v : variantsOf(bound))
    variants.push_back(v);
  for (const std::string &variant : variants) {
    double worst = 0;
    for (int64_t m : kCheckMs) {
      // Poison: 0xFF bytes are NaN in f16, bf16 and f32.
      CUDA_CHECK(cudaMemset(p.dy, 0xFF, outBytes));
      checkStatus(FlatGemm(bound).run(p.args(m), table, nullptr, variant),
                  "run");
      CUDA_CHECK(cudaDeviceSynchronize());
      CUDA_CHECK(cudaMemcpy(host.data(), p.dy, outBytes, cudaMemcpyDefault));
      std::vector<double> out(size_t(m * g.n));
      for (size_t i = 0; i < out.size(); ++i)
        out[i] = fromBits(host.data(), i, g.outDtype);
      double err = fd::ref::relativeError(out.data(), ref.data(), out.size());
      // Rows past M must be untouched (still poison).
      bool untouched = true;
      for (size_t i = out.size(); i < size_t(p.maxM * g.n) && untouched; ++i)
        untouched = std::isnan(fromBits(host.data(), i, g.outDtype));
      if (!(err < 1e-2) || !untouched) {
        std::printf("FAIL %s %s M=%lld rel_err=%.3g%s\n", e.name.c_str(),
                    variant.empty() ? "dispatched" : variant.c_str(),
                    (long long)m, err, untouched ? "" : " (wrote rows past M)");
        ++failures;
      }
      worst = std::max(worst, std::isnan(err) ? INFINITY : err);
    }
    std::printf("check %-10s %-5s N=%-6lld K=%-6lld %-10s M in {1..8,13,16,"
                "31,64,128}: max rel err %.2e\n",
                e.name.c_str(), dtypeName(e.dtype), (long long)g.n,
                (long long)g.k,
                variant.empty() ? "dispatched" : variant.c_str(), worst);
  }
  failures += runGraphCheck(bound, table, p, ref, variants);
  p.free();
  return failures;
}

/// How the L2 is emptied before each timed run. A 256 MB memset leaves the
/// L2 full of dirty lines, and the timed kernel then pays for writing them
/// back (~10 µs on the H100: 25-45% of an O-projection); reading 256 MB of
/// other data leaves only clean lines. `read` is the default; `memset` is
/// kept to compare with numbers measured that way.
enum class Flush { Read, Memset };
Flush flushMode = Flush::Read;
/// Runs a GEMV over distinct weights totalling >= 256 MB (set up in main).
std::function<void()> readFlush;

/// Median µs of `reps` runs, each after flushing the L2.
struct Timer {
  void *flush = nullptr;
  size_t flushBytes = size_t(256) << 20;
  cudaEvent_t start, stop;
  Timer() {
    CUDA_CHECK(cudaMalloc(&flush, flushBytes));
    CUDA_CHECK(cudaEventCreate(&start));
    CUDA_CHECK(cudaEventCreate(&stop));
  }
  ~Timer() {
    cudaFree(flush);
    cudaEventDestroy(start);
    cudaEventDestroy(stop);
  }
  template <typename F> double median(F launch, int reps) {
    launch(); // warm-up (also loads the module)
    CUDA_CHECK(cudaDeviceSynchronize());
    std::vector<double> t;
    for (int r = 0; r < reps; ++r) {
      if (flushMode == Flush::Memset || !readFlush)
        CUDA_CHECK(cudaMemsetAsync(flush, r & 0xFF, flushBytes, nullptr));
      else
        readFlush();
      CUDA_CHECK(cudaEventRecord(start, nullptr));
      launch();
      CUDA_CHECK(cudaEventRecord(stop, nullptr));
      CUDA_CHECK(cudaEventSynchronize(stop));
      float ms = 0;
      CUDA_CHECK(cudaEventElapsedTime(&ms, start, stop));
      t.push_back(ms * 1e3);
    }
    std::sort(t.begin(), t.end());
    return t[t.size() / 2];
  }
};

/// "1-16,24,32": M values, each in [1, 65536]; false on anything else.
bool parseList(const std::string &s, std::vector<int64_t> &out) {
  out.clear();
  auto num = [](const std::string &t, int64_t &v) {
    char *end = nullptr;
    errno = 0;
    long long x = std::strtoll(t.c_str(), &end, 10);
    if (t.empty() || errno || *end || x < 1 || x > 65536)
      return false;
    v = x;
    return true;
  };
  size_t pos = 0;
  while (pos <= s.size()) {
    size_t comma = s.find(',', pos);
    std::string item = s.substr(pos, comma - pos);
    size_t dash = item.find('-');
    int64_t lo, hi;
    if (dash != std::string::npos) {
      if (!num(item.substr(0, dash), lo) || !num(item.substr(dash + 1), hi) ||
          hi < lo)
        return false;
    } else if (!num(item, lo)) {
      return false;
    } else {
      hi = lo;
    }
    for (int64_t v = lo; v <= hi; ++v)
      out.push_back(v);
    if (comma == std::string::npos)
      break;
    pos = comma + 1;
  }
  return !out.empty();
}

void runBench(const BoundEntry &bound, const DispatchTable *table,
              const std::vector<int64_t> &ms, int reps, std::FILE *json,
              bool &firstJson) {
  const EntrySpec &e = bound.getSpec();
  const FlatGemmSpec &g = e.gemm;
  int64_t maxM = *std::max_element(ms.begin(), ms.end());
  Problem p = makeProblem(e, maxM, 99);
  Timer timer;
  double bytes = double(g.n) * double(g.k) * dtypeSize(e.dtype);
  double floorUs = bytes / floorBandwidth * 1e6;
  std::printf("\n%s %s [N,K]=[%lld,%lld] weight %.1f MB, floor %.2f us at "
              "%.2f TB/s\n",
              e.name.c_str(), dtypeName(e.dtype), (long long)g.n,
              (long long)g.k, bytes / 1e6, floorUs, floorBandwidth / 1e12);
  std::vector<std::string> variants = variantsOf(bound);
  std::printf("%5s", "M");
  for (const std::string &v : variants)
    std::printf(" %10s", v.c_str());
  std::printf(" | %10s %9s %8s %7s\n", "dispatched", "choice", "GB/s",
              "xfloor");
  for (int64_t m : ms) {
    std::printf("%5lld", (long long)m);
    std::vector<double> times;
    for (const std::string &v : variants) {
      double us = timer.median(
          [&] {
            checkStatus(FlatGemm(bound).run(p.args(m), table, nullptr, v),
                        "run");
          },
          reps);
      times.push_back(us);
      std::printf(" %10.2f", us);
    }
    size_t chosen = check(selectFlatGemmKernel(e, m, table), "select");
    double us = timer.median(
        [&] {
          checkStatus(FlatGemm(bound).run(p.args(m), table, nullptr), "run");
        },
        reps);
    std::printf(" | %10.2f %9s %8.0f %7.3f\n", us,
                gemmKernelName(e, chosen).c_str(), bytes / us / 1e3,
                us / floorUs);
    if (json) {
      std::fprintf(json,
                   "%s\n    {\"entry\": \"%s\", \"dtype\": \"%s\", \"n\": %lld, "
                   "\"k\": %lld, \"m\": %lld, \"dispatched\": \"%s\", "
                   "\"us\": %.3f, \"floor_us\": %.3f, \"variants\": {",
                   firstJson ? "" : ",", e.name.c_str(), dtypeName(e.dtype),
                   (long long)g.n, (long long)g.k, (long long)m,
                   gemmKernelName(e, chosen).c_str(), us, floorUs);
      for (size_t i = 0; i < times.size(); ++i)
        std::fprintf(json, "%s\"%s\": %.3f", i ? ", " : "", variants[i].c_str(),
                     times[i]);
      std::fprintf(json, "}}");
      firstJson = false;
    }
    std::fflush(stdout);
  }
  p.free();
}

/// One decode layer's GEMMs (the entries of one dtype, bundle order) back to
/// back, over enough copies of all their weights to exceed 256 MB, timed per
/// layer with programmatic dependent launch off and on.
void runLayer(const std::vector<const BoundEntry *> &entries,
              const DispatchTable *table, const std::vector<int64_t> &ms,
              int reps) {
  double bytes = 0;
  std::string names;
  for (const BoundEntry *b : entries) {
    const EntrySpec &e = b->getSpec();
    bytes += double(e.gemm.n) * double(e.gemm.k) * dtypeSize(e.dtype);
    names += (names.empty() ? "" : " -> ") + e.name;
  }
  const int copies =
      std::max(2, int(std::ceil(double(size_t(256) << 20) / bytes)));
  int64_t maxM = *std::max_element(ms.begin(), ms.end());
  std::vector<std::vector<Problem>> problems(copies);
  for (int c = 0; c < copies; ++c)
    for (const BoundEntry *b : entries)
      problems[c].push_back(makeProblem(b->getSpec(), maxM, 500 + c));
  double floorUs = bytes / floorBandwidth * 1e6;
  std::printf("\nlayer %s: weights %.1f MB, floor %.2f us at %.2f TB/s, %d "
              "copies back to back\n",
              names.c_str(), bytes / 1e6, floorUs, floorBandwidth / 1e12,
              copies);
  std::printf("%5s %12s %7s %12s %7s %9s\n", "M", "plain us", "xfloor",
              "pdl us", "xfloor", "pdl gain");
  Timer timer;
  const bool saved = isProgrammaticLaunchEnabled();
  for (int64_t m : ms) {
    double us[2];
    for (int pdl = 0; pdl < 2; ++pdl) {
      setProgrammaticLaunch(pdl == 1);
      us[pdl] = timer.median(
                    [&] {
                      for (int c = 0; c < copies; ++c)
                        for (size_t i = 0; i < entries.size(); ++i)
                          checkStatus(
                              FlatGemm(*entries[i])
                                  .run(problems[c][i].args(m), table, nullptr),
                              "run");
                    },
                    reps) /
                copies;
    }
    std::printf("%5lld %12.2f %7.3f %12.2f %7.3f %8.1f%%\n", (long long)m,
                us[0], us[0] / floorUs, us[1], us[1] / floorUs,
                100 * (us[0] - us[1]) / us[0]);
    std::fflush(stdout);
  }
  setProgrammaticLaunch(saved);
  for (auto &copy : problems)
    for (Problem &p : copy)
      p.free();
}

/// The kernels' fastest for each M = 1..maxM, as dispatch rules. The
/// previous M's kernel is kept while it is within \p tieMargin (a
/// fraction) of the fastest: kernels that tie within the timing noise would
/// otherwise alternate from one M to the next (the H200 tables of session
/// 13 switched between cuBLAS and mma_m64 at every M from 33 to 53).
std::vector<DispatchRule> tune(const BoundEntry &bound, int64_t maxM,
                               int reps, double tieMargin) {
  const EntrySpec &e = bound.getSpec();
  Problem p = makeProblem(e, maxM, 7);
  Timer timer;
  std::vector<std::string> variants = variantsOf(bound);
  std::vector<DispatchRule> rules;
  std::optional<size_t> previous;
  for (int64_t m = 1; m <= maxM; ++m) {
    size_t best = 0;
    double bestUs = INFINITY;
    std::vector<double> times(variants.size(), INFINITY);
    for (size_t i = 0; i < variants.size(); ++i) {
      double us = timer.median(
          [&] {
            checkStatus(
                FlatGemm(bound).run(p.args(m), nullptr, nullptr, variants[i]),
                "run");
          },
          reps);
      times[i] = us;
      if (us < bestUs) {
        bestUs = us;
        best = i;
      }
    }
    if (previous && times[*previous] <= bestUs * (1 + tieMargin))
      best = *previous;
    previous = best;
    const std::string &v = variants[best];
    if (!rules.empty() && rules.back().kernel == v)
      rules.back().maxM = m;
    else
      rules.push_back({m, v});
    std::fprintf(stderr, "\r%s: M=%lld/%lld best %s (%.2f us)   ",
                 e.name.c_str(), (long long)m, (long long)maxM, v.c_str(),
                 bestUs);
  }
  std::fprintf(stderr, "\n");
  p.free();
  return rules;
}

} // namespace

int main(int argc, char **argv) {
  std::string bundlePath, tablePath, outTable, jsonPath, entryName,
      mList = "1-16,24,32,48,64", flushName = "read", commit = "unknown";
  bool doCheck = false, doBench = false, doLayer = false;
  int64_t maxM = 128, reps64 = 30;
  double floorGBps = 0, tieMarginPct = 2;
  harness::CommandLine cl(
      "fd-tune", "BUNDLE (--check | --bench | --layer | -o TABLE) [options]",
      "Checks, times and tunes the flat GEMM kernels of a bundle: every "
      "kernel and the dispatched one against an fp64 reference (eagerly and "
      "from a CUDA graph), median us after an L2 flush, the decode layer's "
      "GEMMs back to back, and the dispatch table the runtime reads. Floors "
      "are the weight bytes over the 2 GiB read bandwidth measured in the "
      "same run.");
  cl.positional("BUNDLE", bundlePath, "the bundle (fd-compile)");
  cl.flag("--check", doCheck, "check every kernel and M against fp64");
  cl.flag("--bench", doBench, "time every kernel and the dispatched one");
  cl.flag("--layer", doLayer,
          "time each dtype's entries back to back, PDL off and on");
  cl.text("-o", "TABLE", outTable,
          "time every kernel for M = 1..--max-m and write the dispatch table");
  cl.text("--table", "TABLE", tablePath, "dispatch with this table");
  cl.text("--entry", "NAME", entryName, "only this entry; none: every flat_gemm entry");
  cl.text("--m", "LIST", mList, "M values for --bench / --layer (a-b ranges)");
  cl.integer("--max-m", maxM, 1, 65536, "largest M for -o");
  cl.number("--tie-margin", tieMarginPct, 0, 50,
            "-o keeps the previous M's kernel while it is within this many "
            "percent of the fastest (ties within the noise)");
  cl.integer("--reps", reps64, 1, 100000, "timed launches per point");
  cl.text("--json", "FILE", jsonPath,
          "write --bench's results as a result file (docs/measuring.md)");
  cl.text("--commit", "HASH", commit, "the commit the result file names");
  cl.choice("--flush", flushName, {"read", "write"},
            "how the L2 is emptied before each launch: reading the largest "
            "entry's weights (256 MB) or writing 256 MB (a memset)");
  cl.number("--floor-bw", floorGBps, 1, 1e6,
            "the read bandwidth of the floors in GB/s", "measured");
  if (std::optional<int> exit = cl.parse(argc, argv))
    return *exit;
  int reps = int(reps64);
  flushMode = flushName == "read" ? Flush::Read : Flush::Memset;
  std::vector<int64_t> ms;
  if (!parseList(mList, ms))
    return cl.error("--m: '" + mList +
                    "' is not a list of M values or ranges in [1, 65536]");
  if (bundlePath.empty())
    return cl.error("no bundle given");
  if (!doCheck && !doBench && !doLayer && outTable.empty())
    return cl.error("give --check, --bench, --layer or -o TABLE");

  auto bundle = check(Bundle::loadFile(bundlePath), "loading the bundle");
  std::optional<DispatchTable> table;
  if (!tablePath.empty())
    table = check(DispatchTable::loadFile(tablePath), "loading the table");

  Expected<std::shared_ptr<Context>> context = Context::create(0);
  if (!context) {
    std::printf("SKIPPED: no GPU: %s\n",
                context.getStatus().getMessage().c_str());
    return 77;
  }
  auto exe = check(Executable::create(context.take(), bundle), "executable");
  std::vector<const BoundEntry *> entries;
  for (size_t i = 0; i < bundle->getEntries().size(); ++i) {
    const EntrySpec &e = bundle->getEntries()[i];
    if (e.op != OpKind::FlatGemm || (!entryName.empty() && e.name != entryName))
      continue;
    entries.push_back(check(exe->bind(i), "binding"));
  }
  if (entries.empty()) {
    std::fprintf(stderr, "fd-tune: no flat_gemm entry%s in %s\n",
                 entryName.empty() ? "" : (" '" + entryName + "'").c_str(),
                 bundlePath.c_str());
    return 2;
  }
  const DispatchTable *tablePtr = table ? &*table : nullptr;

  // The floors' bandwidth: measured here, as fd-bench does, unless given.
  if (floorGBps > 0) {
    floorBandwidth = floorGBps * 1e9;
  } else if (doBench || doLayer || !outTable.empty()) {
#ifdef FD_TUNE_HAS_HARNESS
    cudaStream_t stream;
    CUDA_CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
    {
      fd::harness::Timer timer(stream);
      floorBandwidth = timer.measureReadBandwidth(2ull << 30, 20) * 1e9;
    }
    CUDA_CHECK(cudaStreamDestroy(stream));
    std::printf("read-bandwidth floor: %.1f GB/s (2 GiB streaming read, "
                "median of 20)\n",
                floorBandwidth / 1e9);
#else
    return cl.error("this build has no CUDA compiler to measure the read "
                    "bandwidth with: give --floor-bw");
#endif
  }

  // The read flush: the GEMV of the largest entry over its own weights,
  // enough copies for 256 MB.
  std::vector<Problem> flushProblems;
  if (doBench || doLayer || !outTable.empty()) {
    const BoundEntry *largest = entries.front();
    for (const BoundEntry *b : entries)
      if (b->getSpec().gemm.n * b->getSpec().gemm.k >
          largest->getSpec().gemm.n * largest->getSpec().gemm.k)
        largest = b;
    const EntrySpec &le = largest->getSpec();
    double bytes = double(le.gemm.n) * le.gemm.k * dtypeSize(le.dtype);
    int copies = int(std::ceil(double(size_t(256) << 20) / bytes));
    std::string variant;
    for (const KernelSpec &k : le.gemm.kernels)
      if (variant.empty() || fdb::gemm_kernel::isGemv(k.role))
        variant = k.role;
    for (int i = 0; i < copies; ++i)
      flushProblems.push_back(makeProblem(le, 1, 1000 + i));
    readFlush = [&flushProblems, largest, variant] {
      for (const Problem &p : flushProblems)
        checkStatus(
            FlatGemm(*largest).run(p.args(1), nullptr, nullptr, variant),
            "flush");
    };
    std::printf("L2 flush: %s\n",
                flushMode == Flush::Read
                    ? ("read " + std::to_string(copies) + " x " +
                       std::to_string(int(bytes / 1e6)) + " MB (" + le.name +
                       " " + variant + ")")
                          .c_str()
                    : "memset 256 MB");
  }

  int failures = 0;
  if (doCheck) {
    for (const BoundEntry *b : entries)
      failures += runCheck(*b, tablePtr);
    std::printf("%s\n", failures ? "FAILED" : "PASSED");
  }
  if (doBench) {
    std::FILE *json =
        jsonPath.empty() ? nullptr : std::fopen(jsonPath.c_str(), "w");
    if (!jsonPath.empty() && !json)
      return cl.error("cannot write '" + jsonPath + "'");
    bool first = true;
    if (json) {
      const Context &ctx = exe->getContext();
      harness::ResultHeader header;
      header.tool = "fd-tune";
      header.device = ctx.getName();
      header.chip = ctx.getChip();
      header.driver = ctx.getDriver().version;
      header.commit = commit;
      header.flush = flushName;
      header.readGBps = floorBandwidth / 1e9;
      std::ostringstream os;
      harness::beginResultFile(os, header,
                               {{"reps", std::to_string(reps)}});
      std::fputs(os.str().c_str(), json);
    }
    for (const BoundEntry *b : entries)
      runBench(*b, tablePtr, ms, reps, json, first);
    if (json) {
      std::ostringstream os;
      harness::endResultFile(os);
      std::fputs(os.str().c_str(), json);
      std::fclose(json);
    }
  }
  if (doLayer) {
    std::vector<DType> dtypes;
    for (const BoundEntry *b : entries)
      if (std::find(dtypes.begin(), dtypes.end(), b->getSpec().dtype) ==
          dtypes.end())
        dtypes.push_back(b->getSpec().dtype);
    for (DType dt : dtypes) {
      std::vector<const BoundEntry *> layer;
      for (const BoundEntry *b : entries)
        if (b->getSpec().dtype == dt)
          layer.push_back(b);
      runLayer(layer, tablePtr, ms, reps);
    }
  }
  if (!outTable.empty()) {
    DispatchTable result = table ? *table : DispatchTable();
    for (const BoundEntry *b : entries) {
      const EntrySpec &e = b->getSpec();
      result.set(e.gemm.n, e.gemm.k, e.dtype,
                 tune(*b, maxM, reps, tieMarginPct / 100));
    }
    std::ofstream out(outTable);
    out << result.toString();
    if (!out) {
      std::fprintf(stderr, "fd-tune: cannot write %s\n", outTable.c_str());
      return 2;
    }
    std::printf("wrote %s:\n%s", outTable.c_str(), result.toString().c_str());
  }
  return failures ? 1 : 0;
}
