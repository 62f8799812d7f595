//===- TileFlatGemm.cpp - fd.flat_gemm to tiled GPU launches --------------===//
//
// A decode-time GEMM reads every weight byte once and does almost no math
// per byte, so each variant is built to keep enough loads in flight:
//   - the tensor-core variants compute y^T = W x^T with mma.sync m16n8k16,
//     putting the batch M on the n = 8 side: M is padded to 8, not 16 or 64
//     (FlashDecoding++'s flat GEMM). W tiles stream through a `stages`-deep
//     cp.async ring in shared memory so the copies of later K tiles overlap
//     the MMAs of the current one;
//   - the register-direct tensor-core variants (M <= 16) use the same MMAs
//     without the ring: each warp loads its fragments straight from global
//     memory, 16 bytes per lane and row, with k renamed so that a 16-byte
//     load is a fragment (DirectFragments.h). No barrier and no shared
//     memory until the final cross-warp reduction, so a CTA starts
//     streaming at once and many small CTAs share an SM;
//   - the GEMV variant (M = 1) skips shared memory and padding entirely:
//     one warp per output, 16-byte loads, a shuffle reduction.
// The pipeline is written out explicitly rather than with scf's pipeliner
// (MLIR22-NOTES 10): the wait counts are then exactly what the lit tests
// check.
//
//===----------------------------------------------------------------------===//
#include "fd/Dialect/FD/Transforms/TileFlatGemm.h"
#include "fd/Dialect/FD/Transforms/DirectFragments.h"
#include "fd/Dialect/FD/IR/FDOps.h"
#include "fd/Dialect/FD/Transforms/Passes.h"

#include "mlir/IR/Builders.h"
#include "llvm/ADT/STLExtras.h"

namespace mlir::fd {
#define GEN_PASS_DEF_FDTILEFLATGEMM
#include "fd/Dialect/FD/Transforms/Passes.h.inc"
} // namespace mlir::fd

using namespace mlir;
using namespace mlir::fd;

namespace {
/// Elements of f16/bf16 per 16-byte copy.
constexpr int64_t kChunk = 8;
/// Shared-memory rows are padded by one chunk: consecutive rows then start
/// 16 bytes apart modulo 128, so the 8 row addresses of an ldmatrix phase
/// hit 8 different 16-byte bank groups.
constexpr int64_t kRowPad = 8;

struct Emitter {
  OpBuilder &b;
  Location loc;

  Value idx(int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); }
  Value addi(Value x, Value y) { return arith::AddIOp::create(b, loc, x, y); }
  Value addi(Value x, int64_t y) { return y == 0 ? x : addi(x, idx(y)); }
  Value muli(Value x, int64_t y) {
    return arith::MulIOp::create(b, loc, x, idx(y));
  }
  Value divui(Value x, int64_t y) {
    return arith::DivUIOp::create(b, loc, x, idx(y));
  }
  Value remui(Value x, int64_t y) {
    return arith::RemUIOp::create(b, loc, x, idx(y));
  }
  Value ult(Value x, Value y) {
    return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, x, y);
  }
  Value select(Value c, Value x, Value y) {
    return arith::SelectOp::create(b, loc, c, x, y);
  }
  Value f32(double v) {
    return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(v));
  }
  Value zeros(VectorType t) {
    return arith::ConstantOp::create(
        b, loc,
        DenseElementsAttr::get(t, b.getFloatAttr(t.getElementType(), 0)));
  }
};

struct GemmShape {
  int64_t n = 0, k = 0;
  Type elem, out;
  bool hasBias = false;
};

struct MmaConfig {
  int64_t tileN, tileK, padM, stages, splitK;
  int64_t threads() const { return 32 * splitK; }
  int64_t rowStride() const { return tileK + kRowPad; }
  int64_t pipelineBytes() const {
    return stages * (tileN + padM) * rowStride() * 2;
  }
  /// The cross-warp reduction buffer [splitK][tileN][padM + 1] f32 (the +1
  /// staggers the columns the final pass reads).
  int64_t reductionBytes() const { return splitK * tileN * (padM + 1) * 4; }
  int64_t smemBytes() const {
    return std::max(pipelineBytes(), reductionBytes());
  }
};

/// Warps a direct launch aims for with split-k = 0: about 8-12 per SM of
/// an H100/H200, each with a whole iteration of 16-byte loads in flight.
/// Measured (docs/perf.md): 4096 warps (split-k 8-16) were 10-30% slower
/// than 1024-1536 (split-k 2 for N = 12288, 4 for N = 4096).
constexpr int64_t kDirectWarps = 1024;

/// The most K one warp of a direct launch walks with split-k = 0 (more
/// warps split a longer K). Measured on an H100 (docs/perf.md, "direct
/// split-k for long K"): FFN-down (K = 11008, N = 4096) ran 5% faster with
/// split-k 8 (1376 K per warp) than with the warp rule's 4 (2752), while
/// QKV and up (K = 4096) lost 20% at split-k 8 against their 2. Not for
/// direct_m64: its 142 registers x 256 threads allow one CTA per SM, and
/// FFN-down's 256 CTAs then take two waves on 132 SMs (83 -> 96 us at M = 64).
constexpr int64_t kDirectMaxWarpK = 2048;
constexpr int64_t kDirectMaxPadForKBound = 32;

/// The register-direct variant: P = padM batch rows (8 or 16) per CTA,
/// splitK warps over K, `unroll` 32-wide K steps per warp and iteration.
struct DirectConfig {
  int64_t padM, splitK, unroll;
  bool prefetch;
  int64_t l2Prefetch;
  int64_t threads() const { return 32 * splitK; }
  /// The cross-warp reduction buffer [splitK][16][padM + 1] f32.
  int64_t smemBytes() const { return splitK * 16 * (padM + 1) * 4; }
};

/// The kernel arguments a launch binds, in ABI order.
struct GemmOperands {
  Value x, w, bias, y;
};

/// Emits the leading memref.assume_alignment ops (the outlining contract of
/// TileFlatGemm.h) and returns the aligned values.
GemmOperands emitAnchors(Emitter &e, const GemmOperands &in) {
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

/// y[m, n] = acc (+ bias[n]), converted to y's element type.
void storeOutput(Emitter &e, const GemmOperands &ops, Value acc, Value m,
                 Value n) {
  if (ops.bias) {
    Value bv = memref::LoadOp::create(e.b, e.loc, ops.bias, n);
    acc = arith::AddFOp::create(
        e.b, e.loc, acc,
        arith::ExtFOp::create(e.b, e.loc, e.b.getF32Type(), bv));
  }
  Type outElem = cast<MemRefType>(ops.y.getType()).getElementType();
  if (outElem != acc.getType())
    acc = arith::TruncFOp::create(e.b, e.loc, outElem, acc);
  memref::StoreOp::create(e.b, e.loc, acc, ops.y, ValueRange{m, n});
}

/// The tensor-core kernels' epilogue, after the barrier that publishes
/// `red` = [splitK][tileRows][padM + 1] f32 (each warp's partial tile): sums
/// the warps' partials of every (n, m) and stores y for rows m < M.
/// Consecutive threads take consecutive n so the y stores coalesce.
void storeReducedTile(Emitter &e, const GemmOperands &ops, Value red, Value tid,
                      int64_t threads, int64_t tileRows, int64_t padM,
                      int64_t splitK, Value n0, Value m0, Value rows) {
  OpBuilder &b = e.b;
  Location loc = e.loc;
  scf::ForOp::create(
      b, loc, tid, e.idx(tileRows * padM), e.idx(threads), ValueRange{},
      [&](OpBuilder &, Location, Value el, ValueRange) {
        Value ml = e.divui(el, tileRows), nl = e.remui(el, tileRows);
        Value sum =
            memref::LoadOp::create(b, loc, red, ValueRange{e.idx(0), nl, ml});
        for (int64_t w = 1; w < splitK; ++w)
          sum = arith::AddFOp::create(
              b, loc, sum,
              memref::LoadOp::create(b, loc, red,
                                     ValueRange{e.idx(w), nl, ml}));
        Value m = e.addi(m0, ml);
        scf::IfOp::create(b, loc, e.ult(m, rows), [&](OpBuilder &, Location) {
          storeOutput(e, ops, sum, m, e.addi(n0, nl));
          scf::YieldOp::create(b, loc);
        });
        scf::YieldOp::create(b, loc);
      });
}

/// One m16n8k16 MMA, D = A B + C. f16 goes through nvgpu.mma.sync; the
/// upstream nvgpu-to-nvvm lowering cannot type bf16 operands (LLVM 22:
/// "failed to deduce operand PTX types"), so bf16 builds nvvm.mma.sync with
/// the fragments packed into i32 registers, as PTX passes them.
Value emitMma(Emitter &e, Value a, Value bFrag, Value c) {
  auto aType = cast<VectorType>(a.getType());
  if (!aType.getElementType().isBF16())
    return nvgpu::MmaSyncOp::create(e.b, e.loc, a, bFrag, c,
                                    ArrayRef<int64_t>{16, 8, 16});
  MLIRContext *ctx = e.b.getContext();
  Type i32 = e.b.getI32Type(), f32 = e.b.getF32Type();
  auto packed = [&](Value frag, int64_t rows) {
    SmallVector<Value> regs;
    for (int64_t r = 0; r < rows; ++r) {
      Value row = vector::ExtractOp::create(e.b, e.loc, frag, r);
      Value cast =
          vector::BitCastOp::create(e.b, e.loc, VectorType::get({1}, i32), row);
      regs.push_back(vector::ExtractOp::create(e.b, e.loc, cast, 0));
    }
    return regs;
  };
  SmallVector<Value> cRegs;
  for (int64_t i = 0; i < 2; ++i)
    for (int64_t j = 0; j < 2; ++j)
      cRegs.push_back(
          vector::ExtractOp::create(e.b, e.loc, c, ArrayRef<int64_t>{i, j}));
  auto resType = LLVM::LLVMStructType::getLiteral(ctx, {f32, f32, f32, f32});
  Value d = NVVM::MmaOp::create(
      e.b, e.loc, resType, packed(a, 4), packed(bFrag, 2), cRegs, {16, 8, 16},
      std::nullopt, std::nullopt,
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

/// The tensor-core kernel body (see the file comment). Runs in a gpu.launch
/// with grid (N / tileN, 1, ceil(M / padM)) and 32 * splitK threads.
void buildMmaBody(gpu::LaunchOp launch, OpBuilder &b, const GemmShape &shape,
                  const MmaConfig &cfg, const GemmOperands &args) {
  Location loc = launch.getLoc();
  Block &body = launch.getBody().front();
  b.setInsertionPointToStart(&body);
  Emitter e{b, loc};
  GemmOperands ops = emitAnchors(e, args);
  MLIRContext *ctx = b.getContext();
  Type elem = shape.elem, f32 = b.getF32Type();
  auto workgroup =
      gpu::AddressSpaceAttr::get(ctx, gpu::AddressSpace::Workgroup);
  const int64_t threads = cfg.threads(), ld = cfg.rowStride();
  const int64_t numKTiles = shape.k / cfg.tileK;
  const int64_t stages = cfg.stages;
  const int64_t mTiles = cfg.tileN / 16, nTiles = cfg.padM / 8;
  const int64_t warpK = cfg.tileK / cfg.splitK;

  Value tid = launch.getThreadIds().x;
  Value n0 = e.muli(launch.getBlockIds().x, cfg.tileN);
  Value m0 = e.muli(launch.getBlockIds().z, cfg.padM);
  Value warp = e.divui(tid, 32), lane = e.remui(tid, 32);
  Value rows = memref::DimOp::create(b, loc, ops.x, 0);

  // Shared memory: the W ring, then the x ring; dynamic shared memory
  // because workgroup attributions are only 2-byte aligned (MLIR22-NOTES 5)
  // and cp.async needs 16.
  auto smemType = MemRefType::get({ShapedType::kDynamic}, b.getI8Type(),
                                  MemRefLayoutAttrInterface(), workgroup);
  Value smem = gpu::DynamicSharedMemoryOp::create(b, loc, smemType);
  auto view = [&](ArrayRef<int64_t> dims, Type t, int64_t byteOffset) {
    auto type =
        MemRefType::get(dims, t, MemRefLayoutAttrInterface(), workgroup);
    return memref::ViewOp::create(b, loc, type, smem, e.idx(byteOffset),
                                  ValueRange{})
        .getResult();
  };
  Value wBuf = view({stages, cfg.tileN, ld}, elem, 0);
  Value xBuf = view({stages, cfg.padM, ld}, elem, stages * cfg.tileN * ld * 2);

  auto tokenType = nvgpu::DeviceAsyncTokenType::get(ctx);
  const int64_t chunksPerRow = cfg.tileK / kChunk;
  // Copies the K tile `kt` into ring slot `slot`; returns its group token.
  auto issue = [&](Value slot, Value kt) -> Value {
    SmallVector<Value> tokens;
    Value k0 = e.muli(kt, cfg.tileK);
    for (int64_t i = 0; i < cfg.tileN * chunksPerRow / threads; ++i) {
      Value c = e.addi(tid, i * threads);
      Value r = e.divui(c, chunksPerRow);
      Value col = e.muli(e.remui(c, chunksPerRow), kChunk);
      tokens.push_back(nvgpu::DeviceAsyncCopyOp::create(
          b, loc, tokenType, wBuf, ValueRange{slot, r, col}, ops.w,
          ValueRange{e.addi(n0, r), e.addi(k0, col)}, b.getIndexAttr(kChunk),
          Value(), b.getUnitAttr()));
    }
    // Rows of x at or past M: copy 0 source bytes (zero fill) from row 0,
    // which exists since the launch is skipped for M = 0.
    for (int64_t i = 0; i < cfg.padM * chunksPerRow / threads; ++i) {
      Value c = e.addi(tid, i * threads);
      Value r = e.divui(c, chunksPerRow);
      Value col = e.muli(e.remui(c, chunksPerRow), kChunk);
      Value row = e.addi(m0, r);
      Value valid = e.ult(row, rows);
      tokens.push_back(nvgpu::DeviceAsyncCopyOp::create(
          b, loc, tokenType, xBuf, ValueRange{slot, r, col}, ops.x,
          ValueRange{e.select(valid, row, e.idx(0)), e.addi(k0, col)},
          b.getIndexAttr(kChunk), e.select(valid, e.idx(kChunk), e.idx(0)),
          b.getUnitAttr()));
    }
    return nvgpu::DeviceAsyncCreateGroupOp::create(b, loc, tokenType, tokens);
  };

  // ldmatrix addresses: x4 on W gives the A fragment (rows 0-15 at k and at
  // k + 8); x2 on x gives B (x is [M][K], i.e. x^T in the "col" layout).
  Value aRow = e.remui(lane, 16), aCol = e.muli(e.divui(lane, 16), kChunk);
  Value bRow = e.remui(lane, 8),
        bCol = e.muli(e.remui(e.divui(lane, 8), 2), kChunk);
  Value warpK0 = e.muli(warp, warpK);
  auto aFragType = VectorType::get({4, 2}, elem);
  auto bFragType = VectorType::get({2, 2}, elem);
  auto accType = VectorType::get({2, 2}, f32);
  auto compute = [&](Value slot, ValueRange in) {
    SmallVector<Value> acc(in.begin(), in.end());
    for (int64_t ks = 0; ks < warpK / 16; ++ks) {
      Value k = e.addi(warpK0, ks * 16);
      SmallVector<Value> aFrag, bFrag;
      for (int64_t mt = 0; mt < mTiles; ++mt)
        aFrag.push_back(nvgpu::LdMatrixOp::create(
            b, loc, aFragType, wBuf,
            ValueRange{slot, e.addi(aRow, mt * 16), e.addi(k, aCol)}, false,
            4));
      for (int64_t nt = 0; nt < nTiles; ++nt)
        bFrag.push_back(nvgpu::LdMatrixOp::create(
            b, loc, bFragType, xBuf,
            ValueRange{slot, e.addi(bRow, nt * 8), e.addi(k, bCol)}, false, 2));
      for (int64_t mt = 0; mt < mTiles; ++mt)
        for (int64_t nt = 0; nt < nTiles; ++nt)
          acc[mt * nTiles + nt] =
              emitMma(e, aFrag[mt], bFrag[nt], acc[mt * nTiles + nt]);
    }
    return acc;
  };
  auto wait = [&](Value token, int64_t pending) {
    nvgpu::DeviceAsyncWaitOp::create(b, loc, token,
                                     b.getI32IntegerAttr(pending));
    // Every thread's copies of the tile have landed, and every warp is done
    // with the slot the next issue overwrites.
    gpu::BarrierOp::create(b, loc);
  };

  // Prologue: tiles 0 .. stages-2 in flight.
  Value token;
  for (int64_t s = 0; s + 1 < stages; ++s)
    token = issue(e.idx(s), e.idx(s));

  // Steady state: wait for tile kt, refill the slot tile kt-1 used with tile
  // kt + stages - 1, then compute tile kt.
  SmallVector<Value> init(mTiles * nTiles, e.zeros(accType));
  init.push_back(token);
  auto loop = scf::ForOp::create(
      b, loc, e.idx(0), e.idx(numKTiles - (stages - 1)), e.idx(1), init,
      [&](OpBuilder &, Location, Value kt, ValueRange state) {
        wait(state.back(), stages - 2);
        Value next = e.addi(kt, stages - 1);
        Value newToken = issue(e.remui(next, stages), next);
        SmallVector<Value> acc =
            compute(e.remui(kt, stages), state.drop_back());
        acc.push_back(newToken);
        scf::YieldOp::create(b, loc, acc);
      });

  // Drain: the last stages-1 tiles are in flight; fewer groups may stay
  // pending before each one.
  SmallVector<Value> acc(loop.getResults().drop_back());
  token = loop.getResults().back();
  for (int64_t j = 0; j + 1 < stages; ++j) {
    int64_t kt = numKTiles - (stages - 1) + j;
    wait(token, stages - 2 - j);
    acc = compute(e.idx(kt % stages), acc);
  }

  // Cross-warp reduction through shared memory (reusing the ring: the last
  // wait(0) + barrier below mean no copy is in flight and no warp still reads).
  gpu::BarrierOp::create(b, loc);
  Value red = view({cfg.splitK, cfg.tileN, cfg.padM + 1}, f32, 0);
  Value g = e.divui(lane, 4), t2 = e.muli(e.remui(lane, 4), 2);
  for (int64_t mt = 0; mt < mTiles; ++mt)
    for (int64_t nt = 0; nt < nTiles; ++nt)
      for (int64_t i = 0; i < 2; ++i)
        for (int64_t j = 0; j < 2; ++j) {
          Value v = vector::ExtractOp::create(b, loc, acc[mt * nTiles + nt],
                                              ArrayRef<int64_t>{i, j});
          memref::StoreOp::create(b, loc, v, red,
                                  ValueRange{warp, e.addi(g, mt * 16 + 8 * i),
                                             e.addi(t2, nt * 8 + j)});
        }
  gpu::BarrierOp::create(b, loc);
  storeReducedTile(e, ops, red, tid, threads, cfg.tileN, cfg.padM, cfg.splitK,
                   n0, m0, rows);
  gpu::TerminatorOp::create(b, loc);
}

/// The GEMV body: grid (N / warps, M), `warps` outputs y[m, n] per CTA, each
/// reduced by `splitK` warps that walk interleaved K slices (`unroll` 16-byte
/// W loads per lane in flight each); with splitK > 1 the warps' sums meet in
/// shared memory. Splitting K gives a shape with few, long rows (FFN down:
/// 4096 rows of 11008) more loads in flight than one warp per row can.
void buildGemvBody(gpu::LaunchOp launch, OpBuilder &b, const GemmShape &shape,
                   int64_t warps, int64_t unroll, int64_t splitK,
                   const GemmOperands &args) {
  Location loc = launch.getLoc();
  Block &body = launch.getBody().front();
  b.setInsertionPointToStart(&body);
  Emitter e{b, loc};
  GemmOperands ops = emitAnchors(e, args);
  Type f32 = b.getF32Type();
  auto loadType = VectorType::get({kChunk}, shape.elem);
  auto accType = VectorType::get({kChunk}, f32);

  Value tid = launch.getThreadIds().x;
  Value warp = e.divui(tid, 32), lane = e.remui(tid, 32);
  Value rowWarp = splitK > 1 ? e.divui(warp, splitK) : warp;
  Value kPart = splitK > 1 ? e.remui(warp, splitK) : Value();
  Value n = e.addi(e.muli(launch.getBlockIds().x, warps), rowWarp);
  Value m = launch.getBlockIds().y;

  // Chunk c of a row: iteration it, slice kPart, step u covers chunks
  // ((it * splitK + kPart) * unroll + u) * 32 + lane, so each warp's loads
  // of an iteration are contiguous.
  const int64_t chunks = shape.k / kChunk, perIter = 32 * unroll * splitK;
  const bool masked = chunks % perIter != 0;
  const int64_t iters = (chunks + perIter - 1) / perIter;
  auto loop = scf::ForOp::create(
      b, loc, e.idx(0), e.idx(iters), e.idx(1), ValueRange{e.zeros(accType)},
      [&](OpBuilder &, Location, Value it, ValueRange state) {
        Value slice = e.muli(it, splitK);
        if (kPart)
          slice = e.addi(slice, kPart);
        Value base = e.addi(e.muli(slice, 32 * unroll), lane);
        // All loads of the iteration first: `unroll` 16-byte W loads per
        // lane in flight. Chunks past K re-read chunk 0 and are zeroed.
        SmallVector<Value> valid, wv, xv;
        for (int64_t u = 0; u < unroll; ++u) {
          Value c = e.addi(base, u * 32);
          if (masked) {
            valid.push_back(e.ult(c, e.idx(chunks)));
            c = e.select(valid.back(), c, e.idx(0));
          }
          Value col = e.muli(c, kChunk);
          auto wl = vector::LoadOp::create(b, loc, loadType, ops.w,
                                           ValueRange{n, col});
          wl.setAlignment(16);
          auto xl = vector::LoadOp::create(b, loc, loadType, ops.x,
                                           ValueRange{m, col});
          xl.setAlignment(16);
          wv.push_back(wl);
          xv.push_back(xl);
        }
        Value acc = state[0];
        for (int64_t u = 0; u < unroll; ++u) {
          Value wf = arith::ExtFOp::create(b, loc, accType, wv[u]);
          Value xf = arith::ExtFOp::create(b, loc, accType, xv[u]);
          if (masked)
            wf = e.select(valid[u], wf, e.zeros(accType));
          acc = vector::FMAOp::create(b, loc, wf, xf, acc);
        }
        scf::YieldOp::create(b, loc, acc);
      });
  Value sum = vector::ReductionOp::create(b, loc, vector::CombiningKind::ADD,
                                          loop.getResult(0));
  for (int64_t off = 16; off >= 1; off /= 2) {
    Value other =
        gpu::ShuffleOp::create(b, loc, sum, off, 32, gpu::ShuffleMode::XOR)
            .getShuffleResult();
    sum = arith::AddFOp::create(b, loc, sum, other);
  }
  Value leader =
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, lane, e.idx(0));
  if (splitK == 1) {
    scf::IfOp::create(b, loc, leader, [&](OpBuilder &, Location) {
      storeOutput(e, ops, sum, m, n);
      scf::YieldOp::create(b, loc);
    });
    gpu::TerminatorOp::create(b, loc);
    return;
  }
  // The splitK partial sums of each output, [warps][splitK] f32, in the
  // launch's dynamic shared memory.
  auto workgroup =
      gpu::AddressSpaceAttr::get(b.getContext(), gpu::AddressSpace::Workgroup);
  auto smemType = MemRefType::get({ShapedType::kDynamic}, b.getI8Type(),
                                  MemRefLayoutAttrInterface(), workgroup);
  Value smem = gpu::DynamicSharedMemoryOp::create(b, loc, smemType);
  Value partial =
      memref::ViewOp::create(b, loc,
                             MemRefType::get({warps, splitK}, f32,
                                             MemRefLayoutAttrInterface(),
                                             workgroup),
                             smem, e.idx(0), ValueRange{})
          .getResult();
  scf::IfOp::create(b, loc, leader, [&](OpBuilder &, Location) {
    memref::StoreOp::create(b, loc, sum, partial, ValueRange{rowWarp, kPart});
    scf::YieldOp::create(b, loc);
  });
  gpu::BarrierOp::create(b, loc);
  scf::IfOp::create(b, loc, e.ult(tid, e.idx(warps)), [&](OpBuilder &,
                                                           Location) {
    Value total =
        memref::LoadOp::create(b, loc, partial, ValueRange{tid, e.idx(0)});
    for (int64_t s = 1; s < splitK; ++s)
      total = arith::AddFOp::create(
          b, loc, total,
          memref::LoadOp::create(b, loc, partial, ValueRange{tid, e.idx(s)}));
    Value out = e.addi(e.muli(launch.getBlockIds().x, warps), tid);
    storeOutput(e, ops, total, m, out);
    scf::YieldOp::create(b, loc);
  });
  gpu::TerminatorOp::create(b, loc);
}

/// The register-direct tensor-core body (direct_mP): grid (N / 16, 1,
/// ceil(M / P)), 32 * splitK threads. Each warp owns the CTA's 16 rows of W
/// and every splitK-th group of `unroll` 32-wide K steps; it loads its A and
/// B fragments straight from global memory (DirectFragments.h gives the k
/// renaming that makes one 16-byte load per row a fragment), so there is no
/// shared-memory ring to fill and no barrier in the K loop: the loads of an
/// iteration are all issued before its first MMA. The warps' C fragments
/// are reduced once through shared memory at the end.
void buildDirectBody(gpu::LaunchOp launch, OpBuilder &b, const GemmShape &shape,
                     const DirectConfig &cfg, const GemmOperands &args) {
  namespace dg = direct_gemm;
  Location loc = launch.getLoc();
  Block &body = launch.getBody().front();
  b.setInsertionPointToStart(&body);
  Emitter e{b, loc};
  GemmOperands ops = emitAnchors(e, args);
  MLIRContext *ctx = b.getContext();
  Type elem = shape.elem, f32 = b.getF32Type();
  const int64_t nTiles = cfg.padM / 8, unroll = cfg.unroll;
  const int64_t steps = (shape.k + dg::kStepK - 1) / dg::kStepK;
  const int64_t perIter = cfg.splitK * unroll;
  const int64_t iters = (steps + perIter - 1) / perIter;
  // Pieces past K exist when the warps' steps overrun K (K not a multiple
  // of 32 * split-k * unroll); K % 8 == 0 keeps every piece whole. The
  // loads of iteration it + 1 (prefetch) stay in bounds without masking
  // since the peeled last iteration loads nothing.
  const bool masked = shape.k % (dg::kStepK * perIter) != 0;

  Value tid = launch.getThreadIds().x;
  Value warp = e.divui(tid, 32), lane = e.remui(tid, 32);
  Value g = e.divui(lane, 4), t = e.remui(lane, 4);
  Value n0 = e.muli(launch.getBlockIds().x, 16);
  Value m0 = e.muli(launch.getBlockIds().z, cfg.padM);
  Value rows = memref::DimOp::create(b, loc, ops.x, 0);
  Value wRow0 = e.addi(n0, g), wRow1 = e.addi(wRow0, 8);
  // Batch rows g (and g + 8) of the tile. A row at or past M reads row m0
  // instead (it exists: grid.z only covers rows < M), the same address as
  // lane g = 0, so the warp's request fetches no extra sector; the value
  // is zeroed before the MMA.
  SmallVector<Value> xRow, xValid;
  for (int64_t nt = 0; nt < nTiles; ++nt) {
    Value r = e.addi(m0, e.addi(g, nt * 8));
    xValid.push_back(e.ult(r, rows));
    xRow.push_back(e.select(xValid.back(), r, m0));
  }
  Value lanePiece = e.muli(t, dg::kPiece);
  // Step of (iteration, u): (it * splitK + warp) * unroll + u, so a warp's
  // `unroll` steps of an iteration are contiguous in K (whole 128-byte lines
  // of each W row).
  Value warpK0 = e.addi(e.muli(warp, unroll * dg::kStepK), lanePiece);

  auto pieceType = VectorType::get({dg::kPiece}, elem);
  auto aFragType = VectorType::get({4, 2}, elem);
  auto bFragType = VectorType::get({2, 2}, elem);
  auto accType = VectorType::get({2, 2}, f32);
  auto load = [&](Value mem, Value row, Value col) -> Value {
    auto l = vector::LoadOp::create(b, loc, pieceType, mem, ValueRange{row, col});
    l.setAlignment(16);
    return l;
  };
  // A fragment [rows][2] from (piece, offset) pairs, one register each:
  // vector.insert of 2-element shuffles (a 2-D vector.shape_cast has no
  // LLVM lowering in the NVVM pipeline).
  auto fragment = [&](VectorType type,
                      ArrayRef<std::pair<Value, int64_t>> pairs) -> Value {
    Value frag = e.zeros(type);
    for (auto [r, pair] : llvm::enumerate(pairs)) {
      Value v = vector::ShuffleOp::create(
          b, loc, pair.first, pair.first,
          ArrayRef<int64_t>{pair.second, pair.second + 1});
      frag = vector::InsertOp::create(b, loc, v, frag,
                                      ArrayRef<int64_t>{int64_t(r)});
    }
    return frag;
  };
  // A: [(row g, low), (row g + 8, low), (row g, high), (row g + 8, high)];
  // B: [low, high] (the PTX m16n8k16 fragment order).
  auto aFragment = [&](Value w0, Value w1, int64_t j) {
    return fragment(aFragType, {{w0, dg::pieceOffset(j, false, 0)},
                                {w1, dg::pieceOffset(j, false, 0)},
                                {w0, dg::pieceOffset(j, true, 0)},
                                {w1, dg::pieceOffset(j, true, 0)}});
  };
  auto bFragment = [&](Value x, int64_t j) {
    return fragment(bFragType, {{x, dg::pieceOffset(j, false, 0)},
                                {x, dg::pieceOffset(j, true, 0)}});
  };
  Value zeroPiece = e.zeros(pieceType);

  // The 16-byte pieces of one iteration, in load order: per step u, W rows
  // g and g + 8, then x for each n-tile.
  const int64_t perStep = 2 + nTiles;
  auto colOf = [&](Value it, int64_t u) {
    return e.addi(e.addi(e.muli(it, perIter * dg::kStepK), warpK0),
                  u * dg::kStepK);
  };
  auto inK = [&](Value col) { return e.ult(col, e.idx(shape.k)); };
  // L2 prefetch of the W lines iteration `it` will read: 16 rows x the
  // warp's unroll * 64 bytes of each, one 128-byte line per lane and
  // prefetch. It costs no registers, so DRAM stays busy however ptxas
  // schedules the register loads against the MMAs (it may sink loads that
  // nothing needs yet next to their uses). Lines past K are clamped to the
  // row's first line (already cached), never out of bounds.
  Value wBase;
  if (cfg.l2Prefetch > 0)
    wBase = arith::IndexCastOp::create(
        b, loc, b.getI64Type(),
        memref::ExtractAlignedPointerAsIndexOp::create(b, loc, ops.w));
  const int64_t elemBytes = 2, lineElems = 128 / elemBytes;
  const int64_t linesPerRow =
      std::max<int64_t>(1, unroll * dg::kStepK / lineElems);
  auto prefetchIteration = [&](Value it) {
    Value warpCol = e.addi(e.muli(it, perIter * dg::kStepK),
                           e.muli(warp, unroll * dg::kStepK));
    auto ptrType = LLVM::LLVMPointerType::get(ctx);
    for (int64_t i = 0; i * 32 < 16 * linesPerRow; ++i) {
      Value line = e.addi(lane, i * 32);
      Value row = e.addi(n0, e.remui(line, 16));
      Value col = e.addi(warpCol, e.muli(e.divui(line, 16), lineElems));
      col = e.select(inK(col), col, e.idx(0));
      Value offset = e.muli(e.addi(e.muli(row, shape.k), col), elemBytes);
      Value addr = arith::AddIOp::create(
          b, loc, wBase,
          arith::IndexCastOp::create(b, loc, b.getI64Type(), offset));
      Value ptr = LLVM::IntToPtrOp::create(b, loc, ptrType, addr);
      NVVM::PrefetchOp::create(
          b, loc,
          NVVM::PrefetchCacheLevelAttr::get(ctx, NVVM::PrefetchCacheLevel::L2),
          NVVM::CacheEvictionPriorityAttr(), ptr, Value());
    }
  };
  auto loadIteration = [&](Value it, bool clamp) {
    SmallVector<Value> pieces;
    for (int64_t u = 0; u < unroll; ++u) {
      Value col = colOf(it, u);
      // Past K: re-read piece 0 of the row (cached); `compute` zeroes it.
      if (clamp)
        col = e.select(inK(col), col, e.idx(0));
      pieces.push_back(load(ops.w, wRow0, col));
      pieces.push_back(load(ops.w, wRow1, col));
      for (int64_t nt = 0; nt < nTiles; ++nt)
        pieces.push_back(load(ops.x, xRow[nt], col));
    }
    if (cfg.l2Prefetch > 0)
      prefetchIteration(e.addi(it, cfg.l2Prefetch));
    return pieces;
  };
  auto compute = [&](Value it, ValueRange pieces, ValueRange in) {
    SmallVector<Value> acc(in.begin(), in.end());
    for (int64_t u = 0; u < unroll; ++u) {
      Value a0 = pieces[u * perStep], a1 = pieces[u * perStep + 1];
      Value valid;
      if (masked) {
        valid = inK(colOf(it, u));
        a0 = e.select(valid, a0, zeroPiece);
        a1 = e.select(valid, a1, zeroPiece);
      }
      SmallVector<Value> xPiece;
      for (int64_t nt = 0; nt < nTiles; ++nt) {
        Value ok = xValid[nt];
        if (masked)
          ok = arith::AndIOp::create(b, loc, ok, valid);
        xPiece.push_back(
            e.select(ok, pieces[u * perStep + 2 + nt], zeroPiece));
      }
      for (int64_t j = 0; j < 2; ++j) {
        Value aFrag = aFragment(a0, a1, j);
        for (int64_t nt = 0; nt < nTiles; ++nt)
          acc[nt] = emitMma(e, aFrag, bFragment(xPiece[nt], j), acc[nt]);
      }
    }
    return acc;
  };

  SmallVector<Value> init(nTiles, e.zeros(accType));
  SmallVector<Value> acc;
  if (!cfg.prefetch) {
    // Every load of the iteration first, then its MMAs: 2 * unroll W
    // pieces and unroll * P / 8 x pieces per lane in flight (ptxas may
    // still interleave them with the MMAs that consume them).
    auto loop = scf::ForOp::create(
        b, loc, e.idx(0), e.idx(iters), e.idx(1), init,
        [&](OpBuilder &, Location, Value it, ValueRange state) {
          SmallVector<Value> pieces = loadIteration(it, masked);
          scf::YieldOp::create(b, loc, compute(it, pieces, state));
        });
    acc.assign(loop.getResults().begin(), loop.getResults().end());
  } else {
    // Register double buffering: iteration `it` issues the loads of it + 1
    // before the MMAs of `it`, whose pieces were loaded one iteration
    // earlier (loop-carried), so no MMA waits on the loads just issued and
    // a warp always has a whole iteration of loads in flight. The last
    // iteration is peeled (it loads nothing).
    SmallVector<Value> state = init;
    llvm::append_range(state, loadIteration(e.idx(0), masked));
    auto loop = scf::ForOp::create(
        b, loc, e.idx(0), e.idx(iters - 1), e.idx(1), state,
        [&](OpBuilder &, Location, Value it, ValueRange st) {
          SmallVector<Value> next =
              loadIteration(e.addi(it, 1), /*clamp=*/masked);
          SmallVector<Value> out =
              compute(it, st.drop_front(nTiles), st.take_front(nTiles));
          llvm::append_range(out, next);
          scf::YieldOp::create(b, loc, out);
        });
    acc = compute(e.idx(iters - 1), loop.getResults().drop_front(nTiles),
                  loop.getResults().take_front(nTiles));
  }

  // Cross-warp reduction: [splitK][16][P + 1] f32 (the +1 staggers the
  // columns the final pass reads), one barrier.
  auto workgroup =
      gpu::AddressSpaceAttr::get(ctx, gpu::AddressSpace::Workgroup);
  auto smemType = MemRefType::get({ShapedType::kDynamic}, b.getI8Type(),
                                  MemRefLayoutAttrInterface(), workgroup);
  Value smem = gpu::DynamicSharedMemoryOp::create(b, loc, smemType);
  auto redType = MemRefType::get({cfg.splitK, 16, cfg.padM + 1}, f32,
                                 MemRefLayoutAttrInterface(), workgroup);
  Value red =
      memref::ViewOp::create(b, loc, redType, smem, e.idx(0), ValueRange{});
  Value t2 = e.muli(t, 2);
  for (int64_t nt = 0; nt < nTiles; ++nt)
    for (int64_t i = 0; i < 2; ++i)
      for (int64_t j = 0; j < 2; ++j) {
        Value v = vector::ExtractOp::create(b, loc, acc[nt],
                                            ArrayRef<int64_t>{i, j});
        memref::StoreOp::create(
            b, loc, v, red,
            ValueRange{warp, e.addi(g, 8 * i), e.addi(t2, nt * 8 + j)});
      }
  gpu::BarrierOp::create(b, loc);
  storeReducedTile(e, ops, red, tid, cfg.threads(), 16, cfg.padM, cfg.splitK,
                   n0, m0, rows);
  gpu::TerminatorOp::create(b, loc);
}

struct FDTileFlatGemm : mlir::fd::impl::FDTileFlatGemmBase<FDTileFlatGemm> {
  using Base::Base;

  void runOnOperation() override {
    SmallVector<FlatGemmOp> ops;
    getOperation().walk([&](FlatGemmOp op) { ops.push_back(op); });
    for (FlatGemmOp op : ops)
      if (failed(rewrite(op)))
        return signalPassFailure();
  }

  SmallVector<int64_t> getPadM() const {
    SmallVector<int64_t> pads(padM.begin(), padM.end());
    if (pads.empty())
      pads = {8, 16, 32, 64};
    llvm::sort(pads);
    pads.erase(std::unique(pads.begin(), pads.end()), pads.end());
    return pads;
  }

  SmallVector<int64_t> getDirectPadM() const {
    if (!direct)
      return {};
    SmallVector<int64_t> pads(directPadM.begin(), directPadM.end());
    // direct_m8 only on request: in docs/perf.md's measurements ptxas
    // interleaves its loads with the MMAs that consume them (it keeps
    // fewer registers than the loads in flight need) and it is slower than
    // direct_m16 even at M = 1. direct_m32/m64 read W once for M <= 64
    // where the ring tiles' 1-CTA/SM pipeline is 10-20% slower on the
    // large shapes (H100, docs/perf.md).
    if (pads.empty())
      pads = {16, 32, 64};
    llvm::sort(pads);
    pads.erase(std::unique(pads.begin(), pads.end()), pads.end());
    return pads;
  }

  /// Unroll of the direct variant with \p p batch rows: `direct-unroll`,
  /// lowered for wide tiles so that one (or, double-buffered, two)
  /// iterations of 16-byte pieces, (2 + p / 8) per step, stay within 128
  /// data registers (p = 32: 2 steps, p = 64: 1 step at the default).
  int64_t directUnrollFor(int64_t p) const {
    const int64_t perStep = (directPrefetch ? 2 : 1) * (2 + p / 8) * 4;
    return std::max<int64_t>(1, std::min<int64_t>(directUnroll, 128 / perStep));
  }

  /// Checks the direct variants' options against the op's shape and picks
  /// their split-k: the explicit one, or the smallest power of two giving
  /// kDirectWarps warps over the N / 16 CTAs and (up to 32 batch rows) at
  /// most kDirectMaxWarpK of K per warp, at most 16, at most the iterations'
  /// worth of K, and small enough that a thread's registers hold the loads in
  /// flight.
  LogicalResult checkDirect(FlatGemmOp op, const GemmShape &shape,
                            ArrayRef<int64_t> pads,
                            SmallVectorImpl<int64_t> &splitKUsed) const {
    auto bad = [&](const Twine &msg) {
      return op.emitOpError() << "fd-tile-flat-gemm: " << msg;
    };
    for (int64_t p : pads)
      if (p != 8 && p != 16 && p != 32 && p != 64)
        return bad("direct-pad-m value " + Twine(p) +
                   " must be 8, 16, 32 or 64");
    if (directSplitK < 0 || directSplitK > 32)
      return bad("direct-split-k must be in [0, 32] (0: auto), got " +
                 Twine(directSplitK));
    if (directUnroll < 1 || directUnroll > 16)
      return bad("direct-unroll must be in [1, 16], got " +
                 Twine(directUnroll));
    if (directL2Prefetch < 0 || directL2Prefetch > 8)
      return bad("direct-l2-prefetch must be in [0, 8], got " +
                 Twine(directL2Prefetch));
    if (pads.empty())
      return success();
    // N % 16 == 0 and K % 8 == 0 (whole 16-byte pieces, 16-byte aligned
    // rows) follow from `check`: tile-n is a multiple of 16 dividing N, and
    // the K tile a multiple of 16 dividing K.
    assert(shape.n % 16 == 0 && shape.k % direct_gemm::kPiece == 0);
    const int64_t steps =
        (shape.k + direct_gemm::kStepK - 1) / direct_gemm::kStepK;
    const int64_t maxSplit = (steps + directUnroll - 1) / directUnroll;
    if (directSplitK > maxSplit)
      return bad("direct-split-k (" + Twine(directSplitK) +
                 ") leaves warps without K: K = " + Twine(shape.k) + " has " +
                 Twine(maxSplit) + " groups of direct-unroll (" +
                 Twine(directUnroll) + ") 32-wide steps");
    for (int64_t p : pads) {
      int64_t split = directSplitK;
      if (split == 0) {
        const int64_t unroll = directUnrollFor(p);
        const int64_t ctas = shape.n / 16;
        split = 1;
        const bool boundK = p <= kDirectMaxPadForKBound;
        while (split < 16 && (ctas * split < kDirectWarps ||
                              (boundK && split * kDirectMaxWarpK < shape.k)))
          split *= 2;
        split = std::min(split, (steps + unroll - 1) / unroll);
        // Register double buffering holds two iterations of 16-byte pieces
        // (4 registers each) per lane; a CTA of 32 * split-k threads gets
        // at most 64K / threads registers each (ptxas spills beyond). Keep
        // ~48 for addresses and accumulators (2 per n-tile more).
        const int64_t dataRegs =
            (directPrefetch ? 2 : 1) * unroll * (2 + p / 8) * 4 + p / 2;
        while (split > 1 &&
               std::min<int64_t>(255, 65536 / (32 * split)) < dataRegs + 48)
          split /= 2;
      }
      splitKUsed.push_back(split);
    }
    return success();
  }

  /// Checks the options against the op's shape and fits them to it: the K
  /// tile is the largest multiple of 16 * split-k up to tile-k that divides
  /// K, and each tensor-core variant gets as many of the `stages` buffers as
  /// fit in shared memory (and as the K loop can use). Diagnostics name the
  /// option and the value that does not fit.
  LogicalResult check(FlatGemmOp op, const GemmShape &shape,
                      ArrayRef<int64_t> pads, int64_t &tileKUsed,
                      SmallVectorImpl<int64_t> &stagesUsed) const {
    auto bad = [&](const Twine &msg) {
      return op.emitOpError() << "fd-tile-flat-gemm: " << msg;
    };
    if (stages < 2)
      return bad("stages must be at least 2, got " + Twine(stages));
    if (splitK < 1 || splitK > 32)
      return bad("split-k must be in [1, 32], got " + Twine(splitK));
    if (tileN < 16 || tileN % 16 != 0 || shape.n % tileN != 0)
      return bad(
          "tile-n (" + Twine(tileN) +
          ") must be a multiple of 16 that divides N = " + Twine(shape.n));
    for (int64_t p : pads)
      if (p < 8 || p % 8 != 0)
        return bad("pad-m value " + Twine(p) +
                   " must be a positive multiple of 8");
    // The W tile always splits evenly over the threads (tile-n is a
    // multiple of 16 and the K tile of 16 * split-k); each x tile must too.
    const int64_t kStep = 16 * splitK, threads = 32 * splitK;
    auto fits = [&](int64_t tk) {
      return shape.k % tk == 0 && llvm::all_of(pads, [&](int64_t p) {
               return (p * tk / kChunk) % threads == 0;
             });
    };
    tileKUsed = tileK - tileK % kStep;
    while (tileKUsed >= kStep && !fits(tileKUsed))
      tileKUsed -= kStep;
    if (tileKUsed < kStep)
      return bad("no K tile fits: it must be a multiple of 16 * split-k = " +
                 Twine(kStep) + ", at most tile-k (" + Twine(tileK) +
                 "), divide K = " + Twine(shape.k) +
                 " and give every pad-m a whole number of 16-byte x copies "
                 "per thread");
    if (gemv && (gemvWarps < 1 || gemvWarps > 32 || shape.n % gemvWarps != 0 ||
                 gemvUnroll < 1))
      return bad("gemv-warps (" + Twine(gemvWarps) +
                 ") must be in [1, 32] and divide N, gemv-unroll >= 1");
    if (gemv && (gemvSplitK < 1 || gemvWarps * gemvSplitK > 32))
      return bad("gemv-split-k (" + Twine(gemvSplitK) +
                 ") must be at least 1 with gemv-warps x gemv-split-k <= 32 "
                 "warps per CTA");
    if (m1 < 0 || m2 < m1)
      return bad("thresholds must satisfy 0 <= m1 <= m2");
    // A K loop shorter than the ring needs fewer stages; a wide M tile may
    // fit fewer buffers in shared memory than a narrow one.
    constexpr int64_t kSmemLimit = 227 * 1024; // sm_90's opt-in maximum
    for (int64_t p : pads) {
      int64_t s = std::min<int64_t>(stages, shape.k / tileKUsed + 1);
      while (s > 2 &&
             MmaConfig{tileN, tileKUsed, p, s, splitK}.smemBytes() > kSmemLimit)
        --s;
      MmaConfig cfg{tileN, tileKUsed, p, s, splitK};
      if (cfg.smemBytes() > kSmemLimit)
        return bad("pad-m " + Twine(p) + " needs " + Twine(cfg.smemBytes()) +
                   " bytes of shared memory with 2 stages, more than the "
                   "227 KB of sm_90");
      stagesUsed.push_back(s);
    }
    return success();
  }

  LogicalResult rewrite(FlatGemmOp op) {
    auto wType = cast<MemRefType>(op.getW().getType());
    GemmShape shape;
    shape.n = wType.getDimSize(0);
    shape.k = wType.getDimSize(1);
    shape.elem = wType.getElementType();
    shape.out = cast<MemRefType>(op.getY().getType()).getElementType();
    shape.hasBias = op.getBias() != nullptr;
    SmallVector<int64_t> pads = getPadM();
    int64_t tileKUsed = 0;
    SmallVector<int64_t> stagesUsed;
    if (failed(check(op, shape, pads, tileKUsed, stagesUsed)))
      return failure();
    SmallVector<int64_t> directPads = getDirectPadM();
    SmallVector<int64_t> directSplit;
    if (failed(checkDirect(op, shape, directPads, directSplit)))
      return failure();

    OpBuilder b(op);
    Location loc = op.getLoc();
    Emitter e{b, loc};
    GemmOperands args{op.getX(), op.getW(), op.getBias(), op.getY()};
    SmallVector<Attribute> bindings = {b.getStringAttr("x"),
                                       b.getStringAttr("w")};
    if (shape.hasBias)
      bindings.push_back(b.getStringAttr("bias"));
    bindings.push_back(b.getStringAttr("y"));
    ArrayAttr bindAttr = b.getArrayAttr(bindings);

    Value rows = memref::DimOp::create(b, loc, op.getX(), 0);
    auto strings = [&](ArrayRef<std::string> xs) {
      SmallVector<Attribute> attrs;
      for (const std::string &x : xs)
        attrs.push_back(b.getStringAttr(x));
      return b.getArrayAttr(attrs);
    };
    auto tag = [&](gpu::LaunchOp l, StringRef variant, int64_t mTile,
                   ArrayRef<std::string> grid) {
      l->setAttr(flat_gemm_attr::kVariant, b.getStringAttr(variant));
      l->setAttr(flat_gemm_attr::kMTile, b.getI64IntegerAttr(mTile));
      l->setAttr(flat_gemm_attr::kGrid, strings(grid));
      l->setAttr(flat_gemm_attr::kArgs, bindAttr);
    };
    auto emitMmaLaunch = [&](int64_t p) {
      int64_t s = stagesUsed[llvm::find(pads, p) - pads.begin()];
      MmaConfig cfg{tileN, tileKUsed, p, s, splitK};
      Value gz = e.divui(e.addi(rows, p - 1), p);
      Value smem = arith::ConstantOp::create(
          b, loc, b.getI32IntegerAttr(cfg.smemBytes()));
      auto launch =
          gpu::LaunchOp::create(b, loc, e.idx(shape.n / tileN), e.idx(1), gz,
                                e.idx(cfg.threads()), e.idx(1), e.idx(1), smem);
      tag(launch, ("mma_m" + Twine(p)).str(), p,
          {std::to_string(shape.n / tileN), "1", "MT"});
      OpBuilder::InsertionGuard guard(b);
      buildMmaBody(launch, b, shape, cfg, args);
    };
    auto emitGemv = [&]() {
      Value smem;
      if (gemvSplitK > 1)
        smem = arith::ConstantOp::create(
            b, loc, b.getI32IntegerAttr(int32_t(4 * gemvWarps * gemvSplitK)));
      auto launch = gpu::LaunchOp::create(
          b, loc, e.idx(shape.n / gemvWarps), rows, e.idx(1),
          e.idx(32 * gemvWarps * gemvSplitK), e.idx(1), e.idx(1), smem);
      tag(launch, "gemv", 1, {std::to_string(shape.n / gemvWarps), "M"});
      OpBuilder::InsertionGuard guard(b);
      buildGemvBody(launch, b, shape, gemvWarps, gemvUnroll, gemvSplitK, args);
    };
    auto emitDirect = [&](int64_t p) {
      int64_t split = directSplit[llvm::find(directPads, p) - directPads.begin()];
      DirectConfig cfg{p, split, directUnrollFor(p), directPrefetch,
                       directL2Prefetch};
      Value gz = e.divui(e.addi(rows, p - 1), p);
      Value smem = arith::ConstantOp::create(
          b, loc, b.getI32IntegerAttr(cfg.smemBytes()));
      auto launch =
          gpu::LaunchOp::create(b, loc, e.idx(shape.n / 16), e.idx(1), gz,
                                e.idx(cfg.threads()), e.idx(1), e.idx(1), smem);
      tag(launch, ("direct_m" + Twine(p)).str(), p,
          {std::to_string(shape.n / 16), "1", "MT"});
      OpBuilder::InsertionGuard guard(b);
      buildDirectBody(launch, b, shape, cfg, args);
    };
    // if (M <= bound) then() else otherwise(), built in the current block.
    auto branch = [&](Value cond, function_ref<void()> then,
                      function_ref<void()> otherwise) {
      auto ifOp = scf::IfOp::create(b, loc, cond, /*withElseRegion=*/true);
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(&ifOp.getThenRegion().front());
      then();
      b.setInsertionPointToStart(&ifOp.getElseRegion().front());
      otherwise();
    };
    auto atMost = [&](int64_t bound) {
      return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ule, rows,
                                   e.idx(bound));
    };
    // The tensor-core chain: the smallest tile that holds M up to m2, the
    // largest one beyond.
    std::function<void(size_t)> mmaChain = [&](size_t i) {
      if (i + 1 == pads.size() || pads[i] > m2) {
        emitMmaLaunch(pads.back());
        return;
      }
      branch(
          atMost(pads[i]), [&] { emitMmaLaunch(pads[i]); },
          [&] { mmaChain(i + 1); });
    };
    // M = 0: nothing to compute, and a zero grid is not launchable.
    auto nonEmpty = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ugt,
                                          rows, e.idx(0));
    auto outer = scf::IfOp::create(b, loc, nonEmpty, false);
    b.setInsertionPointToStart(&outer.getThenRegion().front());
    // The direct tiles in increasing order, then the whole tensor-core
    // chain (see the pass description).
    std::function<void(size_t)> directChain = [&](size_t i) {
      if (i == directPads.size()) {
        mmaChain(0);
        return;
      }
      branch(
          atMost(directPads[i]), [&] { emitDirect(directPads[i]); },
          [&] { directChain(i + 1); });
    };
    if (gemv && m1 > 0)
      branch(atMost(m1), emitGemv, [&] { directChain(0); });
    else
      directChain(0);
    op.erase();
    return success();
  }
};
} // namespace
