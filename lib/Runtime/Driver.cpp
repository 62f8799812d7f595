//===- Driver.cpp - Loading libcuda and resolving its entry points --------===//

#include "fd/Runtime/Driver.h"

#include <cstdlib>
#include <dlfcn.h>

using namespace fd::rt;

#define FD_STRINGIFY_IMPL(x) #x
/// Stringifies after macro expansion, giving the versioned symbol name.
#define FD_STRINGIFY(x) FD_STRINGIFY_IMPL(x)

namespace {
struct DriverLoad {
  DriverApi api;
  Status status;
};
} // namespace

static DriverLoad loadDriver() {
  DriverLoad load;
  DriverApi &api = load.api;
  const char *override = std::getenv("FD_LIBCUDA");
  api.libraryPath = override && *override ? override : "libcuda.so.1";
  // RTLD_LOCAL keeps libcuda's symbols out of the global namespace, so it
  // cannot clash with a copy the host application loaded differently.
  api.handle = dlopen(api.libraryPath.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!api.handle) {
    const char *reason = dlerror();
    load.status = Status::error(
        ErrorCode::NoDevice, "cannot load the CUDA driver (" + api.libraryPath +
                                 "): " + (reason ? reason : "unknown reason"));
    return load;
  }
#define FD_DRIVER_RESOLVE(name)                                                \
  api.name = reinterpret_cast<decltype(api.name)>(                             \
      dlsym(api.handle, FD_STRINGIFY(name)));                                  \
  if (!api.name) {                                                             \
    load.status =                                                              \
        Status::error(ErrorCode::NoDevice,                                     \
                      "the CUDA driver " + api.libraryPath +                   \
                          " lacks " FD_STRINGIFY(name) " (driver too old?)");  \
    return load;                                                               \
  }
  FD_DRIVER_REQUIRED_FUNCTIONS(FD_DRIVER_RESOLVE)
#undef FD_DRIVER_RESOLVE
#define FD_DRIVER_RESOLVE_OPTIONAL(name)                                       \
  api.name = reinterpret_cast<decltype(api.name)>(                             \
      dlsym(api.handle, FD_STRINGIFY(name)));
  FD_DRIVER_OPTIONAL_FUNCTIONS(FD_DRIVER_RESOLVE_OPTIONAL)
#undef FD_DRIVER_RESOLVE_OPTIONAL

  CUresult result = api.cuInit(0);
  if (result != CUDA_SUCCESS) {
    load.status = driverError(api, result, "cuInit", ErrorCode::NoDevice);
    return load;
  }
  result = api.cuDriverGetVersion(&api.version);
  if (result != CUDA_SUCCESS) {
    load.status =
        driverError(api, result, "cuDriverGetVersion", ErrorCode::NoDevice);
    return load;
  }
  return load;
}

/// The process-wide load; a function-local static is initialised once and
/// thread-safely without needing libpthread. The handle is never closed:
/// unloading libcuda while contexts may exist is unsafe.
static const DriverLoad &getLoad() {
  static const DriverLoad load = loadDriver();
  return load;
}

Expected<const DriverApi *> fd::rt::getDriver() {
  const DriverLoad &load = getLoad();
  if (!load.status.ok())
    return load.status;
  return &load.api;
}

void *fd::rt::lookupDriverSymbol(const char *name) {
  const DriverLoad &load = getLoad();
  if (!load.status.ok() || !load.api.handle)
    return nullptr;
  return dlsym(load.api.handle, name);
}

Status fd::rt::driverError(const DriverApi &api, CUresult result,
                           std::string_view what, ErrorCode code) {
  const char *name = nullptr;
  const char *description = nullptr;
  if (api.cuGetErrorName && api.cuGetErrorName(result, &name) != CUDA_SUCCESS)
    name = nullptr;
  if (api.cuGetErrorString &&
      api.cuGetErrorString(result, &description) != CUDA_SUCCESS)
    description = nullptr;
  std::string message = std::string(what) + " failed: ";
  message += name ? name : "CUresult " + std::to_string(int(result));
  if (description)
    message += std::string(" (") + description + ")";
  if (result == CUDA_ERROR_NO_DEVICE && code == ErrorCode::Driver)
    code = ErrorCode::NoDevice;
  return Status::error(code, message);
}

Status fd::rt::refuseCapture(const DriverApi &api, CUstream stream,
                             const std::string &what, std::string_view why) {
  CUstreamCaptureStatus capture = CU_STREAM_CAPTURE_STATUS_NONE;
  CUresult r = api.cuStreamIsCapturing(stream, &capture);
  if (r != CUDA_SUCCESS)
    return driverError(api, r, what + ": cuStreamIsCapturing");
  if (capture != CU_STREAM_CAPTURE_STATUS_NONE)
    return Status::error(ErrorCode::InvalidArgument,
                         what + ": the stream is capturing a CUDA graph, but " +
                             std::string(why));
  return Status::success();
}
