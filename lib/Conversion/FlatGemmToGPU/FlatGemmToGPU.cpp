//===- FlatGemmToGPU.cpp - outline flat GEMM launches into fd kernels -----===//
//
// fd-tile-flat-gemm leaves its kernels as gpu.launch regions so that the
// tiling is visible (and lit-tested) in the host function. This pass moves
// each body into a gpu.func with the argument order and fd.* attributes the
// bundle manifest and the runtime rely on.
//
//===----------------------------------------------------------------------===//
#include "fd/Conversion/FlatGemmToGPU/FlatGemmToGPU.h"
#include "fd/Bundle/Schema.h"
#include "fd/Conversion/FDToGPU/FDToGPU.h"
#include "fd/Dialect/FD/IR/FDOps.h"
#include "fd/Dialect/FD/Transforms/TileFlatGemm.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Transforms/RegionUtils.h"
#include "llvm/ADT/SetVector.h"

namespace mlir::fd {
#define GEN_PASS_DEF_CONVERTFLATGEMMTOGPU
#include "fd/Conversion/Passes.h.inc"
} // namespace mlir::fd

using namespace mlir;
using namespace mlir::fd;

/// The gpu.module convert-fd-to-gpu also uses, so one bundle module holds
/// every kernel.
static gpu::GPUModuleOp getKernelModule(Operation *anchor, OpBuilder &b) {
  auto module = anchor->getParentOfType<ModuleOp>();
  module->setAttr(gpu::GPUDialect::getContainerModuleAttrName(),
                  b.getUnitAttr());
  if (auto m = module.lookupSymbol<gpu::GPUModuleOp>("fd_kernels"))
    return m;
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToEnd(module.getBody());
  return gpu::GPUModuleOp::create(b, module.getLoc(), "fd_kernels");
}

FailureOr<gpu::GPUFuncOp>
mlir::fd::outlineFlatGemmLaunch(gpu::LaunchOp launch) {
  namespace fa = flat_gemm_attr;
  auto variant = launch->getAttrOfType<StringAttr>(fa::kVariant);
  auto mTile = launch->getAttrOfType<IntegerAttr>(fa::kMTile);
  auto grid = launch->getAttrOfType<ArrayAttr>(fa::kGrid);
  auto binds = launch->getAttrOfType<ArrayAttr>(fa::kArgs);
  if (!variant || !mTile || !grid || !binds)
    return launch.emitOpError()
           << "lacks the fd.flat_gemm.* attributes of fd-tile-flat-gemm";
  if (!launch.getBody().hasOneBlock())
    return launch.emitOpError() << "flat GEMM launch body must be one block";
  auto func = launch->getParentOfType<FunctionOpInterface>();
  if (!func)
    return launch.emitOpError() << "flat GEMM launch is not in a function";

  // The leading assume_alignment ops name the kernel arguments in order.
  Block &body = launch.getBody().front();
  SmallVector<Value> operands;
  auto it = body.begin();
  for (Attribute bind : binds) {
    auto anchor =
        it == body.end() ? nullptr : dyn_cast<memref::AssumeAlignmentOp>(*it);
    if (!anchor)
      return launch.emitOpError()
             << "flat GEMM launch must start with one memref.assume_alignment "
                "per binding; missing the one for '"
             << cast<StringAttr>(bind).getValue() << "'";
    operands.push_back(anchor.getMemref());
    ++it;
  }
  llvm::SetVector<Value> captured;
  getUsedValuesDefinedAbove(launch.getBody(), captured);
  for (Value v : captured)
    if (!llvm::is_contained(operands, v))
      return launch.emitOpError()
             << "flat GEMM launch uses a value defined outside it that is not "
                "one of its bindings: "
             << v;

  SmallVector<int32_t> block;
  for (Value v : {launch.getBlockSizeX(), launch.getBlockSizeY(),
                  launch.getBlockSizeZ()}) {
    std::optional<int64_t> c = getConstantIntValue(v);
    if (!c)
      return launch.emitOpError() << "flat GEMM block size must be constant";
    block.push_back(static_cast<int32_t>(*c));
  }
  int64_t smemBytes = 0;
  if (Value smem = launch.getDynamicSharedMemorySize()) {
    std::optional<int64_t> c = getConstantIntValue(smem);
    if (!c)
      return launch.emitOpError()
             << "flat GEMM dynamic shared memory size must be constant";
    smemBytes = *c;
  }

  OpBuilder b(launch);
  Location loc = launch.getLoc();
  gpu::GPUModuleOp module = getKernelModule(launch, b);
  gpu::GPUFuncOp fn;
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToEnd(module.getBody());
    std::string name =
        (func.getName() + "_flat_gemm_" + variant.getValue()).str();
    fn = gpu::GPUFuncOp::create(
        b, loc, name,
        b.getFunctionType(ValueRange(operands).getTypes(), TypeRange{}));
    SymbolTable(module).insert(fn); // renames on a clash
  }
  fn->setAttr(gpu::GPUDialect::getKernelFuncAttrName(), b.getUnitAttr());
  fn.setKnownBlockSizeAttr(b.getDenseI32ArrayAttr(block));
  fn->setAttr(::fdb::ir::kRole, variant);
  fn->setAttr(::fdb::ir::kEntry, b.getStringAttr(func.getName()));
  fn->setAttr(::fdb::ir::kGrid, grid);
  fn->setAttr("fd.args", binds);
  fn->setAttr(kernel_attr::kMTile, mTile);
  fn->setAttr(kernel_attr::kDynamicSmem, b.getI64IntegerAttr(smemBytes));

  {
    OpBuilder::InsertionGuard guard(b);
    Block &entry = fn.getBody().front();
    b.setInsertionPointToStart(&entry);
    IRMapping map;
    for (auto [v, arg] : llvm::zip(operands, entry.getArguments()))
      map.map(v, arg);
    auto mapDims = [&](gpu::KernelDim3 dims, auto makeOp) {
      map.map(dims.x, makeOp(gpu::Dimension::x));
      map.map(dims.y, makeOp(gpu::Dimension::y));
      map.map(dims.z, makeOp(gpu::Dimension::z));
    };
    mapDims(launch.getBlockIds(), [&](gpu::Dimension d) -> Value {
      return gpu::BlockIdOp::create(b, loc, d);
    });
    mapDims(launch.getThreadIds(), [&](gpu::Dimension d) -> Value {
      return gpu::ThreadIdOp::create(b, loc, d);
    });
    mapDims(launch.getGridSize(), [&](gpu::Dimension d) -> Value {
      return gpu::GridDimOp::create(b, loc, d);
    });
    mapDims(launch.getBlockSize(), [&](gpu::Dimension d) -> Value {
      return gpu::BlockDimOp::create(b, loc, d);
    });
    for (Operation &op : body.without_terminator())
      b.clone(op, map);
    gpu::ReturnOp::create(b, loc);
  }

  gpu::KernelDim3 gridOps = {launch.getGridSizeX(), launch.getGridSizeY(),
                             launch.getGridSizeZ()};
  gpu::KernelDim3 blockOps = {launch.getBlockSizeX(), launch.getBlockSizeY(),
                              launch.getBlockSizeZ()};
  gpu::LaunchFuncOp::create(b, loc, fn, gridOps, blockOps,
                            launch.getDynamicSharedMemorySize(), operands);
  launch.erase();
  return fn;
}

namespace {
struct ConvertFlatGemmToGPU
    : mlir::fd::impl::ConvertFlatGemmToGPUBase<ConvertFlatGemmToGPU> {
  using Base::Base;
  void runOnOperation() override {
    ModuleOp module = getOperation();
    bool bad = false;
    SmallVector<gpu::LaunchOp> launches;
    module.walk([&](Operation *op) {
      if (isa<FlatGemmOp>(op)) {
        op->emitOpError() << "must be tiled before outlining: run "
                             "fd-tile-flat-gemm first";
        bad = true;
      } else if (auto launch = dyn_cast<gpu::LaunchOp>(op)) {
        if (launch->hasAttr(flat_gemm_attr::kVariant))
          launches.push_back(launch);
      }
    });
    if (bad)
      return signalPassFailure();
    for (gpu::LaunchOp launch : launches)
      if (failed(outlineFlatGemmLaunch(launch)))
        return signalPassFailure();
  }
};
} // namespace
