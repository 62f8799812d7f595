//===- fd-compile.cpp - compile fd ops to a PTX kernel bundle -------------===//
//
// fd-compile input.mlir -o out.fdb [--chip=sm_90] [--ptx-out=out.ptx] ...
//
// Lowers every function holding an fd op (decode attention, flat GEMM, merge
// states) to kernels, serialises them to PTX and writes the bundle the
// runtime loads: the PTX and a JSON manifest (docs/bundle.md). When ptxas is
// found, it assembles the PTX for the target chip and records each kernel's
// registers, spills and shared memory; PTX that ptxas rejects is an error.
//
// Each entry is its own compile unit, on --jobs threads
// (fd/Target/Bundle/CompileBundle.h: one PTX module per entry, the same
// bundle for any thread count).
//
//===----------------------------------------------------------------------===//
#include "fd/Target/Bundle/CompileBundle.h"

#include "fd/Dialect/FD/IR/FDAttrs.h"
#include "fd/InitAll.h"
#include "fd/Pipelines/Pipelines.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Support/Timing.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/ToolOutputFile.h"

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
static cl::opt<int> ptxasThreads(
    "ptxas-threads",
    cl::desc("Threads ptxas compiles the kernels with (its --split-compile; "
             "0: one per CPU, the default; 1: one). The registers, spills "
             "and shared memory it reports do not depend on it"),
    cl::init(0), cl::cat(category));

static cl::opt<int>
    jobs("jobs",
         cl::desc("Threads the entries are compiled on, one entry (compile "
                  "unit) at a time each (0: one per CPU, the default)"),
         cl::init(0), cl::cat(category));

static int fail(const Twine &msg) {
  llvm::errs() << "fd-compile: error: " << msg << "\n";
  return 1;
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
  namespace writer = fd::bundle_writer;
  if (ptxasThreads < 0 || ptxasThreads > writer::kMaxPtxasThreads)
    return fail("--ptxas-threads must be in [0, " +
                Twine(writer::kMaxPtxasThreads) + "], got " +
                Twine(int(ptxasThreads)));
  if (jobs < 0 || jobs > int(writer::kMaxCompileJobs))
    return fail("--jobs must be in [0, " + Twine(writer::kMaxCompileJobs) +
                "], got " + Twine(int(jobs)));
  if (options->optLevel < 0 || options->optLevel > fd::kMaxOptLevel)
    return fail("opt-level must be in [0, " + Twine(fd::kMaxOptLevel) +
                "], got " + Twine(int(options->optLevel)));
  if (!fd::isKnownChip(options->chip))
    return fail("unknown GPU architecture '" + options->chip +
                "' (LLVM's NVPTX backend knows e.g. sm_80, sm_90, sm_90a)");

  writer::CompileOptions compile;
  compile.jobs = unsigned(int(jobs));
  compile.ptxasThreads = ptxasThreads;
  if (!noPtxas) {
    compile.ptxas = ptxasPath;
    if (compile.ptxas.empty()) {
      if (auto found = llvm::sys::findProgramByName("ptxas"))
        compile.ptxas = *found;
      else if (auto found = llvm::sys::findProgramByName(
                   "ptxas", {"/usr/local/cuda/bin"}))
        compile.ptxas = *found;
    }
    if (!ptxasPath.empty() && !llvm::sys::fs::can_execute(ptxasPath))
      return fail("ptxas not found at '" + ptxasPath + "'");
  }
  compile.configure = [](PassManager &pm) {
    return applyPassManagerCLOptions(pm);
  };
  // One timing report for every unit's pipelines (--mlir-timing).
  DefaultTimingManager timing;
  applyDefaultTimingManagerCLOptions(timing);
  TimingScope rootTiming = timing.getRootScope();
  compile.timing = &rootTiming;

  std::string errorMessage;
  auto input = openInputFile(inputFile, &errorMessage);
  if (!input)
    return fail(errorMessage);
  DialectRegistry registry;
  fd::registerAllFD(registry);
  writer::Bundle bundle;
  if (failed(writer::compileBundle(registry, *input, *options, compile, bundle,
                                   llvm::errs(), errorMessage)))
    return fail(errorMessage);

  auto out = openOutputFile(outputFile, &errorMessage);
  if (!out)
    return fail(errorMessage);
  writer::writeBundle(bundle, out->os());
  out->keep();
  if (!ptxOut.empty()) {
    auto ptxFile = openOutputFile(ptxOut, &errorMessage);
    if (!ptxFile)
      return fail(errorMessage);
    ptxFile->os() << (bundle.modules.size() == 1
                          ? bundle.modules.front().ptx
                          : writer::joinModulesPTX(bundle));
    ptxFile->keep();
  }
  return 0;
}
