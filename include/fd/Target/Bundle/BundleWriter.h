//===- BundleWriter.h - fd kernel bundle (manifest + PTX) -------*- C++ -*-===//
//
// Collects what the runtime needs to launch fd's kernels and writes it in the
// format of docs/bundle.md, with the names of fd/Bundle/Schema.h. What the
// compiler decided (the split plan, the softmax strategy, the kernels and
// their launch variants and bindings) is read from what the passes recorded
// in the IR, never re-derived from options; only the op facts (shapes,
// dtypes, scale) come from the input.
//
//===----------------------------------------------------------------------===//
#ifndef FD_TARGET_BUNDLE_BUNDLEWRITER_H
#define FD_TARGET_BUNDLE_BUNDLEWRITER_H

#include "fd/Bundle/Schema.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/raw_ostream.h"

#include <array>
#include <optional>
#include <string>
#include <vector>

namespace mlir::fd::bundle_writer {

struct KernelArg {
  bool isMemref = false;
  std::string bind; ///< a binding or symbol of fd/Bundle/Schema.h
  std::string elem; ///< f16, bf16, f32, i32, i64
  int64_t rank = 0;
  /// Memrefs: static sizes and strides (-1: dynamic) and whether the layout
  /// is the identity; the runtime holds caller tensors to them.
  std::vector<int64_t> sizes, strides;
  bool contiguous = false;
};

/// ptxas's resource report for one kernel.
struct Resources {
  int64_t registers = 0, spillBytes = 0, sharedBytes = 0;
};

struct Kernel {
  std::string symbol, entry, role;
  /// The bundle module whose PTX holds the kernel (set by collectPTX).
  std::string module;
  /// Attention launch variant (fdb::variant), or "".
  std::string variant;
  std::vector<std::string> grid;
  int64_t block[3] = {1, 1, 1};
  int64_t staticSmem = 0;
  int64_t dynamicSmem = 0;
  /// Flat GEMM kernels: rows of M per CTA along the grid ("MT" = ceil(M/m_tile)).
  int64_t mTile = 0;
  /// Waits for the previous grid first (fd-programmatic-launch): may be
  /// launched with programmatic stream serialization.
  bool pdl = false;
  /// CTAs per thread-block cluster ({1, 1, 1}: none).
  std::array<int64_t, 3> cluster = {1, 1, 1};
  std::vector<KernelArg> args;
  std::optional<Resources> resources;
};

struct Entry {
  std::string name, op, dtype;
  // op == decode_attention: from the input op.
  int64_t numQueryHeads = 0, numKVHeads = 0, headDim = 0;
  double scale = 0;
  // op == decode_attention: recorded by the passes.
  std::string softmaxKind;
  double phi = 0, threshold = 0;
  std::string splitMode; ///< fdb::split_mode
  int64_t numSplits = 0, chunkSize = 0;
  ::fdb::SplitConstants splitConstants;
  // op == flat_gemm: y[M,N] = x[M,K] W[N,K]^T (+ bias[N]).
  int64_t n = 0, k = 0;
  bool hasBias = false;
  std::string outDtype;
  /// The default dispatch on M (docs/bundle.md, "Variant selection"): use
  /// `kernel` (a role) for M <= maxM; the last rule's kernel for every
  /// larger M (its maxM may be absent).
  struct DispatchRule {
    std::optional<int64_t> maxM;
    std::string kernel;
  };
  std::vector<DispatchRule> dispatch;
  // op == merge_states: the states it combines (numQueryHeads, headDim and
  // dtype are those of its out).
  int64_t numStates = 0;
};

/// One PTX module of the bundle: the runtime loads (JIT-compiles) each on
/// the first bind of an entry whose kernels it holds.
struct Module {
  std::string name, ptx;
};

struct Bundle {
  std::string chip, features;
  std::vector<Module> modules;
  std::vector<Entry> entries;
  std::vector<Kernel> kernels;
};

/// Reads the entries (one per function holding an fd.decode_attention,
/// fd.flat_gemm or fd.merge_states) from the input module, before any lowering: the op facts.
/// Fails with a diagnostic on input fd-compile cannot turn into a bundle.
LogicalResult collectEntries(ModuleOp module, Bundle &bundle);

/// After the lowering to GPU kernels: reads the kernels (gpu.func with fd.*
/// attributes and bound arguments) and completes each entry with what the
/// passes recorded: fd-split-kv's split (fdb::ir::kSplit on the entry's
/// function), the softmax strategy of its kernels (fdb::ir::kSoftmax) and
/// the flat GEMM dispatch thresholds (fdb::ir::kDispatch).
LogicalResult collectKernels(ModuleOp module, Bundle &bundle);

/// Reads the PTX of \p module's gpu.binary after serialisation into a new
/// bundle module named \p moduleName, which becomes the module of every
/// kernel that has none yet (those collectKernels read from \p module).
LogicalResult collectPTX(ModuleOp module, Bundle &bundle,
                         StringRef moduleName = ::fdb::kModuleName);

/// Appends \p part, a bundle of the same chip compiled from other entries
/// (another compile unit), to \p bundle: its modules, entries and kernels.
/// Fails with a message on a module or entry name both hold.
LogicalResult appendBundle(Bundle &bundle, Bundle &&part, std::string &error);

/// The bundle's modules as one PTX text (fd-compile --ptx-out, which ptxas
/// can assemble as it is): the first module's .version, .target and
/// .address_size, then every module's declarations and functions in order.
/// A module-level declaration an earlier module made word for word (the
/// dynamic shared memory base every fd kernel uses) is made once. Kernel
/// symbols are unique across modules: they are prefixed by their entry.
std::string joinModulesPTX(const Bundle &bundle);

/// Parses `ptxas -v` output into per-kernel resources.
llvm::StringMap<Resources> parsePtxasReport(llvm::StringRef report);

/// Writes the bundle as JSON (docs/bundle.md).
void writeBundle(const Bundle &bundle, llvm::raw_ostream &os);

} // namespace mlir::fd::bundle_writer

#endif // FD_TARGET_BUNDLE_BUNDLEWRITER_H
