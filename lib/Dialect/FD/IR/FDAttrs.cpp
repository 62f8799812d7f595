//===- FDAttrs.cpp - softmax strategy attributes --------------------------===//
//
// `#fd.unified_max<phi = 6.0, threshold = 40.0>` is parsed by hand because
// ODS has no field parser for APFloat and the default would print the
// parameters as typed float attributes.
//
//===----------------------------------------------------------------------===//
#include "fd/Dialect/FD/IR/FDAttrs.h"

using namespace mlir;
using namespace mlir::fd;

Attribute UnifiedMaxAttr::parse(AsmParser &parser, Type) {
  double phi = 0, threshold = 0;
  if (parser.parseLess() || parser.parseKeyword("phi") || parser.parseEqual() ||
      parser.parseFloat(phi) || parser.parseComma() ||
      parser.parseKeyword("threshold") || parser.parseEqual() ||
      parser.parseFloat(threshold) || parser.parseGreater())
    return {};
  return getChecked([&] { return parser.emitError(parser.getNameLoc()); },
                    parser.getContext(), llvm::APFloat(phi),
                    llvm::APFloat(threshold));
}

void UnifiedMaxAttr::print(AsmPrinter &printer) const {
  printer << "<phi = " << getPhi().convertToDouble()
          << ", threshold = " << getThreshold().convertToDouble() << ">";
}

LogicalResult
UnifiedMaxAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                       llvm::APFloat phi, llvm::APFloat threshold) {
  if (!phi.isFinite())
    return emitError() << "unified_max: 'phi' must be finite";
  if (!threshold.isFinite() || threshold.isNegative() || threshold.isZero())
    return emitError()
           << "unified_max: 'threshold' must be positive and finite";
  return success();
}
