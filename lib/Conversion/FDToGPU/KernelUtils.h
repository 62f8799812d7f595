//===- KernelUtils.h - shared builders of fd's GPU kernels ------*- C++ -*-===//
//
// Private to lib/Conversion/FDToGPU: the emitter helpers, the K/V row access
// and the kernel/manifest plumbing shared by the online-softmax kernels
// (FDToGPU.cpp) and the unified-max kernels (UnifiedMaxKernels.cpp).
//
//===----------------------------------------------------------------------===//
#ifndef FD_LIB_CONVERSION_FDTOGPU_KERNELUTILS_H
#define FD_LIB_CONVERSION_FDTOGPU_KERNELUTILS_H

#include "fd/Conversion/FDToGPU/FDToGPU.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/Builders.h"

namespace mlir::fd::gpu_kernels {

inline constexpr double kLog2e = 1.4426950408889634;
/// Elements per 16-byte load of f16/bf16.
inline constexpr int64_t kVectorWidth = 8;
inline constexpr const char *kKernelModuleName = "fd_kernels";

/// Builder helpers for kernel bodies.
struct KernelEmitter {
  OpBuilder &b;
  Location loc;

  Value idx(int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); }
  Value f32(double v) {
    return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(v));
  }
  Value add(Value x, Value y) { return arith::AddFOp::create(b, loc, x, y); }
  Value mul(Value x, Value y) { return arith::MulFOp::create(b, loc, x, y); }
  Value sub(Value x, Value y) { return arith::SubFOp::create(b, loc, x, y); }
  Value maxf(Value x, Value y) {
    return arith::MaximumFOp::create(b, loc, x, y);
  }
  Value addi(Value x, Value y) { return arith::AddIOp::create(b, loc, x, y); }
  Value muli(Value x, Value y) { return arith::MulIOp::create(b, loc, x, y); }
  Value mini(Value x, Value y) { return arith::MinUIOp::create(b, loc, x, y); }
  Value cmp(arith::CmpIPredicate p, Value x, Value y) {
    return arith::CmpIOp::create(b, loc, p, x, y);
  }
  Value select(Value c, Value x, Value y) {
    return arith::SelectOp::create(b, loc, c, x, y);
  }
  /// 2^x as one `ex2.approx.ftz.f32`: the NVVM intrinsic rather than
  /// math.exp2, which would lower to libdevice's __nv_exp2f.
  Value exp2(Value x) {
    return LLVM::CallIntrinsicOp::create(
               b, loc, b.getF32Type(),
               b.getStringAttr("llvm.nvvm.ex2.approx.ftz.f32"), ValueRange{x})
        .getResult(0);
  }
  Value splat(Value x, VectorType t) {
    return vector::BroadcastOp::create(b, loc, t, x);
  }
  Value extf(Value v, Type t) { return arith::ExtFOp::create(b, loc, t, v); }
  /// Sum over the `width` consecutive lanes of a thread group (butterfly).
  Value groupSum(Value x, int64_t width) {
    for (int64_t off = 1; off < width; off *= 2) {
      Value other =
          gpu::ShuffleOp::create(b, loc, x, off, 32, gpu::ShuffleMode::XOR)
              .getShuffleResult();
      x = add(x, other);
    }
    return x;
  }
  Value length(Value lens, Value batch) {
    Value l = memref::LoadOp::create(b, loc, lens, batch);
    Value li = arith::IndexCastOp::create(b, loc, b.getIndexType(), l);
    return arith::MaxSIOp::create(b, loc, li, idx(0));
  }
};

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
    auto load = vector::LoadOp::create(b, loc, vt, cache,
                                       ValueRange{batch, kvHead, token, d0});
    load.setAlignment(16);
    return load;
  }

private:
  Value cache, batch, kvHead;
};

/// Returns the gpu.module that holds fd's kernels, creating it on first use.
gpu::GPUModuleOp getKernelModule(Operation *anchor, OpBuilder &b);

/// Creates an empty kernel `name` (uniqued) with the given arguments.
gpu::GPUFuncOp createKernel(gpu::GPUModuleOp module, OpBuilder &b, Location loc,
                            StringRef name, TypeRange args, int64_t blockSize);

/// A `memref.global` in workgroup memory, 16-byte aligned (see
/// MLIR22-NOTES: attributions only get `.align 2`).
Value getSharedBuffer(gpu::GPUModuleOp module, OpBuilder &b, Location loc,
                      StringRef name, ArrayRef<int64_t> shape);

/// The fd.* attributes fd-compile reads to write the bundle manifest.
void setManifestAttrs(gpu::GPUFuncOp fn, OpBuilder &b, StringRef role,
                      StringRef entry, ArrayRef<StringRef> grid,
                      ArrayRef<StringRef> args, Attribute softmax);

/// The occupancy hint of the token-loop kernels (`min-ctas-per-sm`):
/// `nvvm.minctasm`, i.e. ptxas's .minnctapersm; nothing when it is 0.
void setMinCtasPerSm(gpu::GPUFuncOp fn, OpBuilder &b,
                     const FDToGPUOptions &options);

/// The name of the function holding `op` (the bundle entry).
StringRef entryName(Operation *op);

/// Patterns lowering the unified-max split form (UnifiedMaxKernels.cpp).
void populateUnifiedMaxToGPUPatterns(RewritePatternSet &patterns,
                                     const FDToGPUOptions &options);

} // namespace mlir::fd::gpu_kernels

#endif // FD_LIB_CONVERSION_FDTOGPU_KERNELUTILS_H
