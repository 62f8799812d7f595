//===- Nccl.h - NCCL, loaded at run time for sharded decode -----*- C++ -*-===//
//
// Context-parallel decode (ShardedDecode.h) merges the ranks' attention
// states through NCCL collectives. Like libcuda (Driver.h) and libcublas
// (Cublas.h), libnccl is opened with dlopen rather than linked: the runtime
// still builds and runs where NCCL is not installed, and in a PyTorch
// process it can use the libnccl.so.2 that PyTorch ships (set FD_LIBNCCL to
// its path, or let the soname resolve to the copy already loaded). nccl.h is
// not included; the few types and values used are declared below, and a
// unit test checks them against nccl.h where the toolkit has one.
//
//===----------------------------------------------------------------------===//

#ifndef FD_RUNTIME_NCCL_H
#define FD_RUNTIME_NCCL_H

#include "fd/Runtime/Driver.h"
#include "fd/Runtime/Export.h"
#include "fd/Runtime/Status.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace fd::rt {

/// Values copied from NCCL 2.28's nccl.h (ncclResult_t, ncclDataType_t,
/// ncclRedOp_t, ncclConfig_t). They are C enums, passed as int.
namespace nccl {
constexpr int kSuccess = 0;       // ncclSuccess
constexpr int kInProgress = 7;    // ncclInProgress
constexpr int kUint8 = 1;         // ncclUint8
constexpr int kFloat32 = 7;       // ncclFloat32
constexpr int kSum = 0;           // ncclSum
constexpr size_t kUniqueIdBytes = 128; // NCCL_UNIQUE_ID_BYTES
/// NCCL_CONFIG_INITIALIZER's magic, and NCCL_CONFIG_UNDEF_INT.
constexpr unsigned kConfigMagic = 0xcafebeef;
constexpr int kConfigUndefInt = -2147483647 - 1;
/// The oldest NCCL with everything used here: ncclConfig_t and non-blocking
/// communicators (2.14), ncclCommFinalize (2.14), the config layout below
/// (2.17). NCCL_VERSION(2, 17, 0).
constexpr int kMinVersion = 21700;

/// ncclUniqueId: the opaque bytes rank 0 creates and every rank passes to
/// its communicator's initialisation.
struct UniqueId {
  char internal[kUniqueIdBytes];
};

/// ncclConfig_v21700. NCCL reads `size` and `version` to learn which fields
/// the caller's struct has, so a newer library accepts this older layout.
struct Config {
  size_t size = sizeof(Config);
  unsigned magic = kConfigMagic;
  unsigned version = kMinVersion;
  int blocking = kConfigUndefInt;
  int cgaClusterSize = kConfigUndefInt;
  int minCTAs = kConfigUndefInt;
  int maxCTAs = kConfigUndefInt;
  const char *netName = nullptr;
  int splitShare = kConfigUndefInt;
};
} // namespace nccl

/// The resolved NCCL entry points. ncclComm_t is an opaque pointer.
struct NcclApi {
  using Comm = void *;
  int (*ncclGetVersion)(int *) = nullptr;
  int (*ncclGetUniqueId)(nccl::UniqueId *) = nullptr;
  int (*ncclCommInitRankConfig)(Comm *, int nranks, nccl::UniqueId id,
                                int rank, nccl::Config *) = nullptr;
  int (*ncclCommFinalize)(Comm) = nullptr;
  int (*ncclCommDestroy)(Comm) = nullptr;
  int (*ncclCommAbort)(Comm) = nullptr;
  int (*ncclCommGetAsyncError)(Comm, int *) = nullptr;
  int (*ncclCommCount)(Comm, int *) = nullptr;
  int (*ncclCommUserRank)(Comm, int *) = nullptr;
  int (*ncclCommCuDevice)(Comm, int *) = nullptr;
  int (*ncclAllGather)(const void *send, void *recv, size_t sendCount,
                       int dtype, Comm, CUstream) = nullptr;
  int (*ncclAllReduce)(const void *send, void *recv, size_t count, int dtype,
                       int op, Comm, CUstream) = nullptr;
  const char *(*ncclGetErrorString)(int) = nullptr;
  /// Optional (2.13+): the last error's detail.
  const char *(*ncclGetLastError)(Comm) = nullptr;

  void *handle = nullptr;
  std::string libraryPath;
  /// ncclGetVersion, e.g. 22809 for 2.28.9.
  int version = 0;
};

/// The libraries tried, in order: $FD_LIBNCCL alone when set and non-empty,
/// otherwise libnccl.so.2 then libnccl.so.
FD_RT_API std::vector<std::string> ncclLibraryCandidates();

/// Opens the first of \p candidates that loads, resolves the table and is
/// at least nccl::kMinVersion; the error (Unsupported) lists every
/// candidate with its reason. Not cached: getNccl() is the cached load.
FD_RT_API Expected<std::shared_ptr<const NcclApi>>
openNccl(const std::vector<std::string> &candidates);

/// openNccl(ncclLibraryCandidates()), once per process (thread-safe).
FD_RT_API Expected<const NcclApi *> getNccl();

/// "<what> failed: <ncclGetErrorString> (<last error>)" as a Driver error.
FD_RT_API Status ncclError(const NcclApi &api, int result,
                           const std::string &what, NcclApi::Comm comm = nullptr);

/// "2.28.9" for 22809 (NCCL_VERSION's encoding from 2.9 on).
FD_RT_API std::string ncclVersionString(int version);

} // namespace fd::rt

#endif // FD_RUNTIME_NCCL_H
