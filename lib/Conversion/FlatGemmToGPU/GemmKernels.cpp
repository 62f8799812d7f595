//===- GemmKernels.cpp - pieces shared by the flat GEMM kernels -----------===//
//
// The operand alignment, output store and cross-warp reduction that more
// than one kernel family uses (the MMA and shared-memory views are in
// ../Utils/TensorCore.h, shared with the attention kernels).
//
//===----------------------------------------------------------------------===//
#include "GemmKernels.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
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

/// The epilogue loop both reductions share: elements first, first + step,
/// ... of the tile, (ml, nl) = (el / tileRows, el % tileRows), each the sum
/// `sum(nl, ml)` of its partials stored to y for rows m < M.
static void
storeSummedTile(KernelEmitter &e, const GemmOperands &ops,
                const ReducedTile &t, Value first, int64_t step,
                llvm::function_ref<Value(Value nl, Value ml)> sum) {
  OpBuilder &b = e.b;
  Location loc = e.loc;
  scf::ForOp::create(
      b, loc, first, e.idx(t.tileRows * t.padM), e.idx(step), ValueRange{},
      [&](OpBuilder &, Location, Value el, ValueRange) {
        Value ml = e.divui(el, t.tileRows), nl = e.remui(el, t.tileRows);
        Value total = sum(nl, ml);
        Value m = e.addi(t.m0, ml);
        scf::IfOp::create(b, loc, e.ult(m, t.rows), [&](OpBuilder &, Location) {
          storeOutput(e, ops, total, m, e.addi(t.n0, nl));
          scf::YieldOp::create(b, loc);
        });
        scf::YieldOp::create(b, loc);
      });
}

void flat_gemm::storeReducedTile(KernelEmitter &e, const GemmOperands &ops,
                                 const ReducedTile &t, Value tid) {
  storeSummedTile(e, ops, t, tid, t.threads, [&](Value nl, Value ml) {
    Value sum = memref::LoadOp::create(e.b, e.loc, t.red,
                                       ValueRange{e.idx(0), nl, ml});
    for (int64_t w = 1; w < t.splitK; ++w)
      sum = e.add(sum, memref::LoadOp::create(e.b, e.loc, t.red,
                                              ValueRange{e.idx(w), nl, ml}));
    return sum;
  });
}

void flat_gemm::storeClusterReducedTile(KernelEmitter &e,
                                        const GemmOperands &ops,
                                        const ReducedTile &t, Value tid,
                                        int64_t clusterK, Value rank) {
  // The buffer mapped into each CTA of the cluster once, then one f32 per
  // partial.
  SmallVector<Value> peers = mapClusterPeers(e, t.red, clusterK);
  const int64_t ld = t.padM + 1;
  Value first = e.addi(tid, e.muli(rank, t.threads));
  storeSummedTile(
      e, ops, t, first, t.threads * clusterK, [&](Value nl, Value ml) {
        Value sum;
        for (int64_t w = 0; w < t.splitK; ++w) {
          Value off = e.addi(e.muli(e.addi(nl, w * t.tileRows), ld), ml);
          for (Value peer : peers) {
            Value v = loadClusterF32(e, peer, off);
            sum = sum ? e.add(sum, v) : v;
          }
        }
        return sum;
      });
}
