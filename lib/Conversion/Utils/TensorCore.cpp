//===- TensorCore.cpp - mma.sync fragments and shared memory --------------===//
#include "TensorCore.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"

using namespace mlir;
using namespace mlir::fd;

static gpu::AddressSpaceAttr workgroup(OpBuilder &b) {
  return gpu::AddressSpaceAttr::get(b.getContext(),
                                    gpu::AddressSpace::Workgroup);
}

Value mlir::fd::dynamicSharedMemory(KernelEmitter &e) {
  // Dynamic shared memory because workgroup attributions are only 2-byte
  // aligned (MLIR22-NOTES 5) and cp.async / ld.shared.v4 need 16.
  auto type = MemRefType::get({ShapedType::kDynamic}, e.b.getI8Type(),
                              MemRefLayoutAttrInterface(), workgroup(e.b));
  return gpu::DynamicSharedMemoryOp::create(e.b, e.loc, type);
}

Value mlir::fd::sharedView(KernelEmitter &e, Value smem, ArrayRef<int64_t> dims,
                           Type elem, int64_t byteOffset) {
  auto type =
      MemRefType::get(dims, elem, MemRefLayoutAttrInterface(), workgroup(e.b));
  return memref::ViewOp::create(e.b, e.loc, type, smem, e.idx(byteOffset),
                                ValueRange{})
      .getResult();
}

Value mlir::fd::swizzledColumn(KernelEmitter &e, Value phase, Value col) {
  constexpr int64_t kChunkElems = 8;
  return e.muli(e.xori(e.divui(col, kChunkElems), phase), kChunkElems);
}

/// The fragment \p frag ([rows][2] of bf16) as one i32 register per row,
/// as PTX passes mma operands.
static SmallVector<Value> packRows(KernelEmitter &e, Value frag, int64_t rows) {
  Type i32 = e.b.getI32Type();
  SmallVector<Value> regs;
  for (int64_t r = 0; r < rows; ++r) {
    Value row = vector::ExtractOp::create(e.b, e.loc, frag, r);
    Value cast =
        vector::BitCastOp::create(e.b, e.loc, VectorType::get({1}, i32), row);
    regs.push_back(vector::ExtractOp::create(e.b, e.loc, cast, 0));
  }
  return regs;
}

/// nvvm.mma.sync m16n8k`k` on A / B registers (i32, two elements each of
/// \p type) and the f32 C fragment \p c.
static Value nvvmMma(KernelEmitter &e, ArrayRef<Value> aRegs,
                     ArrayRef<Value> bRegs, Value c, int k,
                     NVVM::MMATypes type) {
  MLIRContext *ctx = e.b.getContext();
  Type f32 = e.b.getF32Type();
  SmallVector<Value> cRegs;
  for (int64_t i = 0; i < 2; ++i)
    for (int64_t j = 0; j < 2; ++j)
      cRegs.push_back(
          vector::ExtractOp::create(e.b, e.loc, c, ArrayRef<int64_t>{i, j}));
  auto resType = LLVM::LLVMStructType::getLiteral(ctx, {f32, f32, f32, f32});
  Value d = NVVM::MmaOp::create(
      e.b, e.loc, resType, aRegs, bRegs, cRegs, {16, 8, k}, std::nullopt,
      std::nullopt, std::array<NVVM::MMATypes, 2>{type, type},
      std::array<NVVM::MMALayout, 2>{NVVM::MMALayout::row,
                                     NVVM::MMALayout::col});
  Value out = e.zeros(cast<VectorType>(c.getType()));
  for (int64_t i = 0; i < 2; ++i)
    for (int64_t j = 0; j < 2; ++j) {
      Value v = LLVM::ExtractValueOp::create(e.b, e.loc, d, 2 * i + j);
      out =
          vector::InsertOp::create(e.b, e.loc, v, out, ArrayRef<int64_t>{i, j});
    }
  return out;
}

/// f16 goes through nvgpu.mma.sync; the upstream nvgpu-to-nvvm lowering
/// cannot type bf16 operands (LLVM 22: "failed to deduce operand PTX
/// types"), so bf16 builds nvvm.mma.sync with the fragments packed into i32
/// registers.
Value mlir::fd::emitMma(KernelEmitter &e, Value a, Value bFrag, Value c) {
  auto aType = cast<VectorType>(a.getType());
  if (!aType.getElementType().isBF16())
    return nvgpu::MmaSyncOp::create(e.b, e.loc, a, bFrag, c,
                                    ArrayRef<int64_t>{16, 8, 16});
  return nvvmMma(e, packRows(e, a, 4), packRows(e, bFrag, 2), c, 16,
                 NVVM::MMATypes::bf16);
}

/// nvvm.mma.sync for both types: nvgpu's m16n8k8 B operand is a
/// vector<1x2xT>, which the canonicalizer turns into a vector.broadcast
/// that nothing lowers to LLVM. nvvm.mma.sync takes f16 operands as
/// vector<2xf16> and bf16 ones as i32.
Value mlir::fd::emitMmaK8(KernelEmitter &e, Value a, Value x4, int64_t bRow,
                          Value c) {
  bool bf16 = cast<VectorType>(a.getType()).getElementType().isBF16();
  Value b = vector::ExtractOp::create(e.b, e.loc, x4, bRow);
  if (bf16) {
    Value bReg = vector::ExtractOp::create(
        e.b, e.loc,
        vector::BitCastOp::create(e.b, e.loc,
                                  VectorType::get({1}, e.b.getI32Type()), b),
        0);
    return nvvmMma(e, packRows(e, a, 2), {bReg}, c, 8, NVVM::MMATypes::bf16);
  }
  SmallVector<Value> aRows = {vector::ExtractOp::create(e.b, e.loc, a, 0),
                              vector::ExtractOp::create(e.b, e.loc, a, 1)};
  return nvvmMma(e, aRows, {b}, c, 8, NVVM::MMATypes::f16);
}

Value mlir::fd::takeRowPair(KernelEmitter &e, Value x4, int64_t first) {
  auto type = cast<VectorType>(x4.getType());
  Value out = e.zeros(VectorType::get({2, 2}, type.getElementType()));
  for (int64_t r = 0; r < 2; ++r)
    out = vector::InsertOp::create(
        e.b, e.loc, vector::ExtractOp::create(e.b, e.loc, x4, first + r), out,
        r);
  return out;
}

Value mlir::fd::accumulatorsToA(KernelEmitter &e, Value lo, Value hi,
                                Type elem) {
  auto row = VectorType::get({2}, elem);
  Value out = e.zeros(VectorType::get({4, 2}, elem));
  // a0a1 = (row g, k 0-7), a2a3 = (row g + 8, k 0-7), a4a5 / a6a7 the same
  // rows at k 8-15.
  Value halves[2] = {lo, hi};
  for (int64_t r = 0; r < 4; ++r) {
    Value c = vector::ExtractOp::create(e.b, e.loc, halves[r / 2], r % 2);
    Value t = arith::TruncFOp::create(e.b, e.loc, row, c);
    out = vector::InsertOp::create(e.b, e.loc, t, out, r);
  }
  return out;
}

Value mlir::fd::accumulatorToA(KernelEmitter &e, Value acc, Type elem) {
  // Row by row, as accumulatorsToA: a 2-D truncf is not lowered to LLVM.
  auto row = VectorType::get({2}, elem);
  Value out = e.zeros(VectorType::get({2, 2}, elem));
  for (int64_t r = 0; r < 2; ++r) {
    Value c = vector::ExtractOp::create(e.b, e.loc, acc, r);
    out = vector::InsertOp::create(
        e.b, e.loc, arith::TruncFOp::create(e.b, e.loc, row, c), out, r);
  }
  return out;
}

SmallVector<Value> mlir::fd::mapClusterPeers(KernelEmitter &e, Value buf,
                                             int64_t ctas) {
  OpBuilder &b = e.b;
  Location loc = e.loc;
  MLIRContext *ctx = b.getContext();
  auto sharedPtr = LLVM::LLVMPointerType::get(ctx, /*shared=*/3);
  auto clusterPtr = LLVM::LLVMPointerType::get(ctx, /*shared::cluster=*/7);
  Value base = memref::ExtractAlignedPointerAsIndexOp::create(b, loc, buf);
  base = LLVM::IntToPtrOp::create(
      b, loc, sharedPtr,
      arith::IndexCastOp::create(b, loc, b.getI64Type(), base).getResult());
  SmallVector<Value> peers;
  for (int64_t c = 0; c < ctas; ++c)
    peers.push_back(NVVM::MapaOp::create(
        b, loc, clusterPtr, base,
        arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(c))));
  return peers;
}

Value mlir::fd::loadClusterF32(KernelEmitter &e, Value peer, Value offset) {
  OpBuilder &b = e.b;
  Location loc = e.loc;
  Type f32 = b.getF32Type();
  Value off = arith::IndexCastOp::create(b, loc, b.getI64Type(), offset);
  Value p = LLVM::GEPOp::create(b, loc, peer.getType(), f32, peer,
                                ValueRange{off});
  return LLVM::LoadOp::create(b, loc, f32, p).getResult();
}
