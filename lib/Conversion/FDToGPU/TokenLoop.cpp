//===- TokenLoop.cpp - the split-attention work of one CTA ----------------===//
#include "TokenLoop.h"

#include "mlir/Dialect/SCF/IR/SCF.h"

#include <cfloat>

using namespace mlir;
using namespace mlir::fd;

namespace mlir::fd::gpu_kernels {

Layout makeLayout(KernelEmitter &e, int64_t headDim, int64_t blockSize,
                  int64_t unroll) {
  Layout l;
  l.headDim = headDim;
  l.threadsPerRow = headDim / kVectorWidth;
  l.rows = blockSize / l.threadsPerRow;
  l.blockSize = blockSize;
  l.unroll = unroll;
  l.tid = gpu::ThreadIdOp::create(e.b, e.loc, gpu::Dimension::x);
  l.lane = arith::RemUIOp::create(e.b, e.loc, l.tid, e.idx(l.threadsPerRow));
  l.slot = arith::DivUIOp::create(e.b, e.loc, l.tid, e.idx(l.threadsPerRow));
  l.d0 = e.muli(l.lane, e.idx(kVectorWidth));
  return l;
}

/// The query fragment of `head`, pre-scaled into the log2 domain.
Value loadQuery(KernelEmitter &e, const Layout &l, Value q, Value batch,
                Value head, double scale) {
  auto qType = cast<MemRefType>(q.getType());
  auto vec = VectorType::get({kVectorWidth}, e.b.getF32Type());
  auto ld = vector::LoadOp::create(
      e.b, e.loc, VectorType::get({kVectorWidth}, qType.getElementType()), q,
      ValueRange{batch, head, l.d0});
  ld.setAlignment(16);
  return e.mul(e.extf(ld, vec), e.splat(e.f32(scale * kLog2e), vec));
}

/// The token loop over [begin, end) for the heads of `qFrag`. Online: a
/// running max with correction factors. FixedMax: 2^(x - phi) with no
/// rescaling; `m` then only records the largest score for the row check.
/// The trip count is CTA-uniform (full-warp shuffles inside), rows past
/// `end` are clamped to a valid token and masked.
ThreadState emitTokenLoop(KernelEmitter &e, const Layout &lay,
                          ArrayRef<Value> qFrag, const KVCacheOperands &kv,
                          Value batch,
                          Value kvHead, Value begin, Value end, Mode mode,
                          Value phiLog2) {
  OpBuilder &b = e.b;
  Location loc = e.loc;
  int64_t n = qFrag.size();
  auto vec = VectorType::get({kVectorWidth}, b.getF32Type());
  SmallVector<Value> init;
  for (int64_t i = 0; i < n; ++i)
    init.push_back(e.f32(-FLT_MAX));
  for (int64_t i = 0; i < n; ++i)
    init.push_back(e.f32(0));
  for (int64_t i = 0; i < n; ++i)
    init.push_back(arith::ConstantOp::create(
        b, loc, DenseElementsAttr::get(vec, b.getF32FloatAttr(0))));
  Value rowStart = kvTableRowStart(e, kv, batch);
  KVCacheAccess keys(kv, /*isValue=*/false, batch, kvHead, rowStart),
      values(kv, /*isValue=*/true, batch, kvHead, rowStart);
  assert((mode == Mode::Online) == !phiLog2 &&
         "a fixed max needs phi, online softmax none");
  Value phi = phiLog2;
  Value step = e.idx(lay.rows * lay.unroll);
  // Token of row group `slot` for unroll index u of the tile at t0, whether
  // it is before `end`, and the token to read: rows past `end` are clamped
  // to t0 (< end), so no token at or past the length is ever read.
  auto tokensOf = [&](Value t0, SmallVector<Value> &valid,
                      SmallVector<Value> &tokens) {
    for (int64_t u = 0; u < lay.unroll; ++u) {
      Value t = e.addi(e.addi(t0, lay.slot), e.idx(u * lay.rows));
      Value ok = e.cmp(arith::CmpIPredicate::ult, t, end);
      valid.push_back(ok);
      tokens.push_back(e.select(ok, t, t0));
    }
  };
  // The K rows then the V rows of the tile at t0 (requires t0 < end).
  auto loadTile = [&](ArrayRef<Value> tokens) {
    SmallVector<Value> rows;
    for (int64_t u = 0; u < lay.unroll; ++u)
      rows.push_back(keys.loadRow(b, loc, tokens[u], lay.d0));
    for (int64_t u = 0; u < lay.unroll; ++u)
      rows.push_back(values.loadRow(b, loc, tokens[u], lay.d0));
    return rows;
  };
  auto loop = scf::ForOp::create(
      b, loc, begin, end, step, init,
      [&](OpBuilder &, Location, Value t0, ValueRange state) {
        // Every load of the iteration is issued first: `unroll` K and V rows
        // per thread in flight. (Carrying the next tile's rows through the
        // loop measured no better: docs/perf.md, log items 9 and 10.)
        SmallVector<Value> valid, tokens, kf, vf;
        tokensOf(t0, valid, tokens);
        SmallVector<Value> rows = loadTile(tokens);
        ArrayRef<Value> kRows = ArrayRef<Value>(rows).take_front(lay.unroll),
                        vRows = ArrayRef<Value>(rows).drop_front(lay.unroll);
        for (int64_t u = 0; u < lay.unroll; ++u) {
          kf.push_back(e.extf(kRows[u], vec));
          vf.push_back(e.extf(vRows[u], vec));
        }
        SmallVector<Value> nextM, nextL, nextAcc;
        for (int64_t i = 0; i < n; ++i) {
          SmallVector<Value> x;
          Value m = state[i];
          for (int64_t u = 0; u < lay.unroll; ++u) {
            Value partial = vector::ReductionOp::create(
                b, loc, vector::CombiningKind::ADD, e.mul(qFrag[i], kf[u]));
            Value s = e.groupSum(partial, lay.threadsPerRow);
            s = e.select(valid[u], s, e.f32(-FLT_MAX));
            x.push_back(s);
            m = e.maxf(m, s);
          }
          Value l = state[n + i], acc = state[2 * n + i];
          Value ref = phi;
          if (mode == Mode::Online) {
            Value corr = e.exp2(e.sub(state[i], m));
            l = e.mul(l, corr);
            acc = e.mul(acc, e.splat(corr, vec));
            ref = m;
          }
          for (int64_t u = 0; u < lay.unroll; ++u) {
            Value p = e.exp2(e.sub(x[u], ref));
            p = e.select(valid[u], p, e.f32(0));
            l = e.add(l, p);
            acc = vector::FMAOp::create(b, loc, e.splat(p, vec), vf[u], acc);
          }
          nextM.push_back(m);
          nextL.push_back(l);
          nextAcc.push_back(acc);
        }
        SmallVector<Value> yields(nextM);
        yields.append(nextL);
        yields.append(nextAcc);
        scf::YieldOp::create(b, loc, yields);
      });
  ThreadState st;
  for (int64_t i = 0; i < n; ++i) {
    st.m.push_back(loop.getResult(i));
    st.l.push_back(loop.getResult(n + i));
    st.acc.push_back(loop.getResult(2 * n + i));
  }
  return st;
}

SharedBuffers makeShared(gpu::GPUFuncOp fn, KernelEmitter &e, const Layout &lay,
                         bool withCombine, bool withBroadcast) {
  auto module = fn->getParentOfType<gpu::GPUModuleOp>();
  std::string base = fn.getName().str();
  SharedBuffers sb;
  if (withCombine) {
    sb.acc = getSharedBuffer(module, e.b, e.loc, base + "_acc",
                             {lay.rows, lay.headDim});
    sb.max = getSharedBuffer(module, e.b, e.loc, base + "_max", {lay.rows});
    sb.sum = getSharedBuffer(module, e.b, e.loc, base + "_sum", {lay.rows});
  }
  if (withBroadcast)
    sb.bcast = getSharedBuffer(module, e.b, e.loc, base + "_bcast", {4});
  return sb;
}

/// Combines one head's per-group state across the CTA. Every thread gets
/// the CTA's (max, sum); `perElement(d, acc_d, sum)` runs for the elements d
/// this thread owns (d = tid + k * blockSize). Ends without a barrier: the
/// caller separates reuses of the buffers.
std::pair<Value, Value>
combineGroups(KernelEmitter &e, const Layout &lay, const SharedBuffers &sb,
              Value m, Value l, Value acc, Mode mode,
              function_ref<void(Value, Value, Value)> perElement) {
  OpBuilder &b = e.b;
  Location loc = e.loc;
  auto st = vector::StoreOp::create(b, loc, acc, sb.acc,
                                    ValueRange{lay.slot, lay.d0});
  st.setAlignment(16);
  Value isLeader = e.cmp(arith::CmpIPredicate::eq, lay.lane, e.idx(0));
  scf::IfOp::create(b, loc, isLeader, [&](OpBuilder &, Location) {
    memref::StoreOp::create(b, loc, m, sb.max, lay.slot);
    memref::StoreOp::create(b, loc, l, sb.sum, lay.slot);
    scf::YieldOp::create(b, loc);
  });
  gpu::BarrierOp::create(b, loc);
  return combineSlots(
      e, lay.rows,
      [&](int64_t j) { return memref::LoadOp::create(b, loc, sb.max, e.idx(j)); },
      [&](int64_t j) { return memref::LoadOp::create(b, loc, sb.sum, e.idx(j)); },
      [&](int64_t j, Value d) {
        return memref::LoadOp::create(b, loc, sb.acc, ValueRange{e.idx(j), d});
      },
      mode, lay.tid, lay.blockSize, lay.headDim, perElement);
}

std::pair<Value, Value>
combineSlots(KernelEmitter &e, int64_t slots, function_ref<Value(int64_t)> max,
             function_ref<Value(int64_t)> sum,
             function_ref<Value(int64_t, Value)> acc, Mode mode, Value tid,
             int64_t threads, int64_t headDim,
             function_ref<void(Value, Value, Value)> perElement) {
  OpBuilder &b = e.b;
  Location loc = e.loc;
  Value big = e.f32(-FLT_MAX);
  SmallVector<Value> maxes;
  for (int64_t j = 0; j < slots; ++j) {
    maxes.push_back(max(j));
    big = e.maxf(big, maxes.back());
  }
  SmallVector<Value> weights;
  Value total = e.f32(0);
  for (int64_t j = 0; j < slots; ++j) {
    Value w = mode == Mode::Online ? e.exp2(e.sub(maxes[j], big)) : Value();
    weights.push_back(w);
    Value lj = sum(j);
    total = e.add(total, w ? e.mul(lj, w) : lj);
  }
  for (int64_t base = 0; base < headDim; base += threads) {
    Value d = e.addi(tid, e.idx(base));
    Value inRange = e.cmp(arith::CmpIPredicate::ult, d, e.idx(headDim));
    scf::IfOp::create(b, loc, inRange, [&](OpBuilder &, Location) {
      Value a = e.f32(0);
      for (int64_t j = 0; j < slots; ++j) {
        Value x = acc(j, d);
        a = e.add(a, weights[j] ? e.mul(x, weights[j]) : x);
      }
      perElement(d, a, total);
      scf::YieldOp::create(b, loc);
    });
  }
  return {big, total};
}

Engine chooseEngine(const FDToGPUOptions &options,
                    const AttentionShape &shape) {
  int64_t group = shape.groupSize();
  // D a multiple of 64: the 128 threads then copy whole tiles of Q (16
  // rows) and K/V (64 rows) in 16-byte pieces with no remainder.
  bool fits = shape.headDim % 64 == 0 && shape.headDim <= kMmaMaxHeadDim &&
              group <= kMmaMaxGroup;
  return options.mmaMinGroup > 0 && group >= options.mmaMinGroup && fits
             ? Engine::TensorCores
             : Engine::CudaCores;
}

int64_t threadsFor(Engine engine, const FDToGPUOptions &options,
                   const AttentionShape &shape) {
  if (engine == Engine::CudaCores)
    return options.blockSize;
  // 8 warps copy a query tile (16 rows of D / 8 chunks) in whole steps of
  // 256 threads only from D = 128.
  return 32 * (shape.headDim >= 128 ? options.mmaWarps : 4);
}

/// w.begin and w.end from w.split, w.len and `chunk` (null: the
/// split_cluster kernel's chunk from the length and `clusterSplits`).
static void computeSplitBounds(KernelEmitter &e, SplitWork &w, Value chunk,
                               int64_t clusterSplits) {
  if (!chunk) {
    assert(clusterSplits > 1 && "a chunk, or the CTAs that split each length");
    // ceil(len / C) rounded up to whole tiles: only the last non-empty
    // rank has a partial tile. From this sequence's own length, so a
    // ragged batch splits every sequence evenly and a CUDA graph captured
    // at one length replays at any other.
    Value perRank = e.divui(e.addi(w.len, clusterSplits - 1), clusterSplits);
    constexpr int64_t align = ::fdb::variant::kSplitClusterChunkAlign;
    static_assert(align % kMmaTile == 0, "chunks of whole ring tiles");
    chunk = e.muli(e.divui(e.addi(perRank, align - 1), align), align);
  }
  w.begin = e.mini(e.muli(w.split, chunk), w.len);
  w.end = e.mini(e.addi(w.begin, chunk), w.len);
}

SplitWork emitSplitWork(gpu::GPUFuncOp fn, KernelEmitter &e, const Layout &lay,
                        Engine engine, int64_t mmaStages,
                        const AttentionShape &shape,
                        double scale, Value q, const KVCacheOperands &kv,
                        Value lens,
                        Value chunk, Mode mode, Value phiLog2,
                        const SharedBuffers *combineBuffers,
                        int64_t clusterSplits, bool speculativeFirstTile) {
  OpBuilder &b = e.b;
  SplitWork w;
  w.split = gpu::BlockIdOp::create(b, e.loc, gpu::Dimension::x);
  w.kvHead = gpu::BlockIdOp::create(b, e.loc, gpu::Dimension::y);
  w.batch = gpu::BlockIdOp::create(b, e.loc, gpu::Dimension::z);
  // The length's load first: every K/V copy waits for it, and it was the
  // largest stall of a one-tile step (ncu, docs/perf.md "Session 20": 15% of
  // the warps' samples), issued only after the prefetch's address
  // arithmetic and its kernel-parameter cache misses. Only the load: its
  // clamp (bounds, below) is its first use, and that instruction waits.
  Value rawLen = memref::LoadOp::create(b, e.loc, lens, w.batch);
  // A split's first token is split x chunk whatever the length (an empty
  // split's is wasted, a tile): with speculativeFirstTile the tensor-core
  // engine copies that tile of a contiguous cache before the length arrives
  // (MmaSplitWork.cpp); otherwise its DRAM read starts now, into L2.
  if (engine == Engine::TensorCores && chunk) {
    Value first = e.muli(w.split, chunk);
    if (speculativeFirstTile && !kv.blockTable)
      w.firstToken = first;
    else
      emitMmaPrefetchFirstTile(e, lay.tid, lay.blockSize, shape, kv, w.batch,
                               w.kvHead, first);
  }
  int64_t group = shape.groupSize();
  for (int64_t i = 0; i < group; ++i)
    w.heads.push_back(e.addi(e.muli(w.kvHead, e.idx(group)), e.idx(i)));
  // The split's token range. The tensor-core engine emits it after its
  // speculative first copies, so that no instruction before them waits for
  // the length.
  auto bounds = [&] {
    w.len = e.clampLength(rawLen);
    computeSplitBounds(e, w, chunk, clusterSplits);
  };
  if (engine == Engine::TensorCores) {
    emitMmaTokenLoop(fn, e, lay, mmaStages, shape, scale, q, kv, mode,
                     phiLog2, w, bounds);
    return w;
  }
  bounds();
  SmallVector<Value> qFrag;
  for (int64_t i = 0; i < group; ++i)
    qFrag.push_back(loadQuery(e, lay, q, w.batch, w.heads[i], scale));
  ThreadState st = emitTokenLoop(e, lay, qFrag, kv, w.batch, w.kvHead,
                                 w.begin, w.end, mode, phiLog2);
  SharedBuffers sb = combineBuffers
                         ? *combineBuffers
                         : makeShared(fn, e, lay, /*withCombine=*/true,
                                      /*withBroadcast=*/false);
  w.combine = [&e, lay, sb, st, mode](
                  int64_t i, function_ref<void(Value, Value, Value)> perElement) {
    return combineGroups(e, lay, sb, st.m[i], st.l[i], st.acc[i], mode,
                         perElement);
  };
  return w;
}

} // namespace mlir::fd::gpu_kernels
