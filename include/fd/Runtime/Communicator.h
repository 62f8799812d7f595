//===- Communicator.h - An NCCL communicator of one rank --------*- C++ -*-===//
//
// The group of GPUs a context-parallel decode (ShardedDecode.h) spans: one
// NCCL communicator per rank, either joined here from a unique id that rank
// 0 created (then fd owns it, and its initialisation and the handshake of
// every ShardedDecode built on it time out instead of hanging), or the
// caller's own (PyTorch's ProcessGroupNCCL, vLLM's PyNcclCommunicator),
// borrowed and never destroyed.
//
//===----------------------------------------------------------------------===//

#ifndef FD_RUNTIME_COMMUNICATOR_H
#define FD_RUNTIME_COMMUNICATOR_H

#include "fd/Runtime/Context.h"
#include "fd/Runtime/Export.h"
#include "fd/Runtime/Nccl.h"
#include "fd/Runtime/Status.h"

#include <memory>

namespace fd::rt {

/// The most seconds any wait for other ranks may be given, and its default.
inline constexpr double kMaxRankTimeoutSeconds = 3600;
inline constexpr double kDefaultRankTimeoutSeconds = 60;

/// One rank's NCCL communicator on one device. Collectives are issued by
/// one thread at a time (NCCL's rule for a communicator); the class does
/// not lock.
class FD_RT_API Communicator {
public:
  /// A fresh unique id (rank 0 calls this and sends the bytes to the other
  /// ranks by its own means: a file, torch.distributed.broadcast, MPI).
  static Expected<nccl::UniqueId> newUniqueId();

  /// Joins the communicator of \p id as \p rank of \p worldSize ranks, on
  /// \p context's device. The initialisation is non-blocking and polled:
  /// if not every rank joins within \p timeoutSeconds (in (0,
  /// kMaxRankTimeoutSeconds]) it is aborted and the error says so.
  static Expected<std::unique_ptr<Communicator>>
  create(std::shared_ptr<Context> context, const nccl::UniqueId &id,
         int worldSize, int rank,
         double timeoutSeconds = kDefaultRankTimeoutSeconds);

  /// Borrows the caller's ncclComm_t \p comm, which must live on
  /// \p context's device; it is never destroyed or aborted here. Waits for
  /// other ranks then cannot be timed out where NCCL itself blocks (a
  /// blocking communicator connecting its peers).
  static Expected<std::unique_ptr<Communicator>>
  borrow(std::shared_ptr<Context> context, NcclApi::Comm comm);

  /// Finalises and destroys an owned communicator (aborts it if it broke).
  ~Communicator();
  Communicator(const Communicator &) = delete;
  Communicator &operator=(const Communicator &) = delete;

  int getRank() const { return rank; }
  int getWorldSize() const { return worldSize; }
  NcclApi::Comm getComm() const { return comm; }
  const NcclApi &getApi() const { return *api; }
  const Context &getContext() const { return *context; }
  bool isOwned() const { return owned; }
  /// Whether an earlier failure (a timeout, an NCCL error) aborted it.
  bool isBroken() const { return broken; }

  /// An in-place-capable all-gather of \p bytes per rank on \p stream (NCCL
  /// calls may be captured into a CUDA graph). Errors name \p what.
  Status allGather(const void *send, void *recv, size_t bytes, CUstream stream,
                   const char *what);
  /// A float sum all-reduce of \p count elements.
  Status allReduceSum(const float *send, float *recv, size_t count,
                      CUstream stream, const char *what);

  /// Waits until \p stream has drained, for at most \p timeoutSeconds,
  /// reporting NCCL's asynchronous errors as they appear. On a timeout an
  /// owned communicator is aborted (its kernels would spin forever) and
  /// the error says that \p what did not complete on every rank.
  Status waitForPeers(CUstream stream, double timeoutSeconds,
                      const std::string &what);

  /// Marks the communicator broken and, if owned, aborts it.
  void abort();

private:
  Communicator() = default;
  /// An owned non-blocking communicator's calls return ncclInProgress until
  /// they are issued; this polls until they are (collective enqueues settle
  /// at once; the initialisation waits for every rank).
  Status settle(int result, const std::string &what, double timeoutSeconds);

  std::shared_ptr<Context> context;
  const NcclApi *api = nullptr;
  NcclApi::Comm comm = nullptr;
  int rank = 0, worldSize = 0;
  bool owned = false, broken = false;
};

/// Checks a rank and world size given by the caller: worldSize in [1,
/// maxWorld], rank in [0, worldSize). Errors name the values.
FD_RT_API Status checkRankAndWorld(int rank, int worldSize, int maxWorld);

/// Checks a timeout given by the caller: finite, in (0,
/// kMaxRankTimeoutSeconds].
FD_RT_API Status checkRankTimeout(double seconds);

} // namespace fd::rt

#endif // FD_RUNTIME_COMMUNICATOR_H
