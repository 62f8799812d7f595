//===- FDToGPU.h - split decode attention to GPU kernels --------*- C++ -*-===//
#ifndef FD_CONVERSION_FDTOGPU_FDTOGPU_H
#define FD_CONVERSION_FDTOGPU_FDTOGPU_H

#include "mlir/Pass/Pass.h"

#include <cstdint>

namespace mlir {
class RewritePatternSet;
namespace fd {
#define GEN_PASS_DECL_CONVERTFDTOGPU
#include "fd/Conversion/Passes.h.inc"

/// Tuning knobs of the generated kernels: convert-fd-to-gpu's options, with
/// the defaults of Passes.td (block size: threads per CTA of the partial
/// kernel, a multiple of 32; unroll: tokens each thread group loads per
/// loop iteration).
using FDToGPUOptions = ConvertFDToGPUOptions;

/// Patterns turning `fd.partial_attention` / `fd.merge_partials` into
/// `gpu.func` kernels (created in a `gpu.module` of the enclosing module) and
/// `gpu.launch_func` ops, plus the host lowering of `fd.split_plan`. The
/// enclosing module must allow symbol insertion (it is given the
/// `gpu.container_module` attribute). The input is the fd-split-kv form.
///
/// For a caller's own driver: this loads every dialect the kernels are built
/// from (gpu, nvgpu, nvvm, llvm, scf, arith, math, vector, memref), so the
/// context needs only its input's; the patterns give the same kernels under
/// any application order (a merge waits for its partial, which builds the
/// `unsplit` variant from the pair; test/Conversion/FDToGPU/
/// patterns-any-order.test). An op they do not lower stays in place;
/// convert-fd-to-gpu then reports it.
void populateFDToGPUPatterns(RewritePatternSet &patterns,
                             const FDToGPUOptions &options);

} // namespace fd
} // namespace mlir

#endif // FD_CONVERSION_FDTOGPU_FDTOGPU_H
