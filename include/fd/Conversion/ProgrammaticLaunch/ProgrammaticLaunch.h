//===- ProgrammaticLaunch.h - griddepcontrol in fd kernels ------*- C++ -*-===//
#ifndef FD_CONVERSION_PROGRAMMATICLAUNCH_PROGRAMMATICLAUNCH_H
#define FD_CONVERSION_PROGRAMMATICLAUNCH_PROGRAMMATICLAUNCH_H

#include "mlir/Pass/Pass.h"

namespace mlir::fd {
#define GEN_PASS_DECL_FDPROGRAMMATICLAUNCH
#include "fd/Conversion/Passes.h.inc"

namespace kernel_attr {
/// Unit attribute: the kernel waits for the previous grid before touching
/// memory, so the runtime may launch it with programmatic serialization.
inline constexpr const char *kPdl = "fd.pdl";
} // namespace kernel_attr
} // namespace mlir::fd

#endif // FD_CONVERSION_PROGRAMMATICLAUNCH_PROGRAMMATICLAUNCH_H
