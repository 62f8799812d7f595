//===- ResultFile.h - The result files every measuring tool writes -*- C++ -*-===//
//
// One JSON schema for everything fd measures (docs/measuring.md, "Result
// files"): a header saying where and how the numbers were taken -- tool,
// device, chip, driver, date, commit, flush, the read bandwidth the floors
// divide by -- and a list of records, each tool's own. fd-bench and fd-tune
// write it with this header; the Python benchmarks with bench/fd_result.py;
// scripts/perf-report.py reads it. Header-only and standard C++ only, so
// that tools without the harness library (fd-tune without CUDA's compiler)
// share it.
//
//===----------------------------------------------------------------------===//

#ifndef FD_HARNESS_RESULTFILE_H
#define FD_HARNESS_RESULTFILE_H

#include <ctime>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

namespace fd::harness {

/// The schema's name and version ("schema", "version").
inline constexpr const char *kResultSchema = "fd-result";
inline constexpr int kResultSchemaVersion = 1;

/// Where and how a run's numbers were taken.
struct ResultHeader {
  std::string tool, device, chip, commit, flush;
  int driver = 0;        ///< cuDriverGetVersion, e.g. 13000
  double readGBps = 0;   ///< the bandwidth the floors divide by
  std::string date;      ///< "YYYY-MM-DD HH:MM UTC"; empty: now
};

/// \p s as the inside of a JSON string.
inline std::string jsonEscape(const std::string &s) {
  std::string out;
  for (char ch : s) {
    if (ch == '"' || ch == '\\')
      out += std::string("\\") + ch;
    else if (static_cast<unsigned char>(ch) < 0x20)
      out += ' ';
    else
      out += ch;
  }
  return out;
}

/// The current time as the header's date.
inline std::string utcNow() {
  char date[64];
  std::time_t now = std::time(nullptr);
  std::strftime(date, sizeof(date), "%Y-%m-%d %H:%M UTC", std::gmtime(&now));
  return date;
}

/// Writes the header's fields, then \p extra (name and JSON text of each),
/// and opens the "records" list: the caller writes the records, separated
/// by commas, and closes with endResultFile.
inline void beginResultFile(std::ostream &os, const ResultHeader &h,
                            const std::vector<std::pair<std::string,
                                                        std::string>> &extra =
                                {}) {
  auto text = [&](const char *key, const std::string &value) {
    os << ",\n  \"" << key << "\": \"" << jsonEscape(value) << "\"";
  };
  os << "{\n  \"schema\": \"" << kResultSchema
     << "\",\n  \"version\": " << kResultSchemaVersion;
  text("tool", h.tool);
  text("device", h.device);
  text("chip", h.chip);
  os << ",\n  \"driver\": " << h.driver;
  text("date", h.date.empty() ? utcNow() : h.date);
  text("commit", h.commit);
  text("flush", h.flush);
  os << ",\n  \"read_floor_GBps\": " << h.readGBps;
  for (const auto &[key, json] : extra)
    os << ",\n  \"" << jsonEscape(key) << "\": " << json;
  os << ",\n  \"records\": [";
}

/// Closes what beginResultFile opened.
inline void endResultFile(std::ostream &os) { os << "\n  ]\n}\n"; }

} // namespace fd::harness

#endif // FD_HARNESS_RESULTFILE_H
