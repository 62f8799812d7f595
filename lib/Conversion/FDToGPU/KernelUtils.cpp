//===- KernelUtils.cpp - shared memory of the split-attention kernels -----===//
#include "KernelUtils.h"

#include "mlir/IR/SymbolTable.h"

using namespace mlir;
using namespace mlir::fd;

namespace mlir::fd::gpu_kernels {

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

} // namespace mlir::fd::gpu_kernels
