//===- UnifiedMax.cpp - switch decode attention to the unified max
//---------===//
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
    if (!std::isfinite(phi) || !std::isfinite(threshold) || threshold <= 0) {
      getOperation().emitError()
          << "fd-unified-max: phi must be given and finite and threshold "
             "positive and finite (got phi="
          << double(phi) << ", threshold=" << double(threshold)
          << "); fd-calibrate derives both from score samples";
      return signalPassFailure();
    }
    auto attr = UnifiedMaxAttr::get(&getContext(), llvm::APFloat(double(phi)),
                                    llvm::APFloat(double(threshold)));
    getOperation().walk([&](DecodeAttentionOp op) { op.setSoftmaxAttr(attr); });
  }
};
} // namespace
