//===- BundleFuzzer.cpp - libFuzzer target: the bundle reader and planner -===//
//
// Every byte string is a candidate bundle: Bundle::loadMemory must accept it
// or return an error, never crash, hang or trip a sanitizer. An accepted
// bundle is then planned the way a caller would (host arithmetic only, no
// GPU): every attention entry at a few batch sizes and lengths, every flat
// GEMM's kernel selection over M, each at its limits.
//
//===----------------------------------------------------------------------===//
#include "fd/Runtime/Bundle.h"
#include "fd/Runtime/FlatGemm.h"
#include "fd/Runtime/Planner.h"

#include <cstdint>
#include <cstdlib>
#include <string_view>

using namespace fd::rt;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string_view text(reinterpret_cast<const char *>(data), size);
  auto bundle = Bundle::loadMemory(text, "fuzz.fdb");
  if (!bundle)
    return 0;
  for (const EntrySpec &entry : (*bundle)->getEntries()) {
    if (entry.op == OpKind::FlatGemm) {
      for (int64_t m : {int64_t(0), int64_t(1), int64_t(7), int64_t(64),
                        int64_t(INT32_MAX)}) {
        auto k = selectFlatGemmKernel(entry, m, nullptr);
        // A selected kernel is one of the entry's.
        if (k && *k >= entry.gemm.kernels.size())
          std::abort();
      }
      continue;
    }
    for (int64_t batch : {int64_t(1), int64_t(3), int64_t(INT32_MAX)})
      for (int64_t len : {int64_t(0), int64_t(1), int64_t(4097),
                          int64_t(INT32_MAX)})
        for (int64_t resident : {int64_t(0), int64_t(1), int64_t(16)}) {
          auto p = plan(entry, batch, len, /*smCount=*/132, resident);
          // A plan that succeeds covers every token with its splits.
          if (p && p->numSplits * p->chunk < len)
            std::abort();
        }
  }
  return 0;
}
