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
