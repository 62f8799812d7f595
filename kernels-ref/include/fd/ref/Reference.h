//===- Reference.h - fp64 CPU reference for decode attention ----*- C++ -*-===//
//
// Slow, obviously-correct double-precision references that fd's generated
// kernels (and the CUDA reference kernels) are checked against. Inputs are
// float, or f16/bf16 bit patterns which are widened exactly; all arithmetic
// is in double. Preconditions are checked; a violation prints a message and
// aborts, since a silently wrong reference would poison every test using it.
//
//===----------------------------------------------------------------------===//

#ifndef FD_REF_REFERENCE_H
#define FD_REF_REFERENCE_H

#include "fd/ref/Half.h"

#include <cstddef>
#include <cstdint>

namespace fd::ref {

/// Element strides (b, h, l) of a K or V cache indexed as [B, H, L, D]; the
/// innermost (D) stride is always 1.
struct KVStrides {
  int64_t b = 0, h = 0, l = 0;
};

/// Strides of a contiguous head-major [B, H, L, D] cache.
constexpr KVStrides headMajorStrides(int64_t H, int64_t L, int64_t D) {
  return {H * L * D, L * D, D};
}

/// Strides of a contiguous token-major [B, L, H, D] cache viewed as
/// [B, H, L, D].
constexpr KVStrides tokenMajorStrides(int64_t H, int64_t L, int64_t D) {
  return {L * H * D, D, H * D};
}

/// Sizes of one decode-attention call: batch, query heads, KV heads, cache
/// capacity (tokens), head dim. Hq must be a multiple of Hkv.
struct DecodeShape {
  int B = 0, Hq = 0, Hkv = 0, L = 0, D = 0;
};

/// Decode attention in double:
///   out[b,h,:] = softmax(scale * q[b,h,:] . K[b,g,0:n,:]^T) . V[b,g,0:n,:]
/// with g = h / (Hq / Hkv) and n = lens[b]. q and out are contiguous
/// [B, Hq, D]; K and V are addressed through their strides. A sequence with
/// lens[b] = 0 yields an all-zero row. Tokens at or past lens[b] are never
/// read. Aborts unless 0 <= lens[b] <= L and Hq % Hkv == 0. If \p lse is
/// non-null it receives [B, Hq] the natural log-sum-exp of each row's scaled
/// scores (max + ln(sum exp(s - max))), -inf for an empty sequence.
void decodeAttention(const DecodeShape &shape, double scale, const float *q,
                     const float *k, KVStrides kStrides, const float *v,
                     KVStrides vStrides, const int32_t *lens, double *out,
                     double *lse = nullptr);

/// As above, for f16 or bf16 inputs given as bit patterns.
void decodeAttention(DType dtype, const DecodeShape &shape, double scale,
                     const uint16_t *q, const uint16_t *k, KVStrides kStrides,
                     const uint16_t *v, KVStrides vStrides,
                     const int32_t *lens, double *out, double *lse = nullptr);

/// Flat GEMM in double: y[M,N] = x[M,K] . W[N,K]^T (+ bias[N] if non-null).
/// All operands are contiguous row-major.
void flatGemm(int M, int N, int K, const float *x, const float *w,
              const float *bias, double *y);

/// As above, for f16 or bf16 operands (bias, if given, of the same type).
void flatGemm(DType dtype, int M, int N, int K, const uint16_t *x,
              const uint16_t *w, const uint16_t *bias, double *y);

/// ||out - ref||_2 / ||ref||_2, or ||out||_2 when ||ref||_2 = 0 (so an
/// all-zero reference demands an all-zero result). NaN anywhere in `out`
/// gives NaN: test with !(err < tol), not err >= tol.
double relativeError(const double *out, const double *ref, size_t n);

/// max_i |out[i] - ref[i]|; NaN if any difference is NaN.
double maxAbsError(const double *out, const double *ref, size_t n);

} // namespace fd::ref

#endif // FD_REF_REFERENCE_H
