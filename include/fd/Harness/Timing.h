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

/// How the L2 is emptied before each timed run. Writing leaves the L2 full
/// of dirty lines whose write-back then lands inside the timed kernel (8-15
/// us measured on an H100 for short kernels), so reading is the default;
/// the write flush stays for comparison with earlier numbers.
enum class FlushMode { Read, Write };

class Timer {
public:
  /// \p flushBytes: the buffer streamed through before each run.
  explicit Timer(cudaStream_t stream, uint64_t flushBytes = 512ull << 20,
                 FlushMode mode = FlushMode::Read);
  ~Timer();
  Timer(const Timer &) = delete;
  Timer &operator=(const Timer &) = delete;

  /// Runs \p launch (which enqueues work on the stream) \p warmup times, then
  /// \p runs times with the L2 flushed before each, timed with events.
  /// Returns false (and no result) if \p launch returns false.
  bool time(const std::function<bool()> &launch, int warmup, int runs,
            TimingResult &result);

  /// Back-to-back timing, as a model's decode step runs its kernels: after
  /// one flush, \p count launches (\p launch gets the index; callers rotate
  /// over inputs whose total exceeds the L2 so each launch reads cold
  /// memory) are timed together, and the result is per launch. Launch
  /// latency then overlaps the previous kernel, which the one-launch
  /// protocol of time() cannot show (an empty launch alone measures ~3 us).
  bool timeBackToBack(const std::function<bool(int)> &launch, int count,
                      int warmup, int runs, TimingResult &result);

  /// GB/s of a streaming read of \p bytes (16-byte loads, summed so the
  /// loads are not dead): the bandwidth floor of a memory-bound kernel.
  double measureReadBandwidth(uint64_t bytes, int runs);

  /// The fastest of a few streaming-read kernels over \p bytes, timed like
  /// any kernel here (median µs): what a memory-bound kernel of that size can
  /// reach once launch and ramp-up are counted. \p emptyUs gets the time of
  /// an empty launch under the same protocol.
  double measureReadTime(uint64_t bytes, int runs, double &emptyUs);

  /// measureReadTime's kernels timed back to back over enough copies of
  /// \p bytes that each launch reads cold memory: the per-launch time.
  double measureReadTimeBackToBack(uint64_t bytes, int runs);

  /// Bytes that are certainly not in the L2 after a kernel streams them:
  /// twice the device's L2 size.
  uint64_t coldBytes() const { return 2 * uint64_t(l2Bytes); }

private:
  cudaStream_t stream;
  void *flushBuffer = nullptr;
  uint64_t flushBytes;
  FlushMode flushMode;
  uint32_t *sink = nullptr;
  int smCount = 0;
  int l2Bytes = 0;
  cudaEvent_t start = nullptr, stop = nullptr;
};

} // namespace fd::harness

#endif // FD_HARNESS_TIMING_H
