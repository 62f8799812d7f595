//===- Cublas.cpp - Loading libcublas and running GemmEx ------------------===//

#include "fd/Runtime/Cublas.h"

#include <algorithm>
#include <cstdlib>
#include <dlfcn.h>

using namespace fd::rt;

std::vector<std::string> fd::rt::cublasLibraryCandidates() {
  const char *override = std::getenv("FD_LIBCUBLAS");
  if (override && *override)
    return {override};
  // The soname of CUDA 13's cuBLAS first; the unversioned development link
  // as a fallback for other installs (e.g. a pip wheel's lib directory on
  // LD_LIBRARY_PATH).
  return {"libcublas.so.13", "libcublas.so"};
}

Expected<std::shared_ptr<const CublasApi>>
fd::rt::openCublas(const std::vector<std::string> &candidates) {
  std::string reasons;
  for (const std::string &path : candidates) {
    // RTLD_LOCAL for the same reason as libcuda: a copy the host
    // application (e.g. PyTorch) loaded must not be interposed.
    void *handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
      const char *reason = dlerror();
      reasons += (reasons.empty() ? "" : "; ") + path + ": " +
                 (reason ? reason : "unknown reason");
      continue;
    }
    auto api = std::make_shared<CublasApi>();
    api->handle = handle;
    api->libraryPath = path;
    std::string missing;
#define FD_CUBLAS_RESOLVE(name)                                                \
  api->name = reinterpret_cast<decltype(api->name)>(dlsym(handle, #name));     \
  if (!api->name)                                                              \
    missing += (missing.empty() ? "" : ", ") + std::string(#name);
    FD_CUBLAS_RESOLVE(cublasCreate_v2)
    FD_CUBLAS_RESOLVE(cublasDestroy_v2)
    FD_CUBLAS_RESOLVE(cublasSetStream_v2)
    FD_CUBLAS_RESOLVE(cublasSetWorkspace_v2)
    FD_CUBLAS_RESOLVE(cublasGemmEx)
#undef FD_CUBLAS_RESOLVE
    api->cublasGetStatusName = reinterpret_cast<const char *(*)(int)>(
        dlsym(handle, "cublasGetStatusName"));
    api->cublasGetStatusString = reinterpret_cast<const char *(*)(int)>(
        dlsym(handle, "cublasGetStatusString"));
    if (missing.empty())
      return std::shared_ptr<const CublasApi>(std::move(api));
    // Not dlclose'd: cheap to keep, and closing libraries with static
    // destructors mid-process is a known source of crashes.
    reasons += (reasons.empty() ? "" : "; ") + path + ": lacks " + missing;
  }
  return Status::error(ErrorCode::Unsupported,
                       "cannot load cuBLAS (" + reasons +
                           "); set FD_LIBCUBLAS to the path of libcublas");
}

Expected<const CublasApi *> fd::rt::getCublas() {
  // A function-local static: initialised once, thread-safely. The library
  // is never closed (handles of live contexts may still use it).
  static const Expected<std::shared_ptr<const CublasApi>> load =
      openCublas(cublasLibraryCandidates());
  if (!load)
    return load.getStatus();
  return load->get();
}

Status fd::rt::cublasError(const CublasApi &api, int status,
                           const std::string &what) {
  const char *name =
      api.cublasGetStatusName ? api.cublasGetStatusName(status) : nullptr;
  const char *description =
      api.cublasGetStatusString ? api.cublasGetStatusString(status) : nullptr;
  std::string message = what + " failed: ";
  message += name ? name : "cublasStatus_t " + std::to_string(status);
  if (description)
    message += std::string(" (") + description + ")";
  return Status::error(ErrorCode::Driver, message);
}

Expected<std::unique_ptr<CublasHandle>>
CublasHandle::create(const CublasApi &api, const DriverApi &driver) {
  std::unique_ptr<CublasHandle> h(new CublasHandle(api, driver));
  int s = api.cublasCreate_v2(&h->handle);
  if (s != cublas::kStatusSuccess) {
    h->handle = nullptr;
    return cublasError(api, s, "cublasCreate (" + api.libraryPath + ")");
  }
  return h;
}

CublasHandle::~CublasHandle() {
  // Errors are ignored, as in ~Context: nobody to report them to.
  if (handle)
    (void)api.cublasDestroy_v2(handle);
  for (auto &[stream, memory] : workspaces)
    if (memory)
      (void)driver.cuMemFree(memory);
}

Status CublasHandle::gemm(const CublasGemm &g, CUstream stream) {
  std::lock_guard<std::mutex> lock(mutex);
  // cublasSetStream resets the workspace to cuBLAS's default pool, so the
  // workspace is set after it on every call.
  int s = api.cublasSetStream_v2(handle, stream);
  if (s != cublas::kStatusSuccess)
    return cublasError(api, s, "cublasSetStream");
  auto found = std::find_if(workspaces.begin(), workspaces.end(),
                            [&](const auto &w) { return w.first == stream; });
  CUdeviceptr workspace = 0;
  if (found != workspaces.end()) {
    workspace = found->second;
  } else {
    CUstreamCaptureStatus capture = CU_STREAM_CAPTURE_STATUS_NONE;
    CUresult r = driver.cuStreamIsCapturing(stream, &capture);
    if (r != CUDA_SUCCESS)
      return driverError(driver, r, "cuStreamIsCapturing");
    if (capture == CU_STREAM_CAPTURE_STATUS_NONE) {
      r = driver.cuMemAlloc(&workspace, kWorkspaceBytes);
      if (r != CUDA_SUCCESS)
        return driverError(driver, r, "cuMemAlloc (cuBLAS workspace)");
      workspaces.emplace_back(stream, workspace);
    }
  }
  s = api.cublasSetWorkspace_v2(handle, reinterpret_cast<void *>(workspace),
                                workspace ? kWorkspaceBytes : 0);
  if (s != cublas::kStatusSuccess)
    return cublasError(api, s, "cublasSetWorkspace");
  // Row-major y = x W^T is column-major y^T = W x^T: A = W (stored [N,K]
  // row-major = K x N column-major, transposed), B = x (K x M column-major).
  const float alpha = 1.0f, beta = 0.0f;
  s = api.cublasGemmEx(handle, cublas::kOpT, cublas::kOpN, g.n, g.m, g.k,
                       &alpha, g.w, g.abType, g.ldw, g.x, g.abType, g.ldx,
                       &beta, g.y, g.yType, g.ldy, cublas::kCompute32F,
                       cublas::kGemmDefault);
  if (s != cublas::kStatusSuccess)
    return cublasError(api, s, "cublasGemmEx");
  return Status::success();
}
