//===- VariantTable.cpp - measured launch-variant choices -----------------===//
#include "fd/Runtime/VariantTable.h"

#include "fd/Bundle/Schema.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <sstream>

using namespace fd;
using namespace fd::rt;

Expected<VariantTable> VariantTable::parse(std::string_view text,
                                           std::string_view sourceName) {
  VariantTable table;
  std::istringstream in{std::string(text)};
  std::string line;
  int lineNo = 0;
  auto bad = [&](const std::string &what) {
    return Status::error(ErrorCode::Parse, std::string(sourceName) + ":" +
                                               std::to_string(lineNo) + ": " +
                                               what);
  };
  while (std::getline(in, line)) {
    ++lineNo;
    if (size_t hash = line.find('#'); hash != std::string::npos)
      line.resize(hash);
    std::istringstream fields(line);
    Row row;
    std::string dtype, extra;
    if (!(fields >> row.numQHeads))
      continue; // blank or comment
    if (!(fields >> row.numKvHeads >> row.headDim >> dtype >> row.softmax >>
          row.batch >> row.maxLen >> row.variant) ||
        (fields >> extra))
      return bad("expected '<Hq> <Hkv> <D> <dtype> <softmax> <B> <L> "
                 "<variant>'");
    if (row.numQHeads < 1 || row.numKvHeads < 1 || row.numQHeads > 1024 ||
        row.numQHeads % row.numKvHeads != 0)
      return bad("Hq and Hkv must be positive, at most 1024, and Hkv must "
                 "divide Hq");
    if (row.headDim < 1 || row.headDim > 1024)
      return bad("D must be in [1, 1024]");
    std::optional<DType> type = parseDType(dtype);
    if (!type || (*type != DType::F16 && *type != DType::BF16))
      return bad("dtype '" + dtype + "' is not f16 or bf16");
    row.dtype = *type;
    if (row.softmax != fdb::softmax::kOnline &&
        row.softmax != fdb::softmax::kUnifiedMax)
      return bad("softmax '" + row.softmax + "' is not online or unified_max");
    if (row.batch < 1 || row.batch > 65535)
      return bad("B must be in [1, 65535]");
    if (row.maxLen < 1 || row.maxLen > 2147483647)
      return bad("L must be in [1, 2147483647]");
    table.add(std::move(row));
  }
  return table;
}

Expected<VariantTable> VariantTable::loadFile(const std::string &path) {
  std::FILE *file = std::fopen(path.c_str(), "rb");
  if (!file)
    return Status::error(ErrorCode::Io, path + ": cannot open variant table: " +
                                            std::strerror(errno));
  std::string text;
  char buffer[4096];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof(buffer), file)) > 0)
    text.append(buffer, n);
  std::fclose(file);
  return parse(text, path);
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
