//===- Bundle.h - The fd kernel bundle (manifest + PTX) ---------*- C++ -*-===//
//
// A bundle (docs/bundle.md) is one JSON file written by fd-compile: PTX
// modules plus entries that say which kernels to launch, with what grid and
// which arguments. This header is the manifest's data model; Bundle::load*
// (ManifestReader.cpp) parses and validates it completely, with no GPU
// involved, and nothing else in the runtime re-checks it. The names the
// manifest spells are those of fd/Bundle/Schema.h.
//
//===----------------------------------------------------------------------===//

#ifndef FD_RUNTIME_BUNDLE_H
#define FD_RUNTIME_BUNDLE_H

#include "fd/Bundle/Schema.h"
#include "fd/Runtime/Export.h"
#include "fd/Runtime/Status.h"

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fd::rt {

/// Most kernel parameters one kernel may take after memref expansion. The
/// launch path packs parameters into a fixed array of this size so that it
/// never allocates; 512 eight-byte slots are CUDA's 4 KB of parameters
/// (fd.merge_states of 16 states takes 272).
constexpr size_t kMaxKernelParams = 512;

/// Most workspace buffers one entry may declare (fixed-size layout arrays).
constexpr size_t kMaxWorkspaceBuffers = 16;

/// Element types of tensors, workspace buffers and scalar arguments.
enum class DType : int {
  F16 = 0,
  BF16 = 1,
  F32 = 2,
  I32 = 3,
  I64 = 4,
  F64 = 5
};

/// "f16", "bf16", "f32", "i32", "i64" or "f64".
FD_RT_API const char *dtypeName(DType type);
/// Size of one element in bytes.
FD_RT_API size_t dtypeSize(DType type);
/// Parses a dtype name; std::nullopt for an unknown one.
FD_RT_API std::optional<DType> parseDType(std::string_view name);

/// The symbolic sizes of docs/bundle.md (fdb::symbol).
enum class Symbol : int {
  B,     ///< batch
  Hq,    ///< query heads
  Hkv,   ///< key/value heads
  D,     ///< head dim
  L,     ///< K/V cache capacity (dim 2 of k and v)
  S,     ///< number of KV splits
  Chunk, ///< tokens per split
  M,     ///< flat GEMM: rows of x and y
  MT,    ///< flat GEMM: ceil(M / m_tile) of the kernel launched
};
constexpr int kNumSymbols = 9;

/// The symbol's name in the manifest (fdb::symbol).
FD_RT_API const char *symbolName(Symbol symbol);
/// Parses a symbol name; std::nullopt for an unknown one.
FD_RT_API std::optional<Symbol> parseSymbol(std::string_view name);

/// A grid extent or workspace dimension: a symbol or a constant.
struct SizeExpr {
  std::optional<Symbol> symbol;
  int64_t constant = 1;
};

/// "B" or "7".
FD_RT_API std::string toString(const SizeExpr &size);

/// One PTX module.
struct ModuleSpec {
  std::string name;
  std::string chip; ///< "sm_90", "sm_90a", "sm_100f", ...
  std::string features;
  std::string ptx;
  /// Compute capability the PTX targets, parsed from chip.
  int ccMajor = 0;
  int ccMinor = 0;
  /// 'a' (arch-specific: that exact chip only), 'f' (family: same major,
  /// equal or newer minor) or 0 (any equal or newer chip, via the JIT).
  char archSuffix = 0;
};

/// Whether PTX for \p module can be loaded on a device of compute capability
/// major.minor; the error names the module, its chip and the device's.
/// Defined in PtxInfo.cpp.
FD_RT_API Status checkChipCompatible(const ModuleSpec &module, int ccMajor,
                                     int ccMinor);

enum class OpKind { DecodeAttention, FlatGemm, MergeStates };
enum class SplitMode { Auto, Fixed, Chunk };

/// SplitPolicy::raggedWaves' default. Measured on the H200 (docs/perf.md,
/// session 14): B = 16, 32/8, lengths uniform in [1, 32K].
inline constexpr int64_t kDefaultRaggedWaves = 4;
/// The most waves a ragged split may aim at.
inline constexpr int64_t kMaxRaggedWaves = 64;

/// How the planner chooses S and chunk (docs/bundle.md, "Split planning").
struct SplitPolicy {
  SplitMode mode = SplitMode::Auto;
  int64_t numSplits = 0; ///< mode fixed
  int64_t chunkSize = 0; ///< mode chunk
  int64_t ctasPerSm = 1;
  int64_t minChunk = 1;
  int64_t chunkAlign = 1;
  int64_t maxSplits = 1;
  /// A ragged batch (fewer real tokens than batch * maxLen): how many waves
  /// of resident CTAs its split aims at, so that a chunk is about
  /// 1 / raggedWaves of an SM's share of the real tokens and the block
  /// scheduler's last CTAs leave little of the GPU idle. The runtime's
  /// constant, not the manifest's (fd-bench --ragged-waves sweeps it).
  int64_t raggedWaves = kDefaultRaggedWaves;
};

struct SoftmaxSpec {
  std::string kind; ///< fdb::softmax::kOnline or kUnifiedMax
  double phi = 0;
  double threshold = 0;
};

/// A caller-provided scratch buffer, contiguous row-major over its shape.
struct WorkspaceSpec {
  std::string name;
  DType elem = DType::F32;
  std::vector<SizeExpr> shape;
};

/// What a kernel argument is bound to.
enum class ArgSource {
  Q,
  K,
  V,
  Lens,
  Out,
  Workspace, ///< ArgSpec::workspaceIndex says which buffer
  Symbol,    ///< a scalar: ArgSpec::symbol's value
  Scale,     ///< a scalar: the entry's softmax scale
  X,         ///< flat GEMM input x [M, K]
  W,         ///< flat GEMM weight W [N, K]
  Bias,      ///< flat GEMM bias [N]
  Y,         ///< flat GEMM output y [M, N]
  BlockTable, ///< paged KV cache: page indices [B, max_pages] (CSR: [nnz_pages])
  Lse,        ///< log-sum-exp output [B, Hq] f32
  PageIndptr, ///< CSR page addressing: [B + 1] offsets into block_table
  StateOut,   ///< merge_states: state ArgSpec::stateIndex's out [B, Hq, D]
  StateLse,   ///< merge_states: state ArgSpec::stateIndex's lse [B, Hq] f32
  Other,     ///< not bound (the reader refuses what it cannot bind)
};

struct ArgSpec {
  enum class Kind { Memref, Scalar };
  Kind kind = Kind::Memref;
  std::string bind;
  DType elem = DType::F32; ///< memref element type, or the scalar's type
  int rank = 0;            ///< memref only
  ArgSource source = ArgSource::Other;
  int workspaceIndex = -1;
  /// StateOut and StateLse: which state (0 .. num_states - 1).
  int stateIndex = -1;
  Symbol symbol = Symbol::B;
  /// Memrefs: the static sizes and strides the kernel was compiled for (-1
  /// where dynamic) and whether its layout is the identity; empty when the
  /// manifest does not record them (older bundles).
  std::vector<int64_t> sizes, strides;
  bool contiguous = false;

  /// Kernel parameters this argument expands to (3 + 2 * rank for memrefs).
  size_t getNumParams() const {
    return kind == Kind::Memref ? 3 + 2 * static_cast<size_t>(rank) : 1;
  }
};

/// Register and memory use reported by ptxas when the bundle was built.
struct ResourceInfo {
  int64_t registers = 0;
  int64_t spillBytes = 0;
  int64_t sharedBytes = 0;
};

struct FD_RT_API KernelSpec {
  std::string symbol; ///< .entry name in the module's PTX
  std::string module;
  size_t moduleIndex = 0;
  /// What the kernel does: fdb::role (attention) or its tiling,
  /// fdb::gemm_kernel (flat GEMM).
  std::string role;
  /// Grid extents x, y, z; those the manifest leaves out are 1.
  std::array<SizeExpr, 3> grid;
  /// How many extents the manifest gave (1 to 3), for printing.
  size_t gridRank = 3;
  std::array<uint32_t, 3> block = {1, 1, 1};
  int64_t staticSmem = 0;
  int64_t dynamicSmem = 0;
  std::vector<ArgSpec> args;
  std::optional<ResourceInfo> resources;
  /// GEMM kernels: rows of M per CTA (the "MT" grid symbol).
  int64_t mTile = 0;
  /// The kernel waits for the previous grid before touching memory
  /// (fd-programmatic-launch), so it may be launched with programmatic
  /// stream serialization (manifest "pdl": true).
  bool pdl = false;
  /// CTAs per thread-block cluster (manifest "cluster"; {1, 1, 1}: none).
  /// Each grid extent is a multiple of it (the reader checks).
  std::array<uint32_t, 3> cluster = {1, 1, 1};
  bool hasCluster() const {
    return cluster[0] * cluster[1] * cluster[2] > 1;
  }

  size_t getNumParams() const;
};

/// For M up to maxM (and above the previous rule's maxM), use the GEMM
/// kernel `kernel` (a role, or in a dispatch table "cublas").
struct DispatchRule {
  int64_t maxM = 0;
  std::string kernel;
};

/// What a flat_gemm entry computes: y[M,N] = x[M,K] W[N,K]^T (+ bias[N]),
/// its GEMM kernels and the rules that choose between them
/// (docs/bundle.md, "Flat GEMM").
struct FlatGemmSpec {
  int64_t n = 0;
  int64_t k = 0;
  bool hasBias = false;
  DType outDtype = DType::F16;
  /// The manifest's default dispatch rules (empty: none given), as a
  /// dispatch table's: the first rule with M <= maxM, else the last one; a
  /// last rule without max_m has maxM INT64_MAX.
  std::vector<DispatchRule> dispatch;
  /// The GEMM kernels, one per tiling; each kernel's role names it
  /// (fdb::gemm_kernel). One is launched per call.
  std::vector<KernelSpec> kernels;
};

/// One launch variant of a decode_attention entry (docs/bundle.md,
/// "Variants"): a kernel sequence, launched in order, and its workspace.
struct VariantSpec {
  /// fdb::variant::*; "" for the one variant of an entry whose
  /// manifest lists none.
  std::string name;
  std::vector<WorkspaceSpec> workspace;
  std::vector<KernelSpec> kernels;
  /// The caller must zero the workspace once before the first run (the
  /// kernels leave it zeroed).
  bool workspaceZeroInit = false;
  /// Workspace indices of the unified-max state (docs/unified-max.md): the
  /// i32 fallback-row counter, the f32 phi and the i32[4] score statistics;
  /// -1 where the variant has none.
  int fallbackCounter = -1;
  int phiBuffer = -1;
  int scoreStats = -1;
};

/// One caller tensor of a decode_attention entry as its kernels take it
/// (the first kernel argument bound to it; the reader checks that every
/// other agrees).
struct TensorSpec {
  bool present = false;
  DType elem = DType::F16;
  int rank = 0;
  std::vector<int64_t> sizes, strides; ///< -1: dynamic; empty: unrecorded
  bool contiguous = false;
};

/// What a merge_states entry combines (docs/bundle.md, "Merge states"):
/// num_states attention states (out_i [B, Hq, D], lse_i [B, Hq] f32) into
/// the entry's out and, where its kernel binds one, lse (EntrySpec::tensors).
struct MergeStatesSpec {
  int64_t numStates = 0;
  /// Each state's out and lse as the kernel takes them, by state index.
  std::vector<TensorSpec> outs, lses;
  /// The one kernel (role merge_states): one CTA per (query head, sequence).
  std::vector<KernelSpec> kernels;
};

/// The caller tensors of a decode_attention entry, in TensorSpec order.
enum class Tensor : int { Q, K, V, Lens, Out, BlockTable, Lse, PageIndptr };
constexpr int kNumTensors = 8;

struct FD_RT_API EntrySpec {
  std::string name;
  OpKind op = OpKind::DecodeAttention;
  std::string opName;
  DType dtype = DType::F16;
  int64_t numQHeads = 0;
  int64_t numKvHeads = 0;
  int64_t headDim = 0;
  double scale = 0;
  SoftmaxSpec softmax;
  SplitPolicy split;
  /// decode_attention: its launch variants, at least one. The manifest's
  /// top-level "workspace" and "kernels" repeat the first of its "variants"
  /// (for readers without variants) and are variant 0 when it lists none.
  /// flat_gemm: empty.
  std::vector<VariantSpec> variants;
  /// op == FlatGemm only.
  FlatGemmSpec gemm;
  /// op == MergeStates only (numQHeads, headDim and dtype are its out's).
  MergeStatesSpec merge;

  /// Index of the variant named \p variantName, or -1.
  int findVariant(std::string_view variantName) const;
  /// decode_attention: its caller tensors (Tensor order). block_table is
  /// present for a paged KV cache (with page_indptr for CSR addressing),
  /// lse for an entry with that output. merge_states: out, and lse where
  /// it writes one.
  std::array<TensorSpec, kNumTensors> tensors;
  const TensorSpec &tensor(Tensor t) const {
    return tensors[static_cast<int>(t)];
  }
  /// Tokens per page of a paged KV cache (dim 2 of k), 0 if contiguous.
  int64_t pageSize = 0;
  /// Paged with CSR addressing: block_table is the flat page list
  /// [nnz_pages] and page_indptr [B + 1] says where each sequence's starts.
  bool isCsr() const { return tensor(Tensor::PageIndptr).present; }
};

/// The largest manifest read (1 GiB). An fd-compile bundle of 90 attention
/// entries is about 15 MB, so this leaves room for any real one while a
/// device or a runaway file (/dev/zero) is refused instead of being read
/// until allocation fails.
inline constexpr uint64_t kMaxBundleBytes = uint64_t(1) << 30;

/// A parsed, fully validated bundle. Immutable once loaded.
class FD_RT_API Bundle {
public:
  /// Reads and validates \p path, a regular file of at most
  /// kMaxBundleBytes. Errors name the file.
  static Expected<std::shared_ptr<const Bundle>>
  loadFile(const std::string &path);
  /// Validates a manifest held in memory, at most kMaxBundleBytes;
  /// \p sourceName prefixes errors.
  static Expected<std::shared_ptr<const Bundle>>
  loadMemory(std::string_view text, std::string_view sourceName = "<memory>");

  int64_t getVersion() const { return version; }
  const std::string &getProducer() const { return producer; }
  const std::vector<ModuleSpec> &getModules() const { return modules; }
  const std::vector<EntrySpec> &getEntries() const { return entries; }

  /// The entry called \p name, or null.
  const EntrySpec *findEntry(std::string_view name) const;
  /// Index of the entry called \p name, or -1.
  int findEntryIndex(std::string_view name) const;

private:
  friend class BundleReader;

  int64_t version = 0;
  std::string producer;
  std::vector<ModuleSpec> modules;
  std::vector<EntrySpec> entries;
};

} // namespace fd::rt

#endif // FD_RUNTIME_BUNDLE_H
