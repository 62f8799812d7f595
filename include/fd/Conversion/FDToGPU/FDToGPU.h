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

/// Tuning knobs of the generated kernels.
struct FDToGPUOptions {
  /// Threads per CTA of the partial kernel; a multiple of 32.
  int64_t blockSize = 128;
  /// Tokens each thread group loads per loop iteration.
  int64_t unroll = 2;
  /// Load the next tile's K/V rows while computing the current one.
  bool prefetch = false;
  /// If > 0, the partial kernel promises ptxas this many resident CTAs per
  /// SM (`.minnctapersm`), which caps its registers per thread.
  int64_t minCtasPerSm = 0;
};

/// Patterns turning `fd.partial_attention` / `fd.merge_partials` into
/// `gpu.func` kernels (created in a `gpu.module` of the enclosing module) and
/// `gpu.launch_func` ops, plus the host lowering of `fd.split_plan`. The
/// enclosing module must allow symbol insertion (it is given the
/// `gpu.container_module` attribute).
void populateFDToGPUPatterns(RewritePatternSet &patterns,
                             const FDToGPUOptions &options);

/// Attribute names the kernels carry for fd-compile's manifest.
namespace kernel_attr {
inline constexpr const char *kRole = "fd.role";       // "partial" | "merge"
inline constexpr const char *kEntry = "fd.entry";     // source func name
inline constexpr const char *kGrid = "fd.grid";       // symbols or ints
inline constexpr const char *kArgs = "fd.args";       // argument bindings
inline constexpr const char *kSoftmax = "fd.softmax"; // strategy attribute
/// Unified max only: which launch variant the kernel belongs to,
/// "two_kernel" or "single_launch" (absent: the entry's only variant).
inline constexpr const char *kVariant = "fd.variant";
} // namespace kernel_attr
} // namespace fd
} // namespace mlir

#endif // FD_CONVERSION_FDTOGPU_FDTOGPU_H
