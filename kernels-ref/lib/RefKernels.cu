//===- RefKernels.cu - CUDA reference decode-attention kernels ------------===//
//
// Work split inside a block: a K/V row of D 16-bit elements is read by
// D/8 consecutive threads (16 bytes each), so a warp reads 32/(D/8) whole
// rows per load and rows are fetched as coalesced 16-byte segments in any
// layout. Each such thread group keeps its own online-softmax state over the
// tokens it visits; the groups are merged through shared memory at the end.
//
//===----------------------------------------------------------------------===//

#include "fd/ref/RefKernels.h"

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cfloat>
#include <cstdint>
#include <initializer_list>

using namespace fd::ref;

namespace {

constexpr float kLog2e = 1.4426950408889634f;
/// 16-bit elements per 16-byte load.
constexpr int kVec = 8;
/// Tokens each thread group has in flight per tile; more loads in flight
/// per thread is what keeps a memory-bound kernel near bandwidth.
constexpr int kUnroll = 4;
constexpr int kBaselineThreads = 256;
constexpr int kSplitThreads = 128;
constexpr int kMergeThreads = 128;

/// Plain-data kernel arguments (pointers are device pointers).
struct Args {
  const uint16_t *q, *k, *v;
  const int32_t *lens;
  uint16_t *out;
  int64_t kSB, kSH, kSL, vSB, vSH, vSL;
  int Hq, group, L, numSplits, chunk, D;
  float qScale; ///< scale * log2(e): scores come out in the exp2 domain.
  float *pAcc, *pMax, *pSum;
};

__device__ __forceinline__ uint4 load16(const uint16_t *p) {
  return *reinterpret_cast<const uint4 *>(p);
}

template <DType DT> __device__ __forceinline__ float widen(uint32_t bits16) {
  if constexpr (DT == DType::F16)
    return __half2float(__ushort_as_half(static_cast<unsigned short>(bits16)));
  else
    return __uint_as_float(bits16 << 16);
}

template <DType DT>
__device__ __forceinline__ void unpack(uint4 raw, float (&f)[kVec]) {
  const uint32_t w[4] = {raw.x, raw.y, raw.z, raw.w};
#pragma unroll
  for (int i = 0; i < 4; ++i) { // Little endian: element 2i is the low half.
    f[2 * i] = widen<DT>(w[i] & 0xffffu);
    f[2 * i + 1] = widen<DT>(w[i] >> 16);
  }
}

template <DType DT> __device__ __forceinline__ uint16_t narrow(float x) {
  if constexpr (DT == DType::F16)
    return __half_as_ushort(__float2half_rn(x));
  else
    return __bfloat16_as_ushort(__float2bfloat16_rn(x));
}

__device__ __forceinline__ int clampLen(int len, int L) {
  return len < 0 ? 0 : (len > L ? L : len);
}

/// Per-group softmax state, gathered for the block-level merge.
template <int D, int NT> struct BlockState {
  static constexpr int kRowThreads = D / kVec;
  static constexpr int kGroups = NT / kRowThreads;
  float m[kGroups];        ///< Running max (exp2 domain).
  float l[kGroups];        ///< Running sum of exp2(s - m).
  float acc[kGroups][D];   ///< Unnormalized sum of exp2(s - m) * v.
};

/// Attends one query row over tokens [begin, end) of one KV head and leaves
/// every group's (m, l, acc) in `st`. Every thread runs the same number of
/// iterations, so the width-D/8 shuffles never see an exited lane.
template <DType DT, int D, int NT>
__device__ void attendRange(BlockState<D, NT> &st, const uint16_t *qRow,
                            float qScale, const uint16_t *kHead, int64_t kSL,
                            const uint16_t *vHead, int64_t vSL, int begin,
                            int end) {
  using State = BlockState<D, NT>;
  constexpr int kRowThreads = State::kRowThreads;
  constexpr int kGroups = State::kGroups;
  const int lane = threadIdx.x % kRowThreads;
  const int group = threadIdx.x / kRowThreads;
  const int d0 = lane * kVec;

  float q[kVec];
  unpack<DT>(load16(qRow + d0), q);
#pragma unroll
  for (int i = 0; i < kVec; ++i)
    q[i] *= qScale;

  // -FLT_MAX rather than -inf: exp2f(m - newMax) must never see inf - inf.
  float m = -FLT_MAX, l = 0.f, acc[kVec] = {};
  for (int tile = begin; tile < end; tile += kGroups * kUnroll) {
    uint4 kRaw[kUnroll], vRaw[kUnroll];
    bool valid[kUnroll];
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      // Consecutive groups take consecutive tokens: coalesced per load.
      const int t = tile + u * kGroups + group;
      valid[u] = t < end;
      kRaw[u] = vRaw[u] = make_uint4(0, 0, 0, 0);
      if (valid[u]) { // Never touch tokens at or past the length.
        kRaw[u] = load16(kHead + t * kSL + d0);
        vRaw[u] = load16(vHead + t * vSL + d0);
      }
    }
    float s[kUnroll];
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      float kf[kVec];
      unpack<DT>(kRaw[u], kf);
      s[u] = 0.f;
#pragma unroll
      for (int i = 0; i < kVec; ++i)
        s[u] = fmaf(q[i], kf[i], s[u]);
      // Xor offsets below kRowThreads stay inside the row's aligned group.
#pragma unroll
      for (int off = kRowThreads / 2; off > 0; off /= 2)
        s[u] += __shfl_xor_sync(0xffffffffu, s[u], off);
    }
    float newMax = m;
#pragma unroll
    for (int u = 0; u < kUnroll; ++u)
      if (valid[u])
        newMax = fmaxf(newMax, s[u]);
    const float correction = exp2f(m - newMax);
    l *= correction;
#pragma unroll
    for (int i = 0; i < kVec; ++i)
      acc[i] *= correction;
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      if (!valid[u])
        continue; // Explicit: exp2f(s - newMax) could be 1 for a dummy s.
      const float p = exp2f(s[u] - newMax);
      l += p;
      float vf[kVec];
      unpack<DT>(vRaw[u], vf);
#pragma unroll
      for (int i = 0; i < kVec; ++i)
        acc[i] = fmaf(p, vf[i], acc[i]);
    }
    m = newMax;
  }
  if (lane == 0) {
    st.m[group] = m;
    st.l[group] = l;
  }
#pragma unroll
  for (int i = 0; i < kVec; ++i)
    st.acc[group][d0 + i] = acc[i];
  __syncthreads();
}

/// Merges the groups' states for output element d. A group that saw no
/// tokens has (m, l, acc) = (-FLT_MAX, 0, 0) and contributes nothing.
template <int D, int NT>
__device__ void mergeGroups(const BlockState<D, NT> &st, int d, float &max,
                            float &num, float &den) {
  max = -FLT_MAX;
  for (int g = 0; g < BlockState<D, NT>::kGroups; ++g)
    max = fmaxf(max, st.m[g]);
  num = den = 0.f;
  for (int g = 0; g < BlockState<D, NT>::kGroups; ++g) {
    const float w = exp2f(st.m[g] - max);
    num = fmaf(w, st.acc[g][d], num);
    den = fmaf(w, st.l[g], den);
  }
}

/// Grid (Hq, B): head fastest, so the query heads sharing a KV head run
/// side by side and re-read it from L2.
template <DType DT, int D>
__global__ void __launch_bounds__(kBaselineThreads)
    decodeBaselineKernel(Args a) {
  __shared__ BlockState<D, kBaselineThreads> st;
  const int h = blockIdx.x, b = blockIdx.y, g = h / a.group;
  const int len = clampLen(a.lens[b], a.L);
  const int64_t row = (int64_t(b) * a.Hq + h) * D;
  attendRange<DT, D, kBaselineThreads>(
      st, a.q + row, a.qScale, a.k + b * a.kSB + g * a.kSH, a.kSL,
      a.v + b * a.vSB + g * a.vSH, a.vSL, 0, len);
  for (int d = threadIdx.x; d < D; d += kBaselineThreads) {
    float max, num, den;
    mergeGroups(st, d, max, num, den);
    a.out[row + d] = narrow<DT>(den > 0.f ? num / den : 0.f);
  }
}

/// Stage 1, grid (Hq, S, B).
template <DType DT, int D>
__global__ void __launch_bounds__(kSplitThreads) decodePartialKernel(Args a) {
  __shared__ BlockState<D, kSplitThreads> st;
  const int h = blockIdx.x, s = blockIdx.y, b = blockIdx.z, g = h / a.group;
  const int len = clampLen(a.lens[b], a.L);
  const int S = a.numSplits;
  const int64_t chunk = a.chunk > 0 ? a.chunk : (int64_t(len) + S - 1) / S;
  const int64_t first = int64_t(s) * chunk;
  const int begin = first < len ? int(first) : len;
  int end = s == S - 1 ? len : (first + chunk < len ? int(first + chunk) : len);
  end = end < begin ? begin : end;
  attendRange<DT, D, kSplitThreads>(
      st, a.q + (int64_t(b) * a.Hq + h) * D, a.qScale,
      a.k + b * a.kSB + g * a.kSH, a.kSL, a.v + b * a.vSB + g * a.vSH, a.vSL,
      begin, end);
  const int64_t part = (int64_t(b) * a.Hq + h) * S + s;
  for (int d = threadIdx.x; d < D; d += kSplitThreads) {
    float max, num, den;
    mergeGroups(st, d, max, num, den);
    a.pAcc[part * D + d] = num;
    if (d == 0) {
      a.pMax[part] = max;
      a.pSum[part] = den;
    }
  }
}

/// Stage 2, grid (Hq, B): out = sum_s 2^(m_s - M) acc_s / sum_s 2^(m_s - M)
/// l_s with M = max_s m_s. Empty partials have l_s = 0 and acc_s = 0; if
/// all are empty the row is zero.
template <DType DT>
__global__ void __launch_bounds__(kMergeThreads) decodeMergeKernel(Args a) {
  const int h = blockIdx.x, b = blockIdx.y, S = a.numSplits, D = a.D;
  const int64_t first = (int64_t(b) * a.Hq + h) * S;
  float max = -FLT_MAX;
  for (int s = 0; s < S; ++s)
    max = fmaxf(max, a.pMax[first + s]);
  float den = 0.f;
  for (int s = 0; s < S; ++s)
    den = fmaf(exp2f(a.pMax[first + s] - max), a.pSum[first + s], den);
  for (int d = threadIdx.x; d < D; d += kMergeThreads) {
    float num = 0.f;
    for (int s = 0; s < S; ++s)
      num = fmaf(exp2f(a.pMax[first + s] - max), a.pAcc[(first + s) * D + d],
                 num);
    a.out[(int64_t(b) * a.Hq + h) * D + d] =
        narrow<DT>(den > 0.f ? num / den : 0.f);
  }
}

size_t alignUp256(size_t n) { return (n + 255) / 256 * 256; }

bool aligned16(const void *p) {
  return reinterpret_cast<uintptr_t>(p) % 16 == 0;
}

/// Checks what the kernels rely on and fills the common arguments.
bool prepare(const DecodeParams &p, Args &a) {
  const DecodeShape &s = p.shape;
  if (p.dtype != DType::F16 && p.dtype != DType::BF16)
    return false;
  if (s.D != 64 && s.D != 128 && s.D != 256)
    return false;
  if (s.B < 0 || s.B > 65535 || s.Hq <= 0 || s.Hkv <= 0 || s.L < 0 ||
      s.Hq % s.Hkv != 0)
    return false;
  if (!p.q || !p.k || !p.v || !p.lens || !p.out)
    return false;
  if (!aligned16(p.q) || !aligned16(p.k) || !aligned16(p.v) ||
      !aligned16(p.out))
    return false;
  for (int64_t st : {p.kStrides.b, p.kStrides.h, p.kStrides.l, p.vStrides.b,
                     p.vStrides.h, p.vStrides.l})
    if (st % kVec != 0)
      return false;
  a = Args{};
  a.q = static_cast<const uint16_t *>(p.q);
  a.k = static_cast<const uint16_t *>(p.k);
  a.v = static_cast<const uint16_t *>(p.v);
  a.lens = p.lens;
  a.out = static_cast<uint16_t *>(p.out);
  a.kSB = p.kStrides.b, a.kSH = p.kStrides.h, a.kSL = p.kStrides.l;
  a.vSB = p.vStrides.b, a.vSH = p.vStrides.h, a.vSL = p.vStrides.l;
  a.Hq = s.Hq, a.group = s.Hq / s.Hkv, a.L = s.L, a.D = s.D;
  a.qScale = p.scale * kLog2e;
  return true;
}

/// Launches the kernels instantiated for the runtime head dim.
template <DType DT>
void launchBaselineFor(const Args &a, dim3 grid, cudaStream_t stream) {
  if (a.D == 64)
    decodeBaselineKernel<DT, 64><<<grid, kBaselineThreads, 0, stream>>>(a);
  else if (a.D == 128)
    decodeBaselineKernel<DT, 128><<<grid, kBaselineThreads, 0, stream>>>(a);
  else
    decodeBaselineKernel<DT, 256><<<grid, kBaselineThreads, 0, stream>>>(a);
}

template <DType DT>
cudaError_t launchSplitFor(const Args &a, dim3 partialGrid, dim3 mergeGrid,
                    cudaStream_t stream) {
  if (a.D == 64)
    decodePartialKernel<DT, 64><<<partialGrid, kSplitThreads, 0, stream>>>(a);
  else if (a.D == 128)
    decodePartialKernel<DT, 128><<<partialGrid, kSplitThreads, 0, stream>>>(a);
  else
    decodePartialKernel<DT, 256><<<partialGrid, kSplitThreads, 0, stream>>>(a);
  if (cudaError_t err = cudaGetLastError(); err != cudaSuccess)
    return err;
  decodeMergeKernel<DT><<<mergeGrid, kMergeThreads, 0, stream>>>(a);
  return cudaGetLastError();
}

} // namespace

cudaError_t fd::ref::launchDecodeBaseline(const DecodeParams &p,
                                          cudaStream_t stream) {
  Args a;
  if (!prepare(p, a))
    return cudaErrorInvalidValue;
  if (p.shape.B == 0)
    return cudaSuccess;
  const dim3 grid(p.shape.Hq, p.shape.B);
  if (p.dtype == DType::F16)
    launchBaselineFor<DType::F16>(a, grid, stream);
  else
    launchBaselineFor<DType::BF16>(a, grid, stream);
  return cudaGetLastError();
}

size_t fd::ref::splitDecodeWorkspaceBytes(int B, int Hq, int D,
                                          int numSplits) {
  const size_t parts = size_t(B) * Hq * numSplits;
  return alignUp256(parts * D * sizeof(float)) +
         2 * alignUp256(parts * sizeof(float));
}

cudaError_t fd::ref::launchDecodeSplit(const DecodeParams &p, int numSplits,
                                       int chunk, void *workspace,
                                       size_t workspaceBytes,
                                       cudaStream_t stream) {
  Args a;
  if (!prepare(p, a) || numSplits < 1 || numSplits > 65535 || chunk < 0)
    return cudaErrorInvalidValue;
  const DecodeShape &s = p.shape;
  const size_t parts = size_t(s.B) * s.Hq * numSplits;
  if (!workspace || reinterpret_cast<uintptr_t>(workspace) % 256 != 0 ||
      workspaceBytes < splitDecodeWorkspaceBytes(s.B, s.Hq, s.D, numSplits))
    return cudaErrorInvalidValue;
  if (s.B == 0)
    return cudaSuccess;
  char *ws = static_cast<char *>(workspace);
  a.pAcc = reinterpret_cast<float *>(ws);
  ws += alignUp256(parts * s.D * sizeof(float));
  a.pMax = reinterpret_cast<float *>(ws);
  ws += alignUp256(parts * sizeof(float));
  a.pSum = reinterpret_cast<float *>(ws);
  a.numSplits = numSplits;
  a.chunk = chunk;
  const dim3 partialGrid(s.Hq, numSplits, s.B), mergeGrid(s.Hq, s.B);
  return p.dtype == DType::F16
             ? launchSplitFor<DType::F16>(a, partialGrid, mergeGrid, stream)
             : launchSplitFor<DType::BF16>(a, partialGrid, mergeGrid, stream);
}
