//===- KVCache.h - addressing a K/V row, contiguous or paged ----*- C++ -*-===//
//
// Private to lib/Conversion. The one place that turns (sequence, KV head,
// token) into memref indices of a K or V operand, for the reference loops
// (FDToSCF) and every GPU kernel (FDToGPU's KVCacheAccess), so the paged
// form reaches all of them by construction.
//
//===----------------------------------------------------------------------===//
#ifndef FD_LIB_CONVERSION_UTILS_KVCACHE_H
#define FD_LIB_CONVERSION_UTILS_KVCACHE_H

#include "KernelEmitter.h"

#include "fd/Dialect/FD/IR/FDOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"

namespace mlir::fd {

/// Where sequence `batch`'s page numbers start in a CSR table
/// (indptr[batch], an index), or null for a block table or a contiguous
/// cache. Kernels load it once and pass it to kvPageOf / kvTableIndices.
inline Value kvTableRowStart(KernelEmitter &e, const KVCacheOperands &kv,
                             Value batch) {
  if (!kv.isCsr())
    return {};
  Value start = memref::LoadOp::create(e.b, e.loc, kv.pageIndptr, batch);
  return arith::IndexCastOp::create(e.b, e.loc, e.b.getIndexType(), start);
}

/// The indices in kv.blockTable of page slot `slot` of sequence `batch`:
/// {batch, slot} in a [B, max_pages] table, {rowStart + slot} in a CSR one
/// (rowStart from kvTableRowStart; null loads it here).
inline SmallVector<Value, 2> kvTableIndices(KernelEmitter &e,
                                            const KVCacheOperands &kv,
                                            Value batch, Value rowStart,
                                            Value slot) {
  if (!kv.isCsr())
    return {batch, slot};
  if (!rowStart)
    rowStart = kvTableRowStart(e, kv, batch);
  return {e.addi(rowStart, slot)};
}

/// The page holding token `t` of sequence `batch` (an index), or null for a
/// contiguous cache. The page index is the caller's contract (FDOps.td);
/// arith folds the division away for page size 1 and turns powers of two
/// into shifts.
inline Value kvPageOf(KernelEmitter &e, const KVCacheOperands &kv, Value batch,
                      Value t, Value rowStart = {}) {
  if (!kv.blockTable)
    return {};
  Value slot = e.divui(t, kv.pageSize());
  Value page = memref::LoadOp::create(
      e.b, e.loc, kv.blockTable, kvTableIndices(e, kv, batch, rowStart, slot));
  return arith::IndexCastOp::create(e.b, e.loc, e.b.getIndexType(), page);
}

/// The indices of element `d` of token `t` of (batch, kvHead) given the
/// token's page from kvPageOf (null for a contiguous cache): {batch, kvHead,
/// t, d}, or {page, kvHead, t mod page_size, d}. Kernels that copy ahead
/// load the page early and pass it here, so the table's latency overlaps
/// work instead of stalling the copy.
inline SmallVector<Value, 4> kvRowIndicesInPage(KernelEmitter &e,
                                                const KVCacheOperands &kv,
                                                Value batch, Value kvHead,
                                                Value t, Value page, Value d) {
  if (!kv.blockTable)
    return {batch, kvHead, t, d};
  return {page, kvHead, e.remui(t, kv.pageSize()), d};
}

/// The indices of element `d` of token `t` of (batch, kvHead) in `cache`
/// (kv.key or kv.value): {batch, kvHead, t, d} in a contiguous cache,
/// {table[batch, t / page_size], kvHead, t mod page_size, d} in a paged one
/// (table[indptr[batch] + t / page_size] with CSR addressing).
inline SmallVector<Value, 4> kvRowIndices(KernelEmitter &e,
                                          const KVCacheOperands &kv,
                                          Value batch, Value kvHead, Value t,
                                          Value d, Value rowStart = {}) {
  return kvRowIndicesInPage(e, kv, batch, kvHead, t,
                            kvPageOf(e, kv, batch, t, rowStart), d);
}

/// The rows of (batch, kvHead) in a contiguous [B, Hkv, T, D] cache (kv.key
/// or kv.value) as element offsets from its aligned base: token t starts at
/// first + t * tokenStride, and the cache holds `capacity` tokens. For
/// kernels that address rows by offset (a per-tile multiply, then adds)
/// instead of by indices (a multiply per access).
struct KVContiguousRows {
  Value first, tokenStride, capacity;
};
inline KVContiguousRows kvContiguousRows(KernelEmitter &e, Value cache,
                                         Value batch, Value kvHead) {
  auto md = memref::ExtractStridedMetadataOp::create(e.b, e.loc, cache);
  Value first = e.addi(md.getOffset(),
                       e.addi(e.muli(batch, md.getStrides()[0]),
                              e.muli(kvHead, md.getStrides()[1])));
  return {first, md.getStrides()[2], md.getSizes()[2]};
}

} // namespace mlir::fd

#endif // FD_LIB_CONVERSION_UTILS_KVCACHE_H
