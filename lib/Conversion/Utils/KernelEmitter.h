//===- KernelEmitter.h - arithmetic helpers of fd's kernel builders -*- C++ -*-===//
//
// Private to lib/Conversion: the one builder helper that every kernel
// family (split attention, unified max, flat GEMM) and the CPU reference
// lowering use, so each arithmetic idiom is spelled once.
//
//===----------------------------------------------------------------------===//
#ifndef FD_LIB_CONVERSION_UTILS_KERNELEMITTER_H
#define FD_LIB_CONVERSION_UTILS_KERNELEMITTER_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/Builders.h"

#include <limits>

namespace mlir::fd {

inline constexpr double kLog2e = 1.4426950408889634;
/// ln(2), back from the log2 domain.
inline constexpr double kLn2 = 0.6931471805599453;

/// Builder helpers for kernel bodies (and the CPU reference loops).
struct KernelEmitter {
  OpBuilder &b;
  Location loc;

  // Constants.
  Value idx(int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); }
  Value f32(double v) {
    return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(v));
  }
  Value zeros(VectorType t) {
    return arith::ConstantOp::create(
        b, loc,
        DenseElementsAttr::get(t, b.getFloatAttr(t.getElementType(), 0)));
  }

  // Floating point.
  Value add(Value x, Value y) { return arith::AddFOp::create(b, loc, x, y); }
  Value mul(Value x, Value y) { return arith::MulFOp::create(b, loc, x, y); }
  Value sub(Value x, Value y) { return arith::SubFOp::create(b, loc, x, y); }
  Value maxf(Value x, Value y) {
    return arith::MaximumFOp::create(b, loc, x, y);
  }
  Value extf(Value v, Type t) { return arith::ExtFOp::create(b, loc, t, v); }
  /// 2^x as one `ex2.approx.ftz.f32`: the NVVM intrinsic rather than
  /// math.exp2, which would lower to libdevice's __nv_exp2f.
  Value exp2(Value x) {
    return LLVM::CallIntrinsicOp::create(
               b, loc, b.getF32Type(),
               b.getStringAttr("llvm.nvvm.ex2.approx.ftz.f32"), ValueRange{x})
        .getResult(0);
  }

  /// 2^x as math.exp2: the CPU reference lowering's exact exponential.
  Value exp2Exact(Value x) { return math::Exp2Op::create(b, loc, x); }

  /// log2(x) as one `lg2.approx.f32` (relative error below 2^-22), for the
  /// same reason as exp2; log2Exact is math.log2 for the CPU reference.
  Value log2(Value x) {
    return LLVM::CallIntrinsicOp::create(
               b, loc, b.getF32Type(),
               b.getStringAttr("llvm.nvvm.lg2.approx.f"), ValueRange{x})
        .getResult(0);
  }
  Value log2Exact(Value x) { return math::Log2Op::create(b, loc, x); }

  /// The natural log-sum-exp of a softmax state kept in the log2 domain:
  /// ln(2^maxLog2 * sum) = (maxLog2 + log2(sum)) * ln 2, and -inf for an
  /// empty row (sum 0), so that merging it with others gives it no weight.
  Value logSumExp(Value maxLog2, Value sum, bool exact) {
    Value positive =
        arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGT, sum, f32(0));
    Value safe = select(positive, sum, f32(1));
    Value lg = exact ? log2Exact(safe) : log2(safe);
    Value lse = mul(add(maxLog2, lg), f32(kLn2));
    return select(positive, lse,
                  f32(-std::numeric_limits<double>::infinity()));
  }

  // Index arithmetic.
  Value addi(Value x, Value y) { return arith::AddIOp::create(b, loc, x, y); }
  Value addi(Value x, int64_t y) { return y == 0 ? x : addi(x, idx(y)); }
  Value muli(Value x, Value y) { return arith::MulIOp::create(b, loc, x, y); }
  Value muli(Value x, int64_t y) { return muli(x, idx(y)); }
  Value mini(Value x, Value y) { return arith::MinUIOp::create(b, loc, x, y); }
  Value divui(Value x, int64_t y) {
    return arith::DivUIOp::create(b, loc, x, idx(y));
  }
  Value remui(Value x, int64_t y) {
    return arith::RemUIOp::create(b, loc, x, idx(y));
  }
  Value cmp(arith::CmpIPredicate p, Value x, Value y) {
    return arith::CmpIOp::create(b, loc, p, x, y);
  }
  Value ult(Value x, Value y) { return cmp(arith::CmpIPredicate::ult, x, y); }
  Value andi(Value x, Value y) { return arith::AndIOp::create(b, loc, x, y); }
  Value xori(Value x, Value y) { return arith::XOrIOp::create(b, loc, x, y); }
  Value select(Value c, Value x, Value y) {
    return arith::SelectOp::create(b, loc, c, x, y);
  }

  // Vectors and memory.
  Value splat(Value x, VectorType t) {
    return vector::BroadcastOp::create(b, loc, t, x);
  }
  /// Sum / max over the `width` consecutive lanes of a thread group
  /// (butterfly).
  Value groupSum(Value x, int64_t width) { return groupReduce(x, width, false); }
  Value groupMax(Value x, int64_t width) { return groupReduce(x, width, true); }
  Value groupReduce(Value x, int64_t width, bool isMax) {
    for (int64_t off = 1; off < width; off *= 2) {
      Value other =
          gpu::ShuffleOp::create(b, loc, x, off, 32, gpu::ShuffleMode::XOR)
              .getShuffleResult();
      x = isMax ? maxf(x, other) : add(x, other);
    }
    return x;
  }
  /// mem[ivs] widened to f32.
  Value loadF32(Value mem, ValueRange ivs) {
    Value v = memref::LoadOp::create(b, loc, mem, ivs);
    if (v.getType().isF32())
      return v;
    return arith::ExtFOp::create(b, loc, b.getF32Type(), v);
  }
  /// Stores `v` into mem[ivs], truncated to mem's element type.
  void storeAs(Value v, Value mem, ValueRange ivs) {
    Type et = cast<MemRefType>(mem.getType()).getElementType();
    if (et != v.getType())
      v = arith::TruncFOp::create(b, loc, et, v);
    memref::StoreOp::create(b, loc, v, mem, ivs);
  }
  /// The length of sequence `batch`; a negative length is an empty one.
  Value length(Value lens, Value batch) {
    return clampLength(memref::LoadOp::create(b, loc, lens, batch));
  }
  /// A length as loaded from `lens` as an index; a negative one is 0.
  Value clampLength(Value loaded) {
    Value li = arith::IndexCastOp::create(b, loc, b.getIndexType(), loaded);
    return arith::MaxSIOp::create(b, loc, li, idx(0));
  }
};

} // namespace mlir::fd

#endif // FD_LIB_CONVERSION_UTILS_KERNELEMITTER_H
