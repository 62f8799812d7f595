//===- GpuTest.cpp - End-to-end test of the runtime on a GPU --------------===//
//
// fd-runtime-gputest              checks the runtime with the reference
//                                 kernels of RefAttention.cu
// fd-runtime-gputest bundle.fdb   runs every decode_attention entry of a
//                                 bundle (e.g. from fd-compile)
// --lens-multiple N               rounds every length down to a multiple of
//                                 N (to isolate ragged-tail bugs)
//
// Each entry runs on random data with several batches and lengths (0 and the
// full cache included), strided k/v, a batch smaller than planned, the
// allocating run, and a CUDA graph replayed while lens change; every output
// is compared with a double-precision CPU reference. Without a GPU it prints
// "SKIPPED: no GPU: <reason>" and exits 77 (skipped), never 0.
//
//===----------------------------------------------------------------------===//

#include "DriverTestSupport.h"
#include "fd/Harness/Random.h"
#include "fd/Runtime/Arguments.h"
#include "fd/Runtime/Bundle.h"
#include "fd/Runtime/Context.h"
#include "fd/Runtime/Driver.h"
#include "fd/Runtime/Executable.h"
#include "fd/Runtime/fd_runtime.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

using namespace fd::rt;

namespace {
using fd::harness::Random;
using namespace fd::rt::test;

int failures = 0;
/// --lens-multiple N: every length is rounded down to a multiple of N. Helps
/// tell a kernel's tail handling (ragged lengths) apart from the rest.
int64_t lensMultiple = 1;

void expectOk(const Status &status, const char *what) {
  if (status.ok())
    return;
  std::printf("  %s: FAIL: %s\n", what, status.getMessage().c_str());
  ++failures;
}

//===--------------------------------------------------------------------===//
// Host-side f16 / bf16
//===--------------------------------------------------------------------===//

uint16_t floatToHalf(float value) {
  uint32_t x;
  std::memcpy(&x, &value, 4);
  uint32_t sign = (x >> 16) & 0x8000;
  int32_t exponent = int32_t((x >> 23) & 0xff) - 127 + 15;
  uint32_t mantissa = x & 0x7fffff;
  if (((x >> 23) & 0xff) == 0xff)
    return sign | 0x7c00 | (mantissa ? 0x200 : 0);
  if (exponent >= 31)
    return sign | 0x7c00;
  if (exponent <= 0) {
    if (exponent < -10)
      return sign;
    mantissa |= 0x800000;
    uint32_t shift = 14 - exponent;
    uint32_t half = mantissa >> shift;
    uint32_t rest = mantissa & ((1u << shift) - 1), mid = 1u << (shift - 1);
    if (rest > mid || (rest == mid && (half & 1)))
      ++half;
    return sign | half;
  }
  uint32_t half = sign | (uint32_t(exponent) << 10) | (mantissa >> 13);
  uint32_t rest = mantissa & 0x1fff;
  if (rest > 0x1000 || (rest == 0x1000 && (half & 1)))
    ++half; // a carry into the exponent is still the right rounding
  return uint16_t(half);
}

float halfToFloat(uint16_t h) {
  uint32_t sign = uint32_t(h & 0x8000) << 16;
  uint32_t exponent = (h >> 10) & 0x1f, mantissa = h & 0x3ff;
  if (exponent == 0) {
    float f = std::ldexp(float(mantissa), -24);
    return sign ? -f : f;
  }
  uint32_t x = exponent == 31
                   ? sign | 0x7f800000 | (mantissa << 13)
                   : sign | ((exponent - 15 + 127) << 23) | (mantissa << 13);
  float f;
  std::memcpy(&f, &x, 4);
  return f;
}

uint16_t floatToBf16(float value) {
  uint32_t x;
  std::memcpy(&x, &value, 4);
  return uint16_t((x + 0x7fff + ((x >> 16) & 1)) >> 16);
}

float bf16ToFloat(uint16_t h) {
  uint32_t x = uint32_t(h) << 16;
  float f;
  std::memcpy(&f, &x, 4);
  return f;
}

//===--------------------------------------------------------------------===//
// Problems
//===--------------------------------------------------------------------===//

/// One decode step's buffers on host and device. k and v are views of a
/// larger cache (capacity past L), so that their strides are exercised; q,
/// lens and out must be contiguous.
struct Problem {
  const EntrySpec *entry = nullptr;
  int64_t batch = 0, cacheLen = 0;
  int64_t hq = 0, hkv = 0, d = 0;
  int64_t qBatchStride = 0, kvCapacity = 0;
  std::vector<uint16_t> q, k, v;
  std::vector<int32_t> lens;
  CUdeviceptr dq = 0, dk = 0, dv = 0, dlens = 0, dout = 0;
  AttentionArgs args;

  Problem(const EntrySpec &e, int64_t batch, int64_t cacheLen, uint64_t seed)
      : entry(&e), batch(batch), cacheLen(cacheLen), hq(e.numQHeads),
        hkv(e.numKvHeads), d(e.headDim) {
    qBatchStride = hq * d;
    kvCapacity = cacheLen + 16; // rows past L are never read
    Random random(seed);
    auto fill = [&](std::vector<uint16_t> &data, size_t n) {
      data.resize(n);
      for (uint16_t &x : data)
        x = toBits(random.uniform());
    };
    fill(q, size_t(batch * qBatchStride));
    fill(k, size_t(batch * hkv * kvCapacity * d));
    fill(v, size_t(batch * hkv * kvCapacity * d));
    lens.assign(size_t(batch), 0);
    for (int32_t &len : lens)
      len = random.below(int32_t(cacheLen) + 1);
    roundLens();

    auto upload = [&](CUdeviceptr &ptr, const void *data, size_t bytes) {
      check(drv.api->cuMemAlloc(&ptr, std::max<size_t>(bytes, 16)),
            "cuMemAlloc");
      if (data && bytes)
        check(drv.cuMemcpyHtoD(ptr, data, bytes), "cuMemcpyHtoD");
    };
    upload(dq, q.data(), q.size() * 2);
    upload(dk, k.data(), k.size() * 2);
    upload(dv, v.data(), v.size() * 2);
    upload(dlens, lens.data(), lens.size() * 4);
    upload(dout, nullptr, size_t(batch * qBatchStride * 2));

    DType type = e.dtype;
    args.q = makeTensorRef(ptr(dq), type, {batch, hq, d});
    args.out = args.q;
    args.out.data = ptr(dout);
    args.k = makeTensorRef(ptr(dk), type, {batch, hkv, cacheLen, d});
    args.k.strides[1] = kvCapacity * d;
    args.k.strides[0] = hkv * kvCapacity * d;
    args.v = args.k;
    args.v.data = ptr(dv);
    args.lens = makeTensorRef(ptr(dlens), DType::I32, {batch});
  }
  ~Problem() {
    for (CUdeviceptr p : {dq, dk, dv, dlens, dout})
      if (p)
        (void)drv.api->cuMemFree(p);
  }
  Problem(const Problem &) = delete;
  Problem &operator=(const Problem &) = delete;

  static void *ptr(CUdeviceptr p) { return reinterpret_cast<void *>(p); }
  uint16_t toBits(float x) const {
    return entry->dtype == DType::BF16 ? floatToBf16(x) : floatToHalf(x);
  }
  float fromBits(uint16_t x) const {
    return entry->dtype == DType::BF16 ? bf16ToFloat(x) : halfToFloat(x);
  }

  void roundLens() {
    for (int32_t &len : lens)
      len -= int32_t(len % lensMultiple);
  }
  void setLens(const std::vector<int32_t> &newLens) {
    lens = newLens;
    roundLens();
    check(drv.cuMemcpyHtoD(dlens, lens.data(), lens.size() * 4),
          "cuMemcpyHtoD(lens)");
  }
  /// Fills out with NaN so that a row the kernels skip cannot pass.
  void poisonOut() {
    check(drv.cuMemsetD8(dout, 0xff, size_t(batch * qBatchStride * 2)),
          "cuMemsetD8");
  }

  /// Max abs difference between out and the reference (inf for NaN).
  double compare() const {
    std::vector<uint16_t> out(size_t(batch * qBatchStride));
    check(drv.cuMemcpyDtoH(out.data(), dout, out.size() * 2), "cuMemcpyDtoH");
    int64_t group = hq / hkv;
    double worst = 0;
    std::vector<double> scores, result(static_cast<size_t>(d));
    for (int64_t b = 0; b < batch; ++b) {
      for (int64_t h = 0; h < hq; ++h) {
        int64_t kvHead = h / group;
        int64_t len = lens[size_t(b)];
        scores.assign(size_t(len), 0);
        double maxScore = -INFINITY;
        for (int64_t t = 0; t < len; ++t) {
          double dot = 0;
          for (int64_t i = 0; i < d; ++i)
            dot +=
                double(fromBits(q[size_t(b * qBatchStride + h * d + i)])) *
                fromBits(
                    k[size_t(((b * hkv + kvHead) * kvCapacity + t) * d + i)]);
          scores[size_t(t)] = dot * entry->scale;
          maxScore = std::max(maxScore, scores[size_t(t)]);
        }
        double total = 0;
        std::fill(result.begin(), result.end(), 0.0);
        for (int64_t t = 0; t < len; ++t) {
          double p = std::exp(scores[size_t(t)] - maxScore);
          total += p;
          for (int64_t i = 0; i < d; ++i)
            result[size_t(i)] +=
                p *
                fromBits(
                    v[size_t(((b * hkv + kvHead) * kvCapacity + t) * d + i)]);
        }
        for (int64_t i = 0; i < d; ++i) {
          double want = len ? result[size_t(i)] / total : 0.0;
          double got = fromBits(out[size_t(b * qBatchStride + h * d + i)]);
          double error = std::isnan(got) ? INFINITY : std::fabs(got - want);
          worst = std::max(worst, error);
        }
      }
    }
    return worst;
  }
};

/// Device scratch for a workspace, 256-byte aligned (cuMemAlloc is).
struct DeviceBuffer {
  CUdeviceptr ptr = 0;
  uint64_t bytes = 0;
  explicit DeviceBuffer(uint64_t n) : bytes(n) {
    if (n)
      check(drv.api->cuMemAlloc(&ptr, n), "cuMemAlloc(workspace)");
  }
  ~DeviceBuffer() {
    if (ptr)
      (void)drv.api->cuMemFree(ptr);
  }
  void *get() const { return reinterpret_cast<void *>(ptr); }
};

void report(const char *name, const Problem &p, double tolerance) {
  double error = p.compare();
  bool ok = error <= tolerance;
  std::string lens;
  for (size_t i = 0; i < p.lens.size() && i < 8; ++i)
    lens += (i ? "," : "") + std::to_string(p.lens[i]);
  if (p.lens.size() > 8)
    lens += ",...";
  std::printf("  %-28s B=%lld L=%lld lens=[%s]: max abs error %.3g (tolerance "
              "%.3g) %s\n",
              name, static_cast<long long>(p.batch),
              static_cast<long long>(p.cacheLen), lens.c_str(), error,
              tolerance, ok ? "ok" : "FAIL");
  if (!ok)
    ++failures;
}

void testEntry(const BoundEntry &bound, CUstream stream) {
  const EntrySpec &entry = bound.getSpec();
  const double tolerance = entry.dtype == DType::BF16 ? 2e-2 : 4e-3;
  std::printf("entry %s: %s, Hq %lld, Hkv %lld, D %lld\n", entry.name.c_str(),
              dtypeName(entry.dtype), static_cast<long long>(entry.numQHeads),
              static_cast<long long>(entry.numKvHeads),
              static_cast<long long>(entry.headDim));
  for (size_t i = 0; i < entry.variants[0].kernels.size(); ++i) {
    const KernelInfo &info = bound.getKernels()[i];
    std::printf("  kernel %s: %d registers, %d bytes local, %d bytes static "
                "shared\n",
                entry.variants[0].kernels[i].symbol.c_str(), info.numRegs,
                info.localBytes, info.staticSharedBytes);
  }
  auto sync = [&] {
    check(drv.api->cuStreamSynchronize(stream), "cuStreamSynchronize");
  };

  // 1. Eager: plan for the longest length the host knows.
  {
    Problem p(entry, 3, 1000, 1);
    p.setLens({1000, 37, 0});
    Expected<Plan> plan = bound.plan(3, 1000);
    expectOk(plan.getStatus(), "plan");
    if (plan) {
      DeviceBuffer ws(plan->workspaceBytes);
      p.poisonOut();
      expectOk(bound.run(*plan, p.args, ws.get(), ws.bytes, stream), "run");
      sync();
      report("eager (S from plan)", p, tolerance);
      std::printf("    plan: num_splits %lld, chunk %lld, workspace %llu "
                  "bytes\n",
                  static_cast<long long>(plan->numSplits),
                  static_cast<long long>(plan->chunk),
                  static_cast<unsigned long long>(plan->workspaceBytes));

      // Errors are values and nothing is launched: a short workspace...
      Status small = bound.run(*plan, p.args, ws.get(), 16, stream);
      if (small.ok() || small.getMessage().find("workspace is 16 bytes") ==
                            std::string::npos) {
        std::printf("  short workspace: FAIL: %s\n",
                    small.ok() ? "accepted" : small.getMessage().c_str());
        ++failures;
      }
      // ...or a wrong argument.
      AttentionArgs bad = p.args;
      bad.lens.dtype = DType::I64;
      Status wrong = bound.run(*plan, bad, ws.get(), ws.bytes, stream);
      if (wrong.getMessage().find("argument 'lens': dtype is i64") ==
          std::string::npos) {
        std::printf("  bad lens: FAIL: %s\n", wrong.getMessage().c_str());
        ++failures;
      }

      // The allocating convenience overload.
      p.poisonOut();
      expectOk(bound.run(*plan, p.args, stream), "run (allocating)");
      sync();
      report("allocating run", p, tolerance);

      // Host cost of run(): validation, packing and the launches.
      const int iterations = 200;
      auto start = std::chrono::steady_clock::now();
      for (int i = 0; i < iterations; ++i)
        (void)bound.run(*plan, p.args, ws.get(), ws.bytes, stream);
      auto stop = std::chrono::steady_clock::now();
      sync();
      std::printf(
          "    run(): %.2f us per call on the host (%zu launches)\n",
          std::chrono::duration<double, std::micro>(stop - start).count() /
              iterations,
          entry.variants[0].kernels.size());
    }
  }

  // 2. Long contexts, and a batch smaller than planned.
  {
    Problem p(entry, 2, 4096, 2);
    p.setLens({4096, 2500});
    Expected<Plan> plan = bound.plan(2, 4096);
    Expected<Plan> bigger = bound.plan(8, 4096);
    expectOk(plan.getStatus(), "plan");
    expectOk(bigger.getStatus(), "plan");
    if (plan && bigger) {
      DeviceBuffer ws(bigger->workspaceBytes);
      p.poisonOut();
      expectOk(bound.run(*plan, p.args, ws.get(), ws.bytes, stream), "run");
      sync();
      report("long", p, tolerance);
      p.poisonOut();
      expectOk(bound.run(*bigger, p.args, ws.get(), ws.bytes, stream), "run");
      sync();
      report("batch 2 of planned 8", p, tolerance);
    }
  }

  // 3. CUDA graph: capture once for the maxima, replay while lens change.
  {
    const int64_t batch = 5, cacheLen = 2048;
    Problem p(entry, batch, cacheLen, 3);
    Expected<Plan> plan = bound.planForGraph(batch, cacheLen);
    expectOk(plan.getStatus(), "planForGraph");
    if (plan) {
      DeviceBuffer ws(plan->workspaceBytes);
      check(
          drv.cuStreamBeginCapture(stream, CU_STREAM_CAPTURE_MODE_THREAD_LOCAL),
          "cuStreamBeginCapture");
      Status captured = bound.run(*plan, p.args, ws.get(), ws.bytes, stream);
      // The allocating overload must refuse a capturing stream.
      Status refused = bound.run(*plan, p.args, stream);
      CUgraph graph = nullptr;
      check(drv.cuStreamEndCapture(stream, &graph), "cuStreamEndCapture");
      expectOk(captured, "run (captured)");
      if (refused.getMessage().find("capturing") == std::string::npos) {
        std::printf("  allocating run while capturing: FAIL: %s\n",
                    refused.ok() ? "accepted" : refused.getMessage().c_str());
        ++failures;
      }
      CUgraphExec exec = nullptr;
      check(drv.cuGraphInstantiateWithFlags(&exec, graph, 0),
            "cuGraphInstantiate");
      Random random(4);
      for (int round = 0; round < 4; ++round) {
        std::vector<int32_t> lens(static_cast<size_t>(batch));
        for (int32_t &len : lens)
          len = random.below(int32_t(cacheLen) + 1);
        if (round == 0) {
          lens[0] = 0;
          lens[1] = int32_t(cacheLen);
          lens[2] = 1;
        }
        p.setLens(lens);
        p.poisonOut();
        check(drv.cuGraphLaunch(exec, stream), "cuGraphLaunch");
        sync();
        std::string name = "graph replay " + std::to_string(round);
        report(name.c_str(), p, tolerance);
      }
      check(drv.cuGraphExecDestroy(exec), "cuGraphExecDestroy");
      check(drv.cuGraphDestroy(graph), "cuGraphDestroy");
    }
  }
}

/// The same through the C API, for the first entry of \p manifest.
void testCApi(const std::string &manifest, CUstream stream) {
  fd_bundle *bundle = nullptr;
  fd_executable *exe = nullptr;
  auto ok = [&](int rc, const char *what) {
    if (rc == FD_OK)
      return true;
    std::printf("  C API %s: FAIL (%d): %s\n", what, rc, fd_last_error());
    ++failures;
    return false;
  };
  if (!ok(fd_bundle_load_memory(manifest.data(), manifest.size(), &bundle),
          "fd_bundle_load_memory"))
    return;
  auto loaded = Bundle::loadMemory(manifest);
  const EntrySpec &entry = (*loaded)->getEntries()[0];
  std::printf("C API, entry %s\n", entry.name.c_str());
  fd_plan plan;
  if (ok(fd_executable_create(bundle, 0, &exe), "fd_executable_create") &&
      ok(fd_executable_plan(exe, 0, 3, 1000, 0, &plan), "fd_executable_plan")) {
    Problem p(entry, 3, 1000, 5);
    p.setLens({999, 500, 0});
    fd_attention_args args;
    std::memcpy(&args.q, &p.args.q, sizeof(fd_tensor));
    std::memcpy(&args.k, &p.args.k, sizeof(fd_tensor));
    std::memcpy(&args.v, &p.args.v, sizeof(fd_tensor));
    std::memcpy(&args.lens, &p.args.lens, sizeof(fd_tensor));
    std::memcpy(&args.out, &p.args.out, sizeof(fd_tensor));
    DeviceBuffer ws(plan.workspace_bytes);
    p.poisonOut();
    if (ok(fd_executable_run(exe, &plan, &args, ws.get(), ws.bytes, stream),
           "fd_executable_run")) {
      check(drv.api->cuStreamSynchronize(stream), "cuStreamSynchronize");
      report("fd_executable_run", p, 4e-3);
    }
    p.poisonOut();
    if (ok(fd_executable_run(exe, &plan, &args, nullptr, 0, stream),
           "fd_executable_run (allocating)")) {
      check(drv.api->cuStreamSynchronize(stream), "cuStreamSynchronize");
      report("fd_executable_run allocating", p, 4e-3);
    }
    args.k.sizes[1] += 1;
    if (fd_executable_run(exe, &plan, &args, ws.get(), ws.bytes, stream) !=
            FD_ERROR_INVALID_ARGUMENT ||
        !std::strstr(fd_last_error(), "argument 'k': dim 1 (Hkv)")) {
      std::printf("  C API bad k: FAIL: %s\n", fd_last_error());
      ++failures;
    }
  }
  fd_executable_destroy(exe);
  fd_bundle_destroy(bundle);
}

std::string readFile(const std::string &path) {
  std::ifstream file(path, std::ios::binary);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

std::string jsonString(const std::string &text) {
  std::string out = "\"";
  for (unsigned char c : text) {
    switch (c) {
    case '"':
      out += "\\\"";
      break;
    case '\\':
      out += "\\\\";
      break;
    case '\n':
      out += "\\n";
      break;
    case '\t':
      out += "\\t";
      break;
    default:
      if (c < 0x20) {
        char buf[8];
        std::snprintf(buf, sizeof(buf), "\\u%04x", c);
        out += buf;
      } else {
        out += char(c);
      }
    }
  }
  return out + "\"";
}

/// The bundle of the reference kernels: three entries that differ in dtype,
/// GQA/MHA/MQA, head dim and split mode.
std::string referenceManifest() {
  std::string ptx =
      readFile(std::string(FD_TEST_INPUTS) + "/ref-attention.ptx");
  auto entry = [](const char *name, const char *type, int hq, int hkv, int d,
                  const char *scale, const char *split) {
    std::string t = type;
    std::string workspace = R"(
      "workspace": [
        { "name": "partial_acc", "elem": "f32", "shape": ["B", "Hq", "S", "D"] },
        { "name": "partial_max", "elem": "f32", "shape": ["B", "Hq", "S"] },
        { "name": "partial_sum", "elem": "f32", "shape": ["B", "Hq", "S"] }
      ],)";
    return std::string(R"(
    { "name": ")") +
           name + R"(", "op": "decode_attention", "dtype": ")" + t +
           R"(",
      "num_q_heads": )" +
           std::to_string(hq) + R"(, "num_kv_heads": )" + std::to_string(hkv) +
           R"(, "head_dim": )" + std::to_string(d) + R"(, "scale": )" + scale +
           R"(,
      "softmax": { "kind": "online" },
      "split": )" +
           split + "," + workspace + R"(
      "kernels": [
        { "symbol": "ref_partial_)" +
           t + R"(", "module": "ref", "role": "partial",
          "grid": ["S", "Hkv", "B"], "block": [128, 1, 1],
          "args": [
            { "kind": "memref", "bind": "q", "elem": ")" +
           t + R"(", "rank": 3 },
            { "kind": "memref", "bind": "k", "elem": ")" +
           t + R"(", "rank": 4 },
            { "kind": "memref", "bind": "v", "elem": ")" +
           t + R"(", "rank": 4 },
            { "kind": "memref", "bind": "lens", "elem": "i32", "rank": 1 },
            { "kind": "memref", "bind": "partial_acc", "elem": "f32", "rank": 4 },
            { "kind": "memref", "bind": "partial_max", "elem": "f32", "rank": 3 },
            { "kind": "memref", "bind": "partial_sum", "elem": "f32", "rank": 3 },
            { "kind": "scalar", "bind": "chunk", "type": "i64" },
            { "kind": "scalar", "bind": "scale", "type": "f32" } ] },
        { "symbol": "ref_merge_)" +
           t + R"(", "module": "ref", "role": "merge",
          "grid": ["Hq", "B"], "block": [128, 1, 1], "dynamic_smem": 65536,
          "args": [
            { "kind": "memref", "bind": "partial_acc", "elem": "f32", "rank": 4 },
            { "kind": "memref", "bind": "partial_max", "elem": "f32", "rank": 3 },
            { "kind": "memref", "bind": "partial_sum", "elem": "f32", "rank": 3 },
            { "kind": "memref", "bind": "lens", "elem": "i32", "rank": 1 },
            { "kind": "memref", "bind": "out", "elem": ")" +
           t + R"(", "rank": 3 },
            { "kind": "scalar", "bind": "num_splits", "type": "i32" } ] }
      ] })";
  };
  return R"({ "format": "fd-bundle", "version": 2,
  "producer": "fd-runtime-gputest",
  "modules": [ { "name": "ref", "chip": "sm_90", "features": "+ptx80", "ptx": )" +
         jsonString(ptx) + R"( } ],
  "entries": [)" +
         entry("ref_gqa_f16_auto", "f16", 8, 2, 128, "0.08838834764831845",
               R"({ "mode": "auto", "ctas_per_sm": 2, "min_chunk": 256,
                    "chunk_align": 64, "max_splits": 256 })") +
         "," +
         entry("ref_mha_bf16_fixed", "bf16", 4, 4, 64, "0.125",
               R"({ "mode": "fixed", "num_splits": 7, "chunk_align": 32 })") +
         "," +
         entry("ref_mqa_f16_chunk", "f16", 16, 1, 256, "0.0625",
               R"({ "mode": "chunk", "chunk_size": 300 })") +
         "]}";
}

} // namespace

int main(int argc, char **argv) {
  // Line-buffered even into a pipe: if a kernel hangs, the log shows where.
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  const char *path = nullptr;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--lens-multiple" && i + 1 < argc &&
        std::atoll(argv[i + 1]) > 0) {
      lensMultiple = std::atoll(argv[++i]);
    } else if (arg[0] != '-' && !path) {
      path = argv[i];
    } else {
      std::fprintf(stderr, "usage: fd-runtime-gputest [--lens-multiple N] "
                           "[bundle.fdb]\n");
      return 2;
    }
  }
  GpuSession session;
  if (int rc = openSession(
          path ? Bundle::loadFile(path)
               : Bundle::loadMemory(referenceManifest(), "reference bundle"),
          session);
      rc >= 0)
    return rc;
  const Context &ctx = *session.context;
  CUstream stream = nullptr;
  {
    ContextGuard guard(ctx);
    check(drv.cuStreamCreate(&stream, CU_STREAM_NON_BLOCKING),
          "cuStreamCreate");
    for (size_t i = 0; i < session.bundle->getEntries().size(); ++i) {
      const EntrySpec &entry = session.bundle->getEntries()[i];
      if (entry.op != OpKind::DecodeAttention)
        continue;
      Expected<const BoundEntry *> bound = session.exe->bind(i);
      if (!bound) {
        std::printf("entry %s: FAIL: %s\n", entry.name.c_str(),
                    bound.getStatus().getMessage().c_str());
        ++failures;
        continue;
      }
      testEntry(**bound, stream);
    }
    if (!path)
      testCApi(referenceManifest(), stream);
    check(drv.cuStreamDestroy(stream), "cuStreamDestroy");
  }
  std::printf("%s\n", failures ? "FAILED" : "PASSED");
  return failures ? 1 : 0;
}
