//===- BundleTest.cpp - Tests of manifest reading and validation ----------===//

#include "TestUtil.h"

#include "fd/Runtime/Bundle.h"
#include "fd/Runtime/Planner.h"

#include <cstdio>
#include <fstream>
#include <sstream>

#include <unistd.h>

using namespace fd::rt;

static Expected<std::shared_ptr<const Bundle>> load(const std::string &text) {
  return Bundle::loadMemory(text, "test.fdb");
}

TEST(BundleValidContents) {
  std::shared_ptr<const Bundle> bundle = fdtest::loadValid();
  CHECK_EQ(bundle->getVersion(), 2);
  CHECK_EQ(bundle->getProducer(), std::string("hand-written test bundle"));
  CHECK_EQ(bundle->getModules().size(), size_t(1));
  const ModuleSpec &module = bundle->getModules()[0];
  CHECK_EQ(module.name, std::string("fd_attn_llama3"));
  CHECK_EQ(module.ccMajor, 9);
  CHECK_EQ(module.ccMinor, 0);
  CHECK_EQ(int(module.archSuffix), 0);
  CHECK(module.ptx.find(".entry fd_merge_online(") != std::string::npos);

  CHECK_EQ(bundle->getEntries().size(), size_t(1));
  const EntrySpec *entry = bundle->findEntry("llama3_decode");
  CHECK(entry != nullptr);
  CHECK(bundle->findEntry("nope") == nullptr);
  CHECK_EQ(bundle->findEntryIndex("llama3_decode"), 0);
  if (!entry)
    return;
  CHECK(entry->op == OpKind::DecodeAttention);
  CHECK(entry->dtype == DType::F16);
  CHECK_EQ(entry->numQHeads, 32);
  CHECK_EQ(entry->numKvHeads, 8);
  CHECK_EQ(entry->headDim, 128);
  CHECK_EQ(entry->scale, 0.08838834764831845);
  CHECK_EQ(entry->softmax.kind, std::string("online"));
  CHECK(entry->split.mode == SplitMode::Auto);
  CHECK_EQ(entry->split.ctasPerSm, 2);
  CHECK_EQ(entry->split.minChunk, 256);
  CHECK_EQ(entry->split.chunkAlign, 64);
  CHECK_EQ(entry->split.maxSplits, 256);
  CHECK_EQ(entry->variants[0].workspace.size(), size_t(3));
  CHECK_EQ(entry->variants[0].workspace[0].shape.size(), size_t(4));
  CHECK(entry->variants[0].workspace[0].shape[2].symbol == Symbol::S);

  CHECK_EQ(entry->variants[0].kernels.size(), size_t(2));
  const KernelSpec &partial = entry->variants[0].kernels[0];
  CHECK_EQ(partial.symbol, std::string("fd_partial_online"));
  CHECK_EQ(partial.moduleIndex, size_t(0));
  CHECK(partial.grid[0].symbol == Symbol::S);
  CHECK(partial.grid[1].symbol == Symbol::Hkv);
  CHECK(partial.grid[2].symbol == Symbol::B);
  CHECK_EQ(partial.block[0], 128u);
  CHECK_EQ(partial.staticSmem, 2048);
  CHECK_EQ(partial.getNumParams(), size_t(66));
  CHECK(partial.resources.has_value());
  CHECK_EQ(partial.resources->registers, 64);
  CHECK(partial.args[0].source == ArgSource::Q);
  CHECK(partial.args[3].source == ArgSource::Lens);
  CHECK(partial.args[5].source == ArgSource::Workspace);
  CHECK_EQ(partial.args[5].workspaceIndex, 1);
  CHECK(partial.args[7].kind == ArgSpec::Kind::Scalar);
  CHECK(partial.args[7].source == ArgSource::Symbol);
  CHECK(partial.args[7].symbol == Symbol::Chunk);

  const KernelSpec &merge = entry->variants[0].kernels[1];
  CHECK_EQ(merge.gridRank, size_t(2));
  CHECK(!merge.grid[2].symbol.has_value());
  CHECK_EQ(merge.grid[2].constant, 1); // missing extents are 1
  CHECK(!merge.resources.has_value());
  CHECK(merge.args[5].symbol == Symbol::S); // "num_splits"
}

TEST(BundleFileLoadMatchesMemory) {
  std::string path = std::string(FD_TEST_INPUTS) + "/valid.fdb";
  Expected<std::shared_ptr<const Bundle>> bundle = Bundle::loadFile(path);
  CHECK_OK(bundle);
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  CHECK(text.str() == fdtest::validManifest());
}

TEST(BundleMissingFile) {
  Expected<std::shared_ptr<const Bundle>> bundle =
      Bundle::loadFile("/nonexistent/dir/x.fdb");
  CHECK_ERROR(bundle, "/nonexistent/dir/x.fdb: cannot open bundle: No such "
                      "file or directory");
  CHECK(bundle.getStatus().getCode() == ErrorCode::Io);
}

TEST(BundleErrorCodes) {
  const std::string &valid = fdtest::validManifest();
  auto parse = load(valid.substr(0, 100));
  CHECK_ERROR(parse, "test.fdb: manifest is not valid JSON: line");
  CHECK(parse.getStatus().getCode() == ErrorCode::Parse);

  auto version = load(REPLACE(valid, "\"version\": 2", "\"version\": 7"));
  CHECK_ERROR(version, "unsupported bundle version 7 (this runtime reads "
                       "version 2)");
  CHECK(version.getStatus().getCode() == ErrorCode::Unsupported);

  auto invalid = load(REPLACE(valid, "\"head_dim\": 128,", ""));
  CHECK_ERROR(invalid, "entries[0]: missing required field 'head_dim'");
  CHECK(invalid.getStatus().getCode() == ErrorCode::InvalidBundle);
}

/// A manifest the reader must refuse, and a part of the message it must
/// give ("" : any error).
struct RefusedManifest {
  std::string text;
  const char *message;
};

TEST(BundleRejectsBadManifests) {
  const std::string &v = fdtest::validManifest();
  const RefusedManifest cases[] = {
      {"[]", "manifest: expected a JSON object at the top level, found array"},
      {"{}", "manifest: missing required field 'format' (string)"},
      {REPLACE(v, "\"format\": \"fd-bundle\"", "\"format\": 1"),
       "format: expected string, found number"},
      {REPLACE(v, "\"version\": 2,", ""),
       "manifest: missing required field 'version' (integer)"},
      {REPLACE(v, "\"version\": 2", "\"version\": \"1\""),
       "version: expected an integer"},
      {REPLACE(v, "\"modules\": [", "\"modules\": {\"x\": ["),
       ""}, // not valid JSON any more; just must not crash
      {REPLACE(v, "\"name\": \"fd_attn_llama3\",", ""),
       "modules[0]: missing required field 'name' (string)"},
      {REPLACE(v, "\"ptx\": \"//", "\"ptx\": 5, \"x\": \"//"),
       "modules[0].ptx: expected string, found number"},
      {REPLACE(v, "\"chip\": \"sm_90\"", "\"chip\": \"sm_9\""),
       "modules[0].chip: invalid chip 'sm_9'"},
      {REPLACE(v, "\"op\": \"decode_attention\"", "\"op\": \"prefill\""),
       "entries[0].op: unknown op 'prefill' (expected decode_attention, "
       "flat_gemm or merge_states)"},
      {REPLACE(v, "\"dtype\": \"f16\"", "\"dtype\": \"f8\""),
       "entries[0].dtype: unknown element type 'f8'"},
      {REPLACE(v, "\"dtype\": \"f16\"", "\"dtype\": \"f32\""),
       "entries[0].dtype: entry dtype must be f16 or bf16, found f32"},
      {REPLACE(v, "\"scale\": 0.08838834764831845", "\"scale\": null"),
       "entries[0].scale: expected number, found null"},
      {REPLACE(v, "\"softmax\": { \"kind\": \"online\" }",
               "\"softmax\": { \"kind\": \"unified_max\" }"),
       "entries[0].softmax: missing required field 'phi' (number)"},
      {REPLACE(v, "\"softmax\": { \"kind\": \"online\" }",
               "\"softmax\": { \"kind\": \"exact\" }"),
       "entries[0].softmax.kind: unknown softmax kind 'exact'"},
      {REPLACE(v, "\"ctas_per_sm\": 2, ", ""),
       "entries[0].split: missing required field 'ctas_per_sm' (integer)"},
      {REPLACE(v, "\"min_chunk\": 256", "\"min_chunk\": 0"),
       "entries[0].split.min_chunk: value 0 is out of range [1, 2147483647]"},
      {REPLACE(v, "\"mode\": \"auto\"", "\"mode\": \"chunk\""),
       "entries[0].split.chunk_size: value 0 is out of range [1, "
       "2147483647]"},
      {REPLACE(v, "\"elem\": \"f32\", \"shape\": [\"B\", \"Hq\", \"S\"] },",
               "\"elem\": \"f32\", \"shape\": [\"B\", \"Hq\", \"L\"] },"),
       "entries[0].workspace[1].shape[2]: symbol 'L' (K/V cache capacity) "
       "cannot be used in workspace shape"},
      {REPLACE(v, "\"shape\": [\"B\", \"Hq\", \"S\", \"D\"]",
               "\"shape\": [\"B\", \"Hq\", \"S\", 0]"),
       "entries[0].workspace[0].shape[3]: workspace shape 0 is out of range"},
      {REPLACE(v, "{ \"name\": \"partial_max\"", "{ \"name\": \"partial_acc\""),
       "entries[0].workspace[1]: workspace name 'partial_acc' is already "
       "used"},
      {REPLACE(v, "{ \"name\": \"partial_max\"", "{ \"name\": \"out\""),
       "workspace name 'out' is already used"},
      {REPLACE(v, "\"kernels\": [", "\"kernels\": [], \"x\": ["),
       "entries[0].kernels: an entry needs at least one kernel"},
      {REPLACE(v, "\"grid\": [\"Hq\", \"B\"]", "\"grid\": []"),
       "entries[0].kernels[1].grid: expected 1 to 3 extents, found 0"},
      {REPLACE(v, "\"grid\": [\"Hq\", \"B\"]", "\"grid\": [\"Hq\", true]"),
       "entries[0].kernels[1].grid[1]: expected a symbol name or a positive "
       "integer, found boolean"},
      {REPLACE(v, "\"grid\": [\"Hq\", \"B\"]", "\"grid\": [\"Hq\", -2]"),
       "entries[0].kernels[1].grid[1]: grid -2 is out of range"},
      {REPLACE(v, "\"block\": [128, 1, 1]", "\"block\": [64, 32, 1]"),
       "entries[0].kernels[0].block: 2048 threads per block, more than "
       "CUDA's 1024"},
      {REPLACE(v, "\"static_smem\": 2048", "\"static_smem\": -1"),
       "entries[0].kernels[0].static_smem: value -1 is out of range"},
      {REPLACE(v, "\"args\": [", "\"args\": [ 7, "),
       "entries[0].kernels[0].args[0]: expected an object, found number"},
      {REPLACE(v,
               "\"kind\": \"scalar\", \"bind\": \"chunk\", \"type\": \"i64\"",
               "\"kind\": \"scalar\", \"bind\": \"chunk\", \"type\": \"f16\""),
       "entries[0].kernels[0].args[7].type: scalar type must be i32, i64, f32 "
       "or f64, found f16"},
      {REPLACE(v,
               "\"kind\": \"scalar\", \"bind\": \"chunk\", \"type\": \"i64\"",
               "\"kind\": \"scalar\", \"bind\": \"scale\", \"type\": \"i64\""),
       "entries[0].kernels[0].args[7].type: scalar 'scale' must be f32 or "
       "f64"},
      {REPLACE(v,
               "\"kind\": \"scalar\", \"bind\": \"chunk\", \"type\": \"i64\"",
               "\"kind\": \"scalar\", \"bind\": \"chunk\""),
       "entries[0].kernels[0].args[7]: missing required field 'type' "
       "(string)"},
      {REPLACE(v, "\"bind\": \"partial_acc\", \"elem\": \"f32\", \"rank\": 4",
               "\"bind\": \"partial_acc\", \"elem\": \"f32\", \"rank\": 3"),
       "entries[0].kernels[0].args[4].rank: memref 'partial_acc' has rank 3, "
       "expected 4"},
      {REPLACE(v, "\"bind\": \"out\",  \"elem\": \"f16\"",
               "\"bind\": \"out\",  \"elem\": \"bf16\""),
       "entries[0].kernels[1].args[4].elem: memref 'out' has element type "
       "bf16, expected f16"},
      {REPLACE(v, "\"registers\": 64", "\"registers\": \"many\""),
       "entries[0].kernels[0].resources.registers: expected an integer, "
       "found string"},
      {REPLACE(v, "\"name\": \"llama3_decode\"", "\"name\": \"\""),
       "entries[0].name: must not be empty"},
  };
  for (const RefusedManifest &c : cases)
    CHECK_ERROR(load(c.text), c.message);
}

TEST(BundleErrorsCarrySourceLines) {
  auto bundle = load(
      REPLACE(fdtest::validManifest(), "\"Hkv\", \"B\"", "\"Hkv\", \"Batch\""));
  CHECK_ERROR(bundle, "test.fdb: entries[0].kernels[0].grid[2]: unknown "
                      "symbol 'Batch' in grid (known: B, Hq, Hkv, D, S, "
                      "chunk, M, MT) (line 36, column 32)");
}

TEST(BundleDuplicateNames) {
  const std::string &v = fdtest::validManifest();
  // Two modules of the same name.
  std::string module =
      R"({ "name": "fd_attn_llama3", "chip": "sm_90", "ptx": "x" },)";
  auto dupModule =
      load(REPLACE(v, "\"modules\": [", "\"modules\": [" + module));
  CHECK_ERROR(dupModule, "modules[1]: duplicate module name 'fd_attn_llama3'");
  // Two entries of the same name.
  size_t start = v.find("    {\n      \"name\": \"llama3_decode\"");
  size_t end = v.rfind("  ]\n}");
  CHECK(start != std::string::npos && end != std::string::npos);
  std::string entry = v.substr(start, end - start);
  std::string twice = v.substr(0, end) + "," + entry + v.substr(end);
  twice = REPLACE(twice, "    }\n,", "    },\n");
  auto dupEntry = load(twice);
  CHECK_ERROR(dupEntry, "entries[1]: duplicate entry name 'llama3_decode'");
}

TEST(BundleTooManyKernelParams) {
  // 14 rank-8 memrefs: 14 * 19 = 266 parameters, over the 256 limit.
  std::string args;
  for (int i = 0; i < 27; ++i)
    args += std::string(i ? "," : "") +
            R"({ "kind": "memref", "bind": "big", "elem": "f32", "rank": 8 })";
  std::string text = R"({"format": "fd-bundle", "version": 2,
    "modules": [{ "name": "m", "chip": "sm_90", "ptx": "stub" }],
    "entries": [{ "name": "e", "op": "decode_attention", "dtype": "bf16",
      "num_q_heads": 8, "num_kv_heads": 8, "head_dim": 64, "scale": 1,
      "softmax": { "kind": "online" },
      "split": { "mode": "fixed", "num_splits": 4, "chunk_align": 32 },
      "workspace": [{ "name": "big", "elem": "f32",
                      "shape": ["B", 1, 1, 1, 1, 1, 1, 1] }],
      "kernels": [{ "symbol": "k", "module": "m", "grid": [1],
                    "block": [32], "args": [)" +
                     args + "]}]}]}";
  CHECK_ERROR(load(text), "entries[0].kernels[0].args: expands to 513 kernel "
                          "parameters, more than the supported 512");
  // The same with 26 loads: optional fields (role, smem, resources) may be
  // absent, integer scale is fine.
  std::string ok = text;
  ok.replace(
      ok.find(
          R"({ "kind": "memref", "bind": "big", "elem": "f32", "rank": 8 },)"),
      std::string(
          R"({ "kind": "memref", "bind": "big", "elem": "f32", "rank": 8 },)")
          .size(),
      "");
  auto bundle = load(ok);
  CHECK_OK(bundle);
  if (bundle) {
    const EntrySpec &entry = (*bundle)->getEntries()[0];
    CHECK(entry.split.mode == SplitMode::Fixed);
    CHECK_EQ(entry.variants[0].kernels[0].getNumParams(), size_t(26 * 19));
    CHECK_EQ(entry.variants[0].kernels[0].dynamicSmem, 0);
  }
}

TEST(BundleFlatGemmIsChecked) {
  // flat_gemm entries are launched by the runtime now, so their shape and
  // bindings are validated like attention's (FlatGemmTest has the details).
  std::string text = R"({"format": "fd-bundle", "version": 2,
    "modules": [{ "name": "m", "chip": "sm_90a", "ptx": "stub" }],
    "entries": [{ "name": "gemm", "op": "flat_gemm", "dtype": "f16",
      "n": 64, "k": 64,
      "kernels": [{ "symbol": "g", "module": "m", "role": "gemv",
                    "grid": [16, "M"], "block": [128], "m_tile": 1, "args": [
        { "kind": "memref", "bind": "x", "elem": "f16", "rank": 2 },
        { "kind": "memref", "bind": "w", "elem": "f16", "rank": 2 },
        { "kind": "memref", "bind": "y", "elem": "f16", "rank": 2 }]}]}]})";
  auto bundle = load(text);
  CHECK_OK(bundle);
  if (bundle) {
    const EntrySpec &entry = (*bundle)->getEntries()[0];
    CHECK(entry.op == OpKind::FlatGemm);
    CHECK(entry.gemm.kernels[0].args[0].source == ArgSource::X);
    CHECK(entry.gemm.outDtype == DType::F16);
    CHECK_EQ(int((*bundle)->getModules()[0].archSuffix), int('a'));
  }
  CHECK_ERROR(load(REPLACE(text, R"("bind": "x")", R"("bind": "a")")),
              "unknown flat_gemm memref binding 'a'");
}

TEST(ChipCompatibility) {
  ModuleSpec m;
  m.name = "m";
  auto with = [&](const char *chip, int major, int minor, char suffix) {
    m.chip = chip;
    m.ccMajor = major;
    m.ccMinor = minor;
    m.archSuffix = suffix;
  };
  with("sm_90", 9, 0, 0);
  CHECK_OK(checkChipCompatible(m, 9, 0));
  CHECK_OK(checkChipCompatible(m, 10, 0)); // the JIT targets newer chips
  CHECK_ERROR(checkChipCompatible(m, 8, 0),
              "module 'm' is PTX for sm_90 but the device is sm_80 (compute "
              "capability 8.0): the device is older than the PTX target; "
              "rebuild the bundle for sm_80");
  CHECK(checkChipCompatible(m, 8, 9).getCode() == ErrorCode::Unsupported);
  with("sm_90a", 9, 0, 'a');
  CHECK_OK(checkChipCompatible(m, 9, 0));
  CHECK_ERROR(checkChipCompatible(m, 10, 0),
              "arch-specific PTX runs only on that exact chip");
  with("sm_100f", 10, 0, 'f');
  CHECK_OK(checkChipCompatible(m, 10, 3));
  CHECK_ERROR(checkChipCompatible(m, 12, 0), "family-specific");
  with("sm_80", 8, 0, 0);
  CHECK_OK(checkChipCompatible(m, 9, 0));
}

TEST(ChipParsing) {
  const std::string &v = fdtest::validManifest();
  auto sm120 =
      load(REPLACE(REPLACE(v, "\"chip\": \"sm_90\"", "\"chip\": \"sm_120\""),
                   ".target sm_90", ".target sm_120"));
  CHECK_OK(sm120);
  if (sm120) {
    CHECK_EQ((*sm120)->getModules()[0].ccMajor, 12);
    CHECK_EQ((*sm120)->getModules()[0].ccMinor, 0);
  }
  for (const char *bad : {"sm90", "sm_", "sm_9x", "sm_1000", "sm_90b"})
    CHECK_ERROR(load(REPLACE(v, "\"chip\": \"sm_90\"",
                             std::string("\"chip\": \"") + bad + "\"")),
                "invalid chip");
}

TEST(NamesRoundTrip) {
  for (DType t : {DType::F16, DType::BF16, DType::F32, DType::I32, DType::I64,
                  DType::F64})
    CHECK(parseDType(dtypeName(t)) == t);
  CHECK(!parseDType("f8").has_value());
  CHECK_EQ(dtypeSize(DType::BF16), size_t(2));
  CHECK_EQ(dtypeSize(DType::I32), size_t(4));
  for (int i = 0; i < kNumSymbols; ++i)
    CHECK(parseSymbol(symbolName(Symbol(i))) == Symbol(i));
  CHECK(!parseSymbol("b").has_value()); // case matters
  CHECK_EQ(std::string(errorCodeName(ErrorCode::NoDevice)),
           std::string("no device"));
}

TEST(BundleArgsMatchThePtx) {
  const std::string &v = fdtest::validManifest();
  // One parameter more than the PTX declares.
  auto count =
      load(REPLACE(v, R"({ "kind": "scalar", "bind": "chunk", "type": "i64" })",
                   R"({ "kind": "scalar", "bind": "chunk", "type": "i64" },
                               { "kind": "scalar", "bind": "S", "type": "i64" })"));
  CHECK_ERROR(count, "entries[0].kernels[0].args: the args expand to 67 kernel "
                     "parameters (a rank-r memref is 3 + 2r), but the PTX "
                     ".entry fd_partial_online declares 66");
  // Same count, wrong width: an i32 scalar where the PTX has a .u64.
  auto width = load(REPLACE(v, R"("bind": "chunk", "type": "i64")",
                            R"("bind": "chunk", "type": "f32")"));
  CHECK_ERROR(width, "entries[0].kernels[0].args[7]: kernel parameter 65 "
                     "('chunk') is 4 bytes here but 8 bytes in the PTX "
                     ".entry fd_partial_online");
  // A stub PTX without entries is not checked.
  CHECK_OK(
      load(fdtest::withStubPtx(REPLACE(v, R"("bind": "chunk", "type": "i64")",
                                       R"("bind": "chunk", "type": "f32")"))));
}

TEST(BundleKernelOrder) {
  std::string swapped = fdtest::validManifest();
  swapped = REPLACE(swapped, R"("role": "partial")", R"("role": "TMP")");
  swapped = REPLACE(swapped, R"("role": "merge")", R"("role": "partial")");
  swapped = REPLACE(swapped, R"("role": "TMP")", R"("role": "merge")");
  CHECK_ERROR(load(swapped),
              "entries[0].kernels[0]: kernel 'fd_partial_online' (role merge) "
              "comes before kernel 'fd_merge_online' (role partial), but "
              "kernels are launched in manifest order");
}

static std::string
withVariants(const std::string &init, const std::string &counter,
             const std::string &secondName = "single_launch") {
  return fdtest::withVariants(init, counter, secondName);
}

TEST(BundleVariants) {
  Expected<std::shared_ptr<const Bundle>> bundle =
      load(withVariants("zero", "fallback_count"));
  CHECK(bundle.ok());
  if (!bundle)
    return;
  const EntrySpec &entry = (*bundle)->getEntries()[0];
  // unified_max carries phi and threshold.
  CHECK_EQ(entry.softmax.phi, 0.5);
  CHECK_EQ(entry.softmax.threshold, 20.0);
  CHECK_EQ(entry.variants.size(), size_t(2));
  CHECK_EQ(entry.variants[0].name, std::string("two_kernel"));
  CHECK_EQ(entry.variants[1].name, std::string("single_launch"));
  CHECK(entry.variants[1].workspaceZeroInit);
  CHECK(!entry.variants[0].workspaceZeroInit);
  CHECK_EQ(entry.variants[1].fallbackCounter, 3);
  CHECK_EQ(entry.variants[0].fallbackCounter, -1);
  CHECK_EQ(entry.findVariant("two_kernel"), 0);
  CHECK_EQ(entry.findVariant("nope"), -1);
  // GQA (32 query heads over 8 KV heads): the two-kernel variant measured
  // faster and is the default.
  CHECK_EQ(getDefaultVariant(entry), size_t(0));
  Expected<Plan> byDefault = plan(entry, 4, 8192, 132, 0, 1);
  Expected<Plan> twoKernel = plan(entry, 4, 8192, 132);
  CHECK(byDefault.ok() && twoKernel.ok());
  if (!byDefault || !twoKernel)
    return;
  CHECK_EQ(byDefault->variant, 1);
  CHECK_EQ(twoKernel->variant, 0);
  // The counter follows partial_sum (594432 + 4608, 256-aligned).
  Expected<uint64_t> offset = getFallbackCounterOffset(entry, *byDefault);
  CHECK(offset.ok());
  if (offset)
    CHECK_EQ(*offset, uint64_t(599040));
  CHECK_EQ(byDefault->workspaceBytes, uint64_t(599044));
  CHECK_ERROR(getFallbackCounterOffset(entry, *twoKernel),
              "has no fallback counter: only unified-max entries have one");
  CHECK_ERROR(plan(entry, 4, 8192, 132, 0, 2), "has no variant 2 (it has 2)");
  // MHA: the single launch is the default.
  Expected<std::shared_ptr<const Bundle>> mha =
      load(REPLACE(withVariants("zero", "fallback_count"),
                   "\"num_kv_heads\": 8", "\"num_kv_heads\": 32"));
  CHECK(mha.ok());
  if (mha)
    CHECK_EQ(getDefaultVariant((*mha)->getEntries()[0]), size_t(1));
  // An entry without variants is its own only variant.
  std::shared_ptr<const Bundle> plain = fdtest::loadValid();
  CHECK_EQ(plain->getEntries()[0].variants.size(), size_t(1));
  CHECK_EQ(getDefaultVariant(plain->getEntries()[0]), size_t(0));
}

/// withVariants("zero", "fallback_count") whose second variant also has
/// phi and the score statistics, named by \p phi and \p stats.
static std::string withPhi(const std::string &phi, const std::string &stats) {
  std::string text =
      REPLACE(withVariants("zero", "fallback_count"),
              R"(, { "name": "fallback_count", "elem": "i32", "shape": [1] })",
              R"(, { "name": "fallback_count", "elem": "i32", "shape": [1] })"
              R"(, { "name": "phi", "elem": "f32", "shape": [1] })"
              R"(, { "name": "score_stats", "elem": "i32", "shape": [4] })");
  return REPLACE(
      text, "\"fallback_counter\": \"fallback_count\"",
      "\"fallback_counter\": \"fallback_count\", \"phi_buffer\": \"" + phi +
          "\", \"score_stats\": \"" + stats + "\"");
}

TEST(BundlePhiAndScoreStats) {
  Expected<std::shared_ptr<const Bundle>> bundle =
      load(withPhi("phi", "score_stats"));
  CHECK(bundle.ok());
  if (!bundle)
    return;
  const EntrySpec &entry = (*bundle)->getEntries()[0];
  CHECK_EQ(entry.variants[1].phiBuffer, 4);
  CHECK_EQ(entry.variants[1].scoreStats, 5);
  CHECK_EQ(entry.variants[0].phiBuffer, -1);
  Expected<Plan> single = plan(entry, 4, 8192, 132, 0, 1);
  Expected<Plan> twoKernel = plan(entry, 4, 8192, 132);
  CHECK(single.ok() && twoKernel.ok());
  if (!single || !twoKernel)
    return;
  // Each buffer 256-aligned after the counter (599040, 4 bytes).
  Expected<uint64_t> phi = getPhiOffset(entry, *single);
  Expected<uint64_t> stats = getScoreStatsOffset(entry, *single);
  CHECK(phi.ok() && stats.ok());
  if (phi && stats) {
    CHECK_EQ(*phi, uint64_t(599296));
    CHECK_EQ(*stats, uint64_t(599552));
  }
  CHECK_ERROR(getPhiOffset(entry, *twoKernel), "has no phi buffer");
  CHECK_ERROR(getScoreStatsOffset(entry, *twoKernel),
              "has no score statistics: only unified-max entries have one");
  CHECK_ERROR(load(withPhi("fallback_count", "score_stats")),
              "entries[0].variants[1].phi_buffer: phi_buffer "
              "'fallback_count' is not an f32 [1] workspace buffer");
  CHECK_ERROR(load(withPhi("phi", "phi")),
              "entries[0].variants[1].score_stats: score_stats 'phi' is not "
              "an i32 [4] workspace buffer");
  CHECK_ERROR(load(withPhi("phi", "partial_sum")),
              "score_stats 'partial_sum' is not an i32 [4] workspace buffer");
}

TEST(BundleProgrammaticLaunchFlag) {
  const std::string &v = fdtest::validManifest();
  // Absent: plain launches.
  Expected<std::shared_ptr<const Bundle>> plain = load(v);
  CHECK(plain.ok());
  if (plain)
    CHECK(!(*plain)->getEntries()[0].variants[0].kernels[0].pdl);
  // The partial kernel says it waits for the previous grid.
  std::string text = REPLACE(v, "\"static_smem\": 2048, \"dynamic_smem\": 0,",
                             "\"static_smem\": 2048, \"dynamic_smem\": 0, "
                             "\"pdl\": true,");
  Expected<std::shared_ptr<const Bundle>> bundle = load(text);
  CHECK(bundle.ok());
  if (bundle) {
    CHECK((*bundle)->getEntries()[0].variants[0].kernels[0].pdl);
    CHECK(!(*bundle)->getEntries()[0].variants[0].kernels[1].pdl);
  }
  CHECK_ERROR(load(REPLACE(text, "\"pdl\": true", "\"pdl\": 1")),
              "entries[0].kernels[0].pdl: expected bool");
}

TEST(BundleRejectsBadVariants) {
  CHECK_ERROR(load(withVariants("sometimes", "")),
              "entries[0].variants[1].workspace_init: unknown workspace_init "
              "'sometimes' (expected none or zero)");
  CHECK_ERROR(load(withVariants("zero", "partial_sum")),
              "entries[0].variants[1].fallback_counter: fallback_counter "
              "'partial_sum' is not an i32 [1] workspace buffer of the "
              "variant");
  CHECK_ERROR(load(withVariants("zero", "nothing")),
              "fallback_counter 'nothing' is not an i32 [1] workspace buffer");
  CHECK_ERROR(
      load(withVariants("zero", "", "two_kernel")),
      "entries[0].variants[1]: variant name 'two_kernel' is used twice");
  CHECK_ERROR(load(REPLACE(withVariants("zero", ""), "\"variants\": [",
                           "\"variants\": 3, \"x\": [")),
              "variants: expected array");
  CHECK_ERROR(
      load(REPLACE(withVariants("zero", ""),
                   "\"variants\": [{\"name\": \"two_kernel\", ",
                   "\"variants\": [\"two_kernel\", {\"name\": \"a\", ")),
      "entries[0].variants[0]: expected an object, found string");
}

TEST(BundleRejectsNonsenseValues) {
  const std::string &v = fdtest::validManifest();
  // q with its static sizes recorded, as fd-compile writes them.
  std::string sized =
      REPLACE(v, R"({ "kind": "memref", "bind": "q",    "elem": "f16", "rank": 3 })",
              R"({ "kind": "memref", "bind": "q",    "elem": "f16", "rank": 3, )"
              R"("sizes": [-1, 32, 128], "strides": [4096, 128, 1] })");
  CHECK_OK(load(sized));
  const RefusedManifest cases[] = {
      {REPLACE(v, "\"head_dim\": 128", "\"head_dim\": 96"),
       "entries[0].head_dim: head_dim 96 is not one the kernels are written "
       "for (64, 128 or 256)"},
      {REPLACE(v, "\"head_dim\": 128", "\"head_dim\": 1"),
       "entries[0].head_dim: head_dim 1 is not one"},
      {REPLACE(sized, "\"head_dim\": 128", "\"head_dim\": 64"),
       "entries[0].head_dim: head_dim 64 disagrees with the kernels: 'q' has "
       "static size 128 in dim 2"},
      {REPLACE(sized, "[-1, 32, 128]", "[-1, 16, 128]"),
       "entries[0].num_q_heads: num_q_heads 32 disagrees with the kernels: "
       "'q' has static size 16 in dim 1"},
      {REPLACE(v, "\"scale\": 0.08838834764831845", "\"scale\": 0"),
       "entries[0].scale: must be positive, found 0"},
      {REPLACE(v, "\"scale\": 0.08838834764831845", "\"scale\": -0.5"),
       "entries[0].scale: must be positive, found -0.5"},
      {REPLACE(fdtest::withVariants("zero", "fallback_count"), "\"phi\": 0.5",
               "\"phi\": 1e39"),
       "entries[0].softmax.phi: phi 1e+39 is outside the f32 range"},
      {REPLACE(fdtest::withVariants("zero", "fallback_count"),
               "\"threshold\": 20", "\"threshold\": 0"),
       "entries[0].softmax.threshold: threshold 0 is not in (0, 3.40282e+38]"},
      {REPLACE(fdtest::withVariants("zero", "fallback_count"),
               "\"threshold\": 20", "\"threshold\": -1e300"),
       "entries[0].softmax.threshold: threshold -1e+300 is not in"},
  };
  for (const RefusedManifest &c : cases)
    CHECK_ERROR(load(c.text), c.message);
}

TEST(BundleKernelsMustBeInThePtx) {
  const std::string &v = fdtest::validManifest();
  // PTX that declares some entries but not every kernel's symbol.
  CHECK_ERROR(load(REPLACE(v, ".entry fd_merge_online(", ".entry fd_other(")),
              "entries[0].kernels[1].symbol: module 'fd_attn_llama3' has no "
              ".entry 'fd_merge_online' (its entries: fd_partial_online, "
              "fd_other)");
  // PTX (it has .version and .target) that declares no entry at all.
  std::string empty = REPLACE(fdtest::withStubPtx(v), "\"ptx\": \"stub\"",
                              "\"ptx\": \".version 8.0\\n.target sm_90\\n"
                              ".address_size 64\\n\"");
  CHECK_ERROR(load(empty),
              "entries[0].kernels[0].symbol: module 'fd_attn_llama3' has no "
              ".entry 'fd_partial_online' (its PTX declares no .entry at "
              "all)");
  CHECK_ERROR(load(REPLACE(fdtest::withStubPtx(v), "\"ptx\": \"stub\"",
                           "\"ptx\": \".version 8.0\"")),
              "its PTX declares no .entry at all");
  // A hand-written stub (no PTX directives) is still not checked.
  CHECK_OK(load(fdtest::withStubPtx(v)));
}

TEST(BundleVariantNamesMatchTheirKernels) {
  std::string unified = fdtest::withVariants("zero", "fallback_count");
  std::string online = fdtest::withVariants("none", "", "unsplit");
  CHECK_OK(load(unified));
  CHECK_OK(load(online));
  const char *unifiedSoftmax =
      R"("softmax": { "kind": "unified_max", "phi": 0.5, "threshold": 20 })";
  const char *onlineSoftmax = R"("softmax": { "kind": "online" })";
  // A name outside the schema's variants.
  CHECK_ERROR(load(fdtest::withVariants("none", "", "fast")),
              "entries[0].variants[1].name: unknown variant name 'fast' "
              "(expected split, unsplit, split_cluster, two_kernel or single_launch)");
  // split_cluster's splits are its cluster's CTAs: an unclustered kernel
  // (or several) is refused.
  CHECK_ERROR(load(fdtest::withVariants("none", "", "split_cluster")),
              "entries[0].variants[1]: variant 'split_cluster' must be one "
              "kernel with a cluster of 2 or more CTAs along x only");
  // The one-launch online variant of sessions 14-15 was removed.
  CHECK_ERROR(load(fdtest::withVariants("zero", "", "split_fused")),
              "entries[0].variants[1].name: unknown variant name "
              "'split_fused'");
  // Unified-max variants on an online entry, and the reverse.
  CHECK_ERROR(load(REPLACE(unified, unifiedSoftmax, onlineSoftmax)),
              "entries[0].variants[0].name: variant 'two_kernel' is a "
              "unified-max launch but the entry's softmax is online");
  CHECK_ERROR(load(REPLACE(online, onlineSoftmax, unifiedSoftmax)),
              "entries[0].variants[0].name: variant 'split' is an "
              "online-softmax launch but the entry's softmax is "
              "unified_max");
  // A unified-max launch renamed to the online pair: its state buffers
  // give it away.
  std::string renamed =
      REPLACE(REPLACE(REPLACE(unified, unifiedSoftmax, onlineSoftmax),
                      "\"name\": \"two_kernel\"", "\"name\": \"split\""),
              "\"name\": \"single_launch\"", "\"name\": \"unsplit\"");
  CHECK_ERROR(load(renamed),
              "entries[0].variants[1]: variant 'unsplit' has the workspace "
              "buffer 'fallback_count' of a unified-max launch: its kernels "
              "are not an online-softmax unsplit launch");
  CHECK_ERROR(load(fdtest::withVariants("none", "partial_sum", "unsplit")),
              "entries[0].variants[1].fallback_counter: variant 'unsplit' is "
              "an online-softmax launch: only unified-max variants have "
              "'fallback_counter'");
  // A unified-max entry without variants: no zeroed workspace, no state.
  CHECK_ERROR(load(REPLACE(fdtest::validManifest(), onlineSoftmax,
                           unifiedSoftmax)),
              "entries[0]: a unified_max entry must list its launch variants "
              "(two_kernel, single_launch) in 'variants'");
}

TEST(BundleRejectsBadEntryNames) {
  const std::string &v = fdtest::validManifest();
  const char *name = "\"name\": \"llama3_decode\"";
  CHECK_ERROR(load(REPLACE(v, name, "\"name\": \"\\u0000\"")),
              "entries[0].name: contains the control character 0x00");
  CHECK_ERROR(load(REPLACE(v, name, "\"name\": \"llama\\u0000x\"")),
              "entries[0].name: contains the control character 0x00");
  CHECK_ERROR(load(REPLACE(v, name, "\"name\": \"a\\tb\"")),
              "entries[0].name: contains the control character 0x09");
  CHECK_ERROR(load(REPLACE(v, name, "\"name\": \"a\\u007f\"")),
              "entries[0].name: contains the control character 0x7f");
  CHECK_ERROR(load(REPLACE(v, "\"name\": \"fd_attn_llama3\"",
                           "\"name\": \"m\\n\"")),
              "modules[0].name: contains the control character 0x0a");
  CHECK_ERROR(load(REPLACE(fdtest::withVariants("none", "", "unsplit"),
                           "\"name\": \"unsplit\"", "\"name\": \"\"")),
              "entries[0].variants[1].name: must not be empty");
  // UTF-8 is fine.
  CHECK_OK(load(REPLACE(v, name, "\"name\": \"llama3_d\\u00e9code\"")));
}

TEST(BundleLoadRefusesWhatIsNotAFile) {
  // /dev/zero never ends: it used to be read until allocation failed.
  for (const std::string &path :
       {std::string("/dev/zero"), std::string(FD_TEST_INPUTS)}) {
    Expected<std::shared_ptr<const Bundle>> bundle = Bundle::loadFile(path);
    CHECK_ERROR(bundle, path + ": cannot read bundle: not a regular file");
    CHECK(bundle.getStatus().getCode() == ErrorCode::Io);
  }
  // A (sparse) file one byte over the limit is refused before reading.
  std::string big = "/tmp/fd-unittest-big-" + std::to_string(::getpid());
  {
    std::ofstream file(big);
  }
  CHECK_EQ(::truncate(big.c_str(), off_t(kMaxBundleBytes) + 1), 0);
  CHECK_ERROR(Bundle::loadFile(big), "bundle is 1073741825 bytes, more than "
                                     "the 1073741824 this runtime reads");
  std::remove(big.c_str());
  // The same limit in memory; the text is never read.
  char one = '{';
  CHECK_ERROR(Bundle::loadMemory(
                  std::string_view(&one, size_t(kMaxBundleBytes) + 1), "big"),
              "big: manifest is 1073741825 bytes, more than the 1073741824");
}
