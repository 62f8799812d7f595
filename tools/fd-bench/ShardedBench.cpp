//===- ShardedBench.cpp - fd-bench --sharded: context-parallel steps ------===//

#include "ShardedBench.h"

#include "fd/Harness/AttentionProblem.h"
#include "fd/Harness/Timing.h"
#include "fd/Runtime/Communicator.h"
#include "fd/Runtime/Context.h"
#include "fd/Runtime/Executable.h"
#include "fd/Runtime/ShardedDecode.h"

#include <cuda_runtime_api.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

using namespace fd;
using fd::bench::ShardedCase;

namespace {

std::string caseText(const ShardedCase &c) {
  char buf[96];
  std::snprintf(buf, sizeof(buf), "%lld,%lld,%lld,%lld,%lld,%s",
                (long long)c.batch, (long long)c.hq, (long long)c.hkv,
                (long long)c.len, (long long)c.d, rt::dtypeName(c.dtype));
  return buf;
}

/// The decode_attention entry with an lse output for \p c (contiguous K/V),
/// and the merge_states entry of \p world states; -1 where none.
void findEntries(const rt::Bundle &bundle, const ShardedCase &c, int world,
                 int &attention, int &merge) {
  attention = merge = -1;
  const auto &entries = bundle.getEntries();
  for (size_t i = 0; i < entries.size(); ++i) {
    const rt::EntrySpec &e = entries[i];
    bool shape = e.dtype == c.dtype && e.numQHeads == c.hq &&
                 e.headDim == c.d;
    if (e.op == rt::OpKind::DecodeAttention && attention < 0 && shape &&
        e.numKvHeads == c.hkv && e.pageSize == 0 &&
        e.tensor(rt::Tensor::Lse).present)
      attention = int(i);
    if (e.op == rt::OpKind::MergeStates && merge < 0 && shape &&
        e.merge.numStates == world)
      merge = int(i);
  }
}

/// Rank 0 writes NCCL's unique id to \p file (through a rename, so that a
/// reader never sees half of it); the others wait up to a minute for it.
bool shareId(int rank, const std::string &file, rt::nccl::UniqueId &id) {
  if (rank == 0) {
    auto fresh = rt::Communicator::newUniqueId();
    if (!fresh) {
      std::printf("rank 0: %s\n", fresh.getStatus().getMessage().c_str());
      return false;
    }
    id = *fresh;
    std::string tmp = file + ".tmp";
    std::ofstream(tmp, std::ios::binary).write(id.internal, sizeof(id.internal));
    return std::rename(tmp.c_str(), file.c_str()) == 0;
  }
  auto start = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() - start < std::chrono::seconds(60)) {
    std::ifstream in(file, std::ios::binary);
    if (in.read(id.internal, sizeof(id.internal)))
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  std::printf("rank %d: no unique id in %s after 60 s\n", rank, file.c_str());
  return false;
}

/// The "step" value of a rank's result line, or -1.
double field(const std::string &line, const char *name) {
  size_t at = line.find(std::string(name) + " ");
  if (at == std::string::npos)
    return -1;
  return std::atof(line.c_str() + at + std::strlen(name) + 1);
}

} // namespace

int fd::bench::runShardedRank(const std::string &bundlePath,
                              const ShardedCase &c, int world, int rank,
                              const std::string &idFile, int runs) {
  auto fail = [&](const std::string &what, const rt::Status &s) {
    std::printf("rank %d of %d: FAILED: %s: %s\n", rank, world, what.c_str(),
                s.getMessage().c_str());
    return 1;
  };
  auto context = rt::Context::create(rank);
  if (!context)
    return fail("device " + std::to_string(rank), context.getStatus());
  harness::checkCuda(cudaSetDevice(rank), "cudaSetDevice");
  auto bundle = rt::Bundle::loadFile(bundlePath);
  if (!bundle)
    return fail("bundle", bundle.getStatus());
  int attentionIndex, mergeIndex;
  findEntries(**bundle, c, world, attentionIndex, mergeIndex);
  if (attentionIndex < 0 || (world > 1 && mergeIndex < 0))
    return fail("bundle",
                rt::Status::error(rt::ErrorCode::InvalidArgument,
                                  "no decode entry with lse for " +
                                      caseText(c) +
                                      (world > 1 ? " or no merge_states of " +
                                                       std::to_string(world) +
                                                       " states"
                                                 : std::string())));
  auto exe = rt::Executable::create(*context, *bundle);
  if (!exe)
    return fail("executable", exe.getStatus());
  auto attention = (*exe)->bind(size_t(attentionIndex));
  if (!attention)
    return fail("bind", attention.getStatus());
  const rt::BoundEntry *merge = nullptr;
  if (world > 1) {
    auto m = (*exe)->bind(size_t(mergeIndex));
    if (!m)
      return fail("bind", m.getStatus());
    merge = *m;
  }
  rt::nccl::UniqueId id{};
  if (!shareId(rank, idFile, id))
    return 1;
  auto comm = rt::Communicator::create(*context, id, world, rank, 120);
  if (!comm)
    return fail("communicator", comm.getStatus());
  rt::ShardedDecodeOptions options;
  options.maxBatch = c.batch;
  options.timeoutSeconds = 120;
  auto sd = rt::ShardedDecode::create(**attention, merge, std::move(*comm),
                                      options);
  if (!sd)
    return fail("ShardedDecode::create", sd.getStatus());

  // An even split; the last rank takes the remainder.
  const int64_t from = c.len * rank / world, to = c.len * (rank + 1) / world;
  const int64_t ls = std::max<int64_t>(to - from, 1);
  const size_t elem = rt::dtypeSize(c.dtype);
  const size_t kvBytes = size_t(c.batch) * c.hkv * ls * c.d * elem;
  void *k, *v, *q, *out, *lse, *lens, *workspace = nullptr;
  harness::checkCuda(cudaMalloc(&k, kvBytes), "cudaMalloc k");
  harness::checkCuda(cudaMalloc(&v, kvBytes), "cudaMalloc v");
  harness::checkCuda(cudaMalloc(&q, c.batch * c.hq * c.d * elem), "q");
  harness::checkCuda(cudaMalloc(&out, c.batch * c.hq * c.d * elem), "out");
  harness::checkCuda(cudaMalloc(&lse, c.batch * c.hq * 4), "lse");
  harness::checkCuda(cudaMalloc(&lens, c.batch * 4), "lens");
  // 0x2E2E: f16 0.106, bf16 3.9e-11 -- finite; the timing does not look at
  // the values.
  harness::checkCuda(cudaMemset(k, 0x2E, kvBytes), "memset");
  harness::checkCuda(cudaMemset(v, 0x2E, kvBytes), "memset");
  harness::checkCuda(cudaMemset(q, 0x2E, c.batch * c.hq * c.d * elem), "q");
  std::vector<int32_t> hostLens(c.batch, int32_t(to - from));
  harness::checkCuda(cudaMemcpy(lens, hostLens.data(), c.batch * 4,
                                cudaMemcpyHostToDevice),
                     "lens");
  auto plan = (*attention)->plan(c.batch, ls);
  if (!plan)
    return fail("plan", plan.getStatus());
  if (plan->workspaceBytes)
    harness::checkCuda(cudaMalloc(&workspace, plan->workspaceBytes), "ws");
  rt::AttentionArgs args;
  args.q = rt::makeTensorRef(q, c.dtype, {c.batch, c.hq, c.d});
  args.k = rt::makeTensorRef(k, c.dtype, {c.batch, c.hkv, ls, c.d});
  args.v = rt::makeTensorRef(v, c.dtype, {c.batch, c.hkv, ls, c.d});
  args.lens = rt::makeTensorRef(lens, rt::DType::I32, {c.batch});
  args.out = rt::makeTensorRef(out, c.dtype, {c.batch, c.hq, c.d});
  args.lse = rt::makeTensorRef(lse, rt::DType::F32, {c.batch, c.hq});

  cudaStream_t stream;
  harness::checkCuda(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking),
                     "stream");
  CUstream s = reinterpret_cast<CUstream>(stream);
  harness::Timer timer(stream);
  const double gbs = timer.measureReadBandwidth(2ull << 30, 10);
  rt::ShardedDecode &d = **sd;
  rt::Status error;
  auto step = [&] {
    error = d.run(*plan, args, workspace, plan->workspaceBytes, s);
    return error.ok();
  };
  auto shard = [&] {
    error = d.runShard(rank, *plan, args, workspace, plan->workspaceBytes, s);
    return error.ok();
  };
  auto exchange = [&] {
    error = d.exchange(s);
    if (error.ok())
      error = d.merge(c.batch, args.out, args.lse, s);
    return error.ok();
  };
  // Every rank times the same sequence, so the collectives pair up: the
  // step's and the exchange's wait for the slowest rank, as in a model.
  harness::TimingResult tStep, tShard, tExchange;
  if (!timer.time(step, 5, runs, tStep))
    return fail("step", error);
  if (!timer.time(shard, 5, runs, tShard))
    return fail("shard decode", error);
  if (world > 1 && !timer.time(exchange, 5, runs, tExchange))
    return fail("exchange", error);
  const double floorUs = 2.0 * double(kvBytes) / (gbs * 1e3);
  std::printf("rank %d of %d: step %.2f us shard %.2f us exchange+merge %.2f "
              "us floor %.2f us (shard K+V %.1f MB at %.0f GB/s)\n",
              rank, world, tStep.medianUs, tShard.medianUs,
              world > 1 ? tExchange.medianUs : 0.0, floorUs,
              2.0 * kvBytes / 1e6, gbs);
  return 0;
}

int fd::bench::runShardedBench(const std::string &self,
                               const std::string &bundlePath,
                               const std::vector<ShardedCase> &cases,
                               const std::vector<int64_t> &worlds, int runs,
                               const std::string &commit,
                               int rankTimeoutSeconds) {
  // Ask the runtime first, as fd-bench does: the CUDA runtime API aborts
  // without a driver.
  auto probe = rt::Context::create(0);
  if (!probe) {
    bool none = probe.getStatus().getCode() == rt::ErrorCode::NoDevice;
    std::printf("fd-bench: %s%s\n", none ? "skipped: no GPU: " : "",
                probe.getStatus().getMessage().c_str());
    return none ? 77 : 1;
  }
  int devices = 0;
  if (cudaGetDeviceCount(&devices) != cudaSuccess)
    devices = 0;
  std::printf("fd-bench --sharded: %d GPUs, commit %s, NCCL_NVLS_ENABLE=%s; "
              "one process per rank, median of %d steps, L2 flushed (read) "
              "before each\n",
              devices, commit.c_str(),
              std::getenv("NCCL_NVLS_ENABLE") ? std::getenv("NCCL_NVLS_ENABLE")
                                              : "(unset: 0)",
              runs);
  setenv("NCCL_NVLS_ENABLE", "0", 0); // NVLink multicast off unless asked
  std::printf("| case | GPUs | step us | vs 1 GPU | shard decode us | "
              "exchange+merge us | share | shard floor us |\n"
              "|---|---|---|---|---|---|---|---|\n");
  int rc = 0;
  for (const ShardedCase &c : cases) {
    double oneGpu = -1;
    for (int64_t world : worlds) {
      if (world > devices) {
        std::printf("| %s | %lld | skipped: %d GPUs here | | | | | |\n",
                    caseText(c).c_str(), (long long)world, devices);
        continue;
      }
      char dir[] = "/tmp/fd-bench-sharded-XXXXXX";
      if (!mkdtemp(dir)) {
        std::perror("mkdtemp");
        return 1;
      }
      std::string idFile = std::string(dir) + "/id";
      std::vector<pid_t> pids;
      for (int r = 0; r < world; ++r) {
        std::string outFile = std::string(dir) + "/rank" + std::to_string(r);
        std::vector<std::string> argv = {
            self, "--bundle", bundlePath, "--case", caseText(c),
            "--runs", std::to_string(runs), "--sharded-world",
            std::to_string(world), "--sharded-rank", std::to_string(r),
            "--sharded-id-file", idFile};
        std::vector<char *> cargv;
        for (std::string &a : argv)
          cargv.push_back(a.data());
        cargv.push_back(nullptr);
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_addopen(&actions, 1, outFile.c_str(),
                                         O_WRONLY | O_CREAT | O_TRUNC, 0644);
        posix_spawn_file_actions_adddup2(&actions, 1, 2);
        pid_t pid;
        int e = posix_spawn(&pid, self.c_str(), &actions, nullptr,
                            cargv.data(), environ);
        posix_spawn_file_actions_destroy(&actions);
        if (e != 0) {
          std::printf("fd-bench: cannot start rank %d: %s\n", r,
                      std::strerror(e));
          return 1;
        }
        pids.push_back(pid);
      }
      // Wait for every rank; a rank still running at the limit is killed
      // (a hang is a failure, never a stuck benchmark).
      auto start = std::chrono::steady_clock::now();
      std::vector<int> status(world, -1);
      int left = int(world);
      while (left > 0) {
        for (int r = 0; r < world; ++r) {
          if (status[r] != -1)
            continue;
          int st = 0;
          if (waitpid(pids[r], &st, WNOHANG) == pids[r]) {
            status[r] = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
            --left;
          }
        }
        if (left > 0 && std::chrono::steady_clock::now() - start >
                            std::chrono::seconds(rankTimeoutSeconds)) {
          for (int r = 0; r < world; ++r)
            if (status[r] == -1)
              kill(pids[r], SIGKILL);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
      std::map<int, std::string> lines;
      for (int r = 0; r < world; ++r) {
        std::ifstream in(std::string(dir) + "/rank" + std::to_string(r));
        std::stringstream text;
        text << in.rdbuf();
        lines[r] = text.str();
        std::remove((std::string(dir) + "/rank" + std::to_string(r)).c_str());
        if (status[r] != 0) {
          std::printf("rank %d of %lld exited with %d:\n%s", r,
                      (long long)world, status[r], lines[r].c_str());
          rc = 1;
        }
      }
      std::remove(idFile.c_str());
      rmdir(dir);
      if (status[0] != 0)
        continue;
      // The step is the slowest rank's (they wait for each other anyway).
      double stepUs = 0, shardUs = 0, exchUs = 0, floorUs = 0;
      for (auto &[r, line] : lines) {
        stepUs = std::max(stepUs, field(line, "step"));
        shardUs = std::max(shardUs, field(line, "shard"));
        exchUs = std::max(exchUs, field(line, "exchange+merge"));
        floorUs = std::max(floorUs, field(line, "floor"));
      }
      if (world == 1)
        oneGpu = stepUs;
      char speed[32] = "";
      if (oneGpu > 0)
        std::snprintf(speed, sizeof(speed), "%.2fx", oneGpu / stepUs);
      std::printf("| %s | %lld | %.2f | %s | %.2f | %.2f | %.1f%% | %.2f |\n",
                  caseText(c).c_str(), (long long)world, stepUs, speed,
                  shardUs, exchUs, stepUs > 0 ? 100 * exchUs / stepUs : 0.0,
                  floorUs);
    }
  }
  return rc;
}
