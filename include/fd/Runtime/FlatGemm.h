//===- FlatGemm.h - Flat GEMM arguments, dispatch and launch ----*- C++ -*-===//
//
// A flat_gemm entry holds several GEMM kernels for one [N, K]: a CUDA-core
// GEMV and tensor-core kernels that pad M to 8, 16, 32 ... rows per CTA.
// Which one is fastest depends on M and the device, so the kernel is chosen
// per call from M: by a dispatch table measured with fd-tune when one is
// given, otherwise by the entry's thresholds M1 (GEMV -> tensor cores) and
// M2 (smallest fitting tile -> largest tile). (They are not launch variants:
// an attention variant is a whole kernel sequence, a GEMM kernel is one
// launch.) Everything here except FlatGemm::run is pure host logic,
// testable without a GPU.
//
//===----------------------------------------------------------------------===//

#ifndef FD_RUNTIME_FLATGEMM_H
#define FD_RUNTIME_FLATGEMM_H

#include "fd/Runtime/Arguments.h"
#include "fd/Runtime/Bundle.h"
#include "fd/Runtime/Context.h"
#include "fd/Runtime/Cublas.h"
#include "fd/Runtime/Export.h"
#include "fd/Runtime/Launch.h"
#include "fd/Runtime/Module.h"
#include "fd/Runtime/Status.h"

#include <array>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

namespace fd::rt {

/// y[M,N] = x[M,K] W[N,K]^T (+ bias[N]). All contiguous row-major; a bias
/// with data == nullptr means none.
struct FlatGemmArgs {
  TensorRef x, w, bias, y;
};

/// Checks \p args against \p entry (dtypes, ranks, N and K, M consistent
/// between x and y, contiguity, 16-byte alignment of x and w, bias present
/// exactly when the entry has one). Returns M. Errors name the argument.
FD_RT_API Expected<int64_t> validateFlatGemmArgs(const EntrySpec &entry,
                                                 const FlatGemmArgs &args);

/// Measured GEMM kernel choices per [N, K, dtype], in the text format of
/// docs/bundle.md ("Dispatch table"):
///   # comment
///   <n> <k> <dtype> <maxM>:<variant> [<maxM>:<variant> ...]
/// (docs/bundle.md's <variant> is a GEMM kernel's role.) Rules are in
/// increasing maxM; an M above the last maxM uses the last rule's kernel.
class FD_RT_API DispatchTable {
public:
  struct Shape {
    int64_t n = 0, k = 0;
    DType dtype = DType::F16;
    std::vector<DispatchRule> rules;
  };

  static Expected<DispatchTable> parse(std::string_view text,
                                       std::string_view sourceName = "<table>");
  static Expected<DispatchTable> loadFile(const std::string &path);

  /// The rules for a shape, or null.
  const std::vector<DispatchRule> *find(int64_t n, int64_t k,
                                        DType dtype) const;
  /// Adds or replaces the rules of a shape.
  void set(int64_t n, int64_t k, DType dtype, std::vector<DispatchRule> rules);
  const std::vector<Shape> &getShapes() const { return shapes; }
  /// The table in its file format (what fd-tune writes).
  std::string toString() const;

private:
  std::vector<Shape> shapes;
};

/// The pseudo GEMM kernel that hands the GEMM to cublasGemmEx instead of
/// one of the entry's kernels (docs/runtime.md, "The cublas variant").
/// Every flat_gemm entry without a bias has it; no kernel has it as its
/// role. A runtime name, not the compiler's: it is not in the manifest.
constexpr std::string_view kCublasName = "cublas";
/// What selectFlatGemmKernel and findGemmKernel return for it; not an
/// index into entry.gemm.kernels.
constexpr size_t kCublasKernel = std::numeric_limits<size_t>::max();

/// Index (into entry.gemm.kernels) of the GEMM kernel to launch for \p m
/// rows, or kCublasKernel: the table's rule for the entry's shape when \p
/// table has one, otherwise the entry's "dispatch" rules (without rules:
/// the smallest m_tile >= M, else the largest). A table naming a kernel the
/// entry does not have is an error. A rule naming "cublas" is skipped for
/// an entry with a bias (cuBLAS cannot add it; the table is per [N, K,
/// dtype] and may be shared with a bias-free entry): the entry's rules
/// choose instead.
FD_RT_API Expected<size_t> selectFlatGemmKernel(const EntrySpec &entry,
                                                int64_t m,
                                                const DispatchTable *table);

/// Index of the GEMM kernel whose role is \p name (e.g. "gemv", "mma_m8"),
/// or kCublasKernel for "cublas".
FD_RT_API Expected<size_t> findGemmKernel(const EntrySpec &entry,
                                          std::string_view name);

/// The name of an index from the two functions above: the kernel's role, or
/// "cublas".
FD_RT_API const std::string &gemmKernelName(const EntrySpec &entry,
                                            size_t index);

/// Checks \p args for the cublas variant and builds its cublasGemmEx call.
/// Unlike the kernels, cuBLAS takes row pitches: each of x, w, y needs a
/// unit inner stride and a row stride of at least its row length (K, K, N);
/// element alignment suffices. The entry must have no bias and none may be
/// given. Errors name the argument.
FD_RT_API Expected<CublasGemm> planCublasFlatGemm(const EntrySpec &entry,
                                                  const FlatGemmArgs &args);

/// The grid of \p kernel for \p m rows (symbols M and MT), checked against
/// CUDA's limits.
FD_RT_API Expected<std::array<uint32_t, 3>>
flatGemmGrid(const KernelSpec &kernel, int64_t m);

/// Packs \p kernel's parameters from validated \p args.
FD_RT_API Status packFlatGemmParams(const KernelSpec &kernel,
                                    const FlatGemmArgs &args,
                                    KernelParams &params);

class BoundEntry;

/// A flat_gemm entry with its GEMM kernels loaded: runs y = x W^T (+ bias).
/// A view of a BoundEntry (Executable.h): cheap to make, valid as long as
/// it; const and safe to use from several threads.
class FD_RT_API FlatGemm {
public:
  explicit FlatGemm(const BoundEntry &bound);

  /// Runs the GEMM for the M rows of x with the GEMM kernel \p kernel (a
  /// role, e.g. "mma_m8", or "cublas") or, when empty, the one
  /// selectFlatGemmKernel picks from M and \p table (may be null: the
  /// entry's thresholds; getShippedDispatchTable has the measured table
  /// of some devices). The kernels allocate nothing and never
  /// synchronise: graph-capturable. cublas loads cuBLAS and allocates its
  /// stream's workspace on first use (docs/runtime.md says what that means
  /// for graphs).
  Status run(const FlatGemmArgs &args, const DispatchTable *table,
             CUstream stream, std::string_view kernel = {}) const;

private:
  Status runCublas(const FlatGemmArgs &args, CUstream stream) const;

  const EntrySpec *entry;
  const Context *context;
  /// Parallel to entry->gemm.kernels.
  const std::vector<KernelInfo> *kernels;
};

} // namespace fd::rt

#endif // FD_RUNTIME_FLATGEMM_H
