//===- ProgrammaticLaunch.h - griddepcontrol in fd kernels ------*- C++ -*-===//
#ifndef FD_CONVERSION_PROGRAMMATICLAUNCH_PROGRAMMATICLAUNCH_H
#define FD_CONVERSION_PROGRAMMATICLAUNCH_PROGRAMMATICLAUNCH_H

#include "mlir/Pass/Pass.h"

namespace mlir::fd {
#define GEN_PASS_DECL_FDPROGRAMMATICLAUNCH
#include "fd/Conversion/Passes.h.inc"

/// Whether \p chip ("sm_90", "sm_90a", "sm_100f", ...) has griddepcontrol
/// (sm_90 and later).
bool chipHasGridDependencyControl(llvm::StringRef chip);

} // namespace mlir::fd

#endif // FD_CONVERSION_PROGRAMMATICLAUNCH_PROGRAMMATICLAUNCH_H
