//===- FlatGemmToGPU.h - outline flat GEMM launches into kernels -*- C++
//-*-===//
#ifndef FD_CONVERSION_FLATGEMMTOGPU_FLATGEMMTOGPU_H
#define FD_CONVERSION_FLATGEMMTOGPU_FLATGEMMTOGPU_H

#include "mlir/Pass/Pass.h"

namespace mlir {
namespace gpu {
class LaunchOp;
class GPUFuncOp;
} // namespace gpu
namespace fd {
#define GEN_PASS_DECL_CONVERTFLATGEMMTOGPU
#include "fd/Conversion/Passes.h.inc"

/// Attribute names (beyond FDToGPU.h's kernel_attr) on flat GEMM kernels.
namespace kernel_attr {
inline constexpr const char *kMTile = "fd.m_tile";             // i64
inline constexpr const char *kDynamicSmem = "fd.dynamic_smem"; // i64 bytes
} // namespace kernel_attr

/// Outlines one launch made by fd-tile-flat-gemm into a kernel of the
/// `fd_kernels` gpu.module and replaces it with a gpu.launch_func. Emits a
/// diagnostic and fails on a launch that breaks the contract of
/// TileFlatGemm.h.
FailureOr<gpu::GPUFuncOp> outlineFlatGemmLaunch(gpu::LaunchOp launch);
} // namespace fd
} // namespace mlir

#endif // FD_CONVERSION_FLATGEMMTOGPU_FLATGEMMTOGPU_H
