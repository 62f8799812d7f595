//===- FDAttrs.cpp - softmax strategy attributes --------------------------===//
//
// `#fd.unified_max<phi = 6.0, threshold = 40.0>` is parsed by hand because
// ODS has no field parser for APFloat and the default would print the
// parameters as typed float attributes.
//
//===----------------------------------------------------------------------===//
#include "fd/Dialect/FD/IR/FDAttrs.h"

#include "fd/Bundle/Schema.h"

#include <cmath>
#include <cstdio>

using namespace mlir;
using namespace mlir::fd;

std::string mlir::fd::checkUnifiedMaxValues(double phi, double threshold,
                                            StringRef phiName,
                                            StringRef thresholdName) {
  const double limit = fdb::kMaxUnifiedMaxValue;
  char buf[256];
  // NaN fails both comparisons, so it is refused with the infinities.
  if (!(std::fabs(phi) <= limit)) {
    std::snprintf(buf, sizeof(buf),
                  "%s must be in [-%.9g, %.9g] (finite, an f32), got %g",
                  phiName.str().c_str(), limit, limit, phi);
    return buf;
  }
  if (!(threshold > 0 && threshold <= limit)) {
    std::snprintf(buf, sizeof(buf),
                  "%s must be in (0, %.9g] (finite, an f32), got %g",
                  thresholdName.str().c_str(), limit, threshold);
    return buf;
  }
  return "";
}

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
  std::string bad = checkUnifiedMaxValues(phi.convertToDouble(),
                                          threshold.convertToDouble(),
                                          "'phi'", "'threshold'");
  if (!bad.empty())
    return emitError() << "unified_max: " << bad;
  return success();
}
