//===- KernelUtils.cpp - helpers of the split-attention kernels -----------===//
#include "KernelUtils.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/SymbolTable.h"

#include <algorithm>

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

void emitMergedRow(gpu::GPUFuncOp fn, KernelEmitter &e, Value numer,
                   Value total, Value maxLog2, Value batch, Value head,
                   Value d) {
  OpBuilder &b = e.b;
  Location loc = e.loc;
  Value positive = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGT,
                                         total, e.f32(0));
  Value denom = e.select(positive, total, e.f32(1));
  Value out = getBoundArg(fn, ::fdb::binding::kOut);
  Type et = cast<MemRefType>(out.getType()).getElementType();
  if (auto vt = dyn_cast<VectorType>(numer.getType())) {
    // A slice of the row: one 16-byte store.
    Value res = arith::DivFOp::create(b, loc, numer, e.splat(denom, vt));
    res = e.select(positive, res, e.zeros(vt));
    Value narrow = arith::TruncFOp::create(
        b, loc, VectorType::get(vt.getShape(), et), res);
    auto store = vector::StoreOp::create(b, loc, narrow, out,
                                         ValueRange{batch, head, d});
    // d is a multiple of the width, and rows are 16-byte aligned.
    store.setAlignment(std::min<int64_t>(
        16, vt.getNumElements() * et.getIntOrFloatBitWidth() / 8));
  } else {
    Value res = arith::DivFOp::create(b, loc, numer, denom);
    res = e.select(positive, res, e.f32(0));
    memref::StoreOp::create(b, loc, arith::TruncFOp::create(b, loc, et, res),
                            out, ValueRange{batch, head, d});
  }
  if (Value lse = lookupBoundArg(fn, ::fdb::binding::kLse)) {
    Value first = e.cmp(arith::CmpIPredicate::eq, d, e.idx(0));
    scf::IfOp::create(b, loc, first, [&](OpBuilder &, Location) {
      memref::StoreOp::create(b, loc, e.logSumExp(maxLog2, total, false), lse,
                              ValueRange{batch, head});
      scf::YieldOp::create(b, loc);
    });
  }
}

void fenceGpu(KernelEmitter &e) {
  LLVM::FenceOp::create(e.b, e.loc, LLVM::AtomicOrdering::acq_rel,
                        e.b.getStringAttr("device"));
}

Value emitCountIn(KernelEmitter &e, Value tid, Value bcast, Value counter,
                  ValueRange idx, Value splits) {
  OpBuilder &b = e.b;
  Location loc = e.loc;
  Type i32 = b.getI32Type();
  fenceGpu(e);
  gpu::BarrierOp::create(b, loc);
  Value isThread0 = e.cmp(arith::CmpIPredicate::eq, tid, e.idx(0));
  scf::IfOp::create(b, loc, isThread0, [&](OpBuilder &, Location) {
    Value old = memref::AtomicRMWOp::create(
        b, loc, arith::AtomicRMWKind::addi,
        arith::ConstantIntOp::create(b, loc, i32, 1), counter, idx);
    Value lastIdx = arith::IndexCastOp::create(
        b, loc, i32, arith::SubIOp::create(b, loc, splits, e.idx(1)));
    Value last = e.cmp(arith::CmpIPredicate::eq, old, lastIdx);
    memref::StoreOp::create(b, loc, e.select(last, e.f32(1), e.f32(0)),
                            bcast, ValueRange{e.idx(0)});
    scf::YieldOp::create(b, loc);
  });
  gpu::BarrierOp::create(b, loc);
  Value flag = memref::LoadOp::create(b, loc, bcast, ValueRange{e.idx(0)});
  return arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGT, flag,
                               e.f32(0.5));
}

} // namespace mlir::fd::gpu_kernels
