//===- Arguments.cpp - Validation of decode-attention arguments -----------===//

#include "fd/Runtime/Arguments.h"

#include <cstdio>
#include <vector>

using namespace fd::rt;
namespace binding = fdb::binding;
namespace sym = fdb::symbol;

/// Kernels load q/k/v and store out 16 bytes at a time.
static constexpr uint64_t kVectorBytes = 16;

TensorRef fd::rt::makeTensorRef(void *data, DType dtype,
                                std::initializer_list<int64_t> sizes) {
  TensorRef ref;
  ref.data = data;
  ref.dtype = dtype;
  ref.rank = static_cast<int>(sizes.size() > 4 ? 4 : sizes.size());
  int i = 0;
  for (int64_t size : sizes) {
    if (i == 4)
      break;
    ref.sizes[i++] = size;
  }
  int64_t stride = 1;
  for (int d = ref.rank - 1; d >= 0; --d) {
    ref.strides[d] = stride;
    stride *= ref.sizes[d];
  }
  return ref;
}

namespace {
/// What one tensor must look like: its dims, with -1 for "any" and the name
/// of each dim for messages.
struct TensorExpectation {
  const char *name;
  DType dtype;
  int rank;
  int64_t sizes[4];
  const char *dimNames[4];
  /// Where each expected size comes from, for messages.
  const char *origins[4];
  /// Base-pointer alignment; strides must be multiples of it in bytes too
  /// when vector loads are used.
  uint64_t alignment;
  bool vectorStrides;
  /// q, lens and out are identity-layout memrefs in the compiled kernels,
  /// which compute addresses from the sizes and ignore the strides passed:
  /// only k and v may be strided views (docs/bundle.md).
  bool contiguous;
};
} // namespace

static Status argError(const char *name, const std::string &what) {
  return Status::error(ErrorCode::InvalidArgument,
                       std::string("argument '") + name + "': " + what);
}

static std::string hexPointer(const void *p) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%p", p);
  return buf;
}

static Status checkTensor(const TensorRef &t, const TensorExpectation &want) {
  if (!t.data)
    return argError(want.name, "data pointer is null");
  if (t.dtype != want.dtype)
    return argError(want.name, std::string("dtype is ") + dtypeName(t.dtype) +
                                   ", expected " + dtypeName(want.dtype));
  if (t.rank != want.rank)
    return argError(want.name, "rank is " + std::to_string(t.rank) +
                                   ", expected " + std::to_string(want.rank));
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
    if (t.strides[d] < 0)
      return argError(want.name, dim + " has negative stride " +
                                     std::to_string(t.strides[d]));
  }
  // A stride of a dim of size 1 is never multiplied by a non-zero index, so
  // views with arbitrary strides there (common after slicing) are accepted.
  int inner = t.rank - 1;
  if (t.sizes[inner] > 1 && t.strides[inner] != 1)
    return argError(want.name, "innermost stride is " +
                                   std::to_string(t.strides[inner]) +
                                   ", expected 1 (the last dim must be "
                                   "contiguous)");
  if (want.contiguous) {
    int64_t expected = 1;
    for (int d = inner; d >= 0; --d) {
      if (t.sizes[d] > 1 && t.strides[d] != expected) {
        std::string got, rowMajor;
        int64_t stride = 1;
        std::vector<int64_t> packed(t.rank);
        for (int i = t.rank - 1; i >= 0; --i) {
          packed[i] = stride;
          stride *= t.sizes[i];
        }
        for (int i = 0; i < t.rank; ++i) {
          got += (i ? ", " : "") + std::to_string(t.strides[i]);
          rowMajor += (i ? ", " : "") + std::to_string(packed[i]);
        }
        return argError(want.name, "strides [" + got +
                                       "] are not contiguous row-major "
                                       "(expected [" +
                                       rowMajor +
                                       "]); only k and v may be strided");
      }
      expected *= t.sizes[d];
    }
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

Expected<ProblemShape>
fd::rt::validateAttentionArgs(const EntrySpec &entry, const Plan &plan,
                              const AttentionArgs &args) {
  if (entry.op != OpKind::DecodeAttention)
    return Status::error(ErrorCode::Unsupported,
                         "entry '" + entry.name + "': op '" + entry.opName +
                             "' cannot be launched by this runtime");
  if (plan.entryName != entry.name)
    return Status::error(ErrorCode::InvalidArgument,
                         "the plan was made for entry '" + plan.entryName +
                             "', not '" + entry.name + "'");
  int64_t hq = entry.numQHeads, hkv = entry.numKvHeads, d = entry.headDim;
  // B comes from q and L from k; every other tensor must agree with them.
  int64_t b = args.q.rank >= 1 ? args.q.sizes[0] : -1;
  int64_t l = args.k.rank >= 3 ? args.k.sizes[2] : -1;
  std::string hqFrom = "num_q_heads of entry '" + entry.name + "'";
  std::string hkvFrom = "num_kv_heads of entry '" + entry.name + "'";
  std::string dFrom = "head_dim of entry '" + entry.name + "'";
  const char *bFrom = "the batch of 'q'";
  const char *lFrom = "L of 'k'";
  const TensorExpectation q = {
      binding::kQ.data(),
      entry.dtype,
      3,
      {-1, hq, d, 0},
      {sym::kB.data(), sym::kHq.data(), sym::kD.data(), ""},
      {"", hqFrom.c_str(), dFrom.c_str(), ""},
      kVectorBytes,
      true,
      true};
  const TensorExpectation k = {
      binding::kK.data(),
      entry.dtype,
      4,
      {b, hkv, -1, d},
      {sym::kB.data(), sym::kHkv.data(), sym::kL.data(), sym::kD.data()},
      {bFrom, hkvFrom.c_str(), "", dFrom.c_str()},
      kVectorBytes,
      true,
      false};
  const TensorExpectation v = {
      binding::kV.data(),
      entry.dtype,
      4,
      {b, hkv, l, d},
      {sym::kB.data(), sym::kHkv.data(), sym::kL.data(), sym::kD.data()},
      {bFrom, hkvFrom.c_str(), lFrom, dFrom.c_str()},
      kVectorBytes,
      true,
      false};
  // lens is read as scalars, so only its natural alignment matters.
  const TensorExpectation lens = {binding::kLens.data(),
                                  DType::I32,
                                  1,
                                  {b, 0, 0, 0},
                                  {sym::kB.data(), "", "", ""},
                                  {bFrom, "", "", ""},
                                  4,
                                  false,
                                  true};
  const TensorExpectation out = {
      binding::kOut.data(),
      entry.dtype,
      3,
      {b, hq, d, 0},
      {sym::kB.data(), sym::kHq.data(), sym::kD.data(), ""},
      {bFrom, hqFrom.c_str(), dFrom.c_str(), ""},
      kVectorBytes,
      true,
      true};
  std::pair<const TensorRef *, const TensorExpectation *> checks[] = {
      {&args.q, &q},
      {&args.k, &k},
      {&args.v, &v},
      {&args.lens, &lens},
      {&args.out, &out}};
  for (auto [tensor, want] : checks) {
    if (tensor->rank < 0 || tensor->rank > 4)
      return argError(want->name, "rank " + std::to_string(tensor->rank) +
                                      " is out of range [0, 4]");
    Status status = checkTensor(*tensor, *want);
    if (!status.ok())
      return status;
  }
  if (b > plan.batch)
    return argError(binding::kQ.data(), "batch " + std::to_string(b) +
                                            " exceeds the planned maximum " +
                                            std::to_string(plan.batch) +
                                            " (plan for a larger batch)");
  ProblemShape shape;
  shape.batch = b;
  shape.cacheLen = l;
  return shape;
}
