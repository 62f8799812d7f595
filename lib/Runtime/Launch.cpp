//===- Launch.cpp - Kernel parameter packing and launching ----------------===//

#include "fd/Runtime/Launch.h"

#include <atomic>
#include <cstdlib>
#include <cstring>

using namespace fd::rt;

void KernelParams::pushU64(uint64_t value) {
  if (count == slots.size()) {
    overflow = true;
    return;
  }
  slots[count++] = value;
}

void KernelParams::pushI32(int32_t value) {
  uint64_t slot = 0;
  std::memcpy(&slot, &value, sizeof(value));
  pushU64(slot);
}

void KernelParams::pushF32(float value) {
  uint64_t slot = 0;
  std::memcpy(&slot, &value, sizeof(value));
  pushU64(slot);
}

void KernelParams::pushF64(double value) {
  uint64_t slot = 0;
  std::memcpy(&slot, &value, sizeof(value));
  pushU64(slot);
}

void KernelParams::pushMemref(uint64_t pointer, int rank, const int64_t *sizes,
                              const int64_t *strides) {
  pushU64(pointer); // allocated
  pushU64(pointer); // aligned
  pushI64(0);       // offset
  for (int i = 0; i < rank; ++i)
    pushI64(sizes[i]);
  for (int i = 0; i < rank; ++i)
    pushI64(strides[i]);
}

void **KernelParams::getPointers() {
  for (size_t i = 0; i < count; ++i)
    pointers[i] = &slots[i];
  return pointers.data();
}

Status fd::rt::prepareLaunch(const EntrySpec &entry, const Plan &plan,
                             const AttentionArgs &args, void *workspace,
                             uint64_t workspaceBytes,
                             LaunchBindings &bindings) {
  if (plan.variant < 0 ||
      plan.variant >= static_cast<int>(entry.variants.size()))
    return Status::error(ErrorCode::InvalidArgument,
                         "plan variant " + std::to_string(plan.variant) +
                             " is out of range for entry '" + entry.name + "'");
  const VariantSpec &variant = entry.variants[plan.variant];
  bindings.variant = plan.variant;
  Expected<ProblemShape> shape = validateAttentionArgs(entry, plan, args);
  if (!shape)
    return shape.getStatus();
  bindings.args = &args;
  bindings.scale = entry.scale;
  bindings.symbols = getSymbolValues(entry, shape->batch, plan.numSplits,
                                     plan.chunk, shape->cacheLen);
  // Laid out for the actual batch: B in the workspace shapes is the batch of
  // the buffers, like everywhere else. It never exceeds the plan's size.
  Expected<WorkspaceLayout> layout = layoutWorkspace(variant, bindings.symbols);
  if (!layout)
    return layout.getStatus();
  bindings.layout = *layout;
  bindings.workspace = reinterpret_cast<uintptr_t>(workspace);
  uint64_t needed = layout->totalBytes;
  if (needed > 0 && !workspace)
    return Status::error(ErrorCode::InvalidArgument,
                         "workspace pointer is null but the plan needs " +
                             std::to_string(needed) + " bytes");
  if (workspaceBytes < needed)
    return Status::error(ErrorCode::InvalidArgument,
                         "workspace is " + std::to_string(workspaceBytes) +
                             " bytes, the plan needs " +
                             std::to_string(needed) +
                             " (Plan::workspaceBytes)");
  if (bindings.workspace % kWorkspaceAlignment != 0)
    return Status::error(ErrorCode::InvalidArgument,
                         "workspace pointer is not " +
                             std::to_string(kWorkspaceAlignment) +
                             "-byte aligned (cuMemAlloc memory is)");

  // Each buffer is contiguous row-major over its shape at its offset.
  for (size_t i = 0; i < variant.workspace.size(); ++i) {
    const WorkspaceSpec &spec = variant.workspace[i];
    WorkspaceMemref &buffer = bindings.buffers[i];
    buffer.pointer = bindings.workspace + layout->offsets[i];
    buffer.rank = static_cast<int>(spec.shape.size());
    int64_t stride = 1;
    for (int d = buffer.rank - 1; d >= 0; --d) {
      buffer.sizes[d] = bindings.symbols.evaluate(spec.shape[d]);
      buffer.strides[d] = stride;
      stride *= buffer.sizes[d];
    }
  }
  return Status::success();
}

Status fd::rt::packKernelParams(const KernelSpec &kernel,
                                const LaunchBindings &bindings,
                                KernelParams &params) {
  params.clear();
  const AttentionArgs &args = *bindings.args;
  for (const ArgSpec &arg : kernel.args) {
    if (arg.kind == ArgSpec::Kind::Scalar) {
      bool isScale = arg.source == ArgSource::Scale;
      double real = isScale ? bindings.scale : 0;
      int64_t integer = isScale ? 0 : bindings.symbols.get(arg.symbol);
      switch (arg.elem) {
      case DType::I64:
        params.pushI64(integer);
        break;
      case DType::I32:
        if (integer < INT32_MIN || integer > INT32_MAX)
          return Status::error(ErrorCode::InvalidArgument,
                               "kernel '" + kernel.symbol + "': scalar '" +
                                   arg.bind + "' = " + std::to_string(integer) +
                                   " does not fit its i32 parameter");
        params.pushI32(static_cast<int32_t>(integer));
        break;
      case DType::F32:
        params.pushF32(isScale ? float(real) : float(integer));
        break;
      case DType::F64:
        params.pushF64(isScale ? real : double(integer));
        break;
      default:
        return Status::error(ErrorCode::Internal, "bad scalar type");
      }
      continue;
    }

    const TensorRef *tensor = nullptr;
    switch (arg.source) {
    case ArgSource::Q:
      tensor = &args.q;
      break;
    case ArgSource::K:
      tensor = &args.k;
      break;
    case ArgSource::V:
      tensor = &args.v;
      break;
    case ArgSource::Lens:
      tensor = &args.lens;
      break;
    case ArgSource::Out:
      tensor = &args.out;
      break;
    case ArgSource::BlockTable:
      tensor = &args.blockTable;
      break;
    case ArgSource::Lse:
      tensor = &args.lse;
      break;
    case ArgSource::PageIndptr:
      tensor = &args.pageIndptr;
      break;
    case ArgSource::Workspace: {
      const WorkspaceMemref &buffer = bindings.buffers[arg.workspaceIndex];
      params.pushMemref(buffer.pointer, buffer.rank, buffer.sizes,
                        buffer.strides);
      continue;
    }
    default:
      return Status::error(ErrorCode::Internal,
                           "memref '" + arg.bind + "' has no binding");
    }
    params.pushMemref(reinterpret_cast<uintptr_t>(tensor->data), tensor->rank,
                      tensor->sizes, tensor->strides);
  }
  if (params.hasOverflowed())
    return Status::error(ErrorCode::Internal, "too many kernel parameters");
  return Status::success();
}

static std::atomic<bool> &programmaticLaunch() {
  static std::atomic<bool> enabled{[] {
    const char *env = std::getenv("FD_PDL");
    return !(env && std::strcmp(env, "0") == 0);
  }()};
  return enabled;
}

void fd::rt::setProgrammaticLaunch(bool enabled) {
  programmaticLaunch().store(enabled);
}

bool fd::rt::isProgrammaticLaunchEnabled() {
  return programmaticLaunch().load();
}

Status fd::rt::launchKernel(const DriverApi &api, CUfunction function,
                            const KernelSpec &kernel,
                            const std::array<uint32_t, 3> &grid,
                            CUstream stream, void **params) {
  CUresult r;
  const bool pdl = kernel.pdl && isProgrammaticLaunchEnabled();
  // A clustered kernel's PTX fixes its cluster shape (.reqnctapercluster),
  // so a plain launch clusters it too; the attribute only says so again.
  if ((pdl || kernel.hasCluster()) && api.cuLaunchKernelEx) {
    CUlaunchAttribute attributes[2] = {};
    unsigned count = 0;
    if (pdl) {
      attributes[count].id =
          CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION;
      attributes[count++].value.programmaticStreamSerializationAllowed = 1;
    }
    if (kernel.hasCluster()) {
      attributes[count].id = CU_LAUNCH_ATTRIBUTE_CLUSTER_DIMENSION;
      attributes[count].value.clusterDim.x = kernel.cluster[0];
      attributes[count].value.clusterDim.y = kernel.cluster[1];
      attributes[count++].value.clusterDim.z = kernel.cluster[2];
    }
    CUlaunchConfig config = {};
    config.gridDimX = grid[0];
    config.gridDimY = grid[1];
    config.gridDimZ = grid[2];
    config.blockDimX = kernel.block[0];
    config.blockDimY = kernel.block[1];
    config.blockDimZ = kernel.block[2];
    config.sharedMemBytes = static_cast<unsigned>(kernel.dynamicSmem);
    config.hStream = stream;
    config.attrs = attributes;
    config.numAttrs = count;
    r = api.cuLaunchKernelEx(&config, function, params, nullptr);
    if (r != CUDA_SUCCESS)
      return driverError(api, r, "cuLaunchKernelEx(" + kernel.symbol + ")");
    return Status::success();
  }
  r = api.cuLaunchKernel(function, grid[0], grid[1], grid[2], kernel.block[0],
                         kernel.block[1], kernel.block[2],
                         static_cast<unsigned>(kernel.dynamicSmem), stream,
                         params, nullptr);
  if (r != CUDA_SUCCESS)
    return driverError(api, r, "cuLaunchKernel(" + kernel.symbol + ")");
  return Status::success();
}

Status fd::rt::launchKernels(const DriverApi &api, const EntrySpec &entry,
                             const CUfunction *functions,
                             const LaunchBindings &bindings, CUstream stream) {
  const VariantSpec &variant = entry.variants[bindings.variant];
  // An empty batch is a valid step with nothing to do; a zero grid extent
  // would be an error from the driver.
  if (bindings.symbols.get(Symbol::B) == 0)
    return Status::success();
  KernelParams params;
  for (size_t i = 0; i < variant.kernels.size(); ++i) {
    const KernelSpec &kernel = variant.kernels[i];
    Expected<std::array<uint32_t, 3>> grid =
        evaluateGrid(kernel, bindings.symbols);
    if (!grid)
      return grid.getStatus();
    Status packed = packKernelParams(kernel, bindings, params);
    if (!packed.ok())
      return packed;
    Status launched = launchKernel(api, functions[i], kernel, *grid, stream,
                                   params.getPointers());
    if (!launched.ok())
      return launched;
  }
  return Status::success();
}
