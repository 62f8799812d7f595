//===- AttentionSuite.cpp - fd's decode attention vs fp64 on a GPU --------===//
//
//   fd-gpu-suite bundle.fdb [--quick] [--filter substring]
//
// Runs every decode_attention entry of an fd-compiled bundle (the suite's is
// made by gen-suite-mlir.py: (Hq, Hkv) x D x dtype) over batches, lengths
// and K/V layouts, plus CUDA-graph replay with lengths that change between
// replays, and compares every output with the fp64 CPU reference:
// ||out - ref|| / ||ref|| < 1e-2, and an lse output (where the entry has one)
// within 2e-3 of the reference's (relative above 1, -inf exactly for an
// empty row). Paged entries (gen-suite-mlir.py --paged) run on page pools
// with shuffled page order, NaN in every page and row a kernel must not
// read, and graph replays that change the block table as well as the
// lengths; strided q/out must leave the memory around their views alone.
// Outputs are poisoned (NaN) before each run and inputs are fresh random
// numbers per case. --quick keeps the small cases (for compute-sanitizer).
// Exit 0: passed; 1: failed; 77: no GPU (skipped).
//
//===----------------------------------------------------------------------===//
#include "fd/Harness/AttentionProblem.h"
#include "fd/Runtime/Bundle.h"
#include "fd/Runtime/Context.h"
#include "fd/Runtime/Executable.h"

#include <cuda.h>
#include <cuda_runtime_api.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <vector>

using namespace fd;
using namespace fd::harness;

namespace {

constexpr double kTolerance = 1e-2, kLseTolerance = 2e-3;

struct SuiteCase {
  int64_t batch, len;
  KVLayout layout;
  bool quick; ///< part of the --quick (sanitizer) subset
};

/// Every entry runs these: each B in {1, 3, 8, 64} and each L in {1, 17,
/// 256, 1000, 4096, 32768, 131072} appears, both layouts alternate, and
/// lengths differ within each batch (full, 0, 1, random).
const SuiteCase kCases[] = {
    {1, 1, KVLayout::HeadMajor, true},
    {3, 17, KVLayout::TokenMajor, true},
    {8, 256, KVLayout::HeadMajor, true},
    {64, 17, KVLayout::TokenMajor, false},
    {3, 1000, KVLayout::TokenMajor, true},
    {64, 1000, KVLayout::HeadMajor, false},
    {8, 4096, KVLayout::HeadMajor, false},
    {3, 4096, KVLayout::TokenMajor, false},
    {1, 32768, KVLayout::TokenMajor, false},
    {3, 32768, KVLayout::HeadMajor, false},
    {1, 131072, KVLayout::HeadMajor, false},
};

/// Paged entries run these (the longest at 32K: a page pool and its
/// host-side copy of the cache are both built per case): every B, lengths
/// of 1 to 32K, HND (head-major pools) and NHD (token-major) alternating.
const SuiteCase kPagedCases[] = {
    {1, 1, KVLayout::HeadMajor, true},
    {3, 17, KVLayout::TokenMajor, true},
    {8, 256, KVLayout::HeadMajor, true},
    {3, 1000, KVLayout::TokenMajor, true},
    {64, 1000, KVLayout::HeadMajor, false},
    {8, 4096, KVLayout::TokenMajor, false},
    {3, 4096, KVLayout::HeadMajor, false},
    {1, 32768, KVLayout::TokenMajor, false},
    // K and V as two views of one tensor [pages, 2, page_size, Hkv, D].
    {3, 1000, KVLayout::KVTensor, true},
    {8, 4096, KVLayout::KVTensor, false},
};

int failures = 0, passes = 0;

void report(const rt::EntrySpec &entry, const char *mode,
            const AttentionProblem &p, const rt::Plan &plan) {
  CheckResult r = p.check();
  bool ok = r.ok(kTolerance, kLseTolerance); // NaN fails
  std::string lens;
  for (size_t i = 0; i < p.lens().size() && i < 4; ++i)
    lens += (i ? "," : "") + std::to_string(p.lens()[i]);
  if (p.lens().size() > 4)
    lens += ",...";
  std::string name = entry.name;
  const std::string &variant = entry.variants[size_t(plan.variant)].name;
  if (!variant.empty())
    name += "/" + variant;
  std::string extra;
  if (p.hasLse())
    extra += " lse.err " + std::to_string(r.lseError);
  if (!r.untouched)
    extra += " WROTE OUTSIDE THE out VIEW";
  std::printf("%-5s %-40s %-6s B=%-3lld L=%-6lld %-11s S=%-3lld lens=[%s] "
              "rel.err %.2e%s\n",
              ok ? "ok" : "FAIL", name.c_str(), mode, (long long)p.batch(),
              (long long)p.cacheLen(), layoutName(p.layout()),
              (long long)plan.numSplits, lens.c_str(), r.outError,
              extra.c_str());
  ok ? ++passes : ++failures;
}

void expectOk(const rt::Status &status, const std::string &what) {
  if (status.ok())
    return;
  std::printf("FAIL  %s: %s\n", what.c_str(), status.getMessage().c_str());
  ++failures;
}

/// \p status must be an error whose message contains \p expected.
void expectError(const rt::Status &status, const std::string &what,
                 const std::string &expected) {
  bool ok = !status.ok() &&
            status.getMessage().find(expected) != std::string::npos;
  std::printf("%-5s %s: %s\n", ok ? "ok" : "FAIL", what.c_str(),
              status.ok() ? "no error" : status.getMessage().c_str());
  ok ? ++passes : ++failures;
}

/// Paged entries: the runtime's checking mode passes a good table and
/// names a page out of range and a length out of range.
void checkPageCheck(const rt::BoundEntry &bound, cudaStream_t stream,
                    uint64_t &seed) {
  const rt::EntrySpec &entry = bound.getSpec();
  AttentionProblem p(entry, 3, 300, KVLayout::TokenMajor, ++seed);
  auto plan = bound.plan(3, 300);
  if (!plan) {
    expectOk(plan.getStatus(), entry.name + " plan");
    return;
  }
  rt::Status good = bound.checkPages(*plan, p.args(), CUstream(stream));
  std::printf("%-5s %s page check: valid table%s%s\n", good.ok() ? "ok" : "FAIL",
              entry.name.c_str(), good.ok() ? "" : ": ",
              good.ok() ? "" : good.getMessage().c_str());
  good.ok() ? ++passes : ++failures;
  // lens[0] = 300: its last slot is read.
  const int64_t numPages = p.args().k.sizes[0];
  const int64_t slot = (p.lens()[0] - 1) / p.pageSize();
  p.pokeTable(0, slot, numPages + 7);
  const std::string where =
      p.isCsr() ? "block_table[" + std::to_string(p.csrStart(0) + slot) +
                      "] (page " + std::to_string(slot) + " of sequence 0)"
                : "block_table[0][" + std::to_string(slot) + "]";
  expectError(bound.checkPages(*plan, p.args(), CUstream(stream)),
              entry.name + " page check: page out of range",
              where + " = " + std::to_string(numPages + 7) +
                  " is outside [0, num_pages = " + std::to_string(numPages) +
                  ")");
  p.pokeTable(0, slot, 0);
  const int64_t capacity = p.rowCapacity(2);
  p.pokeLen(2, int32_t(capacity + 1));
  expectError(bound.checkPages(*plan, p.args(), CUstream(stream)),
              entry.name + " page check: length out of range",
              "lens[2] = " + std::to_string(capacity + 1) + " is outside");
}

void runEntry(const rt::BoundEntry &bound, cudaStream_t stream, bool quick,
              uint64_t &seed) {
  const rt::EntrySpec &entry = bound.getSpec();
  const bool paged = entry.pageSize > 0;
  std::vector<SuiteCase> cases(std::begin(kCases), std::end(kCases));
  if (paged)
    cases.assign(std::begin(kPagedCases), std::end(kPagedCases));
  // Variants that keep their workspace zero (unified max's single_launch)
  // run every case on one workspace, zeroed once and big enough for the
  // largest: each case is laid out for another batch and split on top of
  // what the previous one left, as an engine's per-step calls are.
  std::vector<std::unique_ptr<DeviceWorkspace>> shared(entry.variants.size());
  for (size_t v = 0; v < entry.variants.size(); ++v) {
    if (!entry.variants[v].workspaceZeroInit)
      continue;
    std::optional<rt::Plan> largest;
    for (const SuiteCase &c : cases) {
      auto plan = bound.planVariant(c.batch, c.len, entry.variants[v].name);
      if (plan && (!largest || plan->workspaceBytes > largest->workspaceBytes))
        largest = *plan;
    }
    if (largest) {
      shared[v] = std::make_unique<DeviceWorkspace>(bound, *largest, stream);
      expectOk(shared[v]->initStatus(), entry.name + " initWorkspace");
    }
  }
  for (const SuiteCase &c : cases) {
    if (quick && !c.quick)
      continue;
    // Every launch variant on the same inputs (online: split, unsplit and
    // split_cluster; unified max: two_kernel and single_launch), whichever
    // the runtime would choose for this shape.
    AttentionProblem p(entry, c.batch, c.len, c.layout, ++seed);
    for (size_t v = 0; v < entry.variants.size(); ++v) {
      const std::string &variant = entry.variants[v].name;
      auto plan = variant.empty() ? bound.plan(c.batch, c.len)
                                  : bound.planVariant(c.batch, c.len, variant);
      if (!plan) {
        expectOk(plan.getStatus(), entry.name + " plan");
        continue;
      }
      std::unique_ptr<DeviceWorkspace> own;
      if (!shared[v]) {
        own = std::make_unique<DeviceWorkspace>(bound, *plan, stream);
        expectOk(own->initStatus(), entry.name + " initWorkspace");
      }
      const DeviceWorkspace &ws = shared[v] ? *shared[v] : *own;
      p.poisonOut();
      rt::Status s =
          bound.run(*plan, p.args(), ws.get(), ws.bytes(), CUstream(stream));
      expectOk(s, entry.name + " run");
      checkCuda(cudaStreamSynchronize(stream), "kernels (eager)");
      if (s.ok())
        report(entry, "eager", p, *plan);
    }
  }

  if (paged)
    checkPageCheck(bound, stream, seed);

  // CUDA graph: captured once for the maxima, replayed while lens change
  // (paged: and the block table, to a new page order).
  const int64_t batch = quick ? 3 : 8, len = quick ? 300 : 4096;
  AttentionProblem p(entry, batch, len, KVLayout::TokenMajor, ++seed);
  auto plan = bound.planForGraph(batch, len);
  if (!plan) {
    expectOk(plan.getStatus(), entry.name + " planForGraph");
    return;
  }
  DeviceWorkspace ws(bound, *plan, stream);
  expectOk(ws.initStatus(), entry.name + " initWorkspace");
  cudaGraph_t graph = nullptr;
  cudaGraphExec_t exec = nullptr;
  checkCuda(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal),
            "cudaStreamBeginCapture");
  rt::Status captured =
      bound.run(*plan, p.args(), ws.get(), ws.bytes(), CUstream(stream));
  checkCuda(cudaStreamEndCapture(stream, &graph), "cudaStreamEndCapture");
  expectOk(captured, entry.name + " run (capture)");
  if (captured.ok()) {
    checkCuda(cudaGraphInstantiate(&exec, graph, 0), "cudaGraphInstantiate");
    Random random(seed);
    for (int replay = 0; replay < 3; ++replay) {
      std::vector<int32_t> lens = mixedLens(batch, len, random);
      if (replay == 1)
        std::swap(lens.front(), lens.back()); // the full row moves
      p.setLens(lens);
      p.shufflePages(seed * 31 + uint64_t(replay));
      p.poisonOut();
      checkCuda(cudaGraphLaunch(exec, stream), "cudaGraphLaunch");
      checkCuda(cudaStreamSynchronize(stream), "kernels (graph replay)");
      report(entry, "graph", p, *plan);
    }
    (void)cudaGraphExecDestroy(exec);
  }
  if (graph)
    (void)cudaGraphDestroy(graph);
}

} // namespace

int main(int argc, char **argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  const char *path = nullptr;
  std::string filter;
  bool quick = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--quick")
      quick = true;
    else if (arg == "--filter" && i + 1 < argc)
      filter = argv[++i];
    else if (arg[0] != '-' && !path)
      path = argv[i];
    else {
      std::fprintf(stderr,
                   "usage: fd-gpu-suite bundle.fdb [--quick] [--filter s]\n");
      return 2;
    }
  }
  if (!path) {
    std::fprintf(stderr,
                 "usage: fd-gpu-suite bundle.fdb [--quick] [--filter s]\n");
    return 2;
  }
  auto bundle = rt::Bundle::loadFile(path);
  if (!bundle) {
    std::printf("FAILED: %s\n", bundle.getStatus().getMessage().c_str());
    return 1;
  }
  // The runtime finds out whether there is a GPU without the CUDA runtime
  // API, which would abort on a machine without a driver.
  auto context = rt::Context::create(0);
  if (!context) {
    if (context.getStatus().getCode() == rt::ErrorCode::NoDevice) {
      std::printf("SKIPPED: no GPU: %s\n",
                  context.getStatus().getMessage().c_str());
      return 77;
    }
    std::printf("FAILED: %s\n", context.getStatus().getMessage().c_str());
    return 1;
  }
  checkCuda(cudaSetDevice((*context)->getOrdinal()), "cudaSetDevice");
  auto exe = rt::Executable::create(*context, *bundle);
  if (!exe) {
    std::printf("FAILED: %s\n", exe.getStatus().getMessage().c_str());
    return 1;
  }
  std::printf("device: %s (%s, %d SMs); bundle %s; tolerance: relative error "
              "< %.0e\n",
              (*context)->getName().c_str(), (*context)->getChip().c_str(),
              (*context)->getSmCount(), path, kTolerance);
  cudaStream_t stream;
  checkCuda(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking),
            "cudaStreamCreate");
  uint64_t seed = 0;
  int entries = 0;
  const auto &specs = (*bundle)->getEntries();
  for (size_t i = 0; i < specs.size(); ++i) {
    if (specs[i].op != rt::OpKind::DecodeAttention ||
        specs[i].name.find(filter) == std::string::npos)
      continue;
    auto bound = (*exe)->bind(i);
    if (!bound) {
      expectOk(bound.getStatus(), specs[i].name + " bind");
      continue;
    }
    ++entries;
    runEntry(**bound, stream, quick, seed);
  }
  (void)cudaStreamDestroy(stream);
  if (!entries) {
    std::printf("FAILED: no decode_attention entry matched\n");
    return 1;
  }
  std::printf("%d entries, %d checks passed, %d failed\n%s\n", entries, passes,
              failures, failures ? "FAILED" : "PASSED");
  return failures ? 1 : 0;
}
