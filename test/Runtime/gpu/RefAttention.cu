//===- RefAttention.cu - Plain split-KV decode attention for runtime tests ===//
//
// Kernels with exactly the parameter ABI of docs/bundle.md (each memref
// expanded to allocated ptr, aligned ptr, offset, sizes, strides), written
// for clarity rather than speed: fd-runtime-gputest uses them to check that
// the runtime passes every pointer, size, stride and scalar correctly, and
// that workspace, graph capture and the shared-memory opt-in work.
//
// The PTX is checked in (Inputs/ref-attention.ptx) so that building the
// tests needs no CUDA compiler. Regenerate it with:
//   nvcc -ptx -arch=compute_90 RefAttention.cu -o ../Inputs/ref-attention.ptx
//
//===----------------------------------------------------------------------===//

#include <cfloat>
#include <cuda_bf16.h>
#include <cuda_fp16.h>

typedef long long i64;

#define MEMREF1(T, n) T *n##Alloc, T *n, i64 n##Off, i64 n##Size0, i64 n##Str0
#define MEMREF3(T, n)                                                          \
  T *n##Alloc, T *n, i64 n##Off, i64 n##Size0, i64 n##Size1, i64 n##Size2,     \
      i64 n##Str0, i64 n##Str1, i64 n##Str2
#define MEMREF4(T, n)                                                          \
  T *n##Alloc, T *n, i64 n##Off, i64 n##Size0, i64 n##Size1, i64 n##Size2,     \
      i64 n##Size3, i64 n##Str0, i64 n##Str1, i64 n##Str2, i64 n##Str3

__device__ inline float toFloat(__half x) { return __half2float(x); }
__device__ inline float toFloat(__nv_bfloat16 x) { return __bfloat162float(x); }
template <typename T> __device__ inline T fromFloat(float x);
template <> __device__ inline __half fromFloat<__half>(float x) {
  return __float2half_rn(x);
}
template <> __device__ inline __nv_bfloat16 fromFloat<__nv_bfloat16>(float x) {
  return __float2bfloat16_rn(x);
}

/// Sum of \p value over the block (blockDim.x a power of two <= 1024).
__device__ float blockSum(float value, float *scratch) {
  scratch[threadIdx.x] = value;
  __syncthreads();
  for (unsigned half = blockDim.x / 2; half > 0; half /= 2) {
    if (threadIdx.x < half)
      scratch[threadIdx.x] += scratch[threadIdx.x + half];
    __syncthreads();
  }
  float sum = scratch[0];
  __syncthreads();
  return sum;
}

/// Grid (S, Hkv, B): split s of KV head h of sequence b, for each query head
/// of the group. Head dim up to 4 * blockDim.x.
template <typename T>
__device__ void partial(MEMREF3(const T, q), MEMREF4(const T, k),
                        MEMREF4(const T, v), MEMREF1(const int, lens),
                        MEMREF4(float, acc), MEMREF3(float, mx),
                        MEMREF3(float, sm), i64 chunk, float scale) {
  __shared__ float scratch[1024];
  const i64 s = blockIdx.x, h = blockIdx.y, b = blockIdx.z;
  const i64 headDim = qSize2, group = qSize1 / kSize1;
  const i64 len = lens[lensOff + b * lensStr0];
  const i64 begin = min(s * chunk, len), end = min(begin + chunk, len);
  for (i64 g = 0; g < group; ++g) {
    const i64 hq = h * group + g;
    const T *qRow = q + qOff + b * qStr0 + hq * qStr1;
    float m = -FLT_MAX, l = 0, out[4] = {0, 0, 0, 0};
    for (i64 t = begin; t < end; ++t) {
      const T *kRow = k + kOff + b * kStr0 + h * kStr1 + t * kStr2;
      const T *vRow = v + vOff + b * vStr0 + h * vStr1 + t * vStr2;
      float dot = 0;
      for (i64 d = threadIdx.x; d < headDim; d += blockDim.x)
        dot += toFloat(qRow[d * qStr2]) * toFloat(kRow[d * kStr3]);
      float score = blockSum(dot, scratch) * scale;
      float next = fmaxf(m, score);
      float correction = __expf(m - next), p = __expf(score - next);
      l = l * correction + p;
      for (int i = 0; i < 4; ++i) {
        i64 d = threadIdx.x + i * blockDim.x;
        if (d < headDim)
          out[i] = out[i] * correction + p * toFloat(vRow[d * vStr3]);
      }
      m = next;
    }
    for (int i = 0; i < 4; ++i) {
      i64 d = threadIdx.x + i * blockDim.x;
      if (d < headDim)
        acc[accOff + b * accStr0 + hq * accStr1 + s * accStr2 + d * accStr3] =
            out[i];
    }
    if (threadIdx.x == 0) {
      mx[mxOff + b * mxStr0 + hq * mxStr1 + s * mxStr2] = m;
      sm[smOff + b * smStr0 + hq * smStr1 + s * smStr2] = l;
    }
  }
}

/// Grid (Hq, B). The split weights live in dynamic shared memory, so that
/// the manifest can ask for more than 48 KB and exercise the opt-in.
template <typename T>
__device__ void merge(MEMREF4(const float, acc), MEMREF3(const float, mx),
                      MEMREF3(const float, sm), MEMREF1(const int, lens),
                      MEMREF3(T, out), int numSplits) {
  extern __shared__ float weights[];
  const i64 hq = blockIdx.x, b = blockIdx.y;
  const i64 splits = accSize2, headDim = outSize2;
  T *outRow = out + outOff + b * outStr0 + hq * outStr1;
  // A num_splits scalar that disagrees with the workspace shape means the
  // runtime packed something wrong: make it visible as NaN.
  if (numSplits != splits || mxSize2 != splits || smSize2 != splits) {
    for (i64 d = threadIdx.x; d < headDim; d += blockDim.x)
      outRow[d * outStr2] = fromFloat<T>(__int_as_float(0x7fc00000));
    return;
  }
  const float *mRow = mx + mxOff + b * mxStr0 + hq * mxStr1;
  const float *lRow = sm + smOff + b * smStr0 + hq * smStr1;
  float globalMax = -FLT_MAX;
  for (i64 s = 0; s < splits; ++s)
    globalMax = fmaxf(globalMax, mRow[s * mxStr2]);
  for (i64 s = threadIdx.x; s < splits; s += blockDim.x)
    weights[s] = __expf(mRow[s * mxStr2] - globalMax);
  __syncthreads();
  float denominator = 0;
  for (i64 s = 0; s < splits; ++s)
    denominator += lRow[s * smStr2] * weights[s];
  const bool empty = lens[lensOff + b * lensStr0] == 0 || denominator == 0;
  for (i64 d = threadIdx.x; d < headDim; d += blockDim.x) {
    float numerator = 0;
    for (i64 s = 0; s < splits; ++s)
      numerator += acc[accOff + b * accStr0 + hq * accStr1 + s * accStr2 +
                       d * accStr3] *
                   weights[s];
    outRow[d * outStr2] = fromFloat<T>(empty ? 0.f : numerator / denominator);
  }
}

#define DEFINE_KERNELS(T, suffix)                                              \
  extern "C" __global__ void ref_partial_##suffix(                             \
      MEMREF3(const T, q), MEMREF4(const T, k), MEMREF4(const T, v),           \
      MEMREF1(const int, lens), MEMREF4(float, acc), MEMREF3(float, mx),       \
      MEMREF3(float, sm), i64 chunk, float scale) {                            \
    partial<T>(qAlloc, q, qOff, qSize0, qSize1, qSize2, qStr0, qStr1, qStr2,   \
               kAlloc, k, kOff, kSize0, kSize1, kSize2, kSize3, kStr0, kStr1,  \
               kStr2, kStr3, vAlloc, v, vOff, vSize0, vSize1, vSize2, vSize3,  \
               vStr0, vStr1, vStr2, vStr3, lensAlloc, lens, lensOff,           \
               lensSize0, lensStr0, accAlloc, acc, accOff, accSize0, accSize1, \
               accSize2, accSize3, accStr0, accStr1, accStr2, accStr3,         \
               mxAlloc, mx, mxOff, mxSize0, mxSize1, mxSize2, mxStr0, mxStr1,  \
               mxStr2, smAlloc, sm, smOff, smSize0, smSize1, smSize2, smStr0,  \
               smStr1, smStr2, chunk, scale);                                  \
  }                                                                            \
  extern "C" __global__ void ref_merge_##suffix(                               \
      MEMREF4(const float, acc), MEMREF3(const float, mx),                     \
      MEMREF3(const float, sm), MEMREF1(const int, lens), MEMREF3(T, out),     \
      int numSplits) {                                                         \
    merge<T>(accAlloc, acc, accOff, accSize0, accSize1, accSize2, accSize3,    \
             accStr0, accStr1, accStr2, accStr3, mxAlloc, mx, mxOff, mxSize0,  \
             mxSize1, mxSize2, mxStr0, mxStr1, mxStr2, smAlloc, sm, smOff,     \
             smSize0, smSize1, smSize2, smStr0, smStr1, smStr2, lensAlloc,     \
             lens, lensOff, lensSize0, lensStr0, outAlloc, out, outOff,        \
             outSize0, outSize1, outSize2, outStr0, outStr1, outStr2,          \
             numSplits);                                                       \
  }

DEFINE_KERNELS(__half, f16)
DEFINE_KERNELS(__nv_bfloat16, bf16)
