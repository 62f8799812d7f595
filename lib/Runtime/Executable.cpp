//===- Executable.cpp - A bundle bound to a device ------------------------===//

#include "fd/Runtime/Executable.h"
#include "fd/Runtime/Launch.h"

#include <cmath>
#include <cstring>

using namespace fd::rt;

Expected<std::shared_ptr<Executable>>
Executable::create(std::shared_ptr<Context> context,
                   std::shared_ptr<const Bundle> bundle) {
  if (!context || !bundle)
    return Status::error(ErrorCode::InvalidArgument,
                         "Executable::create needs a context and a bundle");
  std::shared_ptr<Executable> exe(new Executable());
  exe->context = std::move(context);
  exe->bundle = std::move(bundle);
  exe->modules.assign(exe->bundle->getModules().size(), nullptr);
  exe->entries.resize(exe->bundle->getEntries().size());
  return exe;
}

Executable::~Executable() {
  bool any = false;
  for (CUmodule module : modules)
    any |= module != nullptr;
  if (!any)
    return;
  // Unload errors are ignored: this may run at process exit, when the
  // driver has already torn the context down.
  ContextGuard guard(*context);
  for (CUmodule module : modules)
    if (module)
      (void)context->getDriver().cuModuleUnload(module);
}

Expected<CUmodule> Executable::getModule(size_t index) {
  std::lock_guard<std::mutex> lock(mutex);
  return getModuleLocked(index);
}

Expected<CUmodule> Executable::getModuleLocked(size_t index) {
  if (index >= modules.size())
    return Status::error(ErrorCode::InvalidArgument, "module index " +
                                                         std::to_string(index) +
                                                         " is out of range");
  if (modules[index])
    return modules[index];
  ContextGuard guard(*context);
  if (!guard.getStatus().ok())
    return guard.getStatus();
  Expected<CUmodule> module = loadModule(*context, bundle->getModules()[index]);
  if (!module)
    return module.getStatus();
  modules[index] = *module;
  return *module;
}

Expected<const BoundEntry *> Executable::bind(std::string_view name) {
  int index = bundle->findEntryIndex(name);
  if (index < 0) {
    std::string known;
    for (const EntrySpec &entry : bundle->getEntries())
      known += (known.empty() ? "" : ", ") + entry.name;
    return Status::error(ErrorCode::InvalidArgument,
                         "no entry named '" + std::string(name) +
                             "' in the bundle (entries: " + known + ")");
  }
  return bind(static_cast<size_t>(index));
}

Expected<const BoundEntry *> Executable::bind(size_t entryIndex) {
  std::lock_guard<std::mutex> lock(mutex);
  if (entryIndex >= entries.size())
    return Status::error(ErrorCode::InvalidArgument,
                         "entry index " + std::to_string(entryIndex) +
                             " is out of range (" +
                             std::to_string(entries.size()) + " entries)");
  if (entries[entryIndex])
    return entries[entryIndex].get();

  const EntrySpec &spec = bundle->getEntries()[entryIndex];
  std::unique_ptr<BoundEntry> bound(new BoundEntry());
  bound->spec = &spec;
  bound->context = context.get();
  for (size_t v = 0; v < getNumVariants(spec); ++v) {
    std::vector<CUfunction> functions;
    for (const KernelSpec &kernel : getVariant(spec, v).kernels) {
      Expected<CUmodule> module = getModuleLocked(kernel.moduleIndex);
      if (!module)
        return module.getStatus().withContext("binding entry '" + spec.name +
                                              "'");
      ContextGuard guard(*context);
      if (!guard.getStatus().ok())
        return guard.getStatus();
      Expected<KernelInfo> info = loadKernel(*context, *module, kernel);
      if (!info)
        return info.getStatus().withContext("binding entry '" + spec.name +
                                            "'");
      if (v == 0)
        bound->kernels.push_back(*info);
      if (functions.empty())
        bound->variantResidentCtas.push_back(info->residentCtasPerSm);
      functions.push_back(info->function);
    }
    if (functions.empty())
      bound->variantResidentCtas.push_back(0);
    bound->variantFunctions.push_back(std::move(functions));
  }
  bound->functions = bound->variantFunctions.front();
  entries[entryIndex] = std::move(bound);
  return entries[entryIndex].get();
}

/// Resident CTAs per SM of the entry's first kernel (the partial kernel,
/// whose grid the split count sizes); 0 if unknown.
static int64_t residentCtas(const std::vector<KernelInfo> &kernels) {
  return kernels.empty() ? 0 : kernels.front().residentCtasPerSm;
}

/// The launch variant for (batch, maxLen): the split decision needs the
/// split partial kernel's occupancy (variant 0's first kernel).
size_t BoundEntry::pickVariant(int64_t batch, int64_t maxLen) const {
  return chooseVariant(*spec, batch, maxLen, context->getSmCount(),
                       residentCtas(kernels));
}

Expected<Plan> BoundEntry::plan(int64_t batch, int64_t maxLen) const {
  size_t v = pickVariant(batch, maxLen);
  return fd::rt::plan(*spec, batch, maxLen, context->getSmCount(),
                      v == 0 ? residentCtas(kernels) : variantResidentCtas[v],
                      int(v));
}

Expected<Plan> BoundEntry::planForGraph(int64_t maxBatch,
                                        int64_t maxLen) const {
  size_t v = pickVariant(maxBatch, maxLen);
  return fd::rt::planForGraph(
      *spec, maxBatch, maxLen, context->getSmCount(),
      v == 0 ? residentCtas(kernels) : variantResidentCtas[v], int(v));
}

Expected<Plan> BoundEntry::planVariant(int64_t batch, int64_t maxLen,
                                       std::string_view variant,
                                       bool graphSafe) const {
  int index = findVariant(*spec, variant);
  if (index < 0) {
    std::string known;
    for (size_t v = 0; v < getNumVariants(*spec); ++v)
      known += (known.empty() ? "" : ", ") +
               ("'" + getVariant(*spec, v).variantName + "'");
    return Status::error(ErrorCode::InvalidArgument,
                         "entry '" + spec->name + "' has no launch variant '" +
                             std::string(variant) + "' (variants: " + known +
                             ")");
  }
  int64_t resident = variantResidentCtas[size_t(index)];
  return graphSafe
             ? fd::rt::planForGraph(*spec, batch, maxLen, context->getSmCount(),
                                    resident, index)
             : fd::rt::plan(*spec, batch, maxLen, context->getSmCount(),
                            resident, index);
}

/// The bits of \p x, for a 32-bit memset.
static unsigned floatBits(float x) {
  uint32_t bits;
  std::memcpy(&bits, &x, sizeof bits);
  return bits;
}

Status BoundEntry::initWorkspace(const Plan &plan, void *workspace,
                                 uint64_t workspaceBytes,
                                 CUstream stream) const {
  std::string what = "initWorkspace '" + spec->name + "'";
  if (workspaceBytes < plan.workspaceBytes || (!workspace && workspaceBytes))
    return Status::error(
        ErrorCode::InvalidArgument,
        what + ": the workspace is " + std::to_string(workspaceBytes) +
            " bytes, the plan needs " + std::to_string(plan.workspaceBytes));
  if (plan.workspaceBytes == 0)
    return Status::success();
  ContextGuard guard(*context);
  if (!guard.getStatus().ok())
    return guard.getStatus().withContext(what);
  const DriverApi &api = context->getDriver();
  CUresult r = api.cuMemsetD8Async(reinterpret_cast<CUdeviceptr>(workspace), 0,
                                   plan.workspaceBytes, stream);
  if (r != CUDA_SUCCESS)
    return driverError(api, r, what + ": cuMemsetD8Async");
  // A unified-max variant starts from the phi it was compiled with.
  if (Expected<uint64_t> phi = getPhiOffset(*spec, plan)) {
    r = api.cuMemsetD32Async(reinterpret_cast<CUdeviceptr>(workspace) + *phi,
                             floatBits(float(spec->softmax.phi)), 1, stream);
    if (r != CUDA_SUCCESS)
      return driverError(api, r, what + ": writing phi");
  }
  return Status::success();
}

/// The device address of the unified-max state at \p offset in \p
/// workspace, or an error prefixed by \p what (no such buffer in this
/// entry, null workspace).
static Expected<CUdeviceptr> stateAddress(Expected<uint64_t> offset,
                                          const void *workspace,
                                          const std::string &what) {
  if (!offset)
    return offset.getStatus().withContext(what);
  if (!workspace)
    return Status::error(ErrorCode::InvalidArgument,
                         what + ": the workspace pointer is null");
  return reinterpret_cast<CUdeviceptr>(workspace) + *offset;
}

/// Copies \p words u32 at \p address to \p host and waits for them.
static Status readWords(const Context &context, CUdeviceptr address,
                        uint32_t *host, size_t words, CUstream stream,
                        const std::string &what) {
  ContextGuard guard(context);
  if (!guard.getStatus().ok())
    return guard.getStatus().withContext(what);
  const DriverApi &api = context.getDriver();
  CUresult r = api.cuMemcpyDtoHAsync(host, address, words * 4, stream);
  if (r == CUDA_SUCCESS)
    r = api.cuStreamSynchronize(stream);
  if (r != CUDA_SUCCESS)
    return driverError(api, r, what + ": reading the workspace");
  return Status::success();
}

/// Sets \p words u32 at \p address to \p value (stream-ordered, a
/// graph-capturable memset).
static Status writeWords(const Context &context, CUdeviceptr address,
                         uint32_t value, size_t words, CUstream stream,
                         const std::string &what) {
  ContextGuard guard(context);
  if (!guard.getStatus().ok())
    return guard.getStatus().withContext(what);
  const DriverApi &api = context.getDriver();
  CUresult r = api.cuMemsetD32Async(address, value, words, stream);
  if (r != CUDA_SUCCESS)
    return driverError(api, r, what + ": cuMemsetD32Async");
  return Status::success();
}

Expected<uint32_t> BoundEntry::readFallbackCount(const Plan &plan,
                                                 const void *workspace,
                                                 CUstream stream) const {
  std::string what = "readFallbackCount '" + spec->name + "'";
  Expected<CUdeviceptr> counter =
      stateAddress(getFallbackCounterOffset(*spec, plan), workspace, what);
  if (!counter)
    return counter.getStatus();
  uint32_t count = 0;
  Status s = readWords(*context, *counter, &count, 1, stream, what);
  if (!s.ok())
    return s;
  return count;
}

Status BoundEntry::resetFallbackCount(const Plan &plan, void *workspace,
                                      CUstream stream) const {
  std::string what = "resetFallbackCount '" + spec->name + "'";
  Expected<CUdeviceptr> counter =
      stateAddress(getFallbackCounterOffset(*spec, plan), workspace, what);
  if (!counter)
    return counter.getStatus();
  return writeWords(*context, *counter, 0, 1, stream, what);
}

Status BoundEntry::setPhi(const Plan &plan, void *workspace, float phi,
                          CUstream stream) const {
  std::string what = "setPhi '" + spec->name + "'";
  if (!std::isfinite(phi))
    return Status::error(ErrorCode::InvalidArgument,
                         what + ": phi must be finite, got " +
                             std::to_string(phi));
  Expected<CUdeviceptr> address =
      stateAddress(getPhiOffset(*spec, plan), workspace, what);
  if (!address)
    return address.getStatus();
  return writeWords(*context, *address, floatBits(phi), 1, stream, what);
}

Expected<float> BoundEntry::readPhi(const Plan &plan, const void *workspace,
                                    CUstream stream) const {
  std::string what = "readPhi '" + spec->name + "'";
  Expected<CUdeviceptr> address =
      stateAddress(getPhiOffset(*spec, plan), workspace, what);
  if (!address)
    return address.getStatus();
  uint32_t bits = 0;
  Status s = readWords(*context, *address, &bits, 1, stream, what);
  if (!s.ok())
    return s;
  float phi;
  std::memcpy(&phi, &bits, sizeof phi);
  return phi;
}

Expected<ScoreStats> BoundEntry::readScoreStats(const Plan &plan,
                                                const void *workspace,
                                                CUstream stream) const {
  std::string what = "readScoreStats '" + spec->name + "'";
  Expected<CUdeviceptr> address =
      stateAddress(getScoreStatsOffset(*spec, plan), workspace, what);
  if (!address)
    return address.getStatus();
  uint32_t words[4] = {};
  Status s = readWords(*context, *address, words, 4, stream, what);
  if (!s.ok())
    return s;
  return decodeScoreStats(words);
}

Status BoundEntry::resetScoreStats(const Plan &plan, void *workspace,
                                   CUstream stream) const {
  std::string what = "resetScoreStats '" + spec->name + "'";
  Expected<CUdeviceptr> address =
      stateAddress(getScoreStatsOffset(*spec, plan), workspace, what);
  if (!address)
    return address.getStatus();
  return writeWords(*context, *address, 0, 4, stream, what);
}

Expected<RecentreDecision>
BoundEntry::recentrePhi(const Plan &plan, void *workspace, CUstream stream,
                        const RecentrePolicy &policy) const {
  if (!(policy.maxFallbackRate >= 0 && policy.maxFallbackRate <= 1))
    return Status::error(ErrorCode::InvalidArgument,
                         "recentrePhi '" + spec->name +
                             "': maxFallbackRate must be in [0, 1], got " +
                             std::to_string(policy.maxFallbackRate));
  Expected<float> phi = readPhi(plan, workspace, stream);
  if (!phi)
    return phi.getStatus().withContext("recentrePhi");
  Expected<ScoreStats> stats = readScoreStats(plan, workspace, stream);
  if (!stats)
    return stats.getStatus().withContext("recentrePhi");
  RecentreDecision d =
      decideRecentre(*stats, *phi, spec->softmax.threshold, policy);
  if (d.decided) {
    Status s = resetScoreStats(plan, workspace, stream);
    if (!s.ok())
      return s.withContext("recentrePhi");
  }
  if (d.changed) {
    Status s = setPhi(plan, workspace, float(d.newPhi), stream);
    if (!s.ok())
      return s.withContext("recentrePhi");
  }
  return d;
}

Status BoundEntry::run(const Plan &plan, const AttentionArgs &args,
                       void *workspace, uint64_t workspaceBytes,
                       CUstream stream) const {
  LaunchBindings bindings;
  Status prepared =
      prepareLaunch(*spec, plan, args, workspace, workspaceBytes, bindings);
  if (!prepared.ok())
    return prepared.withContext("run '" + spec->name + "'");
  ContextGuard guard(*context);
  if (!guard.getStatus().ok())
    return guard.getStatus().withContext("run '" + spec->name + "'");
  Status launched = launchKernels(context->getDriver(), *spec,
                                  variantFunctions[bindings.variant].data(),
                                  bindings, stream);
  if (!launched.ok())
    return launched.withContext("run '" + spec->name + "'");
  return Status::success();
}

Status BoundEntry::run(const Plan &plan, const AttentionArgs &args,
                       CUstream stream) const {
  std::string what = "run '" + spec->name + "'";
  // Check the arguments before allocating anything for them.
  Expected<ProblemShape> shape = validateAttentionArgs(*spec, plan, args);
  if (!shape)
    return shape.getStatus().withContext(what);
  const DriverApi &api = context->getDriver();
  ContextGuard guard(*context);
  if (!guard.getStatus().ok())
    return guard.getStatus().withContext(what);

  CUstreamCaptureStatus capture = CU_STREAM_CAPTURE_STATUS_NONE;
  CUresult r = api.cuStreamIsCapturing(stream, &capture);
  if (r != CUDA_SUCCESS)
    return driverError(api, r, what + ": cuStreamIsCapturing");
  if (capture != CU_STREAM_CAPTURE_STATUS_NONE)
    return Status::error(ErrorCode::InvalidArgument,
                         what + ": the stream is capturing a CUDA graph, but "
                                "run without a workspace allocates; pass a "
                                "workspace of plan.workspaceBytes instead");

  uint64_t bytes = plan.workspaceBytes;
  if (bytes == 0)
    return run(plan, args, nullptr, 0, stream);

  CUdeviceptr workspace = 0;
  if (context->hasMemoryPools()) {
    // Stream-ordered: no host synchronisation, the memory is reused by the
    // pool once the kernels are done.
    if ((r = api.cuMemAllocAsync(&workspace, bytes, stream)) != CUDA_SUCCESS)
      return driverError(api, r,
                         what + ": cuMemAllocAsync(" + std::to_string(bytes) +
                             " bytes)");
    Status status = Status::success();
    if (getVariant(*spec, plan.variant).workspaceZeroInit)
      status = initWorkspace(plan, reinterpret_cast<void *>(workspace), bytes,
                             stream);
    if (status.ok())
      status =
          run(plan, args, reinterpret_cast<void *>(workspace), bytes, stream);
    r = api.cuMemFreeAsync(workspace, stream);
    if (!status.ok())
      return status;
    if (r != CUDA_SUCCESS)
      return driverError(api, r, what + ": cuMemFreeAsync");
    return Status::success();
  }

  if ((r = api.cuMemAlloc(&workspace, bytes)) != CUDA_SUCCESS)
    return driverError(
        api, r, what + ": cuMemAlloc(" + std::to_string(bytes) + " bytes)");
  Status status = Status::success();
  if (getVariant(*spec, plan.variant).workspaceZeroInit)
    status =
        initWorkspace(plan, reinterpret_cast<void *>(workspace), bytes, stream);
  if (status.ok())
    status =
        run(plan, args, reinterpret_cast<void *>(workspace), bytes, stream);
  // Kernels enqueued so far (all of them, or those before a failed launch)
  // may still be using the memory; wait before freeing it.
  CUresult sync = api.cuStreamSynchronize(stream);
  r = api.cuMemFree(workspace);
  if (!status.ok())
    return status;
  if (sync != CUDA_SUCCESS)
    return driverError(api, sync, what + ": cuStreamSynchronize");
  if (r != CUDA_SUCCESS)
    return driverError(api, r, what + ": cuMemFree");
  return Status::success();
}
