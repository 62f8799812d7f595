//===- VariantTable.h - measured launch-variant choices ---------*- C++ -*-===//
//
// Which launch variant (split / unsplit / two_kernel / single_launch) an
// attention entry should run is a property of the device, measured, not a
// fixed preference: fd-bench --write-variant-table times every variant of
// every case and writes the fastest, and the planner consults the table
// before its built-in rules (Planner.h, choosePlan).
//
// File format, one measurement per line ('#' starts a comment):
//
//   <Hq> <Hkv> <D> <dtype> <softmax> <B> <L> <variant>
//
// e.g. "32 32 128 f16 unified_max 1 65536 two_kernel". A call takes the
// variant of the nearest line of its shape (Hq, Hkv, D, dtype, softmax) in
// (log2 B, log2 L) whose variant the entry has, among the lines within a
// factor of 2 of its B and of its L (kMaxOctaves); calls no line is that
// near, and shapes the table does not list, plan as without a table.
//
//===----------------------------------------------------------------------===//
#ifndef FD_RUNTIME_VARIANTTABLE_H
#define FD_RUNTIME_VARIANTTABLE_H

#include "fd/Runtime/Bundle.h"
#include "fd/Runtime/Export.h"
#include "fd/Runtime/Status.h"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fd::rt {

class FD_RT_API VariantTable {
public:
  /// How far (octaves of B, and of L) a line may be from a call and still
  /// choose its variant.
  static constexpr double kMaxOctaves = 1.0;

  struct Row {
    int64_t numQHeads = 0, numKvHeads = 0, headDim = 0;
    DType dtype = DType::F16;
    std::string softmax; ///< fdb::softmax::kOnline or kUnifiedMax
    int64_t batch = 0, maxLen = 0;
    std::string variant;
  };

  static Expected<VariantTable> parse(std::string_view text,
                                      std::string_view sourceName = "<table>");
  static Expected<VariantTable> loadFile(const std::string &path);

  /// The index (into entry.variants) of the measured variant nearest to
  /// (batch, maxLen) for the entry's shape, or nothing when the table has
  /// no line for it that names one of the entry's variants.
  std::optional<size_t> lookup(const EntrySpec &entry, int64_t batch,
                               int64_t maxLen) const;

  /// Adds a measurement (replacing one at the same shape, B and L).
  void add(Row row);
  const std::vector<Row> &getRows() const { return rows; }
  /// The table in its file format (what fd-bench writes).
  std::string toString() const;

private:
  std::vector<Row> rows;
};

} // namespace fd::rt

#endif // FD_RUNTIME_VARIANTTABLE_H
