//===- KernelModule.h - fd's gpu.module and kernel creation -----*- C++ -*-===//
//
// Private to lib/Conversion. Every kernel family creates its kernels here:
// in the one gpu.module of the bundle, with arguments bound by name and the
// fd.* attributes the bundle writer reads (fd/Bundle/Schema.h, `ir`).
//
//===----------------------------------------------------------------------===//
#ifndef FD_LIB_CONVERSION_UTILS_KERNELMODULE_H
#define FD_LIB_CONVERSION_UTILS_KERNELMODULE_H

#include "KernelSignature.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"

namespace mlir::fd {

/// The dialects whose ops fd's kernel builders create, listed once: the
/// passes declare them (getDependentDialects) and the populate* functions
/// load them, so a caller who only adds the patterns to its own driver
/// need not know the list (creating an op of an unloaded dialect aborts).
template <typename... Dialects> struct DialectList {
  static void insert(DialectRegistry &registry) {
    registry.insert<Dialects...>();
  }
  static void load(MLIRContext *context) {
    context->loadDialect<Dialects...>();
  }
};
using KernelDialects =
    DialectList<gpu::GPUDialect, nvgpu::NVGPUDialect, NVVM::NVVMDialect,
                LLVM::LLVMDialect, scf::SCFDialect, arith::ArithDialect,
                math::MathDialect, vector::VectorDialect,
                memref::MemRefDialect>;

/// One kernel argument: its binding and type.
struct KernelParam {
  std::string_view binding;
  Type type;
};

/// The kernel parameters of \p values bound to \p bindings, pairwise.
SmallVector<KernelParam> bindValues(ArrayRef<std::string_view> bindings,
                                    ValueRange values);

/// Returns the gpu.module that holds fd's kernels (fdb::kModuleName),
/// creating it on first use.
gpu::GPUModuleOp getKernelModule(Operation *anchor, OpBuilder &b);

/// Creates an empty kernel `name` (uniqued) with the given arguments, each
/// carrying its binding, and a known block size of `blockSize` threads.
gpu::GPUFuncOp createKernel(gpu::GPUModuleOp module, OpBuilder &b, Location loc,
                            StringRef name, ArrayRef<KernelParam> params,
                            int64_t blockSize);

/// The manifest attributes of a kernel: its role, entry, grid (symbols or
/// decimal integers), and optionally its launch variant and softmax strategy.
void setManifestAttrs(gpu::GPUFuncOp fn, std::string_view role,
                      StringRef entry, ArrayRef<std::string_view> grid,
                      std::string_view variant = {},
                      Attribute softmax = nullptr);

/// The dynamic shared memory a launch of `fn` needs, as gpu.launch_func's
/// i32 operand: fn's fd.dynamic_smem, or null (none) without it.
Value dynamicSharedMemorySize(OpBuilder &b, Location loc, gpu::GPUFuncOp fn);

/// The name of the function holding `op` (the bundle entry).
StringRef entryName(Operation *op);

} // namespace mlir::fd

#endif // FD_LIB_CONVERSION_UTILS_KERNELMODULE_H
