// compile-and-plan input.mlir out.fdb: fd's compile (pipelines, bundle
// writer) as a library, then the runtime loading and planning the bundle
// (no GPU needed: plans for 132 SMs).
#include "fd/InitAll.h"
#include "fd/Pipelines/Pipelines.h"
#include "fd/Runtime/Bundle.h"
#include "fd/Runtime/Planner.h"
#include "fd/Target/Bundle/CompileBundle.h"

#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdio>
#include <string>

using namespace mlir;

int main(int argc, char **argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: compile-and-plan input.mlir out.fdb\n");
    return 2;
  }
  DialectRegistry registry;
  mlir::fd::registerAllFD(registry);
  auto input = llvm::MemoryBuffer::getFile(argv[1]);
  if (!input) {
    std::fprintf(stderr, "cannot read %s\n", argv[1]);
    return 1;
  }
  auto options = mlir::fd::FDPipelineOptions::createFromString("");
  namespace writer = mlir::fd::bundle_writer;
  writer::Bundle bundle;
  std::string error;
  // Every entry its own compile unit, on every CPU, no ptxas.
  if (failed(writer::compileBundle(registry, **input, *options, {}, bundle,
                                   llvm::errs(), error))) {
    std::fprintf(stderr, "%s\n", error.c_str());
    return 1;
  }
  std::string json;
  llvm::raw_string_ostream os(json);
  writer::writeBundle(bundle, os);
  os.flush();
  if (FILE *f = std::fopen(argv[2], "w")) {
    std::fwrite(json.data(), 1, json.size(), f);
    std::fclose(f);
  }

  auto loaded = ::fd::rt::Bundle::loadMemory(json, argv[2]);
  if (!loaded) {
    std::fprintf(stderr, "%s\n", loaded.getStatus().getMessage().c_str());
    return 1;
  }
  for (const ::fd::rt::EntrySpec &entry : (*loaded)->getEntries()) {
    ::fd::rt::PlanRequest request;
    request.batch = 1;
    request.maxLen = 32768;
    request.smCount = 132;
    auto plan = ::fd::rt::plan(entry, request);
    if (!plan) {
      std::fprintf(stderr, "%s\n", plan.getStatus().getMessage().c_str());
      return 1;
    }
    std::printf("%s: B=1 L=32768 on 132 SMs: S=%lld chunk=%lld\n",
                entry.name.c_str(), (long long)plan->numSplits,
                (long long)plan->chunk);
  }
  return 0;
}
