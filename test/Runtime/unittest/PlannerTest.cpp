//===- PlannerTest.cpp - Tests of split planning and workspace layout -----===//
//
// Expected numbers are worked out by hand from the formula in
// docs/bundle.md; each case shows the steps.
//
//===----------------------------------------------------------------------===//

#include "TestUtil.h"

#include "fd/Runtime/Planner.h"

#include <algorithm>

using namespace fd::rt;

static SplitPolicy autoPolicy(int64_t ctasPerSm = 2, int64_t minChunk = 256,
                              int64_t chunkAlign = 64,
                              int64_t maxSplits = 256) {
  SplitPolicy p;
  p.mode = SplitMode::Auto;
  p.ctasPerSm = ctasPerSm;
  p.minChunk = minChunk;
  p.chunkAlign = chunkAlign;
  p.maxSplits = maxSplits;
  return p;
}

static void checkSplits(const SplitPolicy &policy, int64_t batch, int64_t hkv,
                        int64_t maxLen, int64_t smCount, int64_t wantSplits,
                        int64_t wantChunk, int line, int64_t resident = 0) {
  Expected<SplitChoice> choice =
      chooseSplits(policy, batch, hkv, maxLen, smCount, resident);
  if (!choice) {
    fdtest::fail(__FILE__, line, choice.getStatus().getMessage());
    return;
  }
  if (choice->numSplits != wantSplits || choice->chunk != wantChunk)
    fdtest::fail(__FILE__, line,
                 "got S=" + std::to_string(choice->numSplits) +
                     " chunk=" + std::to_string(choice->chunk) +
                     ", want S=" + std::to_string(wantSplits) +
                     " chunk=" + std::to_string(wantChunk));
  // Whatever the mode, the splits must cover the longest sequence.
  if (choice->numSplits * choice->chunk < maxLen)
    fdtest::fail(__FILE__, line, "S * chunk does not cover maxLen");
}

TEST(PlanAutoTypical) {
  // target = 132 * 2 = 264; B*Hkv = 4*8 = 32 < 264 -> S = ceil(264/32) = 9;
  // min(9, max(1, ceil(8192/256) = 32), 256) = 9;
  // chunk = roundUp(ceil(8192/9) = 911, 64) = 960; S = ceil(8192/960) = 9.
  checkSplits(autoPolicy(), 4, 8, 8192, 132, 9, 960, __LINE__);
  // B=1: S = ceil(264/8) = 33; min(33, 32, 256) = 32;
  // chunk = roundUp(256, 64) = 256; S = 32.
  checkSplits(autoPolicy(), 1, 8, 8192, 132, 32, 256, __LINE__);
}

TEST(PlanAutoGpuAlreadyFull) {
  // B*Hkv = 64*8 = 512 >= 264: S = 1, chunk = roundUp(8192, 64) = 8192.
  checkSplits(autoPolicy(), 64, 8, 8192, 132, 1, 8192, __LINE__);
  // Exactly at the target: 33*8 = 264 -> S = 1; chunk = roundUp(1000, 64).
  checkSplits(autoPolicy(), 33, 8, 1000, 132, 1, 1024, __LINE__);
}

TEST(PlanAutoShortContextRespectsMinChunk) {
  // S = ceil(264/8) = 33, but ceil(300/256) = 2 caps it: S = 2;
  // chunk = roundUp(150, 64) = 192; S = ceil(300/192) = 2.
  checkSplits(autoPolicy(), 1, 8, 300, 132, 2, 192, __LINE__);
  // maxLen below min_chunk: one split.
  checkSplits(autoPolicy(), 1, 8, 100, 132, 1, 128, __LINE__);
  // Rounding the chunk up empties trailing splits, which are dropped:
  // S = 33 (min_chunk 16 allows 63); chunk = roundUp(ceil(1000/33) = 31,
  // 256) = 256; S = ceil(1000/256) = 4.
  checkSplits(autoPolicy(2, 16, 256), 1, 8, 1000, 132, 4, 256, __LINE__);
}

TEST(PlanAutoMaxSplits) {
  // S = 264 (B*Hkv = 1), ceil(2^20/256) = 4096, capped by max_splits 16;
  // chunk = 2^20 / 16 = 65536.
  checkSplits(autoPolicy(2, 256, 64, 16), 1, 1, 1 << 20, 132, 16, 65536,
              __LINE__);
}

TEST(PlanAutoOccupancyFillsOneWave) {
  // The H100 cases fd-bench measured. GQA partial kernel, 4 CTAs/SM
  // resident, ctas_per_sm 16 caps nothing: one wave holds 132*4 = 528 CTAs.
  // B*Hkv = 8: S = floor(528/8) = 66; chunk = roundUp(ceil(131072/66) =
  // 1986, 64) = 2048; S = ceil(131072/2048) = 64 (512 CTAs, one wave).
  checkSplits(autoPolicy(16), 1, 8, 131072, 132, 64, 2048, __LINE__, 4);
  // B*Hkv = 64: S = floor(528/64) = 8; chunk = 32768/8 = 4096; 512 CTAs
  // (the ceil rule would give S = 9: 576 CTAs, a second, nearly empty wave).
  checkSplits(autoPolicy(16), 8, 8, 32768, 132, 8, 4096, __LINE__, 4);
  // A full GPU without splitting: floor(528/512) = 1.
  checkSplits(autoPolicy(16), 64, 8, 2048, 132, 1, 2048, __LINE__, 4);
  // Work beyond one wave: still S = 1.
  checkSplits(autoPolicy(16), 64, 32, 2048, 132, 1, 2048, __LINE__, 4);
  // ctas_per_sm caps the resident count: min(2, 9) = 2 -> 264 CTAs;
  // S = floor(264/32) = 8; chunk = 131072/8 = 16384.
  checkSplits(autoPolicy(2), 1, 32, 131072, 132, 8, 16384, __LINE__, 9);
}

TEST(PlanAutoZeroLength) {
  // maxLen = 0: S = min(33, max(1, 0), 256) = 1; chunk = roundUp(1, 64).
  checkSplits(autoPolicy(), 1, 8, 0, 132, 1, 64, __LINE__);
}

TEST(PlanFixedAndChunkModes) {
  SplitPolicy fixed;
  fixed.mode = SplitMode::Fixed;
  fixed.numSplits = 4;
  fixed.chunkAlign = 64;
  // chunk = roundUp(ceil(1000/4) = 250, 64) = 256; S stays 4.
  checkSplits(fixed, 2, 8, 1000, 132, 4, 256, __LINE__);
  // Fixed keeps S even when splits are empty: chunk = roundUp(1, 64).
  checkSplits(fixed, 2, 8, 0, 132, 4, 64, __LINE__);
  // SM count and batch do not matter in fixed mode.
  checkSplits(fixed, 500, 8, 1000, 7, 4, 256, __LINE__);

  SplitPolicy chunk;
  chunk.mode = SplitMode::Chunk;
  chunk.chunkSize = 512;
  checkSplits(chunk, 1, 8, 1000, 132, 2, 512, __LINE__);
  checkSplits(chunk, 1, 8, 1024, 132, 2, 512, __LINE__);
  checkSplits(chunk, 1, 8, 1025, 132, 3, 512, __LINE__);
  checkSplits(chunk, 1, 8, 0, 132, 1, 512, __LINE__);
}

TEST(PlanAutoCountsRealTokens) {
  // B = 16 ragged sequences of at most 32K with 2 resident CTAs on 132 SMs
  // (264 slots). By the longest sequence: 128 CTAs of work, 2 splits of 16K.
  // With half the tokens and one wave: 64 sequences' worth, 4 splits of 8K,
  // so no CTA walks more than 8K tokens and the empty ones exit at once.
  SplitPolicy p = autoPolicy(16, 32);
  p.chunkAlign = 64;
  p.raggedWaves = 1;
  auto splits = [&](int64_t total) {
    Expected<SplitChoice> c = chooseSplits(p, 16, 8, 32768, 132, 2, total);
    return c ? c->numSplits : -1;
  };
  CHECK(splits(0) == 2);
  CHECK(splits(16 * 32768) == 2);
  CHECK(splits(16 * 16384) == 4);
  CHECK(splits(16 * 1024) == 64);
  CHECK(splits(1) == 256);
  // Four waves (the default): 1056 slots over 64 sequences' worth, 16
  // splits of 2K. Equal lengths (total = batch * maxLen, or unknown) still
  // plan one wave.
  p.raggedWaves = 4;
  CHECK(p.raggedWaves == kDefaultRaggedWaves);
  CHECK(splits(16 * 16384) == 16);
  CHECK(splits(0) == 2);
  CHECK(splits(16 * 32768) == 2);
  // 4 sequences' worth: 264 splits, capped at max_splits 256.
  CHECK(splits(16 * 1024) == 256);
  p.raggedWaves = 0;
  CHECK_ERROR(chooseSplits(p, 16, 8, 32768, 132, 2, 16 * 16384),
              "ragged_waves 0 is out of range [1, 64]");
  p.raggedWaves = 65;
  CHECK_ERROR(chooseSplits(p, 16, 8, 32768, 132, 2, 16 * 16384),
              "ragged_waves 65 is out of range [1, 64]");
  p.raggedWaves = kDefaultRaggedWaves;
  CHECK_ERROR(chooseSplits(p, 16, 8, 32768, 132, 2, 16 * 32768 + 1),
              "total_tokens 524289 is out of range [0, batch * max_len = "
              "524288]");
  CHECK_ERROR(chooseSplits(p, 16, 8, 32768, 132, 2, -1),
              "total_tokens -1 is out of range");
}

TEST(PlanRejectsBadInputs) {
  CHECK_ERROR(chooseSplits(autoPolicy(), 0, 8, 100, 132),
              "batch 0 is out of range");
  CHECK_ERROR(chooseSplits(autoPolicy(), 1, 8, -1, 132),
              "maxLen -1 is out of range");
  CHECK_ERROR(chooseSplits(autoPolicy(), 1, 8, 100, 0),
              "smCount 0 is out of range");
  auto bundle = fdtest::loadValid();
  const EntrySpec &entry = bundle->getEntries()[0];
  Expected<Plan> bad = plan(entry, 0, 100, 132);
  CHECK_ERROR(bad, "cannot plan entry 'llama3_decode': batch 0 is out of "
                   "range [1, 2147483647]");
  CHECK(bad.getStatus().getCode() == ErrorCode::InvalidArgument);
  CHECK_ERROR(makePlan(entry, 1, 1000, 132, 3, 256, false),
              "num_splits 3 x chunk 256 covers fewer than maxLen 1000 tokens");
  CHECK_ERROR(makePlan(entry, 1, 1000, 132, 0, 256, false),
              "must both be in [1, 2147483647]");
}

TEST(PlanEntryGridsAndWorkspace) {
  auto bundle = fdtest::loadValid();
  const EntrySpec &entry = bundle->getEntries()[0];
  Expected<Plan> p = plan(entry, 4, 8192, 132);
  CHECK_OK(p);
  if (!p)
    return;
  CHECK_EQ(p->entryName, std::string("llama3_decode"));
  CHECK_EQ(p->numSplits, 9);
  CHECK_EQ(p->chunk, 960);
  CHECK(!p->graphSafe);
  CHECK_EQ(p->grids.size(), size_t(2));
  // partial: [S, Hkv, B]; merge: [Hq, B] (z = 1).
  CHECK((p->grids[0] == std::array<uint32_t, 3>{9, 8, 4}));
  CHECK((p->grids[1] == std::array<uint32_t, 3>{32, 4, 1}));
  // partial_acc: 4*32*9*128 f32 = 589824 bytes at 0; partial_max:
  // 4*32*9 f32 = 4608 at 589824 (already 256-aligned); partial_sum at
  // 594432 (= 2322 * 256); total 599040.
  CHECK_EQ(p->workspace.numBuffers, size_t(3));
  CHECK_EQ(p->workspace.offsets[0], 0u);
  CHECK_EQ(p->workspace.bytes[0], 589824u);
  CHECK_EQ(p->workspace.offsets[1], 589824u);
  CHECK_EQ(p->workspace.bytes[1], 4608u);
  CHECK_EQ(p->workspace.offsets[2], 594432u);
  CHECK_EQ(p->workspaceBytes, 599040u);
}

TEST(PlanWorkspaceAlignment) {
  // Odd sizes: with B=1, Hq=5, S=3 and a last dim of 3 (a constant: the
  // head dim itself must be 64, 128 or 256): partial_acc 180 bytes at 0,
  // partial_max 60 bytes at 256, partial_sum 60 bytes at 512; total 572.
  std::string text = REPLACE(
      REPLACE(REPLACE(fdtest::validManifest(),
                      "\"num_q_heads\": 32, \"num_kv_heads\": 8",
                      "\"num_q_heads\": 5, \"num_kv_heads\": 1"),
              "\"shape\": [\"B\", \"Hq\", \"S\", \"D\"]",
              "\"shape\": [\"B\", \"Hq\", \"S\", 3]"),
      "\"mode\": \"auto\"", "\"mode\": \"fixed\"");
  text = REPLACE(text, "\"num_splits\": 0", "\"num_splits\": 3");
  auto bundle = Bundle::loadMemory(text);
  CHECK_OK(bundle);
  if (!bundle)
    return;
  Expected<Plan> p = plan((*bundle)->getEntries()[0], 1, 100, 132);
  CHECK_OK(p);
  if (!p)
    return;
  CHECK_EQ(p->numSplits, 3);
  CHECK_EQ(p->workspace.bytes[0], 180u);
  CHECK_EQ(p->workspace.offsets[1], 256u);
  CHECK_EQ(p->workspace.bytes[1], 60u);
  CHECK_EQ(p->workspace.offsets[2], 512u);
  CHECK_EQ(p->workspaceBytes, 572u);
}

TEST(PlanForGraph) {
  auto bundle = fdtest::loadValid();
  const EntrySpec &entry = bundle->getEntries()[0];
  Expected<Plan> graph = planForGraph(entry, 8, 32768, 132);
  Expected<Plan> eager = plan(entry, 8, 32768, 132);
  CHECK_OK(graph);
  CHECK_OK(eager);
  if (!graph || !eager)
    return;
  CHECK(graph->graphSafe);
  // target 264, B*Hkv = 64 -> S = 5; chunk = roundUp(ceil(32768/5) = 6554,
  // 64) = 6592; S = ceil(32768/6592) = 5.
  CHECK_EQ(graph->numSplits, 5);
  CHECK_EQ(graph->chunk, 6592);
  CHECK_EQ(graph->numSplits, eager->numSplits);
  CHECK_EQ(graph->chunk, eager->chunk);
  CHECK_EQ(graph->workspaceBytes, eager->workspaceBytes);
  CHECK_EQ(graph->batch, 8);
  CHECK_EQ(graph->maxLen, 32768);
}

TEST(PlanGridLimits) {
  auto bundle = fdtest::loadValid();
  // B is the z extent of the partial kernel: at most 65535.
  CHECK_ERROR(plan(bundle->getEntries()[0], 70000, 128, 132),
              "kernel 'fd_partial_online': grid.z = B = 70000 is outside "
              "CUDA's limit [0, 65535]");
  Expected<std::array<uint32_t, 3>> grid =
      evaluateGrid(bundle->getEntries()[0].variants[0].kernels[0],
                   getSymbolValues(bundle->getEntries()[0], 2, 3, 64));
  CHECK_OK(grid);
  if (grid)
    CHECK((*grid == std::array<uint32_t, 3>{3, 8, 2}));
}

TEST(PlanOtherOpsUnsupported) {
  auto bundle = Bundle::loadMemory(R"({"format": "fd-bundle", "version": 2,
    "modules": [{ "name": "m", "chip": "sm_90", "ptx": "stub" }],
    "entries": [{ "name": "gemm", "op": "flat_gemm", "dtype": "f16",
      "n": 64, "k": 64,
      "kernels": [{ "symbol": "g", "module": "m", "role": "gemv", "grid": [1],
                    "block": [128], "m_tile": 1, "args": [
        { "kind": "memref", "bind": "x", "elem": "f16", "rank": 2 },
        { "kind": "memref", "bind": "w", "elem": "f16", "rank": 2 },
        { "kind": "memref", "bind": "y", "elem": "f16", "rank": 2 }] }]}]})");
  CHECK_OK(bundle);
  if (!bundle)
    return;
  Expected<Plan> p = plan((*bundle)->getEntries()[0], 1, 10, 132);
  CHECK_ERROR(p, "op 'flat_gemm' cannot be planned by this runtime");
  CHECK(p.getStatus().getCode() == ErrorCode::Unsupported);
}

TEST(PlanChoosesSplitOrUnsplit) {
  // The test manifest's entry (Hkv = 8, ctas_per_sm 2, min_chunk 256) with
  // launch variants named as fd-compile names an online-softmax entry's.
  std::string text = fdtest::withVariants("none", "", "unsplit");
  auto bundle = Bundle::loadMemory(text);
  CHECK_OK(bundle);
  if (!bundle)
    return;
  const EntrySpec &entry = (*bundle)->getEntries()[0];
  const size_t split = 0, unsplit = 1;
  // 4 resident CTAs per SM, capped by ctas_per_sm 2: target 264 CTAs.
  // B = 16: 128 CTAs -> S = 2: splitting adds parallelism.
  CHECK_EQ(chooseVariant(entry, 16, 4096, 132, 4), split);
  // B = 32: 256 CTAs -> S = floor(264 / 256) = 1: unsplit.
  CHECK_EQ(chooseVariant(entry, 32, 4096, 132, 4), unsplit);
  // A context shorter than min_chunk is one split at any batch.
  CHECK_EQ(chooseVariant(entry, 1, 200, 132, 4), unsplit);
  // Without the occupancy figure: S = ceil(264 / 256) = 2 at B = 32.
  CHECK_EQ(chooseVariant(entry, 32, 4096, 132, 0), split);
  // Bad arguments are left to the split planner to report.
  CHECK_EQ(chooseVariant(entry, -1, 4096, 132, 4), split);

  // plan() without a variant follows the choice; the unsplit plan is one
  // split over the whole (64-aligned) context.
  Expected<Plan> p = plan(entry, 32, 4000, 132, 4);
  CHECK_OK(p);
  if (p) {
    CHECK_EQ(p->variant, int(unsplit));
    CHECK_EQ(p->numSplits, 1);
    CHECK_EQ(p->chunk, 4032);
  }
  Expected<Plan> q = plan(entry, 16, 4000, 132, 4);
  CHECK_OK(q);
  if (q) {
    CHECK_EQ(q->variant, int(split));
    CHECK_EQ(q->numSplits, 2);
  }
  // Forcing the unsplit variant still gives one split.
  Expected<Plan> forced = plan(entry, 1, 4000, 132, 4, int(unsplit));
  CHECK_OK(forced);
  if (forced)
    CHECK_EQ(forced->numSplits, 1);
}

TEST(PlanSplitClusterFromItsCluster) {
  // split_cluster's plan: the cluster's CTAs are the splits, the chunk the
  // longest sequence's share in whole 64-token tiles (the kernel computes
  // each sequence's own); never the default choice.
  std::string text = fdtest::withVariants("none", "", "unsplit");
  auto bundle = Bundle::loadMemory(text);
  CHECK_OK(bundle);
  if (!bundle)
    return;
  EntrySpec entry = (*bundle)->getEntries()[0];
  entry.variants[1].name = std::string(fdb::variant::kSplitCluster);
  entry.variants[1].kernels.resize(1);
  entry.variants[1].kernels[0].cluster = {8, 1, 1};
  Expected<Plan> p = plan(entry, 1, 1000, 132, 1, /*variant=*/1);
  CHECK_OK(p);
  if (p) {
    CHECK_EQ(p->numSplits, 8);
    CHECK_EQ(p->chunk, 128); // ceil(1000 / 8) = 125 -> 128
  }
  Expected<Plan> longest = plan(entry, 4, 131072, 132, 1, /*variant=*/1);
  CHECK_OK(longest);
  if (longest) {
    CHECK_EQ(longest->numSplits, 8);
    CHECK_EQ(longest->chunk, 16384);
  }
  // An empty context still plans (every CTA's range is empty).
  Expected<Plan> empty = plan(entry, 1, 0, 132, 1, /*variant=*/1);
  CHECK_OK(empty);
  if (empty)
    CHECK_EQ(empty->numSplits, 8);
  CHECK_ERROR(plan(entry, 0, 1000, 132, 1, /*variant=*/1),
              "batch 0 is out of range");
  // Without a variant table the planner keeps choosing split or unsplit.
  CHECK_EQ(chooseVariant(entry, 1, 1000, 132, 1), size_t(0));
}

TEST(PlanChoosesSplitClusterForRaggedGqaBatches) {
  // With a split_cluster variant (4 CTAs, as fd-compile builds it), a
  // ragged GQA batch whose cluster CTAs fill the 132 SMs at least once runs
  // it; a batch of equal lengths, one below a wave, or MHA does not.
  std::string text = fdtest::withVariants("none", "", "unsplit");
  auto bundle = Bundle::loadMemory(text);
  CHECK_OK(bundle);
  if (!bundle)
    return;
  EntrySpec entry = (*bundle)->getEntries()[0]; // Hq 32, Hkv 8
  VariantSpec &cluster = entry.variants[1];
  cluster.name = std::string(fdb::variant::kSplitCluster);
  cluster.kernels.resize(1);
  cluster.kernels[0].cluster = {4, 1, 1};
  auto choose = [&](const EntrySpec &e, int64_t batch, int64_t maxLen,
                    int64_t totalTokens) {
    PlanRequest r;
    r.batch = batch;
    r.maxLen = maxLen;
    r.smCount = 132;
    r.residentCtasPerSm.assign(e.variants.size(), 1);
    r.totalTokens = totalTokens;
    Expected<PlanChoice> c = choosePlan(e, r);
    CHECK_OK(c);
    return c ? int(c->variant) : -1;
  };
  // B = 16, lengths averaging 16K of 32K: 16 x 8 x 4 = 512 CTAs.
  CHECK_EQ(choose(entry, 16, 32768, 16 * 16384), 1);
  // B = 4: 128 CTAs, under one wave of 132 SMs: split.
  CHECK_EQ(choose(entry, 4, 131072, 4 * 65536), 0);
  // Equal lengths (the sum is B x max_len), or no sum given: split.
  CHECK_EQ(choose(entry, 16, 32768, 16 * 32768), 0);
  CHECK_EQ(choose(entry, 16, 32768, 0), 0);
  // MHA: split (the CUDA-core cluster kernel was 1.5% behind there).
  EntrySpec mha = entry;
  mha.numQHeads = mha.numKvHeads;
  CHECK_EQ(choose(mha, 16, 32768, 16 * 16384), 0);
  // A sum above B x max_len is the split planner's error to report.
  PlanRequest bad;
  bad.batch = 16;
  bad.maxLen = 32768;
  bad.smCount = 132;
  bad.totalTokens = 16 * 32768 + 1;
  Expected<PlanChoice> refused = choosePlan(entry, bad);
  CHECK_OK(refused);
  if (refused)
    CHECK_ERROR(refused->split, "total_tokens");
}

/// The auto-mode formula as the planner wrote it before it used
/// fdb::SplitFormula, kept to pin that the two agree.
static SplitChoice referenceAutoSplits(const SplitPolicy &policy, int64_t batch,
                                       int64_t numKvHeads, int64_t maxLen,
                                       int64_t smCount, int64_t resident) {
  auto ceilDiv = [](int64_t a, int64_t b) { return (a + b - 1) / b; };
  int64_t work = batch * numKvHeads;
  int64_t s;
  if (resident > 0)
    s = std::max<int64_t>(1, smCount * std::min(policy.ctasPerSm, resident) /
                                 work);
  else
    s = work >= smCount * policy.ctasPerSm
            ? 1
            : ceilDiv(smCount * policy.ctasPerSm, work);
  s = std::min({s, std::max<int64_t>(1, ceilDiv(maxLen, policy.minChunk)),
                policy.maxSplits});
  SplitChoice choice;
  choice.chunk =
      ceilDiv(ceilDiv(std::max<int64_t>(maxLen, 1), s), policy.chunkAlign) *
      policy.chunkAlign;
  choice.numSplits = std::max<int64_t>(1, ceilDiv(maxLen, choice.chunk));
  return choice;
}

TEST(PlanAutoMatchesTheFormerFormula) {
  int mismatches = 0;
  for (int64_t ctas : {1, 2, 16})
    for (int64_t minChunk : {16, 256})
      for (int64_t align : {1, 64, 256})
        for (int64_t batch : {1, 3, 8, 33, 64, 300})
          for (int64_t hkv : {1, 8, 32})
            for (int64_t len : {0, 1, 100, 1000, 4096, 131072})
              for (int64_t resident : {0, 1, 4, 9}) {
                SplitPolicy policy = autoPolicy(ctas, minChunk, align, 64);
                Expected<SplitChoice> got =
                    chooseSplits(policy, batch, hkv, len, 132, resident);
                SplitChoice want =
                    referenceAutoSplits(policy, batch, hkv, len, 132, resident);
                if (!got || got->numSplits != want.numSplits ||
                    got->chunk != want.chunk)
                  ++mismatches;
              }
  CHECK_EQ(mismatches, 0);
}

TEST(PlanChoosesOnceWithEachVariantsOccupancy) {
  std::string text = fdtest::withVariants("none", "", "unsplit");
  auto bundle = Bundle::loadMemory(text);
  CHECK_OK(bundle);
  if (!bundle)
    return;
  const EntrySpec &entry = (*bundle)->getEntries()[0];
  PlanRequest request;
  request.batch = 32;
  request.maxLen = 4000;
  request.smCount = 132;
  // The split variant's occupancy decides (the unsplit kernel's is not
  // used): 4 resident, capped at ctas_per_sm 2, 264 CTAs for 256 -> unsplit.
  request.residentCtasPerSm = {4, 1};
  Expected<PlanChoice> choice = choosePlan(entry, request);
  CHECK_OK(choice);
  if (choice) {
    CHECK_EQ(choice->variant, size_t(1));
    CHECK_OK(choice->split);
    if (choice->split) {
      CHECK_EQ(choice->split->numSplits, 1);
      CHECK_EQ(choice->split->chunk, 4032);
    }
  }
  // Unknown occupancy of the split variant: ceil(264 / 256) = 2 -> split,
  // and the plan is that choice's.
  request.residentCtasPerSm = {0, 4};
  choice = choosePlan(entry, request);
  Expected<Plan> p = plan(entry, request);
  CHECK_OK(choice);
  CHECK_OK(p);
  if (choice && p && choice->split) {
    CHECK_EQ(choice->variant, size_t(0));
    CHECK_EQ(p->variant, 0);
    CHECK_EQ(p->numSplits, choice->split->numSplits);
    CHECK_EQ(p->chunk, choice->split->chunk);
  }
  // A missing occupancy list is unknown occupancy.
  request.residentCtasPerSm.clear();
  choice = choosePlan(entry, request);
  CHECK(choice && choice->variant == 0);
  // An explicit variant is taken as is; one out of range is an error.
  request.variant = 1;
  choice = choosePlan(entry, request);
  CHECK(choice && choice->variant == 1);
  request.variant = 2;
  CHECK_ERROR(choosePlan(entry, request), "has no variant 2 (it has 2)");
  // Bad arguments: the split variant, with the error planning it reports.
  request.variant = -1;
  request.batch = 0;
  choice = choosePlan(entry, request);
  CHECK(choice && choice->variant == 0);
  if (choice)
    CHECK_ERROR(choice->split, "batch 0 is out of range");
  CHECK_ERROR(plan(entry, request), "cannot plan entry 'llama3_decode'");
}

/// Plans \p entry (variant \p variant, -1: the default) for \p batch
/// sequences of up to \p maxLen tokens and checks that the plan covers them
/// with a chunk the kernels accept.
static void checkPlansAt(const EntrySpec &entry, int64_t batch, int64_t maxLen,
                         int variant, int line) {
  for (bool graph : {false, true}) {
    Expected<Plan> p = graph ? planForGraph(entry, batch, maxLen, 132, 0,
                                            variant)
                             : plan(entry, batch, maxLen, 132, 0, variant);
    if (!p) {
      fdtest::fail(__FILE__, line,
                   "planning B = " + std::to_string(batch) + ", max_len = " +
                       std::to_string(maxLen) + " failed: " +
                       p.getStatus().getMessage());
      continue;
    }
    if (p->chunk < 1 || p->chunk > INT32_MAX || p->numSplits < 1 ||
        p->numSplits * p->chunk < maxLen)
      fdtest::fail(__FILE__, line,
                   "S = " + std::to_string(p->numSplits) + ", chunk = " +
                       std::to_string(p->chunk) + " does not cover " +
                       std::to_string(maxLen));
  }
}

TEST(PlanAtTheLargestLength) {
  // max_len = INT32_MAX is documented as planable: rounding the one split's
  // chunk up to chunk_align (2^31) must not push it past INT32_MAX. B =
  // 65535 (grid.z's limit, the largest batch the kernels launch): one split.
  const int64_t maxLen = INT32_MAX;
  std::shared_ptr<const Bundle> online = fdtest::loadValid();
  const EntrySpec &auto_ = online->getEntries()[0];
  for (int64_t b : {int64_t(1), int64_t(7), int64_t(65535)})
    for (int64_t len : {int64_t(1), int64_t(INT32_MAX - 63), maxLen})
      checkPlansAt(auto_, b, len, -1, __LINE__);
  // Fixed: one split of the whole context.
  auto fixed = Bundle::loadMemory(
      REPLACE(REPLACE(fdtest::validManifest(), "\"mode\": \"auto\"",
                      "\"mode\": \"fixed\""),
              "\"num_splits\": 0", "\"num_splits\": 1"));
  CHECK_OK(fixed);
  if (fixed)
    checkPlansAt((*fixed)->getEntries()[0], 65535, maxLen, -1, __LINE__);
  // The split and unsplit variants of an online entry.
  auto splitUnsplit =
      Bundle::loadMemory(fdtest::withVariants("none", "", "unsplit"));
  CHECK_OK(splitUnsplit);
  if (splitUnsplit)
    for (int v : {-1, 0, 1})
      checkPlansAt((*splitUnsplit)->getEntries()[0], 65535, maxLen, v,
                   __LINE__);
  // A unified-max entry's two_kernel and single_launch.
  auto unified =
      Bundle::loadMemory(fdtest::withVariants("zero", "fallback_count"));
  CHECK_OK(unified);
  if (unified)
    for (int v : {-1, 0, 1})
      for (int64_t b : {int64_t(1), int64_t(65535)})
        checkPlansAt((*unified)->getEntries()[0], b, maxLen, v, __LINE__);
  // Past the limits: a clear error, never a truncated plan.
  CHECK_ERROR(plan(auto_, 65536, maxLen, 132),
              "grid.z = B = 65536 is outside CUDA's limit [0, 65535]");
  CHECK_ERROR(plan(auto_, int64_t(INT32_MAX) + 1, 1, 132),
              "batch 2147483648 is out of range [1, 2147483647]");
  CHECK_ERROR(plan(auto_, 1, int64_t(INT32_MAX) + 1, 132),
              "maxLen 2147483648 is out of range [0, 2147483647]");
}
