//===- Context.cpp - A device and its primary context ---------------------===//

#include "fd/Runtime/Context.h"
#include "fd/Runtime/Cublas.h"

using namespace fd::rt;

Expected<std::shared_ptr<Context>> Context::create(int ordinal) {
  Expected<const DriverApi *> driver = fd::rt::getDriver();
  if (!driver)
    return driver.getStatus();
  const DriverApi &api = **driver;

  int count = 0;
  CUresult r = api.cuDeviceGetCount(&count);
  if (r != CUDA_SUCCESS)
    return driverError(api, r, "cuDeviceGetCount", ErrorCode::NoDevice);
  if (count == 0)
    return Status::error(ErrorCode::NoDevice, "no CUDA device found");
  if (ordinal < 0 || ordinal >= count)
    return Status::error(ErrorCode::InvalidArgument,
                         "device " + std::to_string(ordinal) +
                             " does not exist (" + std::to_string(count) +
                             " device" + (count == 1 ? "" : "s") + ")");

  std::shared_ptr<Context> ctx(new Context());
  ctx->api = &api;
  ctx->ordinal = ordinal;
  std::string what = "device " + std::to_string(ordinal) + ": ";
  if ((r = api.cuDeviceGet(&ctx->device, ordinal)) != CUDA_SUCCESS)
    return driverError(api, r, what + "cuDeviceGet");

  char name[256] = {};
  if ((r = api.cuDeviceGetName(name, sizeof(name) - 1, ctx->device)) !=
      CUDA_SUCCESS)
    return driverError(api, r, what + "cuDeviceGetName");
  ctx->name = name;

  struct {
    CUdevice_attribute attribute;
    const char *label;
    int *value;
  } attributes[] = {
      {CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, "MULTIPROCESSOR_COUNT",
       &ctx->smCount},
      {CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, "COMPUTE_CAPABILITY_MAJOR",
       &ctx->ccMajor},
      {CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, "COMPUTE_CAPABILITY_MINOR",
       &ctx->ccMinor},
      {CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN,
       "MAX_SHARED_MEMORY_PER_BLOCK_OPTIN", &ctx->maxSharedOptin},
  };
  for (auto &a : attributes)
    if ((r = api.cuDeviceGetAttribute(a.value, a.attribute, ctx->device)) !=
        CUDA_SUCCESS)
      return driverError(api, r,
                         what + "cuDeviceGetAttribute(" + a.label + ")");
  int pools = 0;
  // Older drivers may not know the attribute; treat that as "no pools".
  if (api.cuMemAllocAsync && api.cuMemFreeAsync &&
      api.cuDeviceGetAttribute(&pools,
                               CU_DEVICE_ATTRIBUTE_MEMORY_POOLS_SUPPORTED,
                               ctx->device) == CUDA_SUCCESS)
    ctx->memoryPools = pools != 0;

  if ((r = api.cuDevicePrimaryCtxRetain(&ctx->context, ctx->device)) !=
      CUDA_SUCCESS) {
    ctx->context = nullptr;
    return driverError(api, r, what + "cuDevicePrimaryCtxRetain");
  }
  return ctx;
}

Context::~Context() {
  // Errors are ignored: at process exit the driver may already be shutting
  // down (CUDA_ERROR_DEINITIALIZED) and there is nobody to report to.
  if (cublas && context) {
    // cublasDestroy and cuMemFree act on the current context.
    ContextGuard guard(*this);
    if (guard.getStatus().ok())
      cublas.reset();
    else
      (void)cublas.release(); // leaked: destroying it in another context
                              // would be worse
  }
  if (context)
    (void)api->cuDevicePrimaryCtxRelease(device);
}

Expected<CublasHandle *> Context::getCublas() const {
  std::lock_guard<std::mutex> lock(cublasMutex);
  if (cublasTried)
    return cublas ? Expected<CublasHandle *>(cublas.get())
                  : Expected<CublasHandle *>(cublasStatus);
  cublasTried = true;
  Expected<const CublasApi *> library = fd::rt::getCublas();
  if (!library) {
    cublasStatus = library.getStatus();
    return cublasStatus;
  }
  ContextGuard guard(*this);
  if (!guard.getStatus().ok()) {
    cublasStatus = guard.getStatus();
    return cublasStatus;
  }
  Expected<std::unique_ptr<CublasHandle>> handle =
      CublasHandle::create(**library, *api);
  if (!handle) {
    cublasStatus = handle.getStatus();
    return cublasStatus;
  }
  cublas = handle.take();
  return cublas.get();
}

std::string Context::getChip() const {
  return "sm_" + std::to_string(ccMajor) + std::to_string(ccMinor);
}

ContextGuard::ContextGuard(const Context &context) : api(context.getDriver()) {
  CUresult r = api.cuCtxPushCurrent(context.getContext());
  if (r != CUDA_SUCCESS)
    status = driverError(api, r, "cuCtxPushCurrent");
  else
    pushed = true;
}

ContextGuard::~ContextGuard() {
  if (pushed) {
    CUcontext popped = nullptr;
    (void)api.cuCtxPopCurrent(&popped);
  }
}
