//===- VariantTableTest.cpp - Tests of measured variant choices -----------===//
#include "TestUtil.h"

#include "fd/Bundle/Schema.h"
#include "fd/Runtime/FlatGemm.h"
#include "fd/Runtime/Planner.h"
#include "fd/Runtime/ShippedVariantTables.h"
#include "fd/Runtime/VariantTable.h"

using namespace fd::rt;

namespace {
/// The test manifest's entry (32/8 heads, D 128, f16, online softmax) with
/// the launch variants "split" (0) and "unsplit" (1).
std::shared_ptr<const Bundle> loadSplitUnsplit() {
  std::string text = fdtest::withVariants("none", "", "unsplit");
  auto bundle = Bundle::loadMemory(text);
  CHECK_OK(bundle);
  return bundle ? *bundle : nullptr;
}
} // namespace

TEST(VariantTableParsesAndLooksUpTheNearest) {
  Expected<VariantTable> t = VariantTable::parse(R"(
# a comment line, then measurements
32 8 128 f16 online 1 1024 unsplit   # trailing comment
32 8 128 f16 online 1 131072 split
32 8 128 f16 online 64 2048 unsplit
32 8 128 f16 online 8 8192 single_launch
32 32 128 f16 online 1 1024 split
32 8 128 bf16 online 1 1024 split
32 8 128 f16 unified_max 1 1024 split
)");
  CHECK_OK(t);
  auto bundle = loadSplitUnsplit();
  if (!t || !bundle)
    return;
  CHECK_EQ(t->getRows().size(), size_t(7));
  const EntrySpec &entry = bundle->getEntries()[0];
  // Nearest in octaves of B and L among this shape's lines; the line naming
  // a variant the entry lacks (single_launch) and other shapes never match.
  CHECK(t->lookup(entry, 1, 1024) == std::optional<size_t>(1));
  CHECK(t->lookup(entry, 1, 2048) == std::optional<size_t>(1));
  CHECK(t->lookup(entry, 1, 65536) == std::optional<size_t>(0));
  CHECK(t->lookup(entry, 32, 2048) == std::optional<size_t>(1));
  CHECK(t->lookup(entry, 8, 8192) == std::nullopt); // single_launch only
  // Past a factor of 2 in B or in L from every line: no measurement applies.
  CHECK(t->lookup(entry, 1, 16384) == std::nullopt);
  CHECK(t->lookup(entry, 4, 1024) == std::nullopt);
  CHECK(t->lookup(entry, 2, 2048) == std::optional<size_t>(1));

  // The planner takes the table's choice before its own rule: by the rule,
  // B = 1 L = 1024 splits (8 CTAs fill nothing); the table says unsplit.
  PlanRequest request;
  request.batch = 1, request.maxLen = 1024, request.smCount = 132;
  request.residentCtasPerSm = {4, 4};
  Expected<PlanChoice> rule = choosePlan(entry, request);
  CHECK(rule && rule->variant == 0);
  request.variantTable = std::make_shared<const VariantTable>(t.take());
  Expected<PlanChoice> measured = choosePlan(entry, request);
  CHECK(measured && measured->variant == 1);
  CHECK(measured && measured->split && measured->split->numSplits == 1);
  // A ragged batch (fewer real tokens than B x L) is planned by the rules:
  // the table's lines are measurements of equal lengths.
  request.batch = 2, request.totalTokens = 1500;
  Expected<PlanChoice> ragged = choosePlan(entry, request);
  CHECK(ragged && ragged->variant == 0);
  request.totalTokens = 2048; // equal lengths: the table again
  Expected<PlanChoice> uniform = choosePlan(entry, request);
  CHECK(uniform && uniform->variant == 1);
  request.batch = 1, request.totalTokens = 0;
  // An explicit variant still wins over the table.
  request.variant = 0;
  Expected<PlanChoice> explicitChoice = choosePlan(entry, request);
  CHECK(explicitChoice && explicitChoice->variant == 0);
}

TEST(VariantTableRoundTripsAndReplaces) {
  VariantTable t;
  t.add({32, 8, 128, DType::F16, "online", 1, 4096, "split"});
  t.add({32, 8, 128, DType::F16, "online", 1, 4096, "unsplit"});
  t.add({32, 32, 256, DType::BF16, "unified_max", 8, 512, "single_launch"});
  CHECK_EQ(t.getRows().size(), size_t(2));
  Expected<VariantTable> back = VariantTable::parse(t.toString());
  CHECK_OK(back);
  if (back) {
    CHECK_EQ(back->getRows().size(), size_t(2));
    CHECK(back->getRows()[0].variant == "unsplit");
    CHECK(back->getRows()[1].dtype == DType::BF16);
    CHECK(back->toString() == t.toString());
  }
}

TEST(VariantTableRejectsBadLines) {
  CHECK_ERROR(VariantTable::parse("32 8 128 f16 online 1 1024", "t.txt"),
              "t.txt:1: expected '<Hq> <Hkv> <D> <dtype> <softmax> <B> <L> "
              "<variant>'");
  CHECK_ERROR(VariantTable::parse("\n32 8 128 f16 online 1 1024 split x"),
              "<table>:2: expected");
  CHECK_ERROR(VariantTable::parse("32 7 128 f16 online 1 1024 split"),
              "Hkv must divide Hq");
  CHECK_ERROR(VariantTable::parse("32 8 0 f16 online 1 1024 split"),
              "D must be in [1, 1024]");
  CHECK_ERROR(VariantTable::parse("32 8 128 f32 online 1 1024 split"),
              "dtype 'f32' is not f16 or bf16");
  CHECK_ERROR(VariantTable::parse("32 8 128 f16 exact 1 1024 split"),
              "softmax 'exact' is not online or unified_max");
  CHECK_ERROR(VariantTable::parse("32 8 128 f16 online 0 1024 split"),
              "B must be in [1, 65535]");
  CHECK_ERROR(VariantTable::parse("32 8 128 f16 online 1 -5 split"),
              "L must be in [1, 2147483647]");
  CHECK_ERROR(VariantTable::loadFile("/nonexistent/table.txt"),
              "/nonexistent/table.txt: cannot open variant table");
}

TEST(TablesRefuseWhatIsNotAFile) {
  // Both tables are read whole: a device would be read without end.
  CHECK_ERROR(VariantTable::loadFile("/dev/zero"),
              "/dev/zero: cannot read variant table: not a regular file");
  CHECK_ERROR(DispatchTable::loadFile("/dev/zero"),
              "/dev/zero: cannot read dispatch table: not a regular file");
  CHECK_ERROR(VariantTable::loadFile("/nonexistent/t.txt"),
              "/nonexistent/t.txt: cannot open variant table: No such file");
}

TEST(ShippedVariantTablesParseAndMatchByModel) {
  // Every shipped table parses (a bad one is reported by the runtime and
  // unused, so it would otherwise go unnoticed), names only variants fd
  // builds, and is matched by the model in the device's name.
  for (const char *device : {"NVIDIA H100 80GB HBM3", "NVIDIA H200"}) {
    std::shared_ptr<const VariantTable> t = getShippedVariantTable(device);
    if (!t)
      continue;
    CHECK(!t->getRows().empty());
    for (const VariantTable::Row &row : t->getRows())
      CHECK(fdb::variant::isKnown(row.variant));
  }
  CHECK(getShippedVariantTable("NVIDIA A100-SXM4-80GB") == nullptr);
  CHECK(getShippedVariantTable("") == nullptr);
  // The models listed are exactly those with a table.
  std::string models = getShippedVariantModels();
  CHECK_EQ(getShippedVariantTable("NVIDIA H100 80GB HBM3") != nullptr,
           models.find("H100") != std::string::npos);
  CHECK_EQ(getShippedVariantTable("NVIDIA H200") != nullptr,
           models.find("H200") != std::string::npos);
}
