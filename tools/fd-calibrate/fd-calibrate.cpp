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

#include "fd/Bundle/Schema.h"

#include <algorithm>
#include <cerrno>
#include <cfloat>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <sys/stat.h>

namespace {

/// The largest |phi|, |threshold| and |score| the unified-max kernels hold
/// in f32 (fd-compile and the runtime refuse larger ones).
constexpr double kF32Max = fdb::kMaxUnifiedMaxValue;

/// \p x as %g writes it, for messages.
std::string show(double x) {
  char text[32];
  std::snprintf(text, sizeof(text), "%g", x);
  return text;
}

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

bool parseDouble(const std::string &text, double &out) {
  if (text.empty())
    return false;
  errno = 0;
  char *end = nullptr;
  out = std::strtod(text.c_str(), &end);
  return errno == 0 && end && *end == 0 && std::isfinite(out);
}

/// The row maxima of the samples, with what was read.
struct Samples {
  double scale = 0;
  long headDim = 0;
  std::vector<double> rowMax;
  long scores = 0;
};

Samples readSamples(const std::string &path) {
  // A device or FIFO (/dev/zero) would be read as one endless line.
  struct stat info;
  if (::stat(path.c_str(), &info) == 0 && !S_ISREG(info.st_mode))
    fail("samples file '" + path + "' is not a regular file");
  std::ifstream in(path);
  if (!in)
    fail("cannot open samples file '" + path + "': " + std::strerror(errno));
  Samples s;
  std::string line;
  long lineNo = 0;
  std::vector<double> q;
  double current = -INFINITY; // largest score of the open q row
  bool open = false;
  auto where = [&] { return path + ":" + std::to_string(lineNo) + ": "; };
  auto closeRow = [&] {
    if (open && std::isfinite(current))
      s.rowMax.push_back(current);
    open = false;
    current = -INFINITY;
  };
  auto numbers = [&](std::istringstream &words, const char *what) {
    std::vector<double> xs;
    std::string w;
    while (words >> w) {
      double x;
      if (!parseDouble(w, x))
        fail(where() + "'" + w + "' in a " + what +
             " line is not a finite number");
      xs.push_back(x);
    }
    return xs;
  };
  bool sawHeader = false;
  while (std::getline(in, line)) {
    ++lineNo;
    std::istringstream words(line);
    std::string key;
    if (!(words >> key) || key[0] == '#')
      continue;
    if (!sawHeader) {
      std::string version;
      if (key != "fd-calibrate-samples" || !(words >> version) ||
          version != "1")
        fail(where() + "expected the header 'fd-calibrate-samples 1'");
      sawHeader = true;
      continue;
    }
    if (key == "scale") {
      std::vector<double> xs = numbers(words, "scale");
      if (xs.size() != 1 || xs[0] <= 0)
        fail(where() + "'scale' takes one positive number");
      s.scale = xs[0];
    } else if (key == "head_dim") {
      std::vector<double> xs = numbers(words, "head_dim");
      if (xs.size() != 1 || xs[0] < 1 || xs[0] != std::floor(xs[0]))
        fail(where() + "'head_dim' takes one positive integer");
      s.headDim = long(xs[0]);
    } else if (key == "q") {
      if (s.headDim == 0 || s.scale == 0)
        fail(where() + "'q' needs 'scale' and 'head_dim' first");
      closeRow();
      q = numbers(words, "q");
      if (long(q.size()) != s.headDim)
        fail(where() + "'q' has " + std::to_string(q.size()) +
             " values, head_dim is " + std::to_string(s.headDim));
      open = true;
    } else if (key == "k") {
      if (!open)
        fail(where() + "'k' before any 'q' (each 'k' is a key of the last "
                       "'q')");
      std::vector<double> k = numbers(words, "k");
      if (long(k.size()) != s.headDim)
        fail(where() + "'k' has " + std::to_string(k.size()) +
             " values, head_dim is " + std::to_string(s.headDim));
      double dot = 0;
      for (long i = 0; i < s.headDim; ++i)
        dot += q[size_t(i)] * k[size_t(i)];
      double score = dot * s.scale;
      if (!std::isfinite(score) || std::fabs(score) > kF32Max)
        fail(where() + "the score scale * q.k = " + show(score) +
             " is outside the f32 range the kernels compute in");
      current = std::max(current, score);
      ++s.scores;
    } else if (key == "s") {
      closeRow();
      std::vector<double> xs = numbers(words, "s");
      if (xs.empty())
        fail(where() + "'s' needs at least one score");
      for (double x : xs)
        if (std::fabs(x) > kF32Max)
          fail(where() + "score " + show(x) +
               " is outside the f32 range the kernels compute in");
      s.rowMax.push_back(*std::max_element(xs.begin(), xs.end()));
      s.scores += long(xs.size());
    } else {
      fail(where() + "unknown record '" + key +
           "' (expected scale, head_dim, q, k or s)");
    }
  }
  if (!sawHeader)
    fail(path + ": empty file (expected the header 'fd-calibrate-samples 1')");
  closeRow();
  if (s.rowMax.empty())
    fail(path + ": no score rows ('q' with at least one 'k', or 's')");
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

  Samples s = readSamples(input);
  // Largest |s - phi| the f32 kernels survive for maxLen tokens: the sum
  // (<= maxLen e^T) and the V-weighted sum (<= maxLen e^T 65504, f16's
  // largest value) stay below FLT_MAX, and e^-T times the smallest normal
  // f16 stays a normal f32. Two units of margin.
  double safe =
      std::log(double(FLT_MAX)) - std::log(maxLen) - std::log(65504.0) - 2.0;
  if (safe <= 1)
    fail("--max-len " + std::to_string(long(maxLen)) +
         " leaves no safe threshold");
  bool userThreshold = threshold > 0;
  if (!userThreshold)
    threshold = safe;

  std::vector<double> m = s.rowMax;
  std::sort(m.begin(), m.end());
  double lo = m.front(), hi = m.back(), median = m[m.size() / 2];
  double phi;
  size_t covered;
  if (hi - lo <= 2 * threshold) {
    phi = 0.5 * (lo + hi);
    covered = m.size();
  } else {
    // The window [x, x + 2T] holding the most row maxima.
    size_t best = 0, bestStart = 0, j = 0;
    for (size_t i = 0; i < m.size(); ++i) {
      while (j < m.size() && m[j] <= m[i] + 2 * threshold)
        ++j;
      if (j - i > best) {
        best = j - i;
        bestStart = i;
      }
    }
    phi = m[bestStart] + threshold;
    covered = best;
  }
  double fallbackRate = 1.0 - double(covered) / double(m.size());
  // Row maxima near FLT_MAX can put phi = max + threshold past it: the
  // kernels would hold an infinite phi, and JSON has no inf.
  if (!std::isfinite(phi) || std::fabs(phi) > kF32Max)
    fail("phi " + show(phi) + " (from row maxima up to " + show(hi) +
         ") is beyond the f32 range (" + show(kF32Max) + ")");

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
