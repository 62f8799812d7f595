//===- FDOps.h - fd dialect operations --------------------------*- C++ -*-===//
#ifndef FD_DIALECT_FD_IR_FDOPS_H
#define FD_DIALECT_FD_IR_FDOPS_H

#include "fd/Bundle/Schema.h"
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

/// Most attention states fd.merge_states combines in one op: the manifest's
/// bound on a merge_states entry's num_states.
inline constexpr int64_t kMaxMergedStates = ::fdb::kMaxMergedStates;

/// Largest page size of a paged KV cache (dim 2 of its K/V pools).
inline constexpr int64_t kMaxPageSize = 65536;

/// How an attention op addresses its K/V rows: a contiguous cache
/// [B, Hkv, Lmax, D], or pools of pages [num_pages, Hkv, page_size, D]
/// through a block table [B, max_pages] (null `blockTable`: contiguous), or
/// through CSR page lists: `blockTable` the flat indices [nnz_pages] and
/// `pageIndptr` [B + 1] where each sequence's pages start.
struct KVCacheOperands {
  Value key, value, blockTable, pageIndptr;
  /// Tokens per page; 0 for a contiguous cache.
  int64_t pageSize() const;
  bool isCsr() const { return static_cast<bool>(pageIndptr); }
};

/// The K/V operands of a verified attention op (decode, partial, fallback).
template <typename OpTy> KVCacheOperands getKVCache(OpTy op) {
  return {op.getKey(), op.getValue(), op.getBlockTable(), op.getPageIndptr()};
}
} // namespace mlir::fd

#endif // FD_DIALECT_FD_IR_FDOPS_H
