//===- CompileBundle.cpp - fd ops to a kernel bundle, entry by entry ------===//
#include "fd/Target/Bundle/CompileBundle.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FileUtilities.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/ThreadPool.h"
#include "llvm/Support/Threading.h"

#include <optional>

using namespace mlir;
using namespace mlir::fd;
using namespace mlir::fd::bundle_writer;

FailureOr<std::string> fd::bundle_writer::runPtxas(StringRef ptxas,
                                                   StringRef ptx,
                                                   StringRef chip, int threads,
                                                   std::string &error) {
  SmallString<128> ptxFile, logFile;
  if (llvm::sys::fs::createTemporaryFile("fd-compile", "ptx", ptxFile) ||
      llvm::sys::fs::createTemporaryFile("fd-compile", "log", logFile)) {
    error = "cannot create temporary files for ptxas";
    return failure();
  }
  llvm::FileRemover removePtx(ptxFile), removeLog(logFile);
  {
    std::error_code ec;
    llvm::raw_fd_ostream os(ptxFile, ec);
    if (ec) {
      error = "cannot write " + ptxFile.str().str() + ": " + ec.message();
      return failure();
    }
    os << ptx;
  }
  std::string archFlag = ("-arch=" + chip).str();
  // The kernels of a module are independent, so ptxas can compile them on
  // every core.
  std::string splitFlag = "--split-compile=" + std::to_string(threads);
  SmallVector<StringRef> args = {ptxas, archFlag, "-v"};
  if (threads != 1)
    args.push_back(splitFlag);
  args.append({ptxFile, "-o", "/dev/null"});
  std::optional<StringRef> redirects[] = {std::nullopt, StringRef(logFile),
                                          StringRef(logFile)};
  int rc = llvm::sys::ExecuteAndWait(ptxas, args, std::nullopt, redirects, 120,
                                     0, &error);
  auto log = llvm::MemoryBuffer::getFile(logFile);
  std::string text = log ? (*log)->getBuffer().str() : std::string();
  if (rc != 0) {
    error = "ptxas rejected the generated PTX (exit " + std::to_string(rc) +
            "):\n" + text + error;
    return failure();
  }
  return text;
}

namespace {
/// One entry's compile: its bundle part, its diagnostics and what failed.
struct Unit {
  Bundle bundle;
  std::string diagnostics, error;
};

/// Parses \p source (not copied) into \p context; the diagnostics go to
/// the handler the caller set up on \p sourceMgr.
OwningOpRef<ModuleOp> parse(const llvm::MemoryBuffer &source,
                            MLIRContext &context, llvm::SourceMgr &sourceMgr) {
  sourceMgr.AddNewSourceBuffer(
      llvm::MemoryBuffer::getMemBuffer(source.getBuffer(),
                                       source.getBufferIdentifier()),
      llvm::SMLoc());
  return parseSourceFile<ModuleOp>(sourceMgr, &context);
}

void compileUnit(const DialectRegistry &registry,
                 const llvm::MemoryBuffer &source,
                 const FDPipelineOptions &pipeline,
                 const CompileOptions &options,
                 ArrayRef<std::string> entryNames, size_t index, Unit &unit) {
  const std::string &name = entryNames[index];
  MLIRContext context(registry, MLIRContext::Threading::DISABLED);
  context.loadAllAvailableDialects();
  // Diagnostics name the op and location; dumping the module adds noise.
  context.printOpOnDiagnostic(false);
  llvm::SourceMgr sourceMgr;
  llvm::raw_string_ostream diagnosticStream(unit.diagnostics);
  SourceMgrDiagnosticHandler handler(sourceMgr, &context, diagnosticStream);
  // Every unit parses the same text, so that its diagnostics point into
  // the input as the whole module's would.
  OwningOpRef<ModuleOp> module = parse(source, context, sourceMgr);
  if (!module) {
    unit.error = "cannot parse '" + source.getBufferIdentifier().str() + "'";
    return;
  }
  // The unit is its entry alone: an entry holds its fd op and nothing
  // that refers to another function (collectEntries), and no other
  // function becomes part of a bundle, so none is compiled; a host
  // function calling an entry would otherwise lose its callee here.
  SmallVector<func::FuncOp> others;
  module->walk([&](func::FuncOp fn) {
    if (fn.getName() != name)
      others.push_back(fn);
  });
  for (func::FuncOp fn : others)
    fn.erase();

  Bundle &bundle = unit.bundle;
  bundle.chip = pipeline.chip;
  bundle.features = pipeline.features;
  std::optional<TimingScope> unitTiming;
  if (options.timing)
    unitTiming.emplace(options.timing->nest(name));
  PassManager toGPU(&context), toPTX(&context);
  buildFDToGPUPipeline(toGPU, pipeline);
  buildGPUToPTXPipeline(toPTX, pipeline);
  if (options.configure &&
      (failed(options.configure(toGPU)) || failed(options.configure(toPTX)))) {
    unit.error = "invalid pass manager options";
    return;
  }
  {
    std::optional<TimingScope> timing;
    if (unitTiming) {
      timing.emplace(unitTiming->nest("fd-to-gpu"));
      toGPU.enableTiming(*timing);
    }
    if (failed(collectEntries(*module, bundle)) ||
        failed(toGPU.run(*module)) || failed(collectKernels(*module, bundle))) {
      unit.error = "lowering '" + name + "' to GPU kernels failed";
      return;
    }
  }
  {
    std::optional<TimingScope> timing;
    if (unitTiming) {
      timing.emplace(unitTiming->nest("gpu-to-ptx"));
      toPTX.enableTiming(*timing);
    }
    if (failed(toPTX.run(*module)) ||
        failed(collectPTX(*module, bundle, name))) {
      unit.error = "lowering '" + name + "' to PTX failed";
      return;
    }
  }
  if (options.ptxas.empty())
    return;
  std::optional<TimingScope> timing;
  if (unitTiming)
    timing.emplace(unitTiming->nest("ptxas"));
  std::string error;
  FailureOr<std::string> report =
      runPtxas(options.ptxas, bundle.modules.front().ptx, bundle.chip,
               options.ptxasThreads, error);
  if (failed(report)) {
    unit.error = "'" + name + "': " + error;
    return;
  }
  llvm::StringMap<Resources> resources = parsePtxasReport(*report);
  for (Kernel &k : bundle.kernels)
    if (auto it = resources.find(k.symbol); it != resources.end())
      k.resources = it->second;
}
} // namespace

LogicalResult fd::bundle_writer::compileBundle(
    const DialectRegistry &registry, const llvm::MemoryBuffer &source,
    const FDPipelineOptions &pipeline, const CompileOptions &options,
    Bundle &bundle, llvm::raw_ostream &diagnostics, std::string &error) {
  if (options.jobs > kMaxCompileJobs) {
    error = "jobs must be in [0, " + std::to_string(kMaxCompileJobs) +
            "], got " + std::to_string(options.jobs);
    return failure();
  }
  if (options.ptxasThreads < 0 || options.ptxasThreads > kMaxPtxasThreads) {
    error = "ptxas threads must be in [0, " + std::to_string(kMaxPtxasThreads) +
            "], got " + std::to_string(options.ptxasThreads);
    return failure();
  }
  // The whole input first: its errors are reported once, and its entries
  // are the units.
  std::vector<std::string> entryNames;
  {
    MLIRContext context(registry, MLIRContext::Threading::DISABLED);
    context.loadAllAvailableDialects();
    context.printOpOnDiagnostic(false);
    llvm::SourceMgr sourceMgr;
    SourceMgrDiagnosticHandler handler(sourceMgr, &context, diagnostics);
    OwningOpRef<ModuleOp> module = parse(source, context, sourceMgr);
    if (!module) {
      error = "cannot parse '" + source.getBufferIdentifier().str() + "'";
      return failure();
    }
    Bundle whole;
    if (failed(collectEntries(*module, whole))) {
      error = "cannot compile '" + source.getBufferIdentifier().str() + "'";
      return failure();
    }
    for (const Entry &e : whole.entries)
      entryNames.push_back(e.name);
  }

  std::vector<Unit> units(entryNames.size());
  unsigned threads = std::min<unsigned>(
      options.jobs == 0 ? llvm::hardware_concurrency().compute_thread_count()
                        : options.jobs,
      units.size());
  auto run = [&](size_t i) {
    compileUnit(registry, source, pipeline, options, entryNames, i, units[i]);
  };
  if (threads <= 1) {
    for (size_t i = 0; i < units.size(); ++i)
      run(i);
  } else {
    llvm::DefaultThreadPool pool(llvm::hardware_concurrency(threads));
    for (size_t i = 0; i < units.size(); ++i)
      pool.async(run, i);
    pool.wait();
  }

  bundle.chip = pipeline.chip;
  bundle.features = pipeline.features;
  error.clear();
  for (Unit &unit : units) {
    diagnostics << unit.diagnostics;
    if (!unit.error.empty() && error.empty())
      error = unit.error;
    std::string appendError;
    if (error.empty() &&
        failed(appendBundle(bundle, std::move(unit.bundle), appendError)))
      error = appendError;
  }
  return success(error.empty());
}
