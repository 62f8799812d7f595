//===- KernelUtils.cpp - shared builders of fd's GPU kernels --------------===//
#include "KernelUtils.h"

#include "mlir/IR/SymbolTable.h"

using namespace mlir;
using namespace mlir::fd;

namespace mlir::fd::gpu_kernels {

/// Returns the gpu.module that holds fd's kernels, creating it on first use.
gpu::GPUModuleOp getKernelModule(Operation *anchor, OpBuilder &b) {
  auto module = anchor->getParentOfType<ModuleOp>();
  module->setAttr(gpu::GPUDialect::getContainerModuleAttrName(),
                  b.getUnitAttr());
  if (auto m = module.lookupSymbol<gpu::GPUModuleOp>(kKernelModuleName))
    return m;
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToEnd(module.getBody());
  return gpu::GPUModuleOp::create(b, module.getLoc(), kKernelModuleName);
}

/// Creates an empty kernel `name` (uniqued) with the given arguments.
gpu::GPUFuncOp createKernel(gpu::GPUModuleOp module, OpBuilder &b, Location loc,
                            StringRef name, TypeRange args, int64_t blockSize) {
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToEnd(module.getBody());
  auto fn = gpu::GPUFuncOp::create(b, loc, name,
                                   b.getFunctionType(args, TypeRange{}));
  fn->setAttr(gpu::GPUDialect::getKernelFuncAttrName(), b.getUnitAttr());
  fn.setKnownBlockSizeAttr(b.getDenseI32ArrayAttr({int32_t(blockSize), 1, 1}));
  SymbolTable(module).insert(fn); // renames on a clash
  return fn;
}

/// A `memref.global` in workgroup memory, 16-byte aligned (see
/// MLIR22-NOTES: attributions only get `.align 2`).
Value getSharedBuffer(gpu::GPUModuleOp module, OpBuilder &b, Location loc,
                      StringRef name, ArrayRef<int64_t> shape) {
  auto space =
      gpu::AddressSpaceAttr::get(b.getContext(), gpu::AddressSpace::Workgroup);
  auto type = MemRefType::get(shape, b.getF32Type(),
                              MemRefLayoutAttrInterface(), space);
  std::string symbol = name.str();
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(module.getBody());
    auto global = memref::GlobalOp::create(
        b, loc, symbol, b.getStringAttr("private"), type, Attribute(),
        /*constant=*/false, b.getI64IntegerAttr(16));
    symbol = SymbolTable(module).insert(global).getValue().str();
  }
  return memref::GetGlobalOp::create(b, loc, type, symbol);
}

void setMinCtasPerSm(gpu::GPUFuncOp fn, OpBuilder &b,
                     const FDToGPUOptions &options) {
  if (options.minCtasPerSm > 0)
    fn->setAttr("nvvm.minctasm",
                b.getI32IntegerAttr(int32_t(options.minCtasPerSm)));
}

void setManifestAttrs(gpu::GPUFuncOp fn, OpBuilder &b, StringRef role,
                      StringRef entry, ArrayRef<StringRef> grid,
                      ArrayRef<StringRef> args, Attribute softmax) {
  auto strings = [&](ArrayRef<StringRef> xs) {
    SmallVector<Attribute> attrs;
    for (StringRef x : xs)
      attrs.push_back(b.getStringAttr(x));
    return b.getArrayAttr(attrs);
  };
  fn->setAttr(kernel_attr::kRole, b.getStringAttr(role));
  fn->setAttr(kernel_attr::kEntry, b.getStringAttr(entry));
  fn->setAttr(kernel_attr::kGrid, strings(grid));
  fn->setAttr(kernel_attr::kArgs, strings(args));
  fn->setAttr(kernel_attr::kSoftmax, softmax);
}

StringRef entryName(Operation *op) {
  if (auto fn = op->getParentOfType<FunctionOpInterface>())
    return fn.getName();
  return "fd";
}

} // namespace mlir::fd::gpu_kernels
