//===- PatternsTest.cpp - populateFDToGPUPatterns as a caller embeds it ---===//
//
//   fd-patterns-test input.mlir
//
// A compiler that embeds fd adds populateFDToGPUPatterns to its own driver,
// in a context holding only the dialects of its input, and may apply them in
// any order. Checks, for the greedy driver both bottom-up (its default) and
// top-down: that nothing but the input's dialects is loaded before (so the
// patterns must load what they create), that the run succeeds, that no fd op
// is left, and that both orders build the same kernels: for each entry its
// partial, merge and unsplit kernels. Prints the kernels; exit 1 on failure.
//
//===----------------------------------------------------------------------===//
#include "fd/Conversion/FDToGPU/FDToGPU.h"
#include "fd/Dialect/FD/IR/FDDialect.h"
#include "fd/Dialect/FD/IR/FDOps.h"
#include "fd/Dialect/FD/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <string>
#include <vector>

using namespace mlir;

static int failures = 0;
static void check(bool ok, const std::string &what) {
  llvm::outs() << (ok ? "ok   " : "FAIL ") << what << "\n";
  failures += !ok;
}

/// The kernels populateFDToGPUPatterns builds from \p path, applied in
/// \p topDown order, or none if something failed.
static std::vector<std::string> lower(const char *path, bool topDown) {
  const char *order = topDown ? "top-down" : "bottom-up";
  DialectRegistry registry;
  registry.insert<fd::FDDialect, func::FuncDialect, memref::MemRefDialect,
                  arith::ArithDialect>();
  MLIRContext context(registry);
  OwningOpRef<ModuleOp> module = parseSourceFile<ModuleOp>(path, &context);
  if (!module) {
    check(false, std::string("parse ") + path);
    return {};
  }
  PassManager split(&context);
  split.addNestedPass<func::FuncOp>(fd::createFDSplitKV());
  if (failed(split.run(*module))) {
    check(false, "fd-split-kv");
    return {};
  }
  check(!context.getLoadedDialect("llvm") && !context.getLoadedDialect("gpu"),
        std::string(order) + ": the llvm and gpu dialects are not loaded "
                             "before the patterns are populated");

  RewritePatternSet patterns(&context);
  fd::populateFDToGPUPatterns(patterns, fd::FDToGPUOptions{});
  GreedyRewriteConfig config;
  config.setUseTopDownTraversal(topDown);
  check(succeeded(applyPatternsGreedily(*module, std::move(patterns), config)),
        std::string(order) + ": the greedy driver converges");
  bool leftOver = false;
  module->walk([&](Operation *op) {
    leftOver |= isa<fd::PartialAttentionOp, fd::MergePartialsOp,
                    fd::SplitPlanOp>(op);
  });
  check(!leftOver, std::string(order) + ": no fd op is left");
  std::vector<std::string> kernels;
  module->walk([&](gpu::GPUFuncOp fn) { kernels.push_back(fn.getName().str()); });
  std::sort(kernels.begin(), kernels.end());
  for (const std::string &k : kernels)
    llvm::outs() << "  " << order << ": " << k << "\n";
  return kernels;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    llvm::errs() << "usage: fd-patterns-test input.mlir\n";
    return 2;
  }
  std::vector<std::string> bottomUp = lower(argv[1], false),
                           topDown = lower(argv[1], true);
  check(!bottomUp.empty() && bottomUp == topDown,
        "bottom-up and top-down build the same kernels");
  // Each online-softmax entry: partial, merge, and the unsplit and
  // split_cluster variants.
  const std::vector<std::string> roles = {"_partial_online", "_merge_online",
                                          "_unsplit_online", "_cluster_online"};
  for (const std::string &role : roles) {
    size_t n = std::count_if(bottomUp.begin(), bottomUp.end(),
                             [&](const std::string &k) {
                               return k.find(role) != std::string::npos;
                             });
    check(n > 0 && roles.size() * n == bottomUp.size(),
          "one " + role.substr(1) + " kernel per entry (" + std::to_string(n) +
              ")");
  }
  llvm::outs() << (failures ? "FAILED" : "PASSED") << "\n";
  return failures ? 1 : 0;
}
