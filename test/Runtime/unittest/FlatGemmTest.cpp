//===- FlatGemmTest.cpp - flat_gemm entries, dispatch and validation ------===//

#include "TestUtil.h"

#include "fd/Runtime/Cublas.h"
#include "fd/Runtime/FlatGemm.h"
#include "fd/Runtime/Launch.h"
#include "fd/Runtime/ShippedDispatchTables.h"
#include "fd/Runtime/fd_runtime.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <unistd.h>
#include <utility>

using namespace fd::rt;

namespace {
/// A flat_gemm entry as fd-compile writes it ([N, K] = [4096, 4096], f16,
/// no bias), with a stub PTX.
std::string gemmManifest() {
  auto kernel = [](const std::string &role, const std::string &grid,
                   int64_t mTile, int64_t smem) {
    return R"({"symbol": "proj_flat_gemm_)" + role +
           R"(", "module": "fd_kernels", "role": ")" + role + R"(", "grid": )" +
           grid +
           R"(, "block": [128, 1, 1], "static_smem": 0, "dynamic_smem": )" +
           std::to_string(smem) + R"(, "m_tile": )" + std::to_string(mTile) +
           R"(, "args": [
        {"kind": "memref", "bind": "x", "elem": "f16", "rank": 2},
        {"kind": "memref", "bind": "w", "elem": "f16", "rank": 2},
        {"kind": "memref", "bind": "y", "elem": "f16", "rank": 2}]})";
  };
  return R"({"format": "fd-bundle", "version": 2, "producer": "test",
  "modules": [{"name": "fd_kernels", "chip": "sm_90", "features": "+ptx80",
               "ptx": "stub"}],
  "entries": [{"name": "proj", "op": "flat_gemm", "dtype": "f16",
    "n": 4096, "k": 4096, "has_bias": false, "out_dtype": "f16",
    "dispatch": [{"max_m": 1, "kernel": "gemv"}, {"max_m": 8, "kernel": "mma_m8"},
                 {"max_m": 16, "kernel": "mma_m16"}, {"kernel": "mma_m32"}],
    "kernels": [)" +
         kernel("gemv", R"([1024, "M"])", 1, 0) + ",\n" +
         kernel("mma_m8", R"([128, 1, "MT"])", 8, 43520) + ",\n" +
         kernel("mma_m16", R"([128, 1, "MT"])", 16, 52224) + ",\n" +
         kernel("mma_m32", R"([128, 1, "MT"])", 32, 69632) + "]}]}";
}

std::shared_ptr<const Bundle> loadGemm(const std::string &text) {
  auto b = Bundle::loadMemory(text, "gemm.fdb");
  CHECK_OK(b);
  return b ? b.take() : nullptr;
}

const std::string &role(const EntrySpec &e, Expected<size_t> i) {
  static const std::string none = "<error>";
  return i ? e.gemm.kernels[*i].role : none;
}

/// Fake device pointers: only their alignment is ever looked at.
void *fakePointer(uintptr_t address) {
  return reinterpret_cast<void *>(address);
}

/// gemmManifest() with has_bias and a bias argument on every kernel.
std::string biasManifest() {
  std::string text =
      REPLACE(gemmManifest(), R"("has_bias": false)", R"("has_bias": true)");
  const std::string yArg = R"({"kind": "memref", "bind": "y")";
  const std::string biasArg =
      R"({"kind": "memref", "bind": "bias", "elem": "f16", "rank": 1}, )";
  for (size_t pos = text.find(yArg); pos != std::string::npos;
       pos = text.find(yArg, pos + biasArg.size() + yArg.size()))
    text.insert(pos, biasArg);
  return text;
}

FlatGemmArgs goodArgs(int64_t m) {
  FlatGemmArgs a;
  a.x = makeTensorRef(fakePointer(0x10000), DType::F16, {m, 4096});
  a.w = makeTensorRef(fakePointer(0x20000), DType::F16, {4096, 4096});
  a.y = makeTensorRef(fakePointer(0x30000), DType::F16, {m, 4096});
  return a;
}
} // namespace

TEST(flatGemmEntryLoads) {
  auto bundle = loadGemm(gemmManifest());
  if (!bundle)
    return;
  const EntrySpec &e = bundle->getEntries()[0];
  CHECK(e.op == OpKind::FlatGemm);
  CHECK_EQ(e.gemm.n, 4096);
  CHECK_EQ(e.gemm.k, 4096);
  CHECK(!e.gemm.hasBias);
  CHECK_EQ(e.gemm.kernels.size(), size_t(4));
  CHECK_EQ(e.gemm.kernels[1].mTile, 8);
  CHECK_EQ(e.gemm.kernels[3].dynamicSmem, 69632);
  CHECK(e.gemm.kernels[0].args[0].source == ArgSource::X);
  CHECK(e.gemm.kernels[0].args[2].source == ArgSource::Y);
}

TEST(flatGemmEntryErrors) {
  std::string m = gemmManifest();
  CHECK_ERROR(
      Bundle::loadMemory(
          REPLACE(m, R"("role": "mma_m16")", R"("role": "tiles")")),
      "has role 'tiles' (expected gemv, mma_m<rows> or direct_m<rows>)");
  CHECK_ERROR(Bundle::loadMemory(
                  REPLACE(m, R"("role": "mma_m16")", R"("role": "mma_m8")")),
              "two flat_gemm kernels have role 'mma_m8'");
  CHECK_ERROR(Bundle::loadMemory(REPLACE(m, R"(, "m_tile": 8)", "")),
              "lacks 'm_tile'");
  CHECK_ERROR(Bundle::loadMemory(
                  REPLACE(m, R"("has_bias": false)", R"("has_bias": true)")),
              "must bind x, w and y and bias (has_bias is true)");
  CHECK_ERROR(
      Bundle::loadMemory(REPLACE(m, R"("bind": "x")", R"("bind": "q")")),
      "unknown flat_gemm memref binding 'q'");
  CHECK_ERROR(Bundle::loadMemory(REPLACE(m, R"("out_dtype": "f16")",
                                         R"("out_dtype": "bf16")")),
              "out_dtype must be the entry dtype or f32");
  CHECK_ERROR(Bundle::loadMemory(REPLACE(m, R"("k": 4096)", R"("k": 4100)")),
              "is not a multiple of 8");
  // The dispatch rules: increasing bounds, only the last without one, each
  // naming a kernel of the entry; the old {m1, m2} object is refused.
  CHECK_ERROR(Bundle::loadMemory(
                  REPLACE(m, R"("max_m": 16,)", R"("max_m": 8,)")),
              "max_m 8 does not increase on the rule before (8)");
  CHECK_ERROR(Bundle::loadMemory(REPLACE(m, R"({"max_m": 8, "kernel": "mma_m8"})",
                                         R"({"kernel": "mma_m8"})")),
              "entries[0].dispatch[1]: missing required field 'max_m'");
  CHECK_ERROR(Bundle::loadMemory(
                  REPLACE(m, R"("max_m": 1, )", R"("max_m": 0, )")),
              "max_m");
  CHECK_ERROR(Bundle::loadMemory(REPLACE(m, R"({"kernel": "mma_m32"})",
                                         R"({"kernel": "mma_m64"})")),
              "dispatch rule names the kernel 'mma_m64', which the entry does "
              "not have (its kernels: gemv, mma_m8, mma_m16, mma_m32)");
  CHECK_ERROR(Bundle::loadMemory(REPLACE(
                  m, R"("dispatch": [{"max_m": 1, "kernel": "gemv"}, )",
                  R"("dispatch": {"m1": 1, "m2": 16}, "x": [)")),
              "dispatch");
  CHECK_ERROR(Bundle::loadMemory(REPLACE(m, R"("n": 4096, )", "")),
              "missing required field 'n'");
  // y must have the out_dtype.
  CHECK_ERROR(Bundle::loadMemory(
                  REPLACE(m, R"("out_dtype": "f16")", R"("out_dtype": "f32")")),
              "memref 'y' has element type f16, expected f32");
  CHECK_ERROR(Bundle::loadMemory(REPLACE(m, R"("grid": [128, 1, "MT"])",
                                         R"("grid": [128, 1, "MX"])")),
              "unknown symbol 'MX'");
}

/// gemmManifest with mma_m32 as a wide kernel split over a cluster of 2
/// CTAs along grid y, and (when \p ptxCluster is not empty) a PTX module
/// that declares every kernel, mma_m32 with `.reqnctapercluster
/// <ptxCluster>`.
std::string clusterManifest(const std::string &ptxCluster = "") {
  std::string m = gemmManifest();
  m = REPLACE(m, R"("role": "mma_m32", "grid": [128, 1, "MT"])",
              R"("role": "mma_m32", "grid": [64, 2, "MT"])");
  m = REPLACE(m, R"("m_tile": 32)", R"("m_tile": 32, "cluster": [1, 2, 1])");
  if (ptxCluster.empty())
    return m;
  std::string ptx = ".version 8.0\\n.target sm_90\\n.address_size 64\\n";
  for (const char *role : {"gemv", "mma_m8", "mma_m16", "mma_m32"}) {
    ptx += std::string(".visible .entry proj_flat_gemm_") + role + "(\\n";
    for (int i = 0; i < 21; ++i)
      ptx += std::string("\\t.param .u64 p") + std::to_string(i) +
             (i + 1 < 21 ? ",\\n" : "\\n");
    ptx += ")\\n.maxntid 128, 1, 1\\n";
    if (std::string(role) == "mma_m32")
      ptx += ".explicitcluster\\n.reqnctapercluster " + ptxCluster + "\\n";
    ptx += "{\\n\\tret;\\n}\\n";
  }
  return REPLACE(m, R"("ptx": "stub")", "\"ptx\": \"" + ptx + "\"");
}

TEST(flatGemmClusterKernel) {
  auto bundle = loadGemm(clusterManifest());
  if (bundle) {
    const KernelSpec &k = bundle->getEntries()[0].gemm.kernels[3];
    CHECK(k.hasCluster());
    CHECK(k.cluster == (std::array<uint32_t, 3>{1, 2, 1}));
    CHECK(!bundle->getEntries()[0].gemm.kernels[2].hasCluster());
  }
  // The PTX's .reqnctapercluster must say the same.
  CHECK_OK(Bundle::loadMemory(clusterManifest("1, 2, 1")));
  CHECK_ERROR(Bundle::loadMemory(clusterManifest("1, 4, 1")),
              "entries[0].kernels[3].cluster: [1, 2, 1] but the PTX .entry "
              "proj_flat_gemm_mma_m32 declares .reqnctapercluster 1, 4, 1");
  CHECK_ERROR(Bundle::loadMemory(clusterManifest("2")),
              "declares .reqnctapercluster 2, 1, 1");
  std::string m = clusterManifest();
  CHECK_ERROR(Bundle::loadMemory(REPLACE(clusterManifest("1, 2, 1"),
                                         R"(, "cluster": [1, 2, 1])", "")),
              "entries[0].kernels[3]: the PTX .entry proj_flat_gemm_mma_m32 "
              "declares a .reqnctapercluster, but the kernel has no 'cluster'");
  // Every grid extent must be whole clusters, for every M.
  CHECK_ERROR(Bundle::loadMemory(
                  REPLACE(m, R"("grid": [64, 2, "MT"])", R"("grid": [64, 3, "MT"])")),
              "entries[0].kernels[3].cluster: grid extent 1 ('3') is not a "
              "multiple of the cluster's 2");
  auto withCluster = [&](const char *cluster) {
    return Bundle::loadMemory(
        REPLACE(m, R"("cluster": [1, 2, 1])",
                std::string(R"("cluster": )") + cluster));
  };
  CHECK_ERROR(withCluster("[1, 1, 2]"),
              "grid extent 2 ('MT') is not a multiple of the cluster's 2");
  CHECK_ERROR(withCluster("[1, 2]"),
              "entries[0].kernels[3].cluster: expected 3 extents, found 2");
  CHECK_ERROR(withCluster("[1, 32, 1]"),
              "entries[0].kernels[3].cluster[1]: expected an integer in [1, 16]");
  CHECK_ERROR(withCluster("[1, 0, 1]"), "expected an integer in [1, 16]");
  CHECK_ERROR(withCluster("[4, 2, 4]"),
              "32 CTAs per cluster, more than sm_90's 16");
  CHECK_ERROR(withCluster(R"("2")"), "cluster");
}

TEST(flatGemmDefaultDispatch) {
  auto bundle = loadGemm(gemmManifest());
  if (!bundle)
    return;
  const EntrySpec &e = bundle->getEntries()[0];
  auto pick = [&](int64_t m) {
    return role(e, selectFlatGemmKernel(e, m, nullptr));
  };
  CHECK_EQ(pick(0), std::string("gemv"));
  CHECK_EQ(pick(1), std::string("gemv"));
  for (int64_t m = 2; m <= 8; ++m)
    CHECK_EQ(pick(m), std::string("mma_m8"));
  CHECK_EQ(pick(9), std::string("mma_m16"));
  CHECK_EQ(pick(16), std::string("mma_m16"));
  // Past the last bound: the last rule's kernel.
  CHECK_EQ(pick(17), std::string("mma_m32"));
  CHECK_EQ(pick(1000), std::string("mma_m32"));
  CHECK_ERROR(selectFlatGemmKernel(e, -1, nullptr), "negative");

  // The rules come from the manifest.
  auto wide = loadGemm(REPLACE(gemmManifest(), R"("max_m": 1,)", R"("max_m": 4,)"));
  if (wide) {
    const EntrySpec &w = wide->getEntries()[0];
    CHECK_EQ(role(w, selectFlatGemmKernel(w, 4, nullptr)), std::string("gemv"));
    CHECK_EQ(role(w, selectFlatGemmKernel(w, 5, nullptr)),
             std::string("mma_m8"));
  }
}

TEST(flatGemmDispatchWithoutRules) {
  // A manifest without "dispatch": the kernel with the smallest m_tile that
  // holds M, the largest beyond; direct tiles count like ring tiles, and a
  // table may still name any kernel.
  std::string ring = R"(, "m_tile": 32, "args")";
  std::string direct =
      REPLACE(REPLACE(REPLACE(gemmManifest(), R"("role": "mma_m16")",
                              R"("role": "direct_m16")"),
                      R"(proj_flat_gemm_mma_m16)", "proj_flat_gemm_direct_m16"),
              R"("role": "mma_m32")", R"("role": "direct_m64")");
  direct = REPLACE(direct, ring, R"(, "m_tile": 64, "args")");
  std::string rules =
      R"("dispatch": [{"max_m": 1, "kernel": "gemv"}, {"max_m": 8, "kernel": "mma_m8"},
                 {"max_m": 16, "kernel": "mma_m16"}, {"kernel": "mma_m32"}],)";
  direct = REPLACE(direct, rules, "");
  auto bundle = loadGemm(direct);
  if (!bundle)
    return;
  const EntrySpec &e = bundle->getEntries()[0];
  CHECK(e.gemm.dispatch.empty());
  auto pick = [&](int64_t m) {
    return role(e, selectFlatGemmKernel(e, m, nullptr));
  };
  CHECK_EQ(pick(1), std::string("gemv"));
  for (int64_t m = 2; m <= 8; ++m)
    CHECK_EQ(pick(m), std::string("mma_m8"));
  CHECK_EQ(pick(9), std::string("direct_m16"));
  CHECK_EQ(pick(16), std::string("direct_m16"));
  CHECK_EQ(pick(17), std::string("direct_m64"));
  CHECK_EQ(pick(1000), std::string("direct_m64"));
  auto table = DispatchTable::parse("4096 4096 f16 4:mma_m8 16:direct_m64\n");
  CHECK_OK(table);
  if (table) {
    CHECK_EQ(role(e, selectFlatGemmKernel(e, 2, &*table)),
             std::string("mma_m8"));
    CHECK_EQ(role(e, selectFlatGemmKernel(e, 16, &*table)),
             std::string("direct_m64"));
  }
}

TEST(flatGemmDispatchTable) {
  auto bundle = loadGemm(gemmManifest());
  if (!bundle)
    return;
  const EntrySpec &e = bundle->getEntries()[0];
  auto table = DispatchTable::parse("# measured\n"
                                    "4096 4096 f16 3:gemv 12:mma_m16 # x\n"
                                    "\n"
                                    "4096 11008 f16 1:gemv 64:mma_m8\n");
  CHECK_OK(table);
  if (!table)
    return;
  CHECK_EQ(table->getShapes().size(), size_t(2));
  auto pick = [&](int64_t m) {
    return role(e, selectFlatGemmKernel(e, m, &*table));
  };
  CHECK_EQ(pick(1), std::string("gemv"));
  CHECK_EQ(pick(3), std::string("gemv"));
  CHECK_EQ(pick(4), std::string("mma_m16"));
  CHECK_EQ(pick(12), std::string("mma_m16"));
  CHECK_EQ(pick(100), std::string("mma_m16")); // past the last rule
  // Round trip through the file format.
  auto again = DispatchTable::parse(table->toString());
  CHECK_OK(again);
  if (again)
    CHECK_EQ(again->toString(), table->toString());
  // A shape without a line falls back to the thresholds.
  DispatchTable other;
  other.set(1, 8, DType::F16, {{4, "gemv"}});
  CHECK_EQ(role(e, selectFlatGemmKernel(e, 4, &other)), std::string("mma_m8"));
  // A variant the bundle lacks is an error, not a silent fallback.
  DispatchTable stale;
  stale.set(4096, 4096, DType::F16, {{8, "mma_m64"}});
  CHECK_ERROR(selectFlatGemmKernel(e, 2, &stale),
              "dispatch table: entry 'proj' has no GEMM kernel 'mma_m64' (its "
              "kernels: gemv, mma_m8, mma_m16, mma_m32, and cublas)");

  CHECK_ERROR(DispatchTable::parse("4096 4096 f16\n", "t.txt"),
              "t.txt:1: no rules");
  CHECK_ERROR(DispatchTable::parse("\n4096 4096 f32 1:gemv\n", "t.txt"),
              "t.txt:2: dtype 'f32' is not f16 or bf16");
  CHECK_ERROR(DispatchTable::parse("4096 4096 f16 8:gemv 4:mma_m8\n"),
              "maxM must increase");
  CHECK_ERROR(DispatchTable::parse("4096 4096 f16 x:gemv\n"),
              "is not <maxM>:<variant>");
  CHECK_ERROR(DispatchTable::parse("4096 4096 f16 0:gemv\n"),
              "is not <maxM>:<variant>");
  CHECK_ERROR(DispatchTable::parse("4096 4096 f16 1:gemv\n"
                                   "4096 4096 f16 2:gemv\n"),
              "a second line");
  CHECK_ERROR(DispatchTable::parse("4096\n"), "expected '<n> <k> <dtype>");
  CHECK_ERROR(DispatchTable::loadFile("/nonexistent/table.txt"),
              "cannot open dispatch table");
}

TEST(flatGemmArgValidation) {
  auto bundle = loadGemm(gemmManifest());
  if (!bundle)
    return;
  const EntrySpec &e = bundle->getEntries()[0];
  auto m = validateFlatGemmArgs(e, goodArgs(13));
  CHECK_OK(m);
  if (m)
    CHECK_EQ(*m, 13);
  CHECK_OK(validateFlatGemmArgs(e, goodArgs(0)));

  FlatGemmArgs a = goodArgs(4);
  a.w.sizes[0] = 4095;
  CHECK_ERROR(validateFlatGemmArgs(e, a),
              "argument 'w': shape [4095, 4096], expected [4096, 4096]");
  a = goodArgs(4);
  a.y.sizes[0] = 5;
  CHECK_ERROR(validateFlatGemmArgs(e, a), "argument 'y': shape [5, 4096]");
  a = goodArgs(4);
  a.x.strides[0] = 8192;
  CHECK_ERROR(validateFlatGemmArgs(e, a),
              "argument 'x': must be contiguous row-major");
  a = goodArgs(4);
  a.x.data = fakePointer(0x10008);
  CHECK_ERROR(validateFlatGemmArgs(e, a), "'x': data must be 16-byte aligned");
  a = goodArgs(4);
  a.w.dtype = DType::BF16;
  CHECK_ERROR(validateFlatGemmArgs(e, a), "'w': dtype bf16, expected f16");
  a = goodArgs(4);
  a.y.data = nullptr;
  CHECK_ERROR(validateFlatGemmArgs(e, a), "'y': data is null");
  a = goodArgs(4);
  a.bias = makeTensorRef(fakePointer(0x40000), DType::F16, {4096});
  CHECK_ERROR(validateFlatGemmArgs(e, a), "compiled without a bias");

  // An entry with a bias: it becomes required, with the entry's dtype.
  std::string text =
      REPLACE(gemmManifest(), R"("has_bias": false)", R"("has_bias": true)");
  const std::string yArg = R"({"kind": "memref", "bind": "y")";
  const std::string biasArg =
      R"({"kind": "memref", "bind": "bias", "elem": "f16", "rank": 1}, )";
  for (size_t pos = text.find(yArg); pos != std::string::npos;
       pos = text.find(yArg, pos + biasArg.size() + yArg.size()))
    text.insert(pos, biasArg);
  auto biased = loadGemm(text);
  if (!biased)
    return;
  const EntrySpec &be = biased->getEntries()[0];
  CHECK_ERROR(validateFlatGemmArgs(be, goodArgs(2)),
              "'bias': entry 'proj' was compiled with a bias, but none");
  a = goodArgs(2);
  a.bias = makeTensorRef(fakePointer(0x40000), DType::F16, {4095});
  CHECK_ERROR(validateFlatGemmArgs(be, a), "'bias': shape [4095]");
  a.bias.sizes[0] = 4096;
  CHECK_OK(validateFlatGemmArgs(be, a));
}

TEST(flatGemmGridAndParams) {
  auto bundle = loadGemm(gemmManifest());
  if (!bundle)
    return;
  const EntrySpec &e = bundle->getEntries()[0];
  auto g = flatGemmGrid(e.gemm.kernels[2], 17); // mma_m16: ceil(17/16) = 2
  CHECK_OK(g);
  if (g) {
    CHECK_EQ((*g)[0], 128u);
    CHECK_EQ((*g)[1], 1u);
    CHECK_EQ((*g)[2], 2u);
  }
  auto gv = flatGemmGrid(e.gemm.kernels[0], 5); // gemv: (N/4, M)
  CHECK_OK(gv);
  if (gv) {
    CHECK_EQ((*gv)[0], 1024u);
    CHECK_EQ((*gv)[1], 5u);
  }
  CHECK_ERROR(flatGemmGrid(e.gemm.kernels[0], 70000), "65535");

  KernelParams params;
  FlatGemmArgs a = goodArgs(3);
  CHECK_OK(packFlatGemmParams(e.gemm.kernels[1], a, params));
  CHECK_EQ(params.size(), size_t(3 * 7)); // three rank-2 memrefs
  CHECK_EQ(params.getSlot(0), uint64_t(0x10000));
  CHECK_EQ(params.getSlot(3), uint64_t(3));    // x size 0 = M
  CHECK_EQ(params.getSlot(5), uint64_t(4096)); // x stride 0
  CHECK_EQ(params.getSlot(7), uint64_t(0x20000));
  CHECK_EQ(params.getSlot(14), uint64_t(0x30000));
}

TEST(flatGemmCApi) {
  std::string text = gemmManifest();
  fd_bundle *bundle = nullptr;
  CHECK_EQ(fd_bundle_load_memory(text.data(), text.size(), &bundle), FD_OK);
  const char *variant = nullptr;
  CHECK_EQ(fd_bundle_flat_gemm_select(bundle, 0, 1, nullptr, &variant), FD_OK);
  CHECK(variant && std::strcmp(variant, "gemv") == 0);
  CHECK_EQ(fd_bundle_flat_gemm_select(bundle, 0, 12, nullptr, &variant), FD_OK);
  CHECK(variant && std::strcmp(variant, "mma_m16") == 0);
  fd_entry_info info = {};
  info.size = sizeof(info);
  CHECK_EQ(fd_bundle_entry_info(bundle, 0, &info), FD_OK);
  CHECK(info.op && std::strcmp(info.op, "flat_gemm") == 0);
  CHECK(info.softmax && std::strcmp(info.softmax, "") == 0);
  CHECK_EQ(info.dtype, int32_t(FD_DTYPE_F16));
  CHECK_EQ(info.gemm_n, 4096);
  CHECK_EQ(info.gemm_k, 4096);
  CHECK_EQ(info.gemm_has_bias, 0);
  CHECK_EQ(info.gemm_out_dtype, int32_t(FD_DTYPE_F16));
  CHECK_EQ(info.num_q_heads, 0);
  CHECK_EQ(info.lens_dtype, -1);
  CHECK_EQ(fd_bundle_flat_gemm_select(bundle, 3, 12, nullptr, &variant),
           FD_ERROR_INVALID_ARGUMENT);
  CHECK(std::strstr(fd_last_error(), "entry index 3 is out of range"));
  CHECK_EQ(fd_bundle_flat_gemm_select(bundle, 0, 12, nullptr, nullptr),
           FD_ERROR_INVALID_ARGUMENT);
  fd_dispatch_table *table = nullptr;
  CHECK_EQ(fd_dispatch_table_load_file("/nonexistent/t.txt", &table),
           FD_ERROR_IO);
  CHECK(table == nullptr);
  fd_dispatch_table_destroy(nullptr);
  CHECK_EQ(fd_dispatch_table_load_shipped(nullptr, &table),
           FD_ERROR_INVALID_ARGUMENT);
  CHECK(std::strstr(fd_last_error(), "'executable' is NULL"));
  CHECK(table == nullptr);
  CHECK_EQ(fd_executable_run_flat_gemm(nullptr, 0, nullptr, nullptr, nullptr,
                                       nullptr),
           FD_ERROR_INVALID_ARGUMENT);
  CHECK(std::strstr(fd_last_error(), "'executable' is NULL"));
  fd_bundle_destroy(bundle);
}

TEST(flatGemmCublasSelection) {
  auto bundle = loadGemm(gemmManifest());
  if (!bundle)
    return;
  const EntrySpec &e = bundle->getEntries()[0];
  // The parser takes "cublas" like any variant name; selection maps it to
  // the pseudo-variant although no kernel has that role.
  auto table = DispatchTable::parse("4096 4096 f16 16:mma_m16 64:cublas\n");
  CHECK_OK(table);
  if (!table)
    return;
  CHECK_EQ(table->toString().find("64:cublas") != std::string::npos, true);
  auto pick = [&](const EntrySpec &entry, int64_t m) {
    Expected<size_t> i = selectFlatGemmKernel(entry, m, &*table);
    return i ? gemmKernelName(entry, *i) : std::string("<error>");
  };
  CHECK_EQ(pick(e, 16), std::string("mma_m16"));
  CHECK_EQ(pick(e, 17), std::string("cublas"));
  CHECK_EQ(pick(e, 200), std::string("cublas")); // past the last rule
  auto forced = findGemmKernel(e, "cublas");
  CHECK_OK(forced);
  if (forced)
    CHECK_EQ(*forced, kCublasKernel);
  // The default selection never picks cublas.
  for (int64_t m : {1, 8, 32, 64, 1000})
    CHECK(*selectFlatGemmKernel(e, m, nullptr) != kCublasKernel);
  // An entry with a bias skips a cublas rule and uses its thresholds (m2 =
  // 16, so the largest ring tile for M = 40).
  auto biased = loadGemm(biasManifest());
  if (!biased)
    return;
  const EntrySpec &be = biased->getEntries()[0];
  CHECK_EQ(pick(be, 40), std::string("mma_m32"));
  CHECK_EQ(pick(be, 8), std::string("mma_m16"));

  // The C API reports the pseudo-variant by name.
  std::string path =
      std::string(std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp") +
      "/fd-cublas-table-" + std::to_string(::getpid()) + ".txt";
  { std::ofstream(path) << "4096 4096 f16 8:gemv 64:cublas\n"; }
  std::string text = gemmManifest();
  fd_bundle *cb = nullptr;
  fd_dispatch_table *ct = nullptr;
  CHECK_EQ(fd_bundle_load_memory(text.data(), text.size(), &cb), FD_OK);
  CHECK_EQ(fd_dispatch_table_load_file(path.c_str(), &ct), FD_OK);
  std::remove(path.c_str());
  const char *variant = nullptr;
  CHECK_EQ(fd_bundle_flat_gemm_select(cb, 0, 33, ct, &variant), FD_OK);
  CHECK(variant && std::strcmp(variant, "cublas") == 0);
  CHECK_EQ(fd_bundle_flat_gemm_select(cb, 0, 3, ct, &variant), FD_OK);
  CHECK(variant && std::strcmp(variant, "gemv") == 0);
  fd_dispatch_table_destroy(ct);
  fd_bundle_destroy(cb);
}

TEST(flatGemmCublasArgs) {
  auto bundle = loadGemm(gemmManifest());
  if (!bundle)
    return;
  const EntrySpec &e = bundle->getEntries()[0];
  auto g = planCublasFlatGemm(e, goodArgs(13));
  CHECK_OK(g);
  if (g) {
    CHECK_EQ(g->m, 13);
    CHECK_EQ(g->n, 4096);
    CHECK_EQ(g->k, 4096);
    CHECK_EQ(g->ldx, 4096);
    CHECK_EQ(g->ldw, 4096);
    CHECK_EQ(g->ldy, 4096);
    CHECK_EQ(g->abType, cublas::kR16F);
    CHECK_EQ(g->yType, cublas::kR16F);
    CHECK(g->x == fakePointer(0x10000));
    CHECK(g->w == fakePointer(0x20000));
    CHECK(g->y == fakePointer(0x30000));
  }
  CHECK_OK(planCublasFlatGemm(e, goodArgs(0)));

  // Row pitches the kernels refuse are fine for cuBLAS (x a column slice of
  // a wider buffer, y rows padded), and it needs only element alignment.
  FlatGemmArgs a = goodArgs(4);
  a.x.strides[0] = 8192;
  a.y.strides[0] = 4100;
  a.x.data = fakePointer(0x10002);
  CHECK_ERROR(validateFlatGemmArgs(e, a), "must be contiguous row-major");
  g = planCublasFlatGemm(e, a);
  CHECK_OK(g);
  if (g) {
    CHECK_EQ(g->ldx, 8192);
    CHECK_EQ(g->ldy, 4100);
  }
  // A single row's pitch is irrelevant: the leading dimension is its length.
  a = goodArgs(1);
  a.x.strides[0] = 7;
  g = planCublasFlatGemm(e, a);
  CHECK_OK(g);
  if (g)
    CHECK_EQ(g->ldx, 4096);

  a = goodArgs(4);
  a.x.strides[1] = 2;
  CHECK_ERROR(planCublasFlatGemm(e, a),
              "argument 'x': the cublas variant needs unit inner stride, but "
              "stride 1 is 2");
  a = goodArgs(4);
  a.w.strides[0] = 4095;
  CHECK_ERROR(planCublasFlatGemm(e, a),
              "argument 'w': the cublas variant needs a row stride of at least "
              "the row length 4096, but stride 0 is 4095");
  a = goodArgs(4);
  a.y.strides[0] = int64_t(1) << 32;
  CHECK_ERROR(planCublasFlatGemm(e, a), "argument 'y': row stride 4294967296");
  a = goodArgs(4);
  a.y.data = fakePointer(0x30001);
  CHECK_ERROR(planCublasFlatGemm(e, a), "'y': data must be 2-byte aligned");
  a = goodArgs(4);
  a.w.sizes[0] = 4095;
  CHECK_ERROR(planCublasFlatGemm(e, a),
              "argument 'w': shape [4095, 4096], expected [4096, 4096]");
  a = goodArgs(4);
  a.y.sizes[0] = 5;
  CHECK_ERROR(planCublasFlatGemm(e, a), "argument 'y': shape [5, 4096]");
  a = goodArgs(4);
  a.x.dtype = DType::BF16;
  CHECK_ERROR(planCublasFlatGemm(e, a), "'x': dtype bf16, expected f16");

  // Bias: given to a bias-free entry, or the entry has one.
  a = goodArgs(4);
  a.bias = makeTensorRef(fakePointer(0x40000), DType::F16, {4096});
  CHECK_ERROR(planCublasFlatGemm(e, a),
              "the cublas variant does not take a bias; entry 'proj' has none "
              "but one was given");
  auto biased = loadGemm(biasManifest());
  if (!biased)
    return;
  CHECK_ERROR(planCublasFlatGemm(biased->getEntries()[0], a),
              "the cublas variant does not take a bias; entry 'proj' adds one: "
              "run one of its own kernels (gemv, mma_m8, mma_m16, mma_m32)");

  // bf16 in, f32 out map onto CUDA_R_16BF / CUDA_R_32F.
  auto replaceAll = [](std::string text, const std::string &from,
                       const std::string &to) {
    for (size_t pos = text.find(from); pos != std::string::npos;
         pos = text.find(from, pos + to.size()))
      text.replace(pos, from.size(), to);
    return text;
  };
  std::string text =
      replaceAll(gemmManifest(), R"("elem": "f16")", R"("elem": "bf16")");
  text = REPLACE(text, R"("dtype": "f16")", R"("dtype": "bf16")");
  text = REPLACE(text, R"("out_dtype": "f16")", R"("out_dtype": "f32")");
  text = replaceAll(text, R"("bind": "y", "elem": "bf16")",
                    R"("bind": "y", "elem": "f32")");
  auto bf = loadGemm(text);
  if (!bf)
    return;
  a = goodArgs(2);
  a.x.dtype = a.w.dtype = DType::BF16;
  a.y.dtype = DType::F32;
  g = planCublasFlatGemm(bf->getEntries()[0], a);
  CHECK_OK(g);
  if (g) {
    CHECK_EQ(g->abType, cublas::kR16BF);
    CHECK_EQ(g->yType, cublas::kR32F);
  }
}

TEST(cublasLibraryLoading) {
  // FD_LIBCUBLAS replaces the default names; a missing file is an error
  // naming it and the variable, not a crash.
  const char *saved = std::getenv("FD_LIBCUBLAS");
  std::string savedValue = saved ? saved : "";
  unsetenv("FD_LIBCUBLAS");
  std::vector<std::string> defaults = cublasLibraryCandidates();
  CHECK_EQ(defaults.size(), size_t(2));
  if (defaults.size() == 2) {
    CHECK_EQ(defaults[0], std::string("libcublas.so.13"));
    CHECK_EQ(defaults[1], std::string("libcublas.so"));
  }
  setenv("FD_LIBCUBLAS", "/nonexistent/libcublas.so", 1);
  std::vector<std::string> candidates = cublasLibraryCandidates();
  CHECK_EQ(candidates.size(), size_t(1));
  auto missing = openCublas(candidates);
  CHECK_ERROR(missing, "cannot load cuBLAS (/nonexistent/libcublas.so: ");
  CHECK_ERROR(missing, "set FD_LIBCUBLAS to the path of libcublas");
  if (!missing)
    CHECK(missing.getStatus().getCode() == ErrorCode::Unsupported);
  if (saved)
    setenv("FD_LIBCUBLAS", savedValue.c_str(), 1);
  else
    unsetenv("FD_LIBCUBLAS");
  // A library that loads but is not cuBLAS: every candidate is reported.
  CHECK_ERROR(openCublas({"/nonexistent/a.so", "libc.so.6"}),
              "/nonexistent/a.so: ");
  CHECK_ERROR(openCublas({"/nonexistent/a.so", "libc.so.6"}),
              "libc.so.6: lacks cublasCreate_v2, cublasDestroy_v2");
  // Where CUDA's cuBLAS is installed (the build machines), it resolves.
  const char *installed = "/usr/local/cuda/lib64/libcublas.so.13";
  if (std::FILE *f = std::fopen(installed, "rb")) {
    std::fclose(f);
    auto real = openCublas({installed});
    CHECK_OK(real);
    if (real) {
      CHECK((*real)->cublasGemmEx != nullptr);
      CHECK((*real)->cublasSetWorkspace_v2 != nullptr);
      CHECK((*real)->cublasGetStatusName != nullptr);
    }
  }
}

TEST(flatGemmShippedTables) {
  // Every shipped table parses; H200 and H100 have their own (same chip
  // and SM count, not the same memory), other devices none.
  const DispatchTable *h200 = getShippedDispatchTable("NVIDIA H200");
  const DispatchTable *h100 = getShippedDispatchTable("NVIDIA H100 80GB HBM3");
  CHECK(h200 != nullptr);
  CHECK(h100 != nullptr);
  CHECK(h200 != h100);
  CHECK(getShippedDispatchTable("NVIDIA A100-SXM4-80GB") == nullptr);
  CHECK(getShippedDispatchTable("") == nullptr);
  if (!h200 || !h100)
    return;
  // LLaMA-2-7B's four shapes and LLaMA-3-8B's three others, both dtypes.
  for (DType dt : {DType::F16, DType::BF16}) {
    for (auto [n, k] : {std::pair<int64_t, int64_t>{12288, 4096},
                        {4096, 4096}, {11008, 4096}, {4096, 11008},
                        {6144, 4096}, {28672, 4096}, {4096, 14336}})
      CHECK(h200->find(n, k, dt) != nullptr);
    CHECK(h100->find(12288, 4096, dt) != nullptr);
  }

  // Every kernel a shipped table names is one of the default GEMM bundle's
  // (fd-compile examples/llama2_7b_gemm.mlir), or cublas.
  for (const DispatchTable *t : {h200, h100})
    for (const DispatchTable::Shape &shape : t->getShapes())
      for (const DispatchRule &r : shape.rules)
        CHECK(r.kernel == "cublas" || r.kernel == "gemv" ||
              r.kernel.rfind("mma_m", 0) == 0 ||
              r.kernel.rfind("direct_m", 0) == 0);
}
