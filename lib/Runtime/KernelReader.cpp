//===- KernelReader.cpp - Reading a manifest's kernels and arguments ------===//
//
// The kernels of an entry or variant: their module and symbol, launch
// geometry, and arguments, each bound to a tensor, a workspace buffer or a
// scalar and checked against the PTX .entry it calls (PtxInfo.h).
//
//===----------------------------------------------------------------------===//

#include "ManifestReader.h"

using namespace fd::rt;
using namespace fdb;

bool BundleReader::readKernel(const JsonValue &json, const std::string &path,
                              const EntrySpec &entry,
                              const std::vector<WorkspaceSpec> &workspace,
                              KernelSpec &kernel) {
  const PtxEntry *ptxEntry = nullptr;
  if (!json.isObject())
    return fail(json, path,
                std::string("expected an object, found ") +
                    JsonValue::kindName(json.getKind()));
  if (!readString(json, path, key::kSymbol, kernel.symbol) ||
      !readString(json, path, key::kModule, kernel.module) ||
      !readString(json, path, key::kRole, kernel.role, false, false))
    return false;

  const std::vector<ModuleSpec> &modules = *modulesSeen;
  size_t m = 0;
  while (m < modules.size() && modules[m].name != kernel.module)
    ++m;
  if (m == modules.size())
    return fail(*json.find(key::kModule), joinPath(path, key::kModule),
                "unknown module '" + kernel.module + "'");
  kernel.moduleIndex = m;
  // Catch a symbol typo now rather than as CUDA_ERROR_NOT_FOUND on the GPU.
  // Text without PTX directives is a hand-written test bundle's stub and
  // not checked; PTX (it has a .version or .target) that declares no .entry
  // at all cannot hold the kernel.
  const std::vector<PtxEntry> &ptxEntries = moduleEntries[m];
  const std::string &ptx = modules[m].ptx;
  bool isPtx = ptx.find(".version") != std::string::npos ||
               !findPtxTarget(ptx).empty();
  if (ptxEntries.empty() && isPtx)
    return fail(*json.find(key::kSymbol), joinPath(path, key::kSymbol),
                "module '" + kernel.module + "' has no .entry '" +
                    kernel.symbol + "' (its PTX declares no .entry at all)");
  if (!ptxEntries.empty()) {
    std::string list;
    for (const PtxEntry &declared : ptxEntries) {
      if (declared.name == kernel.symbol)
        ptxEntry = &declared;
      list += (list.empty() ? "" : ", ") + declared.name;
    }
    if (!ptxEntry)
      return fail(*json.find(key::kSymbol), joinPath(path, key::kSymbol),
                  "module '" + kernel.module + "' has no .entry '" +
                      kernel.symbol + "' (its entries: " + list + ")");
  }

  const JsonValue *grid = field(json, path, key::kGrid, Kind::Array, true);
  if (!grid)
    return false;
  if (grid->size() < 1 || grid->size() > 3)
    return fail(*grid, joinPath(path, key::kGrid),
                "expected 1 to 3 extents, found " +
                    std::to_string(grid->size()));
  kernel.gridRank = grid->size();
  for (size_t i = 0; i < grid->size(); ++i)
    if (!readSize(grid->getItems()[i], indexPath(joinPath(path, key::kGrid), i),
                  key::kGrid, kernel.grid[i]))
      return false;

  const JsonValue *block = field(json, path, key::kBlock, Kind::Array, true);
  if (!block)
    return false;
  if (block->size() < 1 || block->size() > 3)
    return fail(*block, joinPath(path, key::kBlock),
                "expected 1 to 3 extents, found " +
                    std::to_string(block->size()));
  const int64_t blockLimit[3] = {1024, 1024, 64};
  int64_t threads = 1;
  for (size_t i = 0; i < block->size(); ++i) {
    const JsonValue &item = block->getItems()[i];
    if (!item.isInteger() || item.getInteger() < 1 ||
        item.getInteger() > blockLimit[i])
      return fail(item, indexPath(joinPath(path, key::kBlock), i),
                  "expected an integer in [1, " +
                      std::to_string(blockLimit[i]) + "]");
    kernel.block[i] = static_cast<uint32_t>(item.getInteger());
    threads *= item.getInteger();
  }
  if (threads > 1024)
    return fail(*block, joinPath(path, key::kBlock),
                std::to_string(threads) +
                    " threads per block, more than CUDA's 1024");

  if (!readInt(json, path, key::kStaticSmem, kernel.staticSmem, 0, INT32_MAX,
               false) ||
      !readInt(json, path, key::kDynamicSmem, kernel.dynamicSmem, 0, INT32_MAX,
               false) ||
      !readInt(json, path, key::kMTile, kernel.mTile, 1, 65535, false))
    return false;
  if (json.find(key::kPdl)) {
    const JsonValue *pdl = field(json, path, key::kPdl, Kind::Bool, true);
    if (!pdl)
      return false;
    kernel.pdl = pdl->getBool();
  }
  if (json.find(key::kCluster) && !readCluster(json, path, ptxEntry, kernel))
    return false;
  if (ptxEntry && !json.find(key::kCluster) &&
      ptxEntry->cluster != std::array<unsigned, 3>{1, 1, 1})
    return fail(json, path,
                "the PTX .entry " + kernel.symbol +
                    " declares a .reqnctapercluster, but the kernel has no '" +
                    key::kCluster + "'");

  const JsonValue *args = field(json, path, key::kArgs, Kind::Array, true);
  if (!args)
    return false;
  for (size_t i = 0; i < args->size(); ++i) {
    ArgSpec arg;
    if (!readArg(args->getItems()[i], indexPath(joinPath(path, key::kArgs), i),
                 entry, workspace, arg))
      return false;
    kernel.args.push_back(std::move(arg));
  }
  if (kernel.getNumParams() > kMaxKernelParams)
    return fail(*args, joinPath(path, key::kArgs),
                "expands to " + std::to_string(kernel.getNumParams()) +
                    " kernel parameters, more than the supported " +
                    std::to_string(kMaxKernelParams));

  // The manifest's arguments must expand to exactly the PTX's parameter
  // list, or every argument after the first difference would be read from
  // the wrong place by the kernel.
  if (ptxEntry && !checkPtxParams(*args, path, kernel, *ptxEntry))
    return false;

  if (const JsonValue *res =
          field(json, path, key::kResources, Kind::Object, false)) {
    ResourceInfo info;
    std::string resPath = joinPath(path, key::kResources);
    if (!readInt(*res, resPath, key::kRegisters, info.registers, 0, 65536) ||
        !readInt(*res, resPath, key::kSpillBytes, info.spillBytes, 0,
                 INT32_MAX) ||
        !readInt(*res, resPath, key::kSharedBytes, info.sharedBytes, 0,
                 INT32_MAX))
      return false;
    kernel.resources = info;
  } else if (!error.ok()) {
    return false;
  }
  return true;
}

bool BundleReader::readCluster(const JsonValue &json, const std::string &path,
                               const PtxEntry *ptxEntry, KernelSpec &kernel) {
  std::string clusterPath = joinPath(path, key::kCluster);
  const JsonValue *cluster = field(json, path, key::kCluster, Kind::Array, true);
  if (!cluster)
    return false;
  if (cluster->size() != 3)
    return fail(*cluster, clusterPath,
                "expected 3 extents, found " + std::to_string(cluster->size()));
  int64_t ctas = 1;
  for (size_t i = 0; i < 3; ++i) {
    const JsonValue &item = cluster->getItems()[i];
    if (!item.isInteger() || item.getInteger() < 1 ||
        item.getInteger() > kMaxClusterCtas)
      return fail(item, indexPath(clusterPath, i),
                  "expected an integer in [1, " +
                      std::to_string(kMaxClusterCtas) + "]");
    kernel.cluster[i] = static_cast<uint32_t>(item.getInteger());
    ctas *= item.getInteger();
  }
  if (ctas > kMaxClusterCtas)
    return fail(*cluster, clusterPath,
                std::to_string(ctas) +
                    " CTAs per cluster, more than sm_90's " +
                    std::to_string(kMaxClusterCtas));
  // Every grid extent must be whole clusters for every M: a symbolic
  // extent could be any size, so only constant ones may be clustered.
  for (size_t i = 0; i < 3; ++i) {
    const SizeExpr &g = kernel.grid[i];
    if (kernel.cluster[i] == 1)
      continue;
    if (g.symbol || g.constant % kernel.cluster[i] != 0)
      return fail(*cluster, clusterPath,
                  "grid extent " + std::to_string(i) + " ('" + toString(g) +
                      "') is not a multiple of the cluster's " +
                      std::to_string(kernel.cluster[i]));
  }
  std::array<unsigned, 3> declared = {kernel.cluster[0], kernel.cluster[1],
                                      kernel.cluster[2]};
  if (ptxEntry && ptxEntry->cluster != declared) {
    auto str = [](const std::array<unsigned, 3> &c) {
      return std::to_string(c[0]) + ", " + std::to_string(c[1]) + ", " +
             std::to_string(c[2]);
    };
    return fail(*cluster, clusterPath,
                "[" + str(declared) + "] but the PTX .entry " + kernel.symbol +
                    " declares .reqnctapercluster " + str(ptxEntry->cluster));
  }
  return true;
}

bool BundleReader::checkPtxParams(const JsonValue &args,
                                  const std::string &path,
                                  const KernelSpec &kernel,
                                  const PtxEntry &ptxEntry) {
  std::string argsPath = joinPath(path, key::kArgs);
  size_t want = kernel.getNumParams();
  if (ptxEntry.paramBytes.size() != want)
    return fail(args, argsPath,
                "the args expand to " + std::to_string(want) +
                    " kernel parameters (a rank-r memref is 3 + 2r), but "
                    "the PTX .entry " +
                    kernel.symbol + " declares " +
                    std::to_string(ptxEntry.paramBytes.size()));
  size_t param = 0;
  for (size_t a = 0; a < kernel.args.size(); ++a) {
    const ArgSpec &arg = kernel.args[a];
    for (size_t i = 0; i < arg.getNumParams(); ++i, ++param) {
      unsigned bytes = arg.kind == ArgSpec::Kind::Memref
                           ? 8
                           : static_cast<unsigned>(dtypeSize(arg.elem));
      unsigned ptxBytes = ptxEntry.paramBytes[param];
      if (ptxBytes != 0 && ptxBytes != bytes)
        return fail(args.getItems()[a], indexPath(argsPath, a),
                    "kernel parameter " + std::to_string(param) + " ('" +
                        arg.bind + "') is " + std::to_string(bytes) +
                        " bytes here but " + std::to_string(ptxBytes) +
                        " bytes in the PTX .entry " + kernel.symbol);
    }
  }
  return true;
}

/// "state_out_<i>" / "state_lse_<i>" with 0 <= i < num_states, written as
/// fd-compile writes it (decimal, no leading zero): sets the source and
/// the index. False for any other name.
static bool readStateBinding(const EntrySpec &entry, ArgSpec &arg) {
  for (auto [prefix, source] :
       {std::pair{binding::kStateOutPrefix, ArgSource::StateOut},
        std::pair{binding::kStateLsePrefix, ArgSource::StateLse}}) {
    std::string_view bind = arg.bind;
    if (bind.substr(0, prefix.size()) != prefix)
      continue;
    std::string_view digits = bind.substr(prefix.size());
    if (digits.empty() || digits.size() > 2 ||
        (digits.size() > 1 && digits[0] == '0'))
      return false;
    int index = 0;
    for (char c : digits) {
      if (c < '0' || c > '9')
        return false;
      index = index * 10 + (c - '0');
    }
    if (index >= entry.merge.numStates)
      return false;
    arg.source = source;
    arg.stateIndex = index;
    return true;
  }
  return false;
}

bool BundleReader::readArg(const JsonValue &json, const std::string &path,
                           const EntrySpec &entry,
                           const std::vector<WorkspaceSpec> &workspace,
                           ArgSpec &arg) {
  if (!json.isObject())
    return fail(json, path,
                std::string("expected an object, found ") +
                    JsonValue::kindName(json.getKind()));
  std::string kind;
  if (!readString(json, path, key::kKind, kind) ||
      !readString(json, path, key::kBind, arg.bind))
    return false;
  const JsonValue &bindJson = *json.find(key::kBind);
  std::string bindPath = joinPath(path, key::kBind);

  if (kind == arg_kind::kScalar) {
    arg.kind = ArgSpec::Kind::Scalar;
    if (!readDType(json, path, key::kType, arg.elem))
      return false;
    if (arg.elem == DType::F16 || arg.elem == DType::BF16)
      return fail(*json.find(key::kType), joinPath(path, key::kType),
                  std::string("scalar type must be i32, i64, f32 or f64, "
                              "found ") +
                      dtypeName(arg.elem));
    if (arg.bind == binding::kScale) {
      arg.source = ArgSource::Scale;
      if (arg.elem != DType::F32 && arg.elem != DType::F64)
        return fail(*json.find(key::kType), joinPath(path, key::kType),
                    "scalar 'scale' must be f32 or f64");
      return true;
    }
    std::optional<Symbol> symbol = arg.bind == binding::kNumSplits
                                       ? std::optional<Symbol>(Symbol::S)
                                       : parseSymbol(arg.bind);
    if (!symbol)
      return fail(bindJson, bindPath,
                  "unknown scalar binding '" + arg.bind +
                      "' (expected chunk, num_splits, B, Hq, Hkv, D, L, S or "
                      "scale)");
    arg.source = ArgSource::Symbol;
    arg.symbol = *symbol;
    return true;
  }

  if (kind != arg_kind::kMemref)
    return fail(*json.find(key::kKind), joinPath(path, key::kKind),
                "unknown argument kind '" + kind +
                    "' (expected memref or scalar)");
  arg.kind = ArgSpec::Kind::Memref;
  int64_t rank = 0;
  if (!readDType(json, path, key::kElem, arg.elem) ||
      !readInt(json, path, key::kRank, rank, 0, 8))
    return false;
  arg.rank = static_cast<int>(rank);

  // Expected element type and rank of the binding, so that a compiler bug
  // shows up when the bundle is loaded, not as a corrupt launch.
  DType wantElem = entry.dtype;
  int64_t wantRank = -1;
  if (entry.op == OpKind::FlatGemm) {
    if (arg.bind == binding::kX || arg.bind == binding::kW ||
        arg.bind == binding::kY) {
      arg.source = arg.bind == binding::kX   ? ArgSource::X
                   : arg.bind == binding::kW ? ArgSource::W
                                             : ArgSource::Y;
      wantRank = 2;
      if (arg.source == ArgSource::Y)
        wantElem = entry.gemm.outDtype;
    } else if (arg.bind == binding::kBias) {
      arg.source = ArgSource::Bias;
      wantRank = 1;
    } else {
      return fail(bindJson, bindPath,
                  "unknown flat_gemm memref binding '" + arg.bind +
                      "' (expected x, w, bias or y)");
    }
  } else if (entry.op == OpKind::MergeStates) {
    if (!readStateBinding(entry, arg)) {
      if (arg.bind != binding::kOut && arg.bind != binding::kLse)
        return fail(bindJson, bindPath,
                    "unknown merge_states memref binding '" + arg.bind +
                        "' (expected state_out_<i> and state_lse_<i> for i "
                        "below num_states " +
                        std::to_string(entry.merge.numStates) +
                        ", out or lse)");
      arg.source = arg.bind == binding::kOut ? ArgSource::Out : ArgSource::Lse;
    }
    bool isOut = arg.source == ArgSource::StateOut ||
                 arg.source == ArgSource::Out;
    wantElem = isOut ? entry.dtype : DType::F32;
    wantRank = isOut ? 3 : 2;
  } else if (arg.bind == binding::kQ || arg.bind == binding::kOut) {
    arg.source = arg.bind == binding::kQ ? ArgSource::Q : ArgSource::Out;
    wantRank = 3;
  } else if (arg.bind == binding::kK || arg.bind == binding::kV) {
    arg.source = arg.bind == binding::kK ? ArgSource::K : ArgSource::V;
    wantRank = 4;
  } else if (arg.bind == binding::kLens ||
             arg.bind == binding::kBlockTable ||
             arg.bind == binding::kPageIndptr) {
    // Read as integers of either width (the compiler accepts both).
    arg.source = arg.bind == binding::kLens         ? ArgSource::Lens
                 : arg.bind == binding::kBlockTable ? ArgSource::BlockTable
                                                    : ArgSource::PageIndptr;
    wantElem = arg.elem == DType::I64 ? DType::I64 : DType::I32;
    // A block table is [B, max_pages], or [nnz_pages] with CSR addressing
    // (collectTensors checks it against page_indptr).
    wantRank = arg.source == ArgSource::BlockTable && arg.rank == 1 ? 1
               : arg.source == ArgSource::BlockTable            ? 2
                                                                : 1;
  } else if (arg.bind == binding::kLse) {
    arg.source = ArgSource::Lse;
    wantElem = DType::F32;
    wantRank = 2;
  } else {
    for (size_t i = 0; i < workspace.size(); ++i) {
      if (workspace[i].name != arg.bind)
        continue;
      arg.source = ArgSource::Workspace;
      arg.workspaceIndex = static_cast<int>(i);
      wantElem = workspace[i].elem;
      wantRank = static_cast<int64_t>(workspace[i].shape.size());
    }
    if (arg.source != ArgSource::Workspace)
      return fail(bindJson, bindPath,
                  "unknown memref binding '" + arg.bind +
                      "' (expected q, k, v, lens, out, block_table, "
                      "page_indptr, lse or a workspace buffer name)");
  }
  if (arg.elem != wantElem)
    return fail(*json.find(key::kElem), joinPath(path, key::kElem),
                "memref '" + arg.bind + "' has element type " +
                    dtypeName(arg.elem) + ", expected " + dtypeName(wantElem));
  if (rank != wantRank)
    return fail(*json.find(key::kRank), joinPath(path, key::kRank),
                "memref '" + arg.bind + "' has rank " + std::to_string(rank) +
                    ", expected " + std::to_string(wantRank));
  return readLayout(json, path, arg);
}

bool BundleReader::readLayout(const JsonValue &json, const std::string &path,
                              ArgSpec &arg) {
  for (auto [name, out] : {std::pair{key::kSizes, &arg.sizes},
                           std::pair{key::kStrides, &arg.strides}}) {
    const JsonValue *list = field(json, path, name, Kind::Array, false);
    if (!list) {
      if (!error.ok())
        return false;
      continue;
    }
    std::string listPath = joinPath(path, name);
    if (list->size() != static_cast<size_t>(arg.rank))
      return fail(*list, listPath,
                  std::to_string(list->size()) + " values for a rank-" +
                      std::to_string(arg.rank) + " memref");
    for (size_t i = 0; i < list->size(); ++i) {
      const JsonValue &item = list->getItems()[i];
      if (!item.isInteger() || item.getInteger() < -1 ||
          item.getInteger() > INT64_MAX / 2)
        return fail(item, indexPath(listPath, i),
                    "expected -1 (dynamic) or a non-negative integer");
      out->push_back(item.getInteger());
    }
  }
  if (arg.sizes.empty() != arg.strides.empty())
    return fail(json, path, "'sizes' and 'strides' come together");
  if (const JsonValue *c = field(json, path, key::kContiguous, Kind::Bool,
                                 false))
    arg.contiguous = c->getBool();
  else if (!error.ok())
    return false;
  return true;
}
