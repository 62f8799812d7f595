//===- ManifestReader.h - Reading and validating manifests ------*- C++ -*-===//
//
// Private to lib/Runtime. BundleReader turns a manifest into a Bundle and
// checks every field on the way, so that planning and launching can trust
// it: every error names the JSON path and line of the bad field. Its
// methods live in ManifestReader.cpp (the document, modules, entries and
// variants) and KernelReader.cpp (kernels and their arguments).
//
//===----------------------------------------------------------------------===//

#ifndef FD_LIB_RUNTIME_MANIFESTREADER_H
#define FD_LIB_RUNTIME_MANIFESTREADER_H

#include "PtxInfo.h"

#include "fd/Runtime/Bundle.h"
#include "fd/Runtime/Json.h"

#include <memory>
#include <string>
#include <string_view>
#include <vector>

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
                            const EntrySpec &entry,
                            const std::vector<KernelSpec> &gemmKernels);
  /// Every "dispatch" rule names one of the entry's kernels.
  bool checkDispatchKernels(const JsonValue &json, const std::string &path,
                            const EntrySpec &entry,
                            const std::vector<KernelSpec> &gemmKernels);
  /// The one kernel of a merge_states entry: its role, grid, block and
  /// that it binds every state, out and at most one lse.
  bool checkMergeStatesKernels(const JsonValue &kernels,
                               const std::string &path, const EntrySpec &entry,
                               const VariantSpec &launch);
  /// EntrySpec::merge's tensors (and out, lse) from its kernel.
  bool collectMergeStatesTensors(const JsonValue &json,
                                 const std::string &path, EntrySpec &entry);
  bool readSoftmax(const JsonValue &json, const std::string &path,
                   SoftmaxSpec &softmax);
  bool readWorkspace(const JsonValue &json, const std::string &path,
                     WorkspaceSpec &buffer);
  /// The "workspace" and "kernels" of an entry's top level or of one of its
  /// variants.
  bool readLaunch(const JsonValue &json, const std::string &path,
                  const EntrySpec &entry, VariantSpec &launch);
  /// The "variants" list; \p top is the entry's top-level launch, which must
  /// repeat the first variant.
  bool readVariants(const JsonValue &json, const std::string &path,
                    const EntrySpec &entry, const VariantSpec &top,
                    std::vector<VariantSpec> &variants);
  bool readKernel(const JsonValue &json, const std::string &path,
                  const EntrySpec &entry,
                  const std::vector<WorkspaceSpec> &workspace,
                  KernelSpec &kernel);
  bool readArg(const JsonValue &json, const std::string &path,
               const EntrySpec &entry,
               const std::vector<WorkspaceSpec> &workspace, ArgSpec &arg);
  /// A memref argument's optional "sizes", "strides" and "contiguous".
  bool readLayout(const JsonValue &json, const std::string &path,
                  ArgSpec &arg);
  /// EntrySpec::tensors and pageSize from the kernels' arguments.
  bool collectTensors(const JsonValue &json, const std::string &path,
                      EntrySpec &entry);
  bool readSize(const JsonValue &json, const std::string &path,
                const char *what, SizeExpr &size);
  /// The kernel's "cluster", checked against its grid and its PTX .entry's
  /// .reqnctapercluster (when the module is PTX).
  bool readCluster(const JsonValue &json, const std::string &path,
                   const PtxEntry *ptxEntry, KernelSpec &kernel);
  bool checkPtxParams(const JsonValue &args, const std::string &path,
                      const KernelSpec &kernel, const PtxEntry &ptxEntry);

  /// An online-softmax variant holds none of the unified-max buffers.
  bool checkOnlineWorkspace(const JsonValue &item, const std::string &path,
                            const VariantSpec &variant);
  /// \p name (the "name" of \p object) is not empty and has no control
  /// characters.
  bool checkName(const JsonValue &object, const std::string &path,
                 const std::string &name);

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

/// "path.key" (just "key" at the top level).
inline std::string joinPath(const std::string &path, const char *key) {
  return path.empty() ? std::string(key) : path + "." + key;
}

/// "path[i]".
inline std::string indexPath(const std::string &path, size_t i) {
  return path + "[" + std::to_string(i) + "]";
}

} // namespace fd::rt

#endif // FD_LIB_RUNTIME_MANIFESTREADER_H
