//===- fd-opt.cpp - mlir-opt with the fd dialect and passes ---------------===//
#include "fd/InitAll.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  mlir::fd::registerAllFD(registry);
  return mlir::asMainReturnCode(mlir::MlirOptMain(
      argc, argv, "fd optimizer driver: the fd dialect and its passes\n",
      registry));
}
