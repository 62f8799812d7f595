//===- ShippedTable.h - tables built into the runtime, per device -*- C++ -*-===//
//
// fd ships measured tables (flat-GEMM dispatch, lib/Runtime/dispatch/;
// launch variants, lib/Runtime/variants/) as text embedded by CMake. Each is
// matched by the model in the device's name: the H200 and the H100 share
// chip and SM count, not memory bandwidth, so what was measured on one does
// not hold on the other. Parsed once, on first use.
//
//===----------------------------------------------------------------------===//
#ifndef FD_RUNTIME_SHIPPEDTABLE_H
#define FD_RUNTIME_SHIPPEDTABLE_H

#include "fd/Runtime/Status.h"

#include <cstdio>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace fd::rt {

/// One embedded table: the model its device name contains, the file it was
/// built from (for messages) and its text.
struct ShippedText {
  std::string_view model;
  std::string_view file;
  std::string_view text;
};

/// The parsed tables of one kind. Table::parse(text, name) ->
/// Expected<Table>.
template <class Table> class ShippedTables {
public:
  explicit ShippedTables(std::initializer_list<ShippedText> texts) {
    for (const ShippedText &t : texts) {
      Expected<Table> parsed =
          Table::parse(t.text, "lib/Runtime/" + std::string(t.file));
      // The runtime's unit tests parse every shipped table; a bad one here
      // is a build of broken data, reported once and then unused.
      if (!parsed) {
        std::fprintf(stderr, "fd: shipped table: %s\n",
                     parsed.getStatus().getMessage().c_str());
        continue;
      }
      tables.emplace_back(t.model,
                          std::make_shared<const Table>(std::move(*parsed)));
    }
  }

  /// The table of the device named \p deviceName, or null.
  std::shared_ptr<const Table> find(std::string_view deviceName) const {
    for (const auto &[model, table] : tables)
      if (deviceName.find(model) != std::string_view::npos)
        return table;
    return nullptr;
  }

  /// The models there are tables for, e.g. "H200 and H100".
  std::string models() const {
    std::string s;
    for (size_t i = 0; i < tables.size(); ++i)
      s += (i == 0 ? "" : i + 1 == tables.size() ? " and " : ", ") +
           std::string(tables[i].first);
    return s;
  }

private:
  std::vector<std::pair<std::string_view, std::shared_ptr<const Table>>>
      tables;
};

} // namespace fd::rt

#endif // FD_RUNTIME_SHIPPEDTABLE_H
