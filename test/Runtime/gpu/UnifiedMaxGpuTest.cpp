//===- UnifiedMaxGpuTest.cpp - unified-max variants on a GPU --------------===//
//
// fd-unified-max-gputest bundle.fdb [--time]
//
// For every unified-max decode_attention entry of an fd-compile bundle and
// each of its launch variants (two_kernel, single_launch):
//   - ordinary inputs over a matrix of batches and lengths (0 and the full
//     cache included): output vs the fp64 reference, fallback counter 0;
//   - adversarial inputs: rows whose scores all sit 200 above phi, 200 below
//     phi, and a sequence where only the even query heads overflow: output
//     vs the reference and the fallback counter equal to the number of rows
//     whose largest score leaves [phi - threshold, phi + threshold];
//   - runs back to back on one workspace zeroed once (the single-launch
//     kernel must leave its accumulators and counters zeroed), and a CUDA
//     graph replayed while lens and data change (the counter accumulates);
//   - the C API path (plan_variant, init_workspace, read_fallback_count).
// --time also times each variant and every online entry of the bundle with
// CUDA events (B in {1, 4, 8} x L in {512, 1K, 2K, 4K}).
// Without a GPU it prints "SKIPPED: no GPU: <reason>" and exits 77.
//
//===----------------------------------------------------------------------===//

#include "DriverTestSupport.h"
#include "fd/Harness/Random.h"
#include "fd/Runtime/Arguments.h"
#include "fd/Runtime/Bundle.h"
#include "fd/Runtime/Context.h"
#include "fd/Runtime/Driver.h"
#include "fd/Runtime/Executable.h"
#include "fd/Runtime/UnifiedMaxState.h"
#include "fd/Runtime/fd_runtime.h"
#include "fd/ref/Reference.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

using namespace fd::rt;

namespace {
using fd::harness::Random;
using namespace fd::rt::test;

int failures = 0;

bool expectOk(const Status &status, const char *what) {
  if (status.ok())
    return true;
  std::printf("  %s: FAIL: %s\n", what, status.getMessage().c_str());
  ++failures;
  return false;
}

struct DeviceBuffer {
  CUdeviceptr ptr = 0;
  uint64_t bytes = 0;
  explicit DeviceBuffer(uint64_t n) : bytes(n) {
    check(drv.api->cuMemAlloc(&ptr, std::max<uint64_t>(n, 256)), "cuMemAlloc");
  }
  ~DeviceBuffer() { (void)drv.api->cuMemFree(ptr); }
  DeviceBuffer(const DeviceBuffer &) = delete;
  DeviceBuffer &operator=(const DeviceBuffer &) = delete;
  void *get() const { return reinterpret_cast<void *>(ptr); }
};

/// One decode step: contiguous head-major K/V [B, Hkv, L, D].
struct Problem {
  const EntrySpec &entry;
  fd::ref::DType type;
  int64_t batch, cacheLen, hq, hkv, d;
  std::vector<uint16_t> q, k, v;
  std::vector<int32_t> lens;
  DeviceBuffer dq, dk, dv, dlens, dout;
  AttentionArgs args;

  Problem(const EntrySpec &e, int64_t batch, int64_t cacheLen, uint64_t seed)
      : entry(e), type(e.dtype == DType::BF16 ? fd::ref::DType::BF16
                                              : fd::ref::DType::F16),
        batch(batch), cacheLen(cacheLen), hq(e.numQHeads), hkv(e.numKvHeads),
        d(e.headDim), dq(batch * hq * d * 2),
        dk(batch * hkv * cacheLen * d * 2), dv(batch * hkv * cacheLen * d * 2),
        dlens(batch * 4), dout(batch * hq * d * 2) {
    Random random(seed);
    // Uniform(-1, 1) values through a table: converting hundreds of
    // millions of floats one by one would dominate the test's run time.
    std::vector<uint16_t> table(4096);
    for (uint16_t &x : table)
      x = fd::ref::fromFloat(type, random.uniform());
    auto fill = [&](std::vector<uint16_t> &data, size_t n) {
      data.resize(n);
      for (uint16_t &x : data)
        x = table[random.next() & 4095];
    };
    fill(q, size_t(batch * hq * d));
    fill(k, size_t(batch * hkv * cacheLen * d));
    fill(v, size_t(batch * hkv * cacheLen * d));
    lens.assign(size_t(batch), int32_t(cacheLen));
    args.q = makeTensorRef(dq.get(), e.dtype, {batch, hq, d});
    args.out = makeTensorRef(dout.get(), e.dtype, {batch, hq, d});
    args.k = makeTensorRef(dk.get(), e.dtype, {batch, hkv, cacheLen, d});
    args.v = makeTensorRef(dv.get(), e.dtype, {batch, hkv, cacheLen, d});
    args.lens = makeTensorRef(dlens.get(), DType::I32, {batch});
    upload();
  }

  void upload() {
    check(drv.cuMemcpyHtoD(dq.ptr, q.data(), q.size() * 2), "upload q");
    check(drv.cuMemcpyHtoD(dk.ptr, k.data(), k.size() * 2), "upload k");
    check(drv.cuMemcpyHtoD(dv.ptr, v.data(), v.size() * 2), "upload v");
    check(drv.cuMemcpyHtoD(dlens.ptr, lens.data(), lens.size() * 4),
          "upload lens");
  }
  void poisonOut() {
    check(drv.cuMemsetD8(dout.ptr, 0xff, dout.bytes), "cuMemsetD8");
  }

  /// Moves every score of row (b, h) by `shift` (units of scale * q.k):
  /// k[., ., ., 0] = 1 for the row's KV head and q[b, h, 0] = shift / scale.
  /// Softmax is shift-invariant, so the reference stays an ordinary one.
  void shiftRow(int64_t b, int64_t h, double shift) {
    int64_t g = h / (hq / hkv);
    for (int64_t t = 0; t < cacheLen; ++t)
      k[size_t(((b * hkv + g) * cacheLen + t) * d)] =
          fd::ref::fromFloat(type, 1.0f);
    q[size_t((b * hq + h) * d)] =
        fd::ref::fromFloat(type, float(shift / entry.scale));
  }

  /// The largest scaled score of every row of positive length (fp64).
  std::vector<double> rowMaxima() const {
    std::vector<double> maxima;
    int64_t group = hq / hkv;
    for (int64_t b = 0; b < batch; ++b)
      for (int64_t h = 0; h < hq; ++h) {
        if (lens[size_t(b)] == 0)
          continue;
        double best = -INFINITY;
        for (int64_t t = 0; t < lens[size_t(b)]; ++t) {
          double dot = 0;
          for (int64_t i = 0; i < d; ++i)
            dot +=
                double(
                    fd::ref::toFloat(type, q[size_t((b * hq + h) * d + i)])) *
                fd::ref::toFloat(
                    type,
                    k[size_t(((b * hkv + h / group) * cacheLen + t) * d + i)]);
          best = std::max(best, dot * entry.scale);
        }
        maxima.push_back(best);
      }
    return maxima;
  }

  /// Rows whose largest score leaves [phi - threshold, phi + threshold]
  /// (phi: the compiled one by default): the rows the kernels must
  /// recompute (the band is far from every score the tests make, so f32 vs
  /// f64 rounding cannot move a row across it).
  int64_t expectedFallbacks(double phi = NAN) const {
    if (std::isnan(phi))
      phi = entry.softmax.phi;
    double thr = entry.softmax.threshold;
    int64_t n = 0;
    for (double best : rowMaxima())
      if (best > phi + thr || best < phi - thr)
        ++n;
    return n;
  }

  /// Max abs error of out against the fp64 reference (inf for NaN).
  double error() const {
    std::vector<uint16_t> out(size_t(batch * hq * d));
    check(drv.cuMemcpyDtoH(out.data(), dout.ptr, out.size() * 2), "download");
    std::vector<double> ref(out.size()), got(out.size());
    fd::ref::DecodeShape shape{int(batch), int(hq), int(hkv), int(cacheLen),
                               int(d)};
    auto strides = fd::ref::headMajorStrides(hkv, cacheLen, d);
    fd::ref::decodeAttention(type, shape, entry.scale, q.data(), k.data(),
                             strides, v.data(), strides, lens.data(),
                             ref.data());
    for (size_t i = 0; i < out.size(); ++i)
      got[i] = fd::ref::toFloat(type, out[i]);
    double e = fd::ref::maxAbsError(got.data(), ref.data(), got.size());
    return std::isnan(e) ? INFINITY : e;
  }
};

/// One run of \p bound captured into a CUDA graph and instantiated;
/// launch() replays it on the stream it was captured from.
struct CapturedRun {
  CUgraph graph = nullptr;
  CUgraphExec exec = nullptr;
  CUstream stream;
  CapturedRun(const BoundEntry &bound, const Plan &plan, const Problem &p,
              const DeviceBuffer &ws, CUstream stream)
      : stream(stream) {
    check(drv.cuStreamBeginCapture(stream, CU_STREAM_CAPTURE_MODE_THREAD_LOCAL),
          "cuStreamBeginCapture");
    Status captured = bound.run(plan, p.args, ws.get(), ws.bytes, stream);
    check(drv.cuStreamEndCapture(stream, &graph), "cuStreamEndCapture");
    expectOk(captured, "run (captured)");
    check(drv.cuGraphInstantiateWithFlags(&exec, graph, 0),
          "cuGraphInstantiate");
  }
  ~CapturedRun() {
    check(drv.cuGraphExecDestroy(exec), "cuGraphExecDestroy");
    check(drv.cuGraphDestroy(graph), "cuGraphDestroy");
  }
  CapturedRun(const CapturedRun &) = delete;
  CapturedRun &operator=(const CapturedRun &) = delete;
  void launch() { check(drv.cuGraphLaunch(exec, stream), "cuGraphLaunch"); }
};

std::string lensText(const std::vector<int32_t> &lens) {
  std::string s;
  for (size_t i = 0; i < lens.size() && i < 6; ++i)
    s += (i ? "," : "") + std::to_string(lens[i]);
  return s + (lens.size() > 6 ? ",..." : "");
}

/// Checks out and the fallback counter after one or more runs.
void verify(const char *what, const Problem &p, double tolerance,
            int64_t counter, int64_t wantCounter) {
  double e = p.error();
  bool ok = e <= tolerance && counter == wantCounter;
  std::printf("    %-30s B=%lld L=%lld lens=[%s]: max abs error %.3g "
              "(tol %.3g), fallback rows %lld (expected %lld) %s\n",
              what, static_cast<long long>(p.batch),
              static_cast<long long>(p.cacheLen), lensText(p.lens).c_str(), e,
              tolerance, static_cast<long long>(counter),
              static_cast<long long>(wantCounter), ok ? "ok" : "FAIL");
  if (!ok)
    ++failures;
}

int64_t readCounter(const BoundEntry &bound, const Plan &plan,
                    const DeviceBuffer &ws, CUstream stream) {
  Expected<uint32_t> n =
      UnifiedMaxState(bound).readFallbackCount(plan, ws.get(), stream);
  if (!expectOk(n.getStatus(), "readFallbackCount"))
    return -1;
  return *n;
}

void testVariant(const BoundEntry &bound, const std::string &variant,
                 CUstream stream) {
  const EntrySpec &entry = bound.getSpec();
  const double tolerance = entry.dtype == DType::BF16 ? 2e-2 : 4e-3;
  std::printf("  variant %s\n", variant.c_str());
  auto sync = [&] { check(drv.api->cuStreamSynchronize(stream), "sync"); };

  // 1. Ordinary inputs: the unified max itself must be as exact as online
  // softmax, with no fallback. Two runs on a workspace zeroed once.
  const int64_t batches[] = {1, 3, 8};
  const int64_t lengths[] = {1000, 4096};
  uint64_t seed = 10;
  for (int64_t batch : batches)
    for (int64_t len : lengths) {
      Problem p(entry, batch, len, ++seed);
      Random random(seed);
      for (int32_t &l : p.lens)
        l = random.below(int32_t(len) + 1);
      p.lens[0] = int32_t(len);
      if (batch > 2) {
        p.lens[1] = 0;
        p.lens[2] = 1;
      }
      p.upload();
      Expected<Plan> plan = bound.planVariant(batch, len, variant);
      if (!expectOk(plan.getStatus(), "planVariant"))
        return;
      DeviceBuffer ws(plan->workspaceBytes);
      expectOk(bound.initWorkspace(*plan, ws.get(), ws.bytes, stream),
               "initWorkspace");
      for (int round = 0; round < 2; ++round) {
        p.poisonOut();
        expectOk(bound.run(*plan, p.args, ws.get(), ws.bytes, stream), "run");
        sync();
        std::string what = "ordinary S=" + std::to_string(plan->numSplits) +
                           " run " + std::to_string(round);
        verify(what.c_str(), p, tolerance,
               readCounter(bound, *plan, ws, stream), 0);
      }
    }

  // 2. Adversarial rows: +200, -200, and half of one sequence's heads.
  {
    Problem p(entry, 4, 1000, 99);
    p.lens = {1000, 999, 517, 1000};
    for (int64_t h = 0; h < p.hq; ++h) {
      p.shiftRow(1, h, entry.softmax.phi + 200);
      p.shiftRow(2, h, entry.softmax.phi - 200);
      if (h % 2 == 0)
        p.shiftRow(3, h, entry.softmax.phi + 200);
    }
    p.upload();
    int64_t want = p.expectedFallbacks();
    if (want != p.hq * 2 + p.hq / 2) {
      std::printf("    adversarial setup: FAIL: %lld rows leave the band, "
                  "expected %lld\n",
                  static_cast<long long>(want),
                  static_cast<long long>(p.hq * 2 + p.hq / 2));
      ++failures;
    }
    Expected<Plan> plan = bound.planVariant(4, 1000, variant);
    if (!expectOk(plan.getStatus(), "planVariant"))
      return;
    DeviceBuffer ws(plan->workspaceBytes);
    const UnifiedMaxState state(bound);
    expectOk(bound.initWorkspace(*plan, ws.get(), ws.bytes, stream),
             "initWorkspace");
    for (int round = 0; round < 2; ++round) {
      expectOk(state.resetFallbackCount(*plan, ws.get(), stream),
               "resetFallbackCount");
      p.poisonOut();
      expectOk(bound.run(*plan, p.args, ws.get(), ws.bytes, stream), "run");
      sync();
      std::string what = "adversarial run " + std::to_string(round);
      verify(what.c_str(), p, tolerance, readCounter(bound, *plan, ws, stream),
             want);
    }
    // Ordinary data again on the same workspace: nothing left over.
    Problem calm(entry, 4, 1000, 98);
    expectOk(state.resetFallbackCount(*plan, ws.get(), stream), "reset");
    calm.poisonOut();
    expectOk(bound.run(*plan, calm.args, ws.get(), ws.bytes, stream), "run");
    sync();
    verify("ordinary after adversarial", calm, tolerance,
           readCounter(bound, *plan, ws, stream), 0);
  }

  // 3. CUDA graph: captured once, replayed with new lens and data; the
  // counter accumulates across replays.
  {
    const int64_t batch = 5, len = 2048;
    Problem p(entry, batch, len, 7);
    Expected<Plan> plan = bound.planVariant(batch, len, variant, true);
    if (!expectOk(plan.getStatus(), "planVariant (graph)"))
      return;
    DeviceBuffer ws(plan->workspaceBytes);
    expectOk(bound.initWorkspace(*plan, ws.get(), ws.bytes, stream),
             "initWorkspace");
    sync();
    CapturedRun graph(bound, *plan, p, ws, stream);
    Random random(8);
    int64_t total = 0;
    for (int round = 0; round < 3; ++round) {
      for (int32_t &l : p.lens)
        l = random.below(int32_t(len) + 1);
      p.lens[0] = round == 0 ? 0 : int32_t(len);
      // Round 1 overflows sequence 1, round 2 underflows sequence 2.
      if (round >= 1)
        for (int64_t h = 0; h < p.hq; h += (round == 1 ? 1 : 3))
          p.shiftRow(round, h, entry.softmax.phi + (round == 1 ? 200 : -200));
      if (round >= 1 && p.lens[size_t(round)] == 0)
        p.lens[size_t(round)] = 100;
      p.upload();
      total += p.expectedFallbacks();
      p.poisonOut();
      graph.launch();
      sync();
      std::string what = "graph replay " + std::to_string(round);
      verify(what.c_str(), p, tolerance, readCounter(bound, *plan, ws, stream),
             total);
    }
  }

  // 4. Run-time phi: rows whose scores sit ~150 above the compiled phi all
  // fall back; the score statistics see their largest scores; recentrePhi
  // moves phi to the middle of them, after which no row falls back and the
  // output is still exact; a CUDA graph captured earlier follows setPhi at
  // replay (the kernels read phi at every launch).
  {
    const int64_t batch = 3, len = 1500;
    const double phi0 = entry.softmax.phi;
    Problem p(entry, batch, len, 31);
    p.lens = {1500, 700, 1};
    for (int64_t b = 0; b < batch; ++b)
      for (int64_t h = 0; h < p.hq; ++h)
        p.shiftRow(b, h, phi0 + 150 + 5 * double(h % 4));
    p.upload();
    std::vector<double> maxima = p.rowMaxima();
    const int64_t rows = int64_t(maxima.size());
    const double lo = *std::min_element(maxima.begin(), maxima.end());
    const double hi = *std::max_element(maxima.begin(), maxima.end());
    auto near = [](double a, double b) {
      return std::fabs(a - b) <= 0.05 + 1e-4 * std::fabs(b);
    };
    auto expect = [&](bool cond, const std::string &what) {
      std::printf("    %-58s %s\n", what.c_str(), cond ? "ok" : "FAIL");
      if (!cond)
        ++failures;
    };
    Expected<Plan> plan = bound.planVariant(batch, len, variant, true);
    if (!expectOk(plan.getStatus(), "planVariant (run-time phi)"))
      return;
    DeviceBuffer ws(plan->workspaceBytes);
    const UnifiedMaxState state(bound);
    expectOk(bound.initWorkspace(*plan, ws.get(), ws.bytes, stream),
             "initWorkspace");
    Expected<float> phi = state.readPhi(*plan, ws.get(), stream);
    expect(phi.ok() && *phi == float(phi0),
           "initWorkspace wrote the compiled phi " + std::to_string(phi0));
    expect(p.expectedFallbacks(phi0) == rows,
           "setup: all " + std::to_string(rows) + " rows leave the band");
    p.poisonOut();
    expectOk(bound.run(*plan, p.args, ws.get(), ws.bytes, stream), "run");
    sync();
    verify("phi 150 below the scores", p, tolerance,
           readCounter(bound, *plan, ws, stream), rows);
    Expected<ScoreStats> stats = state.readScoreStats(*plan, ws.get(), stream);
    if (expectOk(stats.getStatus(), "readScoreStats")) {
      char buf[200];
      std::snprintf(buf, sizeof(buf),
                    "stats: rows %u fell %u, row max [%.3f, %.3f] vs "
                    "fp64 [%.3f, %.3f]",
                    stats->rows, stats->fallbacks, stats->minRowMax,
                    stats->maxRowMax, lo, hi);
      expect(int64_t(stats->rows) == rows &&
                 int64_t(stats->fallbacks) == rows &&
                 near(stats->minRowMax, lo) && near(stats->maxRowMax, hi),
             buf);
    }
    Expected<RecentreDecision> d = state.recentrePhi(*plan, ws.get(), stream);
    if (expectOk(d.getStatus(), "recentrePhi")) {
      char buf[200];
      std::snprintf(buf, sizeof(buf),
                    "recentrePhi: %.3f -> %.3f (fp64 middle %.3f)", d->oldPhi,
                    d->newPhi, (lo + hi) / 2);
      expect(d->decided && d->changed && d->covers &&
                 near(d->newPhi, (lo + hi) / 2),
             buf);
      phi = state.readPhi(*plan, ws.get(), stream);
      expect(phi.ok() && double(*phi) == d->newPhi,
             "readPhi returns the new phi");
      stats = state.readScoreStats(*plan, ws.get(), stream);
      expect(stats.ok() && stats->rows == 0 && stats->fallbacks == 0,
             "the decision zeroed the statistics");
      expect(p.expectedFallbacks(d->newPhi) == 0,
             "setup: no row leaves the re-centred band");
      expectOk(state.resetFallbackCount(*plan, ws.get(), stream), "reset");
      p.poisonOut();
      expectOk(bound.run(*plan, p.args, ws.get(), ws.bytes, stream), "run");
      sync();
      verify("after re-centring", p, tolerance,
             readCounter(bound, *plan, ws, stream), 0);
      stats = state.readScoreStats(*plan, ws.get(), stream);
      expect(stats.ok() && int64_t(stats->rows) == rows &&
                 stats->fallbacks == 0,
             "stats after re-centring: every row checked, none fell back");

      // A graph captured now replays with whatever phi the workspace holds.
      CapturedRun graph(bound, *plan, p, ws, stream);
      expectOk(state.resetFallbackCount(*plan, ws.get(), stream), "reset");
      expectOk(state.setPhi(*plan, ws.get(), float(phi0), stream), "setPhi");
      p.poisonOut();
      graph.launch();
      sync();
      verify("graph replay, phi set back", p, tolerance,
             readCounter(bound, *plan, ws, stream), rows);
      expectOk(state.setPhi(*plan, ws.get(), float(d->newPhi), stream),
               "setPhi");
      p.poisonOut();
      graph.launch();
      sync();
      verify("graph replay, phi re-centred", p, tolerance,
             readCounter(bound, *plan, ws, stream), rows);
    }
    Status bad = state.setPhi(*plan, ws.get(), NAN, stream);
    expect(!bad.ok() &&
               bad.getMessage().find("phi must be finite") != std::string::npos,
           "setPhi(NaN) is refused");
  }
}

/// The C API path for \p entryIndex and \p variant.
void testCApi(const std::string &path, int32_t entryIndex,
              const EntrySpec &entry, const char *variant, CUstream stream) {
  fd_bundle *bundle = nullptr;
  fd_executable *exe = nullptr;
  auto ok = [&](int rc, const char *what) {
    if (rc == FD_OK)
      return true;
    std::printf("    C API %s: FAIL (%d): %s\n", what, rc, fd_last_error());
    ++failures;
    return false;
  };
  fd_plan plan;
  if (ok(fd_bundle_load_file(path.c_str(), &bundle), "load") &&
      ok(fd_executable_create(bundle, 0, &exe), "create") &&
      ok(fd_executable_plan_variant(exe, entryIndex, 4, 1000, 0, variant,
                                    &plan),
         "plan_variant")) {
    Problem p(entry, 4, 1000, 55);
    p.lens = {1000, 10, 999, 0};
    for (int64_t h = 0; h < p.hq; h += 2)
      p.shiftRow(2, h, entry.softmax.phi + 200);
    p.upload();
    fd_attention_args args;
    std::memcpy(&args.q, &p.args.q, sizeof(fd_tensor));
    std::memcpy(&args.k, &p.args.k, sizeof(fd_tensor));
    std::memcpy(&args.v, &p.args.v, sizeof(fd_tensor));
    std::memcpy(&args.lens, &p.args.lens, sizeof(fd_tensor));
    std::memcpy(&args.out, &p.args.out, sizeof(fd_tensor));
    DeviceBuffer ws(plan.workspace_bytes);
    uint64_t offset = 0;
    uint32_t count = 0;
    p.poisonOut();
    if (ok(fd_executable_init_workspace(exe, &plan, ws.get(), ws.bytes, stream),
           "init_workspace") &&
        ok(fd_plan_fallback_counter_offset(bundle, &plan, &offset),
           "fallback_counter_offset") &&
        ok(fd_executable_run(exe, &plan, &args, ws.get(), ws.bytes, stream),
           "run") &&
        ok(fd_executable_read_fallback_count(exe, &plan, ws.get(), stream,
                                             &count),
           "read_fallback_count")) {
      std::string what = std::string("C API ") + variant;
      verify(what.c_str(), p, entry.dtype == DType::BF16 ? 2e-2 : 4e-3, count,
             p.expectedFallbacks());
      uint32_t direct = 0;
      check(drv.cuMemcpyDtoH(&direct, ws.ptr + offset, 4), "read counter");
      if (direct != count) {
        std::printf("    C API counter at offset %llu: FAIL (%u != %u)\n",
                    static_cast<unsigned long long>(offset), direct, count);
        ++failures;
      }
      // Run-time phi through the C API: the compiled phi, statistics that
      // agree with the counter, and a recentre decision.
      float phi = 0;
      fd_score_stats stats;
      fd_recentre_decision decision;
      if (ok(fd_executable_read_phi(exe, &plan, ws.get(), stream, &phi),
             "read_phi") &&
          ok(fd_executable_read_score_stats(exe, &plan, ws.get(), stream,
                                            &stats),
             "read_score_stats") &&
          ok(fd_executable_recentre_phi(exe, &plan, ws.get(), stream, 1, 1.0,
                                        &decision),
             "recentre_phi")) {
        bool good = phi == float(entry.softmax.phi) &&
                    int64_t(stats.rows) == int64_t(p.rowMaxima().size()) &&
                    stats.fallbacks == count && decision.decided &&
                    !decision.changed;
        std::printf("    C API phi %g, stats rows %u fell %u, recentre with "
                    "rate limit 1: decided %d changed %d %s\n",
                    double(phi), stats.rows, stats.fallbacks, decision.decided,
                    decision.changed, good ? "ok" : "FAIL");
        if (!good)
          ++failures;
      }
      if (fd_executable_recentre_phi(exe, &plan, ws.get(), stream, 1, 2.0,
                                     nullptr) != FD_ERROR_INVALID_ARGUMENT ||
          !std::strstr(fd_last_error(), "maxFallbackRate must be in [0, 1]")) {
        std::printf("    C API recentre rate 2: FAIL: %s\n", fd_last_error());
        ++failures;
      }
    }
    if (fd_executable_plan_variant(exe, entryIndex, 4, 1000, 0, "three_kernel",
                                   &plan) != FD_ERROR_INVALID_ARGUMENT ||
        !std::strstr(fd_last_error(), "has no launch variant 'three_kernel'")) {
      std::printf("    C API unknown variant: FAIL: %s\n", fd_last_error());
      ++failures;
    }
  }
  fd_executable_destroy(exe);
  fd_bundle_destroy(bundle);
}

/// Mean time of one run in microseconds, CUDA events around 100 runs.
double timeRuns(const BoundEntry &bound, const Plan &plan, const Problem &p,
                const DeviceBuffer &ws, CUstream stream) {
  CUevent start, stop;
  check(drv.cuEventCreate(&start, 0), "cuEventCreate");
  check(drv.cuEventCreate(&stop, 0), "cuEventCreate");
  for (int i = 0; i < 10; ++i)
    (void)bound.run(plan, p.args, ws.get(), ws.bytes, stream);
  const int iterations = 100;
  check(drv.cuEventRecord(start, stream), "cuEventRecord");
  for (int i = 0; i < iterations; ++i)
    (void)bound.run(plan, p.args, ws.get(), ws.bytes, stream);
  check(drv.cuEventRecord(stop, stream), "cuEventRecord");
  check(drv.cuEventSynchronize(stop), "cuEventSynchronize");
  float ms = 0;
  check(drv.cuEventElapsedTime(&ms, start, stop), "cuEventElapsedTime");
  (void)drv.cuEventDestroy(start);
  (void)drv.cuEventDestroy(stop);
  return ms * 1000.0 / iterations;
}

void timeEntries(Executable &exe, const Bundle &bundle, CUstream stream) {
  std::printf("timing (us per call, CUDA events, 100 runs, contiguous "
              "head-major K/V, all lens = L)\n");
  for (size_t i = 0; i < bundle.getEntries().size(); ++i) {
    const EntrySpec &entry = bundle.getEntries()[i];
    if (entry.op != OpKind::DecodeAttention)
      continue;
    Expected<const BoundEntry *> bound = exe.bind(i);
    if (!bound)
      continue;
    for (int64_t batch : {1, 4, 8})
      for (int64_t len : {512, 1024, 2048, 4096}) {
        Problem p(entry, batch, len, 3);
        std::string line;
        for (size_t v = 0; v < entry.variants.size(); ++v) {
          const std::string &variantName = entry.variants[v].name;
          Expected<Plan> plan =
              variantName.empty()
                  ? (*bound)->plan(batch, len)
                  : (*bound)->planVariant(batch, len, variantName);
          if (!plan)
            continue;
          DeviceBuffer ws(plan->workspaceBytes);
          (void)(*bound)->initWorkspace(*plan, ws.get(), ws.bytes, stream);
          double us = timeRuns(**bound, *plan, p, ws, stream);
          const std::string &name = entry.variants[v].name;
          char buf[96];
          std::snprintf(buf, sizeof(buf), " %s %.2f (S=%lld)",
                        name.empty() ? "online" : name.c_str(), us,
                        static_cast<long long>(plan->numSplits));
          line += buf;
        }
        std::printf("  %s B=%lld L=%lld:%s\n", entry.name.c_str(),
                    static_cast<long long>(batch), static_cast<long long>(len),
                    line.c_str());
      }
  }
}

} // namespace

int main(int argc, char **argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  const char *path = nullptr;
  bool time = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--time")
      time = true;
    else if (arg[0] != '-' && !path)
      path = argv[i];
    else {
      std::fprintf(stderr, "usage: fd-unified-max-gputest bundle.fdb "
                           "[--time]\n");
      return 2;
    }
  }
  if (!path) {
    std::fprintf(stderr, "usage: fd-unified-max-gputest bundle.fdb [--time]\n");
    return 2;
  }
  GpuSession session;
  if (int rc = openSession(Bundle::loadFile(path), session); rc >= 0)
    return rc;
  const Context &ctx = *session.context;
  int tested = 0;
  {
    ContextGuard guard(ctx);
    CUstream stream = nullptr;
    check(drv.cuStreamCreate(&stream, CU_STREAM_NON_BLOCKING),
          "cuStreamCreate");
    for (size_t i = 0; i < session.bundle->getEntries().size(); ++i) {
      const EntrySpec &entry = session.bundle->getEntries()[i];
      if (entry.op != OpKind::DecodeAttention ||
          entry.softmax.kind != "unified_max")
        continue;
      Expected<const BoundEntry *> bound = session.exe->bind(i);
      if (!bound) {
        std::printf("entry %s: FAIL: %s\n", entry.name.c_str(),
                    bound.getStatus().getMessage().c_str());
        ++failures;
        continue;
      }
      std::printf("entry %s: %s, Hq %lld, Hkv %lld, D %lld, phi %g, "
                  "threshold %g\n",
                  entry.name.c_str(), dtypeName(entry.dtype),
                  static_cast<long long>(entry.numQHeads),
                  static_cast<long long>(entry.numKvHeads),
                  static_cast<long long>(entry.headDim), entry.softmax.phi,
                  entry.softmax.threshold);
      for (size_t v = 0; v < entry.variants.size(); ++v) {
        const std::string &name = entry.variants[v].name;
        testVariant(**bound, name, stream);
        testCApi(path, int32_t(i), entry, name.c_str(), stream);
      }
      ++tested;
    }
    if (time)
      timeEntries(*session.exe, *session.bundle, stream);
    check(drv.cuStreamDestroy(stream), "cuStreamDestroy");
  }
  if (!tested) {
    std::printf("FAILED: the bundle has no unified-max entry\n");
    return 1;
  }
  std::printf("%s\n", failures ? "FAILED" : "PASSED");
  return failures ? 1 : 0;
}
