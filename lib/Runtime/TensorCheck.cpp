//===- TensorCheck.cpp - Checking a caller tensor against an entry --------===//

#include "TensorCheck.h"

#include <cstdio>

using namespace fd::rt;

Status fd::rt::argError(const char *name, const std::string &what) {
  return Status::error(ErrorCode::InvalidArgument,
                       std::string("argument '") + name + "': " + what);
}

static std::string hexPointer(const void *p) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%p", p);
  return buf;
}

static std::string joinInts(const int64_t *v, int n) {
  std::string s;
  for (int i = 0; i < n; ++i)
    s += (i ? ", " : "") + std::to_string(v[i]);
  return s;
}

Status fd::rt::checkTensor(const TensorRef &t, const TensorExpectation &want) {
  if (!t.data)
    return argError(want.name, "data pointer is null");
  if (t.dtype != want.dtype)
    return argError(want.name, std::string("dtype is ") + dtypeName(t.dtype) +
                                   ", expected " + dtypeName(want.dtype));
  if (t.rank != want.rank)
    return argError(want.name, "rank is " + std::to_string(t.rank) +
                                   ", expected " + std::to_string(want.rank));
  const TensorSpec *spec = want.spec;
  bool recorded = spec && spec->sizes.size() == static_cast<size_t>(t.rank);
  for (int d = 0; d < t.rank; ++d) {
    std::string dim =
        "dim " + std::to_string(d) + " (" + want.dimNames[d] + ")";
    if (t.sizes[d] < 0)
      return argError(want.name,
                      dim + " has negative size " + std::to_string(t.sizes[d]));
    if (want.sizes[d] >= 0 && t.sizes[d] != want.sizes[d])
      return argError(want.name, dim + " is " + std::to_string(t.sizes[d]) +
                                     ", expected " +
                                     std::to_string(want.sizes[d]) + " (" +
                                     want.origins[d] + ")");
    if (recorded && spec->sizes[d] >= 0 && t.sizes[d] != spec->sizes[d])
      return argError(want.name, dim + " is " + std::to_string(t.sizes[d]) +
                                     ", but the entry was compiled for a "
                                     "static " +
                                     std::to_string(spec->sizes[d]));
    if (t.strides[d] < 0)
      return argError(want.name, dim + " has negative stride " +
                                     std::to_string(t.strides[d]));
  }
  // A stride of a dim of size 1 is never multiplied by a non-zero index, so
  // views with arbitrary strides there (common after slicing) are accepted.
  int inner = t.rank - 1;
  if (!want.anyInnerStride && t.sizes[inner] > 1 && t.strides[inner] != 1)
    return argError(want.name, "innermost stride is " +
                                   std::to_string(t.strides[inner]) +
                                   ", expected 1 (the last dim must be "
                                   "contiguous)");
  bool contiguous = recorded ? spec->contiguous : want.legacyContiguous;
  int64_t packed[4] = {0, 0, 0, 0};
  for (int64_t d = inner, stride = 1; d >= 0; --d) {
    packed[d] = stride;
    stride *= t.sizes[d];
  }
  for (int d = inner; d >= 0; --d) {
    if (t.sizes[d] <= 1)
      continue;
    if (contiguous && t.strides[d] != packed[d])
      return argError(want.name,
                      "strides [" + joinInts(t.strides, t.rank) +
                          "] are not contiguous row-major (expected [" +
                          joinInts(packed, t.rank) +
                          "]): the entry was compiled for an identity "
                          "layout (give the function argument a "
                          "strided<[...]> layout to pass views)");
    if (recorded && spec->strides[d] >= 0 && t.strides[d] != spec->strides[d])
      return argError(want.name, "stride of dim " + std::to_string(d) + " (" +
                                     want.dimNames[d] + ") is " +
                                     std::to_string(t.strides[d]) +
                                     ", but the entry was compiled for a "
                                     "static " +
                                     std::to_string(spec->strides[d]));
  }
  uint64_t address = reinterpret_cast<uintptr_t>(t.data);
  if (address % want.alignment != 0)
    return argError(want.name,
                    "base pointer " + hexPointer(t.data) + " is not " +
                        std::to_string(want.alignment) + "-byte aligned" +
                        (want.vectorStrides ? " (needed for 16-byte vector "
                                              "loads)"
                                            : ""));
  if (want.vectorStrides) {
    uint64_t elem = dtypeSize(t.dtype);
    for (int d = 0; d < inner; ++d) {
      if (t.sizes[d] <= 1)
        continue;
      uint64_t bytes = uint64_t(t.strides[d]) * elem;
      if (bytes % kVectorBytes != 0)
        return argError(want.name,
                        "stride of dim " + std::to_string(d) + " (" +
                            want.dimNames[d] + ") is " +
                            std::to_string(t.strides[d]) + " elements (" +
                            std::to_string(bytes) +
                            " bytes), not a multiple of 16 bytes (needed "
                            "for 16-byte vector loads)");
    }
  }
  return Status::success();
}

