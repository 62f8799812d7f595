//===- Timing.h - GPU timing with a flushed L2 ------------------*- C++ -*-===//
//
// How fd-bench times a kernel (docs/perf.md, ../shared/MEASURING.md): CUDA
// events around the launches only, the L2 flushed before each run by writing
// a buffer larger than it, and the median over many runs. The read-bandwidth
// floor is measured in the same process by a plain streaming-read kernel.
//
//===----------------------------------------------------------------------===//
#ifndef FD_HARNESS_TIMING_H
#define FD_HARNESS_TIMING_H

#include <cuda_runtime_api.h>

#include <cstdint>
#include <functional>

namespace fd::harness {

struct TimingResult {
  double medianUs = 0;
  double minUs = 0;
  double maxUs = 0;
  int runs = 0;
};

class Timer {
public:
  /// \p flushBytes: the buffer written before each run to evict the L2.
  explicit Timer(cudaStream_t stream, uint64_t flushBytes = 512ull << 20);
  ~Timer();
  Timer(const Timer &) = delete;
  Timer &operator=(const Timer &) = delete;

  /// Runs \p launch (which enqueues work on the stream) \p warmup times, then
  /// \p runs times with the L2 flushed before each, timed with events.
  /// Returns false (and no result) if \p launch returns false.
  bool time(const std::function<bool()> &launch, int warmup, int runs,
            TimingResult &result);

  /// GB/s of a streaming read of \p bytes (16-byte loads, summed so the
  /// loads are not dead): the bandwidth floor of a memory-bound kernel.
  double measureReadBandwidth(uint64_t bytes, int runs);

private:
  cudaStream_t stream;
  void *flushBuffer = nullptr;
  uint64_t flushBytes;
  cudaEvent_t start = nullptr, stop = nullptr;
};

} // namespace fd::harness

#endif // FD_HARNESS_TIMING_H
