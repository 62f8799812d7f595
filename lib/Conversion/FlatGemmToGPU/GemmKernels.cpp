//===- GemmKernels.cpp - pieces shared by the flat GEMM kernels -----------===//
//
// The operand alignment, shared-memory views, output store, cross-warp
// reduction and MMA that more than one kernel family uses.
//
//===----------------------------------------------------------------------===//
#include "GemmKernels.h"

#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

using namespace mlir;
using namespace mlir::fd;
using namespace mlir::fd::flat_gemm;

GemmOperands flat_gemm::alignOperands(KernelEmitter &e,
                                      const GemmOperands &in) {
  auto align = [&](Value v) {
    return memref::AssumeAlignmentOp::create(e.b, e.loc, v,
                                             e.b.getI32IntegerAttr(16))
        .getResult();
  };
  GemmOperands out;
  out.x = align(in.x);
  out.w = align(in.w);
  if (in.bias)
    out.bias = align(in.bias);
  out.y = align(in.y);
  return out;
}

static gpu::AddressSpaceAttr workgroup(OpBuilder &b) {
  return gpu::AddressSpaceAttr::get(b.getContext(),
                                    gpu::AddressSpace::Workgroup);
}

Value flat_gemm::dynamicSharedMemory(KernelEmitter &e) {
  // Dynamic shared memory because workgroup attributions are only 2-byte
  // aligned (MLIR22-NOTES 5) and cp.async / ld.shared.v4 need 16.
  auto type = MemRefType::get({ShapedType::kDynamic}, e.b.getI8Type(),
                              MemRefLayoutAttrInterface(), workgroup(e.b));
  return gpu::DynamicSharedMemoryOp::create(e.b, e.loc, type);
}

Value flat_gemm::sharedView(KernelEmitter &e, Value smem,
                            ArrayRef<int64_t> dims, Type elem,
                            int64_t byteOffset) {
  auto type =
      MemRefType::get(dims, elem, MemRefLayoutAttrInterface(), workgroup(e.b));
  return memref::ViewOp::create(e.b, e.loc, type, smem, e.idx(byteOffset),
                                ValueRange{})
      .getResult();
}

void flat_gemm::storeOutput(KernelEmitter &e, const GemmOperands &ops,
                            Value acc, Value m, Value n) {
  if (ops.bias) {
    Value bv = memref::LoadOp::create(e.b, e.loc, ops.bias, n);
    acc = e.add(acc, e.extf(bv, e.b.getF32Type()));
  }
  Type outElem = cast<MemRefType>(ops.y.getType()).getElementType();
  if (outElem != acc.getType())
    acc = arith::TruncFOp::create(e.b, e.loc, outElem, acc);
  memref::StoreOp::create(e.b, e.loc, acc, ops.y, ValueRange{m, n});
}

void flat_gemm::storeReducedTile(KernelEmitter &e, const GemmOperands &ops,
                                 const ReducedTile &t, Value tid) {
  OpBuilder &b = e.b;
  Location loc = e.loc;
  scf::ForOp::create(
      b, loc, tid, e.idx(t.tileRows * t.padM), e.idx(t.threads), ValueRange{},
      [&](OpBuilder &, Location, Value el, ValueRange) {
        Value ml = e.divui(el, t.tileRows), nl = e.remui(el, t.tileRows);
        Value sum =
            memref::LoadOp::create(b, loc, t.red, ValueRange{e.idx(0), nl, ml});
        for (int64_t w = 1; w < t.splitK; ++w)
          sum = e.add(sum, memref::LoadOp::create(
                               b, loc, t.red, ValueRange{e.idx(w), nl, ml}));
        Value m = e.addi(t.m0, ml);
        scf::IfOp::create(b, loc, e.ult(m, t.rows), [&](OpBuilder &, Location) {
          storeOutput(e, ops, sum, m, e.addi(t.n0, nl));
          scf::YieldOp::create(b, loc);
        });
        scf::YieldOp::create(b, loc);
      });
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

/// f16 goes through nvgpu.mma.sync; the upstream nvgpu-to-nvvm lowering
/// cannot type bf16 operands (LLVM 22: "failed to deduce operand PTX
/// types"), so bf16 builds nvvm.mma.sync with the fragments packed into i32
/// registers.
Value flat_gemm::emitMma(KernelEmitter &e, Value a, Value bFrag, Value c) {
  auto aType = cast<VectorType>(a.getType());
  if (!aType.getElementType().isBF16())
    return nvgpu::MmaSyncOp::create(e.b, e.loc, a, bFrag, c,
                                    ArrayRef<int64_t>{16, 8, 16});
  MLIRContext *ctx = e.b.getContext();
  Type f32 = e.b.getF32Type();
  SmallVector<Value> cRegs;
  for (int64_t i = 0; i < 2; ++i)
    for (int64_t j = 0; j < 2; ++j)
      cRegs.push_back(
          vector::ExtractOp::create(e.b, e.loc, c, ArrayRef<int64_t>{i, j}));
  auto resType = LLVM::LLVMStructType::getLiteral(ctx, {f32, f32, f32, f32});
  Value d = NVVM::MmaOp::create(
      e.b, e.loc, resType, packRows(e, a, 4), packRows(e, bFrag, 2), cRegs,
      {16, 8, 16}, std::nullopt, std::nullopt,
      std::array<NVVM::MMATypes, 2>{NVVM::MMATypes::bf16, NVVM::MMATypes::bf16},
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
