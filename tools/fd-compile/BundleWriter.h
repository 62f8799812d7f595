//===- BundleWriter.h - fd kernel bundle (manifest + PTX) -------*- C++ -*-===//
//
// Collects what the runtime needs to launch fd's kernels and writes it in the
// format of docs/bundle.md.
//
//===----------------------------------------------------------------------===//
#ifndef FD_TOOLS_FDCOMPILE_BUNDLEWRITER_H
#define FD_TOOLS_FDCOMPILE_BUNDLEWRITER_H

#include "fd/Pipelines/Pipelines.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/raw_ostream.h"

#include <optional>
#include <string>
#include <vector>

namespace mlir::fd::compile {

struct KernelArg {
  std::string kind; // "memref" | "scalar"
  std::string bind; // q, k, ..., chunk
  std::string elem; // f16, bf16, f32, i32, i64
  int64_t rank = 0;
};

/// ptxas's resource report for one kernel.
struct Resources {
  int64_t registers = 0, spillBytes = 0, sharedBytes = 0;
};

struct Kernel {
  std::string symbol, entry, role;
  /// Launch variant (unified max: "two_kernel" | "single_launch"), or "".
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
  std::vector<KernelArg> args;
  std::optional<Resources> resources;
};

struct Entry {
  std::string name, op, dtype, softmaxKind;
  int64_t numQueryHeads = 0, numKVHeads = 0, headDim = 0;
  double scale = 0, phi = 0, threshold = 0;
  std::string splitMode; // auto | fixed | chunk
  int64_t numSplits = 0, chunkSize = 0;
  // op == "flat_gemm": y[M,N] = x[M,K] W[N,K]^T (+ bias[N]).
  int64_t n = 0, k = 0;
  bool hasBias = false;
  std::string outDtype;
  /// Default variant thresholds (docs/bundle.md, "Flat GEMM dispatch").
  int64_t m1 = 1, m2 = 32;
};

/// The constants of the run-time split planner (fd.split_plan's formula).
struct SplitConstants {
  int64_t ctasPerSM = 2, minChunk = 256, chunkAlign = 64, maxSplits = 256;
};

struct Bundle {
  std::string chip, features, ptx;
  SplitConstants splitConstants;
  std::vector<Entry> entries;
  std::vector<Kernel> kernels;
};

/// Reads the entries (one per function holding an fd.decode_attention) from
/// the input module, before any lowering. Fails with a diagnostic on input
/// fd-compile cannot turn into a bundle.
LogicalResult collectEntries(ModuleOp module,
                                   const FDPipelineOptions &options,
                                   Bundle &bundle);

/// Reads the kernels (gpu.func with fd.* attributes) after convert-fd-to-gpu.
LogicalResult collectKernels(ModuleOp module, Bundle &bundle);

/// Reads the PTX of the `fd_kernels` gpu.binary after serialisation.
LogicalResult collectPTX(ModuleOp module, Bundle &bundle);

/// Parses `ptxas -v` output into per-kernel resources.
llvm::StringMap<Resources> parsePtxasReport(llvm::StringRef report);

/// Writes the bundle as JSON (docs/bundle.md).
void writeBundle(const Bundle &bundle, llvm::raw_ostream &os);

} // namespace mlir::fd::compile

#endif // FD_TOOLS_FDCOMPILE_BUNDLEWRITER_H
