//===- ShardedDecodeTest.cpp - Context-parallel decode without a GPU ------===//
//
// The host logic of ShardedDecode (the gather slab, the entry checks, the
// handshake descriptors), the rank and timeout ranges, loading NCCL and
// the values Nccl.h copies from nccl.h. What needs GPUs is in
// gpu/ShardedDecodeGpuTest.cpp.
//
//===----------------------------------------------------------------------===//

#include "TestUtil.h"

#include "fd/Runtime/Communicator.h"
#include "fd/Runtime/Nccl.h"
#include "fd/Runtime/ShardedDecode.h"

#include <cmath>
#include <cstddef>
#include <cstdio>
#include <limits>

// Nccl.h declares the few NCCL values fd uses instead of including nccl.h,
// so that the runtime builds without it. Where the toolkit has nccl.h
// (CUDA 13 ships one), check the copies against it at compile time.
#if __has_include(<nccl.h>)
#include <nccl.h>
#define FD_TEST_HAVE_NCCL_H 1
namespace n = fd::rt::nccl;
static_assert(n::kSuccess == ncclSuccess);
static_assert(n::kInProgress == ncclInProgress);
static_assert(n::kUint8 == ncclUint8);
static_assert(n::kFloat32 == ncclFloat32);
static_assert(n::kSum == ncclSum);
static_assert(n::kUniqueIdBytes == NCCL_UNIQUE_ID_BYTES);
static_assert(sizeof(n::UniqueId) == sizeof(ncclUniqueId));
static_assert(n::kConfigUndefInt == NCCL_CONFIG_UNDEF_INT);
static_assert(n::kMinVersion == NCCL_VERSION(2, 17, 0));
// The v2.17 layout is a prefix of every later ncclConfig_t.
static_assert(offsetof(n::Config, size) == offsetof(ncclConfig_t, size));
static_assert(offsetof(n::Config, magic) == offsetof(ncclConfig_t, magic));
static_assert(offsetof(n::Config, version) ==
              offsetof(ncclConfig_t, version));
static_assert(offsetof(n::Config, blocking) ==
              offsetof(ncclConfig_t, blocking));
static_assert(offsetof(n::Config, netName) ==
              offsetof(ncclConfig_t, netName));
static_assert(offsetof(n::Config, splitShare) ==
              offsetof(ncclConfig_t, splitShare));
#else
#define FD_TEST_HAVE_NCCL_H 0
#endif

using namespace fd::rt;

namespace {
EntrySpec attentionSpec(DType dtype = DType::F16, bool lse = true) {
  EntrySpec e;
  e.name = "attn";
  e.op = OpKind::DecodeAttention;
  e.opName = "decode_attention";
  e.dtype = dtype;
  e.numQHeads = 32;
  e.numKvHeads = 8;
  e.headDim = 128;
  e.scale = 0.08838834764831845;
  e.tensors[static_cast<int>(Tensor::Lse)].present = lse;
  return e;
}

EntrySpec mergeSpec(int states, DType dtype = DType::F16, bool lse = false) {
  EntrySpec e;
  e.name = "merge" + std::to_string(states);
  e.op = OpKind::MergeStates;
  e.opName = "merge_states";
  e.dtype = dtype;
  e.numQHeads = 32;
  e.headDim = 128;
  e.merge.numStates = states;
  e.tensors[static_cast<int>(Tensor::Lse)].present = lse;
  return e;
}
} // namespace

TEST(ShardSlabLayout) {
  EntrySpec a = attentionSpec();
  Expected<ShardSlab> s = shardSlab(a, 3);
  CHECK_OK(s);
  if (!s)
    return;
  // out: 3 x 32 x 128 f16 = 24576 bytes (a multiple of 256), lse 3 x 32 f32
  // = 384 bytes, rounded up to 512.
  CHECK_EQ(s->outBytes, uint64_t(24576));
  CHECK_EQ(s->lseOffset, uint64_t(24576));
  CHECK_EQ(s->slabBytes, uint64_t(24576 + 512));
  // An odd head count puts the lse on the next 256-byte boundary.
  a.numQHeads = 5;
  a.headDim = 64;
  s = shardSlab(a, 1);
  CHECK_OK(s);
  if (s) {
    CHECK_EQ(s->outBytes, uint64_t(640));
    CHECK_EQ(s->lseOffset, uint64_t(768));
    CHECK_EQ(s->slabBytes, uint64_t(1024));
  }
  CHECK_ERROR(shardSlab(a, 0), "maxBatch 0 is out of range [1, 65536]");
  CHECK_ERROR(shardSlab(a, kMaxShardBatch + 1), "out of range");
}

TEST(ShardedEntriesFit) {
  EntrySpec a = attentionSpec();
  EntrySpec m2 = mergeSpec(2), m4 = mergeSpec(4);
  CHECK_OK(checkShardedEntries(a, &m2, 2));
  CHECK_OK(checkShardedEntries(a, &m4, 4));
  // One rank: the decode writes the result itself; no lse, no merge.
  EntrySpec noLse = attentionSpec(DType::F16, false);
  CHECK_OK(checkShardedEntries(noLse, nullptr, 1));
  CHECK_ERROR(checkShardedEntries(noLse, &m2, 2), "writes no log-sum-exp");
  CHECK_ERROR(checkShardedEntries(a, nullptr, 2),
              "needs a merge_states entry of 2 states");
  CHECK_ERROR(checkShardedEntries(a, &m4, 2),
              "merges 4 states, but the world has 2 ranks");
  EntrySpec bf = mergeSpec(2, DType::BF16);
  CHECK_ERROR(checkShardedEntries(a, &bf, 2), "does not merge the states");
  CHECK_ERROR(checkShardedEntries(a, &a, 2), "not a merge_states entry");
  CHECK_ERROR(checkShardedEntries(m2, &m2, 2), "not a decode_attention entry");
  CHECK_ERROR(checkShardedEntries(a, &m2, 0),
              "world size 0 is out of range [1, 16]");
  CHECK_ERROR(checkShardedEntries(a, &m2, 17), "out of range [1, 16]");
}

TEST(ShardDescriptorsAgree) {
  EntrySpec a = attentionSpec();
  EntrySpec m = mergeSpec(4, DType::F16, true);
  ShardSlab slab = *shardSlab(a, 8);
  std::vector<ShardDescriptor> all;
  for (int r = 0; r < 4; ++r)
    all.push_back(describeShard(a, &m, r, 4, 8, slab));
  CHECK_EQ(all[2].rank, 2);
  CHECK_EQ(all[2].mergeWritesLse, 1);
  CHECK_EQ(all[2].slabBytes, slab.slabBytes);
  for (int r = 0; r < 4; ++r)
    CHECK_OK(checkShardDescriptors(all[r], all));

  // A rank that never arrived leaves its slot zeroed.
  std::vector<ShardDescriptor> missing = all;
  std::memset(static_cast<void *>(&missing[1]), 0, sizeof(ShardDescriptor));
  std::memset(static_cast<void *>(&missing[3]), 0, sizeof(ShardDescriptor));
  CHECK_ERROR(checkShardDescriptors(all[0], missing),
              "rank 0 received no ShardedDecode descriptor from rank(s) 1, 3");

  // Another model's shard: a different KV head count.
  std::vector<ShardDescriptor> other = all;
  other[2].numKvHeads = 4;
  CHECK_ERROR(checkShardDescriptors(all[0], other),
              "rank 2's num_kv_heads is 4, but rank 0's is 8");
  other = all;
  other[3].maxBatch = 16;
  CHECK_ERROR(checkShardDescriptors(all[1], other),
              "rank 3's maxBatch is 16, but rank 1's is 8");
  other = all;
  other[1].dtype = static_cast<int32_t>(DType::BF16);
  CHECK_ERROR(checkShardDescriptors(all[0], other),
              "rank 1's dtype is bf16, but rank 0's is f16");
  other = all;
  other[1].worldSize = 2;
  CHECK_ERROR(checkShardDescriptors(all[0], other),
              "rank 1's world size is 2, but rank 0's is 4");
  other = all;
  other[2].rank = 3;
  CHECK_ERROR(checkShardDescriptors(all[0], other),
              "rank 2's slot holds the descriptor of rank 3");
  other = all;
  other[1].scale = 0.125;
  CHECK_ERROR(checkShardDescriptors(all[0], other), "softmax scale");
}

TEST(RankAndTimeoutRanges) {
  CHECK_OK(checkRankAndWorld(0, 1, 16));
  CHECK_OK(checkRankAndWorld(3, 4, 16));
  CHECK_ERROR(checkRankAndWorld(4, 4, 16), "rank 4 is out of range [0, 4)");
  CHECK_ERROR(checkRankAndWorld(-1, 4, 16), "rank -1 is out of range");
  CHECK_ERROR(checkRankAndWorld(0, 0, 16),
              "world size 0 is out of range [1, 16]");
  CHECK_ERROR(checkRankAndWorld(0, 17, 16), "world size 17");
  CHECK_OK(checkRankTimeout(0.5));
  CHECK_OK(checkRankTimeout(kMaxRankTimeoutSeconds));
  CHECK_ERROR(checkRankTimeout(0), "timeout 0 s is out of range (0, 3600 s]");
  CHECK_ERROR(checkRankTimeout(-1), "out of range");
  CHECK_ERROR(checkRankTimeout(kMaxRankTimeoutSeconds * 2), "out of range");
  CHECK_ERROR(checkRankTimeout(std::numeric_limits<double>::quiet_NaN()),
              "out of range");
  CHECK_ERROR(checkRankTimeout(std::numeric_limits<double>::infinity()),
              "out of range");
}

TEST(NcclLoading) {
  CHECK_EQ(ncclVersionString(22809), std::string("2.28.9"));
  CHECK_EQ(ncclVersionString(21700), std::string("2.17.0"));
  auto none = openNccl({"/nonexistent/libnccl.so.2"});
  CHECK_ERROR(none, "cannot load NCCL (/nonexistent/libnccl.so.2: ");
  CHECK_ERROR(none, "set FD_LIBNCCL");
  CHECK(none.getStatus().getCode() == ErrorCode::Unsupported);
  // A library that loads but is not NCCL.
  CHECK_ERROR(openNccl({"libm.so.6"}), "libm.so.6: lacks ncclGetVersion");
  // Every candidate's reason is listed.
  CHECK_ERROR(openNccl({"/nonexistent/a.so", "libm.so.6"}),
              "/nonexistent/a.so: ");
  // The real library, where the toolkit has one (CUDA 13 ships libnccl).
  const char *path = "/usr/local/cuda/lib64/libnccl.so.2";
  if (std::FILE *f = std::fopen(path, "rb")) {
    std::fclose(f);
    auto real = openNccl({path});
    CHECK_OK(real);
    if (real) {
      CHECK((*real)->version >= nccl::kMinVersion);
      CHECK((*real)->ncclAllGather != nullptr);
      // Error strings come from the library itself.
      Status s = ncclError(**real, 4, "ncclAllGather");
      CHECK(s.getMessage().find("ncclAllGather failed: ") == 0);
      CHECK(s.getCode() == ErrorCode::Driver);
    }
  } else {
    std::printf("note: %s not found; the real-NCCL load was not checked\n",
                path);
  }
  std::printf("note: NCCL values %s against nccl.h\n",
              FD_TEST_HAVE_NCCL_H ? "checked" : "NOT checked (no nccl.h)");
}

TEST(CommunicatorBadArguments) {
  nccl::UniqueId id{};
  CHECK_ERROR(Communicator::create(nullptr, id, 2, 0), "no context");
  CHECK_ERROR(Communicator::borrow(nullptr, nullptr), "no context");
}
