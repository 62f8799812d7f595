//===- InitAll.cpp - register everything fd tools need --------------------===//
#include "fd/InitAll.h"

#include "fd/Conversion/Passes.h"
#include "fd/Dialect/FD/IR/FDDialect.h"
#include "fd/Dialect/FD/Transforms/Passes.h"
#include "fd/Pipelines/Pipelines.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Target/LLVM/NVVM/Target.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"

void mlir::fd::registerAllFD(DialectRegistry &registry) {
  registerAllDialects(registry);
  registerAllExtensions(registry);
  // gpu-module-to-binary needs the NVVM target's serialisation interface;
  // registerAllExtensions does not attach it.
  NVVM::registerNVVMTargetInterfaceExternalModels(registry);
  // ... and the translation of the gpu/nvvm/llvm dialects to LLVM IR.
  registerAllToLLVMIRTranslations(registry);
  registry.insert<FDDialect>();

  registerAllPasses();
  registerFDTransformsPasses();
  registerFDConversionPasses();
  registerFDPipelines();
}
