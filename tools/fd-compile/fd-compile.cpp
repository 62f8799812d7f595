//===- fd-compile.cpp - compile fd ops to a PTX kernel bundle -------------===//
//
// fd-compile input.mlir -o out.fdb [--chip=sm_90] [--ptx-out=out.ptx] ...
//
// Lowers every function holding an fd.decode_attention to split-KV kernels,
// serialises them to PTX and writes the bundle the runtime loads: the PTX and
// a JSON manifest (docs/bundle.md). When ptxas is found, it assembles the PTX
// for the target chip and records each kernel's registers, spills and shared
// memory; PTX that ptxas rejects is an error.
//
//===----------------------------------------------------------------------===//
#include "fd/Target/Bundle/BundleWriter.h"

#include "fd/Dialect/FD/IR/FDAttrs.h"
#include "fd/InitAll.h"
#include "fd/Pipelines/Pipelines.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Support/Timing.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FileUtilities.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/ToolOutputFile.h"
#include "mlir/IR/Diagnostics.h"
#include "llvm/Support/JSON.h"

#include <cmath>
#include <cstdio>
#include <optional>

using namespace mlir;
namespace cl = llvm::cl;

static cl::OptionCategory category("fd-compile options");
static cl::opt<std::string> inputFile(cl::Positional, cl::desc("<input.mlir>"),
                                      cl::init("-"), cl::cat(category));
static cl::opt<std::string> outputFile("o", cl::desc("Output bundle (.fdb)"),
                                       cl::value_desc("file"), cl::Required,
                                       cl::cat(category));
static cl::opt<std::string> ptxOut("ptx-out",
                                   cl::desc("Also write the raw PTX here"),
                                   cl::value_desc("file"), cl::cat(category));
static cl::opt<std::string>
    pipelineOptions("options",
                    cl::desc("fd-lower-to-ptx options, e.g. "
                             "\"chip=sm_80 features=+ptx80 num-splits=4\""),
                    cl::init(""), cl::cat(category));
static cl::opt<std::string> chip("chip", cl::desc("GPU architecture"),
                                 cl::init("sm_90"), cl::cat(category));
static cl::opt<std::string> ptxasPath(
    "ptxas", cl::desc("ptxas to validate the PTX with (default: PATH, then "
                      "/usr/local/cuda/bin)"),
    cl::init(""), cl::cat(category));
static cl::opt<std::string> calibration(
    "calibration",
    cl::desc("Switch every decode attention to the unified max with the phi "
             "and threshold of this fd-calibrate output (JSON)"),
    cl::value_desc("file"), cl::init(""), cl::cat(category));
static cl::opt<bool> noPtxas("no-ptxas", cl::desc("Do not run ptxas"),
                             cl::init(false), cl::cat(category));
/// The most threads ptxas may be asked for (its --split-compile).
static constexpr int kMaxPtxasThreads = 256;
static cl::opt<int> ptxasThreads(
    "ptxas-threads",
    cl::desc("Threads ptxas compiles the kernels with (its --split-compile; "
             "0: one per CPU, the default; 1: one). The registers, spills "
             "and shared memory it reports do not depend on it"),
    cl::init(0), cl::cat(category));

static int fail(const Twine &msg) {
  llvm::errs() << "fd-compile: error: " << msg << "\n";
  return 1;
}

/// Assembles the PTX with ptxas -v; returns its report or a failure message.
static FailureOr<std::string> runPtxas(StringRef ptxas, StringRef ptx,
                                       StringRef arch, int threads,
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
  std::string archFlag = ("-arch=" + arch).str();
  // The kernels are independent, so ptxas can compile them on every core:
  // the largest part of a GEMM bundle's compile time after LLVM's.
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

int main(int argc, char **argv) {
  llvm::InitLLVM initLLVM(argc, argv);
  cl::HideUnrelatedOptions(category);
  // Upstream's pass-manager and timing options (--mlir-timing, ...): where
  // a bundle's compile time goes.
  mlir::registerPassManagerCLOptions();
  mlir::registerDefaultTimingManagerCLOptions();
  cl::ParseCommandLineOptions(
      argc, argv, "fd-compile: fd decode attention -> PTX kernel bundle\n");

  std::string optionString = "chip=" + chip + " " + pipelineOptions;
  if (!calibration.empty()) {
    // fd-calibrate's JSON (docs/unified-max.md): phi and threshold become
    // the pipeline's fd-unified-max options.
    auto file = llvm::MemoryBuffer::getFile(calibration);
    if (!file)
      return fail("cannot read --calibration '" + calibration +
                  "': " + file.getError().message());
    auto json = llvm::json::parse((*file)->getBuffer());
    if (!json)
      return fail("--calibration '" + calibration +
                  "' is not valid JSON: " + llvm::toString(json.takeError()));
    const llvm::json::Object *object = json->getAsObject();
    std::optional<llvm::StringRef> format =
        object ? object->getString("format") : std::nullopt;
    std::optional<double> phi =
        object ? object->getNumber("phi") : std::nullopt;
    std::optional<double> threshold =
        object ? object->getNumber("threshold") : std::nullopt;
    if (!format || *format != "fd-calibration" || !phi || !threshold)
      return fail("--calibration '" + calibration +
                  "' is not an fd-calibrate output (expected an object with "
                  "\"format\": \"fd-calibration\", numbers \"phi\" and "
                  "\"threshold\")");
    std::string bad = fd::checkUnifiedMaxValues(*phi, *threshold);
    if (!bad.empty())
      return fail("--calibration '" + calibration + "': " + bad);
    char buf[128];
    std::snprintf(buf, sizeof(buf),
                  " unified-max-phi=%.17g unified-max-threshold=%.17g", *phi,
                  *threshold);
    optionString += buf;
  }
  auto options = fd::FDPipelineOptions::createFromString(optionString);
  if (!options)
    return fail("invalid --options '" + pipelineOptions + "'");
  // Refused here, before anything is lowered, with the option's name
  // (fd-unified-max and fd-lower-to-ptx check the same ranges).
  if (options->unifiedMaxPhi.hasValue()) {
    std::string bad = fd::checkUnifiedMaxValues(
        options->unifiedMaxPhi, options->unifiedMaxThreshold,
        "unified-max-phi", "unified-max-threshold");
    if (!bad.empty())
      return fail(bad);
  }
  if (ptxasThreads < 0 || ptxasThreads > kMaxPtxasThreads)
    return fail("--ptxas-threads must be in [0, " + Twine(kMaxPtxasThreads) +
                "], got " + Twine(int(ptxasThreads)));
  if (options->optLevel < 0 || options->optLevel > fd::kMaxOptLevel)
    return fail("opt-level must be in [0, " + Twine(fd::kMaxOptLevel) +
                "], got " + Twine(int(options->optLevel)));
  if (!fd::isKnownChip(options->chip))
    return fail("unknown GPU architecture '" + options->chip +
                "' (LLVM's NVPTX backend knows e.g. sm_80, sm_90, sm_90a)");

  DialectRegistry registry;
  fd::registerAllFD(registry);
  MLIRContext context(registry);
  context.loadAllAvailableDialects();
  // Diagnostics name the op and location; dumping the module adds noise.
  context.printOpOnDiagnostic(false);

  std::string errorMessage;
  auto input = openInputFile(inputFile, &errorMessage);
  if (!input)
    return fail(errorMessage);
  llvm::SourceMgr sourceMgr;
  sourceMgr.AddNewSourceBuffer(std::move(input), llvm::SMLoc());
  SourceMgrDiagnosticHandler diagnostics(sourceMgr, &context);
  OwningOpRef<ModuleOp> module = parseSourceFile<ModuleOp>(sourceMgr, &context);
  if (!module)
    return fail("cannot parse '" + inputFile + "'");

  namespace writer = fd::bundle_writer;
  writer::Bundle bundle;
  bundle.chip = options->chip;
  bundle.features = options->features;
  if (failed(writer::collectEntries(*module, bundle)))
    return fail("cannot compile '" + inputFile + "'");

  // One timing report for both pipelines (--mlir-timing).
  DefaultTimingManager timing;
  applyDefaultTimingManagerCLOptions(timing);
  TimingScope rootTiming = timing.getRootScope();
  PassManager toGPU(&context);
  fd::buildFDToGPUPipeline(toGPU, *options);
  if (failed(applyPassManagerCLOptions(toGPU)))
    return fail("invalid pass manager options");
  TimingScope toGPUTiming = rootTiming.nest("fd-to-gpu");
  toGPU.enableTiming(toGPUTiming);
  if (failed(toGPU.run(*module)) ||
      failed(writer::collectKernels(*module, bundle)))
    return fail("lowering to GPU kernels failed");
  toGPUTiming.stop();

  PassManager toPTX(&context);
  fd::buildGPUToPTXPipeline(toPTX, *options);
  if (failed(applyPassManagerCLOptions(toPTX)))
    return fail("invalid pass manager options");
  TimingScope toPTXTiming = rootTiming.nest("gpu-to-ptx");
  toPTX.enableTiming(toPTXTiming);
  if (failed(toPTX.run(*module)) ||
      failed(writer::collectPTX(*module, bundle)))
    return fail("lowering to PTX failed");
  toPTXTiming.stop();

  if (!noPtxas) {
    std::string ptxas = ptxasPath;
    if (ptxas.empty()) {
      if (auto found = llvm::sys::findProgramByName("ptxas"))
        ptxas = *found;
      else if (auto found = llvm::sys::findProgramByName(
                   "ptxas", {"/usr/local/cuda/bin"}))
        ptxas = *found;
    }
    if (!ptxasPath.empty() && !llvm::sys::fs::can_execute(ptxasPath))
      return fail("ptxas not found at '" + ptxasPath + "'");
    if (!ptxas.empty()) {
      TimingScope ptxasTiming = rootTiming.nest("ptxas");
      std::string error;
      auto report =
          runPtxas(ptxas, bundle.ptx, bundle.chip, ptxasThreads, error);
      if (failed(report))
        return fail(error);
      llvm::StringMap<writer::Resources> res =
          writer::parsePtxasReport(*report);
      for (writer::Kernel &k : bundle.kernels)
        if (auto it = res.find(k.symbol); it != res.end())
          k.resources = it->second;
    }
  }

  auto out = openOutputFile(outputFile, &errorMessage);
  if (!out)
    return fail(errorMessage);
  writer::writeBundle(bundle, out->os());
  out->keep();
  if (!ptxOut.empty()) {
    auto ptxFile = openOutputFile(ptxOut, &errorMessage);
    if (!ptxFile)
      return fail(errorMessage);
    ptxFile->os() << bundle.ptx;
    ptxFile->keep();
  }
  return 0;
}
