//===- Bundle.cpp - Reading and validating fd bundle manifests ------------===//
//
// Validation is complete here so that planning and launching can trust the
// manifest: every error names the JSON path and line of the bad field.
//
//===----------------------------------------------------------------------===//

#include "fd/Runtime/Bundle.h"
#include "fd/Runtime/Planner.h"
#include "fd/Runtime/Json.h"

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <set>

using namespace fd::rt;

//===----------------------------------------------------------------------===//
// Names
//===----------------------------------------------------------------------===//

const char *fd::rt::dtypeName(DType type) {
  switch (type) {
  case DType::F16:
    return "f16";
  case DType::BF16:
    return "bf16";
  case DType::F32:
    return "f32";
  case DType::I32:
    return "i32";
  case DType::I64:
    return "i64";
  case DType::F64:
    return "f64";
  }
  return "?";
}

size_t fd::rt::dtypeSize(DType type) {
  switch (type) {
  case DType::F16:
  case DType::BF16:
    return 2;
  case DType::F32:
  case DType::I32:
    return 4;
  case DType::I64:
  case DType::F64:
    return 8;
  }
  return 0;
}

std::optional<DType> fd::rt::parseDType(std::string_view name) {
  for (DType t : {DType::F16, DType::BF16, DType::F32, DType::I32, DType::I64,
                  DType::F64})
    if (name == dtypeName(t))
      return t;
  return std::nullopt;
}

const char *fd::rt::symbolName(Symbol symbol) {
  switch (symbol) {
  case Symbol::B:
    return "B";
  case Symbol::Hq:
    return "Hq";
  case Symbol::Hkv:
    return "Hkv";
  case Symbol::D:
    return "D";
  case Symbol::L:
    return "L";
  case Symbol::S:
    return "S";
  case Symbol::Chunk:
    return "chunk";
  case Symbol::M:
    return "M";
  case Symbol::MT:
    return "MT";
  }
  return "?";
}

std::optional<Symbol> fd::rt::parseSymbol(std::string_view name) {
  for (int i = 0; i < kNumSymbols; ++i)
    if (name == symbolName(static_cast<Symbol>(i)))
      return static_cast<Symbol>(i);
  return std::nullopt;
}

std::string fd::rt::toString(const SizeExpr &size) {
  if (size.symbol)
    return symbolName(*size.symbol);
  return std::to_string(size.constant);
}

size_t KernelSpec::getNumParams() const {
  size_t n = 0;
  for (const ArgSpec &arg : args)
    n += arg.getNumParams();
  return n;
}

const EntrySpec *Bundle::findEntry(std::string_view name) const {
  int index = findEntryIndex(name);
  return index < 0 ? nullptr : &entries[index];
}

int Bundle::findEntryIndex(std::string_view name) const {
  for (size_t i = 0; i < entries.size(); ++i)
    if (entries[i].name == name)
      return static_cast<int>(i);
  return -1;
}

//===----------------------------------------------------------------------===//
// Chips
//===----------------------------------------------------------------------===//

/// Parses "sm_90", "sm_90a", "sm_100f" into the module's compute capability.
static bool parseChip(std::string_view chip, ModuleSpec &module) {
  if (chip.substr(0, 3) != "sm_")
    return false;
  std::string_view rest = chip.substr(3);
  char suffix = 0;
  if (!rest.empty() && (rest.back() == 'a' || rest.back() == 'f')) {
    suffix = rest.back();
    rest.remove_suffix(1);
  }
  if (rest.size() < 2 || rest.size() > 3)
    return false;
  for (char c : rest)
    if (c < '0' || c > '9')
      return false;
  // The last digit is the minor version: sm_90 is 9.0, sm_120 is 12.0.
  module.ccMajor = std::stoi(std::string(rest.substr(0, rest.size() - 1)));
  module.ccMinor = rest.back() - '0';
  module.archSuffix = suffix;
  return true;
}

Status fd::rt::checkChipCompatible(const ModuleSpec &module, int ccMajor,
                                   int ccMinor) {
  std::string device =
      "sm_" + std::to_string(ccMajor) + std::to_string(ccMinor);
  auto mismatch = [&](const char *why) {
    return Status::error(ErrorCode::Unsupported,
                         "module '" + module.name + "' is PTX for " +
                             module.chip + " but the device is " + device +
                             " (compute capability " + std::to_string(ccMajor) +
                             "." + std::to_string(ccMinor) + "): " + why +
                             "; rebuild the bundle for " + device);
  };
  int mod = module.ccMajor * 10 + module.ccMinor;
  int dev = ccMajor * 10 + ccMinor;
  if (module.archSuffix == 'a') {
    // Arch-specific PTX (wgmma, setmaxnreg, ...) runs on that chip only.
    if (mod != dev)
      return mismatch("arch-specific PTX runs only on that exact chip");
    return Status::success();
  }
  if (module.archSuffix == 'f') {
    if (module.ccMajor != ccMajor || ccMinor < module.ccMinor)
      return mismatch("family-specific PTX runs only on the same family, "
                      "equal or newer minor version");
    return Status::success();
  }
  if (dev < mod)
    return mismatch("the device is older than the PTX target");
  return Status::success();
}

namespace {
/// A kernel declared in PTX: its name and the size in bytes of each of its
/// parameters (0 where the declaration is not a plain scalar, e.g. an array).
struct PtxEntry {
  std::string name;
  std::vector<unsigned> paramBytes;
};
} // namespace

/// Size of a PTX parameter declaration such as ".param .u64 .ptr .align 1
/// name" (8) or ".param .u32 name" (4); 0 if it is not a plain scalar.
static unsigned getPtxParamBytes(std::string_view decl) {
  if (decl.find('[') != std::string_view::npos)
    return 0;
  size_t pos = 0;
  while (pos < decl.size()) {
    while (pos < decl.size() &&
           std::isspace(static_cast<unsigned char>(decl[pos])))
      ++pos;
    size_t start = pos;
    while (pos < decl.size() &&
           !std::isspace(static_cast<unsigned char>(decl[pos])))
      ++pos;
    std::string_view token = decl.substr(start, pos - start);
    if (token.size() >= 3 && token[0] == '.' &&
        (token[1] == 'u' || token[1] == 's' || token[1] == 'b' ||
         token[1] == 'f')) {
      std::string_view bits = token.substr(2);
      if (bits == "8")
        return 1;
      if (bits == "16")
        return 2;
      if (bits == "32")
        return 4;
      if (bits == "64")
        return 8;
    }
  }
  return 0;
}

/// The kernels declared with ".entry" in \p ptx, in order, with their
/// parameter lists.
static std::vector<PtxEntry> findPtxEntries(std::string_view ptx) {
  std::vector<PtxEntry> entries;
  auto isIdent = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '_' || c == '$' || c == '.';
  };
  auto isSpace = [](char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
  };
  size_t pos = 0;
  while ((pos = ptx.find(".entry", pos)) != std::string_view::npos) {
    pos += 6;
    if (pos >= ptx.size() || (ptx[pos] != ' ' && ptx[pos] != '\t'))
      continue;
    while (pos < ptx.size() && (ptx[pos] == ' ' || ptx[pos] == '\t'))
      ++pos;
    size_t start = pos;
    while (pos < ptx.size() && isIdent(ptx[pos]))
      ++pos;
    if (pos == start)
      continue;
    PtxEntry entry;
    entry.name = std::string(ptx.substr(start, pos - start));
    while (pos < ptx.size() && isSpace(ptx[pos]))
      ++pos;
    // The parameter list is optional; declarations are comma-separated.
    if (pos < ptx.size() && ptx[pos] == '(') {
      size_t close = ptx.find(')', pos);
      if (close == std::string_view::npos)
        close = ptx.size();
      std::string_view list = ptx.substr(pos + 1, close - pos - 1);
      size_t from = 0;
      while (from <= list.size()) {
        size_t comma = list.find(',', from);
        std::string_view decl = list.substr(
            from, comma == std::string_view::npos ? std::string_view::npos
                                                  : comma - from);
        if (decl.find(".param") != std::string_view::npos)
          entry.paramBytes.push_back(getPtxParamBytes(decl));
        if (comma == std::string_view::npos)
          break;
        from = comma + 1;
      }
      pos = close;
    }
    entries.push_back(std::move(entry));
  }
  return entries;
}

/// The first operand of the ".target" directive of \p ptx, or empty.
static std::string findPtxTarget(std::string_view ptx) {
  size_t pos = ptx.find(".target");
  if (pos == std::string_view::npos)
    return {};
  pos += 7;
  while (pos < ptx.size() && (ptx[pos] == ' ' || ptx[pos] == '\t'))
    ++pos;
  size_t start = pos;
  while (pos < ptx.size() && ptx[pos] != ',' && ptx[pos] != ' ' &&
         ptx[pos] != '\t' && ptx[pos] != '\n' && ptx[pos] != '\r')
    ++pos;
  return std::string(ptx.substr(start, pos - start));
}

//===----------------------------------------------------------------------===//
// BundleReader
//===----------------------------------------------------------------------===//

namespace fd::rt {
/// Turns a parsed JSON document into a Bundle, checking every field. Stops at
/// the first error, which is kept in `error`.
class BundleReader {
public:
  BundleReader(std::string_view text, std::string_view sourceName)
      : text(text), sourceName(sourceName) {}

  Expected<std::shared_ptr<const Bundle>> read();

private:
  using Kind = JsonValue::Kind;

  bool readModule(const JsonValue &json, const std::string &path,
                  ModuleSpec &module);
  bool readEntry(const JsonValue &json, const std::string &path,
                 EntrySpec &entry);
  bool readSplit(const JsonValue &json, const std::string &path,
                 SplitPolicy &split);
  bool readFlatGemm(const JsonValue &json, const std::string &path,
                    EntrySpec &entry);
  bool checkFlatGemmKernels(const JsonValue &kernels, const std::string &path,
                            const EntrySpec &entry);
  bool readSoftmax(const JsonValue &json, const std::string &path,
                   SoftmaxSpec &softmax);
  bool readWorkspace(const JsonValue &json, const std::string &path,
                     WorkspaceSpec &buffer);
  /// The "workspace" and "kernels" of an entry or of one of its variants.
  bool readLaunch(const JsonValue &json, const std::string &path,
                  EntrySpec &entry);
  bool readVariants(const JsonValue &json, const std::string &path,
                    EntrySpec &entry);
  bool readKernel(const JsonValue &json, const std::string &path,
                  const EntrySpec &entry, KernelSpec &kernel);
  bool readArg(const JsonValue &json, const std::string &path,
               const EntrySpec &entry, ArgSpec &arg);
  bool readSize(const JsonValue &json, const std::string &path,
                const char *what, SizeExpr &size);
  bool checkPtxParams(const JsonValue &args, const std::string &path,
                      const KernelSpec &kernel, const PtxEntry &ptxEntry);

  /// Records an error at \p at; always returns false.
  bool fail(const JsonValue &at, const std::string &path,
            const std::string &what, ErrorCode code = ErrorCode::InvalidBundle);

  /// The member \p key of \p object checked to be of \p kind. Null if it is
  /// absent (an error when \p required) or of the wrong kind (an error).
  const JsonValue *field(const JsonValue &object, const std::string &path,
                         const char *key, Kind kind, bool required);
  bool readString(const JsonValue &object, const std::string &path,
                  const char *key, std::string &out, bool required = true,
                  bool nonEmpty = true);
  /// Reads an integer in [minValue, maxValue]; absent and optional leaves
  /// \p out untouched and returns true.
  bool readInt(const JsonValue &object, const std::string &path,
               const char *key, int64_t &out, int64_t minValue,
               int64_t maxValue, bool required = true);
  bool readDType(const JsonValue &object, const std::string &path,
                 const char *key, DType &out);

  std::string_view text;
  std::string sourceName;
  Status error;
  /// .entry names of each module's PTX (empty if it declares none).
  std::vector<std::vector<PtxEntry>> moduleEntries;
  /// The modules read so far, to resolve kernels' module names.
  const std::vector<ModuleSpec> *modulesSeen = nullptr;
};
} // namespace fd::rt

static std::string join(const std::string &path, const char *key) {
  return path.empty() ? std::string(key) : path + "." + key;
}

static std::string indexPath(const std::string &path, size_t i) {
  return path + "[" + std::to_string(i) + "]";
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
    fail(*value, join(path, key),
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
    return fail(*value, join(path, key), "must not be empty");
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
    return fail(*value, join(path, key),
                std::string("expected an integer, found ") +
                    (value->isNumber()
                         ? "a non-integral number"
                         : JsonValue::kindName(value->getKind())));
  int64_t v = value->getInteger();
  if (v < minValue || v > maxValue)
    return fail(*value, join(path, key),
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
    return fail(*object.find(key), join(path, key),
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
  if (!readString(root, "", "format", format))
    return result();
  if (format != "fd-bundle") {
    fail(*root.find("format"), "format",
         "not an fd bundle: format is '" + format + "', expected 'fd-bundle'");
    return result();
  }
  const JsonValue *version = root.find("version");
  if (!version) {
    fail(root, "", "missing required field 'version' (integer)");
    return result();
  }
  if (!version->isInteger()) {
    fail(*version, "version", "expected an integer");
    return result();
  }
  if (version->getInteger() != kBundleVersion) {
    fail(*version, "version",
         "unsupported bundle version " + std::to_string(version->getInteger()) +
             " (this runtime reads version " + std::to_string(kBundleVersion) +
             ")",
         ErrorCode::Unsupported);
    return result();
  }
  bundle->version = version->getInteger();
  if (!readString(root, "", "producer", bundle->producer, /*required=*/false,
                  /*nonEmpty=*/false))
    return result();

  const JsonValue *modules = field(root, "", "modules", Kind::Array, true);
  if (!modules)
    return result();
  std::set<std::string> moduleNames;
  for (size_t i = 0; i < modules->size(); ++i) {
    ModuleSpec module;
    std::string path = indexPath("modules", i);
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

  const JsonValue *entries = field(root, "", "entries", Kind::Array, true);
  if (!entries)
    return result();
  std::set<std::string> entryNames;
  for (size_t i = 0; i < entries->size(); ++i) {
    EntrySpec entry;
    std::string path = indexPath("entries", i);
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
  if (!readString(json, path, "name", module.name) ||
      !readString(json, path, "chip", module.chip) ||
      !readString(json, path, "features", module.features, false, false) ||
      !readString(json, path, "ptx", module.ptx))
    return false;
  if (!parseChip(module.chip, module))
    return fail(*json.find("chip"), join(path, "chip"),
                "invalid chip '" + module.chip +
                    "' (expected sm_<major><minor>[a|f], e.g. sm_90)");
  // A PTX whose .target disagrees with "chip" would be checked against the
  // wrong device at load time.
  std::string target = findPtxTarget(module.ptx);
  if (!target.empty() && target != module.chip)
    return fail(*json.find("ptx"), join(path, "ptx"),
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
  if (!readInt(json, path, "n", g.n, 1, INT32_MAX) ||
      !readInt(json, path, "k", g.k, 1, INT32_MAX))
    return false;
  // The kernels read rows with 16-byte loads.
  if (g.k % 8 != 0)
    return fail(*json.find("k"), join(path, "k"),
                "k = " + std::to_string(g.k) + " is not a multiple of 8");
  if (const JsonValue *bias =
          field(json, path, "has_bias", Kind::Bool, false))
    g.hasBias = bias->getBool();
  else if (!error.ok())
    return false;
  g.outDtype = entry.dtype;
  if (json.find("out_dtype")) {
    if (!readDType(json, path, "out_dtype", g.outDtype))
      return false;
    if (g.outDtype != entry.dtype && g.outDtype != DType::F32)
      return fail(*json.find("out_dtype"), join(path, "out_dtype"),
                  std::string("out_dtype must be the entry dtype or f32, "
                              "found ") +
                      dtypeName(g.outDtype));
  }
  if (const JsonValue *dispatch =
          field(json, path, "dispatch", Kind::Object, false)) {
    std::string dPath = join(path, "dispatch");
    if (!readInt(*dispatch, dPath, "m1", g.m1, 0, INT32_MAX, false) ||
        !readInt(*dispatch, dPath, "m2", g.m2, 0, INT32_MAX, false))
      return false;
    if (g.m2 < g.m1)
      return fail(*dispatch, dPath,
                  "m2 (" + std::to_string(g.m2) + ") is less than m1 (" +
                      std::to_string(g.m1) + ")");
  } else if (!error.ok()) {
    return false;
  }
  return true;
}

bool BundleReader::checkFlatGemmKernels(const JsonValue &kernels,
                                        const std::string &path,
                                        const EntrySpec &entry) {
  std::set<std::string> roles;
  for (size_t i = 0; i < entry.kernels.size(); ++i) {
    const KernelSpec &k = entry.kernels[i];
    const JsonValue &at = kernels.getItems()[i];
    std::string kPath = indexPath(join(path, "kernels"), i);
    bool gemv = k.role == "gemv";
    if (!gemv && k.role.rfind("mma_m", 0) != 0 &&
        k.role.rfind("direct_m", 0) != 0)
      return fail(at, kPath,
                  "flat_gemm kernel '" + k.symbol + "' has role '" + k.role +
                      "' (expected gemv, mma_m<rows> or direct_m<rows>)");
    if (!roles.insert(k.role).second)
      return fail(at, kPath, "two flat_gemm kernels have role '" + k.role + "'");
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
                    "flat_gemm kernel '" + k.symbol +
                        "' binds '" + a.bind +
                        "' (expected x, w, bias, y, each at most once)");
      seen[slot] = true;
    }
    if (!seen[0] || !seen[1] || !seen[3] || seen[2] != entry.gemm.hasBias)
      return fail(at, kPath,
                  "flat_gemm kernel '" + k.symbol +
                      "' must bind x, w and y" +
                      (entry.gemm.hasBias ? " and bias" : " and no bias") +
                      " (has_bias is " +
                      (entry.gemm.hasBias ? "true" : "false") + ")");
  }
  return true;
}

bool BundleReader::readSplit(const JsonValue &json, const std::string &path,
                             SplitPolicy &split) {
  std::string mode;
  if (!readString(json, path, "mode", mode))
    return false;
  if (mode == "auto")
    split.mode = SplitMode::Auto;
  else if (mode == "fixed")
    split.mode = SplitMode::Fixed;
  else if (mode == "chunk")
    split.mode = SplitMode::Chunk;
  else
    return fail(*json.find("mode"), join(path, "mode"),
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
  if (!rd("num_splits", split.numSplits, isFixed) ||
      !rd("chunk_size", split.chunkSize, isChunk) ||
      !rd("ctas_per_sm", split.ctasPerSm, isAuto) ||
      !rd("min_chunk", split.minChunk, isAuto) ||
      !rd("chunk_align", split.chunkAlign, isAuto || isFixed) ||
      !rd("max_splits", split.maxSplits, isAuto))
    return false;
  return true;
}

bool BundleReader::readSoftmax(const JsonValue &json, const std::string &path,
                               SoftmaxSpec &softmax) {
  if (!readString(json, path, "kind", softmax.kind))
    return false;
  if (softmax.kind == "online")
    return true;
  if (softmax.kind != "unified_max")
    return fail(*json.find("kind"), join(path, "kind"),
                "unknown softmax kind '" + softmax.kind +
                    "' (expected online or unified_max)");
  const JsonValue *phi = field(json, path, "phi", Kind::Number, true);
  if (!phi)
    return false;
  const JsonValue *threshold =
      field(json, path, "threshold", Kind::Number, true);
  if (!threshold)
    return false;
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
  if (!readString(json, path, "name", buffer.name) ||
      !readDType(json, path, "elem", buffer.elem))
    return false;
  const JsonValue *shape = field(json, path, "shape", Kind::Array, true);
  if (!shape)
    return false;
  if (shape->size() > 8)
    return fail(*shape, join(path, "shape"),
                "rank " + std::to_string(shape->size()) +
                    " is larger than the supported 8");
  for (size_t i = 0; i < shape->size(); ++i) {
    SizeExpr size;
    if (!readSize(shape->getItems()[i], indexPath(join(path, "shape"), i),
                  "workspace shape", size))
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
  if (!readString(json, path, "name", entry.name) ||
      !readString(json, path, "op", entry.opName))
    return false;
  if (entry.opName == "decode_attention")
    entry.op = OpKind::DecodeAttention;
  else if (entry.opName == "flat_gemm")
    entry.op = OpKind::FlatGemm;
  else
    return fail(*json.find("op"), join(path, "op"),
                "unknown op '" + entry.opName +
                    "' (expected decode_attention or flat_gemm)");
  if (!readDType(json, path, "dtype", entry.dtype))
    return false;
  if (entry.dtype != DType::F16 && entry.dtype != DType::BF16)
    return fail(*json.find("dtype"), join(path, "dtype"),
                std::string("entry dtype must be f16 or bf16, found ") +
                    dtypeName(entry.dtype));

  if (entry.op == OpKind::FlatGemm && !readFlatGemm(json, path, entry))
    return false;
  // The attention geometry and policy are what the runtime plans and checks
  // tensors with, so a decode_attention entry must state all of them. Other
  // ops are listed but not launched; their fields are checked if present.
  bool attention = entry.op == OpKind::DecodeAttention;
  if (!readInt(json, path, "num_q_heads", entry.numQHeads, 1, 65535,
               attention) ||
      !readInt(json, path, "num_kv_heads", entry.numKvHeads, 1, 65535,
               attention) ||
      !readInt(json, path, "head_dim", entry.headDim, 1, 65535, attention))
    return false;
  if (attention && entry.numQHeads % entry.numKvHeads != 0)
    return fail(*json.find("num_q_heads"), join(path, "num_q_heads"),
                "num_q_heads (" + std::to_string(entry.numQHeads) +
                    ") is not a multiple of num_kv_heads (" +
                    std::to_string(entry.numKvHeads) + ")");
  if (const JsonValue *scale =
          field(json, path, "scale", Kind::Number, attention)) {
    if (!std::isfinite(scale->getNumber()))
      return fail(*scale, join(path, "scale"), "must be finite");
    entry.scale = scale->getNumber();
  } else if (!error.ok()) {
    return false;
  }
  if (const JsonValue *softmax =
          field(json, path, "softmax", Kind::Object, attention)) {
    if (!readSoftmax(*softmax, join(path, "softmax"), entry.softmax))
      return false;
  } else if (!error.ok()) {
    return false;
  }
  if (const JsonValue *split =
          field(json, path, "split", Kind::Object, attention)) {
    if (!readSplit(*split, join(path, "split"), entry.split))
      return false;
  } else if (!error.ok()) {
    return false;
  }

  if (!readLaunch(json, path, entry))
    return false;
  if (json.find("variants") && !readVariants(json, path, entry))
    return false;
  return true;
}

bool BundleReader::readLaunch(const JsonValue &json, const std::string &path,
                              EntrySpec &entry) {
  bool attention = entry.op == OpKind::DecodeAttention;
  if (const JsonValue *workspace =
          field(json, path, "workspace", Kind::Array, attention)) {
    std::string wsPath = join(path, "workspace");
    if (workspace->size() > kMaxWorkspaceBuffers)
      return fail(*workspace, wsPath,
                  std::to_string(workspace->size()) +
                      " buffers, more than the supported " +
                      std::to_string(kMaxWorkspaceBuffers));
    std::set<std::string> names = {"q", "k", "v", "lens", "out"};
    for (size_t i = 0; i < workspace->size(); ++i) {
      WorkspaceSpec buffer;
      if (!readWorkspace(workspace->getItems()[i], indexPath(wsPath, i),
                         buffer))
        return false;
      if (!names.insert(buffer.name).second)
        return fail(workspace->getItems()[i], indexPath(wsPath, i),
                    "workspace name '" + buffer.name +
                        "' is already used by another buffer or tensor");
      entry.workspace.push_back(std::move(buffer));
    }
  } else if (!error.ok()) {
    return false;
  }

  const JsonValue *kernels = field(json, path, "kernels", Kind::Array, true);
  if (!kernels)
    return false;
  if (kernels->size() == 0)
    return fail(*kernels, join(path, "kernels"),
                "an entry needs at least one kernel");
  for (size_t i = 0; i < kernels->size(); ++i) {
    KernelSpec kernel;
    if (!readKernel(kernels->getItems()[i], indexPath(join(path, "kernels"), i),
                    entry, kernel))
      return false;
    entry.kernels.push_back(std::move(kernel));
  }
  if (entry.op == OpKind::FlatGemm)
    return checkFlatGemmKernels(*kernels, path, entry);
  // Kernels are launched in manifest order (docs/bundle.md); a merge before
  // the partial kernel it consumes would read a workspace not yet written.
  for (size_t i = 0; i < entry.kernels.size(); ++i) {
    if (entry.kernels[i].role != "merge")
      continue;
    for (size_t j = i + 1; j < entry.kernels.size(); ++j)
      if (entry.kernels[j].role == "partial")
        return fail(kernels->getItems()[i], indexPath(join(path, "kernels"), i),
                    "kernel '" + entry.kernels[i].symbol +
                        "' (role merge) comes before kernel '" +
                        entry.kernels[j].symbol +
                        "' (role partial), but kernels are launched in "
                        "manifest order: the merge would read partial "
                        "results not yet written");
  }
  return true;
}

bool BundleReader::readVariants(const JsonValue &json, const std::string &path,
                                EntrySpec &entry) {
  std::string vPath = join(path, "variants");
  const JsonValue *variants = field(json, path, "variants", Kind::Array, true);
  if (!variants)
    return false;
  if (variants->size() == 0)
    return fail(*variants, vPath, "an entry's variants list cannot be empty");
  EntrySpec header = entry;
  header.workspace.clear();
  header.kernels.clear();
  for (size_t i = 0; i < variants->size(); ++i) {
    const JsonValue &item = variants->getItems()[i];
    std::string itemPath = indexPath(vPath, i);
    if (!item.isObject())
      return fail(item, itemPath,
                  std::string("expected an object, found ") +
                      JsonValue::kindName(item.getKind()));
    EntrySpec variant = header;
    if (!readString(item, itemPath, "name", variant.variantName))
      return false;
    for (const EntrySpec &seen : entry.variants)
      if (seen.variantName == variant.variantName)
        return fail(item, itemPath,
                    "variant name '" + variant.variantName + "' is used twice");
    std::string init = "none";
    if (!readString(item, itemPath, "workspace_init", init, false))
      return false;
    if (init != "none" && init != "zero")
      return fail(
          *item.find("workspace_init"), join(itemPath, "workspace_init"),
          "unknown workspace_init '" + init + "' (expected none or zero)");
    variant.workspaceZeroInit = init == "zero";
    if (!readLaunch(item, itemPath, variant))
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
        return fail(*item.find(key), join(itemPath, key),
                    std::string(key) + " '" + name + "' is not an " +
                        dtypeName(elem) + " [" + std::to_string(elems) +
                        "] workspace buffer of the variant");
      return true;
    };
    if (!readBufferRef("fallback_counter", DType::I32, 1,
                       variant.fallbackCounter) ||
        !readBufferRef("phi_buffer", DType::F32, 1, variant.phiBuffer) ||
        !readBufferRef("score_stats", DType::I32, 4, variant.scoreStats))
      return false;
    entry.variants.push_back(std::move(variant));
  }
  // The top level is the first variant, for readers without variants.
  const EntrySpec &first = entry.variants.front();
  if (first.kernels.size() != entry.kernels.size())
    return fail(*variants, vPath,
                "the entry's top-level kernels must be those of its first "
                "variant '" +
                    first.variantName + "'");
  for (size_t k = 0; k < first.kernels.size(); ++k)
    if (first.kernels[k].symbol != entry.kernels[k].symbol)
      return fail(*variants, vPath,
                  "the entry's top-level kernels must be those of its first "
                  "variant '" +
                      first.variantName + "'");
  entry.variantName = first.variantName;
  entry.workspaceZeroInit = first.workspaceZeroInit;
  entry.fallbackCounter = first.fallbackCounter;
  entry.phiBuffer = first.phiBuffer;
  entry.scoreStats = first.scoreStats;
  return true;
}

bool BundleReader::readKernel(const JsonValue &json, const std::string &path,
                              const EntrySpec &entry, KernelSpec &kernel) {
  const PtxEntry *ptxEntry = nullptr;
  if (!json.isObject())
    return fail(json, path,
                std::string("expected an object, found ") +
                    JsonValue::kindName(json.getKind()));
  if (!readString(json, path, "symbol", kernel.symbol) ||
      !readString(json, path, "module", kernel.module) ||
      !readString(json, path, "role", kernel.role, false, false))
    return false;

  const std::vector<ModuleSpec> &modules = *modulesSeen;
  size_t m = 0;
  while (m < modules.size() && modules[m].name != kernel.module)
    ++m;
  if (m == modules.size())
    return fail(*json.find("module"), join(path, "module"),
                "unknown module '" + kernel.module + "'");
  kernel.moduleIndex = m;
  // Catch a symbol typo now rather than as CUDA_ERROR_NOT_FOUND on the GPU.
  // Only possible when the PTX declares entries (hand-written test bundles
  // may carry a stub).
  const std::vector<PtxEntry> &ptxEntries = moduleEntries[m];
  if (!ptxEntries.empty()) {
    std::string list;
    for (const PtxEntry &declared : ptxEntries) {
      if (declared.name == kernel.symbol)
        ptxEntry = &declared;
      list += (list.empty() ? "" : ", ") + declared.name;
    }
    if (!ptxEntry)
      return fail(*json.find("symbol"), join(path, "symbol"),
                  "module '" + kernel.module + "' has no .entry '" +
                      kernel.symbol + "' (its entries: " + list + ")");
  }

  const JsonValue *grid = field(json, path, "grid", Kind::Array, true);
  if (!grid)
    return false;
  if (grid->size() < 1 || grid->size() > 3)
    return fail(*grid, join(path, "grid"),
                "expected 1 to 3 extents, found " +
                    std::to_string(grid->size()));
  kernel.gridRank = grid->size();
  for (size_t i = 0; i < grid->size(); ++i)
    if (!readSize(grid->getItems()[i], indexPath(join(path, "grid"), i), "grid",
                  kernel.grid[i]))
      return false;

  const JsonValue *block = field(json, path, "block", Kind::Array, true);
  if (!block)
    return false;
  if (block->size() < 1 || block->size() > 3)
    return fail(*block, join(path, "block"),
                "expected 1 to 3 extents, found " +
                    std::to_string(block->size()));
  const int64_t blockLimit[3] = {1024, 1024, 64};
  int64_t threads = 1;
  for (size_t i = 0; i < block->size(); ++i) {
    const JsonValue &item = block->getItems()[i];
    if (!item.isInteger() || item.getInteger() < 1 ||
        item.getInteger() > blockLimit[i])
      return fail(item, indexPath(join(path, "block"), i),
                  "expected an integer in [1, " +
                      std::to_string(blockLimit[i]) + "]");
    kernel.block[i] = static_cast<uint32_t>(item.getInteger());
    threads *= item.getInteger();
  }
  if (threads > 1024)
    return fail(*block, join(path, "block"),
                std::to_string(threads) +
                    " threads per block, more than CUDA's 1024");

  if (!readInt(json, path, "static_smem", kernel.staticSmem, 0, INT32_MAX,
               false) ||
      !readInt(json, path, "dynamic_smem", kernel.dynamicSmem, 0, INT32_MAX,
               false) ||
      !readInt(json, path, "m_tile", kernel.mTile, 1, 65535, false))
    return false;
  if (json.find("pdl")) {
    const JsonValue *pdl = field(json, path, "pdl", Kind::Bool, true);
    if (!pdl)
      return false;
    kernel.pdl = pdl->getBool();
  }

  const JsonValue *args = field(json, path, "args", Kind::Array, true);
  if (!args)
    return false;
  for (size_t i = 0; i < args->size(); ++i) {
    ArgSpec arg;
    if (!readArg(args->getItems()[i], indexPath(join(path, "args"), i), entry,
                 arg))
      return false;
    kernel.args.push_back(std::move(arg));
  }
  if (kernel.getNumParams() > kMaxKernelParams)
    return fail(*args, join(path, "args"),
                "expands to " + std::to_string(kernel.getNumParams()) +
                    " kernel parameters, more than the supported " +
                    std::to_string(kMaxKernelParams));

  // The manifest's arguments must expand to exactly the PTX's parameter
  // list, or every argument after the first difference would be read from
  // the wrong place by the kernel.
  if (ptxEntry && !checkPtxParams(*args, path, kernel, *ptxEntry))
    return false;

  if (const JsonValue *res =
          field(json, path, "resources", Kind::Object, false)) {
    ResourceInfo info;
    std::string resPath = join(path, "resources");
    if (!readInt(*res, resPath, "registers", info.registers, 0, 65536) ||
        !readInt(*res, resPath, "spill_bytes", info.spillBytes, 0, INT32_MAX) ||
        !readInt(*res, resPath, "shared_bytes", info.sharedBytes, 0, INT32_MAX))
      return false;
    kernel.resources = info;
  } else if (!error.ok()) {
    return false;
  }
  return true;
}

bool BundleReader::checkPtxParams(const JsonValue &args,
                                  const std::string &path,
                                  const KernelSpec &kernel,
                                  const PtxEntry &ptxEntry) {
  std::string argsPath = join(path, "args");
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

bool BundleReader::readArg(const JsonValue &json, const std::string &path,
                           const EntrySpec &entry, ArgSpec &arg) {
  if (!json.isObject())
    return fail(json, path,
                std::string("expected an object, found ") +
                    JsonValue::kindName(json.getKind()));
  std::string kind;
  if (!readString(json, path, "kind", kind) ||
      !readString(json, path, "bind", arg.bind))
    return false;
  const JsonValue &bindJson = *json.find("bind");
  std::string bindPath = join(path, "bind");
  bool attention = entry.op == OpKind::DecodeAttention;

  if (kind == "scalar") {
    arg.kind = ArgSpec::Kind::Scalar;
    if (!readDType(json, path, "type", arg.elem))
      return false;
    if (arg.elem == DType::F16 || arg.elem == DType::BF16)
      return fail(*json.find("type"), join(path, "type"),
                  std::string("scalar type must be i32, i64, f32 or f64, "
                              "found ") +
                      dtypeName(arg.elem));
    if (arg.bind == "scale") {
      arg.source = ArgSource::Scale;
      if (arg.elem != DType::F32 && arg.elem != DType::F64)
        return fail(*json.find("type"), join(path, "type"),
                    "scalar 'scale' must be f32 or f64");
      return true;
    }
    std::optional<Symbol> symbol = arg.bind == "num_splits"
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

  if (kind != "memref")
    return fail(*json.find("kind"), join(path, "kind"),
                "unknown argument kind '" + kind +
                    "' (expected memref or scalar)");
  arg.kind = ArgSpec::Kind::Memref;
  int64_t rank = 0;
  if (!readDType(json, path, "elem", arg.elem) ||
      !readInt(json, path, "rank", rank, 0, 8))
    return false;
  arg.rank = static_cast<int>(rank);

  // Expected element type and rank of the binding, so that a compiler bug
  // shows up when the bundle is loaded, not as a corrupt launch.
  DType wantElem = entry.dtype;
  int64_t wantRank = -1;
  if (entry.op == OpKind::FlatGemm) {
    if (arg.bind == "x" || arg.bind == "w" || arg.bind == "y") {
      arg.source = arg.bind == "x"   ? ArgSource::X
                   : arg.bind == "w" ? ArgSource::W
                                     : ArgSource::Y;
      wantRank = 2;
      if (arg.bind == "y")
        wantElem = entry.gemm.outDtype;
    } else if (arg.bind == "bias") {
      arg.source = ArgSource::Bias;
      wantRank = 1;
    } else {
      return fail(bindJson, bindPath,
                  "unknown flat_gemm memref binding '" + arg.bind +
                      "' (expected x, w, bias or y)");
    }
  } else if (arg.bind == "q" || arg.bind == "out") {
    arg.source = arg.bind == "q" ? ArgSource::Q : ArgSource::Out;
    wantRank = 3;
  } else if (arg.bind == "k" || arg.bind == "v") {
    arg.source = arg.bind == "k" ? ArgSource::K : ArgSource::V;
    wantRank = 4;
  } else if (arg.bind == "lens") {
    arg.source = ArgSource::Lens;
    wantElem = DType::I32;
    wantRank = 1;
  } else {
    for (size_t i = 0; i < entry.workspace.size(); ++i) {
      if (entry.workspace[i].name != arg.bind)
        continue;
      arg.source = ArgSource::Workspace;
      arg.workspaceIndex = static_cast<int>(i);
      wantElem = entry.workspace[i].elem;
      wantRank = static_cast<int64_t>(entry.workspace[i].shape.size());
    }
    if (arg.source != ArgSource::Workspace) {
      if (attention)
        return fail(bindJson, bindPath,
                    "unknown memref binding '" + arg.bind +
                        "' (expected q, k, v, lens, out or a workspace "
                        "buffer name)");
      arg.source = ArgSource::Other;
      return true;
    }
  }
  if (!attention && entry.op != OpKind::FlatGemm &&
      arg.source != ArgSource::Workspace) {
    arg.source = ArgSource::Other;
    return true;
  }
  if (arg.elem != wantElem)
    return fail(*json.find("elem"), join(path, "elem"),
                "memref '" + arg.bind + "' has element type " +
                    dtypeName(arg.elem) + ", expected " + dtypeName(wantElem));
  if (rank != wantRank)
    return fail(*json.find("rank"), join(path, "rank"),
                "memref '" + arg.bind + "' has rank " + std::to_string(rank) +
                    ", expected " + std::to_string(wantRank));
  return true;
}

//===----------------------------------------------------------------------===//
// Bundle
//===----------------------------------------------------------------------===//

Expected<std::shared_ptr<const Bundle>>
Bundle::loadMemory(std::string_view text, std::string_view sourceName) {
  return BundleReader(text, sourceName).read();
}

Expected<std::shared_ptr<const Bundle>>
Bundle::loadFile(const std::string &path) {
  // stdio rather than iostreams: errno then reliably says why it failed.
  std::FILE *file = std::fopen(path.c_str(), "rb");
  if (!file)
    return Status::error(
        ErrorCode::Io, path + ": cannot open bundle: " + std::strerror(errno));
  std::string contents;
  char buffer[1 << 16];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof(buffer), file)) > 0)
    contents.append(buffer, n);
  bool failed = std::ferror(file);
  int err = errno;
  std::fclose(file);
  if (failed)
    return Status::error(ErrorCode::Io,
                         path + ": cannot read bundle: " + std::strerror(err));
  return loadMemory(contents, path);
}

//===----------------------------------------------------------------------===//
// Variants
//===----------------------------------------------------------------------===//

size_t fd::rt::getNumVariants(const EntrySpec &entry) {
  return entry.variants.empty() ? 1 : entry.variants.size();
}

const EntrySpec &fd::rt::getVariant(const EntrySpec &entry, size_t index) {
  return entry.variants.empty() ? entry : entry.variants[index];
}

int fd::rt::findVariant(const EntrySpec &entry, std::string_view name) {
  for (size_t i = 0; i < getNumVariants(entry); ++i)
    if (getVariant(entry, i).variantName == name)
      return static_cast<int>(i);
  return -1;
}

size_t fd::rt::getDefaultVariant(const EntrySpec &entry) {
  // Measured with fd-bench on an H100 (docs/unified-max.md): one query head
  // per KV head (MHA), the single launch is the fastest (1-7% over online
  // softmax); with GQA groups each CTA's atomics and the last CTA's serial
  // tail cover several heads, and it lost 2-11% where the two-kernel
  // variant stayed within 0-4% of online softmax.
  int single = findVariant(entry, "single_launch");
  int two = findVariant(entry, "two_kernel");
  if (single >= 0 && (entry.numQHeads == entry.numKvHeads || two < 0))
    return static_cast<size_t>(single);
  return two >= 0 ? static_cast<size_t>(two) : 0;
}

size_t fd::rt::chooseVariant(const EntrySpec &entry, int64_t batch,
                             int64_t maxLen, int64_t smCount,
                             int64_t residentCtasPerSm) {
  int split = findVariant(entry, "split");
  int unsplit = findVariant(entry, "unsplit");
  if (split < 0 || unsplit < 0)
    return getDefaultVariant(entry);
  Expected<SplitChoice> choice =
      chooseSplits(getVariant(entry, size_t(split)).split, batch,
                   entry.numKvHeads, maxLen, smCount, residentCtasPerSm);
  // Out-of-range arguments: planning the split variant reports them.
  return choice && choice->numSplits == 1 ? static_cast<size_t>(unsplit)
                                          : static_cast<size_t>(split);
}
