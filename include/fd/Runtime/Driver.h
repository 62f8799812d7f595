//===- Driver.h - The CUDA driver API, loaded at run time -------*- C++ -*-===//
//
// libcuda is opened with dlopen instead of being linked, so the runtime (and
// its tests) build and run on machines without an NVIDIA driver: everything
// except loading modules and launching works there, and asking for a device
// returns a NoDevice error that says why. <cuda.h> provides types only.
//
//===----------------------------------------------------------------------===//

#ifndef FD_RUNTIME_DRIVER_H
#define FD_RUNTIME_DRIVER_H

#include "fd/Runtime/Status.h"

#include <cuda.h>

#include <string>
#include <string_view>

namespace fd::rt {

/// Driver entry points the runtime cannot work without. cuda.h maps some
/// names onto versioned symbols (cuCtxPushCurrent -> cuCtxPushCurrent_v2);
/// the table uses the same macros, so each member has the signature of, and
/// is resolved from, exactly the symbol the header would link against.
#define FD_DRIVER_REQUIRED_FUNCTIONS(X)                                        \
  X(cuGetErrorName)                                                            \
  X(cuGetErrorString)                                                          \
  X(cuInit)                                                                    \
  X(cuDriverGetVersion)                                                        \
  X(cuDeviceGetCount)                                                          \
  X(cuDeviceGet)                                                               \
  X(cuDeviceGetName)                                                           \
  X(cuDeviceGetAttribute)                                                      \
  X(cuDevicePrimaryCtxRetain)                                                  \
  X(cuDevicePrimaryCtxRelease)                                                 \
  X(cuCtxPushCurrent)                                                          \
  X(cuCtxPopCurrent)                                                           \
  X(cuModuleLoadDataEx)                                                        \
  X(cuModuleUnload)                                                            \
  X(cuModuleGetFunction)                                                       \
  X(cuFuncGetAttribute)                                                        \
  X(cuFuncSetAttribute)                                                        \
  X(cuOccupancyMaxActiveBlocksPerMultiprocessor)                               \
  X(cuLaunchKernel)                                                            \
  X(cuMemAlloc)                                                                \
  X(cuMemFree)                                                                 \
  X(cuStreamSynchronize)                                                       \
  X(cuStreamIsCapturing)                                                       \
  X(cuMemsetD8Async)                                                           \
  X(cuMemsetD32Async)                                                          \
  X(cuMemcpyDtoHAsync)                                                         \
  X(cuMemcpyHtoDAsync)                                                         \
  X(cuStreamCreate)                                                            \
  X(cuStreamDestroy)                                                           \
  X(cuStreamQuery)

/// Entry points used when present (stream-ordered allocation, CUDA 11.2+).
#define FD_DRIVER_OPTIONAL_FUNCTIONS(X)                                        \
  X(cuMemAllocAsync)                                                           \
  X(cuMemFreeAsync)                                                            \
  X(cuLaunchKernelEx)

/// The resolved driver functions.
struct DriverApi {
#define FD_DRIVER_DECLARE(name) decltype(&::name) name = nullptr;
  FD_DRIVER_REQUIRED_FUNCTIONS(FD_DRIVER_DECLARE)
  FD_DRIVER_OPTIONAL_FUNCTIONS(FD_DRIVER_DECLARE)
#undef FD_DRIVER_DECLARE

  /// The dlopen handle, for lookupDriverSymbol.
  void *handle = nullptr;
  /// The library that was opened.
  std::string libraryPath;
  /// cuDriverGetVersion, e.g. 13000.
  int version = 0;
};

/// Opens libcuda (once per process), resolves the table and calls cuInit.
/// The environment variable FD_LIBCUDA names another library to open (an
/// unusual install, or a test forcing the no-driver path). Errors are
/// NoDevice, with the dlopen or cuInit reason.
Expected<const DriverApi *> getDriver();

/// Any other symbol of the loaded driver (tools and tests that need more
/// entry points than the runtime does); null if absent or no driver.
void *lookupDriverSymbol(const char *name);

/// "<what> failed: CUDA_ERROR_X (description)" as a Status of \p code.
Status driverError(const DriverApi &api, CUresult result, std::string_view what,
                   ErrorCode code = ErrorCode::Driver);

/// Refuses \p stream while it captures a CUDA graph, for calls that cannot
/// be captured: "<what>: the stream is capturing a CUDA graph, but <why>".
Status refuseCapture(const DriverApi &api, CUstream stream,
                     const std::string &what, std::string_view why);

} // namespace fd::rt

#endif // FD_RUNTIME_DRIVER_H
