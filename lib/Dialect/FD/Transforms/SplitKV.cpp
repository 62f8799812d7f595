//===- SplitKV.cpp - Flash-Decoding split of decode attention -------------===//
//
// Decode attention has one query per sequence, so a kernel with one CTA per
// (sequence, head) leaves most SMs idle on long contexts. Splitting the KV
// sequence into chunks processed in parallel and merging the partial results
// (Flash-Decoding) restores the parallelism. This pass states the split in
// the fd dialect; the lowerings decide how each half runs.
//
//===----------------------------------------------------------------------===//
#include "fd/Dialect/FD/IR/FDOps.h"
#include "fd/Dialect/FD/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/Builders.h"
#include "mlir/Interfaces/FunctionInterfaces.h"

namespace mlir::fd {
#define GEN_PASS_DEF_FDSPLITKV
#include "fd/Dialect/FD/Transforms/Passes.h.inc"
} // namespace mlir::fd

using namespace mlir;
using namespace mlir::fd;

namespace {
struct FDSplitKV : mlir::fd::impl::FDSplitKVBase<FDSplitKV> {
  using Base::Base;

  void runOnOperation() override {
    // Every value ends up in the manifest's "split" (or, sm-count, in the
    // host's split plan next to them), whose fields the runtime reads as
    // i32: [1, kMaxCount], 0 meaning "not fixed" for the first two.
    const int64_t max = ::fdb::kMaxCount;
    auto bad = [&](StringRef name, int64_t v, int64_t lo,
                   StringRef note = "") {
      getOperation().emitError()
          << "fd-split-kv: " << name << " must be in [" << lo << ", " << max
          << "]" << note << ", got " << v;
      signalPassFailure();
    };
    if (numSplits < 0 || numSplits > max)
      return bad("num-splits", numSplits, 0, " (0: not fixed)");
    if (chunkSize < 0 || chunkSize > max)
      return bad("chunk-size", chunkSize, 0, " (0: not fixed)");
    if (numSplits > 0 && chunkSize > 0) {
      getOperation().emitError()
          << "fd-split-kv: give at most one of num-splits and chunk-size "
             "(got num-splits="
          << int64_t(numSplits) << ", chunk-size=" << int64_t(chunkSize) << ")";
      return signalPassFailure();
    }
    std::pair<StringRef, int64_t> constants[] = {
        {"sm-count", smCount},     {"ctas-per-sm", ctasPerSM},
        {"min-chunk", minChunk},   {"chunk-align", chunkAlign},
        {"max-splits", maxSplits}};
    for (auto [name, v] : constants)
      if (v < 1 || v > max)
        return bad(name, v, 1);
    getOperation().walk([&](DecodeAttentionOp op) { split(op); });
  }

  void split(DecodeAttentionOp op) {
    OpBuilder b(op);
    Location loc = op.getLoc();
    AttentionShape shape = getAttentionShape(op.getQuery(), op.getKey());

    auto cst = [&](int64_t v) -> Value {
      return arith::ConstantIndexOp::create(b, loc, v);
    };
    Value batch = memref::DimOp::create(b, loc, op.getQuery(), 0);
    // The most tokens a sequence can hold: Lmax, or max_pages * page_size
    // (nnz_pages * page_size with CSR addressing: one sequence may own
    // every page).
    KVCacheOperands kv = getKVCache(op);
    Value capacity =
        kv.blockTable
            ? arith::MulIOp::create(
                  b, loc,
                  memref::DimOp::create(b, loc, kv.blockTable,
                                        kv.isCsr() ? 0 : 1),
                  cst(kv.pageSize())).getResult()
            : memref::DimOp::create(b, loc, op.getKey(), 2).getResult();

    int64_t fixedSplits = numSplits, fixedChunk = chunkSize;
    if (auto n = op.getNumSplitsAttr()) {
      fixedSplits = n.getInt();
      fixedChunk = 0;
    } else if (auto c = op.getChunkSizeAttr()) {
      fixedChunk = c.getInt();
      fixedSplits = 0;
    }

    // S and chunk must satisfy S * chunk >= every valid length; with a fixed
    // one the other follows from the capacity, which bounds every length.
    Value splits, chunk;
    if (fixedSplits > 0) {
      splits = cst(fixedSplits);
      Value ceil = arith::CeilDivUIOp::create(b, loc, capacity, splits);
      chunk = arith::MaxUIOp::create(b, loc, ceil, cst(1));
    } else if (fixedChunk > 0) {
      chunk = cst(fixedChunk);
      Value ceil = arith::CeilDivUIOp::create(b, loc, capacity, chunk);
      splits = arith::MaxUIOp::create(b, loc, ceil, cst(1));
    } else {
      auto plan = SplitPlanOp::create(
          b, loc, b.getIndexType(), b.getIndexType(), op.getLengths(), shape.numKVHeads, int64_t(smCount),
          int64_t(ctasPerSM), int64_t(minChunk), int64_t(chunkAlign),
          int64_t(maxSplits));
      splits = plan.getNumSplits();
      chunk = plan.getChunkSize();
    }

    recordSplit(op, fixedSplits, fixedChunk);

    Type f32 = b.getF32Type();
    int64_t dyn = ShapedType::kDynamic;
    auto accType = MemRefType::get(
        {dyn, shape.numQueryHeads, dyn, shape.headDim}, f32);
    auto statType = MemRefType::get({dyn, shape.numQueryHeads, dyn}, f32);
    Value acc = memref::AllocOp::create(b, loc, accType,
                                        ValueRange{batch, splits});
    Value max = memref::AllocOp::create(b, loc, statType,
                                        ValueRange{batch, splits});
    Value sum = memref::AllocOp::create(b, loc, statType,
                                        ValueRange{batch, splits});

    PartialAttentionOp::create(b, loc, op.getQuery(), op.getKey(),
                               op.getValue(), op.getLengths(),
                               op.getBlockTable(), op.getPageIndptr(), acc,
                               max, sum, chunk,
                               op.getScaleAttr(), op.getSoftmax());
    MergePartialsOp::create(b, loc, acc, max, sum, op.getOut(), op.getLse(),
                            op.getSoftmax());
    SmallVector<Value> buffers = {acc, max, sum};
    // A fixed unified max is only exact together with its fallback: rows
    // whose scores leave the safe band are recomputed with online softmax.
    if (auto unified = dyn_cast<UnifiedMaxAttr>(op.getSoftmax())) {
      auto flagType = MemRefType::get({dyn, shape.numQueryHeads},
                                      b.getI32Type());
      Value flags = memref::AllocOp::create(b, loc, flagType, ValueRange{batch});
      OverflowFallbackOp::create(b, loc, op.getQuery(), op.getKey(),
                                 op.getValue(), op.getLengths(), max, sum,
                                 op.getBlockTable(), op.getPageIndptr(),
                                 op.getOut(), flags,
                                 op.getLse(), op.getScaleAttr(), unified);
      buffers.push_back(flags);
    }
    for (Value buf : buffers)
      memref::DeallocOp::create(b, loc, buf);
    op.erase();
  }

  /// Records the split on the enclosing function (fdb::ir::kSplit) for
  /// the bundle writer, which must not re-derive this pass's decision.
  void recordSplit(DecodeAttentionOp op, int64_t fixedSplits,
                   int64_t fixedChunk) {
    auto fn = op->getParentOfType<FunctionOpInterface>();
    if (!fn)
      return;
    namespace key = ::fdb::key;
    namespace mode = ::fdb::split_mode;
    Builder b(op.getContext());
    std::string_view m = fixedSplits > 0  ? mode::kFixed
                         : fixedChunk > 0 ? mode::kChunk
                                          : mode::kAuto;
    auto i64 = [&](int64_t v) { return b.getI64IntegerAttr(v); };
    NamedAttribute entries[] = {
        b.getNamedAttr(key::kMode, b.getStringAttr(StringRef(m.data(), m.size()))),
        b.getNamedAttr(key::kNumSplits, i64(fixedSplits)),
        b.getNamedAttr(key::kChunkSize, i64(fixedChunk)),
        b.getNamedAttr(key::kCtasPerSm, i64(ctasPerSM)),
        b.getNamedAttr(key::kMinChunk, i64(minChunk)),
        b.getNamedAttr(key::kChunkAlign, i64(chunkAlign)),
        b.getNamedAttr(key::kMaxSplits, i64(maxSplits))};
    fn->setAttr(::fdb::ir::kSplit, b.getDictionaryAttr(entries));
  }
};
} // namespace
