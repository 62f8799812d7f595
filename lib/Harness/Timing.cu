//===- Timing.cu - GPU timing with a flushed L2 ---------------------------===//
#include "fd/Harness/AttentionProblem.h"
#include "fd/Harness/Timing.h"

#include <algorithm>
#include <vector>

using namespace fd::harness;

/// A streaming read at the bandwidth a memory-bound kernel can reach: 16-byte
/// loads, grid-stride, the sum kept live by one store per thread that the
/// compiler cannot drop (the flag is never set at run time).
__global__ void readKernel(const uint4 *data, size_t n, uint32_t *sink,
                           int neverTrue) {
  uint32_t acc = 0;
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n;
       i += size_t(gridDim.x) * blockDim.x) {
    uint4 x = data[i];
    acc ^= x.x + x.y + x.z + x.w;
  }
  if (neverTrue)
    sink[threadIdx.x] = acc;
}

/// One pass, no grid stride: thread i reads `Unroll` 16-byte chunks spaced a
/// grid apart, all issued before any is used.
template <int Unroll>
__global__ void readOnceKernel(const uint4 *data, size_t n, uint32_t *sink,
                               int neverTrue) {
  size_t stride = size_t(gridDim.x) * blockDim.x;
  size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x;
  uint4 x[Unroll];
#pragma unroll
  for (int u = 0; u < Unroll; ++u)
    x[u] = i + u * stride < n ? data[i + u * stride] : uint4{0, 0, 0, 0};
  uint32_t acc = 0;
#pragma unroll
  for (int u = 0; u < Unroll; ++u)
    acc ^= x[u].x + x[u].y + x[u].z + x[u].w;
  if (neverTrue)
    sink[threadIdx.x] = acc;
}

__global__ void emptyKernel() {}

Timer::Timer(cudaStream_t stream, uint64_t flushBytes, FlushMode mode)
    : stream(stream), flushBytes(flushBytes), flushMode(mode) {
  checkCuda(cudaMalloc(&flushBuffer, flushBytes), "cudaMalloc(L2 flush)");
  checkCuda(cudaMemset(flushBuffer, 1, flushBytes), "cudaMemset(L2 flush)");
  checkCuda(cudaMalloc(&sink, 4096), "cudaMalloc(sink)");
  int device = 0;
  checkCuda(cudaGetDevice(&device), "cudaGetDevice");
  checkCuda(cudaDeviceGetAttribute(&smCount, cudaDevAttrMultiProcessorCount,
                                   device),
            "cudaDeviceGetAttribute");
  checkCuda(
      cudaDeviceGetAttribute(&l2Bytes, cudaDevAttrL2CacheSize, device),
      "cudaDeviceGetAttribute(L2)");
  checkCuda(cudaEventCreate(&start), "cudaEventCreate");
  checkCuda(cudaEventCreate(&stop), "cudaEventCreate");
}

Timer::~Timer() {
  (void)cudaFree(flushBuffer);
  (void)cudaFree(sink);
  (void)cudaEventDestroy(start);
  (void)cudaEventDestroy(stop);
}

bool Timer::time(const std::function<bool()> &launch, int warmup, int runs,
                 TimingResult &result) {
  for (int i = 0; i < warmup; ++i)
    if (!launch())
      return false;
  std::vector<double> us;
  for (int i = 0; i < runs; ++i) {
    // The flush takes ~0.2 ms, so the host has enqueued the timed
    // launches long before the GPU reaches them: no launch gaps are timed.
    if (flushMode == FlushMode::Write)
      checkCuda(cudaMemsetAsync(flushBuffer, i & 0xff, flushBytes, stream),
                "cudaMemsetAsync(L2 flush)");
    else
      readKernel<<<smCount * 8, 512, 0, stream>>>(
          static_cast<const uint4 *>(flushBuffer), flushBytes / 16, sink, 0);
    checkCuda(cudaEventRecord(start, stream), "cudaEventRecord");
    if (!launch())
      return false;
    checkCuda(cudaEventRecord(stop, stream), "cudaEventRecord");
    checkCuda(cudaEventSynchronize(stop), "cudaEventSynchronize");
    float ms = 0;
    checkCuda(cudaEventElapsedTime(&ms, start, stop), "cudaEventElapsedTime");
    us.push_back(double(ms) * 1000);
  }
  checkCuda(cudaGetLastError(), "kernel launch");
  std::sort(us.begin(), us.end());
  result.runs = runs;
  result.minUs = us.front();
  result.maxUs = us.back();
  result.medianUs = us[us.size() / 2];
  return true;
}

bool Timer::timeBackToBack(const std::function<bool(int)> &launch, int count,
                           int warmup, int runs, TimingResult &result) {
  auto all = [&] {
    for (int i = 0; i < count; ++i)
      if (!launch(i))
        return false;
    return true;
  };
  if (!time(all, warmup, runs, result))
    return false;
  result.medianUs /= count;
  result.minUs /= count;
  result.maxUs /= count;
  return true;
}

double Timer::measureReadBandwidth(uint64_t bytes, int runs) {
  void *data = nullptr;
  uint32_t *sink = nullptr;
  checkCuda(cudaMalloc(&data, bytes), "cudaMalloc(read floor)");
  checkCuda(cudaMalloc(&sink, 4096), "cudaMalloc");
  checkCuda(cudaMemset(data, 1, bytes), "cudaMemset");
  int device = 0, sms = 0;
  checkCuda(cudaGetDevice(&device), "cudaGetDevice");
  checkCuda(
      cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device),
      "cudaDeviceGetAttribute");
  TimingResult result;
  time(
      [&] {
        readKernel<<<sms * 8, 512, 0, stream>>>(
            static_cast<const uint4 *>(data), bytes / 16, sink, 0);
        return true;
      },
      3, runs, result);
  (void)cudaFree(data);
  (void)cudaFree(sink);
  return double(bytes) / (result.medianUs * 1e-6) / 1e9;
}

/// The read kernels the size floors take the fastest of, each as a launch
/// of \p n 16-byte chunks at \p p.
static std::vector<std::function<void(const uint4 *, cudaStream_t)>>
readLaunchers(size_t n, int smCount, uint32_t *sink) {
  std::vector<std::function<void(const uint4 *, cudaStream_t)>> out;
  for (int blocksPerSm : {4, 8, 16})
    out.push_back([=](const uint4 *p, cudaStream_t s) {
      readKernel<<<smCount * blocksPerSm, 512, 0, s>>>(p, n, sink, 0);
    });
  auto once = [&](auto kernel, size_t unroll) {
    const unsigned blocks = unsigned((n + unroll * 256 - 1) / (unroll * 256));
    out.push_back([=](const uint4 *p, cudaStream_t s) {
      kernel<<<blocks, 256, 0, s>>>(p, n, sink, 0);
    });
  };
  once(readOnceKernel<4>, 4);
  once(readOnceKernel<8>, 8);
  once(readOnceKernel<16>, 16);
  return out;
}

double Timer::measureReadTime(uint64_t bytes, int runs, double &emptyUs) {
  void *data = nullptr;
  checkCuda(cudaMalloc(&data, bytes), "cudaMalloc(read floor)");
  checkCuda(cudaMemset(data, 1, bytes), "cudaMemset");
  const uint4 *p = static_cast<const uint4 *>(data);
  double best = 1e30;
  TimingResult r;
  for (auto &launch : readLaunchers(bytes / 16, smCount, sink)) {
    time(
        [&] {
          launch(p, stream);
          return true;
        },
        3, runs, r);
    best = std::min(best, r.medianUs);
  }
  time(
      [&] {
        emptyKernel<<<1, 32, 0, stream>>>();
        return true;
      },
      3, runs, r);
  emptyUs = r.medianUs;
  (void)cudaFree(data);
  return best;
}

double Timer::measureReadTimeBackToBack(uint64_t bytes, int runs) {
  const int copies = int(std::max<uint64_t>(2, coldBytes() / bytes + 1));
  void *data = nullptr;
  checkCuda(cudaMalloc(&data, bytes * copies), "cudaMalloc(read floor)");
  checkCuda(cudaMemset(data, 1, bytes * copies), "cudaMemset");
  const uint4 *p = static_cast<const uint4 *>(data);
  const size_t n = bytes / 16;
  double best = 1e30;
  TimingResult r;
  for (auto &launch : readLaunchers(n, smCount, sink)) {
    timeBackToBack(
        [&](int i) {
          launch(p + (i % copies) * n, stream);
          return true;
        },
        4 * copies, 1, runs, r);
    best = std::min(best, r.medianUs);
  }
  (void)cudaFree(data);
  return best;
}
