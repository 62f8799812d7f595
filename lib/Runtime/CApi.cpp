//===- CApi.cpp - C API of the fd runtime ---------------------------------===//

#include "fd/Runtime/Bundle.h"
#include "fd/Runtime/Communicator.h"
#include "fd/Runtime/Executable.h"
#include "fd/Runtime/FlatGemm.h"
#include "fd/Runtime/MergeStates.h"
#include "fd/Runtime/Planner.h"
#include "fd/Runtime/ShardedDecode.h"
#include "fd/Runtime/ShippedDispatchTables.h"
#include "fd/Runtime/ShippedVariantTables.h"
#include "fd/Runtime/UnifiedMaxState.h"
#include "fd/Runtime/VariantTable.h"
#include "fd/Runtime/fd_runtime.h"

#include <cstddef>
#include <exception>
#include <new>
#include <cstring>
#include <string>

using namespace fd::rt;
namespace binding = fdb::binding;

/// The launch variants the C API reports for \p entry: its variants, or,
/// for a flat_gemm entry (whose GEMM kernels are chosen per call, not
/// variants) and a merge_states entry (one kernel), one unnamed.
static int32_t getNumVariants(const EntrySpec &entry) {
  return entry.op != OpKind::DecodeAttention
             ? 1
             : static_cast<int32_t>(entry.variants.size());
}
static const char *getVariantName(const EntrySpec &entry, int32_t variant) {
  return entry.op != OpKind::DecodeAttention
             ? ""
             : entry.variants[variant].name.c_str();
}

struct fd_bundle {
  std::shared_ptr<const Bundle> bundle;
};

struct fd_executable {
  std::shared_ptr<Executable> executable;
};
struct fd_dispatch_table {
  DispatchTable table;
};
struct fd_variant_table {
  std::shared_ptr<const VariantTable> table;
};
struct fd_communicator {
  std::shared_ptr<Communicator> communicator;
};
struct fd_sharded_decode {
  /// Kept alive: the sharded decode's bound entries live in it.
  std::shared_ptr<Executable> executable;
  std::unique_ptr<ShardedDecode> sharded;
  int32_t attentionEntry = -1;
};
static_assert(sizeof(fd_nccl_unique_id) == sizeof(nccl::UniqueId),
              "fd_nccl_unique_id is NCCL's ncclUniqueId");

static_assert(sizeof(fd_tensor) == sizeof(TensorRef) &&
                  offsetof(fd_tensor, sizes) == offsetof(TensorRef, sizes),
              "fd_tensor and TensorRef must stay layout-compatible");

static thread_local std::string lastError;

static int report(const Status &status) {
  if (!status.ok())
    lastError = status.getMessage();
  return static_cast<int>(status.getCode());
}

/// Runs \p body, turning an escaping exception (only std::bad_alloc can
/// come out of the runtime) into a status: nothing may unwind into C.
template <typename Body> static int guarded(const char *function, Body body) {
  try {
    return report(body());
  } catch (const std::bad_alloc &) {
    lastError = std::string(function) + ": out of host memory";
  } catch (const std::exception &e) {
    lastError = std::string(function) + ": internal error: " + e.what();
  } catch (...) {
    lastError = std::string(function) + ": internal error";
  }
  return FD_ERROR_INTERNAL;
}

static Status nullArgument(const char *function, const char *name) {
  return Status::error(ErrorCode::InvalidArgument,
                       std::string(function) + ": '" + name + "' is NULL");
}

static Status checkEntry(const Bundle &bundle, int32_t entry) {
  if (entry < 0 || size_t(entry) >= bundle.getEntries().size())
    return Status::error(
        ErrorCode::InvalidArgument,
        "entry index " + std::to_string(entry) + " is out of range (" +
            std::to_string(bundle.getEntries().size()) + " entries)");
  return Status::success();
}

static void toCPlan(const Plan &plan, int32_t entry, fd_plan *out) {
  out->entry = entry;
  out->graph_safe = plan.graphSafe ? 1 : 0;
  out->batch = plan.batch;
  out->max_len = plan.maxLen;
  out->sm_count = plan.smCount;
  out->num_splits = plan.numSplits;
  out->chunk = plan.chunk;
  out->workspace_bytes = plan.workspaceBytes;
  out->variant = plan.variant;
  out->reserved = 0;
}

/// The C++ plan of a C plan, recomputed rather than trusted: makePlan
/// re-checks S and chunk and recomputes grids and the workspace layout.
static Expected<Plan> rebuildPlan(const Bundle &bundle, const fd_plan &plan) {
  Status valid = checkEntry(bundle, plan.entry);
  if (!valid.ok())
    return valid;
  const EntrySpec &spec = bundle.getEntries()[plan.entry];
  if (plan.variant < 0 || plan.variant >= getNumVariants(spec))
    return Status::error(ErrorCode::InvalidArgument,
                         "plan variant " + std::to_string(plan.variant) +
                             " is out of range (entry '" + spec.name +
                             "' has " + std::to_string(getNumVariants(spec)) +
                             ")");
  return makePlan(spec, plan.batch, plan.max_len, plan.sm_count,
                  plan.num_splits, plan.chunk, plan.graph_safe != 0,
                  plan.variant);
}

static TensorRef toTensorRef(const fd_tensor &t) {
  TensorRef ref;
  ref.data = t.data;
  ref.dtype = static_cast<DType>(t.dtype);
  ref.rank = t.rank;
  for (int i = 0; i < 4; ++i) {
    ref.sizes[i] = t.sizes[i];
    ref.strides[i] = t.strides[i];
  }
  return ref;
}

/// The bound entry and rebuilt plan of a C plan, for the calls below.
static Status bindPlan(fd_executable *executable, const fd_plan *plan,
                       const char *fn, const BoundEntry *&bound,
                       Plan &cppPlan) {
  if (!executable)
    return nullArgument(fn, "executable");
  if (!plan)
    return nullArgument(fn, "plan");
  Expected<Plan> rebuilt =
      rebuildPlan(executable->executable->getBundle(), *plan);
  if (!rebuilt)
    return rebuilt.getStatus().withContext(std::string(fn) + ": bad plan");
  Expected<const BoundEntry *> b =
      executable->executable->bind(static_cast<size_t>(plan->entry));
  if (!b)
    return b.getStatus();
  bound = *b;
  cppPlan = rebuilt.take();
  return Status::success();
}

/// \p body(bound entry, plan) once the C plan is bound (bindPlan's errors
/// otherwise): the shape of every call below that works on a plan.
template <typename Body>
static Status onBoundPlan(fd_executable *executable, const fd_plan *plan,
                          const char *fn, Body body) {
  const BoundEntry *bound = nullptr;
  Plan cppPlan;
  Status s = bindPlan(executable, plan, fn, bound, cppPlan);
  if (!s.ok())
    return s;
  return body(*bound, cppPlan);
}

/// The C loaders of the measured tables: checks, loads \p path with
/// Table::loadFile and wraps the table into a new handle with \p wrap.
template <typename Table, typename Handle, typename Wrap>
static int loadTableFile(const char *fn, const char *path, Handle **handle,
                         Wrap wrap) {
  return guarded(fn, [&]() -> Status {
    if (!path)
      return nullArgument(fn, "path");
    if (!handle)
      return nullArgument(fn, "table");
    *handle = nullptr;
    Expected<Table> loaded = Table::loadFile(path);
    if (!loaded)
      return loaded.getStatus();
    *handle = wrap(loaded.take());
    return Status::success();
  });
}

/// The C getters of the shipped tables: checks, finds the table fd ships
/// for the executable's device (\p find: null when none; \p models names
/// the devices with one) and wraps it into a new handle with \p wrap.
template <typename Handle, typename Find, typename Wrap>
static int loadShippedTable(const char *fn, const fd_executable *executable,
                            Handle **handle, const char *what,
                            const std::string &models, Find find, Wrap wrap) {
  return guarded(fn, [&]() -> Status {
    if (!executable)
      return nullArgument(fn, "executable");
    if (!handle)
      return nullArgument(fn, "table");
    *handle = nullptr;
    const std::string &name = executable->executable->getContext().getName();
    auto shipped = find(name);
    if (!shipped)
      return Status::error(ErrorCode::Unsupported,
                           "fd ships no " + std::string(what) +
                               " for the device '" + name + "' (it has " +
                               (models.empty() ? "none" : models + " ones") +
                               ")");
    *handle = wrap(std::move(shipped));
    return Status::success();
  });
}

extern "C" {

const char *fd_last_error(void) { return lastError.c_str(); }

int fd_bundle_load_file(const char *path, fd_bundle **bundle) {
  const char *fn = __func__;
  return guarded(fn, [&]() -> Status {
    if (!path)
      return nullArgument(fn, "path");
    if (!bundle)
      return nullArgument(fn, "bundle");
    *bundle = nullptr;
    Expected<std::shared_ptr<const Bundle>> loaded = Bundle::loadFile(path);
    if (!loaded)
      return loaded.getStatus();
    *bundle = new fd_bundle{loaded.take()};
    return Status::success();
  });
}

int fd_bundle_load_memory(const void *data, size_t size, fd_bundle **bundle) {
  const char *fn = __func__;
  return guarded(fn, [&]() -> Status {
    if (!data && size)
      return nullArgument(fn, "data");
    if (!bundle)
      return nullArgument(fn, "bundle");
    *bundle = nullptr;
    Expected<std::shared_ptr<const Bundle>> loaded = Bundle::loadMemory(
        std::string_view(static_cast<const char *>(data), size));
    if (!loaded)
      return loaded.getStatus();
    *bundle = new fd_bundle{loaded.take()};
    return Status::success();
  });
}

void fd_bundle_destroy(fd_bundle *bundle) { delete bundle; }

int fd_bundle_entry_count(const fd_bundle *bundle, int32_t *count) {
  const char *fn = __func__;
  return guarded(fn, [&]() -> Status {
    if (!bundle)
      return nullArgument(fn, "bundle");
    if (!count)
      return nullArgument(fn, "count");
    *count = static_cast<int32_t>(bundle->bundle->getEntries().size());
    return Status::success();
  });
}

int fd_bundle_entry_name(const fd_bundle *bundle, int32_t index,
                         const char **name) {
  const char *fn = __func__;
  return guarded(fn, [&]() -> Status {
    if (!bundle)
      return nullArgument(fn, "bundle");
    if (!name)
      return nullArgument(fn, "name");
    Status valid = checkEntry(*bundle->bundle, index);
    if (!valid.ok())
      return valid;
    *name = bundle->bundle->getEntries()[index].name.c_str();
    return Status::success();
  });
}

int fd_bundle_find_entry(const fd_bundle *bundle, const char *name,
                         int32_t *index) {
  const char *fn = __func__;
  return guarded(fn, [&]() -> Status {
    if (!bundle)
      return nullArgument(fn, "bundle");
    if (!name)
      return nullArgument(fn, "name");
    if (!index)
      return nullArgument(fn, "index");
    int found = bundle->bundle->findEntryIndex(name);
    if (found < 0)
      return Status::error(ErrorCode::InvalidArgument,
                           std::string("no entry named '") + name + "'");
    *index = found;
    return Status::success();
  });
}

int fd_bundle_entry_info(const fd_bundle *bundle, int32_t entry,
                         fd_entry_info *info) {
  const char *fn = __func__;
  return guarded(fn, [&]() -> Status {
    if (!bundle)
      return nullArgument(fn, "bundle");
    if (!info)
      return nullArgument(fn, "info");
    // As extras: an older caller's smaller struct gets its prefix; a larger
    // one (a newer header than this library) is refused rather than left
    // partly unwritten.
    if (info->size < sizeof(uint32_t) || info->size > sizeof(fd_entry_info))
      return Status::error(ErrorCode::InvalidArgument,
                           std::string(fn) + ": info->size is " +
                               std::to_string(info->size) +
                               ", expected sizeof(fd_entry_info) = " +
                               std::to_string(sizeof(fd_entry_info)));
    Status valid = checkEntry(*bundle->bundle, entry);
    if (!valid.ok())
      return valid;
    const EntrySpec &spec = bundle->bundle->getEntries()[entry];
    bool attention = spec.op == OpKind::DecodeAttention;
    auto dtypeOf = [&](Tensor t) -> int32_t {
      const TensorSpec &tensor = spec.tensor(t);
      return attention && tensor.present ? static_cast<int32_t>(tensor.elem)
                                         : -1;
    };
    fd_entry_info full = {};
    full.size = info->size;
    full.dtype = static_cast<int32_t>(spec.dtype);
    full.op = spec.opName.c_str();
    full.softmax = attention ? spec.softmax.kind.c_str() : "";
    if (spec.op == OpKind::MergeStates) {
      full.num_q_heads = spec.numQHeads;
      full.head_dim = spec.headDim;
      full.merge_num_states = static_cast<int32_t>(spec.merge.numStates);
    } else if (attention) {
      full.num_q_heads = spec.numQHeads;
      full.num_kv_heads = spec.numKvHeads;
      full.head_dim = spec.headDim;
      full.page_size = spec.pageSize;
      full.scale = spec.scale;
    } else {
      full.gemm_has_bias = spec.gemm.hasBias ? 1 : 0;
      full.gemm_n = spec.gemm.n;
      full.gemm_k = spec.gemm.k;
    }
    full.lens_dtype = dtypeOf(Tensor::Lens);
    full.block_table_dtype = dtypeOf(Tensor::BlockTable);
    full.has_lse = spec.tensor(Tensor::Lse).present ? 1 : 0;
    full.page_indptr_dtype = dtypeOf(Tensor::PageIndptr);
    full.gemm_out_dtype = spec.op == OpKind::FlatGemm
                              ? static_cast<int32_t>(spec.gemm.outDtype)
                              : -1;
    std::memcpy(info, &full, info->size);
    return Status::success();
  });
}

int fd_bundle_plan(const fd_bundle *bundle, int32_t entry, int64_t batch,
                   int64_t max_len, int32_t sm_count, int32_t graph_safe,
                   fd_plan *plan) {
  const char *fn = __func__;
  return guarded(fn, [&]() -> Status {
    if (!bundle)
      return nullArgument(fn, "bundle");
    if (!plan)
      return nullArgument(fn, "plan");
    Status valid = checkEntry(*bundle->bundle, entry);
    if (!valid.ok())
      return valid;
    const EntrySpec &spec = bundle->bundle->getEntries()[entry];
    Expected<Plan> result = graph_safe
                                ? planForGraph(spec, batch, max_len, sm_count)
                                : fd::rt::plan(spec, batch, max_len, sm_count);
    if (!result)
      return result.getStatus();
    toCPlan(*result, entry, plan);
    return Status::success();
  });
}

int fd_plan_workspace_size(const fd_plan *plan, uint64_t *bytes) {
  const char *fn = __func__;
  return guarded(fn, [&]() -> Status {
    if (!plan)
      return nullArgument(fn, "plan");
    if (!bytes)
      return nullArgument(fn, "bytes");
    *bytes = plan->workspace_bytes;
    return Status::success();
  });
}

int fd_executable_create(const fd_bundle *bundle, int32_t device,
                         fd_executable **executable) {
  const char *fn = __func__;
  return guarded(fn, [&]() -> Status {
    if (!bundle)
      return nullArgument(fn, "bundle");
    if (!executable)
      return nullArgument(fn, "executable");
    *executable = nullptr;
    Expected<std::shared_ptr<Context>> context = Context::create(device);
    if (!context)
      return context.getStatus();
    Expected<std::shared_ptr<Executable>> exe =
        Executable::create(context.take(), bundle->bundle);
    if (!exe)
      return exe.getStatus();
    *executable = new fd_executable{exe.take()};
    return Status::success();
  });
}

void fd_executable_destroy(fd_executable *executable) { delete executable; }

int fd_executable_sm_count(const fd_executable *executable, int32_t *sm_count) {
  const char *fn = __func__;
  return guarded(fn, [&]() -> Status {
    if (!executable)
      return nullArgument(fn, "executable");
    if (!sm_count)
      return nullArgument(fn, "sm_count");
    *sm_count = executable->executable->getContext().getSmCount();
    return Status::success();
  });
}

int fd_executable_plan(fd_executable *executable, int32_t entry, int64_t batch,
                       int64_t max_len, int32_t graph_safe, fd_plan *plan) {
  return fd_executable_plan_tokens(executable, entry, batch, max_len,
                                   /*total_tokens=*/0, graph_safe, plan);
}

int fd_executable_plan_tokens(fd_executable *executable, int32_t entry,
                              int64_t batch, int64_t max_len,
                              int64_t total_tokens, int32_t graph_safe,
                              fd_plan *plan) {
  const char *fn = __func__;
  return guarded(fn, [&]() -> Status {
    if (!executable)
      return nullArgument(fn, "executable");
    if (!plan)
      return nullArgument(fn, "plan");
    Status valid = checkEntry(executable->executable->getBundle(), entry);
    if (!valid.ok())
      return valid;
    // Binding here surfaces JIT errors at planning time, typically before
    // any graph capture begins.
    Expected<const BoundEntry *> bound =
        executable->executable->bind(static_cast<size_t>(entry));
    if (!bound)
      return bound.getStatus();
    Expected<Plan> result =
        graph_safe ? (*bound)->planForGraph(batch, max_len, total_tokens)
                   : (*bound)->plan(batch, max_len, total_tokens);
    if (!result)
      return result.getStatus();
    toCPlan(*result, entry, plan);
    return Status::success();
  });
}

namespace {
/// A caller built against an older header passes a smaller extras struct;
/// one larger than this header's, or too small for its size, is refused.
Status checkExtrasSize(const char *fn, const fd_attention_extras *extras) {
  if (!extras || (extras->size >= sizeof(uint32_t) &&
                  extras->size <= sizeof(fd_attention_extras)))
    return Status::success();
  return Status::error(ErrorCode::InvalidArgument,
                       std::string(fn) + ": extras->size is " +
                           std::to_string(extras->size) +
                           ", expected sizeof(fd_attention_extras) = " +
                           std::to_string(sizeof(fd_attention_extras)));
}

/// The C arguments as the C++ API's, with dtype codes checked; only the
/// `size` bytes of extras the caller has are read.
Status toAttentionArgs(const char *fn, const fd_attention_args &args,
                       const fd_attention_extras *extras, AttentionArgs &out) {
  Status sized = checkExtrasSize(fn, extras);
  if (!sized.ok())
    return sized;
  fd_attention_extras ex = {};
  if (extras)
    std::memcpy(&ex, extras, extras->size);
  const std::pair<std::string_view, const fd_tensor *> tensors[] = {
      {binding::kQ, &args.q},
      {binding::kK, &args.k},
      {binding::kV, &args.v},
      {binding::kLens, &args.lens},
      {binding::kOut, &args.out},
      {binding::kBlockTable, &ex.block_table},
      {binding::kLse, &ex.lse},
      {binding::kPageIndptr, &ex.page_indptr}};
  for (auto [name, tensor] : tensors)
    if (tensor->dtype < FD_DTYPE_F16 || tensor->dtype > FD_DTYPE_F64)
      return Status::error(ErrorCode::InvalidArgument,
                           "argument '" + std::string(name) +
                               "': unknown dtype code " +
                               std::to_string(tensor->dtype));
  out.q = toTensorRef(args.q);
  out.k = toTensorRef(args.k);
  out.v = toTensorRef(args.v);
  out.lens = toTensorRef(args.lens);
  out.out = toTensorRef(args.out);
  if (ex.block_table.data)
    out.blockTable = toTensorRef(ex.block_table);
  if (ex.lse.data)
    out.lse = toTensorRef(ex.lse);
  if (ex.page_indptr.data)
    out.pageIndptr = toTensorRef(ex.page_indptr);
  return Status::success();
}

/// The bound entry and rebuilt plan of a C plan; `fn` names the caller.
Status resolvePlan(const char *fn, fd_executable *executable,
                   const fd_plan *plan, const BoundEntry *&bound,
                   Plan &rebuiltPlan) {
  if (!executable)
    return nullArgument(fn, "executable");
  if (!plan)
    return nullArgument(fn, "plan");
  const Bundle &bundle = executable->executable->getBundle();
  Status valid = checkEntry(bundle, plan->entry);
  if (!valid.ok())
    return valid;
  Expected<Plan> rebuilt = rebuildPlan(bundle, *plan);
  if (!rebuilt)
    return rebuilt.getStatus().withContext(std::string(fn) + ": bad plan");
  Expected<const BoundEntry *> b =
      executable->executable->bind(static_cast<size_t>(plan->entry));
  if (!b)
    return b.getStatus();
  bound = *b;
  rebuiltPlan = *rebuilt;
  return Status::success();
}

/// What run and check_pages share: the bound entry, the rebuilt plan and
/// the C++ arguments of one attention call.
Status resolveCall(const char *fn, fd_executable *executable,
                   const fd_plan *plan, const fd_attention_args *args,
                   const fd_attention_extras *extras, const BoundEntry *&bound,
                   Plan &rebuilt, AttentionArgs &cppArgs) {
  Status resolved = resolvePlan(fn, executable, plan, bound, rebuilt);
  if (!resolved.ok())
    return resolved;
  if (!args)
    return nullArgument(fn, "args");
  return toAttentionArgs(fn, *args, extras, cppArgs);
}

// Both run entry points; `fn` names the one the caller used in errors.
int runAttention(const char *fn, fd_executable *executable, const fd_plan *plan,
                 const fd_attention_args *args,
                 const fd_attention_extras *extras, void *workspace,
                 uint64_t workspace_bytes, CUstream stream) {
  return guarded(fn, [&]() -> Status {
    Status sized = checkExtrasSize(fn, extras); // before anything is read
    if (!sized.ok())
      return sized;
    const BoundEntry *bound = nullptr;
    Plan rebuilt;
    AttentionArgs cppArgs;
    Status resolved = resolveCall(fn, executable, plan, args, extras, bound,
                                  rebuilt, cppArgs);
    if (!resolved.ok())
      return resolved;
    if (!workspace && workspace_bytes == 0 && rebuilt.workspaceBytes > 0)
      return bound->run(rebuilt, cppArgs, stream);
    return bound->run(rebuilt, cppArgs, workspace, workspace_bytes, stream);
  });
}
} // namespace

// cuda.h's CUstream is `struct CUstream_st *`: the same type.
int fd_executable_run(fd_executable *executable, const fd_plan *plan,
                      const fd_attention_args *args, void *workspace,
                      uint64_t workspace_bytes, struct CUstream_st *stream) {
  return runAttention(__func__, executable, plan, args, nullptr, workspace,
                      workspace_bytes, stream);
}

int fd_executable_run_ex(fd_executable *executable, const fd_plan *plan,
                         const fd_attention_args *args,
                         const fd_attention_extras *extras, void *workspace,
                         uint64_t workspace_bytes, struct CUstream_st *stream) {
  return runAttention(__func__, executable, plan, args, extras, workspace,
                      workspace_bytes, stream);
}

int fd_executable_check_pages(fd_executable *executable, const fd_plan *plan,
                              const fd_attention_args *args,
                              const fd_attention_extras *extras,
                              struct CUstream_st *stream) {
  const char *fn = __func__;
  return guarded(fn, [&]() -> Status {
    const BoundEntry *bound = nullptr;
    Plan rebuilt;
    AttentionArgs cppArgs;
    Status resolved = resolveCall(fn, executable, plan, args, extras, bound,
                                  rebuilt, cppArgs);
    if (!resolved.ok())
      return resolved;
    return bound->checkPages(rebuilt, cppArgs, stream);
  });
}

int fd_bundle_variant_count(const fd_bundle *bundle, int32_t entry,
                            int32_t *count) {
  const char *fn = __func__;
  return guarded(fn, [&]() -> Status {
    if (!bundle)
      return nullArgument(fn, "bundle");
    if (!count)
      return nullArgument(fn, "count");
    Status valid = checkEntry(*bundle->bundle, entry);
    if (!valid.ok())
      return valid;
    *count = getNumVariants(bundle->bundle->getEntries()[entry]);
    return Status::success();
  });
}

int fd_bundle_variant_name(const fd_bundle *bundle, int32_t entry,
                           int32_t variant, const char **name) {
  const char *fn = __func__;
  return guarded(fn, [&]() -> Status {
    if (!bundle)
      return nullArgument(fn, "bundle");
    if (!name)
      return nullArgument(fn, "name");
    Status valid = checkEntry(*bundle->bundle, entry);
    if (!valid.ok())
      return valid;
    const EntrySpec &spec = bundle->bundle->getEntries()[entry];
    if (variant < 0 || variant >= getNumVariants(spec))
      return Status::error(
          ErrorCode::InvalidArgument,
          "variant index " + std::to_string(variant) + " is out of range (" +
              std::to_string(getNumVariants(spec)) + " variants)");
    *name = getVariantName(spec, variant);
    return Status::success();
  });
}

int fd_executable_plan_variant(fd_executable *executable, int32_t entry,
                               int64_t batch, int64_t max_len,
                               int32_t graph_safe, const char *variant,
                               fd_plan *plan) {
  const char *fn = __func__;
  return guarded(fn, [&]() -> Status {
    if (!executable)
      return nullArgument(fn, "executable");
    if (!plan)
      return nullArgument(fn, "plan");
    if (!variant)
      return nullArgument(fn, "variant");
    Status valid = checkEntry(executable->executable->getBundle(), entry);
    if (!valid.ok())
      return valid;
    Expected<const BoundEntry *> bound =
        executable->executable->bind(static_cast<size_t>(entry));
    if (!bound)
      return bound.getStatus();
    Expected<Plan> result =
        (*bound)->planVariant(batch, max_len, variant, graph_safe != 0);
    if (!result)
      return result.getStatus();
    toCPlan(*result, entry, plan);
    return Status::success();
  });
}

int fd_executable_init_workspace(fd_executable *executable, const fd_plan *plan,
                                 void *workspace, uint64_t workspace_bytes,
                                 struct CUstream_st *stream) {
  const char *fn = __func__;
  return guarded(fn, [&]() -> Status {
    return onBoundPlan(executable, plan, fn,
                       [&](const BoundEntry &b, const Plan &p) -> Status {
                         return b.initWorkspace(p, workspace, workspace_bytes,
                                                stream);
                       });
  });
}

int fd_plan_fallback_counter_offset(const fd_bundle *bundle,
                                    const fd_plan *plan, uint64_t *offset) {
  const char *fn = __func__;
  return guarded(fn, [&]() -> Status {
    if (!bundle)
      return nullArgument(fn, "bundle");
    if (!plan)
      return nullArgument(fn, "plan");
    if (!offset)
      return nullArgument(fn, "offset");
    Expected<Plan> rebuilt = rebuildPlan(*bundle->bundle, *plan);
    if (!rebuilt)
      return rebuilt.getStatus();
    Expected<uint64_t> off = getFallbackCounterOffset(
        bundle->bundle->getEntries()[plan->entry], *rebuilt);
    if (!off)
      return off.getStatus();
    *offset = *off;
    return Status::success();
  });
}

int fd_executable_read_fallback_count(fd_executable *executable,
                                      const fd_plan *plan,
                                      const void *workspace,
                                      struct CUstream_st *stream,
                                      uint32_t *count) {
  const char *fn = __func__;
  return guarded(fn, [&]() -> Status {
    if (!count)
      return nullArgument(fn, "count");
    return onBoundPlan(executable, plan, fn,
                       [&](const BoundEntry &b, const Plan &p) -> Status {
                         Expected<uint32_t> n =
                             UnifiedMaxState(b).readFallbackCount(p, workspace,
                                                                  stream);
                         if (!n)
                           return n.getStatus();
                         *count = *n;
                         return Status::success();
                       });
  });
}

int fd_executable_reset_fallback_count(fd_executable *executable,
                                       const fd_plan *plan, void *workspace,
                                       struct CUstream_st *stream) {
  const char *fn = __func__;
  return guarded(fn, [&]() -> Status {
    return onBoundPlan(executable, plan, fn,
                       [&](const BoundEntry &b, const Plan &p) -> Status {
                         return UnifiedMaxState(b).resetFallbackCount(
                             p, workspace, stream);
                       });
  });
}

int fd_executable_set_phi(fd_executable *executable, const fd_plan *plan,
                          void *workspace, float phi,
                          struct CUstream_st *stream) {
  const char *fn = __func__;
  return guarded(fn, [&]() -> Status {
    return onBoundPlan(executable, plan, fn,
                       [&](const BoundEntry &b, const Plan &p) -> Status {
                         return UnifiedMaxState(b).setPhi(p, workspace, phi,
                                                          stream);
                       });
  });
}

int fd_executable_read_phi(fd_executable *executable, const fd_plan *plan,
                           const void *workspace, struct CUstream_st *stream,
                           float *phi) {
  const char *fn = __func__;
  return guarded(fn, [&]() -> Status {
    if (!phi)
      return nullArgument(fn, "phi");
    return onBoundPlan(executable, plan, fn,
                       [&](const BoundEntry &b, const Plan &p) -> Status {
                         Expected<float> value =
                             UnifiedMaxState(b).readPhi(p, workspace, stream);
                         if (!value)
                           return value.getStatus();
                         *phi = *value;
                         return Status::success();
                       });
  });
}

static fd_score_stats toC(const ScoreStats &stats) {
  return {stats.rows, stats.fallbacks, stats.minRowMax, stats.maxRowMax};
}

int fd_executable_read_score_stats(fd_executable *executable,
                                   const fd_plan *plan, const void *workspace,
                                   struct CUstream_st *stream,
                                   fd_score_stats *stats) {
  const char *fn = __func__;
  return guarded(fn, [&]() -> Status {
    if (!stats)
      return nullArgument(fn, "stats");
    return onBoundPlan(executable, plan, fn,
                       [&](const BoundEntry &b, const Plan &p) -> Status {
                         Expected<ScoreStats> read =
                             UnifiedMaxState(b).readScoreStats(p, workspace,
                                                               stream);
                         if (!read)
                           return read.getStatus();
                         *stats = toC(*read);
                         return Status::success();
                       });
  });
}

int fd_executable_recentre_phi(fd_executable *executable, const fd_plan *plan,
                               void *workspace, struct CUstream_st *stream,
                               uint32_t min_rows, double max_fallback_rate,
                               fd_recentre_decision *decision) {
  const char *fn = __func__;
  return guarded(fn, [&]() -> Status {
    return onBoundPlan(executable, plan, fn,
                       [&](const BoundEntry &b, const Plan &p) -> Status {
                         RecentrePolicy policy;
                         policy.minRows = min_rows;
                         policy.maxFallbackRate = max_fallback_rate;
                         Expected<RecentreDecision> d =
                             UnifiedMaxState(b).recentrePhi(p, workspace,
                                                            stream, policy);
                         if (!d)
                           return d.getStatus();
                         if (decision)
                           *decision = {d->decided, d->changed, d->covers,
                                        d->oldPhi,  d->newPhi,  toC(d->stats)};
                         return Status::success();
                       });
  });
}

int fd_dispatch_table_load_file(const char *path, fd_dispatch_table **table) {
  return loadTableFile<DispatchTable>(
      __func__, path, table,
      [](DispatchTable t) { return new fd_dispatch_table{std::move(t)}; });
}

int fd_dispatch_table_load_shipped(const fd_executable *executable,
                                   fd_dispatch_table **table) {
  return loadShippedTable(
      __func__, executable, table, "flat-GEMM dispatch table",
      getShippedDispatchModels(), getShippedDispatchTable,
      [](const DispatchTable *t) { return new fd_dispatch_table{*t}; });
}

void fd_dispatch_table_destroy(fd_dispatch_table *table) { delete table; }

int fd_variant_table_load_file(const char *path, fd_variant_table **table) {
  return loadTableFile<VariantTable>(
      __func__, path, table, [](VariantTable t) {
        return new fd_variant_table{
            std::make_shared<const VariantTable>(std::move(t))};
      });
}

void fd_variant_table_destroy(fd_variant_table *table) { delete table; }

int fd_variant_table_load_shipped(const fd_executable *executable,
                                  fd_variant_table **table) {
  return loadShippedTable(
      __func__, executable, table, "launch-variant table",
      getShippedVariantModels(), getShippedVariantTable,
      [](std::shared_ptr<const VariantTable> t) {
        return new fd_variant_table{std::move(t)};
      });
}

int fd_executable_set_variant_table(fd_executable *executable,
                                    const fd_variant_table *table) {
  const char *fn = __func__;
  return guarded(fn, [&]() -> Status {
    if (!executable)
      return nullArgument(fn, "executable");
    executable->executable->setVariantTable(table ? table->table : nullptr);
    return Status::success();
  });
}

int fd_bundle_flat_gemm_select(const fd_bundle *bundle, int32_t entry,
                               int64_t m, const fd_dispatch_table *table,
                               const char **variant) {
  const char *fn = __func__;
  return guarded(fn, [&]() -> Status {
    if (!bundle)
      return nullArgument(fn, "bundle");
    if (!variant)
      return nullArgument(fn, "variant");
    Status valid = checkEntry(*bundle->bundle, entry);
    if (!valid.ok())
      return valid;
    const EntrySpec &spec = bundle->bundle->getEntries()[entry];
    Expected<size_t> index =
        selectFlatGemmKernel(spec, m, table ? &table->table : nullptr);
    if (!index)
      return index.getStatus();
    *variant = gemmKernelName(spec, *index).c_str();
    return Status::success();
  });
}

int fd_executable_run_flat_gemm(fd_executable *executable, int32_t entry,
                                const fd_flat_gemm_args *args,
                                const fd_dispatch_table *table,
                                const char *variant,
                                struct CUstream_st *stream) {
  const char *fn = __func__;
  return guarded(fn, [&]() -> Status {
    if (!executable)
      return nullArgument(fn, "executable");
    if (!args)
      return nullArgument(fn, "args");
    Status valid = checkEntry(executable->executable->getBundle(), entry);
    if (!valid.ok())
      return valid;
    const std::pair<std::string_view, const fd_tensor *> tensors[] = {
        {binding::kX, &args->x},
        {binding::kW, &args->w},
        {binding::kBias, &args->bias},
        {binding::kY, &args->y}};
    for (auto [name, tensor] : tensors)
      if (tensor->data &&
          (tensor->dtype < FD_DTYPE_F16 || tensor->dtype > FD_DTYPE_F64))
        return Status::error(ErrorCode::InvalidArgument,
                             "argument '" + std::string(name) +
                                 "': unknown dtype code " +
                                 std::to_string(tensor->dtype));
    Expected<const BoundEntry *> bound =
        executable->executable->bind(static_cast<size_t>(entry));
    if (!bound)
      return bound.getStatus();
    FlatGemmArgs cppArgs;
    cppArgs.x = toTensorRef(args->x);
    cppArgs.w = toTensorRef(args->w);
    if (args->bias.data)
      cppArgs.bias = toTensorRef(args->bias);
    cppArgs.y = toTensorRef(args->y);
    return FlatGemm(**bound).run(cppArgs, table ? &table->table : nullptr,
                                 stream, variant ? variant : "");
  });
}

int fd_executable_run_merge_states(fd_executable *executable, int32_t entry,
                                   const fd_merge_states_args *args,
                                   struct CUstream_st *stream) {
  const char *fn = __func__;
  return guarded(fn, [&]() -> Status {
    if (!executable)
      return nullArgument(fn, "executable");
    if (!args)
      return nullArgument(fn, "args");
    // As fd_attention_extras: the caller says how much of the struct it has.
    if (args->size != sizeof(fd_merge_states_args))
      return Status::error(ErrorCode::InvalidArgument,
                           std::string(fn) + ": args->size is " +
                               std::to_string(args->size) +
                               ", expected sizeof(fd_merge_states_args) = " +
                               std::to_string(sizeof(fd_merge_states_args)));
    Status valid = checkEntry(executable->executable->getBundle(), entry);
    if (!valid.ok())
      return valid;
    if (args->num_states < 0 || args->num_states > fdb::kMaxMergedStates)
      return Status::error(ErrorCode::InvalidArgument,
                           std::string(fn) + ": num_states " +
                               std::to_string(args->num_states) +
                               " is out of range [0, " +
                               std::to_string(fdb::kMaxMergedStates) + "]");
    if (args->num_states > 0 && !args->outs)
      return nullArgument(fn, "args->outs");
    if (args->num_states > 0 && !args->lses)
      return nullArgument(fn, "args->lses");
    MergeStatesArgs cppArgs;
    cppArgs.numStates = args->num_states;
    auto convert = [&](const fd_tensor &t, const std::string &name,
                       TensorRef &out) -> Status {
      if (t.data && (t.dtype < FD_DTYPE_F16 || t.dtype > FD_DTYPE_F64))
        return Status::error(ErrorCode::InvalidArgument,
                             "argument '" + name + "': unknown dtype code " +
                                 std::to_string(t.dtype));
      out = toTensorRef(t);
      return Status::success();
    };
    for (int32_t i = 0; i < args->num_states; ++i) {
      Status s = convert(args->outs[i],
                         std::string(binding::kStateOutPrefix) +
                             std::to_string(i),
                         cppArgs.outs[i]);
      if (s.ok())
        s = convert(args->lses[i],
                    std::string(binding::kStateLsePrefix) + std::to_string(i),
                    cppArgs.lses[i]);
      if (!s.ok())
        return s;
    }
    Status s = convert(args->out, std::string(binding::kOut), cppArgs.out);
    if (s.ok() && args->lse.data)
      s = convert(args->lse, std::string(binding::kLse), cppArgs.lse);
    if (!s.ok())
      return s;
    Expected<const BoundEntry *> bound =
        executable->executable->bind(static_cast<size_t>(entry));
    if (!bound)
      return bound.getStatus();
    return MergeStates(**bound).run(cppArgs, stream);
  });
}

} // extern "C"

// ---- Context-parallel decode ------------------------------------------

int fd_nccl_unique_id_create(fd_nccl_unique_id *id) {
  const char *fn = __func__;
  return guarded(fn, [&]() -> Status {
    if (!id)
      return nullArgument(fn, "id");
    Expected<nccl::UniqueId> fresh = Communicator::newUniqueId();
    if (!fresh)
      return fresh.getStatus();
    std::memcpy(id->internal, fresh->internal, sizeof(id->internal));
    return Status::success();
  });
}

int fd_communicator_create(const fd_executable *executable,
                           const fd_nccl_unique_id *id, int32_t world_size,
                           int32_t rank, double timeout_seconds,
                           fd_communicator **communicator) {
  const char *fn = __func__;
  return guarded(fn, [&]() -> Status {
    if (!executable)
      return nullArgument(fn, "executable");
    if (!id)
      return nullArgument(fn, "id");
    if (!communicator)
      return nullArgument(fn, "communicator");
    *communicator = nullptr;
    nccl::UniqueId ncclId;
    std::memcpy(ncclId.internal, id->internal, sizeof(ncclId.internal));
    Expected<std::unique_ptr<Communicator>> c = Communicator::create(
        executable->executable->getSharedContext(), ncclId, world_size, rank,
        timeout_seconds);
    if (!c)
      return c.getStatus();
    *communicator = new fd_communicator{std::shared_ptr<Communicator>(c.take())};
    return Status::success();
  });
}

int fd_communicator_borrow(const fd_executable *executable, void *nccl_comm,
                           fd_communicator **communicator) {
  const char *fn = __func__;
  return guarded(fn, [&]() -> Status {
    if (!executable)
      return nullArgument(fn, "executable");
    if (!communicator)
      return nullArgument(fn, "communicator");
    *communicator = nullptr;
    Expected<std::unique_ptr<Communicator>> c = Communicator::borrow(
        executable->executable->getSharedContext(), nccl_comm);
    if (!c)
      return c.getStatus();
    *communicator = new fd_communicator{std::shared_ptr<Communicator>(c.take())};
    return Status::success();
  });
}

void fd_communicator_destroy(fd_communicator *communicator) {
  delete communicator;
}

int fd_communicator_rank(const fd_communicator *communicator, int32_t *rank,
                         int32_t *world_size) {
  const char *fn = __func__;
  return guarded(fn, [&]() -> Status {
    if (!communicator)
      return nullArgument(fn, "communicator");
    if (rank)
      *rank = communicator->communicator->getRank();
    if (world_size)
      *world_size = communicator->communicator->getWorldSize();
    return Status::success();
  });
}

int fd_sharded_decode_create(fd_executable *executable, int32_t attention,
                             int32_t merge, fd_communicator *communicator,
                             const fd_sharded_decode_options *options,
                             fd_sharded_decode **sharded) {
  const char *fn = __func__;
  return guarded(fn, [&]() -> Status {
    if (!executable)
      return nullArgument(fn, "executable");
    if (!communicator)
      return nullArgument(fn, "communicator");
    if (!sharded)
      return nullArgument(fn, "sharded");
    *sharded = nullptr;
    if (options && options->size != sizeof(fd_sharded_decode_options))
      return Status::error(
          ErrorCode::InvalidArgument,
          std::string(fn) + ": options->size is " +
              std::to_string(options->size) +
              ", expected sizeof(fd_sharded_decode_options) = " +
              std::to_string(sizeof(fd_sharded_decode_options)));
    const Bundle &bundle = executable->executable->getBundle();
    if (Status s = checkEntry(bundle, attention); !s.ok())
      return s;
    if (merge != -1)
      if (Status s = checkEntry(bundle, merge); !s.ok())
        return s;
    ShardedDecodeOptions o;
    if (options) {
      if (options->max_batch != 0)
        o.maxBatch = options->max_batch;
      if (options->timeout_seconds != 0)
        o.timeoutSeconds = options->timeout_seconds;
      o.expectedWorldSize = options->expected_world_size;
    }
    Expected<const BoundEntry *> a =
        executable->executable->bind(static_cast<size_t>(attention));
    if (!a)
      return a.getStatus();
    const BoundEntry *m = nullptr;
    if (merge != -1) {
      Expected<const BoundEntry *> bound =
          executable->executable->bind(static_cast<size_t>(merge));
      if (!bound)
        return bound.getStatus();
      m = *bound;
    }
    Expected<std::unique_ptr<ShardedDecode>> d =
        ShardedDecode::create(**a, m, communicator->communicator, o);
    if (!d)
      return d.getStatus();
    *sharded = new fd_sharded_decode{executable->executable, d.take(),
                                     attention};
    return Status::success();
  });
}

void fd_sharded_decode_destroy(fd_sharded_decode *sharded) { delete sharded; }

int fd_sharded_decode_run(fd_sharded_decode *sharded, const fd_plan *plan,
                          const fd_attention_args *args,
                          const fd_attention_extras *extras, void *workspace,
                          uint64_t workspace_bytes, struct CUstream_st *stream) {
  const char *fn = __func__;
  return guarded(fn, [&]() -> Status {
    if (!sharded)
      return nullArgument(fn, "sharded");
    if (plan && plan->entry != sharded->attentionEntry)
      return Status::error(ErrorCode::InvalidArgument,
                           std::string(fn) + ": the plan is of entry " +
                               std::to_string(plan->entry) +
                               ", but this sharded decode runs entry " +
                               std::to_string(sharded->attentionEntry));
    fd_executable exe{sharded->executable};
    const BoundEntry *bound = nullptr;
    Plan rebuilt;
    AttentionArgs cppArgs;
    Status resolved =
        resolveCall(fn, &exe, plan, args, extras, bound, rebuilt, cppArgs);
    if (!resolved.ok())
      return resolved;
    return sharded->sharded->run(rebuilt, cppArgs, workspace, workspace_bytes,
                                 stream);
  });
}
