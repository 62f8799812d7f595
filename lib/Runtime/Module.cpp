//===- Module.cpp - Loading PTX modules and their kernels -----------------===//

#include "fd/Runtime/Module.h"

#include <cstdint>
#include <vector>

using namespace fd::rt;

/// Shared memory a block may use without opting in.
static constexpr int kDefaultSharedLimit = 48 * 1024;

Expected<CUmodule> fd::rt::loadModule(const Context &context,
                                      const ModuleSpec &module) {
  // Checked before the JIT, whose own message for this case is a terse
  // CUDA_ERROR_NO_BINARY_FOR_GPU or INVALID_PTX.
  Status chip =
      checkChipCompatible(module, context.getCcMajor(), context.getCcMinor());
  if (!chip.ok())
    return chip;

  const DriverApi &api = context.getDriver();
  std::vector<char> errorLog(16 * 1024, '\0');
  CUjit_option options[] = {CU_JIT_ERROR_LOG_BUFFER,
                            CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES};
  void *values[] = {errorLog.data(),
                    reinterpret_cast<void *>(uintptr_t(errorLog.size() - 1))};
  CUmodule handle = nullptr;
  CUresult r =
      api.cuModuleLoadDataEx(&handle, module.ptx.c_str(), 2, options, values);
  if (r != CUDA_SUCCESS) {
    Status status =
        driverError(api, r,
                    "cuModuleLoadDataEx(" + module.name + ", " + module.chip +
                        " on " + context.getChip() + ")");
    std::string log(errorLog.data());
    if (!log.empty())
      status = Status::error(status.getCode(),
                             status.getMessage() + "\nJIT error log:\n" + log);
    return status;
  }
  return handle;
}

Expected<KernelInfo> fd::rt::loadKernel(const Context &context, CUmodule module,
                                        const KernelSpec &kernel) {
  const DriverApi &api = context.getDriver();
  KernelInfo info;
  CUresult r =
      api.cuModuleGetFunction(&info.function, module, kernel.symbol.c_str());
  if (r != CUDA_SUCCESS)
    return driverError(api, r,
                       "cuModuleGetFunction(" + kernel.symbol + " in module " +
                           kernel.module + ")");
  struct {
    CUfunction_attribute attribute;
    const char *label;
    int *value;
  } attributes[] = {
      {CU_FUNC_ATTRIBUTE_NUM_REGS, "NUM_REGS", &info.numRegs},
      {CU_FUNC_ATTRIBUTE_LOCAL_SIZE_BYTES, "LOCAL_SIZE_BYTES",
       &info.localBytes},
      {CU_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES, "SHARED_SIZE_BYTES",
       &info.staticSharedBytes},
      {CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK, "MAX_THREADS_PER_BLOCK",
       &info.maxThreadsPerBlock},
  };
  for (auto &a : attributes)
    if ((r = api.cuFuncGetAttribute(a.value, a.attribute, info.function)) !=
        CUDA_SUCCESS)
      return driverError(
          api, r, "cuFuncGetAttribute(" + kernel.symbol + ", " + a.label + ")");

  // Register pressure can lower the per-kernel thread limit below what the
  // manifest's block needs; better said here than as a launch failure.
  int threads = int(kernel.block[0] * kernel.block[1] * kernel.block[2]);
  if (threads > info.maxThreadsPerBlock)
    return Status::error(
        ErrorCode::Unsupported,
        "kernel '" + kernel.symbol + "': block of " + std::to_string(threads) +
            " threads exceeds its limit of " +
            std::to_string(info.maxThreadsPerBlock) + " (" +
            std::to_string(info.numRegs) + " registers per thread)");

  int64_t shared = info.staticSharedBytes + kernel.dynamicSmem;
  if (shared > context.getMaxSharedPerBlockOptin())
    return Status::error(
        ErrorCode::Unsupported,
        "kernel '" + kernel.symbol + "' needs " + std::to_string(shared) +
            " bytes of shared memory (" +
            std::to_string(info.staticSharedBytes) + " static + " +
            std::to_string(kernel.dynamicSmem) + " dynamic), more than the " +
            std::to_string(context.getMaxSharedPerBlockOptin()) +
            " a block of device " + context.getName() + " may use");
  if (kernel.dynamicSmem > 0 && shared > kDefaultSharedLimit) {
    r = api.cuFuncSetAttribute(info.function,
                               CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
                               static_cast<int>(kernel.dynamicSmem));
    if (r != CUDA_SUCCESS)
      return driverError(api, r,
                         "cuFuncSetAttribute(" + kernel.symbol +
                             ", MAX_DYNAMIC_SHARED_SIZE_BYTES = " +
                             std::to_string(kernel.dynamicSmem) + ")");
  }
  // A cluster above sm_90's portable size launches only once the kernel
  // allows it (split_cluster with cluster-splits > 8).
  int64_t clusterCtas =
      int64_t(kernel.cluster[0]) * kernel.cluster[1] * kernel.cluster[2];
  if (clusterCtas > fdb::kMaxPortableClusterCtas) {
    r = api.cuFuncSetAttribute(
        info.function, CU_FUNC_ATTRIBUTE_NON_PORTABLE_CLUSTER_SIZE_ALLOWED, 1);
    if (r != CUDA_SUCCESS)
      return driverError(api, r,
                         "cuFuncSetAttribute(" + kernel.symbol +
                             ", NON_PORTABLE_CLUSTER_SIZE_ALLOWED) for a "
                             "cluster of " +
                             std::to_string(clusterCtas) + " CTAs");
  }
  // After raising the dynamic shared memory limit: before it, a kernel that
  // needs more than the default 48 KB counts as never resident (0), and the
  // planner would size the split for the wrong occupancy.
  if ((r = api.cuOccupancyMaxActiveBlocksPerMultiprocessor(
           &info.residentCtasPerSm, info.function, threads,
           size_t(kernel.dynamicSmem))) != CUDA_SUCCESS)
    return driverError(api, r,
                       "cuOccupancyMaxActiveBlocksPerMultiprocessor(" +
                           kernel.symbol + ")");
  if (info.residentCtasPerSm < 1)
    return Status::error(ErrorCode::Unsupported,
                         "kernel '" + kernel.symbol +
                             "' cannot be resident on device " +
                             context.getName() + " (" +
                             std::to_string(info.numRegs) + " registers, " +
                             std::to_string(shared) +
                             " bytes of shared memory per block)");
  return info;
}
