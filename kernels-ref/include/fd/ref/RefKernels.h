//===- RefKernels.h - CUDA reference decode-attention kernels ---*- C++ -*-===//
//
// Baseline CUDA kernels that fd's generated kernels are compared against,
// for correctness and speed. Both take f16 or bf16 inputs and write the
// output in the same type; accumulation is f32 with an online softmax in
// the exp2 domain (scale * log2(e) is folded into q once).
//
// Requirements (else cudaErrorInvalidValue, nothing launched): D in
// {64, 128, 256}; Hq % Hkv == 0; q, k, v, out 16-byte aligned and K/V
// strides multiples of 8 elements (each thread does 16-byte loads);
// B <= 65535. lens[b] is read on the device and clamped to [0, L]; tokens
// at or past it are never read, and lens[b] = 0 gives a zero output row.
//
//===----------------------------------------------------------------------===//

#ifndef FD_REF_REFKERNELS_H
#define FD_REF_REFKERNELS_H

#include "fd/ref/Half.h"
#include "fd/ref/Reference.h"

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

namespace fd::ref {

/// One decode-attention call; all pointers are device pointers.
struct DecodeParams {
  DType dtype = DType::F16;
  DecodeShape shape;
  float scale = 0;               ///< Softmax scale, usually 1/sqrt(D).
  const void *q = nullptr;       ///< [B, Hq, D] contiguous.
  const void *k = nullptr;       ///< [B, Hkv, L, D] through kStrides.
  const void *v = nullptr;       ///< [B, Hkv, L, D] through vStrides.
  KVStrides kStrides, vStrides;  ///< Elements; innermost stride is 1.
  const int32_t *lens = nullptr; ///< [B] valid tokens per sequence.
  void *out = nullptr;           ///< [B, Hq, D] contiguous, type `dtype`.
};

/// Seed-style baseline: one thread block per (batch, query head) runs an
/// online softmax over the whole sequence (no split).
cudaError_t launchDecodeBaseline(const DecodeParams &p, cudaStream_t stream);

/// Workspace bytes launchDecodeSplit needs: partial acc [B, Hq, S, D] f32,
/// partial max [B, Hq, S] f32 (log2 domain), partial sum [B, Hq, S] f32, in
/// that order, each 256-byte aligned (the layout of docs/bundle.md).
size_t splitDecodeWorkspaceBytes(int B, int Hq, int D, int numSplits);

/// Two-stage Flash-Decoding. Stage 1 runs one block per (batch, query head,
/// split) over split s's tokens [s*chunk, (s+1)*chunk) of its sequence, the
/// last split taking everything up to lens[b], and writes an unnormalized
/// partial (acc, max, sum); a split with no tokens writes (0, -FLT_MAX, 0).
/// Stage 2 merges the numSplits partials per (batch, query head) with the
/// log-sum-exp rule. chunk = 0 picks ceil(lens[b] / numSplits) per sequence;
/// chunk > 0 is fixed for all sequences (as fd's split plan does). The
/// workspace must be 256-byte aligned and hold splitDecodeWorkspaceBytes().
/// 1 <= numSplits <= 65535.
cudaError_t launchDecodeSplit(const DecodeParams &p, int numSplits, int chunk,
                              void *workspace, size_t workspaceBytes,
                              cudaStream_t stream);

} // namespace fd::ref

#endif // FD_REF_REFKERNELS_H
