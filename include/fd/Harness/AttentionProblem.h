//===- AttentionProblem.h - decode-attention buffers on a GPU ---*- C++ -*-===//
//
// The GPU test suite and fd-bench both need one decode step's buffers on the
// device in a chosen K/V layout, the matching fd::rt::AttentionArgs, and an
// fp64 answer to compare with. This is that, over the CUDA runtime API (which
// shares the primary context with fd's driver-API runtime).
//
//===----------------------------------------------------------------------===//
#ifndef FD_HARNESS_ATTENTIONPROBLEM_H
#define FD_HARNESS_ATTENTIONPROBLEM_H

#include "fd/Harness/Random.h"
#include "fd/Runtime/Arguments.h"
#include "fd/Runtime/Bundle.h"
#include "fd/Runtime/Executable.h"

#include <cuda_runtime_api.h>

#include <cstdint>
#include <string>
#include <vector>

namespace fd::harness {

/// Where the token axis sits in the K/V cache. Head-major is
/// [B, Hkv, capacity, D] (a paged or per-head cache); token-major is
/// [B, capacity, Hkv, D] (the layout of most inference engines).
enum class KVLayout { HeadMajor, TokenMajor };
const char *layoutName(KVLayout layout);

/// Aborts with a message naming \p what when a CUDA runtime call fails:
/// the harness's own calls are not what is under test.
void checkCuda(int error, const char *what);

/// One decode step of an entry: q, k, v, lens, out on the device (k and v in
/// their own allocations, with spare capacity so strides are not the dense
/// ones), fresh random inputs, and the host copies for the fp64 reference.
class AttentionProblem {
public:
  AttentionProblem(const rt::EntrySpec &entry, int64_t batch, int64_t cacheLen,
                   KVLayout layout, uint64_t seed);
  ~AttentionProblem();
  AttentionProblem(const AttentionProblem &) = delete;
  AttentionProblem &operator=(const AttentionProblem &) = delete;

  /// The arguments for BoundEntry::run.
  const rt::AttentionArgs &args() const { return arguments; }
  const std::vector<int32_t> &lens() const { return lengths; }
  /// Uploads new lengths (each in [0, cacheLen]).
  void setLens(const std::vector<int32_t> &newLens);
  /// Fills out with NaN bit patterns so a row the kernels skip cannot pass.
  void poisonOut();
  /// ||out - ref|| / ||ref|| against the fp64 reference (NaN if out has NaN).
  /// The reference runs on all host cores.
  double relativeError() const;
  /// Bytes a kernel must move: K and V rows up to lens, q, out and lens.
  double bytesMoved() const;

  int64_t batch() const { return numBatch; }
  int64_t cacheLen() const { return capacityUsed; }
  KVLayout layout() const { return kvLayout; }

private:
  const rt::EntrySpec &entry;
  int64_t numBatch, capacityUsed, allocatedLen;
  KVLayout kvLayout;
  int64_t strideB = 0, strideH = 0, strideL = 0;
  std::vector<uint16_t> hostQ, hostK, hostV;
  std::vector<int32_t> lengths;
  void *deviceQ = nullptr, *deviceK = nullptr, *deviceV = nullptr,
       *deviceLens = nullptr, *deviceOut = nullptr;
  rt::AttentionArgs arguments;
};

/// A caller-owned workspace for one plan: cudaMalloc'd (256-byte aligned, at
/// least 256 bytes so a pointer is never null) and prepared with
/// BoundEntry::initWorkspace (unified max needs it zeroed once; a no-op for
/// online softmax).
class DeviceWorkspace {
public:
  DeviceWorkspace(const rt::BoundEntry &bound, const rt::Plan &plan,
                  cudaStream_t stream);
  ~DeviceWorkspace();
  DeviceWorkspace(const DeviceWorkspace &) = delete;
  DeviceWorkspace &operator=(const DeviceWorkspace &) = delete;

  void *get() const { return data; }
  uint64_t bytes() const { return size; }
  /// What initWorkspace returned.
  const rt::Status &initStatus() const { return init; }

private:
  void *data = nullptr;
  uint64_t size = 0;
  rt::Status init;
};

/// Lengths for a batch of capacity \p cacheLen that differ within the batch:
/// the first is the full capacity, then (for B >= 3) a 0 and a 1, the rest
/// random in [0, cacheLen].
std::vector<int32_t> mixedLens(int64_t batch, int64_t cacheLen, Random &random);

} // namespace fd::harness

#endif // FD_HARNESS_ATTENTIONPROBLEM_H
