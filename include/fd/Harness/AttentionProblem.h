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
/// [B, Hkv, capacity, D] (paged: [pages, Hkv, page_size, D], HND); token-major
/// is [B, capacity, Hkv, D] (paged: [pages, page_size, Hkv, D], NHD, the
/// layout of most inference engines). KVTensor (paged only) is token-major
/// pages with K and V in one tensor [pages, 2, page_size, Hkv, D] (FlashInfer's
/// and vLLM's combined cache), k and v two views of it.
enum class KVLayout { HeadMajor, TokenMajor, KVTensor };
const char *layoutName(KVLayout layout);

/// Aborts with a message naming \p what when a CUDA runtime call fails:
/// the harness's own calls are not what is under test.
void checkCuda(int error, const char *what);

/// What a check of one run found.
struct CheckResult {
  double outError = 0; ///< ||out - ref|| / ||ref|| (NaN if out has NaN)
  double lseError = 0; ///< max |lse - ref|; 0 without lse, NaN/inf: wrong
  bool untouched = true; ///< memory around strided q/out views unchanged
  bool ok(double outTolerance, double lseTolerance) const {
    return outError < outTolerance && lseError <= lseTolerance && untouched;
  }
};

/// One decode step of an entry, shaped as the entry takes it: q, k, v, lens,
/// out on the device (k and v in their own allocations, with spare capacity
/// so strides are not the dense ones), fresh random inputs, and the host
/// copies for the fp64 reference. The entry's manifest decides the rest:
///  - paged (entry.pageSize > 0): k/v are page pools in \p layout with the
///    sequences' pages scattered over them in random order, unused pages
///    and table slots past a sequence's pages pointing at NaN-filled pages
///    (a kernel that reads a page it should not gets NaN, not a fault), and
///    a block table of the entry's index type; with CSR addressing
///    (page_indptr) a flat page list instead, each sequence's range one
///    page longer than it reads (a NaN page) and the list starting at 1;
///  - lens of the entry's index type (i32 or i64);
///  - q/out not contiguous in the manifest: q is a view of a fused QKV
///    buffer and out one with a head stride of 2 D, the gaps NaN;
///  - lse present: a [B, Hq] f32 output checked against the reference.
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
  /// Paged: scatters the sequences over the pool in a new random order and
  /// uploads pool and block table into the same device buffers (what a
  /// CUDA graph captured on them replays with). No-op when not paged.
  void shufflePages(uint64_t seed);
  /// Overwrites one block-table entry / one length on the device only (the
  /// host copies and the pool stay as they were): bad input for the
  /// runtime's page check.
  void pokeTable(int64_t batch, int64_t slot, int64_t value);
  void pokeLen(int64_t batch, int32_t value);
  /// Paged: the most tokens sequence \p batch's table row or CSR range can
  /// hold (what the page check bounds lens[batch] by).
  int64_t rowCapacity(int64_t batch) const;
  /// Paged, CSR: where sequence \p batch's pages start in the flat list.
  int64_t csrStart(int64_t batch) const { return indptr[size_t(batch)]; }
  bool isCsr() const { return csr; }
  /// Fills out (and lse, and the gaps of strided views) with NaN bit
  /// patterns so a row the kernels skip cannot pass.
  void poisonOut();
  /// Compares out (and lse) with the fp64 reference, run on all host cores.
  CheckResult check() const;
  /// Bytes a kernel must move: K and V rows up to lens, q, out, lens and
  /// the block table rows it reads.
  double bytesMoved() const;

  int64_t batch() const { return numBatch; }
  int64_t cacheLen() const { return capacityUsed; }
  KVLayout layout() const { return kvLayout; }
  int64_t pageSize() const { return pageTokens; }
  bool hasLse() const { return deviceLse != nullptr; }

private:
  void uploadPages();
  void uploadLens();
  void uploadContiguous();

  const rt::EntrySpec &entry;
  int64_t numBatch, capacityUsed, allocatedLen;
  KVLayout kvLayout;
  // The contiguous host cache the reference reads ([B, Hkv, allocatedLen, D]
  // in kvLayout's order).
  int64_t strideB = 0, strideH = 0, strideL = 0;
  // Paged: pool geometry and the page of each (sequence, slot).
  int64_t pageTokens = 0, maxPages = 0, numPages = 0;
  int64_t poolPage = 0, poolH = 0, poolT = 0;
  rt::DType tableType = rt::DType::I32, indptrType = rt::DType::I32,
            lensType = rt::DType::I32;
  std::vector<int64_t> pageOrder, table;
  // CSR: the flat list uploaded (csrSlots entries) and its offsets [B + 1].
  bool csr = false;
  int64_t csrSlots = 0;
  std::vector<int64_t> indptr;
  // q and out views (element strides over batch and head) in buffers of
  // qElems / outElems elements.
  int64_t qStrideB = 0, qStrideH = 0, outStrideB = 0, outStrideH = 0;
  size_t qElems = 0, outElems = 0;
  std::vector<uint16_t> hostQ, hostK, hostV;
  std::vector<int32_t> lengths;
  void *deviceQ = nullptr, *deviceK = nullptr, *deviceV = nullptr,
       *deviceLens = nullptr, *deviceOut = nullptr, *deviceTable = nullptr,
       *deviceLse = nullptr, *deviceIndptr = nullptr;
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
