//===- FDAttrs.h - fd dialect attributes ------------------------*- C++ -*-===//
#ifndef FD_DIALECT_FD_IR_FDATTRS_H
#define FD_DIALECT_FD_IR_FDATTRS_H

#include "mlir/IR/Attributes.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectImplementation.h"

#include <string>

#define GET_ATTRDEF_CLASSES
#include "fd/Dialect/FD/IR/FDAttrs.h.inc"

namespace mlir::fd {
/// Why \p phi and \p threshold cannot be a unified max, or "" if they can:
/// the kernels compute with both in f32, so phi must be finite with
/// |phi| <= FLT_MAX and threshold in (0, FLT_MAX]
/// (fdb::kMaxUnifiedMaxValue). The message names the values \p phiName and
/// \p thresholdName. Shared by the attribute's verifier, fd-unified-max and
/// fd-compile, so all three accept the same values.
std::string checkUnifiedMaxValues(double phi, double threshold,
                                  llvm::StringRef phiName = "phi",
                                  llvm::StringRef thresholdName = "threshold");
} // namespace mlir::fd

#endif // FD_DIALECT_FD_IR_FDATTRS_H
