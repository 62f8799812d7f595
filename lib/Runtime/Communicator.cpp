//===- Communicator.cpp - An NCCL communicator of one rank ----------------===//

#include "fd/Runtime/Communicator.h"

#include <chrono>
#include <cmath>
#include <thread>

using namespace fd::rt;

namespace {
using Clock = std::chrono::steady_clock;

/// Seconds since \p start.
double since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::string seconds(double s) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%g s", s);
  return buf;
}

/// How long a poll sleeps: short enough not to add to a collective that is
/// about to complete, long enough not to spin a core for a minute.
constexpr auto kPollInterval = std::chrono::microseconds(50);
} // namespace

Status fd::rt::checkRankAndWorld(int rank, int worldSize, int maxWorld) {
  if (worldSize < 1 || worldSize > maxWorld)
    return Status::error(ErrorCode::InvalidArgument,
                         "world size " + std::to_string(worldSize) +
                             " is out of range [1, " +
                             std::to_string(maxWorld) + "]");
  if (rank < 0 || rank >= worldSize)
    return Status::error(ErrorCode::InvalidArgument,
                         "rank " + std::to_string(rank) +
                             " is out of range [0, " +
                             std::to_string(worldSize) + ")");
  return Status::success();
}

Status fd::rt::checkRankTimeout(double s) {
  if (!std::isfinite(s) || s <= 0 || s > kMaxRankTimeoutSeconds)
    return Status::error(ErrorCode::InvalidArgument,
                         "timeout " + seconds(s) + " is out of range (0, " +
                             seconds(kMaxRankTimeoutSeconds) + "]");
  return Status::success();
}

Expected<nccl::UniqueId> Communicator::newUniqueId() {
  Expected<const NcclApi *> api = getNccl();
  if (!api)
    return api.getStatus();
  nccl::UniqueId id{};
  int r = (*api)->ncclGetUniqueId(&id);
  if (r != nccl::kSuccess)
    return ncclError(**api, r, "ncclGetUniqueId");
  return id;
}

Status Communicator::settle(int result, const std::string &what,
                            double timeoutSeconds) {
  const Clock::time_point start = Clock::now();
  while (result == nccl::kInProgress) {
    if (since(start) > timeoutSeconds) {
      abort();
      return Status::error(ErrorCode::Driver,
                           what + " did not complete within " +
                               seconds(timeoutSeconds) +
                               ": not every one of the " +
                               std::to_string(worldSize) +
                               " ranks took part (this is rank " +
                               std::to_string(rank) +
                               "); the communicator was aborted");
    }
    std::this_thread::sleep_for(kPollInterval);
    int state = nccl::kSuccess;
    int r = api->ncclCommGetAsyncError(comm, &state);
    result = r != nccl::kSuccess ? r : state;
  }
  if (result != nccl::kSuccess) {
    Status error = ncclError(*api, result, what, comm);
    abort();
    return error;
  }
  return Status::success();
}

Expected<std::unique_ptr<Communicator>>
Communicator::create(std::shared_ptr<Context> context,
                     const nccl::UniqueId &id, int worldSize, int rank,
                     double timeoutSeconds) {
  if (!context)
    return Status::error(ErrorCode::InvalidArgument, "no context");
  // NCCL's own limit is far beyond what a merge can take; ShardedDecode
  // checks its own bound.
  if (Status s = checkRankAndWorld(rank, worldSize, 1 << 20); !s.ok())
    return s;
  if (Status s = checkRankTimeout(timeoutSeconds); !s.ok())
    return s;
  Expected<const NcclApi *> api = getNccl();
  if (!api)
    return api.getStatus();
  std::unique_ptr<Communicator> c(new Communicator());
  c->context = std::move(context);
  c->api = *api;
  c->rank = rank;
  c->worldSize = worldSize;
  c->owned = true;
  // NCCL picks the device from the CUDA runtime's current device, which
  // follows the current driver context when that is a primary context.
  ContextGuard guard(*c->context);
  if (!guard.getStatus().ok())
    return guard.getStatus();
  nccl::Config config;
  config.blocking = 0; // polled below, so that a missing rank times out
  int r = c->api->ncclCommInitRankConfig(&c->comm, worldSize, id, rank,
                                         &config);
  std::string what = "ncclCommInitRankConfig (rank " + std::to_string(rank) +
                     " of " + std::to_string(worldSize) + ")";
  if (r != nccl::kSuccess && r != nccl::kInProgress) {
    Status error = ncclError(*c->api, r, what, c->comm);
    if (c->comm)
      c->abort();
    c->comm = nullptr;
    return error;
  }
  if (Status s = c->settle(r, what, timeoutSeconds); !s.ok())
    return s;
  return c;
}

Expected<std::unique_ptr<Communicator>>
Communicator::borrow(std::shared_ptr<Context> context, NcclApi::Comm comm) {
  if (!context)
    return Status::error(ErrorCode::InvalidArgument, "no context");
  if (!comm)
    return Status::error(ErrorCode::InvalidArgument,
                         "the borrowed NCCL communicator is null");
  Expected<const NcclApi *> api = getNccl();
  if (!api)
    return api.getStatus();
  std::unique_ptr<Communicator> c(new Communicator());
  c->context = std::move(context);
  c->api = *api;
  c->comm = comm;
  c->owned = false;
  int device = -1;
  int r;
  if ((r = c->api->ncclCommCount(comm, &c->worldSize)) != nccl::kSuccess)
    return ncclError(*c->api, r, "ncclCommCount", comm);
  if ((r = c->api->ncclCommUserRank(comm, &c->rank)) != nccl::kSuccess)
    return ncclError(*c->api, r, "ncclCommUserRank", comm);
  if ((r = c->api->ncclCommCuDevice(comm, &device)) != nccl::kSuccess)
    return ncclError(*c->api, r, "ncclCommCuDevice", comm);
  if (device != c->context->getOrdinal())
    return Status::error(
        ErrorCode::InvalidArgument,
        "the borrowed NCCL communicator (rank " + std::to_string(c->rank) +
            ") lives on device " + std::to_string(device) +
            ", but the context is device " +
            std::to_string(c->context->getOrdinal()));
  return c;
}

Communicator::~Communicator() {
  // A broken communicator was aborted already (ncclCommAbort frees it).
  if (!owned || !comm || broken)
    return;
  // Errors are ignored, as in ~Context: nobody to report them to.
  ContextGuard guard(*context);
  {
    int r = api->ncclCommFinalize(comm);
    // A non-blocking finalize settles like any call; give it a few seconds,
    // then abort instead of hanging the destructor.
    const Clock::time_point start = Clock::now();
    while (r == nccl::kInProgress && since(start) < 10) {
      std::this_thread::sleep_for(kPollInterval);
      int state = nccl::kSuccess;
      r = api->ncclCommGetAsyncError(comm, &state);
      if (r == nccl::kSuccess)
        r = state;
    }
    if (r == nccl::kSuccess) {
      (void)api->ncclCommDestroy(comm);
      return;
    }
  }
  (void)api->ncclCommAbort(comm);
}

void Communicator::abort() {
  if (broken)
    return;
  broken = true;
  if (owned && comm)
    (void)api->ncclCommAbort(comm);
}

Status Communicator::allGather(const void *send, void *recv, size_t bytes,
                               CUstream stream, const char *what) {
  if (broken)
    return Status::error(ErrorCode::InvalidArgument,
                         std::string(what) +
                             ": the communicator was aborted by an earlier "
                             "failure");
  ContextGuard guard(*context);
  if (!guard.getStatus().ok())
    return guard.getStatus();
  int r = api->ncclAllGather(send, recv, bytes, nccl::kUint8, comm, stream);
  return settle(r, std::string(what) + ": ncclAllGather",
                kDefaultRankTimeoutSeconds);
}

Status Communicator::allReduceSum(const float *send, float *recv,
                                  size_t count, CUstream stream,
                                  const char *what) {
  if (broken)
    return Status::error(ErrorCode::InvalidArgument,
                         std::string(what) +
                             ": the communicator was aborted by an earlier "
                             "failure");
  ContextGuard guard(*context);
  if (!guard.getStatus().ok())
    return guard.getStatus();
  int r = api->ncclAllReduce(send, recv, count, nccl::kFloat32, nccl::kSum,
                             comm, stream);
  return settle(r, std::string(what) + ": ncclAllReduce",
                kDefaultRankTimeoutSeconds);
}

Status Communicator::waitForPeers(CUstream stream, double timeoutSeconds,
                                  const std::string &what) {
  if (Status s = checkRankTimeout(timeoutSeconds); !s.ok())
    return s;
  const DriverApi &driver = context->getDriver();
  ContextGuard guard(*context);
  if (!guard.getStatus().ok())
    return guard.getStatus();
  const Clock::time_point start = Clock::now();
  while (true) {
    CUresult r = driver.cuStreamQuery(stream);
    if (r == CUDA_SUCCESS)
      return Status::success();
    if (r != CUDA_ERROR_NOT_READY)
      return driverError(driver, r, what + ": cuStreamQuery");
    int state = nccl::kSuccess;
    int q = api->ncclCommGetAsyncError(comm, &state);
    if (q == nccl::kSuccess && state != nccl::kSuccess &&
        state != nccl::kInProgress) {
      Status error = ncclError(*api, state, what, comm);
      abort();
      return error;
    }
    if (since(start) > timeoutSeconds) {
      std::string message =
          what + " did not complete within " + seconds(timeoutSeconds) +
          ": not every one of the " + std::to_string(worldSize) +
          " ranks took part (this is rank " + std::to_string(rank) + ")";
      if (owned) {
        abort();
        message += "; the communicator was aborted";
      } else {
        message += "; the borrowed communicator is left to its owner, "
                   "whose next collective may hang";
      }
      return Status::error(ErrorCode::Driver, message);
    }
    std::this_thread::sleep_for(kPollInterval);
  }
}
