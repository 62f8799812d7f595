//===- KernelModule.cpp - fd's gpu.module and kernel creation -------------===//
#include "KernelModule.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/SymbolTable.h"

using namespace mlir;
using namespace mlir::fd;

SmallVector<KernelParam> fd::bindValues(ArrayRef<std::string_view> bindings,
                                        ValueRange values) {
  assert(bindings.size() == values.size() && "one binding per value");
  SmallVector<KernelParam> params;
  for (auto [binding, value] : llvm::zip(bindings, values))
    params.push_back({binding, value.getType()});
  return params;
}

gpu::GPUModuleOp fd::getKernelModule(Operation *anchor, OpBuilder &b) {
  auto module = anchor->getParentOfType<ModuleOp>();
  module->setAttr(gpu::GPUDialect::getContainerModuleAttrName(),
                  b.getUnitAttr());
  StringRef name = toRef(fdb::kModuleName);
  if (auto m = module.lookupSymbol<gpu::GPUModuleOp>(name))
    return m;
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToEnd(module.getBody());
  return gpu::GPUModuleOp::create(b, module.getLoc(), name);
}

gpu::GPUFuncOp fd::createKernel(gpu::GPUModuleOp module, OpBuilder &b,
                                Location loc, StringRef name,
                                ArrayRef<KernelParam> params,
                                int64_t blockSize) {
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToEnd(module.getBody());
  SmallVector<Type> types;
  SmallVector<std::string_view> bindings;
  for (const KernelParam &p : params) {
    types.push_back(p.type);
    bindings.push_back(p.binding);
  }
  auto fn = gpu::GPUFuncOp::create(b, loc, name,
                                   b.getFunctionType(types, TypeRange{}));
  fn->setAttr(gpu::GPUDialect::getKernelFuncAttrName(), b.getUnitAttr());
  fn.setKnownBlockSizeAttr(b.getDenseI32ArrayAttr({int32_t(blockSize), 1, 1}));
  setBindings(fn, bindings);
  SymbolTable(module).insert(fn); // renames on a clash
  return fn;
}

void fd::setManifestAttrs(gpu::GPUFuncOp fn, std::string_view role,
                          StringRef entry, ArrayRef<std::string_view> grid,
                          std::string_view variant, Attribute softmax) {
  namespace ir = fdb::ir;
  Builder b(fn.getContext());
  SmallVector<Attribute> extents;
  for (std::string_view g : grid)
    extents.push_back(b.getStringAttr(toRef(g)));
  fn->setAttr(ir::kRole, b.getStringAttr(toRef(role)));
  fn->setAttr(ir::kEntry, b.getStringAttr(entry));
  fn->setAttr(ir::kGrid, b.getArrayAttr(extents));
  if (!variant.empty())
    fn->setAttr(ir::kVariant, b.getStringAttr(toRef(variant)));
  if (softmax)
    fn->setAttr(ir::kSoftmax, softmax);
}

StringRef fd::entryName(Operation *op) {
  if (auto fn = op->getParentOfType<FunctionOpInterface>())
    return fn.getName();
  return "fd";
}

Value mlir::fd::dynamicSharedMemorySize(OpBuilder &b, Location loc,
                                        gpu::GPUFuncOp fn) {
  auto bytes = fn->getAttrOfType<IntegerAttr>(::fdb::ir::kDynamicSmem);
  if (!bytes)
    return Value();
  return arith::ConstantIntOp::create(b, loc, b.getI32Type(), bytes.getInt());
}
