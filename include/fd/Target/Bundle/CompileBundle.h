//===- CompileBundle.h - fd ops to a kernel bundle, entry by entry -*- C++ -*-===//
//
// What fd-compile does, as a library: every entry of the input (a function
// holding one fd op) is its own compile unit, with its own MLIRContext, the
// two fd pipelines, its own PTX module (named after the entry) and its own
// ptxas run; the units run on a pool of threads and are joined in the
// input's order. The lowering and LLVM's NVPTX backend are serial within a
// module, so this is what lets a bundle of several GEMMs use the machine's
// cores. The bundle does not depend on the thread count, and the runtime
// JIT-loads a module only when an entry in it is bound.
//
//===----------------------------------------------------------------------===//
#ifndef FD_TARGET_BUNDLE_COMPILEBUNDLE_H
#define FD_TARGET_BUNDLE_COMPILEBUNDLE_H

#include "fd/Pipelines/Pipelines.h"
#include "fd/Target/Bundle/BundleWriter.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/Timing.h"
#include "llvm/Support/MemoryBuffer.h"

#include <functional>
#include <string>

namespace mlir::fd::bundle_writer {

/// The most threads compileBundle runs its units on.
inline constexpr unsigned kMaxCompileJobs = 256;
/// The most threads ptxas may be asked for (its --split-compile).
inline constexpr int kMaxPtxasThreads = 256;

struct CompileOptions {
  /// Threads the units run on, in [0, kMaxCompileJobs] (0: one per CPU).
  unsigned jobs = 0;
  /// ptxas to assemble each module with and read the kernels' registers,
  /// spills and shared memory from ("": not run); PTX it rejects fails the
  /// compile. ptxasThreads is its --split-compile, in [0,
  /// kMaxPtxasThreads] (0: one per CPU; the report does not depend on it).
  std::string ptxas;
  int ptxasThreads = 0;
  /// Called on each unit's two pass managers before they run (fd-compile
  /// applies MLIR's pass-manager command-line options there).
  std::function<LogicalResult(PassManager &)> configure;
  /// Each unit's timing nests here when set (--mlir-timing).
  TimingScope *timing = nullptr;
};

/// Compiles every entry of \p source (MLIR text) with \p pipeline into
/// \p bundle (its chip and features from \p pipeline). The diagnostics of
/// the input and of every unit are printed to \p diagnostics, a unit's
/// after the one before it, whatever order the threads finish in. On
/// failure \p error says what failed (the first unit that failed).
LogicalResult compileBundle(const DialectRegistry &registry,
                            const llvm::MemoryBuffer &source,
                            const FDPipelineOptions &pipeline,
                            const CompileOptions &options, Bundle &bundle,
                            llvm::raw_ostream &diagnostics,
                            std::string &error);

/// Assembles \p ptx for \p chip with `ptxas -v` on \p threads threads (its
/// --split-compile; 1: none); returns its report, or fails with \p error.
FailureOr<std::string> runPtxas(StringRef ptxas, StringRef ptx, StringRef chip,
                                int threads, std::string &error);

} // namespace mlir::fd::bundle_writer

#endif // FD_TARGET_BUNDLE_COMPILEBUNDLE_H
