//===- Executable.cpp - A bundle bound to a device ------------------------===//

#include "fd/Runtime/Executable.h"
#include "fd/Runtime/ShippedVariantTables.h"

#include "PageCheck.h"
#include "fd/Runtime/Launch.h"

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
  // Variant choices measured on this device, where fd ships them; the
  // caller may set another table or none (the built-in rules).
  exe->tableSlot->table = getShippedVariantTable(exe->context->getName());
  return exe;
}

Executable::~Executable() {
  bool any = pageCheckModule != nullptr;
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
  if (pageCheckModule)
    (void)context->getDriver().cuModuleUnload(pageCheckModule);
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
  bound->tableSlot = tableSlot;
  // Each launch variant's kernel sequence; a flat_gemm entry has one list,
  // its GEMM kernels (one launched per call), a merge_states entry one
  // list of its one kernel.
  std::vector<const std::vector<KernelSpec> *> kernelLists;
  if (spec.op == OpKind::FlatGemm)
    kernelLists.push_back(&spec.gemm.kernels);
  if (spec.op == OpKind::MergeStates)
    kernelLists.push_back(&spec.merge.kernels);
  for (const VariantSpec &variant : spec.variants)
    kernelLists.push_back(&variant.kernels);
  for (const std::vector<KernelSpec> *list : kernelLists) {
    std::vector<KernelInfo> infos;
    std::vector<CUfunction> functions;
    for (const KernelSpec &kernel : *list) {
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
      infos.push_back(*info);
      functions.push_back(info->function);
    }
    // The first kernel is the one whose grid the split count sizes.
    bound->residentCtasPerSm.push_back(
        infos.empty() ? 0 : infos.front().residentCtasPerSm);
    bound->kernels.push_back(std::move(infos));
    bound->functions.push_back(std::move(functions));
  }
  if (spec.pageSize > 0) {
    ContextGuard guard(*context);
    if (!guard.getStatus().ok())
      return guard.getStatus();
    if (!pageCheckModule) {
      Expected<CUmodule> module = loadModule(*context, getPageCheckModule());
      if (!module)
        return module.getStatus().withContext("binding entry '" + spec.name +
                                              "' (block-table check)");
      pageCheckModule = *module;
    }
    CUresult r = context->getDriver().cuModuleGetFunction(
        &bound->pageCheck, pageCheckModule, kPageCheckKernel);
    if (r != CUDA_SUCCESS)
      return driverError(context->getDriver(), r,
                         "binding entry '" + spec.name +
                             "': cuModuleGetFunction(fd_check_pages)");
  }
  entries[entryIndex] = std::move(bound);
  return entries[entryIndex].get();
}

PlanRequest BoundEntry::makePlanRequest(int64_t batch, int64_t maxLen,
                                        bool graphSafe, int variant) const {
  PlanRequest request;
  request.batch = batch;
  request.maxLen = maxLen;
  request.smCount = context->getSmCount();
  request.residentCtasPerSm = residentCtasPerSm;
  request.variant = variant;
  request.graphSafe = graphSafe;
  if (tableSlot) {
    std::lock_guard<std::mutex> lock(tableSlot->mutex);
    request.variantTable = tableSlot->table;
  }
  return request;
}

std::shared_ptr<const VariantTable> Executable::getVariantTable() const {
  std::lock_guard<std::mutex> lock(tableSlot->mutex);
  return tableSlot->table;
}

void Executable::setVariantTable(std::shared_ptr<const VariantTable> table) {
  std::lock_guard<std::mutex> lock(tableSlot->mutex);
  tableSlot->table = std::move(table);
}

Expected<Plan> BoundEntry::plan(int64_t batch, int64_t maxLen,
                                int64_t totalTokens) const {
  PlanRequest request = makePlanRequest(batch, maxLen);
  request.totalTokens = totalTokens;
  return fd::rt::plan(*spec, request);
}

Expected<Plan> BoundEntry::planForGraph(int64_t maxBatch, int64_t maxLen,
                                        int64_t totalTokens) const {
  PlanRequest request = makePlanRequest(maxBatch, maxLen, /*graphSafe=*/true);
  request.totalTokens = totalTokens;
  return fd::rt::plan(*spec, request);
}

Expected<Plan> BoundEntry::planVariant(int64_t batch, int64_t maxLen,
                                       std::string_view variant,
                                       bool graphSafe) const {
  int index = spec->findVariant(variant);
  if (index < 0) {
    std::string known;
    for (const VariantSpec &v : spec->variants)
      known += (known.empty() ? "" : ", ") + ("'" + v.name + "'");
    return Status::error(ErrorCode::InvalidArgument,
                         "entry '" + spec->name + "' has no launch variant '" +
                             std::string(variant) + "' (variants: " + known +
                             ")");
  }
  return fd::rt::plan(*spec, makePlanRequest(batch, maxLen, graphSafe, index));
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

Status BoundEntry::checkPages(const Plan &plan, const AttentionArgs &args,
                              CUstream stream) const {
  std::string what = "checkPages '" + spec->name + "'";
  if (!pageCheck)
    return Status::error(ErrorCode::InvalidArgument,
                         what + ": the entry takes no block table (not a "
                                "paged cache)");
  Expected<ProblemShape> shape = validateAttentionArgs(*spec, plan, args);
  if (!shape)
    return shape.getStatus().withContext(what);
  ContextGuard guard(*context);
  if (!guard.getStatus().ok())
    return guard.getStatus().withContext(what);
  return checkPagesOnDevice(*context, pageCheck, *spec, args, stream);
}

Status BoundEntry::run(const Plan &plan, const AttentionArgs &args,
                       void *workspace, uint64_t workspaceBytes,
                       CUstream stream) const {
  LaunchBindings bindings;
  Status prepared =
      prepareLaunch(*spec, plan, args, workspace, workspaceBytes, bindings);
  if (!prepared.ok())
    return prepared.withContext("run '" + spec->name + "'");
  if (pageCheck && isPageCheckRequested()) {
    Status checked = checkPages(plan, args, stream);
    if (!checked.ok())
      return checked.withContext("run '" + spec->name + "' (FD_CHECK_PAGES=1)");
  }
  ContextGuard guard(*context);
  if (!guard.getStatus().ok())
    return guard.getStatus().withContext("run '" + spec->name + "'");
  Status launched =
      launchKernels(context->getDriver(), *spec,
                    functions[bindings.variant].data(), bindings, stream);
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
  if (plan.variant < 0 ||
      plan.variant >= static_cast<int>(spec->variants.size()))
    return Status::error(ErrorCode::InvalidArgument,
                         what + ": plan variant " +
                             std::to_string(plan.variant) + " is out of range");
  bool zeroInit = spec->variants[plan.variant].workspaceZeroInit;
  const DriverApi &api = context->getDriver();
  ContextGuard guard(*context);
  if (!guard.getStatus().ok())
    return guard.getStatus().withContext(what);

  Status capturable = refuseCapture(
      api, stream, what,
      "run without a workspace allocates; pass a workspace of "
      "plan.workspaceBytes instead");
  if (!capturable.ok())
    return capturable;

  uint64_t bytes = plan.workspaceBytes;
  if (bytes == 0)
    return run(plan, args, nullptr, 0, stream);

  CUdeviceptr workspace = 0;
  CUresult r = CUDA_SUCCESS;
  if (context->hasMemoryPools()) {
    // Stream-ordered: no host synchronisation, the memory is reused by the
    // pool once the kernels are done.
    if ((r = api.cuMemAllocAsync(&workspace, bytes, stream)) != CUDA_SUCCESS)
      return driverError(api, r,
                         what + ": cuMemAllocAsync(" + std::to_string(bytes) +
                             " bytes)");
    Status status = Status::success();
    if (zeroInit)
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
  if (zeroInit)
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
