//===- Pipelines.cpp - fd's pass pipelines --------------------------------===//
//
// The GPU half reuses upstream's gpu-lower-to-nvvm pipeline (NVVM lowering,
// target attachment, host lowering, gpu-module-to-binary) with `format=isa`,
// which gives PTX without needing CUDA on the build machine.
//
//===----------------------------------------------------------------------===//
#include "fd/Pipelines/Pipelines.h"
#include "fd/Conversion/Passes.h"
#include "fd/Dialect/FD/Transforms/Passes.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/Pipelines/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/TargetParser/Triple.h"

using namespace mlir;
using namespace mlir::fd;

bool mlir::fd::isKnownChip(StringRef chip) {
  if (chip.empty())
    return false;
  LLVMInitializeNVPTXTargetInfo();
  LLVMInitializeNVPTXTarget();
  LLVMInitializeNVPTXTargetMC();
  llvm::Triple triple("nvptx64-nvidia-cuda");
  std::string error;
  const llvm::Target *target =
      llvm::TargetRegistry::lookupTarget(triple, error);
  if (!target)
    return false;
  // The generic subtarget (no CPU) only to ask about `chip`: creating one
  // for an unknown chip would print LLVM's own warning.
  std::unique_ptr<llvm::MCSubtargetInfo> info(
      target->createMCSubtargetInfo(triple, "", ""));
  return info && info->isCPUStringValid(chip);
}

namespace {
/// Fails the pipeline with a diagnostic on a chip the NVPTX backend does not
/// know or an opt-level out of range, before any lowering:
/// gpu-module-to-binary would abort in instruction selection ("Cannot
/// select") instead. Private to the
/// pipeline, so not a registered pass.
struct CheckChipPass
    : PassWrapper<CheckChipPass, OperationPass<ModuleOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(CheckChipPass)
  CheckChipPass(std::string chip, int optLevel)
      : chip(std::move(chip)), optLevel(optLevel) {}
  StringRef getArgument() const final { return "fd-check-chip"; }
  void runOnOperation() override {
    if (optLevel < 0 || optLevel > kMaxOptLevel) {
      mlir::emitError(getOperation().getLoc())
          << "fd-lower-to-ptx: opt-level must be in [0, " << kMaxOptLevel
          << "], got " << optLevel;
      return signalPassFailure();
    }
    if (isKnownChip(chip))
      return;
    // At the module's location, without printing the whole module.
    mlir::emitError(getOperation().getLoc())
        << "fd-lower-to-ptx: unknown GPU architecture '" << chip
        << "' (LLVM's NVPTX backend knows e.g. sm_80, sm_90, sm_90a)";
    signalPassFailure();
  }
  std::string chip;
  int optLevel;
};
} // namespace

static void addSplit(OpPassManager &pm, const FDPipelineOptions &o) {
  if (o.unifiedMaxPhi.hasValue()) {
    FDUnifiedMaxOptions um;
    um.phi = o.unifiedMaxPhi;
    um.threshold = o.unifiedMaxThreshold;
    pm.addNestedPass<func::FuncOp>(createFDUnifiedMax(um));
  }
  FDSplitKVOptions split;
  split.numSplits = o.numSplits;
  split.chunkSize = o.chunkSize;
  split.smCount = o.smCount;
  split.ctasPerSM = o.ctasPerSM;
  split.minChunk = o.minChunk;
  split.chunkAlign = o.chunkAlign;
  split.maxSplits = o.maxSplits;
  pm.addNestedPass<func::FuncOp>(createFDSplitKV(split));
}

void mlir::fd::buildFDToGPUPipeline(OpPassManager &pm,
                                    const FDPipelineOptions &o) {
  // Flat GEMMs first: convert-fd-to-gpu rejects any fd.flat_gemm left over.
  FDTileFlatGemmOptions tile;
  tile.stages = o.gemmStages;
  tile.tileN = o.gemmTileN;
  tile.tileK = o.gemmTileK;
  tile.splitK = o.gemmSplitK;
  tile.padM.assign(o.gemmPadM.begin(), o.gemmPadM.end());
  tile.wideFrom = o.gemmWideFrom;
  tile.wideTileN = o.gemmWideTileN;
  tile.wideTileK = o.gemmWideTileK;
  tile.wideStages = o.gemmWideStages;
  tile.clusterK = o.gemmClusterK;
  tile.onlyDispatched = o.gemmOnlyDispatched;
  tile.gemvWarps = o.gemmGemvWarps;
  tile.gemvUnroll = o.gemmGemvUnroll;
  tile.dispatch.assign(o.gemmDispatch.begin(), o.gemmDispatch.end());
  tile.direct = o.gemmDirect;
  tile.directPadM.assign(o.gemmDirectPadM.begin(), o.gemmDirectPadM.end());
  tile.directSplitK = o.gemmDirectSplitK;
  tile.directUnroll = o.gemmDirectUnroll;
  tile.directPrefetch = o.gemmDirectPrefetch;
  pm.addNestedPass<func::FuncOp>(createFDTileFlatGemm(tile));
  pm.addPass(createConvertFlatGemmToGPU());
  addSplit(pm, o);
  ConvertFDToGPUOptions gpu;
  gpu.blockSize = o.blockSize;
  gpu.unroll = o.unroll;
  gpu.mmaMinGroup = o.mmaMinGroup;
  gpu.mmaStages = o.mmaStages;
  gpu.mmaWarps = o.mmaWarps;
  gpu.speculativeFirstTile = o.speculativeFirstTile;
  // Thread-block clusters, like griddepcontrol, exist from sm_90 on: older
  // chips get no split_cluster variant.
  gpu.clusterSplits = chipHasGridDependencyControl(o.chip) ? o.clusterSplits : 0;
  pm.addPass(createConvertFDToGPU(gpu));
  // griddepcontrol exists from sm_90 on; older chips launch plainly.
  if (o.pdl && chipHasGridDependencyControl(o.chip))
    pm.addPass(createFDProgrammaticLaunch());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
}

void mlir::fd::buildGPUToPTXPipeline(OpPassManager &pm,
                                     const FDPipelineOptions &o) {
  gpu::GPUToNVVMPipelineOptions nvvm;
  nvvm.cubinChip = o.chip;
  nvvm.cubinFeatures = o.features;
  nvvm.cubinFormat = "isa";
  nvvm.optLevel = o.optLevel;
  gpu::buildLowerToNVVMPassPipeline(pm, nvvm);
}

void mlir::fd::buildFDLowerToPTXPipeline(OpPassManager &pm,
                                         const FDPipelineOptions &o) {
  pm.addPass(std::make_unique<CheckChipPass>(o.chip, o.optLevel));
  buildFDToGPUPipeline(pm, o);
  buildGPUToPTXPipeline(pm, o);
}

void mlir::fd::buildFDLowerToCPUPipeline(OpPassManager &pm,
                                         const FDPipelineOptions &o) {
  addSplit(pm, o);
  pm.addPass(createConvertFDToSCF());
  pm.addPass(createSCFToControlFlowPass());
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createConvertToLLVMPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
}

void mlir::fd::registerFDPipelines() {
  PassPipelineRegistration<FDPipelineOptions>(
      "fd-lower-to-ptx",
      "Lower fd ops to PTX in a gpu.binary: split-KV, fd kernels, NVVM, "
      "NVPTX (options: chip, features, opt-level, split and kernel knobs)",
      buildFDLowerToPTXPipeline);
  PassPipelineRegistration<FDPipelineOptions>(
      "fd-lower-to-cpu",
      "Lower fd ops to reference loops in the LLVM dialect, runnable with "
      "mlir-runner (checks the split/merge semantics without a GPU)",
      buildFDLowerToCPUPipeline);
}
