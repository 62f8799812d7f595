//===- CApiTest.cpp - Tests of the C API without a GPU --------------------===//

#include "TestUtil.h"

#include "fd/Runtime/fd_runtime.h"

#include <cstddef>
#include <cstring>

static std::string lastError() { return fd_last_error(); }

static bool contains(const std::string &text, const std::string &part) {
  return text.find(part) != std::string::npos;
}

TEST(CApiLoadAndList) {
  const std::string &text = fdtest::validManifest();
  fd_bundle *bundle = nullptr;
  CHECK_EQ(fd_bundle_load_memory(text.data(), text.size(), &bundle), FD_OK);
  CHECK(bundle != nullptr);
  int32_t count = -1;
  CHECK_EQ(fd_bundle_entry_count(bundle, &count), FD_OK);
  CHECK_EQ(count, 1);
  const char *name = nullptr;
  CHECK_EQ(fd_bundle_entry_name(bundle, 0, &name), FD_OK);
  CHECK(name && std::strcmp(name, "llama3_decode") == 0);
  int32_t index = -1;
  CHECK_EQ(fd_bundle_find_entry(bundle, "llama3_decode", &index), FD_OK);
  CHECK_EQ(index, 0);

  CHECK_EQ(fd_bundle_entry_name(bundle, 1, &name), FD_ERROR_INVALID_ARGUMENT);
  CHECK(contains(lastError(), "entry index 1 is out of range (1 entries)"));
  CHECK_EQ(fd_bundle_find_entry(bundle, "nope", &index),
           FD_ERROR_INVALID_ARGUMENT);
  CHECK(contains(lastError(), "no entry named 'nope'"));
  fd_bundle_destroy(bundle);
  fd_bundle_destroy(nullptr);
}

TEST(CApiLoadFile) {
  fd_bundle *bundle = nullptr;
  std::string path = std::string(FD_TEST_INPUTS) + "/valid.fdb";
  CHECK_EQ(fd_bundle_load_file(path.c_str(), &bundle), FD_OK);
  fd_bundle_destroy(bundle);

  bundle = reinterpret_cast<fd_bundle *>(0x1);
  CHECK_EQ(fd_bundle_load_file("/nonexistent.fdb", &bundle), FD_ERROR_IO);
  CHECK(bundle == nullptr); // cleared on failure
  CHECK(contains(lastError(), "/nonexistent.fdb: cannot open bundle"));
  // A device is refused, not read until allocation fails.
  CHECK_EQ(fd_bundle_load_file("/dev/zero", &bundle), FD_ERROR_IO);
  CHECK(contains(lastError(), "/dev/zero: cannot read bundle: not a regular "
                              "file"));
}

TEST(CApiLoadErrors) {
  fd_bundle *bundle = nullptr;
  const char *garbage = "{\"format\": ";
  CHECK_EQ(fd_bundle_load_memory(garbage, std::strlen(garbage), &bundle),
           FD_ERROR_PARSE);
  CHECK(contains(lastError(), "<memory>: manifest is not valid JSON: line 1"));
  std::string v3 =
      REPLACE(fdtest::validManifest(), "\"version\": 2", "\"version\": 3");
  CHECK_EQ(fd_bundle_load_memory(v3.data(), v3.size(), &bundle),
           FD_ERROR_UNSUPPORTED);
  std::string bad =
      REPLACE(fdtest::validManifest(), "\"Hkv\", \"B\"", "\"Hkv\", \"Q\"");
  CHECK_EQ(fd_bundle_load_memory(bad.data(), bad.size(), &bundle),
           FD_ERROR_INVALID_BUNDLE);
  CHECK(contains(lastError(), "unknown symbol 'Q'"));
  CHECK_EQ(fd_bundle_load_memory(nullptr, 10, &bundle),
           FD_ERROR_INVALID_ARGUMENT);
  CHECK(contains(lastError(), "fd_bundle_load_memory: 'data' is NULL"));
  CHECK_EQ(fd_bundle_load_memory("{}", 2, nullptr), FD_ERROR_INVALID_ARGUMENT);
  CHECK_EQ(fd_bundle_load_file(nullptr, &bundle), FD_ERROR_INVALID_ARGUMENT);
  // Zero bytes is an empty manifest, not a crash.
  CHECK_EQ(fd_bundle_load_memory(nullptr, 0, &bundle), FD_ERROR_PARSE);
}

TEST(CApiPlan) {
  const std::string &text = fdtest::validManifest();
  fd_bundle *bundle = nullptr;
  CHECK_EQ(fd_bundle_load_memory(text.data(), text.size(), &bundle), FD_OK);
  fd_plan plan;
  std::memset(&plan, 0xff, sizeof(plan));
  CHECK_EQ(fd_bundle_plan(bundle, 0, 4, 8192, 132, 0, &plan), FD_OK);
  CHECK_EQ(plan.entry, 0);
  CHECK_EQ(plan.graph_safe, 0);
  CHECK_EQ(plan.batch, 4);
  CHECK_EQ(plan.max_len, 8192);
  CHECK_EQ(plan.sm_count, 132);
  CHECK_EQ(plan.num_splits, 9);
  CHECK_EQ(plan.chunk, 960);
  uint64_t bytes = 0;
  CHECK_EQ(fd_plan_workspace_size(&plan, &bytes), FD_OK);
  CHECK_EQ(bytes, 599040u);

  CHECK_EQ(fd_bundle_plan(bundle, 0, 8, 32768, 132, 1, &plan), FD_OK);
  CHECK_EQ(plan.graph_safe, 1);
  CHECK_EQ(plan.num_splits, 5);

  CHECK_EQ(fd_bundle_plan(bundle, 0, 0, 8192, 132, 0, &plan),
           FD_ERROR_INVALID_ARGUMENT);
  CHECK(contains(lastError(), "batch 0 is out of range"));
  CHECK_EQ(fd_bundle_plan(bundle, 3, 1, 8192, 132, 0, &plan),
           FD_ERROR_INVALID_ARGUMENT);
  CHECK_EQ(fd_bundle_plan(bundle, 0, 1, 8192, 132, 0, nullptr),
           FD_ERROR_INVALID_ARGUMENT);
  CHECK_EQ(fd_plan_workspace_size(nullptr, &bytes), FD_ERROR_INVALID_ARGUMENT);
  fd_bundle_destroy(bundle);
}

TEST(CApiEntryInfo) {
  const std::string &text = fdtest::validManifest();
  fd_bundle *bundle = nullptr;
  CHECK_EQ(fd_bundle_load_memory(text.data(), text.size(), &bundle), FD_OK);
  fd_entry_info info = {};
  info.size = sizeof(info);
  CHECK_EQ(fd_bundle_entry_info(bundle, 0, &info), FD_OK);
  CHECK_EQ(info.size, uint32_t(sizeof(info)));
  CHECK_EQ(info.dtype, int32_t(FD_DTYPE_F16));
  CHECK(info.op && std::strcmp(info.op, "decode_attention") == 0);
  CHECK(info.softmax && std::strcmp(info.softmax, "online") == 0);
  CHECK_EQ(info.num_q_heads, 32);
  CHECK_EQ(info.num_kv_heads, 8);
  CHECK_EQ(info.head_dim, 128);
  CHECK_EQ(info.page_size, 0);
  CHECK(info.scale > 0.0883 && info.scale < 0.0884);
  CHECK_EQ(info.lens_dtype, int32_t(FD_DTYPE_I32));
  CHECK_EQ(info.block_table_dtype, -1);
  CHECK_EQ(info.has_lse, 0);
  CHECK_EQ(info.gemm_n, 0);
  CHECK_EQ(info.gemm_out_dtype, -1);

  // An older caller's shorter struct: only its prefix is written.
  fd_entry_info prefix;
  std::memset(&prefix, 0x7f, sizeof(prefix));
  prefix.size = offsetof(fd_entry_info, num_q_heads);
  CHECK_EQ(fd_bundle_entry_info(bundle, 0, &prefix), FD_OK);
  CHECK(prefix.op && std::strcmp(prefix.op, "decode_attention") == 0);
  CHECK_EQ(prefix.num_q_heads, int64_t(0x7f7f7f7f7f7f7f7f));

  info.size = sizeof(info) + 8;
  CHECK_EQ(fd_bundle_entry_info(bundle, 0, &info), FD_ERROR_INVALID_ARGUMENT);
  CHECK(contains(lastError(), "info->size is " +
                                  std::to_string(sizeof(info) + 8) +
                                  ", expected sizeof(fd_entry_info)"));
  info.size = 0;
  CHECK_EQ(fd_bundle_entry_info(bundle, 0, &info), FD_ERROR_INVALID_ARGUMENT);
  info.size = sizeof(info);
  CHECK_EQ(fd_bundle_entry_info(bundle, 1, &info), FD_ERROR_INVALID_ARGUMENT);
  CHECK(contains(lastError(), "entry index 1 is out of range"));
  CHECK_EQ(fd_bundle_entry_info(bundle, 0, nullptr), FD_ERROR_INVALID_ARGUMENT);
  CHECK(contains(lastError(), "fd_bundle_entry_info: 'info' is NULL"));
  CHECK_EQ(fd_bundle_entry_info(nullptr, 0, &info), FD_ERROR_INVALID_ARGUMENT);
  fd_bundle_destroy(bundle);
}

TEST(CApiNoDevice) {
  const std::string &text = fdtest::validManifest();
  fd_bundle *bundle = nullptr;
  CHECK_EQ(fd_bundle_load_memory(text.data(), text.size(), &bundle), FD_OK);
  fd_executable *exe = reinterpret_cast<fd_executable *>(0x1);
  CHECK_EQ(fd_executable_create(bundle, 0, &exe), FD_ERROR_NO_DEVICE);
  CHECK(exe == nullptr);
  CHECK(contains(lastError(), "cannot load the CUDA driver"));
  // A successful call leaves the last error as it was.
  int32_t count;
  CHECK_EQ(fd_bundle_entry_count(bundle, &count), FD_OK);
  CHECK(contains(lastError(), "cannot load the CUDA driver"));
  CHECK_EQ(fd_executable_run(nullptr, nullptr, nullptr, nullptr, 0, nullptr),
           FD_ERROR_INVALID_ARGUMENT);
  CHECK(contains(lastError(), "fd_executable_run: 'executable' is NULL"));
  // The extras struct is versioned by its size: one larger than this header's
  // (or too small to hold the size) is refused before anything is read.
  fd_attention_extras extras = {};
  extras.size = sizeof(extras) + 8;
  CHECK_EQ(fd_executable_run_ex(nullptr, nullptr, nullptr, &extras, nullptr, 0,
                                nullptr),
           FD_ERROR_INVALID_ARGUMENT);
  CHECK(contains(lastError(), "fd_executable_run_ex: extras->size is " +
                                  std::to_string(sizeof(extras) + 8)));
  extras.size = 2;
  CHECK_EQ(fd_executable_run_ex(nullptr, nullptr, nullptr, &extras, nullptr, 0,
                                nullptr),
           FD_ERROR_INVALID_ARGUMENT);
  extras.size = sizeof(extras);
  CHECK_EQ(fd_executable_run_ex(nullptr, nullptr, nullptr, &extras, nullptr, 0,
                                nullptr),
           FD_ERROR_INVALID_ARGUMENT);
  CHECK(contains(lastError(), "fd_executable_run_ex: 'executable' is NULL"));
  CHECK_EQ(fd_executable_check_pages(nullptr, nullptr, nullptr, nullptr,
                                     nullptr),
           FD_ERROR_INVALID_ARGUMENT);
  CHECK(contains(lastError(),
                 "fd_executable_check_pages: 'executable' is NULL"));

  fd_executable_destroy(nullptr);
  fd_bundle_destroy(bundle);
}

TEST(CApiCodesMatchTheCppOnes) {
  CHECK_EQ(int(fd::rt::ErrorCode::InvalidBundle), FD_ERROR_INVALID_BUNDLE);
  CHECK_EQ(int(fd::rt::ErrorCode::NoDevice), FD_ERROR_NO_DEVICE);
  CHECK_EQ(int(fd::rt::ErrorCode::Internal), FD_ERROR_INTERNAL);
  CHECK_EQ(int(fd::rt::DType::BF16), FD_DTYPE_BF16);
  CHECK_EQ(int(fd::rt::DType::F64), FD_DTYPE_F64);
}

TEST(CApiVariants) {
  std::string text = fdtest::withVariants("zero", "fallback_count");
  fd_bundle *bundle = nullptr;
  CHECK_EQ(fd_bundle_load_memory(text.data(), text.size(), &bundle), FD_OK);
  int32_t count = 0;
  CHECK_EQ(fd_bundle_variant_count(bundle, 0, &count), FD_OK);
  CHECK_EQ(count, 2);
  const char *name = nullptr;
  CHECK_EQ(fd_bundle_variant_name(bundle, 0, 1, &name), FD_OK);
  CHECK(name && std::strcmp(name, "single_launch") == 0);
  CHECK_EQ(fd_bundle_variant_name(bundle, 0, 2, &name),
           FD_ERROR_INVALID_ARGUMENT);
  CHECK(contains(lastError(), "variant index 2 is out of range (2 variants)"));

  // GQA: planned for the two-kernel variant by default, which has no
  // counter; the single-launch plan has it at offset 599040.
  fd_plan plan;
  CHECK_EQ(fd_bundle_plan(bundle, 0, 4, 8192, 132, 0, &plan), FD_OK);
  CHECK_EQ(plan.variant, 0);
  uint64_t offset = 0;
  CHECK_EQ(fd_plan_fallback_counter_offset(bundle, &plan, &offset),
           FD_ERROR_INVALID_ARGUMENT);
  CHECK(contains(lastError(), "has no fallback counter"));
  plan.variant = 1;
  CHECK_EQ(fd_plan_fallback_counter_offset(bundle, &plan, &offset), FD_OK);
  CHECK_EQ(offset, 599040u);
  plan.variant = 7;
  CHECK_EQ(fd_plan_fallback_counter_offset(bundle, &plan, &offset),
           FD_ERROR_INVALID_ARGUMENT);
  CHECK(contains(lastError(), "plan variant 7 is out of range (entry "
                              "'llama3_decode' has 2)"));

  // Without an executable the device calls refuse cleanly.
  CHECK_EQ(fd_executable_plan_variant(nullptr, 0, 1, 1, 0, "two_kernel", &plan),
           FD_ERROR_INVALID_ARGUMENT);
  CHECK(contains(lastError(), "'executable' is NULL"));
  uint32_t rows = 0;
  CHECK_EQ(fd_executable_read_fallback_count(nullptr, &plan, nullptr, nullptr,
                                             &rows),
           FD_ERROR_INVALID_ARGUMENT);
  CHECK_EQ(fd_executable_init_workspace(nullptr, &plan, nullptr, 0, nullptr),
           FD_ERROR_INVALID_ARGUMENT);
  CHECK_EQ(fd_executable_reset_fallback_count(nullptr, &plan, nullptr, nullptr),
           FD_ERROR_INVALID_ARGUMENT);
  // The run-time phi calls: null outputs are named before anything else,
  // then the missing executable.
  CHECK_EQ(fd_executable_read_phi(nullptr, &plan, nullptr, nullptr, nullptr),
           FD_ERROR_INVALID_ARGUMENT);
  CHECK(contains(lastError(), "'phi' is NULL"));
  CHECK_EQ(
      fd_executable_read_score_stats(nullptr, &plan, nullptr, nullptr, nullptr),
      FD_ERROR_INVALID_ARGUMENT);
  CHECK(contains(lastError(), "'stats' is NULL"));
  CHECK_EQ(fd_executable_set_phi(nullptr, &plan, nullptr, 1.0f, nullptr),
           FD_ERROR_INVALID_ARGUMENT);
  CHECK(contains(lastError(), "'executable' is NULL"));
  fd_recentre_decision decision;
  CHECK_EQ(fd_executable_recentre_phi(nullptr, &plan, nullptr, nullptr, 1, 1e-3,
                                      &decision),
           FD_ERROR_INVALID_ARGUMENT);
  CHECK(contains(lastError(), "'executable' is NULL"));
  fd_bundle_destroy(bundle);
}

extern "C" int fdtest_c_header(void);

TEST(CHeaderIsC) {
  // Compiled as C (CHeader.c): refuses a null executable, returns 3.
  CHECK_EQ(fdtest_c_header(), 3);
  CHECK(contains(lastError(), "'phi' is NULL"));
}

TEST(CApiVariantTable) {
  fd_variant_table *table = reinterpret_cast<fd_variant_table *>(1);
  CHECK(fd_variant_table_load_file("/nonexistent/vt.txt", &table) != FD_OK);
  CHECK(table == nullptr);
  CHECK(contains(lastError(), "/nonexistent/vt.txt: cannot open variant "
                              "table"));
  CHECK_EQ(fd_variant_table_load_file(nullptr, &table),
           FD_ERROR_INVALID_ARGUMENT);
  CHECK_EQ(fd_executable_set_variant_table(nullptr, nullptr),
           FD_ERROR_INVALID_ARGUMENT);
  CHECK(contains(lastError(), "executable"));
  CHECK_EQ(fd_executable_plan_tokens(nullptr, 0, 1, 1, 0, 0, nullptr),
           FD_ERROR_INVALID_ARGUMENT);
  fd_variant_table_destroy(nullptr);
}

TEST(CApiShardedDecodeArguments) {
  // Every entry point refuses what it cannot use before touching NCCL or a
  // device, and says which argument.
  CHECK_EQ(fd_nccl_unique_id_create(nullptr), FD_ERROR_INVALID_ARGUMENT);
  CHECK(contains(lastError(), "fd_nccl_unique_id_create: 'id' is NULL"));
  fd_nccl_unique_id id = {};
  fd_communicator *comm = reinterpret_cast<fd_communicator *>(0x1);
  CHECK_EQ(fd_communicator_create(nullptr, &id, 2, 0, 10, &comm),
           FD_ERROR_INVALID_ARGUMENT);
  CHECK(contains(lastError(), "fd_communicator_create: 'executable' is NULL"));
  CHECK_EQ(fd_communicator_borrow(nullptr, nullptr, &comm),
           FD_ERROR_INVALID_ARGUMENT);
  CHECK(contains(lastError(), "fd_communicator_borrow: 'executable' is NULL"));
  int32_t rank = 0, world = 0;
  CHECK_EQ(fd_communicator_rank(nullptr, &rank, &world),
           FD_ERROR_INVALID_ARGUMENT);
  fd_sharded_decode *sharded = nullptr;
  fd_sharded_decode_options options = {};
  options.size = sizeof(options);
  CHECK_EQ(fd_sharded_decode_create(nullptr, 0, 1, nullptr, &options, &sharded),
           FD_ERROR_INVALID_ARGUMENT);
  CHECK(contains(lastError(), "fd_sharded_decode_create: 'executable' is NULL"));
  CHECK_EQ(fd_sharded_decode_run(nullptr, nullptr, nullptr, nullptr, nullptr, 0,
                                 nullptr),
           FD_ERROR_INVALID_ARGUMENT);
  CHECK(contains(lastError(), "fd_sharded_decode_run: 'sharded' is NULL"));
  fd_communicator_destroy(nullptr);
  fd_sharded_decode_destroy(nullptr);
  CHECK_EQ(sizeof(fd_nccl_unique_id), size_t(128));
}
