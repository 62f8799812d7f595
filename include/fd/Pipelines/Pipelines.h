//===- Pipelines.h - fd's pass pipelines ------------------------*- C++ -*-===//
#ifndef FD_PIPELINES_PIPELINES_H
#define FD_PIPELINES_PIPELINES_H

#include "fd/Conversion/Passes.h"
#include "fd/Dialect/FD/Transforms/Passes.h"

#include "mlir/Pass/PassOptions.h"

#include <string>

namespace mlir {
class OpPassManager;
namespace fd {

/// The NVPTX optimisation levels (`opt-level`): 0 to 3, as for llc.
inline constexpr int kMaxOptLevel = 3;

/// Options of the fd pipelines. Those that configure a pass take their
/// defaults from the pass's generated options struct, so each default (and
/// its measurement, in Passes.td) is defined once.
struct FDPipelineOptions : public PassPipelineOptions<FDPipelineOptions> {
  static inline const FDSplitKVOptions kSplit{};
  static inline const FDUnifiedMaxOptions kUnifiedMax{};
  static inline const ConvertFDToGPUOptions kGPU{};
  static inline const FDTileFlatGemmOptions kTile{};

  PassOptions::Option<std::string> chip{
      *this, "chip", llvm::cl::desc("GPU architecture, e.g. sm_90 or sm_80"),
      llvm::cl::init("sm_90")};
  PassOptions::Option<std::string> features{
      *this, "features",
      llvm::cl::desc("PTX features; sm_90 needs +ptx80 or newer"),
      llvm::cl::init("+ptx80")};
  PassOptions::Option<int> optLevel{*this, "opt-level",
                                    llvm::cl::desc("NVPTX optimisation level (0-3)"),
                                    llvm::cl::init(3)};
  PassOptions::Option<int64_t> numSplits{
      *this, "num-splits", llvm::cl::desc("Fixed split count (0: auto)"),
      llvm::cl::init(kSplit.numSplits)};
  PassOptions::Option<int64_t> chunkSize{
      *this, "chunk-size", llvm::cl::desc("Fixed chunk size (0: auto)"),
      llvm::cl::init(kSplit.chunkSize)};
  PassOptions::Option<int64_t> smCount{
      *this, "sm-count", llvm::cl::desc("auto split: SMs of the target"),
      llvm::cl::init(kSplit.smCount)};
  PassOptions::Option<int64_t> ctasPerSM{
      *this, "ctas-per-sm",
      llvm::cl::desc("auto split: CTAs per SM (the runtime caps it at the "
                     "partial kernel's occupancy)"),
      llvm::cl::init(kSplit.ctasPerSM)};
  PassOptions::Option<int64_t> minChunk{
      *this, "min-chunk", llvm::cl::desc("auto split: smallest chunk"),
      llvm::cl::init(kSplit.minChunk)};
  PassOptions::Option<int64_t> chunkAlign{
      *this, "chunk-align", llvm::cl::desc("auto split: chunk multiple"),
      llvm::cl::init(kSplit.chunkAlign)};
  PassOptions::Option<int64_t> maxSplits{
      *this, "max-splits", llvm::cl::desc("auto split: most splits"),
      llvm::cl::init(kSplit.maxSplits)};
  PassOptions::Option<double> unifiedMaxPhi{
      *this, "unified-max-phi",
      llvm::cl::desc("Run fd-unified-max with this phi before splitting "
                     "(unset: keep each op's softmax strategy)")};
  PassOptions::Option<double> unifiedMaxThreshold{
      *this, "unified-max-threshold",
      llvm::cl::desc("fd-unified-max threshold (with unified-max-phi)"),
      llvm::cl::init(kUnifiedMax.threshold)};
  PassOptions::Option<int64_t> blockSize{
      *this, "block-size",
      llvm::cl::desc("Threads per CTA of the partial kernel"),
      llvm::cl::init(kGPU.blockSize)};
  PassOptions::Option<int64_t> unroll{
      *this, "unroll", llvm::cl::desc("Tokens in flight per thread group"),
      llvm::cl::init(kGPU.unroll)};
  PassOptions::Option<int64_t> mmaMinGroup{
      *this, "mma-min-group",
      llvm::cl::desc("Smallest GQA group on tensor cores (0: never)"),
      llvm::cl::init(kGPU.mmaMinGroup)};
  PassOptions::Option<int64_t> mmaStages{
      *this, "mma-stages",
      llvm::cl::desc("Tensor-core cp.async ring depth (0: by head dim)"),
      llvm::cl::init(kGPU.mmaStages)};
  PassOptions::Option<int64_t> mmaWarps{
      *this, "mma-warps",
      llvm::cl::desc("Warps per CTA of the tensor-core kernels (4 or 8)"),
      llvm::cl::init(kGPU.mmaWarps)};
  PassOptions::Option<bool> speculativeFirstTile{
      *this, "speculative-first-tile",
      llvm::cl::desc("Tensor-core kernels copy a contiguous cache's first "
                     "tile of each split before the length arrives"),
      llvm::cl::init(kGPU.speculativeFirstTile)};
  PassOptions::Option<int64_t> clusterSplits{
      *this, "cluster-splits",
      llvm::cl::desc("CTAs per cluster of the split_cluster variant (0: not "
                     "built)"),
      llvm::cl::init(kGPU.clusterSplits)};
  PassOptions::Option<bool> pdl{
      *this, "pdl",
      llvm::cl::desc("Programmatic dependent launch: every kernel waits for "
                     "the previous grid (griddepcontrol) and may be launched "
                     "while it runs (fd-programmatic-launch; sm_90 and later)"),
      llvm::cl::init(true)};
  // Flat GEMM knobs, mirroring fd-tile-flat-gemm's options.
  PassOptions::Option<int64_t> gemmStages{
      *this, "gemm-stages", llvm::cl::desc("Flat GEMM: cp.async stages"),
      llvm::cl::init(kTile.stages)};
  PassOptions::Option<int64_t> gemmTileN{
      *this, "gemm-tile-n", llvm::cl::desc("Flat GEMM: W rows per CTA"),
      llvm::cl::init(kTile.tileN)};
  PassOptions::Option<int64_t> gemmTileK{
      *this, "gemm-tile-k", llvm::cl::desc("Flat GEMM: most K per stage"),
      llvm::cl::init(kTile.tileK)};
  PassOptions::Option<int64_t> gemmSplitK{
      *this, "gemm-split-k",
      llvm::cl::desc("Flat GEMM: warps per CTA splitting each K tile"),
      llvm::cl::init(kTile.splitK)};
  PassOptions::ListOption<int64_t> gemmPadM{
      *this, "gemm-pad-m",
      llvm::cl::desc("Flat GEMM: M rows per CTA of each tensor-core variant "
                     "(default 8,16,32,64)")};
  PassOptions::Option<int64_t> gemmWideFrom{
      *this, "gemm-wide-from",
      llvm::cl::desc("Flat GEMM: ring tiles of at least this many rows get "
                     "the wide tiling (0: none)"),
      llvm::cl::init(kTile.wideFrom)};
  PassOptions::Option<int64_t> gemmWideTileN{
      *this, "gemm-wide-tile-n",
      llvm::cl::desc("Flat GEMM: W rows per CTA of the wide tiling"),
      llvm::cl::init(kTile.wideTileN)};
  PassOptions::Option<int64_t> gemmWideTileK{
      *this, "gemm-wide-tile-k",
      llvm::cl::desc("Flat GEMM: most K per stage of the wide tiling"),
      llvm::cl::init(kTile.wideTileK)};
  PassOptions::Option<int64_t> gemmWideStages{
      *this, "gemm-wide-stages",
      llvm::cl::desc("Flat GEMM: cp.async stages of the wide tiling"),
      llvm::cl::init(kTile.wideStages)};
  PassOptions::Option<int64_t> gemmClusterK{
      *this, "gemm-cluster-k",
      llvm::cl::desc("Flat GEMM: CTAs of a cluster splitting K in the wide "
                     "tiling (0: auto)"),
      llvm::cl::init(kTile.clusterK)};
  PassOptions::Option<bool> gemmOnlyDispatched{
      *this, "gemm-only-dispatched",
      llvm::cl::desc("Flat GEMM: emit only the kernels of the default "
                     "dispatch (faster to compile; tables can choose no "
                     "other)"),
      llvm::cl::init(kTile.onlyDispatched)};
  PassOptions::Option<int64_t> gemmGemvWarps{
      *this, "gemm-gemv-warps",
      llvm::cl::desc("Flat GEMM: GEMV warps (outputs) per CTA"),
      llvm::cl::init(kTile.gemvWarps)};
  PassOptions::Option<int64_t> gemmGemvUnroll{
      *this, "gemm-gemv-unroll",
      llvm::cl::desc("Flat GEMM: GEMV 16-byte loads in flight per lane"),
      llvm::cl::init(kTile.gemvUnroll)};
  PassOptions::ListOption<std::string> gemmDispatch{
      *this, "gemm-dispatch",
      llvm::cl::desc("Flat GEMM: default dispatch rules <maxM>:<kernel>,... "
                     "(fd-tile-flat-gemm's dispatch)")};
  PassOptions::Option<bool> gemmDirect{
      *this, "gemm-direct",
      llvm::cl::desc("Flat GEMM: emit the register-direct tensor-core "
                     "variants (for the dispatch rules and tables)"),
      llvm::cl::init(kTile.direct)};
  PassOptions::ListOption<int64_t> gemmDirectPadM{
      *this, "gemm-direct-pad-m",
      llvm::cl::desc("Flat GEMM: M rows per CTA of each direct variant "
                     "(8, 16, 32 or 64; default 16,32,64)")};
  PassOptions::Option<int64_t> gemmDirectSplitK{
      *this, "gemm-direct-split-k",
      llvm::cl::desc("Flat GEMM: warps per CTA splitting K in the direct "
                     "variants (0: auto)"),
      llvm::cl::init(kTile.directSplitK)};
  PassOptions::Option<bool> gemmDirectPrefetch{
      *this, "gemm-direct-prefetch",
      llvm::cl::desc("Flat GEMM: direct variants load the next iteration "
                     "before the MMAs of the current one"),
      llvm::cl::init(kTile.directPrefetch)};
  PassOptions::Option<int64_t> gemmDirectUnroll{
      *this, "gemm-direct-unroll",
      llvm::cl::desc("Flat GEMM: 32-wide K steps per warp and iteration in "
                     "the direct variants"),
      llvm::cl::init(kTile.directUnroll)};
};

/// fd ops -> split form -> gpu.module kernels + host launches (still in
/// gpu/arith/scf/vector form, the kernels carrying their fd.* attributes).
void buildFDToGPUPipeline(OpPassManager &pm, const FDPipelineOptions &options);

/// The output of buildFDToGPUPipeline -> NVVM -> gpu.binary holding PTX,
/// through upstream's GPU-to-NVVM pipeline.
void buildGPUToPTXPipeline(OpPassManager &pm, const FDPipelineOptions &options);

/// Both of the above: `fd-lower-to-ptx`.
void buildFDLowerToPTXPipeline(OpPassManager &pm,
                               const FDPipelineOptions &options);

/// fd ops -> split form -> reference loops -> LLVM dialect, runnable on the
/// CPU with mlir-runner: `fd-lower-to-cpu`.
void buildFDLowerToCPUPipeline(OpPassManager &pm,
                               const FDPipelineOptions &options);

/// Whether LLVM's NVPTX backend knows \p chip (e.g. sm_80, sm_90, sm_90a).
/// fd-lower-to-ptx checks its chip option with it before lowering.
bool isKnownChip(llvm::StringRef chip);

/// Registers `fd-lower-to-ptx` and `fd-lower-to-cpu`.
void registerFDPipelines();
} // namespace fd
} // namespace mlir

#endif // FD_PIPELINES_PIPELINES_H
