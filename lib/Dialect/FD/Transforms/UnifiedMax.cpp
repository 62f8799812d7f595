//===- UnifiedMax.cpp - switch decode attention to the unified max --------===//
//
// FlashDecoding++ replaces the per-split running max by one value phi known
// before the kernel runs, which removes the rescaling of partials and with it
// the synchronisation between splits. Choosing phi is a property of the model
// (fd-calibrate measures it), not of the op, so it enters as a pass option.
//
//===----------------------------------------------------------------------===//
#include "fd/Dialect/FD/IR/FDOps.h"
#include "fd/Dialect/FD/Transforms/Passes.h"

#include "llvm/ADT/APFloat.h"

#include <cmath>

namespace mlir::fd {
#define GEN_PASS_DEF_FDUNIFIEDMAX
#include "fd/Dialect/FD/Transforms/Passes.h.inc"
} // namespace mlir::fd

using namespace mlir;
using namespace mlir::fd;

namespace {
struct FDUnifiedMax : mlir::fd::impl::FDUnifiedMaxBase<FDUnifiedMax> {
  using Base::Base;

  void runOnOperation() override {
    // phi's default is NaN: not given.
    if (std::isnan(phi)) {
      getOperation().emitError()
          << "fd-unified-max: phi must be given; fd-calibrate derives phi "
             "and threshold from score samples";
      return signalPassFailure();
    }
    std::string bad = checkUnifiedMaxValues(phi, threshold);
    if (!bad.empty()) {
      getOperation().emitError() << "fd-unified-max: " << bad;
      return signalPassFailure();
    }
    auto attr = UnifiedMaxAttr::get(&getContext(), llvm::APFloat(double(phi)),
                                    llvm::APFloat(double(threshold)));
    getOperation().walk([&](DecodeAttentionOp op) { op.setSoftmaxAttr(attr); });
  }
};
} // namespace
