//===- FlatGemmToGPU.h - tiled fd.flat_gemm to fd kernels -------*- C++ -*-===//
#ifndef FD_CONVERSION_FLATGEMMTOGPU_FLATGEMMTOGPU_H
#define FD_CONVERSION_FLATGEMMTOGPU_FLATGEMMTOGPU_H

#include "mlir/Pass/Pass.h"

namespace mlir {
class RewritePatternSet;
class RewriterBase;
namespace fd {
class FlatGemmOp;

#define GEN_PASS_DECL_CONVERTFLATGEMMTOGPU
#include "fd/Conversion/Passes.h.inc"

/// Replaces \p op, a flat GEMM that fd-tile-flat-gemm gave a kernel
/// description (fd/Dialect/FD/Transforms/TileFlatGemm.h), with a
/// gpu.launch_func of a new kernel in the `fd_kernels` gpu.module. Emits a
/// diagnostic and fails on a missing or malformed description.
LogicalResult lowerFlatGemmToKernel(RewriterBase &rewriter, FlatGemmOp op);

/// The pattern that applies lowerFlatGemmToKernel to every described
/// fd.flat_gemm. Loads the dialects the kernels are built from, so a
/// caller's context needs only its input's.
void populateFlatGemmToGPUPatterns(RewritePatternSet &patterns);
} // namespace fd
} // namespace mlir

#endif // FD_CONVERSION_FLATGEMMTOGPU_FLATGEMMTOGPU_H
