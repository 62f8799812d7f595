//===- ManifestReader.cpp - Reading and validating fd bundle manifests ---===//
//
// The document, its modules, entries and variants; kernels and their
// arguments are read by KernelReader.cpp. Validation is complete here so
// that planning and launching can trust the manifest.
//
//===----------------------------------------------------------------------===//

#include "ManifestReader.h"

#include <algorithm>

#include "FileRead.h"

#include <cmath>
#include <cstdio>
#include <set>

using namespace fd::rt;
using namespace fdb;

/// Why \p name cannot name an entry, module or variant ("" if it can): the
/// names are printed in errors and tables and passed to the C API as
/// NUL-terminated strings, where an embedded NUL would cut them short.
static std::string badName(const std::string &name) {
  if (name.empty())
    return "must not be empty";
  for (unsigned char c : name)
    if (c < 0x20 || c == 0x7f) {
      char code[8];
      std::snprintf(code, sizeof(code), "0x%02x", c);
      return std::string("contains the control character ") + code;
    }
  return "";
}

/// \p x as printf's %g writes it (1e+39, 0.5), for messages.
static std::string showNumber(double x) {
  char text[32];
  std::snprintf(text, sizeof(text), "%g", x);
  return text;
}

bool BundleReader::checkName(const JsonValue &object, const std::string &path,
                             const std::string &name) {
  std::string why = badName(name);
  if (why.empty())
    return true;
  return fail(*object.find(key::kName), joinPath(path, key::kName), why);
}

bool BundleReader::fail(const JsonValue &at, const std::string &path,
                        const std::string &what, ErrorCode code) {
  if (!error.ok())
    return false;
  SourceLocation loc = getSourceLocation(text, at.getOffset());
  std::string where = path.empty() ? "manifest" : path;
  error =
      Status::error(code, sourceName + ": " + where + ": " + what + " (line " +
                              std::to_string(loc.line) + ", column " +
                              std::to_string(loc.column) + ")");
  return false;
}

const JsonValue *BundleReader::field(const JsonValue &object,
                                     const std::string &path, const char *key,
                                     Kind kind, bool required) {
  const JsonValue *value = object.find(key);
  if (!value) {
    if (required)
      fail(object, path,
           std::string("missing required field '") + key + "' (" +
               JsonValue::kindName(kind) + ")");
    return nullptr;
  }
  if (value->getKind() != kind) {
    fail(*value, joinPath(path, key),
         std::string("expected ") + JsonValue::kindName(kind) + ", found " +
             JsonValue::kindName(value->getKind()));
    return nullptr;
  }
  return value;
}

bool BundleReader::readString(const JsonValue &object, const std::string &path,
                              const char *key, std::string &out, bool required,
                              bool nonEmpty) {
  const JsonValue *value = field(object, path, key, Kind::String, required);
  if (!value)
    return error.ok();
  if (nonEmpty && value->getString().empty())
    return fail(*value, joinPath(path, key), "must not be empty");
  out = value->getString();
  return true;
}

bool BundleReader::readInt(const JsonValue &object, const std::string &path,
                           const char *key, int64_t &out, int64_t minValue,
                           int64_t maxValue, bool required) {
  const JsonValue *value = object.find(key);
  if (!value) {
    if (required)
      return fail(object, path,
                  std::string("missing required field '") + key +
                      "' (integer)");
    return true;
  }
  if (!value->isInteger())
    return fail(*value, joinPath(path, key),
                std::string("expected an integer, found ") +
                    (value->isNumber()
                         ? "a non-integral number"
                         : JsonValue::kindName(value->getKind())));
  int64_t v = value->getInteger();
  if (v < minValue || v > maxValue)
    return fail(*value, joinPath(path, key),
                "value " + std::to_string(v) + " is out of range [" +
                    std::to_string(minValue) + ", " + std::to_string(maxValue) +
                    "]");
  out = v;
  return true;
}

bool BundleReader::readDType(const JsonValue &object, const std::string &path,
                             const char *key, DType &out) {
  std::string name;
  if (!readString(object, path, key, name))
    return false;
  std::optional<DType> type = parseDType(name);
  if (!type)
    return fail(*object.find(key), joinPath(path, key),
                "unknown element type '" + name +
                    "' (expected f16, bf16, f32, i32, i64 or f64)");
  out = *type;
  return true;
}
Expected<std::shared_ptr<const Bundle>> BundleReader::read() {
  Expected<JsonValue> parsed = parseJson(text);
  if (!parsed)
    return parsed.getStatus().withContext(sourceName +
                                          ": manifest is not valid JSON");
  const JsonValue &root = *parsed;
  auto bundle = std::make_shared<Bundle>();
  auto result = [&]() -> Expected<std::shared_ptr<const Bundle>> {
    if (!error.ok())
      return error;
    return std::shared_ptr<const Bundle>(std::move(bundle));
  };

  if (!root.isObject()) {
    fail(root, "",
         std::string("expected a JSON object at the top level, "
                     "found ") +
             JsonValue::kindName(root.getKind()));
    return result();
  }

  // Format and version first: a file that is not a v1 bundle should say so
  // rather than complain about the first field it does not recognise.
  std::string format;
  if (!readString(root, "", key::kFormat, format))
    return result();
  if (format != fdb::kFormat) {
    fail(*root.find(key::kFormat), key::kFormat,
         "not an fd bundle: format is '" + format + "', expected '" +
             std::string(fdb::kFormat) + "'");
    return result();
  }
  const JsonValue *version = root.find(key::kVersion);
  if (!version) {
    fail(root, "", "missing required field 'version' (integer)");
    return result();
  }
  if (!version->isInteger()) {
    fail(*version, key::kVersion, "expected an integer");
    return result();
  }
  if (version->getInteger() != fdb::kVersion) {
    fail(*version, key::kVersion,
         "unsupported bundle version " + std::to_string(version->getInteger()) +
             " (this runtime reads version " +
             std::to_string(fdb::kVersion) + ")",
         ErrorCode::Unsupported);
    return result();
  }
  bundle->version = version->getInteger();
  if (!readString(root, "", key::kProducer, bundle->producer,
                  /*required=*/false,
                  /*nonEmpty=*/false))
    return result();

  const JsonValue *modules = field(root, "", key::kModules, Kind::Array, true);
  if (!modules)
    return result();
  std::set<std::string> moduleNames;
  for (size_t i = 0; i < modules->size(); ++i) {
    ModuleSpec module;
    std::string path = indexPath(key::kModules, i);
    if (!readModule(modules->getItems()[i], path, module))
      return result();
    if (!moduleNames.insert(module.name).second) {
      fail(modules->getItems()[i], path,
           "duplicate module name '" + module.name + "'");
      return result();
    }
    moduleEntries.push_back(findPtxEntries(module.ptx));
    bundle->modules.push_back(std::move(module));
  }
  modulesSeen = &bundle->modules;

  const JsonValue *entries = field(root, "", key::kEntries, Kind::Array, true);
  if (!entries)
    return result();
  std::set<std::string> entryNames;
  for (size_t i = 0; i < entries->size(); ++i) {
    EntrySpec entry;
    std::string path = indexPath(key::kEntries, i);
    if (!readEntry(entries->getItems()[i], path, entry))
      return result();
    if (!entryNames.insert(entry.name).second) {
      fail(entries->getItems()[i], path,
           "duplicate entry name '" + entry.name + "'");
      return result();
    }
    bundle->entries.push_back(std::move(entry));
  }
  return result();
}

bool BundleReader::readModule(const JsonValue &json, const std::string &path,
                              ModuleSpec &module) {
  if (!json.isObject())
    return fail(json, path,
                std::string("expected an object, found ") +
                    JsonValue::kindName(json.getKind()));
  if (!readString(json, path, key::kName, module.name) ||
      !readString(json, path, key::kChip, module.chip) ||
      !readString(json, path, key::kFeatures, module.features, false, false) ||
      !readString(json, path, key::kPtx, module.ptx) ||
      !checkName(json, path, module.name))
    return false;
  if (!parseChip(module.chip, module))
    return fail(*json.find(key::kChip), joinPath(path, key::kChip),
                "invalid chip '" + module.chip +
                    "' (expected sm_<major><minor>[a|f], e.g. sm_90)");
  // A PTX whose .target disagrees with "chip" would be checked against the
  // wrong device at load time.
  std::string target = findPtxTarget(module.ptx);
  if (!target.empty() && target != module.chip)
    return fail(*json.find(key::kPtx), joinPath(path, key::kPtx),
                "PTX .target is " + target + " but chip is " + module.chip);
  return true;
}

bool BundleReader::readSize(const JsonValue &json, const std::string &path,
                            const char *what, SizeExpr &size) {
  if (json.isInteger()) {
    if (json.getInteger() < 1 || json.getInteger() > INT32_MAX)
      return fail(json, path,
                  std::string(what) + " " + std::to_string(json.getInteger()) +
                      " is out of range [1, 2147483647]");
    size.constant = json.getInteger();
    return true;
  }
  if (!json.isString())
    return fail(json, path,
                std::string("expected a symbol name or a positive integer, "
                            "found ") +
                    JsonValue::kindName(json.getKind()));
  std::optional<Symbol> symbol = parseSymbol(json.getString());
  if (!symbol)
    return fail(json, path,
                "unknown symbol '" + json.getString() + "' in " + what +
                    " (known: B, Hq, Hkv, D, S, chunk, M, MT)");
  // Plans are made before the caller's K/V buffers are seen, so nothing the
  // plan computes may depend on the cache capacity.
  if (*symbol == Symbol::L)
    return fail(json, path,
                std::string("symbol 'L' (K/V cache capacity) cannot be used "
                            "in ") +
                    what + ": it is unknown when planning");
  size.symbol = symbol;
  return true;
}

bool BundleReader::readFlatGemm(const JsonValue &json, const std::string &path,
                                EntrySpec &entry) {
  FlatGemmSpec &g = entry.gemm;
  if (!readInt(json, path, key::kN, g.n, 1, INT32_MAX) ||
      !readInt(json, path, key::kK, g.k, 1, INT32_MAX))
    return false;
  // The kernels read rows with 16-byte loads.
  if (g.k % 8 != 0)
    return fail(*json.find(key::kK), joinPath(path, key::kK),
                "k = " + std::to_string(g.k) + " is not a multiple of 8");
  if (const JsonValue *bias =
          field(json, path, key::kHasBias, Kind::Bool, false))
    g.hasBias = bias->getBool();
  else if (!error.ok())
    return false;
  g.outDtype = entry.dtype;
  if (json.find(key::kOutDtype)) {
    if (!readDType(json, path, key::kOutDtype, g.outDtype))
      return false;
    if (g.outDtype != entry.dtype && g.outDtype != DType::F32)
      return fail(*json.find(key::kOutDtype), joinPath(path, key::kOutDtype),
                  std::string("out_dtype must be the entry dtype or f32, "
                              "found ") +
                      dtypeName(g.outDtype));
  }
  if (const JsonValue *dispatch =
          field(json, path, key::kDispatch, Kind::Array, false)) {
    std::string dPath = joinPath(path, key::kDispatch);
    if (dispatch->size() == 0)
      return fail(*dispatch, dPath, "dispatch needs at least one rule");
    for (size_t i = 0; i < dispatch->size(); ++i) {
      const JsonValue &item = dispatch->getItems()[i];
      std::string rPath = indexPath(dPath, i);
      if (!item.isObject())
        return fail(item, rPath,
                    std::string("expected a rule object, found ") +
                        JsonValue::kindName(item.getKind()));
      DispatchRule rule;
      rule.maxM = INT64_MAX;
      bool last = i + 1 == dispatch->size();
      if (!readString(item, rPath, key::kKernel, rule.kernel) ||
          !readInt(item, rPath, key::kMaxM, rule.maxM, 1, INT32_MAX, !last))
        return false;
      if (!g.dispatch.empty() && g.dispatch.back().maxM >= rule.maxM)
        return fail(item, rPath,
                    "max_m " + std::to_string(rule.maxM) +
                        " does not increase on the rule before (" +
                        std::to_string(g.dispatch.back().maxM) + ")");
      g.dispatch.push_back(std::move(rule));
    }
  } else if (!error.ok()) {
    return false;
  }
  return true;
}

bool BundleReader::checkFlatGemmKernels(
    const JsonValue &kernels, const std::string &path, const EntrySpec &entry,
    const std::vector<KernelSpec> &gemmKernels) {
  std::set<std::string> roles;
  for (size_t i = 0; i < gemmKernels.size(); ++i) {
    const KernelSpec &k = gemmKernels[i];
    const JsonValue &at = kernels.getItems()[i];
    std::string kPath = indexPath(joinPath(path, key::kKernels), i);
    if (!gemm_kernel::isGemmKernel(k.role))
      return fail(at, kPath,
                  "flat_gemm kernel '" + k.symbol + "' has role '" + k.role +
                      "' (expected gemv, mma_m<rows> or direct_m<rows>)");
    if (!roles.insert(k.role).second)
      return fail(at, kPath,
                  "two flat_gemm kernels have role '" + k.role + "'");
    if (k.mTile < 1)
      return fail(at, kPath,
                  "flat_gemm kernel '" + k.symbol + "' lacks 'm_tile'");
    // The runtime binds exactly x, w, [bias], y, each once.
    bool seen[4] = {false, false, false, false};
    for (const ArgSpec &a : k.args) {
      int slot = a.source == ArgSource::X      ? 0
                 : a.source == ArgSource::W    ? 1
                 : a.source == ArgSource::Bias ? 2
                 : a.source == ArgSource::Y    ? 3
                                               : -1;
      if (slot < 0 || seen[slot])
        return fail(at, kPath,
                    "flat_gemm kernel '" + k.symbol + "' binds '" + a.bind +
                        "' (expected x, w, bias, y, each at most once)");
      seen[slot] = true;
    }
    if (!seen[0] || !seen[1] || !seen[3] || seen[2] != entry.gemm.hasBias)
      return fail(at, kPath,
                  "flat_gemm kernel '" + k.symbol + "' must bind x, w and y" +
                      (entry.gemm.hasBias ? " and bias" : " and no bias") +
                      " (has_bias is " +
                      (entry.gemm.hasBias ? "true" : "false") + ")");
  }
  return true;
}

bool BundleReader::checkDispatchKernels(
    const JsonValue &json, const std::string &path, const EntrySpec &entry,
    const std::vector<KernelSpec> &gemmKernels) {
  const std::vector<DispatchRule> &rules = entry.gemm.dispatch;
  for (size_t i = 0; i < rules.size(); ++i) {
    bool known = std::any_of(
        gemmKernels.begin(), gemmKernels.end(),
        [&](const KernelSpec &k) { return k.role == rules[i].kernel; });
    if (known)
      continue;
    std::string have;
    for (const KernelSpec &k : gemmKernels)
      have += (have.empty() ? "" : ", ") + k.role;
    const JsonValue &item = json.find(key::kDispatch)->getItems()[i];
    return fail(item, indexPath(joinPath(path, key::kDispatch), i),
                "dispatch rule names the kernel '" + rules[i].kernel +
                    "', which the entry does not have (its kernels: " + have +
                    ")");
  }
  return true;
}

bool BundleReader::readSplit(const JsonValue &json, const std::string &path,
                             SplitPolicy &split) {
  std::string mode;
  if (!readString(json, path, key::kMode, mode))
    return false;
  if (mode == split_mode::kAuto)
    split.mode = SplitMode::Auto;
  else if (mode == split_mode::kFixed)
    split.mode = SplitMode::Fixed;
  else if (mode == split_mode::kChunk)
    split.mode = SplitMode::Chunk;
  else
    return fail(*json.find(key::kMode), joinPath(path, key::kMode),
                "unknown split mode '" + mode +
                    "' (expected auto, fixed or chunk)");
  // A field the mode uses must be present and at least 1; the others may be
  // absent or 0 (fd-compile writes 0 for unused ones).
  bool isAuto = split.mode == SplitMode::Auto;
  bool isFixed = split.mode == SplitMode::Fixed;
  bool isChunk = split.mode == SplitMode::Chunk;
  auto rd = [&](const char *key, int64_t &out, bool used) {
    return readInt(json, path, key, out, used ? 1 : 0, INT32_MAX, used);
  };
  if (!rd(key::kNumSplits, split.numSplits, isFixed) ||
      !rd(key::kChunkSize, split.chunkSize, isChunk) ||
      !rd(key::kCtasPerSm, split.ctasPerSm, isAuto) ||
      !rd(key::kMinChunk, split.minChunk, isAuto) ||
      !rd(key::kChunkAlign, split.chunkAlign, isAuto || isFixed) ||
      !rd(key::kMaxSplits, split.maxSplits, isAuto))
    return false;
  return true;
}

bool BundleReader::readSoftmax(const JsonValue &json, const std::string &path,
                               SoftmaxSpec &softmax) {
  if (!readString(json, path, key::kKind, softmax.kind))
    return false;
  if (softmax.kind == softmax::kOnline)
    return true;
  if (softmax.kind != softmax::kUnifiedMax)
    return fail(*json.find(key::kKind), joinPath(path, key::kKind),
                "unknown softmax kind '" + softmax.kind +
                    "' (expected online or unified_max)");
  const JsonValue *phi = field(json, path, key::kPhi, Kind::Number, true);
  if (!phi)
    return false;
  const JsonValue *threshold =
      field(json, path, key::kThreshold, Kind::Number, true);
  if (!threshold)
    return false;
  // The kernels compute with both in f32: beyond FLT_MAX they would be
  // infinite there, and a threshold <= 0 leaves no score inside the band.
  const double limit = kMaxUnifiedMaxValue;
  if (!std::isfinite(phi->getNumber()) || std::fabs(phi->getNumber()) > limit)
    return fail(*phi, joinPath(path, key::kPhi),
                "phi " + showNumber(phi->getNumber()) +
                    " is outside the f32 range [-3.40282e+38, 3.40282e+38]");
  if (!(threshold->getNumber() > 0) || threshold->getNumber() > limit)
    return fail(*threshold, joinPath(path, key::kThreshold),
                "threshold " + showNumber(threshold->getNumber()) +
                    " is not in (0, 3.40282e+38]");
  softmax.phi = phi->getNumber();
  softmax.threshold = threshold->getNumber();
  return true;
}

bool BundleReader::readWorkspace(const JsonValue &json, const std::string &path,
                                 WorkspaceSpec &buffer) {
  if (!json.isObject())
    return fail(json, path,
                std::string("expected an object, found ") +
                    JsonValue::kindName(json.getKind()));
  if (!readString(json, path, key::kName, buffer.name) ||
      !readDType(json, path, key::kElem, buffer.elem))
    return false;
  const JsonValue *shape = field(json, path, key::kShape, Kind::Array, true);
  if (!shape)
    return false;
  if (shape->size() > 8)
    return fail(*shape, joinPath(path, key::kShape),
                "rank " + std::to_string(shape->size()) +
                    " is larger than the supported 8");
  for (size_t i = 0; i < shape->size(); ++i) {
    SizeExpr size;
    if (!readSize(shape->getItems()[i],
                  indexPath(joinPath(path, key::kShape), i), "workspace shape",
                  size))
      return false;
    buffer.shape.push_back(size);
  }
  return true;
}

bool BundleReader::readEntry(const JsonValue &json, const std::string &path,
                             EntrySpec &entry) {
  if (!json.isObject())
    return fail(json, path,
                std::string("expected an object, found ") +
                    JsonValue::kindName(json.getKind()));
  if (!readString(json, path, key::kName, entry.name, true, false) ||
      !checkName(json, path, entry.name) ||
      !readString(json, path, key::kOp, entry.opName))
    return false;
  if (entry.opName == op::kDecodeAttention)
    entry.op = OpKind::DecodeAttention;
  else if (entry.opName == op::kFlatGemm)
    entry.op = OpKind::FlatGemm;
  else if (entry.opName == op::kMergeStates)
    entry.op = OpKind::MergeStates;
  else
    return fail(*json.find(key::kOp), joinPath(path, key::kOp),
                "unknown op '" + entry.opName +
                    "' (expected decode_attention, flat_gemm or "
                    "merge_states)");
  if (!readDType(json, path, key::kDtype, entry.dtype))
    return false;
  if (entry.dtype != DType::F16 && entry.dtype != DType::BF16)
    return fail(*json.find(key::kDtype), joinPath(path, key::kDtype),
                std::string("entry dtype must be f16 or bf16, found ") +
                    dtypeName(entry.dtype));

  if (entry.op == OpKind::FlatGemm && !readFlatGemm(json, path, entry))
    return false;
  // The attention geometry and policy are what the runtime plans and checks
  // tensors with, so a decode_attention entry must state all of them. Other
  // ops are listed but not launched; their fields are checked if present.
  bool attention = entry.op == OpKind::DecodeAttention;
  bool merge = entry.op == OpKind::MergeStates;
  if (!readInt(json, path, key::kNumQHeads, entry.numQHeads, 1, 65535,
               attention || merge) ||
      !readInt(json, path, key::kNumKvHeads, entry.numKvHeads, 1, 65535,
               attention) ||
      !readInt(json, path, key::kHeadDim, entry.headDim, 1, 65535,
               attention || merge) ||
      !readInt(json, path, key::kNumStates, entry.merge.numStates, 2,
               kMaxMergedStates, merge))
    return false;
  if ((attention || merge) && !isSupportedHeadDim(entry.headDim))
    return fail(*json.find(key::kHeadDim), joinPath(path, key::kHeadDim),
                "head_dim " + std::to_string(entry.headDim) +
                    " is not one the kernels are written for (64, 128 or "
                    "256)");
  if (attention && entry.numQHeads % entry.numKvHeads != 0)
    return fail(*json.find(key::kNumQHeads), joinPath(path, key::kNumQHeads),
                "num_q_heads (" + std::to_string(entry.numQHeads) +
                    ") is not a multiple of num_kv_heads (" +
                    std::to_string(entry.numKvHeads) + ")");
  if (const JsonValue *scale =
          field(json, path, key::kScale, Kind::Number, attention)) {
    if (!std::isfinite(scale->getNumber()))
      return fail(*scale, joinPath(path, key::kScale), "must be finite");
    // Scores are scale * q.k: a scale <= 0 inverts or flattens attention.
    if (attention && !(scale->getNumber() > 0))
      return fail(*scale, joinPath(path, key::kScale),
                  "must be positive, found " + showNumber(scale->getNumber()));
    entry.scale = scale->getNumber();
  } else if (!error.ok()) {
    return false;
  }
  if (const JsonValue *softmax =
          field(json, path, key::kSoftmax, Kind::Object, attention)) {
    if (!readSoftmax(*softmax, joinPath(path, key::kSoftmax), entry.softmax))
      return false;
  } else if (!error.ok()) {
    return false;
  }
  if (const JsonValue *split =
          field(json, path, key::kSplit, Kind::Object, attention)) {
    if (!readSplit(*split, joinPath(path, key::kSplit), entry.split))
      return false;
  } else if (!error.ok()) {
    return false;
  }

  // A unified-max launch needs a zeroed workspace and the state buffers
  // (fallback counter, phi) that only a variant declares.
  if (attention && entry.softmax.kind == softmax::kUnifiedMax &&
      !json.find(key::kVariants))
    return fail(json, path,
                "a unified_max entry must list its launch variants "
                "(two_kernel, single_launch) in 'variants'");
  if (merge && json.find(key::kVariants))
    return fail(*json.find(key::kVariants), joinPath(path, key::kVariants),
                "a merge_states entry has one kernel and no launch variants");
  VariantSpec top;
  if (!readLaunch(json, path, entry, top))
    return false;
  std::vector<VariantSpec> variants;
  if (json.find(key::kVariants) &&
      !readVariants(json, path, entry, top, variants))
    return false;
  if (entry.op == OpKind::FlatGemm) {
    // One GEMM kernel per tiling, chosen per call: the entry's kernels are
    // not a launch sequence, so it has no launch variants.
    entry.gemm.kernels = std::move(top.kernels);
    return true;
  }
  if (merge) {
    entry.merge.kernels = std::move(top.kernels);
    return collectMergeStatesTensors(json, path, entry);
  }
  if (variants.empty())
    variants.push_back(std::move(top));
  entry.variants = std::move(variants);
  return collectTensors(json, path, entry);
}

/// The Tensor a memref argument binds, if it binds a caller tensor.
static std::optional<Tensor> tensorOf(ArgSource source) {
  switch (source) {
  case ArgSource::Q:
    return Tensor::Q;
  case ArgSource::K:
    return Tensor::K;
  case ArgSource::V:
    return Tensor::V;
  case ArgSource::Lens:
    return Tensor::Lens;
  case ArgSource::Out:
    return Tensor::Out;
  case ArgSource::BlockTable:
    return Tensor::BlockTable;
  case ArgSource::Lse:
    return Tensor::Lse;
  case ArgSource::PageIndptr:
    return Tensor::PageIndptr;
  default:
    return std::nullopt;
  }
}

bool BundleReader::collectTensors(const JsonValue &json,
                                  const std::string &path, EntrySpec &entry) {
  // Every kernel argument bound to one tensor comes from one function
  // argument, so all must agree; a bundle where they do not was not
  // written by fd-compile.
  for (const VariantSpec &variant : entry.variants)
    for (const KernelSpec &kernel : variant.kernels)
      for (const ArgSpec &arg : kernel.args) {
        std::optional<Tensor> t = tensorOf(arg.source);
        if (!t)
          continue;
        TensorSpec &spec = entry.tensors[static_cast<int>(*t)];
        if (!spec.present) {
          spec = {true, arg.elem, arg.rank, arg.sizes, arg.strides,
                  arg.contiguous};
          continue;
        }
        if (spec.elem != arg.elem || spec.sizes != arg.sizes ||
            spec.strides != arg.strides || spec.contiguous != arg.contiguous)
          return fail(json, path,
                      "kernel '" + kernel.symbol + "' takes '" + arg.bind +
                          "' with another type or layout than an earlier "
                          "kernel of the entry");
      }
  // The kernels were compiled for the static sizes the manifest records; a
  // head_dim or num_q_heads that disagrees would be what the runtime checks
  // caller tensors and sizes workspaces with, while the kernels use theirs.
  struct Dim {
    Tensor tensor;
    std::string_view name;
    int dim; // -1: the last
    const char *field;
    int64_t value;
  };
  const Dim dims[] = {
      {Tensor::Q, binding::kQ, -1, key::kHeadDim, entry.headDim},
      {Tensor::K, binding::kK, -1, key::kHeadDim, entry.headDim},
      {Tensor::V, binding::kV, -1, key::kHeadDim, entry.headDim},
      {Tensor::Out, binding::kOut, -1, key::kHeadDim, entry.headDim},
      {Tensor::Q, binding::kQ, 1, key::kNumQHeads, entry.numQHeads},
      {Tensor::Out, binding::kOut, 1, key::kNumQHeads, entry.numQHeads},
  };
  for (const Dim &d : dims) {
    const TensorSpec &spec = entry.tensor(d.tensor);
    if (!spec.present || spec.sizes.empty())
      continue;
    size_t i = d.dim < 0 ? spec.sizes.size() - 1 : size_t(d.dim);
    if (i >= spec.sizes.size() || spec.sizes[i] < 0 ||
        spec.sizes[i] == d.value)
      continue;
    return fail(*json.find(d.field), joinPath(path, d.field),
                std::string(d.field) + " " + std::to_string(d.value) +
                    " disagrees with the kernels: '" + std::string(d.name) +
                    "' has static size " + std::to_string(spec.sizes[i]) +
                    " in dim " + std::to_string(i));
  }
  const TensorSpec &table = entry.tensor(Tensor::BlockTable);
  const TensorSpec &k = entry.tensor(Tensor::K);
  const TensorSpec &indptr = entry.tensor(Tensor::PageIndptr);
  if (indptr.present && !table.present)
    return fail(json, path,
                "an entry with 'page_indptr' must take 'block_table' (the CSR "
                "page list)");
  if (table.present && table.rank != (indptr.present ? 1 : 2))
    return fail(json, path,
                indptr.present
                    ? "with 'page_indptr', 'block_table' must be rank 1 "
                      "[nnz_pages]"
                    : "'block_table' must be rank 2 [B, max_pages] (rank 1 "
                      "only with 'page_indptr')");
  if (table.present) {
    // The kernels divide by the page size; it is static in the compiled
    // code, so the manifest must say it.
    if (k.sizes.size() != 4 || k.sizes[2] < 1)
      return fail(json, path,
                  "a paged entry (with 'block_table') must record k's static "
                  "page size (dim 2 of its 'sizes')");
    entry.pageSize = k.sizes[2];
  }
  return true;
}

bool BundleReader::collectMergeStatesTensors(const JsonValue &json,
                                             const std::string &path,
                                             EntrySpec &entry) {
  MergeStatesSpec &m = entry.merge;
  m.outs.assign(static_cast<size_t>(m.numStates), TensorSpec());
  m.lses.assign(static_cast<size_t>(m.numStates), TensorSpec());
  // checkMergeStatesKernels saw each binding once in the one kernel.
  for (const ArgSpec &arg : m.kernels.front().args) {
    TensorSpec *spec = nullptr;
    if (arg.source == ArgSource::StateOut)
      spec = &m.outs[arg.stateIndex];
    else if (arg.source == ArgSource::StateLse)
      spec = &m.lses[arg.stateIndex];
    else if (arg.source == ArgSource::Out || arg.source == ArgSource::Lse)
      spec = &entry.tensors[static_cast<int>(*tensorOf(arg.source))];
    if (spec)
      *spec = {true, arg.elem, arg.rank, arg.sizes, arg.strides,
               arg.contiguous};
  }
  // As for attention: the static [Hq, D] of every tensor must be the
  // entry's, which the runtime checks tensors with.
  auto check = [&](const TensorSpec &spec, const std::string &name) {
    struct {
      size_t dim;
      const char *field;
      int64_t value;
    } dims[] = {{1, key::kNumQHeads, entry.numQHeads},
                {2, key::kHeadDim, entry.headDim}};
    for (const auto &d : dims) {
      if (!spec.present || d.dim >= spec.sizes.size() ||
          spec.sizes[d.dim] < 0 || spec.sizes[d.dim] == d.value)
        continue;
      return fail(*json.find(d.field), joinPath(path, d.field),
                  std::string(d.field) + " " + std::to_string(d.value) +
                      " disagrees with the kernel: '" + name +
                      "' has static size " + std::to_string(spec.sizes[d.dim]) +
                      " in dim " + std::to_string(d.dim));
    }
    return true;
  };
  for (size_t i = 0; i < m.outs.size(); ++i)
    if (!check(m.outs[i], std::string(binding::kStateOutPrefix) +
                              std::to_string(i)) ||
        !check(m.lses[i], std::string(binding::kStateLsePrefix) +
                              std::to_string(i)))
      return false;
  return check(entry.tensor(Tensor::Out), std::string(binding::kOut)) &&
         check(entry.tensor(Tensor::Lse), std::string(binding::kLse));
}

bool BundleReader::checkMergeStatesKernels(const JsonValue &kernels,
                                           const std::string &path,
                                           const EntrySpec &entry,
                                           const VariantSpec &launch) {
  std::string kernelsPath = joinPath(path, key::kKernels);
  if (!launch.workspace.empty())
    return fail(kernels, kernelsPath,
                "a merge_states entry takes no workspace");
  if (launch.kernels.size() != 1)
    return fail(kernels, kernelsPath,
                "a merge_states entry has exactly one kernel, found " +
                    std::to_string(launch.kernels.size()));
  const KernelSpec &k = launch.kernels.front();
  const JsonValue &kJson = kernels.getItems()[0];
  std::string kPath = indexPath(kernelsPath, 0);
  if (k.role != role::kMergeStates)
    return fail(kJson, kPath,
                "merge_states kernel '" + k.symbol + "' has role '" + k.role +
                    "', expected merge_states");
  // The kernel's thread (x, y) of CTA (X, Y) merges elements 8x .. 8x + 7
  // of row (Y, X * rows + y): another block or grid would read and write
  // outside the tensors or leave rows unwritten.
  const int64_t perRow = entry.headDim / kMergeStatesElemsPerThread;
  const int64_t rows = k.block[1];
  if (k.block[0] != perRow || k.block[2] != 1 || rows > entry.numQHeads)
    return fail(kJson, joinPath(kPath, key::kBlock),
                "a merge_states kernel's block must be [head_dim / " +
                    std::to_string(kMergeStatesElemsPerThread) + " = " +
                    std::to_string(perRow) + ", rows <= num_q_heads (" +
                    std::to_string(entry.numQHeads) + "), 1], found [" +
                    std::to_string(k.block[0]) + ", " +
                    std::to_string(k.block[1]) + ", " +
                    std::to_string(k.block[2]) + "]");
  const int64_t ctas = (entry.numQHeads + rows - 1) / rows;
  bool grid = !k.grid[0].symbol && k.grid[0].constant == ctas &&
              k.grid[1].symbol == Symbol::B && !k.grid[2].symbol &&
              k.grid[2].constant == 1;
  if (!grid)
    return fail(kJson, joinPath(kPath, key::kGrid),
                "a merge_states kernel's grid must be [ceil(num_q_heads / " +
                    std::to_string(rows) + " rows per CTA) = " +
                    std::to_string(ctas) + ", B], found [" +
                    toString(k.grid[0]) + ", " + toString(k.grid[1]) + ", " +
                    toString(k.grid[2]) + "]");
  std::vector<int> outs(entry.merge.numStates, 0), lses(outs);
  int out = 0, lse = 0;
  for (const ArgSpec &a : k.args) {
    if (a.source == ArgSource::Symbol &&
        a.symbol != Symbol::B && a.symbol != Symbol::Hq &&
        a.symbol != Symbol::D)
      return fail(kJson, joinPath(kPath, key::kArgs),
                  std::string("a merge_states kernel can take the scalars B, "
                              "Hq and D only, found '") +
                      a.bind + "'");
    if (a.source == ArgSource::Scale)
      return fail(kJson, joinPath(kPath, key::kArgs),
                  "a merge_states entry has no softmax scale");
    int &seen = a.source == ArgSource::StateOut   ? outs[a.stateIndex]
                : a.source == ArgSource::StateLse ? lses[a.stateIndex]
                : a.source == ArgSource::Out      ? out
                                                  : lse;
    if (a.source != ArgSource::Symbol && ++seen > 1)
      return fail(kJson, joinPath(kPath, key::kArgs),
                  "kernel '" + k.symbol + "' binds '" + a.bind + "' twice");
  }
  for (int64_t i = 0; i < entry.merge.numStates; ++i)
    if (!outs[i] || !lses[i])
      return fail(kJson, joinPath(kPath, key::kArgs),
                  "kernel '" + k.symbol + "' does not bind '" +
                      std::string(!outs[i] ? binding::kStateOutPrefix
                                           : binding::kStateLsePrefix) +
                      std::to_string(i) + "' of its " +
                      std::to_string(entry.merge.numStates) + " states");
  if (!out)
    return fail(kJson, joinPath(kPath, key::kArgs),
                "kernel '" + k.symbol + "' does not bind 'out'");
  return true;
}

bool BundleReader::readLaunch(const JsonValue &json, const std::string &path,
                              const EntrySpec &entry, VariantSpec &launch) {
  bool attention = entry.op == OpKind::DecodeAttention;
  if (const JsonValue *workspace =
          field(json, path, key::kWorkspace, Kind::Array, attention)) {
    std::string wsPath = joinPath(path, key::kWorkspace);
    if (workspace->size() > kMaxWorkspaceBuffers)
      return fail(*workspace, wsPath,
                  std::to_string(workspace->size()) +
                      " buffers, more than the supported " +
                      std::to_string(kMaxWorkspaceBuffers));
    std::set<std::string> names;
    for (std::string_view tensor :
         {binding::kQ, binding::kK, binding::kV, binding::kLens, binding::kOut,
          binding::kBlockTable, binding::kLse, binding::kPageIndptr})
      names.emplace(tensor);
    for (size_t i = 0; i < workspace->size(); ++i) {
      WorkspaceSpec buffer;
      if (!readWorkspace(workspace->getItems()[i], indexPath(wsPath, i),
                         buffer))
        return false;
      if (!names.insert(buffer.name).second)
        return fail(workspace->getItems()[i], indexPath(wsPath, i),
                    "workspace name '" + buffer.name +
                        "' is already used by another buffer or tensor");
      launch.workspace.push_back(std::move(buffer));
    }
  } else if (!error.ok()) {
    return false;
  }

  const JsonValue *kernels =
      field(json, path, key::kKernels, Kind::Array, true);
  if (!kernels)
    return false;
  std::string kernelsPath = joinPath(path, key::kKernels);
  if (kernels->size() == 0)
    return fail(*kernels, kernelsPath, "an entry needs at least one kernel");
  for (size_t i = 0; i < kernels->size(); ++i) {
    KernelSpec kernel;
    if (!readKernel(kernels->getItems()[i], indexPath(kernelsPath, i), entry,
                    launch.workspace, kernel))
      return false;
    launch.kernels.push_back(std::move(kernel));
  }
  if (entry.op == OpKind::FlatGemm)
    return checkFlatGemmKernels(*kernels, path, entry, launch.kernels) &&
           checkDispatchKernels(json, path, entry, launch.kernels);
  if (entry.op == OpKind::MergeStates)
    return checkMergeStatesKernels(*kernels, path, entry, launch);
  // Kernels are launched in manifest order (docs/bundle.md); a merge before
  // the partial kernel it consumes would read a workspace not yet written.
  const std::vector<KernelSpec> &seq = launch.kernels;
  for (size_t i = 0; i < seq.size(); ++i) {
    if (seq[i].role != role::kMerge)
      continue;
    for (size_t j = i + 1; j < seq.size(); ++j)
      if (seq[j].role == role::kPartial)
        return fail(kernels->getItems()[i], indexPath(kernelsPath, i),
                    "kernel '" + seq[i].symbol +
                        "' (role merge) comes before kernel '" + seq[j].symbol +
                        "' (role partial), but kernels are launched in "
                        "manifest order: the merge would read partial "
                        "results not yet written");
  }
  return true;
}

bool BundleReader::checkOnlineWorkspace(const JsonValue &item,
                                       const std::string &path,
                                       const VariantSpec &variant) {
  // Buffers that only the unified-max variants have (their state, row
  // flags, the single launch's accumulators): an online variant holding one
  // was given a unified-max launch's kernels under an online name.
  std::set<std::string_view> online, unifiedOnly;
  fdb::workspace::forEachBuffer(
      variant::kSplit,
      [&](const fdb::WorkspaceBuffer &b) { online.insert(b.name); });
  for (std::string_view v : {variant::kTwoKernel, variant::kSingleLaunch})
    fdb::workspace::forEachBuffer(v, [&](const fdb::WorkspaceBuffer &b) {
      if (!online.count(b.name))
        unifiedOnly.insert(b.name);
    });
  for (size_t w = 0; w < variant.workspace.size(); ++w)
    if (unifiedOnly.count(variant.workspace[w].name))
      return fail(item, path,
                  "variant '" + variant.name + "' has the workspace buffer '" +
                      variant.workspace[w].name +
                      "' of a unified-max launch: its kernels are not an "
                      "online-softmax " + variant.name + " launch");
  for (const char *key :
       {key::kFallbackCounter, key::kPhiBuffer, key::kScoreStats})
    if (item.find(key))
      return fail(*item.find(key), joinPath(path, key),
                  "variant '" + variant.name +
                      "' is an online-softmax launch: only unified-max "
                      "variants have '" + key + "'");
  return true;
}

bool BundleReader::readVariants(const JsonValue &json, const std::string &path,
                                const EntrySpec &entry, const VariantSpec &top,
                                std::vector<VariantSpec> &result) {
  std::string vPath = joinPath(path, key::kVariants);
  const JsonValue *variants =
      field(json, path, key::kVariants, Kind::Array, true);
  if (!variants)
    return false;
  if (variants->size() == 0)
    return fail(*variants, vPath, "an entry's variants list cannot be empty");
  for (size_t i = 0; i < variants->size(); ++i) {
    const JsonValue &item = variants->getItems()[i];
    std::string itemPath = indexPath(vPath, i);
    if (!item.isObject())
      return fail(item, itemPath,
                  std::string("expected an object, found ") +
                      JsonValue::kindName(item.getKind()));
    VariantSpec variant;
    if (!readString(item, itemPath, key::kName, variant.name, true, false) ||
        !checkName(item, itemPath, variant.name))
      return false;
    const JsonValue &nameJson = *item.find(key::kName);
    std::string namePath = joinPath(itemPath, key::kName);
    bool attention = entry.op == OpKind::DecodeAttention;
    // The planner chooses among, and the launcher initialises, only the
    // schema's variants; another name would be launched as variant 0's
    // kind with no one knowing what its kernels expect.
    if (attention && !variant::isKnown(variant.name))
      return fail(nameJson, namePath,
                  "unknown variant name '" + variant.name +
                      "' (expected split, unsplit, split_cluster, "
                      "two_kernel or single_launch)");
    bool unifiedEntry = entry.softmax.kind == softmax::kUnifiedMax;
    if (attention && variant::isUnifiedMax(variant.name) != unifiedEntry)
      return fail(nameJson, namePath,
                  "variant '" + variant.name + "' is " +
                      (unifiedEntry ? "an online-softmax" : "a unified-max") +
                      " launch but the entry's softmax is " +
                      entry.softmax.kind);
    for (const VariantSpec &seen : result)
      if (seen.name == variant.name)
        return fail(item, itemPath,
                    "variant name '" + variant.name + "' is used twice");
    std::string init(kWorkspaceInitNone);
    if (!readString(item, itemPath, key::kWorkspaceInit, init, false))
      return false;
    if (init != kWorkspaceInitNone && init != kWorkspaceInitZero)
      return fail(*item.find(key::kWorkspaceInit),
                  joinPath(itemPath, key::kWorkspaceInit),
                  "unknown workspace_init '" + init +
                      "' (expected none or zero)");
    variant.workspaceZeroInit = init == kWorkspaceInitZero;
    if (!readLaunch(item, itemPath, entry, variant))
      return false;
    // The planner takes the cluster's x extent as the split count, and the
    // kernel merges its splits across the cluster: anything else would be
    // planned for splits that no CTA merges.
    if (attention && variant.name == variant::kSplitCluster &&
        (variant.kernels.size() != 1 || variant.kernels[0].cluster[0] < 2 ||
         variant.kernels[0].cluster[1] != 1 ||
         variant.kernels[0].cluster[2] != 1))
      return fail(item, itemPath,
                  "variant '" + variant.name +
                      "' must be one kernel with a cluster of 2 or more CTAs "
                      "along x only: its CTAs merge the splits across the "
                      "cluster");
    if (attention && !variant::isUnifiedMax(variant.name) &&
        !checkOnlineWorkspace(item, itemPath, variant))
      return false;
    // A named workspace buffer of the variant with the given element type
    // and number of elements.
    auto readBufferRef = [&](const char *key, DType elem, int64_t elems,
                             int &index) {
      std::string name;
      if (!readString(item, itemPath, key, name, false))
        return false;
      if (name.empty())
        return true;
      for (size_t w = 0; w < variant.workspace.size(); ++w)
        if (variant.workspace[w].name == name)
          index = static_cast<int>(w);
      bool ok = index >= 0 && variant.workspace[index].elem == elem &&
                variant.workspace[index].shape.size() == 1 &&
                !variant.workspace[index].shape[0].symbol &&
                variant.workspace[index].shape[0].constant == elems;
      if (!ok)
        return fail(*item.find(key), joinPath(itemPath, key),
                    std::string(key) + " '" + name + "' is not an " +
                        dtypeName(elem) + " [" + std::to_string(elems) +
                        "] workspace buffer of the variant");
      return true;
    };
    if (!readBufferRef(key::kFallbackCounter, DType::I32, 1,
                       variant.fallbackCounter) ||
        !readBufferRef(key::kPhiBuffer, DType::F32, 1, variant.phiBuffer) ||
        !readBufferRef(key::kScoreStats, DType::I32, 4, variant.scoreStats))
      return false;
    result.push_back(std::move(variant));
  }
  // The top level repeats the first variant, for readers without variants;
  // the runtime reads the variants alone.
  const VariantSpec &first = result.front();
  bool same = first.kernels.size() == top.kernels.size();
  for (size_t k = 0; same && k < first.kernels.size(); ++k)
    same = first.kernels[k].symbol == top.kernels[k].symbol;
  if (!same)
    return fail(*variants, vPath,
                "the entry's top-level kernels must be those of its first "
                "variant '" +
                    first.name + "'");
  return true;
}

Expected<std::shared_ptr<const Bundle>>
Bundle::loadMemory(std::string_view text, std::string_view sourceName) {
  if (text.size() > kMaxBundleBytes)
    return Status::error(ErrorCode::InvalidBundle,
                         std::string(sourceName) + ": manifest is " +
                             std::to_string(text.size()) +
                             " bytes, more than the " +
                             std::to_string(kMaxBundleBytes) +
                             " this runtime reads");
  return BundleReader(text, sourceName).read();
}

Expected<std::shared_ptr<const Bundle>>
Bundle::loadFile(const std::string &path) {
  Expected<std::string> contents = readRegularFile(path, "bundle",
                                                   kMaxBundleBytes);
  if (!contents)
    return contents.getStatus();
  return loadMemory(*contents, path);
}
