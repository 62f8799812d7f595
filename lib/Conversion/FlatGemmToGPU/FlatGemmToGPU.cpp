//===- FlatGemmToGPU.cpp - tiled fd.flat_gemm to fd kernels ---------------===//
//
// Each fd.flat_gemm that fd-tile-flat-gemm gave a kernel description
// (TileFlatGemm.h) becomes one kernel of the `fd_kernels` gpu.module and a
// gpu.launch_func. The kernel is built as a gpu.launch by its family's
// builder (GemvKernel.cpp, MmaKernel.cpp, DirectKernel.cpp) and outlined
// with upstream's outlineKernelFunc, given the arguments in signature order;
// every argument then carries its binding (fd.binding), and the kernel the
// fd.* attributes from which fd-compile writes the bundle.
//
//===----------------------------------------------------------------------===//
#include "fd/Conversion/FlatGemmToGPU/FlatGemmToGPU.h"
#include "../Utils/KernelModule.h"
#include "GemmKernels.h"
#include "fd/Conversion/FDToGPU/FDToGPU.h"
#include "fd/Dialect/FD/IR/FDOps.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Utils/GPUUtils.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Transforms/WalkPatternRewriteDriver.h"

namespace mlir::fd {
#define GEN_PASS_DEF_CONVERTFLATGEMMTOGPU
#include "fd/Conversion/Passes.h.inc"
} // namespace mlir::fd

using namespace mlir;
using namespace mlir::fd;
using namespace mlir::fd::flat_gemm;
namespace bd = ::fdb;

//===----------------------------------------------------------------------===//
// The kernel description
//===----------------------------------------------------------------------===//

namespace {
/// A parsed fd.flat_gemm.kernel: the family and its tiling.
struct KernelDesc {
  std::string kind;
  GemvTiling gemv;
  MmaTiling mma{};
  DirectTiling direct{};
};

/// Reads the description's fields, naming the missing or mistyped one.
struct DescReader {
  FlatGemmOp op;
  DictionaryAttr dict;
  StringRef kind;

  InFlightDiagnostic bad() { return op.emitOpError() << kKernelAttr << ": "; }
  LogicalResult integer(const char *name, int64_t &out) {
    auto a = dict.getAs<IntegerAttr>(name);
    if (!a)
      return bad() << "'" << kind << "' needs an integer '" << name << "'";
    out = a.getInt();
    return success();
  }
  /// An integer that may be absent (then \p out keeps its default).
  LogicalResult optionalInteger(const char *name, int64_t &out) {
    if (!dict.get(name))
      return success();
    return integer(name, out);
  }
  LogicalResult boolean(const char *name, bool &out) {
    auto a = dict.getAs<BoolAttr>(name);
    if (!a)
      return bad() << "'" << kind << "' needs a bool '" << name << "'";
    out = a.getValue();
    return success();
  }
};
} // namespace

static bool divides(int64_t d, int64_t n) { return d > 0 && n % d == 0; }

/// Checks what the builders assume of a tiling (fd-tile-flat-gemm only
/// writes tilings that satisfy it), so that hand-written IR gets a
/// diagnostic rather than a broken kernel.
static LogicalResult checkDesc(DescReader &r, const KernelDesc &d,
                               const GemmShape &s) {
  auto fail = [&](const Twine &msg) { return r.bad() << msg; };
  if (d.kind == kind::kGemv) {
    if (d.gemv.warps < 1 || d.gemv.warps > 32 || !divides(d.gemv.warps, s.n) ||
        d.gemv.unroll < 1)
      return fail("gemv needs 1 <= warps <= 32 dividing N = " + Twine(s.n) +
                  " and unroll >= 1");
    return success();
  }
  if (d.kind == kind::kMma) {
    const MmaTiling &m = d.mma;
    if (m.splitK < 1 || m.splitK > 32 || m.warpsN < 1 || m.warpsM < 1 ||
        m.warps() > 32 || m.mTile < 8 || m.mTile % (8 * m.warpsM) != 0 ||
        m.tileN % (16 * m.warpsN) != 0 || !divides(m.tileN, s.n) ||
        !divides(16 * m.splitK, m.tileK) || !divides(m.tileK, s.k))
      return fail("mma needs 1 <= split_k * warps_n * warps_m <= 32, m_tile a "
                  "multiple of 8 * warps_m, tile_n a multiple of 16 * warps_n "
                  "dividing N = " +
                  Twine(s.n) +
                  " and tile_k a multiple of 16 * split_k dividing K = " +
                  Twine(s.k));
    // Any thread count copies any tile (MmaKernel's partial last round).
    // The ranks of a cluster may hold unequal shares of K (one tile
    // apart); every rank needs a whole ring's worth beyond the prologue.
    const int64_t kTiles = s.k / m.tileK;
    if (m.clusterK < 1 || m.clusterK > kMaxClusterK || m.clusterK > kTiles)
      return fail("mma needs cluster_k in [1, " + Twine(kMaxClusterK) +
                  "] and at most the " + Twine(kTiles) + " K tiles, got " +
                  Twine(m.clusterK));
    const int64_t tilesPerCta = kTiles / m.clusterK; // the fewest of a rank
    if (m.stages < 2 || m.stages - 1 > tilesPerCta)
      return fail("mma needs 2 <= stages <= K / (tile_k * cluster_k) + 1 = " +
                  Twine(tilesPerCta + 1) + ", got " +
                  Twine(m.stages));
    if (m.smemBytes() > kSmemLimit)
      return fail("mma needs " + Twine(m.smemBytes()) +
                  " bytes of shared memory, more than the 227 KB of sm_90");
    return success();
  }
  const DirectTiling &t = d.direct;
  if (!llvm::is_contained({8, 16, 32, 64}, t.mTile) || t.splitK < 1 ||
      t.splitK > 32 || t.unroll < 1 || t.unroll > 16 || s.n % 16 != 0)
    return fail("direct needs m_tile 8, 16, 32 or 64, 1 <= split_k <= 32, "
                "1 <= unroll <= 16 and N a multiple of 16");
  return success();
}

static GemmShape getShape(FlatGemmOp op) {
  auto wType = cast<MemRefType>(op.getW().getType());
  return {wType.getDimSize(0), wType.getDimSize(1), wType.getElementType()};
}

/// The description of \p op, or a diagnostic.
static FailureOr<KernelDesc> parseKernelDesc(FlatGemmOp op) {
  auto dict = op->getAttrOfType<DictionaryAttr>(kKernelAttr);
  if (!dict)
    return op.emitOpError() << "has no kernel description (" << kKernelAttr
                            << "): run fd-tile-flat-gemm first";
  DescReader r{op, dict};
  KernelDesc d;
  auto kindAttr = dict.getAs<StringAttr>(key::kKind);
  if (!kindAttr ||
      !llvm::is_contained({StringRef(kind::kGemv), StringRef(kind::kMma),
                           StringRef(kind::kDirect)},
                          kindAttr.getValue()))
    return r.bad() << "'" << key::kKind << "' must be \"" << kind::kGemv
                   << "\", \"" << kind::kMma << "\" or \"" << kind::kDirect
                   << "\"";
  d.kind = kindAttr.getValue().str();
  r.kind = kindAttr.getValue();
  LogicalResult ok = success();
  if (d.kind == kind::kGemv) {
    ok = success(succeeded(r.integer(key::kWarps, d.gemv.warps)) &&
                 succeeded(r.integer(key::kUnroll, d.gemv.unroll)));
  } else if (d.kind == kind::kMma) {
    MmaTiling &m = d.mma;
    ok = success(succeeded(r.integer(key::kMTile, m.mTile)) &&
                 succeeded(r.integer(key::kTileN, m.tileN)) &&
                 succeeded(r.integer(key::kTileK, m.tileK)) &&
                 succeeded(r.integer(key::kStages, m.stages)) &&
                 succeeded(r.integer(key::kSplitK, m.splitK)) &&
                 succeeded(r.optionalInteger(key::kWarpsN, m.warpsN)) &&
                 succeeded(r.optionalInteger(key::kWarpsM, m.warpsM)) &&
                 succeeded(r.optionalInteger(key::kClusterK, m.clusterK)));
  } else {
    DirectTiling &t = d.direct;
    ok = success(succeeded(r.integer(key::kMTile, t.mTile)) &&
                 succeeded(r.integer(key::kSplitK, t.splitK)) &&
                 succeeded(r.integer(key::kUnroll, t.unroll)) &&
                 succeeded(r.boolean(key::kPrefetch, t.prefetch)));
  }
  if (failed(ok) || failed(checkDesc(r, d, getShape(op))))
    return failure();
  return d;
}

//===----------------------------------------------------------------------===//
// The launch
//===----------------------------------------------------------------------===//

namespace {
/// How a kernel is launched and named in the bundle.
struct LaunchShape {
  std::string role;
  int64_t mTile = 1;
  /// Grid extents: CTAs along x, and whether y (GEMV) or z (the tensor-core
  /// kernels, ceil(M / mTile)) covers M.
  int64_t ctas = 0;
  bool mAlongY = false;
  /// CTAs along y of one thread-block cluster (the grid's y extent; 1: no
  /// cluster).
  int64_t clusterY = 1;
  int64_t threads = 0;
  int64_t smemBytes = 0;
};
} // namespace

static LaunchShape getLaunchShape(const KernelDesc &d, const GemmShape &s) {
  LaunchShape l;
  if (d.kind == kind::kGemv) {
    l.role = std::string(bd::gemm_kernel::kGemv);
    l.ctas = s.n / d.gemv.warps;
    l.mAlongY = true;
    l.threads = d.gemv.threads();
  } else if (d.kind == kind::kMma) {
    l.role = bd::gemm_kernel::mmaRole(d.mma.mTile);
    l.mTile = d.mma.mTile;
    l.ctas = s.n / d.mma.tileN;
    l.threads = d.mma.threads();
    l.smemBytes = d.mma.smemBytes();
    l.clusterY = d.mma.clusterK;
  } else {
    l.role = bd::gemm_kernel::directRole(d.direct.mTile);
    l.mTile = d.direct.mTile;
    l.ctas = s.n / 16;
    l.threads = d.direct.threads();
    l.smemBytes = d.direct.smemBytes();
  }
  return l;
}

/// The grid as the manifest spells it: integers as strings, "M" or "MT".
static ArrayAttr gridAttr(Builder &b, const LaunchShape &l) {
  SmallVector<Attribute> grid = {b.getStringAttr(Twine(l.ctas))};
  if (l.mAlongY) {
    grid.push_back(b.getStringAttr(toRef(bd::symbol::kM)));
  } else {
    grid.push_back(b.getStringAttr(Twine(l.clusterY)));
    grid.push_back(b.getStringAttr(toRef(bd::symbol::kMT)));
  }
  return b.getArrayAttr(grid);
}

/// The kernel's arguments in ABI order: binding and the host value bound.
static SmallVector<std::pair<std::string_view, Value>>
getSignature(FlatGemmOp op) {
  SmallVector<std::pair<std::string_view, Value>> sig = {
      {bd::binding::kX, op.getX()}, {bd::binding::kW, op.getW()}};
  if (op.getBias())
    sig.push_back({bd::binding::kBias, op.getBias()});
  sig.push_back({bd::binding::kY, op.getY()});
  return sig;
}

/// A gpu.launch of \p d over the GEMM of \p op, its body built by the
/// family's builder. \p grid and \p block get the launch sizes.
static gpu::LaunchOp buildLaunch(OpBuilder &b, FlatGemmOp op,
                                 const KernelDesc &d, const LaunchShape &l,
                                 gpu::KernelDim3 &grid, gpu::KernelDim3 &block,
                                 Value &smem) {
  KernelEmitter e{b, op.getLoc()};
  Value rows = memref::DimOp::create(b, e.loc, op.getX(), 0);
  Value one = e.idx(1);
  grid = {e.idx(l.ctas), e.idx(l.clusterY), one};
  if (l.mAlongY)
    grid.y = rows;
  else
    grid.z = e.divui(e.addi(rows, l.mTile - 1), l.mTile);

  block = {e.idx(l.threads), one, one};
  if (l.smemBytes > 0)
    smem = arith::ConstantOp::create(
        b, e.loc, b.getI32IntegerAttr(static_cast<int32_t>(l.smemBytes)));
  // A cluster is the kernel's own (nvvm.cluster_dim, setKernelAttrs), so
  // the launch needs no cluster operands (whose gpu.launch form numbers
  // blocks per cluster).
  auto launch = gpu::LaunchOp::create(b, e.loc, grid.x, grid.y, grid.z, block.x,
                                      block.y, block.z, smem);
  OpBuilder::InsertionGuard guard(b);
  LaunchContext ctx{
      launch, getShape(op), {op.getX(), op.getW(), op.getBias(), op.getY()}};
  if (d.kind == kind::kGemv)
    buildGemvBody(b, ctx, d.gemv);
  else if (d.kind == kind::kMma)
    buildMmaBody(b, ctx, d.mma);
  else
    buildDirectBody(b, ctx, d.direct);
  return launch;
}

/// The fd.* attributes fd-compile reads (bundle::ir), and the bindings.
static void setKernelAttrs(gpu::GPUFuncOp fn, FunctionOpInterface entry,
                           const LaunchShape &l,
                           ArrayRef<std::string_view> bindings) {
  Builder b(fn.getContext());
  fn->setAttr(bd::ir::kRole, b.getStringAttr(l.role));
  fn->setAttr(bd::ir::kEntry, b.getStringAttr(entry.getName()));
  fn->setAttr(bd::ir::kGrid, gridAttr(b, l));
  fn->setAttr(bd::ir::kMTile, b.getI64IntegerAttr(l.mTile));
  fn->setAttr(bd::ir::kDynamicSmem, b.getI64IntegerAttr(l.smemBytes));
  if (l.clusterY > 1) {
    SmallVector<int64_t> cluster = {1, l.clusterY, 1};
    fn->setAttr(bd::ir::kCluster, b.getI64ArrayAttr(cluster));
    // The PTX's .reqnctapercluster: a launch of another cluster shape (or
    // none) is then the driver's error, never a kernel reading a peer that
    // is not there.
    fn->setAttr(NVVM::NVVMDialect::getClusterDimAttrName(),
                b.getDenseI32ArrayAttr({1, int32_t(l.clusterY), 1}));
  }
  setBindings(fn, bindings);
}

LogicalResult mlir::fd::lowerFlatGemmToKernel(RewriterBase &rewriter,
                                              FlatGemmOp op) {
  FailureOr<KernelDesc> desc = parseKernelDesc(op);
  if (failed(desc))
    return failure();
  auto entry = op->getParentOfType<FunctionOpInterface>();
  if (!entry)
    return op.emitOpError() << "must be in a function to become a kernel";
  const LaunchShape l = getLaunchShape(*desc, getShape(op));
  SmallVector<std::pair<std::string_view, Value>> sig = getSignature(op);
  SmallVector<std::string_view> bindings;
  SmallVector<Value> operands;
  for (auto [name, value] : sig) {
    bindings.push_back(name);
    operands.push_back(value);
  }

  // The gpu.launch is scaffolding for outlineKernelFunc: built and erased
  // outside the rewriter, which only sees the launch_func and the kernel.
  OpBuilder b(op);
  gpu::KernelDim3 grid, block;
  Value smem;
  gpu::LaunchOp launch = buildLaunch(b, op, *desc, l, grid, block, smem);
  std::string name = (entry.getName() + "_flat_gemm_" + l.role).str();
  // The arguments in signature order; anything else the body captured
  // would be appended (and is a builder bug).
  gpu::GPUFuncOp fn = outlineKernelFunc(launch, name, operands);
  launch.erase();
  if (operands.size() != bindings.size()) {
    fn.erase();
    return op.emitOpError() << "flat GEMM kernel '" << name
                            << "' captures a value that is not a binding";
  }
  gpu::GPUModuleOp module = getKernelModule(op, b);
  SymbolTable(module).insert(fn); // renames on a clash
  setKernelAttrs(fn, entry, l, bindings);
  rewriter.setInsertionPoint(op);
  gpu::LaunchFuncOp::create(rewriter, op.getLoc(), fn, grid, block, smem,
                            operands);
  rewriter.eraseOp(op);
  return success();
}

//===----------------------------------------------------------------------===//
// Pattern and pass
//===----------------------------------------------------------------------===//

namespace {
struct FlatGemmToKernel : OpRewritePattern<FlatGemmOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(FlatGemmOp op,
                                PatternRewriter &rewriter) const override {
    if (!op->hasAttr(kKernelAttr))
      return rewriter.notifyMatchFailure(op, "no kernel description");
    return lowerFlatGemmToKernel(rewriter, op);
  }
};

struct ConvertFlatGemmToGPU
    : mlir::fd::impl::ConvertFlatGemmToGPUBase<ConvertFlatGemmToGPU> {
  void getDependentDialects(DialectRegistry &registry) const override {
    KernelDialects::insert(registry);
  }
  using Base::Base;
  void runOnOperation() override {
    // Every description is checked first, so that a bad one stops the pass
    // with its diagnostic before any kernel is built.
    bool bad = false;
    getOperation().walk(
        [&](FlatGemmOp op) { bad |= failed(parseKernelDesc(op)); });
    if (bad)
      return signalPassFailure();
    RewritePatternSet patterns(&getContext());
    populateFlatGemmToGPUPatterns(patterns);
    // A walk, not the greedy driver: the kernels land in the gpu.module in
    // the order of the host dispatch.
    walkAndApplyPatterns(getOperation(), std::move(patterns));
  }
};
} // namespace

void mlir::fd::populateFlatGemmToGPUPatterns(RewritePatternSet &patterns) {
  KernelDialects::load(patterns.getContext());
  patterns.add<FlatGemmToKernel>(patterns.getContext());
}
