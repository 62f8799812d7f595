//===- UnifiedMaxState.cpp - The unified-max state in a workspace ---------===//

#include "fd/Runtime/UnifiedMaxState.h"
#include "fd/Runtime/Executable.h"

#include <cmath>
#include <cstring>

using namespace fd::rt;

UnifiedMaxState::UnifiedMaxState(const BoundEntry &bound)
    : entry(&bound.getSpec()), context(&bound.getContext()) {}

/// The bits of \p x, for a 32-bit memset.
static unsigned floatBits(float x) {
  uint32_t bits;
  std::memcpy(&bits, &x, sizeof bits);
  return bits;
}

/// The device address of the unified-max state at \p offset in \p
/// workspace, or an error prefixed by \p what (no such buffer in this
/// entry, null workspace).
static Expected<CUdeviceptr> stateAddress(Expected<uint64_t> offset,
                                          const void *workspace,
                                          const std::string &what) {
  if (!offset)
    return offset.getStatus().withContext(what);
  if (!workspace)
    return Status::error(ErrorCode::InvalidArgument,
                         what + ": the workspace pointer is null");
  return reinterpret_cast<CUdeviceptr>(workspace) + *offset;
}

/// Copies \p words u32 at \p address to \p host and waits for them.
static Status readWords(const Context &context, CUdeviceptr address,
                        uint32_t *host, size_t words, CUstream stream,
                        const std::string &what) {
  ContextGuard guard(context);
  if (!guard.getStatus().ok())
    return guard.getStatus().withContext(what);
  const DriverApi &api = context.getDriver();
  CUresult r = api.cuMemcpyDtoHAsync(host, address, words * 4, stream);
  if (r == CUDA_SUCCESS)
    r = api.cuStreamSynchronize(stream);
  if (r != CUDA_SUCCESS)
    return driverError(api, r, what + ": reading the workspace");
  return Status::success();
}

/// Sets \p words u32 at \p address to \p value (stream-ordered, a
/// graph-capturable memset).
static Status writeWords(const Context &context, CUdeviceptr address,
                         uint32_t value, size_t words, CUstream stream,
                         const std::string &what) {
  ContextGuard guard(context);
  if (!guard.getStatus().ok())
    return guard.getStatus().withContext(what);
  const DriverApi &api = context.getDriver();
  CUresult r = api.cuMemsetD32Async(address, value, words, stream);
  if (r != CUDA_SUCCESS)
    return driverError(api, r, what + ": cuMemsetD32Async");
  return Status::success();
}

Expected<uint32_t> UnifiedMaxState::readFallbackCount(const Plan &plan,
                                                      const void *workspace,
                                                      CUstream stream) const {
  std::string what = "readFallbackCount '" + entry->name + "'";
  Expected<CUdeviceptr> counter =
      stateAddress(getFallbackCounterOffset(*entry, plan), workspace, what);
  if (!counter)
    return counter.getStatus();
  uint32_t count = 0;
  Status s = readWords(*context, *counter, &count, 1, stream, what);
  if (!s.ok())
    return s;
  return count;
}

Status UnifiedMaxState::resetFallbackCount(const Plan &plan, void *workspace,
                                           CUstream stream) const {
  std::string what = "resetFallbackCount '" + entry->name + "'";
  Expected<CUdeviceptr> counter =
      stateAddress(getFallbackCounterOffset(*entry, plan), workspace, what);
  if (!counter)
    return counter.getStatus();
  return writeWords(*context, *counter, 0, 1, stream, what);
}

Status UnifiedMaxState::setPhi(const Plan &plan, void *workspace, float phi,
                               CUstream stream) const {
  std::string what = "setPhi '" + entry->name + "'";
  if (!std::isfinite(phi))
    return Status::error(ErrorCode::InvalidArgument,
                         what + ": phi must be finite, got " +
                             std::to_string(phi));
  Expected<CUdeviceptr> address =
      stateAddress(getPhiOffset(*entry, plan), workspace, what);
  if (!address)
    return address.getStatus();
  return writeWords(*context, *address, floatBits(phi), 1, stream, what);
}

Expected<float> UnifiedMaxState::readPhi(const Plan &plan,
                                         const void *workspace,
                                         CUstream stream) const {
  std::string what = "readPhi '" + entry->name + "'";
  Expected<CUdeviceptr> address =
      stateAddress(getPhiOffset(*entry, plan), workspace, what);
  if (!address)
    return address.getStatus();
  uint32_t bits = 0;
  Status s = readWords(*context, *address, &bits, 1, stream, what);
  if (!s.ok())
    return s;
  float phi;
  std::memcpy(&phi, &bits, sizeof phi);
  return phi;
}

Expected<ScoreStats> UnifiedMaxState::readScoreStats(const Plan &plan,
                                                     const void *workspace,
                                                     CUstream stream) const {
  std::string what = "readScoreStats '" + entry->name + "'";
  Expected<CUdeviceptr> address =
      stateAddress(getScoreStatsOffset(*entry, plan), workspace, what);
  if (!address)
    return address.getStatus();
  uint32_t words[4] = {};
  Status s = readWords(*context, *address, words, 4, stream, what);
  if (!s.ok())
    return s;
  return decodeScoreStats(words);
}

Status UnifiedMaxState::resetScoreStats(const Plan &plan, void *workspace,
                                        CUstream stream) const {
  std::string what = "resetScoreStats '" + entry->name + "'";
  Expected<CUdeviceptr> address =
      stateAddress(getScoreStatsOffset(*entry, plan), workspace, what);
  if (!address)
    return address.getStatus();
  return writeWords(*context, *address, 0, 4, stream, what);
}

Expected<RecentreDecision>
UnifiedMaxState::recentrePhi(const Plan &plan, void *workspace, CUstream stream,
                             const RecentrePolicy &policy) const {
  if (!(policy.maxFallbackRate >= 0 && policy.maxFallbackRate <= 1))
    return Status::error(ErrorCode::InvalidArgument,
                         "recentrePhi '" + entry->name +
                             "': maxFallbackRate must be in [0, 1], got " +
                             std::to_string(policy.maxFallbackRate));
  Expected<float> phi = readPhi(plan, workspace, stream);
  if (!phi)
    return phi.getStatus().withContext("recentrePhi");
  Expected<ScoreStats> stats = readScoreStats(plan, workspace, stream);
  if (!stats)
    return stats.getStatus().withContext("recentrePhi");
  RecentreDecision d =
      decideRecentre(*stats, *phi, entry->softmax.threshold, policy);
  if (d.decided) {
    Status s = resetScoreStats(plan, workspace, stream);
    if (!s.ok())
      return s.withContext("recentrePhi");
  }
  if (d.changed) {
    Status s = setPhi(plan, workspace, float(d.newPhi), stream);
    if (!s.ok())
      return s.withContext("recentrePhi");
  }
  return d;
}
