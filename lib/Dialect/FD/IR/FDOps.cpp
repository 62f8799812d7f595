//===- FDOps.cpp - fd dialect operations and their verifiers --------------===//
//
// The verifiers are the contract the passes rely on: once an op verifies, the
// lowering may assume static Hq/Hkv/D, matching element types and a unit
// innermost stride. Every message names the operand by its role and says what
// was expected, because users meet these errors first.
//
//===----------------------------------------------------------------------===//
#include "fd/Dialect/FD/IR/FDOps.h"
#include "fd/Bundle/Schema.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpImplementation.h"
#include "llvm/ADT/STLExtras.h"

#include <climits>
#include <cmath>

using namespace mlir;
using namespace mlir::fd;

#define GET_OP_CLASSES
#include "fd/Dialect/FD/IR/FDOps.cpp.inc"

namespace {
/// Emits role-named diagnostics for the memref operands of one op.
class OperandChecker {
public:
  explicit OperandChecker(Operation *op) : op(op) {}

  /// `name` must be a memref of `rank` whose dims are described by `dims`
  /// (e.g. "[B, Hkv, Lmax, D]") with a strided layout and innermost stride 1.
  FailureOr<MemRefType> memref(Value v, StringRef name, int64_t rank,
                               StringRef dims) {
    auto type = cast<MemRefType>(v.getType());
    if (type.getRank() != rank)
      return op->emitOpError() << "'" << name << "' must be a rank-" << rank
                               << " memref " << dims << ", got rank "
                               << type.getRank();
    SmallVector<int64_t> strides;
    int64_t offset;
    if (failed(type.getStridesAndOffset(strides, offset)))
      return op->emitOpError()
             << "'" << name << "' must have a strided layout, got " << type;
    if (strides.back() != 1)
      return op->emitOpError()
             << "'" << name
             << "' must have innermost stride 1 (rows are read with 16-byte "
                "loads), got "
             << (ShapedType::isDynamic(strides.back())
                     ? std::string("?")
                     : std::to_string(strides.back()));
    return type;
  }

  /// The element type of `name` must be f16 or bf16.
  LogicalResult halfElement(MemRefType type, StringRef name) {
    Type e = type.getElementType();
    if (e.isF16() || e.isBF16())
      return success();
    return op->emitOpError() << "'" << name
                             << "' element type must be f16 or bf16, got " << e;
  }

  LogicalResult element(MemRefType type, StringRef name, Type expected,
                        StringRef expectedFrom) {
    if (type.getElementType() == expected)
      return success();
    return op->emitOpError()
           << "'" << name << "' element type " << type.getElementType()
           << " does not match " << expectedFrom << " " << expected;
  }

  /// Dim `da` of `a` and dim `db` of `b` must agree where both are static.
  LogicalResult sameDim(MemRefType a, StringRef nameA, unsigned da,
                        MemRefType b, StringRef nameB, unsigned db,
                        StringRef what) {
    int64_t x = a.getDimSize(da), y = b.getDimSize(db);
    if (ShapedType::isDynamic(x) || ShapedType::isDynamic(y) || x == y)
      return success();
    return op->emitOpError() << what << " mismatch: '" << nameA << "' dim "
                             << da << " is " << x << " but '" << nameB
                             << "' dim " << db << " is " << y;
  }

  /// Dim `d` of `type` must be static.
  FailureOr<int64_t> staticDim(MemRefType type, StringRef name, unsigned d,
                               StringRef what) {
    if (type.isDynamicDim(d))
      return op->emitOpError() << what << " (dim " << d << " of '" << name
                               << "') must be static";
    return type.getDimSize(d);
  }

private:
  Operation *op;
};
} // namespace

/// Largest number of query or KV heads, and of query heads per KV head.
constexpr int64_t kMaxHeads = 1024, kMaxGroup = 128;

/// Checks q [B, Hq, D], K/V [B, Hkv, Lmax, D] (or pages [P, Hkv, page_size,
/// D] with a block table [B, max_pages]) and lengths [B]; shared by the
/// unsplit and the split form.
static FailureOr<AttentionShape>
verifyAttentionInputs(Operation *op, Value query, Value key, Value value,
                      Value lengths, Value blockTable, Value pageIndptr) {
  OperandChecker c(op);
  bool paged = static_cast<bool>(blockTable);
  if (pageIndptr && !paged)
    return op->emitOpError() << "'page_indptr' needs 'block_table': CSR "
                                "addressing reads page numbers from it";
  StringRef kvDims = paged ? "[num_pages, Hkv, page_size, D]"
                           : "[B, Hkv, Lmax, D]";
  auto q = c.memref(query, "query", 3, "[B, Hq, D]");
  if (failed(q))
    return failure();
  auto k = c.memref(key, "key", 4, kvDims);
  if (failed(k))
    return failure();
  auto v = c.memref(value, "value", 4, kvDims);
  if (failed(v))
    return failure();
  auto lensType = cast<MemRefType>(lengths.getType());
  if (lensType.getRank() != 1 || !(lensType.getElementType().isInteger(32) ||
                                   lensType.getElementType().isInteger(64)))
    return op->emitOpError()
           << "'lengths' must be a rank-1 memref of i32 or i64 [B], got "
           << lensType;
  if (failed(c.memref(lengths, "lengths", 1, "[B]")))
    return failure();
  auto isIndexArray = [](MemRefType t, int64_t rank) {
    return t.getRank() == rank && (t.getElementType().isInteger(32) ||
                                   t.getElementType().isInteger(64));
  };
  if (paged && !pageIndptr) {
    auto tableType = cast<MemRefType>(blockTable.getType());
    if (!isIndexArray(tableType, 2))
      return op->emitOpError()
             << "'block_table' must be a rank-2 memref of i32 or i64 [B, "
                "max_pages] (or, with 'page_indptr', rank-1 [nnz_pages]), got "
             << tableType;
    if (failed(c.memref(blockTable, "block_table", 2, "[B, max_pages]")) ||
        failed(c.sameDim(*q, "query", 0, tableType, "block_table", 0,
                         "batch")))
      return failure();
  }
  if (pageIndptr) {
    auto tableType = cast<MemRefType>(blockTable.getType());
    auto indptrType = cast<MemRefType>(pageIndptr.getType());
    if (!isIndexArray(tableType, 1))
      return op->emitOpError() << "with 'page_indptr', 'block_table' must be "
                                  "a rank-1 memref of i32 or i64 [nnz_pages] "
                                  "(CSR page indices), got "
                               << tableType;
    if (!isIndexArray(indptrType, 1))
      return op->emitOpError() << "'page_indptr' must be a rank-1 memref of "
                                  "i32 or i64 [B + 1], got "
                               << indptrType;
    if (failed(c.memref(blockTable, "block_table", 1, "[nnz_pages]")) ||
        failed(c.memref(pageIndptr, "page_indptr", 1, "[B + 1]")))
      return failure();
    int64_t b = q->getDimSize(0), n = indptrType.getDimSize(0);
    if (!ShapedType::isDynamic(b) && !ShapedType::isDynamic(n) && n != b + 1)
      return op->emitOpError() << "'page_indptr' has " << n
                               << " entries; a batch of " << b << " needs "
                               << b + 1 << " (B + 1)";
  }
  if (paged) {
    auto pageSize = c.staticDim(*k, "key", 2, "page size");
    if (failed(pageSize))
      return failure();
    if (*pageSize < 1 || *pageSize > kMaxPageSize)
      return op->emitOpError() << "page size (dim 2 of 'key') must be in [1, "
                               << kMaxPageSize << "], got " << *pageSize;
  }

  if (failed(c.halfElement(*q, "query")) ||
      failed(c.element(*k, "key", q->getElementType(), "'query' element type")) ||
      failed(c.element(*v, "value", q->getElementType(),
                       "'query' element type")))
    return failure();

  auto hq = c.staticDim(*q, "query", 1, "number of query heads Hq");
  auto d = c.staticDim(*q, "query", 2, "head dim D");
  auto hkv = c.staticDim(*k, "key", 1, "number of KV heads Hkv");
  if (failed(hq) || failed(d) || failed(hkv))
    return failure();
  if (*d != 64 && *d != 128 && *d != 256)
    return op->emitOpError() << "head dim D must be 64, 128 or 256, got " << *d;
  // Bounds before any division; the group's heads are unrolled into every
  // kernel, so the group is capped where the kernels stay reasonable.
  if (*hkv < 1 || *hkv > kMaxHeads || *hq < 1 || *hq > kMaxHeads)
    return op->emitOpError() << "numbers of query heads (" << *hq
                             << ") and KV heads (" << *hkv
                             << ") must be in [1, " << kMaxHeads << "]";
  if (*hq % *hkv != 0)
    return op->emitOpError() << "number of query heads " << *hq
                             << " must be a multiple of the number of KV heads "
                             << *hkv;
  if (*hq / *hkv > kMaxGroup)
    return op->emitOpError() << "group size Hq / Hkv = " << *hq / *hkv
                             << " is above the supported " << kMaxGroup;

  if ((!paged &&
       (failed(c.sameDim(*q, "query", 0, *k, "key", 0, "batch")) ||
        failed(c.sameDim(*q, "query", 0, *v, "value", 0, "batch")))) ||
      (paged && failed(c.sameDim(*k, "key", 0, *v, "value", 0, "page count")))
      || failed(c.sameDim(*q, "query", 0, lensType, "lengths", 0, "batch")) ||
      failed(c.sameDim(*k, "key", 1, *v, "value", 1, "KV head")) ||
      failed(c.sameDim(*k, "key", 2, *v, "value", 2,
                       paged ? "page size" : "sequence capacity")) ||
      failed(c.sameDim(*q, "query", 2, *k, "key", 3, "head dim")) ||
      failed(c.sameDim(*q, "query", 2, *v, "value", 3, "head dim")))
    return failure();
  return AttentionShape{*hq, *hkv, *d, q->getElementType()};
}

/// Checks `out [B, Hq, D]` against the attention inputs.
static LogicalResult verifyAttentionOutput(Operation *op, Value out,
                                           Value query, StringRef queryName,
                                           unsigned queryHeadDim,
                                           Type elementType) {
  OperandChecker c(op);
  auto o = c.memref(out, "out", 3, "[B, Hq, D]");
  if (failed(o))
    return failure();
  auto q = cast<MemRefType>(query.getType());
  if (elementType && failed(c.element(*o, "out", elementType,
                                      "'query' element type")))
    return failure();
  if (!elementType && failed(c.halfElement(*o, "out")))
    return failure();
  return success(
      succeeded(c.sameDim(*o, "out", 0, q, queryName, 0, "batch")) &&
      succeeded(c.sameDim(*o, "out", 1, q, queryName, 1, "query head")) &&
      succeeded(
          c.sameDim(*o, "out", 2, q, queryName, queryHeadDim, "head dim")));
}

static LogicalResult verifyScale(Operation *op, FloatAttr scale) {
  double s = scale.getValueAsDouble();
  if (!std::isfinite(s) || s <= 0)
    return op->emitOpError() << "'scale' must be positive and finite, got "
                             << s;
  return success();
}

/// Checks `lse [B, Hq]` (f32) against the query or output `ref`.
static LogicalResult verifyLse(Operation *op, Value lse, Value ref,
                               StringRef refName) {
  if (!lse)
    return success();
  OperandChecker c(op);
  auto l = c.memref(lse, "lse", 2, "[B, Hq]");
  if (failed(l) ||
      failed(c.element(*l, "lse", Float32Type::get(op->getContext()),
                       "the log-sum-exp type")))
    return failure();
  auto r = cast<MemRefType>(ref.getType());
  return success(
      succeeded(c.sameDim(*l, "lse", 0, r, refName, 0, "batch")) &&
      succeeded(c.sameDim(*l, "lse", 1, r, refName, 1, "query head")));
}

int64_t KVCacheOperands::pageSize() const {
  if (!blockTable)
    return 0;
  return cast<MemRefType>(key.getType()).getDimSize(2);
}

AttentionShape mlir::fd::getAttentionShape(Value query, Value key) {
  auto q = cast<MemRefType>(query.getType());
  auto k = cast<MemRefType>(key.getType());
  return {q.getDimSize(1), k.getDimSize(1), q.getDimSize(2),
          q.getElementType()};
}

//===----------------------------------------------------------------------===//
// DecodeAttentionOp
//===----------------------------------------------------------------------===//

LogicalResult DecodeAttentionOp::verify() {
  auto shape = verifyAttentionInputs(*this, getQuery(), getKey(), getValue(),
                                     getLengths(), getBlockTable(),
                                     getPageIndptr());
  if (failed(shape) ||
      failed(verifyAttentionOutput(*this, getOut(), getQuery(), "query", 2,
                                   shape->elementType)) ||
      failed(verifyLse(*this, getLse(), getQuery(), "query")) ||
      failed(verifyScale(*this, getScaleAttr())))
    return failure();
  // Read the attributes as signed: the generated accessors are unsigned and
  // would turn a negative count into a huge one. The manifest's split
  // fields are i32 for the runtime.
  for (auto [attr, name] : {std::pair{getNumSplitsAttr(), "num_splits"},
                            std::pair{getChunkSizeAttr(), "chunk_size"}})
    if (attr && (attr.getInt() < 1 || attr.getInt() > fdb::kMaxCount))
      return emitOpError() << "'" << name << "' must be in [1, "
                           << fdb::kMaxCount << "], got " << attr.getInt();
  if (getNumSplits() && getChunkSize())
    return emitOpError() << "'num_splits' and 'chunk_size' are mutually "
                            "exclusive: give at most one";
  return success();
}

//===----------------------------------------------------------------------===//
// SplitPlanOp
//===----------------------------------------------------------------------===//

LogicalResult SplitPlanOp::verify() {
  auto lensType = cast<MemRefType>(getLengths().getType());
  if (lensType.getRank() != 1 || !(lensType.getElementType().isInteger(32) ||
                                   lensType.getElementType().isInteger(64)))
    return emitOpError()
           << "'lengths' must be a rank-1 memref of i32 or i64 [B], got "
           << lensType;
  // ODS checked that each is positive; the host computes the plan in
  // 64-bit index arithmetic and the runtime reads the constants as i32.
  if (getNumKvHeads() > uint64_t(kMaxHeads))
    return emitOpError() << "'num_kv_heads' must be in [1, " << kMaxHeads
                         << "], got " << getNumKvHeads();
  std::pair<uint64_t, const char *> constants[] = {
      {getSmCount(), "sm_count"},     {getCtasPerSm(), "ctas_per_sm"},
      {getMinChunk(), "min_chunk"},   {getChunkAlign(), "chunk_align"},
      {getMaxSplits(), "max_splits"}};
  for (auto [v, name] : constants)
    if (v > uint64_t(fdb::kMaxCount))
      return emitOpError() << "'" << name << "' must be in [1, "
                           << fdb::kMaxCount << "], got " << v;
  return success();
}

//===----------------------------------------------------------------------===//
// PartialAttentionOp
//===----------------------------------------------------------------------===//

/// Checks acc [B, Hq, S, D], max and sum [B, Hq, S] (all f32) against a
/// reference tensor `ref` whose dims 0, 1 and `refHeadDim` are B, Hq and D.
static LogicalResult verifyPartials(Operation *op, Value acc, Value max,
                                    Value sum, Value ref, StringRef refName,
                                    unsigned refHeadDim) {
  OperandChecker c(op);
  auto a = c.memref(acc, "acc", 4, "[B, Hq, S, D]");
  if (failed(a))
    return failure();
  auto m = c.memref(max, "max", 3, "[B, Hq, S]");
  if (failed(m))
    return failure();
  auto s = c.memref(sum, "sum", 3, "[B, Hq, S]");
  if (failed(s))
    return failure();
  Type f32 = Float32Type::get(op->getContext());
  if (failed(c.element(*a, "acc", f32, "the partial state type")) ||
      failed(c.element(*m, "max", f32, "the partial state type")) ||
      failed(c.element(*s, "sum", f32, "the partial state type")))
    return failure();
  auto r = cast<MemRefType>(ref.getType());
  for (auto [t, name] : {std::pair{*m, "max"}, std::pair{*s, "sum"}}) {
    for (unsigned d = 0; d < 3; ++d)
      if (failed(c.sameDim(*a, "acc", d, t, name, d,
                           d == 0 ? "batch"
                                  : (d == 1 ? "query head" : "split count"))))
        return failure();
  }
  return success(
      succeeded(c.sameDim(*a, "acc", 0, r, refName, 0, "batch")) &&
      succeeded(c.sameDim(*a, "acc", 1, r, refName, 1, "query head")) &&
      succeeded(c.sameDim(*a, "acc", 3, r, refName, refHeadDim, "head dim")));
}

LogicalResult PartialAttentionOp::verify() {
  auto shape = verifyAttentionInputs(*this, getQuery(), getKey(), getValue(),
                                     getLengths(), getBlockTable(),
                                     getPageIndptr());
  if (failed(shape) || failed(verifyScale(*this, getScaleAttr())))
    return failure();
  return verifyPartials(*this, getAcc(), getMax(), getSum(), getQuery(),
                        "query", 2);
}

//===----------------------------------------------------------------------===//
// MergePartialsOp
//===----------------------------------------------------------------------===//

LogicalResult MergePartialsOp::verify() {
  // acc's rank first: the output check reads its dim 3.
  if (failed(OperandChecker(*this).memref(getAcc(), "acc", 4,
                                          "[B, Hq, S, D]")))
    return failure();
  if (failed(verifyAttentionOutput(*this, getOut(), getAcc(), "acc", 3,
                                   Type())))
    return failure();
  auto d = cast<MemRefType>(getOut().getType()).getDimSize(2);
  if (!ShapedType::isDynamic(d) && d != 64 && d != 128 && d != 256)
    return emitOpError() << "head dim D must be 64, 128 or 256, got " << d;
  if (ShapedType::isDynamic(d))
    return emitOpError() << "head dim D (dim 2 of 'out') must be static";
  if (failed(verifyLse(*this, getLse(), getOut(), "out")))
    return failure();
  return verifyPartials(*this, getAcc(), getMax(), getSum(), getOut(), "out",
                        2);
}

//===----------------------------------------------------------------------===//
// MergeStatesOp
//===----------------------------------------------------------------------===//

LogicalResult MergeStatesOp::verify() {
  size_t n = getStates().size();
  if (n < 2 || n > size_t(kMaxMergedStates))
    return emitOpError() << "merges 2 to " << kMaxMergedStates
                         << " states, got " << n;
  if (getStateLses().size() != n)
    return emitOpError() << "has " << n << " states but "
                         << getStateLses().size()
                         << " log-sum-exps: one 'lses' operand per state";
  OperandChecker c(*this);
  auto out = c.memref(getOut(), "out", 3, "[B, Hq, D]");
  if (failed(out) || failed(c.halfElement(*out, "out")))
    return failure();
  auto hq = c.staticDim(*out, "out", 1, "number of query heads Hq");
  auto d = c.staticDim(*out, "out", 2, "head dim D");
  if (failed(hq) || failed(d))
    return failure();
  if (*hq < 1 || *hq > kMaxHeads)
    return emitOpError() << "number of query heads (" << *hq
                         << ") must be in [1, " << kMaxHeads << "]";
  if (*d != 64 && *d != 128 && *d != 256)
    return emitOpError() << "head dim D must be 64, 128 or 256, got " << *d;
  Type f32 = Float32Type::get(getContext());
  // An lse is read one scalar at a time: any strided layout (vLLM keeps
  // them [Hq, B], a transposed view of [B, Hq]).
  auto checkLse = [&](Value lse, StringRef name) -> LogicalResult {
    auto t = cast<MemRefType>(lse.getType());
    SmallVector<int64_t> strides;
    int64_t offset;
    if (t.getRank() != 2 || failed(t.getStridesAndOffset(strides, offset)))
      return emitOpError() << "'" << name
                           << "' must be a strided rank-2 memref [B, Hq], got "
                           << t;
    if (failed(c.element(t, name, f32, "the log-sum-exp type")) ||
        failed(c.sameDim(t, name, 0, *out, "out", 0, "batch")) ||
        failed(c.sameDim(t, name, 1, *out, "out", 1, "query head")))
      return failure();
    return success();
  };
  for (size_t i = 0; i < n; ++i) {
    std::string name = "states #" + std::to_string(i);
    auto st = c.memref(getStates()[i], name, 3, "[B, Hq, D]");
    if (failed(st) ||
        failed(c.element(*st, name, out->getElementType(),
                         "'out' element type")))
      return failure();
    for (unsigned dim = 0; dim < 3; ++dim)
      if (failed(c.sameDim(*st, name, dim, *out, "out", dim,
                           dim == 0 ? "batch"
                                    : (dim == 1 ? "query head" : "head dim"))))
        return failure();
    if (failed(checkLse(getStateLses()[i], "lses #" + std::to_string(i))))
      return failure();
  }
  if (getLse() && failed(checkLse(getLse(), "lse")))
    return failure();
  return success();
}

//===----------------------------------------------------------------------===//
// OverflowFallbackOp
//===----------------------------------------------------------------------===//

LogicalResult OverflowFallbackOp::verify() {
  auto shape = verifyAttentionInputs(*this, getQuery(), getKey(), getValue(),
                                     getLengths(), getBlockTable(),
                                     getPageIndptr());
  if (failed(shape) ||
      failed(verifyAttentionOutput(*this, getOut(), getQuery(), "query", 2,
                                   shape->elementType)) ||
      failed(verifyScale(*this, getScaleAttr())))
    return failure();
  OperandChecker c(*this);
  auto q = cast<MemRefType>(getQuery().getType());
  Type f32 = Float32Type::get(getContext());
  FailureOr<MemRefType> stats[2] = {c.memref(getMax(), "max", 3, "[B, Hq, S]"),
                                    c.memref(getSum(), "sum", 3, "[B, Hq, S]")};
  const char *names[2] = {"max", "sum"};
  for (int i = 0; i < 2; ++i) {
    if (failed(stats[i]) ||
        failed(c.element(*stats[i], names[i], f32, "the partial state type")) ||
        failed(c.sameDim(*stats[i], names[i], 0, q, "query", 0, "batch")) ||
        failed(c.sameDim(*stats[i], names[i], 1, q, "query", 1, "query head")))
      return failure();
  }
  if (failed(c.sameDim(*stats[0], "max", 2, *stats[1], "sum", 2,
                       "split count")))
    return failure();
  auto flags = c.memref(getFlags(), "flags", 2, "[B, Hq]");
  if (failed(flags) ||
      failed(c.element(*flags, "flags", IntegerType::get(getContext(), 32),
                       "the flag type")) ||
      failed(c.sameDim(*flags, "flags", 0, q, "query", 0, "batch")) ||
      failed(c.sameDim(*flags, "flags", 1, q, "query", 1, "query head")))
    return failure();
  return verifyLse(*this, getLse(), getQuery(), "query");
}

//===----------------------------------------------------------------------===//
// FlatGemmOp
//===----------------------------------------------------------------------===//

LogicalResult FlatGemmOp::verify() {
  OperandChecker c(*this);
  auto x = c.memref(getX(), "x", 2, "[M, K]");
  if (failed(x))
    return failure();
  auto w = c.memref(getW(), "w", 2, "[N, K]");
  if (failed(w))
    return failure();
  auto y = c.memref(getY(), "y", 2, "[M, N]");
  if (failed(y))
    return failure();
  if (failed(c.halfElement(*x, "x")) ||
      failed(c.element(*w, "w", x->getElementType(), "'x' element type")))
    return failure();
  Type ye = y->getElementType();
  if (ye != x->getElementType() && !ye.isF32())
    return emitOpError() << "'y' element type must be f32 or the input type "
                         << x->getElementType() << ", got " << ye;
  auto n = c.staticDim(*w, "w", 0, "N");
  auto k = c.staticDim(*w, "w", 1, "K");
  if (failed(n) || failed(k))
    return failure();
  // The runtime's manifest limits; 0 divided by zero in the tiling.
  if (*n < 1 || *n > INT32_MAX || *k < 1 || *k > INT32_MAX)
    return emitOpError() << "N (" << *n << ") and K (" << *k
                         << ") must be in [1, 2147483647]";
  if (*k % 8 != 0)
    return emitOpError() << "K must be a multiple of 8 (rows are read with "
                            "16-byte loads), got "
                         << *k;
  if (failed(c.sameDim(*x, "x", 1, *w, "w", 1, "K")) ||
      failed(c.sameDim(*y, "y", 0, *x, "x", 0, "M")) ||
      failed(c.sameDim(*y, "y", 1, *w, "w", 0, "N")))
    return failure();
  if (Value bias = getBias()) {
    auto b = c.memref(bias, "bias", 1, "[N]");
    if (failed(b) ||
        failed(c.element(*b, "bias", x->getElementType(), "'x' element type")) ||
        failed(c.sameDim(*b, "bias", 0, *w, "w", 0, "N")))
      return failure();
  }
  return success();
}
