//===- Schema.h - The compiler-runtime contract of fd bundles ---*- C++ -*-===//
//
// Every name that crosses the boundary between fd's compiler and its runtime
// is defined here once: the manifest's keys and enumerated values, kernel
// roles, argument bindings, launch variants, workspace buffers, the size
// symbols, the IR attributes the passes leave for the bundle writer, and the
// split-plan formula. The compiler (passes, the bundle writer) and the
// runtime (the manifest reader, the planner) both include this header, so it
// depends on nothing but the C++ standard library: the runtime builds
// without LLVM. docs/bundle.md describes the format these names spell.
//
//===----------------------------------------------------------------------===//
#ifndef FD_BUNDLE_SCHEMA_H
#define FD_BUNDLE_SCHEMA_H

#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>
#include <string_view>

namespace fdb {

/// The manifest's "format", "version" and "producer".
inline constexpr std::string_view kFormat = "fd-bundle";
/// 2: a flat GEMM's "dispatch" is a list of rules ({max_m, kernel}), not
/// the m1/m2 thresholds of version 1.
inline constexpr int64_t kVersion = 2;
inline constexpr std::string_view kProducer = "fd-compile";
/// The one PTX module fd-compile writes (and its gpu.module / gpu.binary).
inline constexpr std::string_view kModuleName = "fd_kernels";

/// Keys of the manifest's JSON objects (docs/bundle.md).
namespace key {
// Top level and modules.
inline constexpr const char *kFormat = "format";
inline constexpr const char *kVersion = "version";
inline constexpr const char *kProducer = "producer";
inline constexpr const char *kModules = "modules";
inline constexpr const char *kEntries = "entries";
inline constexpr const char *kName = "name";
inline constexpr const char *kChip = "chip";
inline constexpr const char *kFeatures = "features";
inline constexpr const char *kPtx = "ptx";
// Entries.
inline constexpr const char *kOp = "op";
inline constexpr const char *kDtype = "dtype";
inline constexpr const char *kNumQHeads = "num_q_heads";
inline constexpr const char *kNumKvHeads = "num_kv_heads";
inline constexpr const char *kHeadDim = "head_dim";
inline constexpr const char *kScale = "scale";
inline constexpr const char *kSoftmax = "softmax";
inline constexpr const char *kKind = "kind";
inline constexpr const char *kPhi = "phi";
inline constexpr const char *kThreshold = "threshold";
inline constexpr const char *kSplit = "split";
inline constexpr const char *kMode = "mode";
inline constexpr const char *kNumSplits = "num_splits";
inline constexpr const char *kChunkSize = "chunk_size";
inline constexpr const char *kCtasPerSm = "ctas_per_sm";
inline constexpr const char *kMinChunk = "min_chunk";
inline constexpr const char *kChunkAlign = "chunk_align";
inline constexpr const char *kMaxSplits = "max_splits";
inline constexpr const char *kWorkspace = "workspace";
inline constexpr const char *kElem = "elem";
inline constexpr const char *kShape = "shape";
inline constexpr const char *kKernels = "kernels";
inline constexpr const char *kVariants = "variants";
inline constexpr const char *kWorkspaceInit = "workspace_init";
inline constexpr const char *kFallbackCounter = "fallback_counter";
inline constexpr const char *kPhiBuffer = "phi_buffer";
inline constexpr const char *kScoreStats = "score_stats";
// Flat GEMM entries.
inline constexpr const char *kN = "n";
inline constexpr const char *kK = "k";
inline constexpr const char *kHasBias = "has_bias";
inline constexpr const char *kOutDtype = "out_dtype";
// Merge-states entries: how many (out, lse) states one call combines.
inline constexpr const char *kNumStates = "num_states";
inline constexpr const char *kDispatch = "dispatch";
/// A flat GEMM "dispatch" rule: its largest M (absent on a last rule that
/// takes every larger M) and its kernel's role.
inline constexpr const char *kMaxM = "max_m";
inline constexpr const char *kKernel = "kernel";
// Kernels.
inline constexpr const char *kSymbol = "symbol";
inline constexpr const char *kModule = "module";
inline constexpr const char *kRole = "role";
inline constexpr const char *kGrid = "grid";
inline constexpr const char *kBlock = "block";
inline constexpr const char *kStaticSmem = "static_smem";
inline constexpr const char *kDynamicSmem = "dynamic_smem";
inline constexpr const char *kMTile = "m_tile";
inline constexpr const char *kPdl = "pdl";
/// [x, y, z] CTAs per thread-block cluster (absent: no cluster); the PTX
/// .entry declares the same by .reqnctapercluster.
inline constexpr const char *kCluster = "cluster";
inline constexpr const char *kArgs = "args";
inline constexpr const char *kBind = "bind";
inline constexpr const char *kRank = "rank";
/// A memref argument's static sizes and strides (-1: dynamic) and whether
/// its layout is the identity (row-major over its sizes): what the kernels
/// were compiled for, which the runtime holds every caller tensor to.
inline constexpr const char *kSizes = "sizes";
inline constexpr const char *kStrides = "strides";
inline constexpr const char *kContiguous = "contiguous";
inline constexpr const char *kType = "type";
inline constexpr const char *kResources = "resources";
inline constexpr const char *kRegisters = "registers";
inline constexpr const char *kSpillBytes = "spill_bytes";
inline constexpr const char *kSharedBytes = "shared_bytes";
} // namespace key

/// Values of the enumerated manifest fields.
namespace op {
inline constexpr std::string_view kDecodeAttention = "decode_attention";
inline constexpr std::string_view kFlatGemm = "flat_gemm";
inline constexpr std::string_view kMergeStates = "merge_states";
} // namespace op

/// The most CTAs of one thread-block cluster: sm_90's non-portable limit.
/// Above the portable size the runtime opts the kernel in
/// (CU_FUNC_ATTRIBUTE_NON_PORTABLE_CLUSTER_SIZE_ALLOWED) when it loads it.
inline constexpr int64_t kMaxClusterCtas = 16;
/// The cluster size every sm_90 launch supports without that opt-in.
inline constexpr int64_t kMaxPortableClusterCtas = 8;

/// The most states one fd.merge_states combines (the verifier's bound, the
/// manifest's num_states bound).
inline constexpr int64_t kMaxMergedStates = 16;
/// Elements of a row one thread of a merge_states kernel merges: one
/// 16-byte load per state. Its block is [head_dim / this, rows per CTA, 1]
/// and its grid [ceil(Hq / rows per CTA), B, 1] (the reader checks both).
inline constexpr int64_t kMergeStatesElemsPerThread = 8;
namespace softmax {
inline constexpr std::string_view kOnline = "online";
inline constexpr std::string_view kUnifiedMax = "unified_max";
} // namespace softmax
namespace split_mode {
inline constexpr std::string_view kAuto = "auto";
inline constexpr std::string_view kFixed = "fixed";
inline constexpr std::string_view kChunk = "chunk";
} // namespace split_mode
namespace arg_kind {
inline constexpr std::string_view kMemref = "memref";
inline constexpr std::string_view kScalar = "scalar";
} // namespace arg_kind
/// "workspace_init": the variant's workspace must start zeroed.
inline constexpr std::string_view kWorkspaceInitZero = "zero";
/// "workspace_init": no initialisation needed (the default).
inline constexpr std::string_view kWorkspaceInitNone = "none";

/// What a kernel does within its entry's launch sequence ("role").
namespace role {
/// Split-KV partial attention: one CTA per (split, KV head, sequence).
inline constexpr std::string_view kPartial = "partial";
/// Log-sum-exp merge of the partials.
inline constexpr std::string_view kMerge = "merge";
/// Partial and merge in one launch (unsplit, single_launch).
inline constexpr std::string_view kFused = "fused";
/// fd.merge_states: one CTA per (query head, sequence).
inline constexpr std::string_view kMergeStates = "merge_states";
} // namespace role

/// Launch variants of an attention entry: alternative kernel sequences for
/// the same computation, chosen per call by the runtime's planner.
namespace variant {
/// Online softmax, split KV: partial + merge.
inline constexpr std::string_view kSplit = "split";
/// Online softmax, one CTA per (sequence, KV head), no workspace.
inline constexpr std::string_view kUnsplit = "unsplit";
/// Online softmax, split KV in one launch: a thread-block cluster per
/// (sequence, KV head) whose CTAs take equal chunks of the sequence and
/// merge them through distributed shared memory; no workspace.
inline constexpr std::string_view kSplitCluster = "split_cluster";
/// split_cluster's CTAs split a sequence into chunks of whole tiles of this
/// many tokens, computed on the device from its length.
inline constexpr int64_t kSplitClusterChunkAlign = 64;
/// Unified max: partial + merge (with the exact fallback).
inline constexpr std::string_view kTwoKernel = "two_kernel";
/// Unified max: one launch, the last CTA of a row merges.
inline constexpr std::string_view kSingleLaunch = "single_launch";

/// Whether \p name carries the unified-max state buffers (fallback counter,
/// phi, score statistics) and a zero-initialised workspace.
constexpr bool isUnifiedMax(std::string_view name) {
  return name == kTwoKernel || name == kSingleLaunch;
}
/// Whether \p name is one of the variants above: the runtime plans and
/// launches no other.
constexpr bool isKnown(std::string_view name) {
  return name == kSplit || name == kUnsplit || name == kSplitCluster ||
         isUnifiedMax(name);
}
/// Whether \p name's kernels need their workspace zeroed once and leave it
/// zeroed (counters and accumulators that the last CTA of a row resets).
constexpr bool keepsWorkspaceZero(std::string_view name) {
  return isUnifiedMax(name);
}
} // namespace variant

/// The head dims D the attention kernels are written for (the fd dialect's
/// verifier accepts the same).
constexpr bool isSupportedHeadDim(int64_t d) {
  return d == 64 || d == 128 || d == 256;
}

/// Flat GEMM kernels: each kernel of a flat_gemm entry is one tiling, its
/// role names it ("gemv", "mma_m<P>", "direct_m<P>"; P rows of M per CTA).
namespace gemm_kernel {
inline constexpr std::string_view kGemv = "gemv";
inline constexpr std::string_view kMmaPrefix = "mma_m";
inline constexpr std::string_view kDirectPrefix = "direct_m";

constexpr bool isGemv(std::string_view role) { return role == kGemv; }
constexpr bool isMma(std::string_view role) {
  return role.substr(0, kMmaPrefix.size()) == kMmaPrefix;
}
constexpr bool isDirect(std::string_view role) {
  return role.substr(0, kDirectPrefix.size()) == kDirectPrefix;
}
constexpr bool isGemmKernel(std::string_view role) {
  return isGemv(role) || isMma(role) || isDirect(role);
}
/// The role of the ring (mma) / register-direct kernel with P rows of M.
inline std::string mmaRole(int64_t rows) {
  return std::string(kMmaPrefix) + std::to_string(rows);
}
inline std::string directRole(int64_t rows) {
  return std::string(kDirectPrefix) + std::to_string(rows);
}
} // namespace gemm_kernel

/// What a kernel argument is bound to ("bind"): a caller tensor, a workspace
/// buffer (by its name) or a scalar.
namespace binding {
// Attention tensors.
inline constexpr std::string_view kQ = "q";
inline constexpr std::string_view kK = "k";
inline constexpr std::string_view kV = "v";
inline constexpr std::string_view kLens = "lens";
inline constexpr std::string_view kOut = "out";
/// Paged KV cache: [B, max_pages] page indices (docs/bundle.md, "Paged").
inline constexpr std::string_view kBlockTable = "block_table";
/// CSR page addressing: [B + 1] offsets of each sequence's pages in the
/// flat block_table [nnz_pages] (docs/bundle.md, "Paged").
inline constexpr std::string_view kPageIndptr = "page_indptr";
/// Optional log-sum-exp output [B, Hq] f32.
inline constexpr std::string_view kLse = "lse";
/// fd.merge_states: state i's output [B, Hq, D] and log-sum-exp [B, Hq]
/// ("state_out_0", "state_lse_0", ...).
inline constexpr std::string_view kStateOutPrefix = "state_out_";
inline constexpr std::string_view kStateLsePrefix = "state_lse_";
// Flat GEMM tensors.
inline constexpr std::string_view kX = "x";
inline constexpr std::string_view kW = "w";
inline constexpr std::string_view kBias = "bias";
inline constexpr std::string_view kY = "y";
// Scalars.
inline constexpr std::string_view kScale = "scale";
/// Another name of the scalar binding symbol::kS (the merge's split count).
inline constexpr std::string_view kNumSplits = "num_splits";
// Workspace buffers (their "name" in the manifest's workspace).
inline constexpr std::string_view kPartialAcc = "partial_acc";
inline constexpr std::string_view kPartialMax = "partial_max";
inline constexpr std::string_view kPartialSum = "partial_sum";
inline constexpr std::string_view kFallbackCount = "fallback_count";
inline constexpr std::string_view kPhi = "phi";
inline constexpr std::string_view kScoreStats = "score_stats";
inline constexpr std::string_view kRowFlags = "row_flags";
inline constexpr std::string_view kUaAcc = "ua_acc";
inline constexpr std::string_view kUaSum = "ua_sum";
inline constexpr std::string_view kUaMax = "ua_max";
inline constexpr std::string_view kUaCount = "ua_count";
} // namespace binding

/// The symbolic sizes of grids, workspace shapes and scalar bindings.
namespace symbol {
inline constexpr std::string_view kB = "B";     ///< batch
inline constexpr std::string_view kHq = "Hq";   ///< query heads
inline constexpr std::string_view kHkv = "Hkv"; ///< key/value heads
inline constexpr std::string_view kD = "D";     ///< head dim
inline constexpr std::string_view kL = "L";     ///< K/V cache capacity
inline constexpr std::string_view kS = "S";     ///< KV splits
inline constexpr std::string_view kChunk = "chunk"; ///< tokens per split
inline constexpr std::string_view kM = "M";   ///< flat GEMM rows
inline constexpr std::string_view kMT = "MT"; ///< ceil(M / m_tile)
} // namespace symbol

/// One workspace buffer of a launch variant: f32/i32 elements, row-major
/// over `shape` (symbols or decimal constants).
struct WorkspaceBuffer {
  std::string_view name;
  std::string_view elem;
  std::string_view shape[4];
  int rank;
};

/// The workspace of each launch variant, in layout order. The unified-max
/// state (fallback counter, phi, score statistics) comes first so that its
/// offsets (0, 256, 512) do not depend on B or S: it lives across calls.
namespace workspace {
inline constexpr WorkspaceBuffer kUnifiedMaxState[] = {
    {binding::kFallbackCount, "i32", {"1"}, 1},
    {binding::kPhi, "f32", {"1"}, 1},
    {binding::kScoreStats, "i32", {"4"}, 1},
};
inline constexpr WorkspaceBuffer kPartials[] = {
    {binding::kPartialAcc, "f32", {symbol::kB, symbol::kHq, symbol::kS,
                                   symbol::kD}, 4},
    {binding::kPartialMax, "f32", {symbol::kB, symbol::kHq, symbol::kS}, 3},
    {binding::kPartialSum, "f32", {symbol::kB, symbol::kHq, symbol::kS}, 3},
};
inline constexpr WorkspaceBuffer kRowFlags[] = {
    {binding::kRowFlags, "i32", {symbol::kB, symbol::kHq}, 2},
};
inline constexpr WorkspaceBuffer kSingleLaunch[] = {
    {binding::kUaAcc, "f32", {symbol::kB, symbol::kHq, symbol::kD}, 3},
    {binding::kUaSum, "f32", {symbol::kB, symbol::kHq}, 2},
    {binding::kUaMax, "i32", {symbol::kB, symbol::kHq}, 2},
    {binding::kUaCount, "i32", {symbol::kB, symbol::kHkv}, 2},
};

/// Calls \p fn on every buffer of \p variant's workspace, in layout order.
template <typename Fn> void forEachBuffer(std::string_view variant, Fn fn) {
  auto each = [&](const auto &buffers) {
    for (const WorkspaceBuffer &b : buffers)
      fn(b);
  };
  if (variant::isUnifiedMax(variant))
    each(kUnifiedMaxState);
  if (variant == variant::kSingleLaunch)
    each(kSingleLaunch);
  // unsplit and split_cluster write the output themselves.
  else if (variant != variant::kUnsplit && variant != variant::kSplitCluster)
    each(kPartials);
  if (variant == variant::kTwoKernel)
    each(kRowFlags);
}
} // namespace workspace

/// Attributes the compiler's passes leave on kernels (gpu.func) and their
/// arguments for the bundle writer; never seen by the runtime.
namespace ir {
inline constexpr const char *kRole = "fd.role";       ///< role::*
inline constexpr const char *kEntry = "fd.entry";     ///< source func name
inline constexpr const char *kGrid = "fd.grid";       ///< symbols or ints
inline constexpr const char *kVariant = "fd.variant"; ///< variant::*
inline constexpr const char *kSoftmax = "fd.softmax"; ///< strategy attribute
/// On each kernel argument: its binding (binding::*, symbol::*).
inline constexpr const char *kBinding = "fd.binding";
/// Flat GEMM kernels: rows of M per CTA along the grid (i64).
inline constexpr const char *kMTile = "fd.m_tile";
/// Bytes of dynamic shared memory (i64).
inline constexpr const char *kDynamicSmem = "fd.dynamic_smem";
/// The kernel waits for the previous grid (fd-programmatic-launch).
inline constexpr const char *kPdl = "fd.pdl";
/// CTAs per thread-block cluster [x, y, z] (i64 array; absent: none).
inline constexpr const char *kCluster = "fd.cluster";
/// On a function: how fd-split-kv split its attention (a dictionary with
/// the manifest's split keys: mode, num_splits, chunk_size and the auto
/// plan's constants), read by the bundle writer.
inline constexpr const char *kSplit = "fd.split";
/// On a function: a flat GEMM's default dispatch rules (an array of
/// dictionaries with the manifest's rule keys max_m, kernel), from
/// fd-tile-flat-gemm.
inline constexpr const char *kDispatch = "fd.dispatch";
} // namespace ir

//===----------------------------------------------------------------------===//
// The split plan
//===----------------------------------------------------------------------===//

/// The largest count the manifest carries: the split fields (num_splits,
/// chunk_size and the auto plan's constants) and a flat GEMM's n, k and
/// dispatch bounds (max_m). The kernels take them as i32, so the runtime
/// rejects larger values and the compiler refuses to write them. Every such
/// field is also at least 1 where it is used (the unused split fields: 0).
inline constexpr int64_t kMaxCount = 2147483647; // INT32_MAX

/// The largest magnitude of the unified max's phi and threshold (FLT_MAX):
/// the kernels compute with them in f32, so a larger value would become
/// infinite there.
inline constexpr double kMaxUnifiedMaxValue = 3.40282346638528859812e+38;

/// The constants of the auto split plan and their defaults (fd-split-kv's
/// options, the manifest's "split" object). ctas_per_sm 16: the runtime caps
/// it at the partial kernel's occupancy, so it asks for as many splits as one
/// wave of resident CTAs holds; min_chunk 32: short contexts split finer
/// (fd-bench measured 1.6x at L = 512-1K against 256; docs/perf.md).
struct SplitConstants {
  int64_t ctasPerSm = 16;
  int64_t minChunk = 32;
  int64_t chunkAlign = 64;
  int64_t maxSplits = 256;
};

/// The split-plan formula (fd.split_plan's description, docs/bundle.md
/// "Split planning"), written once over an arithmetic domain so that the
/// compiler can emit it as IR (Ops over mlir::Value) and the runtime can
/// evaluate it (IntOps over int64_t). Ops provides c(int64_t), ceilDiv,
/// div, max, min, mul and selectGe(a, b, x, y) = a >= b ? x : y, all
/// unsigned.
template <typename Ops, typename V> struct SplitFormula {
  Ops &o;

  /// Splits that make `work` CTAs fill `target` CTA slots: one when the
  /// work alone fills them, else ceil(target / work).
  V splitsToFill(V work, V target) {
    work = o.max(work, o.c(1));
    return o.selectGe(work, target, o.c(1), o.ceilDiv(target, work));
  }
  /// The most splits whose `work` CTAs still fit in one wave of `slots`
  /// resident CTAs (the runtime, which knows the kernel's occupancy).
  V splitsInOneWave(V work, V slots) {
    return o.max(o.c(1), o.div(slots, o.max(work, o.c(1))));
  }
  /// Clamps the wanted splits: no split shorter than minChunk, at most
  /// maxSplits. Returns {numSplits, chunk}; rounding chunk up to chunkAlign
  /// can leave trailing splits empty, and those are dropped.
  std::pair<V, V> finish(V splits, V maxLen, V minChunk, V maxSplits,
                         V chunkAlign) {
    splits = o.min(splits, o.max(o.c(1), o.ceilDiv(maxLen, minChunk)));
    splits = o.min(splits, maxSplits);
    V chunk = chunkForSplits(splits, maxLen, chunkAlign);
    return {o.max(o.c(1), o.ceilDiv(maxLen, chunk)), chunk};
  }
  /// The chunk of a fixed split count: ceil(max(maxLen, 1) / S), rounded
  /// up to chunkAlign.
  V chunkForSplits(V splits, V maxLen, V chunkAlign) {
    V chunk = o.ceilDiv(o.max(maxLen, o.c(1)), splits);
    return o.mul(o.ceilDiv(chunk, chunkAlign), chunkAlign);
  }
};

/// SplitFormula's domain for host integers.
struct IntOps {
  int64_t c(int64_t v) const { return v; }
  int64_t ceilDiv(int64_t a, int64_t b) const { return (a + b - 1) / b; }
  int64_t div(int64_t a, int64_t b) const { return a / b; }
  int64_t max(int64_t a, int64_t b) const { return std::max(a, b); }
  int64_t min(int64_t a, int64_t b) const { return std::min(a, b); }
  int64_t mul(int64_t a, int64_t b) const { return a * b; }
  int64_t selectGe(int64_t a, int64_t b, int64_t x, int64_t y) const {
    return a >= b ? x : y;
  }
};

} // namespace fdb

#endif // FD_BUNDLE_SCHEMA_H
