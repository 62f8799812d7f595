//===- GemmKernels.h - the flat GEMM kernel builders ------------*- C++ -*-===//
//
// Private to lib/Conversion/FlatGemmToGPU: one builder per kernel family
// (GemvKernel.cpp, MmaKernel.cpp, DirectKernel.cpp) and the pieces they
// share (GemmKernels.cpp). Each builder fills the body of a gpu.launch that
// FlatGemmToGPU.cpp then outlines; the body reaches the GEMM's tensors only
// through GemmOperands, the values bound to x, w, bias and y.
//
//===----------------------------------------------------------------------===//
#ifndef FD_LIB_CONVERSION_FLATGEMMTOGPU_GEMMKERNELS_H
#define FD_LIB_CONVERSION_FLATGEMMTOGPU_GEMMKERNELS_H

#include "../Utils/KernelEmitter.h"
#include "../Utils/TensorCore.h"
#include "fd/Dialect/FD/Transforms/TileFlatGemm.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"

namespace mlir::fd::flat_gemm {

/// The static shape of one GEMM: W is [n][k] of `elem`.
struct GemmShape {
  int64_t n = 0, k = 0;
  Type elem;
};

/// The tensors a kernel binds (bias may be null).
struct GemmOperands {
  Value x, w, bias, y;
};

/// The launch a kernel body is built in: its ids and the operands.
struct LaunchContext {
  mutable gpu::LaunchOp launch; // op accessors are non-const
  GemmShape shape;
  GemmOperands ops;
};

/// Kernel bodies, built at the start of the launch's body and ended with
/// its gpu.terminator.
void buildGemvBody(OpBuilder &b, const LaunchContext &ctx,
                   const GemvTiling &tiling);
void buildMmaBody(OpBuilder &b, const LaunchContext &ctx,
                  const MmaTiling &tiling);
void buildDirectBody(OpBuilder &b, const LaunchContext &ctx,
                     const DirectTiling &tiling);

//===----------------------------------------------------------------------===//
// Shared pieces
//===----------------------------------------------------------------------===//

/// Emits one memref.assume_alignment (16 bytes, what the vector loads and
/// cp.async rely on) per operand, in binding order, and returns the
/// aligned values.
GemmOperands alignOperands(KernelEmitter &e, const GemmOperands &in);

/// y[m, n] = acc (+ bias[n]), converted to y's element type.
void storeOutput(KernelEmitter &e, const GemmOperands &ops, Value acc, Value m,
                 Value n);

/// Where a tensor-core kernel's warps leave their partial C tiles: `red` =
/// [splitK][tileRows][padM + 1] f32 in shared memory, for the tile at
/// (n0, m0) of a GEMM with `rows` batch rows.
struct ReducedTile {
  Value red;
  int64_t threads, tileRows, padM, splitK;
  Value n0, m0, rows;
};

/// The tensor-core kernels' epilogue, after the barrier that publishes
/// `tile.red`: sums the warps' partials of every (n, m) and stores y for
/// rows m < M. Consecutive threads take consecutive n so the y stores
/// coalesce.
void storeReducedTile(KernelEmitter &e, const GemmOperands &ops,
                      const ReducedTile &tile, Value tid);

/// storeReducedTile for a cluster of \p clusterK CTAs that each hold a
/// partial `tile.red` of the same (n0, m0) tile, after a cluster barrier
/// that publishes them: the CTA of cluster rank \p rank sums every CTA's
/// partials (distributed shared memory) of a 1 / clusterK share of the
/// elements and stores them.
void storeClusterReducedTile(KernelEmitter &e, const GemmOperands &ops,
                             const ReducedTile &tile, Value tid,
                             int64_t clusterK, Value rank);

} // namespace mlir::fd::flat_gemm

#endif // FD_LIB_CONVERSION_FLATGEMMTOGPU_GEMMKERNELS_H
