//===- KernelUtils.h - shared builders of fd's GPU kernels ------*- C++ -*-===//
//
// Private to lib/Conversion/FDToGPU: the K/V row access and the shared
// memory of the split-attention kernels, shared by the online-softmax kernels
// (FDToGPU.cpp) and the unified-max kernels (UnifiedMaxKernels.cpp).
//
//===----------------------------------------------------------------------===//
#ifndef FD_LIB_CONVERSION_FDTOGPU_KERNELUTILS_H
#define FD_LIB_CONVERSION_FDTOGPU_KERNELUTILS_H

#include "fd/Conversion/FDToGPU/FDToGPU.h"
#include "../Utils/KVCache.h"
#include "../Utils/KernelEmitter.h"
#include "../Utils/KernelModule.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/Builders.h"

namespace mlir::fd::gpu_kernels {

/// Elements per 16-byte load of f16/bf16.
inline constexpr int64_t kVectorWidth = 8;

/// Tokens of one ring slot of the tensor-core engine (MmaSplitWork.cpp):
/// 16 per warp of a 4-warp CTA, 8 per warp of an 8-warp one (mma-warps).
inline constexpr int64_t kMmaTile = 64;

/// How the kernels read K or V rows. Kernels ask for "the 8 elements at
/// head-dim offset d0 of token t"; whether the cache is contiguous or paged
/// (block tables, any page size) is kvRowIndices' business, not theirs.
class KVCacheAccess {
public:
  /// `rowStart`: kvTableRowStart's value for a CSR table, loaded once per
  /// kernel (null otherwise).
  KVCacheAccess(const KVCacheOperands &kv, bool isValue, Value batch,
                Value kvHead, Value rowStart)
      : kv(kv), cache(isValue ? kv.value : kv.key), batch(batch),
        kvHead(kvHead), rowStart(rowStart) {}

  /// One 16-byte load. The alignment promise holds because the verifier
  /// requires a unit innermost stride and the runtime checks the base pointer
  /// and the outer strides for 16-byte alignment.
  Value loadRow(OpBuilder &b, Location loc, Value token, Value d0) const {
    auto type = cast<MemRefType>(cache.getType());
    auto vt = VectorType::get({kVectorWidth}, type.getElementType());
    auto load = vector::LoadOp::create(b, loc, vt, cache,
                                       indices(b, loc, token, d0));
    load.setAlignment(16);
    return load;
  }

  /// The memref and indices of element d0 of token t's row, for copies that
  /// take a memref (cp.async).
  Value memref() const { return cache; }
  SmallVector<Value, 4> indices(OpBuilder &b, Location loc, Value token,
                                Value d0) const {
    KernelEmitter e{b, loc};
    return kvRowIndices(e, kv, batch, kvHead, token, d0, rowStart);
  }
  /// Paged: the page of `token` (null when contiguous), loaded once for K
  /// and V and ahead of the copy that uses it.
  Value page(OpBuilder &b, Location loc, Value token) const {
    KernelEmitter e{b, loc};
    return kvPageOf(e, kv, batch, token, rowStart);
  }
  /// indices() with the page already known.
  SmallVector<Value, 4> indicesInPage(OpBuilder &b, Location loc, Value token,
                                      Value page, Value d0) const {
    KernelEmitter e{b, loc};
    return kvRowIndicesInPage(e, kv, batch, kvHead, token, page, d0);
  }
  /// Contiguous only: this cache's rows of (batch, kvHead) as offsets.
  KVContiguousRows contiguousRows(OpBuilder &b, Location loc) const {
    KernelEmitter e{b, loc};
    return kvContiguousRows(e, cache, batch, kvHead);
  }
  bool isPaged() const { return static_cast<bool>(kv.blockTable); }
  Value blockTable() const { return kv.blockTable; }
  /// The indices in blockTable() of page slot `slot` of this sequence.
  SmallVector<Value, 2> tableIndices(OpBuilder &b, Location loc,
                                     Value slot) const {
    KernelEmitter e{b, loc};
    return kvTableIndices(e, kv, batch, rowStart, slot);
  }
  int64_t pageSize() const { return kv.pageSize(); }

private:
  KVCacheOperands kv;
  Value cache, batch, kvHead, rowStart;
};

/// The K/V operands of kernel `fn`, by binding: k, v and, for a paged
/// cache, the block table (and a CSR table's indptr).
inline KVCacheOperands getKVCacheArgs(FunctionOpInterface fn) {
  return {getBoundArg(fn, ::fdb::binding::kK),
          getBoundArg(fn, ::fdb::binding::kV),
          lookupBoundArg(fn, ::fdb::binding::kBlockTable),
          lookupBoundArg(fn, ::fdb::binding::kPageIndptr)};
}

/// Appends the paged cache's block table and CSR indptr (if any) to a
/// kernel's bindings and operands.
template <typename OpTy>
void appendPageTable(SmallVectorImpl<std::string_view> &bindings,
                     SmallVectorImpl<Value> &operands, OpTy op) {
  if (Value table = op.getBlockTable()) {
    bindings.push_back(::fdb::binding::kBlockTable);
    operands.push_back(table);
  }
  if (Value indptr = op.getPageIndptr()) {
    bindings.push_back(::fdb::binding::kPageIndptr);
    operands.push_back(indptr);
  }
}

/// A `memref.global` in workgroup memory, 16-byte aligned: workgroup
/// attributions only get `.align 2` (../shared/MLIR22-NOTES.md, item 5).
Value getSharedBuffer(gpu::GPUModuleOp module, OpBuilder &b, Location loc,
                      StringRef name, ArrayRef<int64_t> shape);

/// The end of a merge kernel whose thread owns element d of row (batch,
/// head), or the slice from d when `numer` is a vector (one store of up to
/// 16 bytes, d a multiple of its width): out[batch, head, d...] = numer /
/// total (0 for a row whose total is 0: no keys), in `fn`'s out element
/// type, and, where `fn` binds an lse, the row's thread with d = 0 writes
/// its log-sum-exp from `maxLog2` and `total`. Shared by the online merge of the partials and fd.merge_states.
void emitMergedRow(gpu::GPUFuncOp fn, KernelEmitter &e, Value numer,
                   Value total, Value maxLog2, Value batch, Value head,
                   Value d);

/// A GPU-scope acquire-release fence (fence.acq_rel.gpu): before a CTA
/// counts itself in, it orders the thread's partial results (stores or
/// atomics) before the count; in the last CTA of a row, it orders the
/// count's read before the reads of the other CTAs' results.
void fenceGpu(KernelEmitter &e);

/// The count-in of a single-launch kernel's CTA, after it has published its
/// results: a fence, then thread \p tid 0 adds 1 to \p counter[\p idx] and
/// broadcasts through \p bcast[0] whether it completed the count (the old
/// value was \p splits - 1, splits = gridDim.x). Returns that CTA-uniform
/// flag (i1); the caller fences again (fenceGpu) before reading the other
/// CTAs' results.
Value emitCountIn(KernelEmitter &e, Value tid, Value bcast, Value counter,
                  ValueRange idx, Value splits);

/// The pattern lowering fd.merge_states (MergeStatesToGPU.cpp).
void populateMergeStatesToGPUPatterns(RewritePatternSet &patterns);

/// Patterns lowering the unified-max split form (UnifiedMaxKernels.cpp).
void populateUnifiedMaxToGPUPatterns(RewritePatternSet &patterns,
                                     const FDToGPUOptions &options);

} // namespace mlir::fd::gpu_kernels

#endif // FD_LIB_CONVERSION_FDTOGPU_KERNELUTILS_H
