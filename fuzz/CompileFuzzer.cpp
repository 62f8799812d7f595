//===- CompileFuzzer.cpp - libFuzzer target: writer -> reader round trip ---===//
//
// Any byte string as the input of fd-compile, up to the PTX back end: a
// module that parses and verifies goes through fd-compile's own steps --
// the bundle writer's entries, the pipeline to GPU kernels (with options
// chosen by a hash of the input), the writer's kernels and its JSON -- and
// whatever the writer writes, the runtime's bundle reader must load
// (issue 16: fd-compile must never write a bundle the runtime refuses), and
// every attention entry must plan at B = 1 and at the largest lengths. The
// PTX is a stub (the reader checks PTX against the kernels only where it is
// PTX), so the back end, which is LLVM's and slow, is not in the loop; the
// reader's PTX checks have their own target (fd-fuzz-bundle).
//
//===----------------------------------------------------------------------===//
#include "fd/InitAll.h"
#include "fd/Pipelines/Pipelines.h"
#include "fd/Runtime/Bundle.h"
#include "fd/Runtime/Planner.h"
#include "fd/Target/Bundle/BundleWriter.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

using namespace mlir;

namespace {
/// fd-compile option strings the inputs are compiled with: the defaults and
/// the options that change what the writer records (splits, softmax,
/// kernels, launch attributes).
constexpr const char *kOptions[] = {
    "",
    "num-splits=3",
    "chunk-size=96",
    "unified-max-phi=0 unified-max-threshold=40",
    "mma-min-group=0 pdl=false",
    "ctas-per-sm=1 min-chunk=1 chunk-align=1 max-splits=1",
    "gemm-direct=true gemm-dispatch=1:gemv,8:mma_m8",
    // Wide tiles and clusters (the manifest's "cluster", the grid's y),
    // and a bundle of the dispatched kernels only.
    "gemm-wide-from=16 gemm-cluster-k=2 gemm-only-dispatched=true",
};

struct World {
  DialectRegistry registry;
  World() { mlir::fd::registerAllFD(registry); }
};

[[noreturn]] void refused(const std::string &manifest,
                          const std::string &error) {
  std::fprintf(stderr, "fd-fuzz-compile: the runtime refuses a bundle the "
                       "writer wrote:\n%s\n--- manifest ---\n%s\n",
               error.c_str(), manifest.c_str());
  std::abort();
}
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static World world;
  MLIRContext context(world.registry);
  context.loadAllAvailableDialects();
  context.disableMultithreading();
  ScopedDiagnosticHandler quiet(&context, [](Diagnostic &) { return success(); });

  // A NUL-terminated copy, as in fd-fuzz-mlir.
  llvm::StringRef text(reinterpret_cast<const char *>(data), size);
  llvm::SourceMgr sources;
  sources.AddNewSourceBuffer(llvm::MemoryBuffer::getMemBufferCopy(text, "in"),
                             llvm::SMLoc());
  OwningOpRef<ModuleOp> module = parseSourceFile<ModuleOp>(sources, &context);
  if (!module || failed(verify(*module)))
    return 0;

  uint64_t hash = 1469598103934665603ull; // FNV-1a
  for (size_t i = 0; i < size; ++i)
    hash = (hash ^ data[i]) * 1099511628211ull;
  const char *optionString =
      kOptions[hash % (sizeof(kOptions) / sizeof(kOptions[0]))];
  auto options = mlir::fd::FDPipelineOptions::createFromString(optionString);
  if (!options)
    std::abort(); // the list above is fd's own

  namespace writer = mlir::fd::bundle_writer;
  writer::Bundle bundle;
  bundle.chip = options->chip;
  bundle.features = options->features;
  if (failed(writer::collectEntries(*module, bundle)))
    return 0;
  PassManager toGPU(&context);
  mlir::fd::buildFDToGPUPipeline(toGPU, *options);
  if (failed(toGPU.run(*module)) ||
      failed(writer::collectKernels(*module, bundle)))
    return 0;
  // No .version or .target: not checked as PTX.
  bundle.modules.push_back({std::string(::fdb::kModuleName), "stub"});
  for (writer::Kernel &k : bundle.kernels)
    k.module = bundle.modules.front().name;

  std::string manifest;
  llvm::raw_string_ostream os(manifest);
  writer::writeBundle(bundle, os);
  auto loaded = ::fd::rt::Bundle::loadMemory(manifest, "written.fdb");
  if (!loaded)
    refused(manifest, loaded.getStatus().getMessage());
  for (const ::fd::rt::EntrySpec &entry : (*loaded)->getEntries()) {
    if (entry.op != ::fd::rt::OpKind::DecodeAttention)
      continue;
    for (int64_t len : {int64_t(1), int64_t(4096), int64_t(2147483647)})
      for (size_t v = 0; v < entry.variants.size(); ++v) {
        auto plan = ::fd::rt::plan(entry, /*batch=*/1, len, /*smCount=*/132,
                                 /*residentCtasPerSm=*/1, int(v));
        if (!plan)
          refused(manifest, "variant " + entry.variants[v].name +
                                " at max_len " + std::to_string(len) + ": " +
                                plan.getStatus().getMessage());
      }
  }
  return 0;
}
