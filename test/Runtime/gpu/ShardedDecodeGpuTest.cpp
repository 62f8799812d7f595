//===- ShardedDecodeGpuTest.cpp - Context-parallel decode on GPUs ---------===//
//
// fd-sharded-gputest bundle.fdb
//   One process, one GPU: every world size the bundle has a merge_states
//   entry for (2, 4, 8) run as that many shards on as many streams of one
//   device (ShardedDecode::createLocal), then replayed from a CUDA graph
//   after the lengths change; and the whole NCCL path with a world of one
//   rank (Communicator::create, ShardedDecode::create, run).
// fd-sharded-gputest bundle.fdb --rank R --world W --id-file F [--case C]
//   One rank of W, on device R (run-ranks.sh starts them). Rank 0 writes
//   NCCL's unique id to F, the others wait for it. Cases: "merge" (run
//   against the reference, then a captured run() replayed with new
//   lengths), "mismatch" (rank 1 builds for another maxBatch: every rank
//   must refuse, naming it), "absent" (the last rank joins the
//   communicator and leaves: the others must time out naming it),
//   "world" (a ShardedDecode expecting W + 1 ranks: refused at once).
//
// The bundle is Inputs/sharded_decode.mlir's: entry shard_decode (32/8
// heads, D 128, f16, lse) and merge2/merge4/merge8. Each sequence of the
// full problem is cut into W contiguous shards at random points, so shards
// differ in length and some are empty; every rank builds the same full
// problem from the same seed and keeps its shard. Checked against the fp64
// reference over the whole sequence. Without a GPU it prints "SKIPPED: no
// GPU: <reason>" and exits 77.
//
//===----------------------------------------------------------------------===//

#include "DriverTestSupport.h"
#include "fd/Harness/Random.h"
#include "fd/Runtime/ShardedDecode.h"
#include "fd/ref/Half.h"
#include "fd/ref/Reference.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

using namespace fd::rt;
using namespace fd::rt::test;

namespace {
using fd::harness::Random;

constexpr int kHq = 32, kHkv = 8, kD = 128;
constexpr double kScale = 0.0883883461;
int failures = 0;

struct DeviceBuffer {
  CUdeviceptr ptr = 0;
  explicit DeviceBuffer(uint64_t n) {
    check(drv.api->cuMemAlloc(&ptr, std::max<uint64_t>(n, 256)), "cuMemAlloc");
  }
  ~DeviceBuffer() { (void)drv.api->cuMemFree(ptr); }
  DeviceBuffer(const DeviceBuffer &) = delete;
  DeviceBuffer &operator=(const DeviceBuffer &) = delete;
  void *get() const { return reinterpret_cast<void *>(ptr); }
  template <typename T> void upload(const std::vector<T> &v) {
    check(drv.cuMemcpyHtoD(ptr, v.data(), v.size() * sizeof(T)), "upload");
  }
  template <typename T> void download(std::vector<T> &v) const {
    check(drv.cuMemcpyDtoH(v.data(), ptr, v.size() * sizeof(T)), "download");
  }
};

/// The full problem: q [B, Hq, D], K/V [B, Hkv, L, D], lengths, and the
/// fp64 reference over the whole of every sequence.
struct FullProblem {
  int b = 0, l = 0;
  std::vector<uint16_t> q, k, v;
  std::vector<int32_t> lens;
  std::vector<double> out, lse;

  FullProblem(int b, int l, uint64_t seed) : b(b), l(l) {
    Random r(seed);
    auto fill = [&](std::vector<uint16_t> &x, size_t n) {
      x.resize(n);
      for (uint16_t &e : x)
        e = fd::ref::fromFloat(fd::ref::DType::F16, r.uniform());
    };
    fill(q, size_t(b) * kHq * kD);
    fill(k, size_t(b) * kHkv * l * kD);
    fill(v, size_t(b) * kHkv * l * kD);
    lens.resize(b);
    for (int i = 0; i < b; ++i)
      lens[i] = i == 0 ? l : 1 + r.below(l); // the first one full
  }
  void reference() {
    out.assign(size_t(b) * kHq * kD, 0);
    lse.assign(size_t(b) * kHq, 0);
    fd::ref::decodeAttention(fd::ref::DType::F16, {b, kHq, kHkv, l, kD}, kScale,
                             q.data(), k.data(),
                             fd::ref::headMajorStrides(kHkv, l, kD), v.data(),
                             fd::ref::headMajorStrides(kHkv, l, kD),
                             lens.data(), out.data(), lse.data());
  }
};

/// Where each sequence is cut into \p world shards: cuts[b][i] .. cuts[b][i
/// + 1] is shard i's part. Random cut points make uneven shards, and empty
/// ones wherever two cuts meet.
std::vector<std::vector<int32_t>> cutPoints(const FullProblem &p, int world,
                                            uint64_t seed) {
  Random r(seed);
  std::vector<std::vector<int32_t>> cuts(p.b);
  for (int b = 0; b < p.b; ++b) {
    std::vector<int32_t> &c = cuts[b];
    c.push_back(0);
    for (int i = 1; i < world; ++i)
      c.push_back(r.below(4) == 0 ? c.back() : r.below(p.lens[b] + 1));
    c.push_back(p.lens[b]);
    std::sort(c.begin(), c.end());
  }
  return cuts;
}

/// Shard \p shard of \p p as its own cache [B, Hkv, Ls, D] (Ls the longest
/// part, at least 1) and its lengths.
struct Shard {
  int ls = 1;
  std::vector<uint16_t> k, v;
  std::vector<int32_t> lens;
};

Shard makeShard(const FullProblem &p,
                const std::vector<std::vector<int32_t>> &cuts, int shard) {
  Shard s;
  for (int b = 0; b < p.b; ++b)
    s.ls = std::max(s.ls, cuts[b][shard + 1] - cuts[b][shard]);
  s.k.assign(size_t(p.b) * kHkv * s.ls * kD, 0);
  s.v.assign(s.k.size(), 0);
  s.lens.resize(p.b);
  for (int b = 0; b < p.b; ++b) {
    int from = cuts[b][shard], n = cuts[b][shard + 1] - from;
    s.lens[b] = n;
    for (int h = 0; h < kHkv; ++h)
      for (int t = 0; t < n; ++t) {
        size_t src = ((size_t(b) * kHkv + h) * p.l + from + t) * kD;
        size_t dst = ((size_t(b) * kHkv + h) * s.ls + t) * kD;
        std::copy_n(&p.k[src], kD, &s.k[dst]);
        std::copy_n(&p.v[src], kD, &s.v[dst]);
      }
  }
  return s;
}

/// The device side of one shard.
struct DeviceShard {
  DeviceBuffer k, v, lens;
  explicit DeviceShard(const Shard &s)
      : k(s.k.size() * 2), v(s.v.size() * 2), lens(s.lens.size() * 4) {
    k.upload(s.k);
    v.upload(s.v);
    lens.upload(s.lens);
  }
};

AttentionArgs shardArgs(int b, const DeviceBuffer &q, const Shard &s,
                        const DeviceShard &d, const DeviceBuffer &out,
                        const DeviceBuffer &lse) {
  AttentionArgs a;
  a.q = makeTensorRef(q.get(), DType::F16, {b, kHq, kD});
  a.k = makeTensorRef(d.k.get(), DType::F16, {b, kHkv, s.ls, kD});
  a.v = makeTensorRef(d.v.get(), DType::F16, {b, kHkv, s.ls, kD});
  a.lens = makeTensorRef(d.lens.get(), DType::I32, {b});
  a.out = makeTensorRef(out.get(), DType::F16, {b, kHq, kD});
  a.lse = makeTensorRef(lse.get(), DType::F32, {b, kHq});
  return a;
}

/// Compares the merged result with the reference; returns whether it holds.
bool compare(const std::string &what, const FullProblem &p,
             const DeviceBuffer &out, const DeviceBuffer &lse) {
  std::vector<uint16_t> o(size_t(p.b) * kHq * kD);
  std::vector<float> l(size_t(p.b) * kHq);
  out.download(o);
  lse.download(l);
  // A NaN difference counts as infinitely wrong (std::max would drop it);
  // an empty sequence's lse is -inf on both sides.
  auto worse = [](double err, double diff) {
    return std::isnan(diff) ? INFINITY : std::max(err, diff);
  };
  double outErr = 0, lseErr = 0;
  for (size_t i = 0; i < o.size(); ++i)
    outErr = worse(outErr, std::abs(double(fd::ref::toFloat(
                                        fd::ref::DType::F16, o[i])) -
                                    p.out[i]));
  for (size_t i = 0; i < l.size(); ++i) {
    bool bothEmpty = std::isinf(p.lse[i]) && p.lse[i] < 0 &&
                     std::isinf(l[i]) && l[i] < 0;
    lseErr = worse(lseErr, bothEmpty ? 0.0 : std::abs(double(l[i]) - p.lse[i]));
  }
  // Two f16 roundings (the shard's out, the merged out) on values below 1.
  bool ok = outErr <= 4e-3 && lseErr <= 1e-3 && std::isfinite(outErr) &&
            std::isfinite(lseErr);
  std::printf("%s %s: max |out - ref| %.2e, max |lse - ref| %.2e\n",
              ok ? "ok" : "FAIL", what.c_str(), outErr, lseErr);
  if (!ok)
    ++failures;
  return ok;
}

void expectOk(const Status &s, const std::string &what) {
  if (s.ok())
    return;
  std::printf("FAILED: %s: %s\n", what.c_str(), s.getMessage().c_str());
  std::exit(1);
}

/// World \p world as that many shards of one process on as many streams.
void localWorld(GpuSession &g, const BoundEntry &attn, int world) {
  const BoundEntry *merge = nullptr;
  if (world > 1) {
    Expected<const BoundEntry *> m = g.exe->bind("merge" + std::to_string(world));
    expectOk(m.getStatus(), "bind merge" + std::to_string(world));
    merge = *m;
  }
  const int maxBatch = 5;
  ShardedDecodeOptions options;
  options.maxBatch = maxBatch;
  options.localShards = world;
  auto sd = ShardedDecode::createLocal(attn, merge, options);
  expectOk(sd.getStatus(), "createLocal");
  for (int b : {1, maxBatch}) {
    FullProblem p(b, 700, 1000 + world * 10 + b);
    p.reference();
    auto cuts = cutPoints(p, world, 77 + b);
    DeviceBuffer q(p.q.size() * 2), out(p.out.size() * 2), lse(p.lse.size() * 4);
    q.upload(p.q);
    std::vector<Shard> shards;
    std::vector<std::unique_ptr<DeviceShard>> dev;
    std::vector<CUstream> streams(world);
    std::vector<Plan> plans;
    std::vector<std::unique_ptr<DeviceBuffer>> workspaces;
    CUstream main = nullptr;
    check(drv.cuStreamCreate(&main, CU_STREAM_NON_BLOCKING), "stream");
    CUevent start;
    check(drv.cuEventCreate(&start, CU_EVENT_DISABLE_TIMING), "event");
    check(drv.cuEventRecord(start, main), "record");
    std::vector<CUevent> events(world);
    for (int i = 0; i < world; ++i) {
      shards.push_back(makeShard(p, cuts, i));
      dev.push_back(std::make_unique<DeviceShard>(shards.back()));
      Expected<Plan> plan = attn.plan(b, shards.back().ls);
      expectOk(plan.getStatus(), "plan");
      plans.push_back(*plan);
      workspaces.push_back(std::make_unique<DeviceBuffer>(plan->workspaceBytes));
      check(drv.cuStreamCreate(&streams[i], CU_STREAM_NON_BLOCKING), "stream");
      check(drv.cuEventCreate(&events[i], CU_EVENT_DISABLE_TIMING), "event");
    }
    // Every shard on its own stream, joined before the merge.
    for (int i = 0; i < world; ++i) {
      check(drv.cuStreamWaitEvent(streams[i], start, 0), "wait");
      expectOk((*sd)->runShard(i, plans[i],
                               shardArgs(b, q, shards[i], *dev[i], out, lse),
                               workspaces[i]->get(), plans[i].workspaceBytes,
                               streams[i]),
               "runShard");
      check(drv.cuEventRecord(events[i], streams[i]), "record");
      check(drv.cuStreamWaitEvent(main, events[i], 0), "wait");
    }
    TensorRef o = makeTensorRef(out.get(), DType::F16, {b, kHq, kD});
    TensorRef l = makeTensorRef(lse.get(), DType::F32, {b, kHq});
    if (world > 1)
      expectOk((*sd)->merge(b, o, l, main), "merge");
    check(drv.api->cuStreamSynchronize(main), "synchronize");
    compare("local world " + std::to_string(world) + " B=" +
                std::to_string(b) + " (" + std::to_string(world) +
                " streams)",
            p, out, lse);

    // Captured once, replayed after every shard's lengths changed (within
    // the graph plans' maxima).
    std::vector<Plan> graphPlans;
    for (int i = 0; i < world; ++i) {
      Expected<Plan> plan = attn.planForGraph(b, shards[i].ls);
      expectOk(plan.getStatus(), "planForGraph");
      graphPlans.push_back(*plan);
      if (plan->workspaceBytes > plans[i].workspaceBytes)
        workspaces[i] = std::make_unique<DeviceBuffer>(plan->workspaceBytes);
    }
    check(drv.cuStreamBeginCapture(main, CU_STREAM_CAPTURE_MODE_THREAD_LOCAL),
          "begin capture");
    for (int i = 0; i < world; ++i)
      expectOk((*sd)->runShard(i, graphPlans[i],
                               shardArgs(b, q, shards[i], *dev[i], out, lse),
                               workspaces[i]->get(),
                               graphPlans[i].workspaceBytes, main),
               "runShard (capturing)");
    if (world > 1)
      expectOk((*sd)->merge(b, o, l, main), "merge (capturing)");
    CUgraph graph;
    CUgraphExec exec;
    check(drv.cuStreamEndCapture(main, &graph), "end capture");
    check(drv.cuGraphInstantiateWithFlags(&exec, graph, 0), "instantiate");
    // Shorter shards: each sequence's parts shrink to a random prefix, so
    // the full problem is their concatenation again.
    Random r(999 + world);
    FullProblem p2 = p;
    for (int bi = 0; bi < b; ++bi) {
      int total = 0;
      std::vector<uint16_t> k2(p.k.size()), v2(p.v.size());
      for (int i = 0; i < world; ++i) {
        int n = shards[i].lens[bi] == 0 ? 0 : r.below(shards[i].lens[bi] + 1);
        for (int h = 0; h < kHkv; ++h)
          for (int t = 0; t < n; ++t) {
            size_t src = ((size_t(bi) * kHkv + h) * shards[i].ls + t) * kD;
            size_t dst = ((size_t(bi) * kHkv + h) * p.l + total + t) * kD;
            std::copy_n(&shards[i].k[src], kD, &p2.k[dst]);
            std::copy_n(&shards[i].v[src], kD, &p2.v[dst]);
          }
        shards[i].lens[bi] = n;
        total += n;
      }
      p2.lens[bi] = total;
    }
    p2.reference();
    for (int i = 0; i < world; ++i)
      dev[i]->lens.upload(shards[i].lens);
    check(drv.cuGraphLaunch(exec, main), "graph launch");
    check(drv.api->cuStreamSynchronize(main), "synchronize");
    compare("local world " + std::to_string(world) + " B=" +
                std::to_string(b) + " graph replay, new lengths",
            p2, out, lse);
    (void)drv.cuGraphExecDestroy(exec);
    (void)drv.cuGraphDestroy(graph);
    for (int i = 0; i < world; ++i) {
      (void)drv.cuEventDestroy(events[i]);
      (void)drv.cuStreamDestroy(streams[i]);
    }
    (void)drv.cuEventDestroy(start);
    (void)drv.cuStreamDestroy(main);
  }
}

/// The NCCL path end to end with one rank: the whole sequence is its shard.
void oneRank(GpuSession &g, const BoundEntry &attn) {
  Expected<nccl::UniqueId> id = Communicator::newUniqueId();
  expectOk(id.getStatus(), "ncclGetUniqueId");
  auto comm = Communicator::create(g.context, *id, 1, 0, 30);
  expectOk(comm.getStatus(), "Communicator::create (1 rank)");
  ShardedDecodeOptions options;
  options.maxBatch = 3;
  auto sd = ShardedDecode::create(attn, nullptr, std::move(*comm), options);
  expectOk(sd.getStatus(), "ShardedDecode::create (1 rank)");
  FullProblem p(3, 500, 4242);
  p.reference();
  std::vector<std::vector<int32_t>> cuts = cutPoints(p, 1, 1);
  Shard s = makeShard(p, cuts, 0);
  DeviceShard d(s);
  DeviceBuffer q(p.q.size() * 2), out(p.out.size() * 2), lse(p.lse.size() * 4);
  q.upload(p.q);
  Expected<Plan> plan = attn.plan(p.b, s.ls);
  expectOk(plan.getStatus(), "plan");
  DeviceBuffer ws(plan->workspaceBytes);
  expectOk((*sd)->run(*plan, shardArgs(p.b, q, s, d, out, lse), ws.get(),
                      plan->workspaceBytes, nullptr),
           "run (1 rank)");
  check(drv.api->cuStreamSynchronize(nullptr), "synchronize");
  compare("NCCL world 1 B=3", p, out, lse);
  // A batch above maxBatch is refused before anything runs.
  Status refused = (*sd)->run(*plan, shardArgs(4, q, s, d, out, lse), ws.get(),
                              plan->workspaceBytes, nullptr);
  bool ok = !refused.ok() &&
            refused.getMessage().find("out of range [0, maxBatch 3]") !=
                std::string::npos;
  std::printf("%s NCCL world 1: batch 4 refused: %s\n", ok ? "ok" : "FAIL",
              refused.getMessage().c_str());
  if (!ok)
    ++failures;
}

/// Rank 0 writes the id (to a temporary, then renamed, so a reader never
/// sees half of it); the others wait up to a minute for the file.
nccl::UniqueId shareId(int rank, const std::string &file) {
  nccl::UniqueId id{};
  if (rank == 0) {
    Expected<nccl::UniqueId> fresh = Communicator::newUniqueId();
    expectOk(fresh.getStatus(), "ncclGetUniqueId");
    id = *fresh;
    std::string tmp = file + ".tmp";
    std::ofstream(tmp, std::ios::binary)
        .write(id.internal, sizeof(id.internal));
    if (std::rename(tmp.c_str(), file.c_str()) != 0) {
      std::printf("FAILED: cannot rename %s\n", tmp.c_str());
      std::exit(1);
    }
    return id;
  }
  auto start = std::chrono::steady_clock::now();
  while (true) {
    std::ifstream in(file, std::ios::binary);
    if (in.read(id.internal, sizeof(id.internal)))
      return id;
    if (std::chrono::steady_clock::now() - start > std::chrono::seconds(60)) {
      std::printf("FAILED: rank %d: no unique id in %s after 60 s\n", rank,
                  file.c_str());
      std::exit(1);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

int rankMain(const std::string &bundlePath, int rank, int world,
             const std::string &idFile, const std::string &testCase) {
  Expected<std::shared_ptr<Context>> context = Context::create(rank);
  if (!context) {
    std::printf("%s: rank %d: %s\n",
                context.getStatus().getCode() == ErrorCode::NoDevice
                    ? "SKIPPED: no GPU"
                    : "FAILED",
                rank, context.getStatus().getMessage().c_str());
    return context.getStatus().getCode() == ErrorCode::NoDevice ? 77 : 1;
  }
  if (!drv.load((*context)->getDriver()))
    return 1;
  // The test's own allocations and streams need the context current, as
  // the runtime's calls make it current for themselves.
  ContextGuard guard(**context);
  auto bundle = Bundle::loadFile(bundlePath);
  expectOk(bundle.getStatus(), "load bundle");
  auto exe = Executable::create(*context, *bundle);
  expectOk(exe.getStatus(), "Executable::create");
  auto attn = (*exe)->bind("shard_decode");
  expectOk(attn.getStatus(), "bind shard_decode");
  auto merge = (*exe)->bind("merge" + std::to_string(world));
  expectOk(merge.getStatus(), "bind merge" + std::to_string(world));

  nccl::UniqueId id = shareId(rank, idFile);
  auto comm = Communicator::create(*context, id, world, rank, 60);
  expectOk(comm.getStatus(), "Communicator::create");
  std::shared_ptr<Communicator> shared = std::move(*comm);

  ShardedDecodeOptions options;
  options.maxBatch = 5;
  auto expectRefusal = [&](const Status &s, const std::string &want) {
    bool ok = !s.ok() && s.getMessage().find(want) != std::string::npos;
    std::printf("%s rank %d of %d: %s refused: %s\n", ok ? "ok" : "FAIL", rank,
                world, testCase.c_str(),
                s.ok() ? "(it succeeded)" : s.getMessage().c_str());
    return ok ? 0 : 1;
  };
  if (testCase == "world") {
    options.expectedWorldSize = world + 1;
    return expectRefusal(
        ShardedDecode::create(**attn, *merge, shared, options).getStatus(),
        "the communicator has " + std::to_string(world) + " ranks, but " +
            std::to_string(world + 1) + " were expected");
  }
  if (testCase == "mismatch") {
    if (rank == 1)
      options.maxBatch = 6;
    return expectRefusal(
        ShardedDecode::create(**attn, *merge, shared, options).getStatus(),
        rank == 1 ? "rank 0's maxBatch is 5, but rank 1's is 6"
                  : "rank 1's maxBatch is 6, but rank " +
                        std::to_string(rank) + "'s is 5");
  }
  if (testCase == "absent") {
    if (rank == world - 1) {
      std::printf("ok rank %d of %d: leaves without building\n", rank, world);
      std::fflush(stdout);
      std::_Exit(0); // no teardown: as a crashed rank would
    }
    options.timeoutSeconds = 5;
    return expectRefusal(
        ShardedDecode::create(**attn, *merge, shared, options).getStatus(),
        "no descriptor reached rank " + std::to_string(rank) + " from rank(s)");
  }
  if (testCase != "merge") {
    std::printf("FAILED: unknown --case '%s'\n", testCase.c_str());
    return 1;
  }
  auto sd = ShardedDecode::create(**attn, *merge, shared, options);
  expectOk(sd.getStatus(), "ShardedDecode::create");
  for (int b : {1, 5}) {
    FullProblem p(b, 900, 5000 + b);
    p.reference();
    auto cuts = cutPoints(p, world, 31 + b);
    Shard s = makeShard(p, cuts, rank);
    DeviceShard d(s);
    DeviceBuffer q(p.q.size() * 2), out(p.out.size() * 2),
        lse(p.lse.size() * 4);
    q.upload(p.q);
    Expected<Plan> plan = (*attn)->planForGraph(b, s.ls);
    expectOk(plan.getStatus(), "planForGraph");
    DeviceBuffer ws(plan->workspaceBytes);
    CUstream stream;
    check(drv.cuStreamCreate(&stream, CU_STREAM_NON_BLOCKING), "stream");
    AttentionArgs args = shardArgs(b, q, s, d, out, lse);
    expectOk((*sd)->run(*plan, args, ws.get(), plan->workspaceBytes, stream),
             "run");
    check(drv.api->cuStreamSynchronize(stream), "synchronize");
    compare("rank " + std::to_string(rank) + " of " + std::to_string(world) +
                " B=" + std::to_string(b),
            p, out, lse);
    // The step captured (NCCL's all-gather included) and replayed after
    // the lengths change: every rank halves its parts the same way.
    check(drv.cuStreamBeginCapture(stream, CU_STREAM_CAPTURE_MODE_THREAD_LOCAL),
          "begin capture");
    expectOk((*sd)->run(*plan, args, ws.get(), plan->workspaceBytes, stream),
             "run (capturing)");
    CUgraph graph;
    CUgraphExec exec;
    check(drv.cuStreamEndCapture(stream, &graph), "end capture");
    check(drv.cuGraphInstantiateWithFlags(&exec, graph, 0), "instantiate");
    FullProblem p2 = p;
    for (int bi = 0; bi < b; ++bi) {
      int total = 0;
      for (int i = 0; i < world; ++i) {
        int from = cuts[bi][i], n = (cuts[bi][i + 1] - from) / 2;
        for (int h = 0; h < kHkv; ++h)
          for (int t = 0; t < n; ++t) {
            size_t src = ((size_t(bi) * kHkv + h) * p.l + from + t) * kD;
            size_t dst = ((size_t(bi) * kHkv + h) * p.l + total + t) * kD;
            std::copy_n(&p.k[src], kD, &p2.k[dst]);
            std::copy_n(&p.v[src], kD, &p2.v[dst]);
          }
        if (i == rank)
          s.lens[bi] = n;
        total += n;
      }
      p2.lens[bi] = total;
    }
    p2.reference();
    d.lens.upload(s.lens);
    check(drv.cuGraphLaunch(exec, stream), "graph launch");
    check(drv.api->cuStreamSynchronize(stream), "synchronize");
    compare("rank " + std::to_string(rank) + " of " + std::to_string(world) +
                " B=" + std::to_string(b) + " graph replay, new lengths",
            p2, out, lse);
    (void)drv.cuGraphExecDestroy(exec);
    (void)drv.cuGraphDestroy(graph);
    (void)drv.cuStreamDestroy(stream);
  }
  if (failures)
    std::printf("FAILED: rank %d of %d: %d failures\n", rank, world, failures);
  else
    std::printf("PASSED: rank %d of %d\n", rank, world);
  return failures ? 1 : 0;
}
} // namespace

int main(int argc, char **argv) {
  if (argc < 2) {
    std::printf("usage: fd-sharded-gputest bundle.fdb [--rank R --world W "
                "--id-file F [--case merge|mismatch|absent|world]]\n");
    return 2;
  }
  std::string bundlePath = argv[1], idFile, testCase = "merge";
  int rank = -1, world = 0;
  for (int i = 2; i + 1 < argc; i += 2) {
    std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--rank")
      rank = std::atoi(value.c_str());
    else if (flag == "--world")
      world = std::atoi(value.c_str());
    else if (flag == "--id-file")
      idFile = value;
    else if (flag == "--case")
      testCase = value;
    else {
      std::printf("FAILED: unknown flag %s\n", flag.c_str());
      return 2;
    }
  }
  if (rank >= 0) {
    if (Status s = checkRankAndWorld(rank, world, kMaxShardRanks); !s.ok()) {
      std::printf("FAILED: %s\n", s.getMessage().c_str());
      return 2;
    }
    if (idFile.empty()) {
      std::printf("FAILED: --rank needs --id-file\n");
      return 2;
    }
    return rankMain(bundlePath, rank, world, idFile, testCase);
  }

  GpuSession g;
  if (int rc = openSession(Bundle::loadFile(bundlePath), g); rc >= 0)
    return rc;
  ContextGuard guard(*g.context); // for the test's own driver calls
  Expected<const BoundEntry *> attn = g.exe->bind("shard_decode");
  expectOk(attn.getStatus(), "bind shard_decode");
  int worlds = 0;
  for (int world : {1, 2, 4, 8}) {
    if (world > 1 && !g.bundle->findEntry("merge" + std::to_string(world)))
      continue;
    localWorld(g, **attn, world);
    ++worlds;
  }
  oneRank(g, **attn);
  if (failures)
    std::printf("FAILED: %d failures\n", failures);
  else
    std::printf("PASSED: %d local world sizes and the one-rank NCCL path\n",
                worlds);
  return failures ? 1 : 0;
}
