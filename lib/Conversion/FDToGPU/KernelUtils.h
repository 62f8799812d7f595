//===- KernelUtils.h - shared builders of fd's GPU kernels ------*- C++ -*-===//
//
// Private to lib/Conversion/FDToGPU: the K/V row access and the shared
// memory of the split-attention kernels, shared by the online-softmax kernels
// (FDToGPU.cpp) and the unified-max kernels (UnifiedMaxKernels.cpp).
//
//===----------------------------------------------------------------------===//
#ifndef FD_LIB_CONVERSION_FDTOGPU_KERNELUTILS_H
#define FD_LIB_CONVERSION_FDTOGPU_KERNELUTILS_H

#include "fd/Conversion/FDToGPU/FDToGPU.h"
#include "../Utils/KernelEmitter.h"
#include "../Utils/KernelModule.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/Builders.h"

namespace mlir::fd::gpu_kernels {

/// Elements per 16-byte load of f16/bf16.
inline constexpr int64_t kVectorWidth = 8;

/// Threads per CTA of the tensor-core partial kernels: 4 warps, each taking
/// 16 tokens of every 64-token tile (MmaSplitWork.cpp).
inline constexpr int64_t kMmaWarps = 4, kMmaThreads = 32 * kMmaWarps;

/// The one place that knows how a K or V row is addressed. Kernels ask for
/// "the 8 elements at head-dim offset d0 of token t"; a paged KV cache (block
/// tables, any page size) replaces this class, not the kernels.
class KVCacheAccess {
public:
  KVCacheAccess(Value cache, Value batch, Value kvHead)
      : cache(cache), batch(batch), kvHead(kvHead) {}

  /// One 16-byte load. The alignment promise holds because the verifier
  /// requires a unit innermost stride and the runtime checks the base pointer
  /// and the outer strides for 16-byte alignment.
  Value loadRow(OpBuilder &b, Location loc, Value token, Value d0) const {
    auto type = cast<MemRefType>(cache.getType());
    auto vt = VectorType::get({kVectorWidth}, type.getElementType());
    auto load =
        vector::LoadOp::create(b, loc, vt, cache, indices(token, d0));
    load.setAlignment(16);
    return load;
  }

  /// The memref and indices of element d0 of token t's row, for copies that
  /// take a memref (cp.async).
  Value memref() const { return cache; }
  SmallVector<Value, 4> indices(Value token, Value d0) const {
    return {batch, kvHead, token, d0};
  }

private:
  Value cache, batch, kvHead;
};

/// A `memref.global` in workgroup memory, 16-byte aligned: workgroup
/// attributions only get `.align 2` (../shared/MLIR22-NOTES.md, item 5).
Value getSharedBuffer(gpu::GPUModuleOp module, OpBuilder &b, Location loc,
                      StringRef name, ArrayRef<int64_t> shape);

/// Patterns lowering the unified-max split form (UnifiedMaxKernels.cpp).
void populateUnifiedMaxToGPUPatterns(RewritePatternSet &patterns,
                                     const FDToGPUOptions &options);

} // namespace mlir::fd::gpu_kernels

#endif // FD_LIB_CONVERSION_FDTOGPU_KERNELUTILS_H
