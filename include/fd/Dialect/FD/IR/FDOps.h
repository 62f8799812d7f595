//===- FDOps.h - fd dialect operations --------------------------*- C++ -*-===//
#ifndef FD_DIALECT_FD_IR_FDOPS_H
#define FD_DIALECT_FD_IR_FDOPS_H

#include "fd/Dialect/FD/IR/FDAttrs.h"
#include "fd/Dialect/FD/IR/FDDialect.h"
#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#define GET_OP_CLASSES
#include "fd/Dialect/FD/IR/FDOps.h.inc"

namespace mlir::fd {
/// The static sizes of an attention problem, as the verifier accepted them.
struct AttentionShape {
  int64_t numQueryHeads; // Hq
  int64_t numKVHeads;    // Hkv
  int64_t headDim;       // D
  Type elementType;      // f16 or bf16
  int64_t groupSize() const { return numQueryHeads / numKVHeads; }
};

/// Reads the static attention sizes off verified q/K operands.
AttentionShape getAttentionShape(Value query, Value key);
} // namespace mlir::fd

#endif // FD_DIALECT_FD_IR_FDOPS_H
