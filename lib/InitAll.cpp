//===- InitAll.cpp - register everything fd tools need --------------------===//
#include "fd/InitAll.h"

#include "fd/Dialect/FD/IR/FDDialect.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Target/LLVM/NVVM/Target.h"

void mlir::fd::registerAllFD(DialectRegistry &registry) {
  registerAllDialects(registry);
  registerAllExtensions(registry);
  // gpu-module-to-binary needs the NVVM target's serialisation interface;
  // registerAllExtensions does not attach it.
  NVVM::registerNVVMTargetInterfaceExternalModels(registry);
  registry.insert<FDDialect>();

  registerAllPasses();
}
