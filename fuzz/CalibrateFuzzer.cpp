//===- CalibrateFuzzer.cpp - libFuzzer target: fd-calibrate's sample reader ===//
//
// Any byte string as a samples file: readSamples accepts it or names the
// problem; accepted samples go through calibrate(), whose results must be
// finite and within the f32 range the kernels hold (what fd-calibrate
// writes and fd-compile reads).
//
//===----------------------------------------------------------------------===//
#include "Calibration.h"

#include "fd/Bundle/Schema.h"

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <sstream>
#include <string>

using namespace fd::calibrate;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::istringstream in(std::string(reinterpret_cast<const char *>(data), size));
  Samples s;
  std::string error;
  if (!readSamples(in, "fuzz.txt", s, error)) {
    if (error.empty())
      std::abort(); // a refusal always says why
    return 0;
  }
  for (double maxLen : {1.0, 131072.0, 2147483647.0})
    for (double threshold : {0.0, 1.0, 1e30}) {
      Calibration c;
      if (!calibrate(s, maxLen, threshold, c, error))
        continue;
      for (double x : {c.phi, c.threshold, c.lo, c.median, c.hi,
                       c.fallbackRate})
        if (!std::isfinite(x))
          std::abort();
      if (std::fabs(c.phi) > fdb::kMaxUnifiedMaxValue || c.covered > c.rows)
        std::abort();
    }
  return 0;
}
