//===- Calibration.h - fd-calibrate's sample reader and phi choice -*- C++ -*-===//
//
// The parts of fd-calibrate that read untrusted input and compute from it,
// as functions that report errors instead of exiting, so that the tool and
// its fuzz target (fuzz/CalibrateFuzzer.cpp) run the same code. Plain C++17,
// no LLVM.
//
//===----------------------------------------------------------------------===//
#ifndef FD_TOOLS_FD_CALIBRATE_CALIBRATION_H
#define FD_TOOLS_FD_CALIBRATE_CALIBRATION_H

#include <cstddef>
#include <istream>
#include <string>
#include <vector>

namespace fd::calibrate {

/// The row maxima of a samples file (docs/unified-max.md, "Sample files"),
/// with what was read.
struct Samples {
  double scale = 0;
  long headDim = 0;
  std::vector<double> rowMax;
  long scores = 0;
};

/// Reads a samples file from \p in (\p name for messages). False with
/// \p error naming the line and the problem on malformed input.
bool readSamples(std::istream &in, const std::string &name, Samples &out,
                 std::string &error);

/// What fd-calibrate chooses from the samples.
struct Calibration {
  double phi = 0, threshold = 0;
  /// The safe threshold for maxLen tokens (used when none is given).
  double safe = 0;
  /// Row maxima: smallest, median, largest.
  double lo = 0, median = 0, hi = 0;
  /// Sample rows inside [phi - threshold, phi + threshold], of rows.
  size_t covered = 0, rows = 0;
  double fallbackRate = 0;
};

/// Chooses the threshold (\p threshold if positive, else the safe bound for
/// sequences of up to \p maxLen tokens) and phi for \p s. False with
/// \p error when no safe threshold exists or phi would leave the f32 range.
/// On success every field is finite, |phi| and the threshold are at most
/// fdb::kMaxUnifiedMaxValue.
bool calibrate(const Samples &s, double maxLen, double threshold,
               Calibration &out, std::string &error);

/// \p x as %g writes it, for messages.
std::string show(double x);

/// The whole of \p text as a finite number (strtod, nothing left over).
bool parseDouble(const std::string &text, double &out);

} // namespace fd::calibrate

#endif // FD_TOOLS_FD_CALIBRATE_CALIBRATION_H
