//===- MergeStatesGpuTest.cpp - merge_states entries on a GPU -------------===//
//
// fd-merge-states-gputest bundle.fdb
//
// For every merge_states entry of an fd-compile bundle, at B in {1, 5, 64}:
// N states with out_i in (-1, 1) and lse_i in five kinds of rows -- ordinary
// (-8, 8); every lse -inf (the row must be zeros and lse -inf); state 0
// -inf; a spread of 120 (most weights underflow to 0); and a common offset
// of 1000 (exp would overflow without the max) -- laid out as the entry was
// compiled: contiguous, or outs as views of a wider [B, Hq + 3, D] buffer
// and lses as transposed [Hq, B] storage. Checked against the fp64
// log-sum-exp merge: through the C++ API, through the C API, in place (out
// as state 0's out, where the layouts agree), replayed in a CUDA graph
// after the states change, and a refused call that must leave out as it
// was. Without a GPU it prints "SKIPPED: no GPU: <reason>" and exits 77.
//
//===----------------------------------------------------------------------===//

#include "DriverTestSupport.h"
#include "fd/Harness/Random.h"
#include "fd/Runtime/MergeStates.h"
#include "fd/Runtime/fd_runtime.h"
#include "fd/ref/Half.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

using namespace fd::rt;
using namespace fd::rt::test;

namespace {
using fd::harness::Random;

int failures = 0;

struct DeviceBuffer {
  CUdeviceptr ptr = 0;
  uint64_t bytes = 0;
  explicit DeviceBuffer(uint64_t n) : bytes(n) {
    check(drv.api->cuMemAlloc(&ptr, std::max<uint64_t>(n, 256)), "cuMemAlloc");
  }
  ~DeviceBuffer() { (void)drv.api->cuMemFree(ptr); }
  DeviceBuffer(const DeviceBuffer &) = delete;
  DeviceBuffer &operator=(const DeviceBuffer &) = delete;
};

/// One merge problem laid out as \p entry's kernel takes it.
struct Problem {
  const EntrySpec &entry;
  fd::ref::DType type;
  int64_t b, hq, d, n;
  /// Heads of the wider buffer a view-typed out lives in.
  int64_t outHeads;
  bool viewOuts, viewLses;
  std::vector<std::vector<uint16_t>> outs; // host, in the device layout
  std::vector<std::vector<float>> lses;    // host, in the device layout
  std::vector<std::unique_ptr<DeviceBuffer>> dOuts, dLses;
  std::unique_ptr<DeviceBuffer> dOut, dLse;
  MergeStatesArgs args;

  Problem(const EntrySpec &e, int64_t batch)
      : entry(e), type(e.dtype == DType::BF16 ? fd::ref::DType::BF16
                                              : fd::ref::DType::F16),
        b(batch), hq(e.numQHeads), d(e.headDim), n(e.merge.numStates) {
    viewOuts = !e.merge.outs[0].contiguous;
    viewLses = !e.merge.lses[0].contiguous;
    outHeads = viewOuts ? hq + 3 : hq;
    args.numStates = int(n);
    for (int64_t i = 0; i < n; ++i) {
      outs.emplace_back(size_t(b * outHeads * d), 0);
      lses.emplace_back(size_t(b * hq), 0.f);
      dOuts.push_back(std::make_unique<DeviceBuffer>(outs.back().size() * 2));
      dLses.push_back(std::make_unique<DeviceBuffer>(lses.back().size() * 4));
      args.outs[i] = outView(dOuts.back()->ptr);
      args.lses[i] = lseView(dLses.back()->ptr);
    }
    dOut = std::make_unique<DeviceBuffer>(size_t(b * outHeads * d) * 2);
    args.out = outView(dOut->ptr);
    if (e.tensor(Tensor::Lse).present) {
      dLse = std::make_unique<DeviceBuffer>(size_t(b * hq) * 4);
      args.lse = makeTensorRef(reinterpret_cast<void *>(dLse->ptr),
                               DType::F32, {b, hq});
    }
  }

  /// [B, Hq, D]: contiguous, or heads 1 .. Hq of [B, Hq + 3, D].
  TensorRef outView(CUdeviceptr base) const {
    if (!viewOuts)
      return makeTensorRef(reinterpret_cast<void *>(base), entry.dtype,
                           {b, hq, d});
    TensorRef t = makeTensorRef(reinterpret_cast<void *>(base + d * 2),
                                entry.dtype, {b, hq, d});
    t.strides[0] = outHeads * d;
    return t;
  }
  /// [B, Hq]: contiguous, or the transpose of [Hq, B] storage.
  TensorRef lseView(CUdeviceptr base) const {
    TensorRef t =
        makeTensorRef(reinterpret_cast<void *>(base), DType::F32, {b, hq});
    if (viewLses) {
      t.strides[0] = 1;
      t.strides[1] = b;
    }
    return t;
  }
  size_t outIndex(int64_t bi, int64_t h, int64_t x) const {
    return size_t((bi * outHeads + h + (viewOuts ? 1 : 0)) * d + x);
  }
  size_t lseIndex(int64_t bi, int64_t h) const {
    return size_t(viewLses ? h * b + bi : bi * hq + h);
  }

  /// New states: the five kinds of rows, from \p seed.
  void fill(uint64_t seed) {
    Random r(seed);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t bi = 0; bi < b; ++bi)
        for (int64_t h = 0; h < hq; ++h) {
          for (int64_t x = 0; x < d; ++x)
            outs[i][outIndex(bi, h, x)] = fd::ref::fromFloat(type, r.uniform());
          float l = 8 * r.uniform();
          switch ((bi * hq + h) % 5) {
          case 1:
            l = -INFINITY;
            break;
          case 2:
            l = i == 0 ? -INFINITY : l;
            break;
          case 3:
            l += i % 2 ? 60 : -60;
            break;
          case 4:
            l += 1000;
            break;
          }
          lses[i][lseIndex(bi, h)] = l;
        }
  }
  void upload() const {
    for (int64_t i = 0; i < n; ++i) {
      check(drv.cuMemcpyHtoD(dOuts[i]->ptr, outs[i].data(),
                             outs[i].size() * 2),
            "upload out_i");
      check(drv.cuMemcpyHtoD(dLses[i]->ptr, lses[i].data(),
                             lses[i].size() * 4),
            "upload lse_i");
    }
  }
  void poison() const {
    check(drv.cuMemsetD8(dOut->ptr, 0xff, dOut->bytes), "poison out");
    if (dLse)
      check(drv.cuMemsetD8(dLse->ptr, 0xff, dLse->bytes), "poison lse");
  }

  /// Max abs error of out and max relative error of lse against the fp64
  /// merge of the host states; \p outPtr: where out is (state 0's out in
  /// place). Infinite on a NaN, a wrong -inf or a non-zero empty row.
  void errors(CUdeviceptr outPtr, double &outErr, double &lseErr) const {
    std::vector<uint16_t> got(size_t(b * outHeads * d));
    check(drv.cuMemcpyDtoH(got.data(), outPtr, got.size() * 2), "download");
    std::vector<float> gotLse(size_t(b * hq), 0.f);
    if (dLse)
      check(drv.cuMemcpyDtoH(gotLse.data(), dLse->ptr, gotLse.size() * 4),
            "download lse");
    outErr = lseErr = 0;
    for (int64_t bi = 0; bi < b; ++bi)
      for (int64_t h = 0; h < hq; ++h) {
        double m = -INFINITY;
        for (int64_t i = 0; i < n; ++i)
          m = std::max(m, double(lses[i][lseIndex(bi, h)]));
        double total = 0;
        std::vector<double> w(size_t(n), 0.0);
        for (int64_t i = 0; i < n; ++i) {
          double l = lses[i][lseIndex(bi, h)];
          w[i] = std::isinf(m) ? 0 : std::exp(l - m);
          total += w[i];
        }
        for (int64_t x = 0; x < d; ++x) {
          double ref = 0;
          for (int64_t i = 0; i < n; ++i)
            if (w[i] != 0)
              ref += w[i] * fd::ref::toFloat(type, outs[i][outIndex(bi, h, x)]);
          ref = total > 0 ? ref / total : 0;
          double g = fd::ref::toFloat(type, got[outIndex(bi, h, x)]);
          double e = std::isnan(g) ? INFINITY : std::fabs(g - ref);
          outErr = std::max(outErr, e);
        }
        if (!dLse)
          continue;
        double refLse = total > 0 ? m + std::log(total) : -INFINITY;
        double g = gotLse[size_t(bi * hq + h)];
        double e;
        if (std::isinf(refLse) || std::isinf(g))
          e = g == refLse ? 0 : INFINITY;
        else
          e = std::isnan(g) ? INFINITY
                            : std::fabs(g - refLse) /
                                  std::max(1.0, std::fabs(refLse));
        lseErr = std::max(lseErr, e);
      }
  }
};

bool expectOk(const Status &status, const std::string &what) {
  if (status.ok())
    return true;
  std::printf("  %s: FAIL: %s\n", what.c_str(), status.getMessage().c_str());
  ++failures;
  return false;
}

/// Prints one check against the tolerances.
void report(const Problem &p, const std::string &what, CUdeviceptr outPtr) {
  double outErr = 0, lseErr = 0;
  p.errors(outPtr, outErr, lseErr);
  // f16 and bf16 keep 11 and 8 significant bits of values below 1; the lse
  // goes through ex2/lg2.approx (about 2^-22 relative) in f32.
  double outTol = p.type == fd::ref::DType::BF16 ? 8e-3 : 1e-3;
  double lseTol = 4e-6;
  bool ok = outErr <= outTol && lseErr <= lseTol;
  std::printf("  %s B=%lld: out err %.2e (tol %.0e)", what.c_str(),
              static_cast<long long>(p.b), outErr, outTol);
  if (p.dLse)
    std::printf(", lse rel err %.2e (tol %.0e)", lseErr, lseTol);
  std::printf(": %s\n", ok ? "ok" : "FAIL");
  failures += ok ? 0 : 1;
}

fd_tensor toC(const TensorRef &t) {
  fd_tensor c;
  std::memcpy(&c, &t, sizeof(c));
  return c;
}
} // namespace

int main(int argc, char **argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  if (argc != 2) {
    std::fprintf(stderr, "usage: fd-merge-states-gputest bundle.fdb\n");
    return 2;
  }
  GpuSession session;
  if (int rc = openSession(Bundle::loadFile(argv[1]), session); rc >= 0)
    return rc;
  fd_bundle *cBundle = nullptr;
  fd_executable *cExe = nullptr;
  if (fd_bundle_load_file(argv[1], &cBundle) != 0 ||
      fd_executable_create(cBundle, 0, &cExe) != 0) {
    std::printf("FAILED: C API: %s\n", fd_last_error());
    return 1;
  }
  int tested = 0;
  {
    ContextGuard guard(*session.context);
    CUstream stream = nullptr;
    check(drv.cuStreamCreate(&stream, CU_STREAM_NON_BLOCKING),
          "cuStreamCreate");
    for (size_t i = 0; i < session.bundle->getEntries().size(); ++i) {
      const EntrySpec &entry = session.bundle->getEntries()[i];
      if (entry.op != OpKind::MergeStates)
        continue;
      ++tested;
      std::printf("entry %s: %lld states, Hq %lld, D %lld, %s%s%s%s\n",
                  entry.name.c_str(),
                  static_cast<long long>(entry.merge.numStates),
                  static_cast<long long>(entry.numQHeads),
                  static_cast<long long>(entry.headDim), dtypeName(entry.dtype),
                  entry.merge.outs[0].contiguous ? "" : ", out views",
                  entry.merge.lses[0].contiguous ? "" : ", transposed lses",
                  entry.tensor(Tensor::Lse).present ? ", merged lse" : "");
      Expected<const BoundEntry *> bound = session.exe->bind(i);
      if (!expectOk(bound.getStatus(), "bind"))
        continue;
      MergeStates merge(**bound);
      for (int64_t b : {1, 5, 64}) {
        Problem p(entry, b);
        p.fill(uint64_t(b) * 7919 + i);
        p.upload();
        // C++ API.
        p.poison();
        if (expectOk(merge.run(p.args, stream), "run"))
          check(drv.api->cuStreamSynchronize(stream), "sync");
        report(p, "run", p.dOut->ptr);
        // C API, the same tensors.
        p.poison();
        std::vector<fd_tensor> outs, lses;
        for (int64_t s = 0; s < p.n; ++s) {
          outs.push_back(toC(p.args.outs[s]));
          lses.push_back(toC(p.args.lses[s]));
        }
        fd_merge_states_args c = {};
        c.size = sizeof(c);
        c.num_states = int32_t(p.n);
        c.outs = outs.data();
        c.lses = lses.data();
        c.out = toC(p.args.out);
        c.lse = toC(p.args.lse);
        if (fd_executable_run_merge_states(cExe, int32_t(i), &c, stream) != 0) {
          std::printf("  C API: FAIL: %s\n", fd_last_error());
          ++failures;
        }
        check(drv.api->cuStreamSynchronize(stream), "sync");
        report(p, "C API", p.dOut->ptr);
        // A refused call launches nothing: out keeps its poison.
        p.poison();
        MergeStatesArgs bad = p.args;
        bad.numStates = int(p.n) + 1;
        Status refused = merge.run(bad, stream);
        check(drv.api->cuStreamSynchronize(stream), "sync");
        std::vector<uint8_t> bytes(size_t(p.dOut->bytes));
        check(drv.cuMemcpyDtoH(bytes.data(), p.dOut->ptr, bytes.size()),
              "download");
        bool untouched = std::all_of(bytes.begin(), bytes.end(),
                                     [](uint8_t x) { return x == 0xff; });
        bool ok = !refused.ok() && untouched;
        std::printf("  refused B=%lld: %s (%s)\n", static_cast<long long>(b),
                    ok ? "ok" : "FAIL", refused.getMessage().c_str());
        failures += ok ? 0 : 1;
        // In place: out is state 0's out (same view).
        MergeStatesArgs inPlace = p.args;
        inPlace.out = p.args.outs[0];
        p.poison();
        if (expectOk(merge.run(inPlace, stream), "in place"))
          check(drv.api->cuStreamSynchronize(stream), "sync");
        report(p, "in place", p.dOuts[0]->ptr);
        p.upload(); // state 0 was overwritten
        // CUDA graph: captured once, replayed after the states change.
        CUgraph graph = nullptr;
        CUgraphExec exec = nullptr;
        check(drv.cuStreamBeginCapture(stream,
                                       CU_STREAM_CAPTURE_MODE_THREAD_LOCAL),
              "begin capture");
        Status captured = merge.run(p.args, stream);
        check(drv.cuStreamEndCapture(stream, &graph), "end capture");
        if (!expectOk(captured, "capture"))
          continue;
        check(drv.cuGraphInstantiateWithFlags(&exec, graph, 0), "instantiate");
        p.fill(uint64_t(b) * 104729 + i);
        p.upload();
        p.poison();
        check(drv.cuGraphLaunch(exec, stream), "graph launch");
        check(drv.api->cuStreamSynchronize(stream), "sync");
        report(p, "graph replay", p.dOut->ptr);
        check(drv.cuGraphExecDestroy(exec), "destroy exec");
        check(drv.cuGraphDestroy(graph), "destroy graph");
      }
    }
    check(drv.cuStreamDestroy(stream), "cuStreamDestroy");
  }
  fd_executable_destroy(cExe);
  fd_bundle_destroy(cBundle);
  if (tested == 0) {
    std::printf("FAILED: the bundle has no merge_states entry\n");
    return 1;
  }
  std::printf("%s: %d merge_states entries, %d failures\n",
              failures ? "FAILED" : "PASSED", tested, failures);
  return failures ? 1 : 0;
}
