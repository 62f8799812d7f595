//===- Cublas.h - cuBLAS, loaded at run time for flat GEMMs -----*- C++ -*-===//
//
// The flat GEMM's "cublas" pseudo GEMM kernel hands the product to
// cublasGemmEx. Like libcuda (Driver.h), libcublas is opened with dlopen
// rather than linked, so the runtime still builds and runs where cuBLAS is
// not installed; asking for cublas there is an error naming the library.
// Neither cublas_api.h nor library_types.h is included: the handful of
// types and enum values used are declared below.
//
//===----------------------------------------------------------------------===//

#ifndef FD_RUNTIME_CUBLAS_H
#define FD_RUNTIME_CUBLAS_H

#include "fd/Runtime/Driver.h"
#include "fd/Runtime/Status.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace fd::rt {

class Context;

/// Values copied from CUDA 13's cublas_api.h (cublasStatus_t,
/// cublasOperation_t, cublasComputeType_t, cublasGemmAlgo_t) and
/// library_types.h (cudaDataType). They are C enums, passed as int.
namespace cublas {
constexpr int kStatusSuccess = 0; // CUBLAS_STATUS_SUCCESS
constexpr int kOpN = 0;           // CUBLAS_OP_N
constexpr int kOpT = 1;           // CUBLAS_OP_T
constexpr int kCompute32F = 68;   // CUBLAS_COMPUTE_32F
constexpr int kGemmDefault = -1;  // CUBLAS_GEMM_DEFAULT
constexpr int kR32F = 0;          // CUDA_R_32F
constexpr int kR16F = 2;          // CUDA_R_16F
constexpr int kR16BF = 14;        // CUDA_R_16BF
} // namespace cublas

/// The resolved cuBLAS entry points (the _v2 symbols the header maps the
/// plain names to). cublasHandle_t is an opaque pointer.
struct CublasApi {
  using Handle = void *;
  int (*cublasCreate_v2)(Handle *) = nullptr;
  int (*cublasDestroy_v2)(Handle) = nullptr;
  int (*cublasSetStream_v2)(Handle, CUstream) = nullptr;
  int (*cublasSetWorkspace_v2)(Handle, void *, size_t) = nullptr;
  int (*cublasGemmEx)(Handle, int transa, int transb, int m, int n, int k,
                      const void *alpha, const void *a, int aType, int lda,
                      const void *b, int bType, int ldb, const void *beta,
                      void *c, int cType, int ldc, int computeType,
                      int algo) = nullptr;
  /// Optional (CUDA 11.4+): names and descriptions for error messages.
  const char *(*cublasGetStatusName)(int) = nullptr;
  const char *(*cublasGetStatusString)(int) = nullptr;

  void *handle = nullptr;
  std::string libraryPath;
};

/// The libraries tried, in order: $FD_LIBCUBLAS alone when set and
/// non-empty, otherwise libcublas.so.13 then libcublas.so.
std::vector<std::string> cublasLibraryCandidates();

/// Opens the first of \p candidates that loads and resolves the table; the
/// error (Unsupported) lists every candidate with its dlopen reason. Not
/// cached: getCublas() is the cached process-wide load.
Expected<std::shared_ptr<const CublasApi>>
openCublas(const std::vector<std::string> &candidates);

/// openCublas(cublasLibraryCandidates()), once per process (thread-safe);
/// later calls return the same library or the same error.
Expected<const CublasApi *> getCublas();

/// "<what> failed: CUBLAS_STATUS_X (description)" as a Driver error.
Status cublasError(const CublasApi &api, int status, const std::string &what);

/// One cublasGemmEx call for a row-major y[M,N] = x[M,K] W[N,K]^T, with
/// leading dimensions in elements and cudaDataType codes (cublas::kR*).
/// Built and checked by planCublasFlatGemm (FlatGemm.h).
struct CublasGemm {
  int m = 0, n = 0, k = 0;
  const void *x = nullptr, *w = nullptr;
  void *y = nullptr;
  int ldx = 0, ldw = 0, ldy = 0;
  int abType = cublas::kR16F, yType = cublas::kR16F;
};

/// A cuBLAS handle of one Context, created on first use (Context::getCublas).
/// cuBLAS handles are not safe to reconfigure from several threads at once
/// (the stream is handle state), so calls are serialised by a mutex; they
/// only enqueue work, so the lock is short.
class CublasHandle {
public:
  /// Bytes of the per-stream workspace (cuBLAS's recommendation for Hopper,
  /// cuBLAS docs "cublasSetWorkspace").
  static constexpr size_t kWorkspaceBytes = size_t(32) << 20;

  /// Creates the handle; the owning context must be current on this thread.
  static Expected<std::unique_ptr<CublasHandle>> create(const CublasApi &api,
                                                        const DriverApi &driver);
  /// Destroys the handle and frees the workspaces; the owning context must
  /// be current.
  ~CublasHandle();
  CublasHandle(const CublasHandle &) = delete;
  CublasHandle &operator=(const CublasHandle &) = delete;

  /// Enqueues \p gemm on \p stream; the owning context must be current.
  /// Each stream gets its own workspace (so concurrent streams never share
  /// one), allocated on the stream's first non-capturing call. A stream
  /// first seen while being captured into a CUDA graph runs without a
  /// workspace instead: allocating during capture is not allowed, and
  /// leaving the choice to cuBLAS could allocate inside the graph.
  Status gemm(const CublasGemm &gemm, CUstream stream);

  const CublasApi &getApi() const { return api; }

private:
  CublasHandle(const CublasApi &api, const DriverApi &driver)
      : api(api), driver(driver) {}

  const CublasApi &api;
  const DriverApi &driver;
  CublasApi::Handle handle = nullptr;
  std::mutex mutex;
  std::vector<std::pair<CUstream, CUdeviceptr>> workspaces;
};

} // namespace fd::rt

#endif // FD_RUNTIME_CUBLAS_H
