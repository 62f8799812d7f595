//===- FDToSCF.h - fd ops to reference loops --------------------*- C++ -*-===//
#ifndef FD_CONVERSION_FDTOSCF_FDTOSCF_H
#define FD_CONVERSION_FDTOSCF_FDTOSCF_H

#include "mlir/Pass/Pass.h"

namespace mlir {
class RewritePatternSet;
namespace fd {
#define GEN_PASS_DECL_CONVERTFDTOSCF
#include "fd/Conversion/Passes.h.inc"

/// Patterns lowering every fd op to scf loops with f32 arithmetic.
void populateFDToSCFPatterns(RewritePatternSet &patterns);

/// The pattern lowering `fd.split_plan` to arith + one scf loop (the maximum
/// length); shared by the CPU and the GPU host lowering.
void populateFDSplitPlanLoweringPatterns(RewritePatternSet &patterns);
} // namespace fd
} // namespace mlir

#endif // FD_CONVERSION_FDTOSCF_FDTOSCF_H
