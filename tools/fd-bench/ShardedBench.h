//===- ShardedBench.h - fd-bench --sharded: context-parallel steps -*- C++ -*-//
//
// fd-bench --sharded W[,W...] times a context-parallel decode step
// (ShardedDecode) on W GPUs, one process per GPU: the parent starts W ranks
// of fd-bench itself (--sharded-rank), each rank times on its own GPU the
// whole step (its shard's decode, the all-gather, the merge), the shard's
// decode alone and the exchange with the merge alone, and the parent prints
// the step against one GPU's and the merge's share of it.
//
//===----------------------------------------------------------------------===//

#ifndef FD_BENCH_SHARDEDBENCH_H
#define FD_BENCH_SHARDEDBENCH_H

#include "fd/Runtime/Bundle.h"

#include <cstdint>
#include <string>
#include <vector>

namespace fd::bench {

/// One sharded case: B sequences of L tokens, Hq/Hkv heads of D, split
/// evenly over the ranks.
struct ShardedCase {
  int64_t batch = 1, hq = 32, hkv = 8, len = 131072, d = 128;
  rt::DType dtype = rt::DType::F16;
};

/// The parent: for every case and world size, runs the ranks (each with a
/// time limit of \p rankTimeoutSeconds) and prints their results. Returns
/// the exit code.
int runShardedBench(const std::string &self, const std::string &bundlePath,
                    const std::vector<ShardedCase> &cases,
                    const std::vector<int64_t> &worlds, int runs,
                    const std::string &commit, int rankTimeoutSeconds);

/// One rank (device \p rank) of a world of \p world: prints one result line
/// ("rank R of W: step ... us ..."). Returns the exit code.
int runShardedRank(const std::string &bundlePath, const ShardedCase &c,
                   int world, int rank, const std::string &idFile, int runs);

} // namespace fd::bench

#endif // FD_BENCH_SHARDEDBENCH_H
