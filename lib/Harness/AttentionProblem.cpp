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
#include <thread>

using namespace fd;
using namespace fd::harness;

const char *fd::harness::layoutName(KVLayout layout) {
  return layout == KVLayout::HeadMajor ? "head-major" : "token-major";
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

AttentionProblem::AttentionProblem(const rt::EntrySpec &entry, int64_t batch,
                                   int64_t cacheLen, KVLayout layout,
                                   uint64_t seed)
    : entry(entry), numBatch(batch), capacityUsed(cacheLen),
      // Spare rows past L: k/v are views of a bigger cache, as in an engine,
      // and a kernel that reads past lens or L reads garbage, not a fault.
      allocatedLen(cacheLen + 8), kvLayout(layout) {
  const int64_t hq = entry.numQHeads, hkv = entry.numKvHeads, d = entry.headDim;
  if (layout == KVLayout::HeadMajor) {
    strideL = d;
    strideH = allocatedLen * d;
    strideB = hkv * allocatedLen * d;
  } else {
    strideH = d;
    strideL = hkv * d;
    strideB = allocatedLen * hkv * d;
  }
  const size_t qElems = size_t(batch * hq * d);
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
  fill(hostQ, qElems, 1);
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
  upload(deviceQ, hostQ.data(), qElems * 2);
  upload(deviceK, hostK.data(), kvElems * 2);
  upload(deviceV, hostV.data(), kvElems * 2);
  upload(deviceLens, lengths.data(), lengths.size() * 4);
  upload(deviceOut, nullptr, qElems * 2);

  arguments.q = rt::makeTensorRef(deviceQ, entry.dtype, {batch, hq, d});
  arguments.out = rt::makeTensorRef(deviceOut, entry.dtype, {batch, hq, d});
  arguments.k =
      rt::makeTensorRef(deviceK, entry.dtype, {batch, hkv, cacheLen, d});
  arguments.k.strides[0] = strideB;
  arguments.k.strides[1] = strideH;
  arguments.k.strides[2] = strideL;
  arguments.v = arguments.k;
  arguments.v.data = deviceV;
  arguments.lens = rt::makeTensorRef(deviceLens, rt::DType::I32, {batch});
}

AttentionProblem::~AttentionProblem() {
  for (void *p : {deviceQ, deviceK, deviceV, deviceLens, deviceOut})
    if (p)
      (void)cudaFree(p);
}

void AttentionProblem::setLens(const std::vector<int32_t> &newLens) {
  lengths = newLens;
  checkCuda(cudaMemcpy(deviceLens, lengths.data(), lengths.size() * 4,
                       cudaMemcpyHostToDevice),
            "cudaMemcpy(lens)");
}

void AttentionProblem::poisonOut() {
  checkCuda(cudaMemset(deviceOut, 0xff,
                       size_t(numBatch * entry.numQHeads * entry.headDim * 2)),
            "cudaMemset(out)");
}

double AttentionProblem::relativeError() const {
  const int64_t hq = entry.numQHeads, hkv = entry.numKvHeads, d = entry.headDim,
                group = hq / hkv;
  const size_t n = size_t(numBatch * hq * d);
  std::vector<uint16_t> bits(n);
  checkCuda(cudaMemcpy(bits.data(), deviceOut, n * 2, cudaMemcpyDeviceToHost),
            "cudaMemcpy(out)");
  ref::DType type = refType(entry.dtype);
  std::vector<double> out(n), want(n);
  for (size_t i = 0; i < n; ++i)
    out[i] = ref::toFloat(type, bits[i]);
  // One task per (sequence, KV head): the reference of a GQA group.
  ref::KVStrides strides{strideB, strideH, strideL};
  ref::DecodeShape shape{1, int(group), 1, int(capacityUsed), int(d)};
  parallelFor(numBatch * hkv, [&](int64_t task) {
    int64_t b = task / hkv, h = task % hkv;
    size_t qOffset = size_t((b * hq + h * group) * d);
    size_t kvOffset = size_t(b * strideB + h * strideH);
    ref::decodeAttention(type, shape, entry.scale, hostQ.data() + qOffset,
                         hostK.data() + kvOffset, strides,
                         hostV.data() + kvOffset, strides, &lengths[size_t(b)],
                         want.data() + qOffset);
  });
  return ref::relativeError(out.data(), want.data(), n);
}

double AttentionProblem::bytesMoved() const {
  double tokens = 0;
  for (int32_t len : lengths)
    tokens += len;
  const double elem = 2;
  return tokens * entry.numKvHeads * entry.headDim * elem * 2 +
         double(numBatch) * entry.numQHeads * entry.headDim * elem * 2 +
         double(numBatch) * 4;
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
