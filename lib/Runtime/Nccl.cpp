//===- Nccl.cpp - Loading libnccl -----------------------------------------===//

#include "fd/Runtime/Nccl.h"

#include <cstdlib>
#include <dlfcn.h>

using namespace fd::rt;

std::vector<std::string> fd::rt::ncclLibraryCandidates() {
  const char *override = std::getenv("FD_LIBNCCL");
  if (override && *override)
    return {override};
  // The soname first: in a process that already loaded NCCL (PyTorch's
  // nvidia-nccl wheel) it resolves to that copy, so fd's collectives and
  // the caller's share one library and one communicator type.
  return {"libnccl.so.2", "libnccl.so"};
}

std::string fd::rt::ncclVersionString(int version) {
  return std::to_string(version / 10000) + "." +
         std::to_string(version / 100 % 100) + "." +
         std::to_string(version % 100);
}

Expected<std::shared_ptr<const NcclApi>>
fd::rt::openNccl(const std::vector<std::string> &candidates) {
  std::string reasons;
  auto reason = [&](const std::string &path, const std::string &why) {
    reasons += (reasons.empty() ? "" : "; ") + path + ": " + why;
  };
  for (const std::string &path : candidates) {
    // RTLD_LOCAL, as for libcuda and libcublas: a copy the host
    // application loaded must not be interposed.
    void *handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
      const char *why = dlerror();
      reason(path, why ? why : "unknown reason");
      continue;
    }
    auto api = std::make_shared<NcclApi>();
    api->handle = handle;
    api->libraryPath = path;
    std::string missing;
#define FD_NCCL_RESOLVE(name)                                                  \
  api->name = reinterpret_cast<decltype(api->name)>(dlsym(handle, #name));     \
  if (!api->name)                                                              \
    missing += (missing.empty() ? "" : ", ") + std::string(#name);
    FD_NCCL_RESOLVE(ncclGetVersion)
    FD_NCCL_RESOLVE(ncclGetUniqueId)
    FD_NCCL_RESOLVE(ncclCommInitRankConfig)
    FD_NCCL_RESOLVE(ncclCommFinalize)
    FD_NCCL_RESOLVE(ncclCommDestroy)
    FD_NCCL_RESOLVE(ncclCommAbort)
    FD_NCCL_RESOLVE(ncclCommGetAsyncError)
    FD_NCCL_RESOLVE(ncclCommCount)
    FD_NCCL_RESOLVE(ncclCommUserRank)
    FD_NCCL_RESOLVE(ncclCommCuDevice)
    FD_NCCL_RESOLVE(ncclAllGather)
    FD_NCCL_RESOLVE(ncclAllReduce)
    FD_NCCL_RESOLVE(ncclGetErrorString)
#undef FD_NCCL_RESOLVE
    api->ncclGetLastError = reinterpret_cast<const char *(*)(void *)>(
        dlsym(handle, "ncclGetLastError"));
    // Not dlclose'd (as for cuBLAS): communicators may outlive the caller's
    // last use of the table, and NCCL keeps threads.
    if (!missing.empty()) {
      reason(path, "lacks " + missing);
      continue;
    }
    if (api->ncclGetVersion(&api->version) != nccl::kSuccess) {
      reason(path, "ncclGetVersion failed");
      continue;
    }
    if (api->version < nccl::kMinVersion) {
      reason(path, "NCCL " + ncclVersionString(api->version) +
                       " is older than " +
                       ncclVersionString(nccl::kMinVersion));
      continue;
    }
    return std::shared_ptr<const NcclApi>(std::move(api));
  }
  return Status::error(ErrorCode::Unsupported,
                       "cannot load NCCL (" + reasons +
                           "); set FD_LIBNCCL to the path of libnccl.so.2 "
                           "(PyTorch ships one in nvidia/nccl/lib)");
}

Expected<const NcclApi *> fd::rt::getNccl() {
  static const Expected<std::shared_ptr<const NcclApi>> load =
      openNccl(ncclLibraryCandidates());
  if (!load)
    return load.getStatus();
  return load->get();
}

Status fd::rt::ncclError(const NcclApi &api, int result,
                         const std::string &what, NcclApi::Comm comm) {
  std::string message = what + " failed: ";
  const char *text = api.ncclGetErrorString(result);
  message += text ? text : "ncclResult_t " + std::to_string(result);
  if (api.ncclGetLastError) {
    const char *last = api.ncclGetLastError(comm);
    if (last && *last)
      message += std::string(" (") + last + ")";
  }
  return Status::error(ErrorCode::Driver, message);
}
