//===- Calibration.cpp - fd-calibrate's sample reader and phi choice ------===//

#include "Calibration.h"

#include "fd/Bundle/Schema.h"

#include <algorithm>
#include <cerrno>
#include <cfloat>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <sstream>

using namespace fd::calibrate;

namespace {
/// The largest |phi|, |threshold| and |score| the unified-max kernels hold
/// in f32 (fd-compile and the runtime refuse larger ones).
constexpr double kF32Max = fdb::kMaxUnifiedMaxValue;

} // namespace

bool fd::calibrate::parseDouble(const std::string &text, double &out) {
  if (text.empty())
    return false;
  errno = 0;
  char *end = nullptr;
  out = std::strtod(text.c_str(), &end);
  return errno == 0 && end && *end == 0 && std::isfinite(out);
}

std::string fd::calibrate::show(double x) {
  char text[32];
  std::snprintf(text, sizeof(text), "%g", x);
  return text;
}

bool fd::calibrate::readSamples(std::istream &in, const std::string &name,
                                Samples &s, std::string &error) {
  s = Samples();
  std::string line;
  long lineNo = 0;
  std::vector<double> q;
  double current = -INFINITY; // largest score of the open q row
  bool open = false;
  auto fail = [&](const std::string &message) {
    error = name + ":" + std::to_string(lineNo) + ": " + message;
    return false;
  };
  auto closeRow = [&] {
    if (open && std::isfinite(current))
      s.rowMax.push_back(current);
    open = false;
    current = -INFINITY;
  };
  // The numbers after a record's key, each finite.
  auto numbers = [&](std::istringstream &words, const char *what,
                     std::vector<double> &xs) {
    xs.clear();
    std::string w;
    while (words >> w) {
      double x;
      if (!parseDouble(w, x))
        return fail("'" + w + "' in a " + what +
                    " line is not a finite number");
      xs.push_back(x);
    }
    return true;
  };
  bool sawHeader = false;
  std::vector<double> xs;
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
        return fail("expected the header 'fd-calibrate-samples 1'");
      sawHeader = true;
      continue;
    }
    if (key == "scale") {
      if (!numbers(words, "scale", xs))
        return false;
      if (xs.size() != 1 || xs[0] <= 0)
        return fail("'scale' takes one positive number");
      s.scale = xs[0];
    } else if (key == "head_dim") {
      if (!numbers(words, "head_dim", xs))
        return false;
      // A head_dim is a vector length: keep it to what a q line can hold.
      if (xs.size() != 1 || xs[0] < 1 || xs[0] > 65536 ||
          xs[0] != std::floor(xs[0]))
        return fail("'head_dim' takes one integer in [1, 65536]");
      // Every q and k of the file has this length; another head_dim later
      // would pair a 'k' with a 'q' of the old length (found by fuzzing:
      // the dot product read past the q).
      if (s.headDim != 0 && long(xs[0]) != s.headDim)
        return fail("'head_dim' is already " + std::to_string(s.headDim) +
                    "; a samples file has one head_dim");
      s.headDim = long(xs[0]);
    } else if (key == "q") {
      if (s.headDim == 0 || s.scale == 0)
        return fail("'q' needs 'scale' and 'head_dim' first");
      closeRow();
      if (!numbers(words, "q", q))
        return false;
      if (long(q.size()) != s.headDim)
        return fail("'q' has " + std::to_string(q.size()) +
                    " values, head_dim is " + std::to_string(s.headDim));
      open = true;
    } else if (key == "k") {
      if (!open)
        return fail("'k' before any 'q' (each 'k' is a key of the last 'q')");
      if (!numbers(words, "k", xs))
        return false;
      if (long(xs.size()) != s.headDim)
        return fail("'k' has " + std::to_string(xs.size()) +
                    " values, head_dim is " + std::to_string(s.headDim));
      double dot = 0;
      for (long i = 0; i < s.headDim; ++i)
        dot += q[size_t(i)] * xs[size_t(i)];
      double score = dot * s.scale;
      if (!std::isfinite(score) || std::fabs(score) > kF32Max)
        return fail("the score scale * q.k = " + show(score) +
                    " is outside the f32 range the kernels compute in");
      current = std::max(current, score);
      ++s.scores;
    } else if (key == "s") {
      closeRow();
      if (!numbers(words, "s", xs))
        return false;
      if (xs.empty())
        return fail("'s' needs at least one score");
      for (double x : xs)
        if (std::fabs(x) > kF32Max)
          return fail("score " + show(x) +
                      " is outside the f32 range the kernels compute in");
      s.rowMax.push_back(*std::max_element(xs.begin(), xs.end()));
      s.scores += long(xs.size());
    } else {
      return fail("unknown record '" + key +
                  "' (expected scale, head_dim, q, k or s)");
    }
  }
  if (!sawHeader) {
    error = name + ": empty file (expected the header 'fd-calibrate-samples 1')";
    return false;
  }
  closeRow();
  if (s.rowMax.empty()) {
    error = name + ": no score rows ('q' with at least one 'k', or 's')";
    return false;
  }
  return true;
}

bool fd::calibrate::calibrate(const Samples &s, double maxLen, double threshold,
                              Calibration &c, std::string &error) {
  c = Calibration();
  if (s.rowMax.empty() || !(maxLen >= 1)) {
    error = "no score rows, or max_len below 1";
    return false;
  }
  // Largest |s - phi| the f32 kernels survive for maxLen tokens: the sum
  // (<= maxLen e^T) and the V-weighted sum (<= maxLen e^T 65504, f16's
  // largest value) stay below FLT_MAX, and e^-T times the smallest normal
  // f16 stays a normal f32. Two units of margin.
  c.safe =
      std::log(double(FLT_MAX)) - std::log(maxLen) - std::log(65504.0) - 2.0;
  if (c.safe <= 1) {
    error = "--max-len " + std::to_string(long(maxLen)) +
            " leaves no safe threshold";
    return false;
  }
  c.threshold = threshold > 0 ? threshold : c.safe;
  std::vector<double> m = s.rowMax;
  std::sort(m.begin(), m.end());
  c.lo = m.front();
  c.hi = m.back();
  c.median = m[m.size() / 2];
  c.rows = m.size();
  if (c.hi - c.lo <= 2 * c.threshold) {
    c.phi = 0.5 * (c.lo + c.hi);
    c.covered = m.size();
  } else {
    // The window [x, x + 2T] holding the most row maxima.
    size_t best = 0, bestStart = 0, j = 0;
    for (size_t i = 0; i < m.size(); ++i) {
      while (j < m.size() && m[j] <= m[i] + 2 * c.threshold)
        ++j;
      if (j - i > best) {
        best = j - i;
        bestStart = i;
      }
    }
    c.phi = m[bestStart] + c.threshold;
    c.covered = best;
  }
  c.fallbackRate = 1.0 - double(c.covered) / double(m.size());
  // Row maxima near FLT_MAX can put phi = max + threshold past it: the
  // kernels would hold an infinite phi, and JSON has no inf.
  if (!std::isfinite(c.phi) || std::fabs(c.phi) > kF32Max) {
    error = "phi " + show(c.phi) + " (from row maxima up to " + show(c.hi) +
            ") is beyond the f32 range (" + show(kF32Max) + ")";
    return false;
  }
  return true;
}
