//===- fd-calibrate.cpp - derive the unified max phi and its threshold ----===//
//
// fd-calibrate samples.txt [-o calibration.json] [--max-len N]
//                          [--threshold T]
//
// Reads attention-score samples (docs/unified-max.md, "Sample files"): q/K
// vectors, from which scores scale * q.k are computed, or rows of scores
// collected from a model run. Chooses
//   threshold T: the largest |s - phi| for which the unified-max kernels stay
//     exact in f32 for sequences of up to --max-len tokens (sums and V-sums
//     cannot overflow, products with V stay normal), unless --threshold says;
//   phi: a value that puts every sample row's largest score within
//     [phi - T, phi + T] when the spread allows (the middle of the range),
//     otherwise the window of width 2T holding the most rows.
// Prints a report and the fd-compile / fd-opt spellings; -o writes the JSON
// that `fd-compile --calibration` reads. No GPU and no LLVM needed.
//
//===----------------------------------------------------------------------===//

#include "Calibration.h"

#include "fd/Bundle/Schema.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

#include <sys/stat.h>

using namespace fd::calibrate;

namespace {

/// The largest |phi| and |threshold| the unified-max kernels hold in f32.
constexpr double kF32Max = fdb::kMaxUnifiedMaxValue;

[[noreturn]] void fail(const std::string &message) {
  std::fprintf(stderr, "fd-calibrate: error: %s\n", message.c_str());
  std::exit(1);
}

void usage() {
  std::fputs(
      "usage: fd-calibrate <samples.txt> [-o calibration.json] [--max-len N]\n"
      "                    [--threshold T]\n"
      "\n"
      "  -o FILE         write the calibration (JSON) that\n"
      "                  `fd-compile --calibration FILE` reads\n"
      "  --max-len N     longest sequence the kernels will see (default\n"
      "                  131072); bounds the safe threshold\n"
      "  --threshold T   use this threshold instead of the safe one\n",
      stderr);
}

Samples readSamplesFile(const std::string &path) {
  // A device or FIFO (/dev/zero) would be read as one endless line.
  struct stat info;
  if (::stat(path.c_str(), &info) == 0 && !S_ISREG(info.st_mode))
    fail("samples file '" + path + "' is not a regular file");
  std::ifstream in(path);
  if (!in)
    fail("cannot open samples file '" + path + "': " + std::strerror(errno));
  Samples s;
  std::string error;
  if (!readSamples(in, path, s, error))
    fail(error);
  return s;
}

} // namespace

int main(int argc, char **argv) {
  std::string input, output;
  double maxLen = 131072, threshold = 0;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        usage();
        fail(arg + " needs a value");
      }
      return argv[++i];
    };
    if (arg == "-o") {
      output = value();
    } else if (arg == "--max-len") {
      std::string v = value();
      if (!parseDouble(v, maxLen) || maxLen < 1 || maxLen != std::floor(maxLen))
        fail("--max-len expects a positive integer, got '" + v + "'");
    } else if (arg == "--threshold") {
      std::string v = value();
      if (!parseDouble(v, threshold) || threshold <= 0)
        fail("--threshold expects a positive number, got '" + v + "'");
      if (threshold > kF32Max)
        fail("--threshold " + v + " is beyond the f32 range (" +
             show(kF32Max) + ")");
    } else if (arg == "-h" || arg == "--help") {
      usage();
      return 0;
    } else if (!arg.empty() && arg[0] == '-') {
      usage();
      fail("unknown option '" + arg + "'");
    } else if (input.empty()) {
      input = arg;
    } else {
      usage();
      fail("more than one samples file given");
    }
  }
  if (input.empty()) {
    usage();
    fail("no samples file given");
  }

  Samples s = readSamplesFile(input);
  bool userThreshold = threshold > 0;
  Calibration c;
  std::string error;
  if (!calibrate(s, maxLen, threshold, c, error))
    fail(error);
  threshold = c.threshold;
  double phi = c.phi, lo = c.lo, median = c.median, hi = c.hi,
         safe = c.safe, fallbackRate = c.fallbackRate;
  size_t covered = c.covered;
  const std::vector<double> &m = s.rowMax;

  std::printf("fd-calibrate: %zu score rows (%ld scores) from %s\n", m.size(),
              s.scores, input.c_str());
  std::printf("  row max: min %.6g, median %.6g, max %.6g\n", lo, median, hi);
  std::printf("  threshold %.6g (%s; safe for %ld tokens: %.6g)\n", threshold,
              userThreshold ? "given" : "the safe bound", long(maxLen), safe);
  if (userThreshold && threshold > safe)
    std::printf("  warning: the threshold exceeds the safe bound; rows near "
                "it are caught by the sum check instead\n");
  std::printf("  phi %.6g: %zu of %zu sample rows inside [phi - threshold, "
              "phi + threshold], sample fallback rate %.4g%%\n",
              phi, covered, m.size(), 100 * fallbackRate);
  std::printf("  fd-compile --options=\"unified-max-phi=%.9g "
              "unified-max-threshold=%.9g\"\n",
              phi, threshold);
  std::printf("  fd-opt --fd-unified-max=\"phi=%.9g threshold=%.9g\"\n", phi,
              threshold);
  if (!output.empty()) {
    // JSON numbers cannot be inf or nan; the checks above keep them out,
    // and this keeps a file that fd-compile could not read from being
    // written should one slip through.
    for (double x : {phi, threshold, lo, median, hi, fallbackRate})
      if (!std::isfinite(x))
        fail("a result is not finite (" + show(x) + "); not writing '" +
             output + "'");
    std::ofstream out(output);
    if (!out)
      fail("cannot write '" + output + "': " + std::strerror(errno));
    char buf[512];
    std::snprintf(buf, sizeof(buf),
                  "{\n  \"format\": \"fd-calibration\",\n  \"version\": 1,\n"
                  "  \"phi\": %.17g,\n  \"threshold\": %.17g,\n"
                  "  \"rows\": %zu,\n  \"scores\": %ld,\n"
                  "  \"row_max\": {\"min\": %.17g, \"median\": %.17g, "
                  "\"max\": %.17g},\n"
                  "  \"sample_fallback_rate\": %.17g,\n  \"max_len\": %ld\n}\n",
                  phi, threshold, m.size(), s.scores, lo, median, hi,
                  fallbackRate, long(maxLen));
    out << buf;
    if (!out)
      fail("cannot write '" + output + "'");
    std::printf("  wrote %s\n", output.c_str());
  }
  return 0;
}
