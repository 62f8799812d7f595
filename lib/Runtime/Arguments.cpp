//===- Arguments.cpp - Validation of decode-attention arguments -----------===//

#include "fd/Runtime/Arguments.h"

#include "TensorCheck.h"

#include <vector>

using namespace fd::rt;
namespace binding = fdb::binding;
namespace sym = fdb::symbol;

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
  bool paged = entry.tensor(Tensor::BlockTable).present;
  bool hasLse = entry.tensor(Tensor::Lse).present;
  bool csr = entry.isCsr();
  // Tensors the entry does not take must not be passed: a caller that
  // passes an lse buffer to an entry without that output would read garbage.
  if (!paged && args.blockTable.data)
    return argError(binding::kBlockTable.data(),
                    "entry '" + entry.name +
                        "' reads a contiguous KV cache; compile it with "
                        "block_table(...) to pass pages");
  if (!csr && args.pageIndptr.data)
    return argError(binding::kPageIndptr.data(),
                    "entry '" + entry.name + "' " +
                        (paged ? "addresses pages through a [B, max_pages] "
                                 "block table; compile it with "
                                 "page_indptr(...) for CSR page lists"
                               : "reads a contiguous KV cache"));
  if (!hasLse && args.lse.data)
    return argError(binding::kLse.data(),
                    "entry '" + entry.name +
                        "' has no log-sum-exp output; compile it with "
                        "lse(...)");
  // B comes from q, L (or the page count) from k; every other tensor must
  // agree with them.
  int64_t b = args.q.rank >= 1 ? args.q.sizes[0] : -1;
  int64_t l = args.k.rank >= 3 ? args.k.sizes[2] : -1;
  int64_t pages = args.k.rank >= 1 ? args.k.sizes[0] : -1;
  std::string hqFrom = "num_q_heads of entry '" + entry.name + "'";
  std::string hkvFrom = "num_kv_heads of entry '" + entry.name + "'";
  std::string dFrom = "head_dim of entry '" + entry.name + "'";
  std::string psFrom = "the page size of entry '" + entry.name + "'";
  const char *bFrom = "the batch of 'q'";
  const char *lFrom = "L of 'k'";
  const char *pFrom = "the page count of 'k'";
  auto spec = [&](Tensor t) { return &entry.tensor(t); };
  const TensorExpectation q = {
      binding::kQ.data(),
      entry.dtype,
      3,
      {-1, hq, d, 0},
      {sym::kB.data(), sym::kHq.data(), sym::kD.data(), ""},
      {"", hqFrom.c_str(), dFrom.c_str(), ""},
      kVectorBytes,
      true,
      spec(Tensor::Q),
      true};
  TensorExpectation k = {
      binding::kK.data(),
      entry.dtype,
      4,
      {b, hkv, -1, d},
      {sym::kB.data(), sym::kHkv.data(), sym::kL.data(), sym::kD.data()},
      {bFrom, hkvFrom.c_str(), "", dFrom.c_str()},
      kVectorBytes,
      true,
      spec(Tensor::K),
      false};
  TensorExpectation v = k;
  v.name = binding::kV.data();
  v.sizes[2] = l;
  v.origins[2] = lFrom;
  v.spec = spec(Tensor::V);
  if (paged) {
    for (TensorExpectation *kv : {&k, &v}) {
      kv->sizes[0] = -1;
      kv->sizes[2] = entry.pageSize;
      kv->dimNames[0] = "num_pages";
      kv->dimNames[2] = "page_size";
      kv->origins[2] = psFrom.c_str();
    }
    v.sizes[0] = pages;
    v.origins[0] = pFrom;
  }
  const TensorSpec *lensSpec = spec(Tensor::Lens);
  DType lensType = lensSpec->present ? lensSpec->elem : DType::I32;
  // lens and the block table are read as scalars: natural alignment.
  const TensorExpectation lens = {binding::kLens.data(),
                                  lensType,
                                  1,
                                  {b, 0, 0, 0},
                                  {sym::kB.data(), "", "", ""},
                                  {bFrom, "", "", ""},
                                  dtypeSize(lensType),
                                  false,
                                  lensSpec,
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
      spec(Tensor::Out),
      true};
  const TensorSpec *tableSpec = spec(Tensor::BlockTable);
  TensorExpectation table = {binding::kBlockTable.data(),
                             tableSpec->elem,
                             2,
                             {b, -1, 0, 0},
                             {sym::kB.data(), "max_pages", "", ""},
                             {bFrom, "", "", ""},
                             dtypeSize(tableSpec->elem),
                             false,
                             tableSpec,
                             false};
  if (csr) {
    // One flat page list [nnz_pages].
    table.rank = 1;
    table.sizes[0] = -1;
    table.dimNames[0] = "nnz_pages";
    table.origins[0] = "";
  }
  const TensorSpec *indptrSpec = spec(Tensor::PageIndptr);
  const std::string bPlus1From = "the batch of 'q' plus one";
  const TensorExpectation indptr = {binding::kPageIndptr.data(),
                                    indptrSpec->elem,
                                    1,
                                    {b >= 0 ? b + 1 : -1, 0, 0, 0},
                                    {"B + 1", "", "", ""},
                                    {bPlus1From.c_str(), "", "", ""},
                                    dtypeSize(indptrSpec->elem),
                                    false,
                                    indptrSpec,
                                    true};
  const TensorExpectation lse = {binding::kLse.data(),
                                 DType::F32,
                                 2,
                                 {b, hq, 0, 0},
                                 {sym::kB.data(), sym::kHq.data(), "", ""},
                                 {bFrom, hqFrom.c_str(), "", ""},
                                 4,
                                 false,
                                 spec(Tensor::Lse),
                                 false};
  std::pair<const TensorRef *, const TensorExpectation *> checks[] = {
      {&args.q, &q},         {&args.k, &k},
      {&args.v, &v},         {&args.lens, &lens},
      {&args.out, &out},     {&args.blockTable, paged ? &table : nullptr},
      {&args.lse, hasLse ? &lse : nullptr},
      {&args.pageIndptr, csr ? &indptr : nullptr}};
  for (auto [tensor, want] : checks) {
    if (!want)
      continue;
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
  if (csr) {
    // A sequence may own every page of the list: nnz_pages * page_size
    // bounds each length, as max_pages * page_size does for a table.
    int64_t nnz = args.blockTable.sizes[0];
    if (nnz < 1)
      return argError(binding::kBlockTable.data(),
                      "dim 0 (nnz_pages) is 0: the page list is empty");
    if (pages < 1)
      return argError(binding::kK.data(),
                      "dim 0 (num_pages) is 0: the page pool is empty");
    if (nnz > INT32_MAX / entry.pageSize)
      return argError(binding::kBlockTable.data(),
                      "nnz_pages " + std::to_string(nnz) + " x page size " +
                          std::to_string(entry.pageSize) +
                          " tokens exceeds 2147483647");
    shape.cacheLen = nnz * entry.pageSize;
  } else if (paged) {
    int64_t maxPages = args.blockTable.sizes[1];
    if (maxPages < 1)
      return argError(binding::kBlockTable.data(),
                      "dim 1 (max_pages) is 0: a block table needs a column");
    if (pages < 1)
      return argError(binding::kK.data(),
                      "dim 0 (num_pages) is 0: the page pool is empty");
    if (maxPages > INT32_MAX / entry.pageSize)
      return argError(binding::kBlockTable.data(),
                      "max_pages " + std::to_string(maxPages) + " x page size " +
                          std::to_string(entry.pageSize) +
                          " tokens exceeds 2147483647");
    shape.cacheLen = maxPages * entry.pageSize;
  }
  return shape;
}
