//===- VariantTable.cpp - measured launch-variant choices -----------------===//
#include "fd/Runtime/VariantTable.h"

#include "TextTable.h"
#include "fd/Bundle/Schema.h"

#include <cmath>
#include <sstream>

using namespace fd;
using namespace fd::rt;

Expected<VariantTable> VariantTable::parse(std::string_view text,
                                           std::string_view sourceName) {
  VariantTable table;
  Status parsed = forEachTableLine(
      text, sourceName, [&](std::istringstream &fields) -> std::string {
        Row row;
        std::string dtype, extra;
        if (!(fields >> row.numQHeads))
          return ""; // blank or comment
        if (!(fields >> row.numKvHeads >> row.headDim >> dtype >>
              row.softmax >> row.batch >> row.maxLen >> row.variant) ||
            (fields >> extra))
          return "expected '<Hq> <Hkv> <D> <dtype> <softmax> <B> <L> "
                 "<variant>'";
        if (row.numQHeads < 1 || row.numKvHeads < 1 || row.numQHeads > 1024 ||
            row.numQHeads % row.numKvHeads != 0)
          return "Hq and Hkv must be positive, at most 1024, and Hkv must "
                 "divide Hq";
        if (row.headDim < 1 || row.headDim > 1024)
          return "D must be in [1, 1024]";
        std::optional<DType> type = parseDType(dtype);
        if (!type || (*type != DType::F16 && *type != DType::BF16))
          return "dtype '" + dtype + "' is not f16 or bf16";
        row.dtype = *type;
        if (row.softmax != fdb::softmax::kOnline &&
            row.softmax != fdb::softmax::kUnifiedMax)
          return "softmax '" + row.softmax + "' is not online or unified_max";
        if (row.batch < 1 || row.batch > 65535)
          return "B must be in [1, 65535]";
        if (row.maxLen < 1 || row.maxLen > 2147483647)
          return "L must be in [1, 2147483647]";
        table.add(std::move(row));
        return "";
      });
  if (!parsed.ok())
    return parsed;
  return table;
}

Expected<VariantTable> VariantTable::loadFile(const std::string &path) {
  Expected<std::string> text = readTableFile(path, "variant table");
  if (!text)
    return text.getStatus();
  return parse(*text, path);
}

void VariantTable::add(Row row) {
  for (Row &r : rows)
    if (r.numQHeads == row.numQHeads && r.numKvHeads == row.numKvHeads &&
        r.headDim == row.headDim && r.dtype == row.dtype &&
        r.softmax == row.softmax && r.batch == row.batch &&
        r.maxLen == row.maxLen) {
      r.variant = std::move(row.variant);
      return;
    }
  rows.push_back(std::move(row));
}

std::optional<size_t> VariantTable::lookup(const EntrySpec &entry,
                                           int64_t batch,
                                           int64_t maxLen) const {
  // Distance in octaves of B and L: a measurement at twice the length is as
  // near as one at twice the batch.
  auto octaves = [](int64_t a, int64_t b) {
    return std::log2(double(std::max<int64_t>(a, 1))) -
           std::log2(double(std::max<int64_t>(b, 1)));
  };
  std::optional<size_t> best;
  double bestDistance = 0;
  for (const Row &r : rows) {
    if (r.numQHeads != entry.numQHeads || r.numKvHeads != entry.numKvHeads ||
        r.headDim != entry.headDim || r.dtype != entry.dtype ||
        r.softmax != entry.softmax.kind)
      continue;
    int v = entry.findVariant(r.variant);
    if (v < 0)
      continue;
    double db = octaves(batch, r.batch), dl = octaves(maxLen, r.maxLen);
    // Farther than kMaxOctaves in B or L a line is a guess, not a
    // measurement of this call (the fastest variant flips within 2-4x of
    // B or L: docs/perf.md, sessions 14 and 17): the rules plan it.
    if (std::abs(db) > kMaxOctaves || std::abs(dl) > kMaxOctaves)
      continue;
    double distance = db * db + dl * dl;
    if (!best || distance < bestDistance)
      best = size_t(v), bestDistance = distance;
  }
  return best;
}

std::string VariantTable::toString() const {
  std::ostringstream out;
  out << "# fd variant table: <Hq> <Hkv> <D> <dtype> <softmax> <B> <L> "
         "<variant> (fd-bench --write-variant-table)\n";
  for (const Row &r : rows)
    out << r.numQHeads << ' ' << r.numKvHeads << ' ' << r.headDim << ' '
        << dtypeName(r.dtype) << ' ' << r.softmax << ' ' << r.batch << ' '
        << r.maxLen << ' ' << r.variant << '\n';
  return out.str();
}
