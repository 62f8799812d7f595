//===- AttentionProblem.cpp - decode-attention buffers on a GPU -----------===//
#include "fd/Harness/AttentionProblem.h"

#include "fd/ref/Half.h"
#include "fd/ref/Reference.h"

#include <cuda_runtime_api.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <thread>

using namespace fd;
using namespace fd::harness;

const char *fd::harness::layoutName(KVLayout layout) {
  switch (layout) {
  case KVLayout::HeadMajor:
    return "head-major";
  case KVLayout::TokenMajor:
    return "token-major";
  case KVLayout::KVTensor:
    return "kv-tensor";
  }
  return "?";
}

void fd::harness::checkCuda(int error, const char *what) {
  if (error == cudaSuccess)
    return;
  std::printf("FAILED: %s: %s (%s)\n", what,
              cudaGetErrorName(cudaError_t(error)),
              cudaGetErrorString(cudaError_t(error)));
  std::exit(1);
}

static ref::DType refType(rt::DType type) {
  return type == rt::DType::BF16 ? ref::DType::BF16 : ref::DType::F16;
}

/// Runs fn(i) for i in [0, n) on every host core.
template <typename Fn> static void parallelFor(int64_t n, Fn fn) {
  unsigned workers = std::max(1u, std::thread::hardware_concurrency());
  std::atomic<int64_t> next{0};
  std::vector<std::thread> threads;
  for (unsigned w = 0; w < std::min<int64_t>(workers, n); ++w)
    threads.emplace_back([&] {
      for (int64_t i = next++; i < n; i = next++)
        fn(i);
    });
  for (std::thread &t : threads)
    t.join();
}

/// The bit pattern of a quiet NaN in f16 and in bf16 (and, twice, in f32).
constexpr uint16_t kNaNBits = 0xffff;

AttentionProblem::AttentionProblem(const rt::EntrySpec &entry, int64_t batch,
                                   int64_t cacheLen, KVLayout layout,
                                   uint64_t seed)
    : entry(entry), numBatch(batch), capacityUsed(cacheLen),
      // Spare rows past L: k/v are views of a bigger cache, as in an engine,
      // and a kernel that reads past lens or L reads garbage, not a fault.
      allocatedLen(cacheLen + 8), kvLayout(layout) {
  const int64_t hq = entry.numQHeads, hkv = entry.numKvHeads, d = entry.headDim;
  pageTokens = entry.pageSize;
  if (pageTokens > 0) {
    maxPages = std::max<int64_t>(1, (cacheLen + pageTokens - 1) / pageTokens);
    allocatedLen = maxPages * pageTokens;
    // A quarter more pages than the sequences can use (at least one): the
    // NaN pages that unused table slots point at.
    numPages = batch * maxPages + std::max<int64_t>(1, batch * maxPages / 4);
    if (layout == KVLayout::HeadMajor) {
      poolT = d, poolH = pageTokens * d, poolPage = hkv * pageTokens * d;
    } else {
      // KVTensor: each page holds K's half then V's.
      poolH = d, poolT = hkv * d,
      poolPage = (layout == KVLayout::KVTensor ? 2 : 1) * pageTokens * hkv * d;
    }
  }
  // The contiguous cache the reference reads has no combined form.
  if (layout == KVLayout::KVTensor)
    layout = KVLayout::TokenMajor;
  if (layout == KVLayout::HeadMajor) {
    strideL = d;
    strideH = allocatedLen * d;
    strideB = hkv * allocatedLen * d;
  } else {
    strideH = d;
    strideL = hkv * d;
    strideB = allocatedLen * hkv * d;
  }
  // q as a slice of a fused [B, Hq + 2 Hkv, D] QKV projection and out with
  // a head stride of 2 D, where the manifest says they may be strided.
  const rt::TensorSpec &qSpec = entry.tensor(rt::Tensor::Q),
                       &outSpec = entry.tensor(rt::Tensor::Out);
  qStrideH = d;
  qStrideB = (qSpec.present && !qSpec.contiguous) ? (hq + 2 * hkv) * d : hq * d;
  outStrideH = (outSpec.present && !outSpec.contiguous) ? 2 * d : d;
  outStrideB = outStrideH == d ? hq * d : hq * outStrideH + 8;
  qElems = size_t(batch * qStrideB);
  outElems = size_t(batch * outStrideB);
  const size_t kvElems = size_t(batch * strideB);
  ref::DType type = refType(entry.dtype);

  // Fill in parallel: long caches hold hundreds of millions of elements.
  auto fill = [&](std::vector<uint16_t> &data, size_t n, uint64_t salt) {
    data.resize(n);
    const size_t block = 1 << 20;
    parallelFor(int64_t((n + block - 1) / block), [&](int64_t i) {
      Random random(seed * 1000003 + salt * 7919 + uint64_t(i));
      size_t end = std::min(n, size_t(i + 1) * block);
      for (size_t j = size_t(i) * block; j < end; ++j)
        data[j] = ref::fromFloat(type, random.uniform());
    });
  };
  fill(hostQ, size_t(batch * hq * d), 1);
  fill(hostK, kvElems, 2);
  fill(hostV, kvElems, 3);
  Random random(seed);
  lengths = mixedLens(batch, cacheLen, random);

  auto upload = [](void *&ptr, const void *data, size_t bytes) {
    checkCuda(cudaMalloc(&ptr, std::max<size_t>(bytes, 256)), "cudaMalloc");
    if (data && bytes)
      checkCuda(cudaMemcpy(ptr, data, bytes, cudaMemcpyHostToDevice),
                "cudaMemcpy(host to device)");
  };
  std::vector<uint16_t> stagedQ(qElems, kNaNBits);
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t h = 0; h < hq; ++h)
      std::copy_n(&hostQ[size_t((b * hq + h) * d)], d,
                  &stagedQ[size_t(b * qStrideB + h * qStrideH)]);
  upload(deviceQ, stagedQ.data(), qElems * 2);
  const rt::TensorSpec &lensSpec = entry.tensor(rt::Tensor::Lens);
  lensType = lensSpec.present ? lensSpec.elem : rt::DType::I32;
  upload(deviceLens, nullptr, lengths.size() * 8);
  uploadLens();
  upload(deviceOut, nullptr, outElems * 2);

  const rt::TensorSpec &tableSpec = entry.tensor(rt::Tensor::BlockTable);
  tableType = tableSpec.present ? tableSpec.elem : rt::DType::I32;
  csr = entry.isCsr();
  if (csr)
    indptrType = entry.tensor(rt::Tensor::PageIndptr).elem;
  if (pageTokens > 0) {
    const size_t poolBytes = size_t(numPages * poolPage) * 2;
    upload(deviceK, nullptr, poolBytes);
    if (kvLayout != KVLayout::KVTensor)
      upload(deviceV, nullptr, poolBytes);
    // CSR: a spare slot before the first range and one after each.
    csrSlots = 1 + batch * (maxPages + 1);
    upload(deviceTable, nullptr,
           size_t(csr ? csrSlots : batch * maxPages) *
               (tableType == rt::DType::I64 ? 8 : 4));
    if (csr)
      upload(deviceIndptr, nullptr, size_t(batch + 1) * 8);
    arguments.k = rt::makeTensorRef(deviceK, entry.dtype,
                                    {numPages, hkv, pageTokens, d});
    arguments.k.strides[0] = poolPage;
    arguments.k.strides[1] = poolH;
    arguments.k.strides[2] = poolT;
    if (csr) {
      arguments.blockTable =
          rt::makeTensorRef(deviceTable, tableType, {csrSlots});
      arguments.pageIndptr =
          rt::makeTensorRef(deviceIndptr, indptrType, {batch + 1});
    } else {
      arguments.blockTable =
          rt::makeTensorRef(deviceTable, tableType, {batch, maxPages});
    }
    shufflePages(seed);
  } else {
    upload(deviceK, nullptr, kvElems * 2);
    upload(deviceV, nullptr, kvElems * 2);
    uploadContiguous();
    arguments.k =
        rt::makeTensorRef(deviceK, entry.dtype, {batch, hkv, cacheLen, d});
    arguments.k.strides[0] = strideB;
    arguments.k.strides[1] = strideH;
    arguments.k.strides[2] = strideL;
  }
  arguments.v = arguments.k;
  arguments.v.data = kvLayout == KVLayout::KVTensor
                         ? static_cast<void *>(static_cast<uint16_t *>(deviceK) +
                                               poolPage / 2)
                         : deviceV;
  if (entry.tensor(rt::Tensor::Lse).present) {
    upload(deviceLse, nullptr, size_t(batch * hq) * 4);
    arguments.lse = rt::makeTensorRef(deviceLse, rt::DType::F32, {batch, hq});
  }
  arguments.q = rt::makeTensorRef(deviceQ, entry.dtype, {batch, hq, d});
  arguments.q.strides[0] = qStrideB;
  arguments.q.strides[1] = qStrideH;
  arguments.out = rt::makeTensorRef(deviceOut, entry.dtype, {batch, hq, d});
  arguments.out.strides[0] = outStrideB;
  arguments.out.strides[1] = outStrideH;
  arguments.lens = rt::makeTensorRef(deviceLens, lensType, {batch});
}

AttentionProblem::~AttentionProblem() {
  for (void *p : {deviceQ, deviceK, deviceV, deviceLens, deviceOut,
                  deviceTable, deviceLse, deviceIndptr})
    if (p)
      (void)cudaFree(p);
}

void AttentionProblem::setLens(const std::vector<int32_t> &newLens) {
  lengths = newLens;
  uploadLens();
  // Rows past a sequence's length are NaN: refill for the new lengths (with
  // the same page order).
  if (pageTokens > 0)
    uploadPages();
  else
    uploadContiguous();
}

void AttentionProblem::uploadContiguous() {
  const int64_t hkv = entry.numKvHeads, d = entry.headDim;
  const size_t bytes = size_t(numBatch * strideB) * 2;
  checkCuda(cudaMemcpy(deviceK, hostK.data(), bytes, cudaMemcpyHostToDevice),
            "cudaMemcpy(k)");
  checkCuda(cudaMemcpy(deviceV, hostV.data(), bytes, cudaMemcpyHostToDevice),
            "cudaMemcpy(v)");
  // Rows at or past each length are NaN (0xffff in f16 and bf16), as a
  // paged pool's are: a kernel may read them (the tensor-core engine copies
  // a split's first tile before the length is known) but no NaN may reach
  // an output, where 0 x NaN in P V would.
  for (int64_t b = 0; b < numBatch; ++b) {
    const int64_t len = std::clamp<int64_t>(lengths[size_t(b)], 0, allocatedLen);
    for (void *base : {deviceK, deviceV}) {
      auto *bytes0 = static_cast<uint8_t *>(base);
      if (kvLayout == KVLayout::HeadMajor) {
        for (int64_t h = 0; h < hkv; ++h)
          checkCuda(cudaMemset(bytes0 + size_t(b * strideB + h * strideH +
                                               len * strideL) * 2,
                               0xff, size_t((allocatedLen - len) * d) * 2),
                    "cudaMemset(rows past the length)");
      } else {
        checkCuda(cudaMemset(bytes0 + size_t(b * strideB + len * strideL) * 2,
                             0xff, size_t((allocatedLen - len) * strideL) * 2),
                  "cudaMemset(rows past the length)");
      }
    }
  }
}

/// Copies \p values to the device as i32 or i64.
static void uploadIndices(void *device, const std::vector<int64_t> &values,
                          rt::DType type, const char *what) {
  if (type == rt::DType::I64) {
    checkCuda(cudaMemcpy(device, values.data(), values.size() * 8,
                         cudaMemcpyHostToDevice),
              what);
  } else {
    std::vector<int32_t> narrow(values.begin(), values.end());
    checkCuda(cudaMemcpy(device, narrow.data(), narrow.size() * 4,
                         cudaMemcpyHostToDevice),
              what);
  }
}

void AttentionProblem::uploadLens() {
  uploadIndices(deviceLens,
                std::vector<int64_t>(lengths.begin(), lengths.end()), lensType,
                "cudaMemcpy(lens)");
}

int64_t AttentionProblem::rowCapacity(int64_t batch) const {
  if (csr)
    return (indptr[size_t(batch) + 1] - indptr[size_t(batch)]) * pageTokens;
  return maxPages * pageTokens;
}

void AttentionProblem::shufflePages(uint64_t seed) {
  if (pageTokens == 0)
    return;
  pageOrder.resize(size_t(numPages));
  for (int64_t i = 0; i < numPages; ++i)
    pageOrder[size_t(i)] = i;
  std::mt19937_64 gen(seed * 6364136223846793005ull + 1442695040888963407ull);
  std::shuffle(pageOrder.begin(), pageOrder.end(), gen);
  uploadPages();
}

void AttentionProblem::uploadPages() {
  const int64_t hkv = entry.numKvHeads, d = entry.headDim;
  // Slot j of sequence b owns page pageOrder[b * maxPages + j]; the table
  // points slots past the sequence's pages at spare (NaN) pages instead.
  const int64_t used = numBatch * maxPages, spare = numPages - used;
  table.resize(size_t(used));
  for (int64_t b = 0; b < numBatch; ++b) {
    const int64_t pages = (lengths[size_t(b)] + pageTokens - 1) / pageTokens;
    for (int64_t j = 0; j < maxPages; ++j) {
      const int64_t slot = b * maxPages + j;
      table[size_t(slot)] =
          pageOrder[size_t(j < pages ? slot : used + slot % spare)];
    }
  }
  std::vector<uint16_t> poolK(size_t(numPages * poolPage), kNaNBits),
      poolV(poolK.size(), kNaNBits);
  parallelFor(numBatch * hkv, [&](int64_t task) {
    const int64_t b = task / hkv, h = task % hkv, len = lengths[size_t(b)];
    for (int64_t t = 0; t < len; ++t) {
      const int64_t page = table[size_t(b * maxPages + t / pageTokens)];
      const size_t to = size_t(page * poolPage + h * poolH +
                               (t % pageTokens) * poolT),
                   from = size_t(b * strideB + h * strideH + t * strideL);
      std::copy_n(&hostK[from], d, &poolK[to]);
      std::copy_n(&hostV[from], d, &poolV[to]);
    }
  });
  if (kvLayout == KVLayout::KVTensor) {
    // One buffer: V's half of each page from poolV's same place.
    const int64_t half = poolPage / 2;
    for (int64_t page = 0; page < numPages; ++page)
      std::copy_n(&poolV[size_t(page * poolPage)], half,
                  &poolK[size_t(page * poolPage + half)]);
  } else {
    checkCuda(cudaMemcpy(deviceV, poolV.data(), poolV.size() * 2,
                         cudaMemcpyHostToDevice),
              "cudaMemcpy(v pool)");
  }
  checkCuda(cudaMemcpy(deviceK, poolK.data(), poolK.size() * 2,
                       cudaMemcpyHostToDevice),
            "cudaMemcpy(k pool)");
  if (!csr) {
    uploadIndices(deviceTable, table, tableType, "cudaMemcpy(block table)");
    return;
  }
  // CSR: sequence b's first ceil(len / P) slots, then one spare (NaN) page
  // a kernel reading past its pages would meet; a spare before the first.
  std::vector<int64_t> list(size_t(csrSlots), pageOrder[size_t(used)]);
  indptr.assign(size_t(numBatch) + 1, 0);
  int64_t at = 1;
  for (int64_t b = 0; b < numBatch; ++b) {
    const int64_t pages = (lengths[size_t(b)] + pageTokens - 1) / pageTokens;
    indptr[size_t(b)] = at;
    for (int64_t j = 0; j < pages; ++j)
      list[size_t(at + j)] = table[size_t(b * maxPages + j)];
    list[size_t(at + pages)] = pageOrder[size_t(used + b % spare)];
    at += pages + 1;
  }
  indptr[size_t(numBatch)] = at;
  uploadIndices(deviceTable, list, tableType, "cudaMemcpy(page list)");
  uploadIndices(deviceIndptr, indptr, indptrType, "cudaMemcpy(page_indptr)");
}

void AttentionProblem::pokeTable(int64_t batch, int64_t slot, int64_t value) {
  const size_t at =
      size_t(csr ? indptr[size_t(batch)] + slot : batch * maxPages + slot);
  if (tableType == rt::DType::I64) {
    checkCuda(cudaMemcpy(static_cast<int64_t *>(deviceTable) + at, &value, 8,
                         cudaMemcpyHostToDevice),
              "cudaMemcpy(block table entry)");
  } else {
    int32_t narrow = int32_t(value);
    checkCuda(cudaMemcpy(static_cast<int32_t *>(deviceTable) + at, &narrow, 4,
                         cudaMemcpyHostToDevice),
              "cudaMemcpy(block table entry)");
  }
}

void AttentionProblem::pokeLen(int64_t batch, int32_t value) {
  if (lensType == rt::DType::I64) {
    int64_t wide = value;
    checkCuda(cudaMemcpy(static_cast<int64_t *>(deviceLens) + batch, &wide, 8,
                         cudaMemcpyHostToDevice),
              "cudaMemcpy(length)");
    return;
  }
  checkCuda(cudaMemcpy(static_cast<int32_t *>(deviceLens) + batch, &value, 4,
                       cudaMemcpyHostToDevice),
            "cudaMemcpy(length)");
}

void AttentionProblem::poisonOut() {
  checkCuda(cudaMemset(deviceOut, 0xff, outElems * 2), "cudaMemset(out)");
  if (deviceLse)
    checkCuda(cudaMemset(deviceLse, 0xff, size_t(numBatch * entry.numQHeads) * 4),
              "cudaMemset(lse)");
}

CheckResult AttentionProblem::check() const {
  const int64_t hq = entry.numQHeads, hkv = entry.numKvHeads, d = entry.headDim,
                group = hq / hkv;
  const size_t n = size_t(numBatch * hq * d);
  std::vector<uint16_t> bits(outElems);
  checkCuda(cudaMemcpy(bits.data(), deviceOut, outElems * 2,
                       cudaMemcpyDeviceToHost),
            "cudaMemcpy(out)");
  CheckResult result;
  ref::DType type = refType(entry.dtype);
  std::vector<double> out(n), want(n), wantLse(size_t(numBatch * hq));
  std::vector<bool> inView(outElems, false);
  for (int64_t b = 0; b < numBatch; ++b)
    for (int64_t h = 0; h < hq; ++h)
      for (int64_t i = 0; i < d; ++i) {
        const size_t at = size_t(b * outStrideB + h * outStrideH + i);
        out[size_t((b * hq + h) * d + i)] = ref::toFloat(type, bits[at]);
        inView[at] = true;
      }
  // Nothing outside the out view may be written.
  for (size_t i = 0; i < outElems; ++i)
    if (!inView[i] && bits[i] != kNaNBits)
      result.untouched = false;
  // One task per (sequence, KV head): the reference of a GQA group.
  ref::KVStrides strides{strideB, strideH, strideL};
  ref::DecodeShape shape{1, int(group), 1, int(allocatedLen), int(d)};
  parallelFor(numBatch * hkv, [&](int64_t task) {
    int64_t b = task / hkv, h = task % hkv;
    size_t qOffset = size_t((b * hq + h * group) * d);
    size_t kvOffset = size_t(b * strideB + h * strideH);
    ref::decodeAttention(type, shape, entry.scale, hostQ.data() + qOffset,
                         hostK.data() + kvOffset, strides,
                         hostV.data() + kvOffset, strides, &lengths[size_t(b)],
                         want.data() + qOffset,
                         wantLse.data() + size_t(b * hq + h * group));
  });
  result.outError = ref::relativeError(out.data(), want.data(), n);
  if (deviceLse) {
    std::vector<float> lse(wantLse.size());
    checkCuda(cudaMemcpy(lse.data(), deviceLse, lse.size() * 4,
                         cudaMemcpyDeviceToHost),
              "cudaMemcpy(lse)");
    for (size_t i = 0; i < lse.size(); ++i) {
      const double got = lse[i], ref = wantLse[i];
      // An empty row's -inf must be -inf exactly.
      const double err = std::isinf(ref)
                             ? (got == ref ? 0.0 : HUGE_VAL)
                             : std::fabs(got - ref) / std::max(1.0, std::fabs(ref));
      if (!(err <= result.lseError))
        result.lseError = err; // NaN sticks
      if (std::isnan(result.lseError))
        break;
    }
  }
  return result;
}

double AttentionProblem::bytesMoved() const {
  double tokens = 0, pages = 0;
  for (int32_t len : lengths) {
    tokens += len;
    if (pageTokens > 0)
      pages += double((len + pageTokens - 1) / pageTokens);
  }
  const double elem = 2;
  const double tableBytes =
      pages * (tableType == rt::DType::I64 ? 8 : 4) +
      (csr ? double(numBatch + 1) * (indptrType == rt::DType::I64 ? 8 : 4)
           : 0);
  return tokens * entry.numKvHeads * entry.headDim * elem * 2 +
         double(numBatch) * entry.numQHeads * entry.headDim * elem * 2 +
         double(numBatch) * (lensType == rt::DType::I64 ? 8 : 4) + tableBytes +
         (deviceLse ? double(numBatch) * entry.numQHeads * 4 : 0);
}

DeviceWorkspace::DeviceWorkspace(const rt::BoundEntry &bound,
                                 const rt::Plan &plan, cudaStream_t stream)
    : size(plan.workspaceBytes) {
  checkCuda(cudaMalloc(&data, std::max<uint64_t>(size, 256)),
            "cudaMalloc(workspace)");
  init = bound.initWorkspace(plan, data, size, CUstream(stream));
}

DeviceWorkspace::~DeviceWorkspace() { (void)cudaFree(data); }

std::vector<int32_t> fd::harness::mixedLens(int64_t batch, int64_t cacheLen,
                                            Random &random) {
  std::vector<int32_t> lens(static_cast<size_t>(batch), 0);
  for (int32_t &len : lens)
    len = random.below(int32_t(cacheLen) + 1);
  lens[0] = int32_t(cacheLen);
  if (batch >= 3) {
    lens[1] = 0;
    lens[2] = std::min<int32_t>(1, int32_t(cacheLen));
  }
  return lens;
}
