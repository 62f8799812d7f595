//===- Passes.h - fd conversions --------------------------------*- C++ -*-===//
#ifndef FD_CONVERSION_PASSES_H
#define FD_CONVERSION_PASSES_H

#include "fd/Conversion/FDToGPU/FDToGPU.h"
#include "fd/Conversion/FDToSCF/FDToSCF.h"
#include "fd/Conversion/FlatGemmToGPU/FlatGemmToGPU.h"
#include "fd/Conversion/ProgrammaticLaunch/ProgrammaticLaunch.h"

namespace mlir::fd {
#define GEN_PASS_REGISTRATION
#include "fd/Conversion/Passes.h.inc"
} // namespace mlir::fd

#endif // FD_CONVERSION_PASSES_H
