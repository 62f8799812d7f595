//===- MlirFuzzer.cpp - libFuzzer target: parser, verifier, fd's passes ----===//
//
// Any byte string as an MLIR module with fd's dialects registered: the
// parser and the verifiers accept it or emit diagnostics; a module that
// verifies then runs one of fd's pass pipelines (chosen by a hash of the
// input, so that every pipeline sees every kind of module), which must
// succeed or fail with a diagnostic — never crash, hang, trip a sanitizer
// or an assertion (the fuzz build has them on), and never leave IR that
// fails to verify.
//
//===----------------------------------------------------------------------===//
#include "fd/InitAll.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/SourceMgr.h"

#include <cstdint>
#include <cstdlib>
#include <memory>

using namespace mlir;

namespace {
/// fd's passes alone and in the orders fd-compile chains them, up to the
/// GPU dialect (the PTX back end is LLVM's, fuzzed upstream, and too slow
/// per input here; fd-lower-to-cpu covers the other pipeline).
constexpr const char *kPipelines[] = {
    "builtin.module(func.func(fd-split-kv))",
    "builtin.module(func.func(fd-unified-max))",
    "builtin.module(func.func(fd-split-kv),func.func(fd-unified-max))",
    "builtin.module(func.func(fd-tile-flat-gemm))",
    "builtin.module(func.func(fd-split-kv),convert-fd-to-gpu)",
    "builtin.module(func.func(fd-split-kv),func.func(fd-unified-max),"
    "convert-fd-to-gpu)",
    "builtin.module(func.func(fd-tile-flat-gemm),convert-flat-gemm-to-gpu)",
    "builtin.module(fd-lower-to-cpu)",
    "builtin.module(func.func(fd-split-kv),convert-fd-to-scf)",
};

struct World {
  DialectRegistry registry;
  World() { fd::registerAllFD(registry); }
};
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static World world; // registers the passes once
  MLIRContext context(world.registry);
  context.loadAllAvailableDialects();
  context.disableMultithreading();
  // Diagnostics are expected; keep them off stderr.
  ScopedDiagnosticHandler quiet(&context, [](Diagnostic &) { return success(); });

  // A copy: MLIR's lexer reads up to a terminating NUL, which every file a
  // tool reads has (MemoryBuffer::getFile) and libFuzzer's input does not;
  // parsing the input in place reads past it (found by a 12-minute run).
  llvm::StringRef text(reinterpret_cast<const char *>(data), size);
  auto buffer = llvm::MemoryBuffer::getMemBufferCopy(text, "fuzz.mlir");
  llvm::SourceMgr sources;
  sources.AddNewSourceBuffer(std::move(buffer), llvm::SMLoc());
  OwningOpRef<ModuleOp> module = parseSourceFile<ModuleOp>(sources, &context);
  if (!module || failed(verify(*module)))
    return 0;

  uint64_t hash = 1469598103934665603ull; // FNV-1a
  for (size_t i = 0; i < size; ++i)
    hash = (hash ^ data[i]) * 1099511628211ull;
  const char *pipeline =
      kPipelines[hash % (sizeof(kPipelines) / sizeof(kPipelines[0]))];
  PassManager pm(&context);
  if (failed(parsePassPipeline(pipeline, pm)))
    std::abort(); // the list above is fd's own
  // Verified once at the end instead of after each pass, so that a pipeline
  // that succeeds but leaves invalid IR (a bug) is told apart from one that
  // refuses its input with a diagnostic (fine).
  pm.enableVerifier(false);
  if (succeeded(pm.run(*module)) && failed(verify(*module)))
    std::abort();
  return 0;
}
