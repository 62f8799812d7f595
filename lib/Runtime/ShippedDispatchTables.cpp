//===- ShippedDispatchTables.cpp - measured GEMM dispatch per device ------===//
#include "fd/Runtime/ShippedDispatchTables.h"

#include <cstdio>
#include <memory>
#include <mutex>

using namespace fd::rt;

namespace {
/// One shipped table: the model its device name contains, and its text
/// (lib/Runtime/dispatch/<file>, embedded by CMake).
struct Shipped {
  std::string_view model;
  std::string_view file;
  std::string_view text;
};

const Shipped kShipped[] = {
    {"H200", "h200.txt",
#include "DispatchH200.inc"
    },
    {"H100", "h100.txt",
#include "DispatchH100.inc"
    },
};
constexpr size_t kNumShipped = sizeof(kShipped) / sizeof(kShipped[0]);
} // namespace

const DispatchTable *fd::rt::getShippedDispatchTable(
    std::string_view deviceName) {
  static std::once_flag once;
  static std::unique_ptr<DispatchTable> tables[kNumShipped];
  std::call_once(once, [] {
    for (size_t i = 0; i < kNumShipped; ++i) {
      Expected<DispatchTable> t = DispatchTable::parse(
          kShipped[i].text, "lib/Runtime/dispatch/" +
                                std::string(kShipped[i].file));
      // The runtime's unit tests parse every table; a bad one here is a
      // build of broken data, reported once and then unused.
      if (!t) {
        std::fprintf(stderr, "fd: shipped dispatch table: %s\n",
                     t.getStatus().getMessage().c_str());
        continue;
      }
      tables[i] = std::make_unique<DispatchTable>(std::move(*t));
    }
  });
  for (size_t i = 0; i < kNumShipped; ++i)
    if (deviceName.find(kShipped[i].model) != std::string_view::npos)
      return tables[i].get();
  return nullptr;
}
