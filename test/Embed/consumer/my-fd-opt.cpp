// An opt tool of another project: MLIR's dialects and passes plus fd's.
#include "fd/InitAll.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  mlir::fd::registerAllFD(registry);
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "an fd consumer's opt\n", registry));
}
