//===- MergeStatesTest.cpp - merge_states entries and their arguments -----===//

#include "TestUtil.h"

#include "fd/Runtime/Launch.h"
#include "fd/Runtime/MergeStates.h"
#include "fd/Runtime/fd_runtime.h"

#include <cstring>

using namespace fd::rt;

namespace {
/// A merge_states entry of two f16 [?, 32, 128] states as fd-compile writes
/// it: contiguous outs, lses with dynamic strides (views), and an lse
/// output; stub PTX.
std::string mergeManifest() {
  auto out = [](const std::string &bind) {
    return R"({"kind": "memref", "bind": ")" + bind +
           R"(", "elem": "f16", "rank": 3, "sizes": [-1, 32, 128], )"
           R"("strides": [4096, 128, 1], "contiguous": true})";
  };
  auto lse = [](const std::string &bind) {
    return R"({"kind": "memref", "bind": ")" + bind +
           R"(", "elem": "f32", "rank": 2, "sizes": [-1, 32], )"
           R"("strides": [-1, -1]})";
  };
  return R"({"format": "fd-bundle", "version": 2, "producer": "test",
  "modules": [{"name": "fd_kernels", "chip": "sm_90", "features": "+ptx80",
               "ptx": "stub"}],
  "entries": [{"name": "merge", "op": "merge_states", "dtype": "f16",
    "num_q_heads": 32, "head_dim": 128, "num_states": 2,
    "kernels": [{"symbol": "merge_merge_states", "module": "fd_kernels",
      "role": "merge_states", "grid": [4, "B"], "block": [16, 8, 1],
      "static_smem": 0, "dynamic_smem": 0, "args": [)" +
         out("state_out_0") + ", " + out("state_out_1") + ", " +
         lse("state_lse_0") + ", " + lse("state_lse_1") + ", " + out("out") +
         ", " + lse("lse") + "]}]}]}";
}

void *fake(uintptr_t address) { return reinterpret_cast<void *>(address); }

MergeStatesArgs goodArgs(int64_t b) {
  MergeStatesArgs a;
  a.numStates = 2;
  a.outs[0] = makeTensorRef(fake(0x10000), DType::F16, {b, 32, 128});
  a.outs[1] = makeTensorRef(fake(0x20000), DType::F16, {b, 32, 128});
  a.lses[0] = makeTensorRef(fake(0x30000), DType::F32, {b, 32});
  // vLLM's [Hq, B] log-sum-exps, seen as [B, Hq]: a transposed view.
  a.lses[1] = makeTensorRef(fake(0x40000), DType::F32, {b, 32});
  a.lses[1].strides[0] = 1;
  a.lses[1].strides[1] = b;
  a.out = makeTensorRef(fake(0x50000), DType::F16, {b, 32, 128});
  a.lse = makeTensorRef(fake(0x60000), DType::F32, {b, 32});
  return a;
}

std::shared_ptr<const Bundle> load(const std::string &text) {
  auto b = Bundle::loadMemory(text, "merge.fdb");
  CHECK_OK(b);
  return b ? b.take() : nullptr;
}
} // namespace

TEST(mergeStatesEntryLoads) {
  auto bundle = load(mergeManifest());
  if (!bundle)
    return;
  const EntrySpec &e = bundle->getEntries()[0];
  CHECK(e.op == OpKind::MergeStates);
  CHECK_EQ(e.numQHeads, 32);
  CHECK_EQ(e.headDim, 128);
  CHECK_EQ(e.merge.numStates, 2);
  CHECK_EQ(e.merge.kernels.size(), size_t(1));
  CHECK_EQ(e.merge.outs.size(), size_t(2));
  CHECK(e.merge.outs[1].present && e.merge.outs[1].contiguous);
  CHECK(e.merge.lses[0].present && !e.merge.lses[0].contiguous);
  CHECK(e.tensor(Tensor::Out).present);
  CHECK(e.tensor(Tensor::Lse).present);
  const std::vector<ArgSpec> &args = e.merge.kernels[0].args;
  CHECK(args[1].source == ArgSource::StateOut && args[1].stateIndex == 1);
  CHECK(args[2].source == ArgSource::StateLse && args[2].stateIndex == 0);
  CHECK(e.variants.empty());
}

TEST(mergeStatesEntryErrors) {
  const std::string m = mergeManifest();
  auto load = [](const std::string &text) {
    return Bundle::loadMemory(text, "merge.fdb");
  };
  CHECK_ERROR(load(REPLACE(m, R"("num_states": 2)", R"("num_states": 1)")),
              "num_states");
  CHECK_ERROR(load(REPLACE(m, R"("num_states": 2)", R"("num_states": 17)")),
              "num_states");
  CHECK_ERROR(load(REPLACE(m, R"("num_states": 2)", R"("num_states": 3)")),
              "does not bind 'state_out_2' of its 3 states");
  CHECK_ERROR(load(REPLACE(m, R"(, "num_states": 2)", "")), "num_states");
  CHECK_ERROR(load(REPLACE(m, R"("head_dim": 128)", R"("head_dim": 96)")),
              "head_dim 96 is not one the kernels are written for");
  CHECK_ERROR(load(REPLACE(m, R"("head_dim": 128)", R"("head_dim": 64)")),
              "block must be [head_dim / 8 = 8, rows <= num_q_heads (32), 1], "
              "found [16, 8, 1]");
  CHECK_ERROR(load(REPLACE(m, R"("block": [16, 8, 1])",
                           R"("block": [16, 64, 1])")),
              "rows <= num_q_heads (32)");
  // 30 heads still take 4 CTAs of 8 rows: the kernel's static 32 differs.
  CHECK_ERROR(load(REPLACE(m, R"("num_q_heads": 32)", R"("num_q_heads": 30)")),
              "num_q_heads 30 disagrees with the kernel: 'state_out_0' has "
              "static size 32 in dim 1");
  CHECK_ERROR(load(REPLACE(m, R"("grid": [4, "B"])", R"("grid": [8, "B"])")),
              "grid must be [ceil(num_q_heads / 8 rows per CTA) = 4, B], "
              "found [8, B, 1]");
  CHECK_ERROR(load(REPLACE(m, R"("grid": [4, "B"])",
                           R"("grid": ["Hq", "B"])")),
              "found [Hq, B, 1]");
  CHECK_ERROR(load(REPLACE(m, R"("role": "merge_states")",
                           R"("role": "merge")")),
              "has role 'merge', expected merge_states");
  CHECK_ERROR(load(REPLACE(m, R"("bind": "state_out_1")",
                           R"("bind": "state_out_0")")),
              "binds 'state_out_0' twice");
  CHECK_ERROR(load(REPLACE(m, R"("bind": "state_out_1")",
                           R"("bind": "state_out_01")")),
              "unknown merge_states memref binding 'state_out_01'");
  CHECK_ERROR(load(REPLACE(m, R"("bind": "state_out_1")",
                           R"("bind": "state_out_2")")),
              "unknown merge_states memref binding 'state_out_2'");
  CHECK_ERROR(load(REPLACE(m, R"("bind": "out")", R"("bind": "q")")),
              "unknown merge_states memref binding 'q'");
  CHECK_ERROR(load(REPLACE(m, R"("bind": "lse", "elem": "f32")",
                           R"("bind": "lse", "elem": "f16")")),
              "memref 'lse' has element type f16, expected f32");
  CHECK_ERROR(load(REPLACE(m, R"("kernels": [)",
                           R"("variants": [], "kernels": [)")),
              "no launch variants");
  CHECK_ERROR(load(REPLACE(m, R"("kernels": [)",
                           R"("workspace": [{"name": "x", "elem": "f32",
                               "shape": [1]}], "kernels": [)")),
              "takes no workspace");
}

TEST(mergeStatesArguments) {
  auto bundle = load(mergeManifest());
  if (!bundle)
    return;
  const EntrySpec &e = bundle->getEntries()[0];
  Expected<int64_t> b = validateMergeStatesArgs(e, goodArgs(5));
  CHECK_OK(b);
  CHECK(b && *b == 5);
  // B = 0 is valid: nothing to do.
  CHECK_OK(validateMergeStatesArgs(e, goodArgs(0)));

  MergeStatesArgs a = goodArgs(5);
  a.numStates = 3;
  CHECK_ERROR(validateMergeStatesArgs(e, a),
              "3 states given, but entry 'merge' merges 2");
  a = goodArgs(5);
  a.outs[1].dtype = DType::BF16;
  CHECK_ERROR(validateMergeStatesArgs(e, a),
              "argument 'state_out_1': dtype is bf16, expected f16");
  a = goodArgs(5);
  a.outs[0].sizes[0] = 4;
  CHECK_ERROR(validateMergeStatesArgs(e, a),
              "argument 'state_out_0': dim 0 (B) is 4, expected 5 (the batch "
              "of 'out')");
  a = goodArgs(5);
  a.lses[0].sizes[1] = 16;
  CHECK_ERROR(validateMergeStatesArgs(e, a),
              "argument 'state_lse_0': dim 1 (Hq) is 16, expected 32");
  a = goodArgs(5);
  a.outs[0].strides[2] = 2;
  CHECK_ERROR(validateMergeStatesArgs(e, a),
              "argument 'state_out_0': innermost stride is 2, expected 1");
  // The outs were compiled contiguous: a strided view is refused.
  a = goodArgs(5);
  a.outs[1].strides[0] = 3 * 4096;
  CHECK_ERROR(validateMergeStatesArgs(e, a),
              "argument 'state_out_1': strides [12288, 128, 1] are not "
              "contiguous row-major");
  a = goodArgs(5);
  a.lses[1].data = nullptr;
  CHECK_ERROR(validateMergeStatesArgs(e, a),
              "argument 'state_lse_1': data pointer is null");
  a = goodArgs(5);
  a.lses[0].data = fake(0x30002);
  CHECK_ERROR(validateMergeStatesArgs(e, a), "is not 4-byte aligned");
  // The outs move 16 bytes at a time.
  a = goodArgs(5);
  a.outs[1].data = fake(0x20008);
  CHECK_ERROR(validateMergeStatesArgs(e, a),
              "argument 'state_out_1': base pointer 0x20008 is not 16-byte "
              "aligned");
  a = goodArgs(5);
  a.lse.data = nullptr;
  CHECK_ERROR(validateMergeStatesArgs(e, a),
              "writes the merged log-sum-exp: pass an lse");
  a = goodArgs(5);
  a.lse = a.lses[1];
  CHECK_ERROR(validateMergeStatesArgs(e, a), "is state 1's lse");
  // In place: out as state 0's out itself is fine, another view is not.
  a = goodArgs(5);
  a.out = a.outs[0];
  CHECK_OK(validateMergeStatesArgs(e, a));
  a.out.sizes[0] = 1;
  a.outs[0].sizes[0] = 1;
  a.outs[1].sizes[0] = 1;
  a.lses[0].sizes[0] = a.lses[1].sizes[0] = a.lse.sizes[0] = 1;
  a.out.strides[0] = 8192; // size-1 dim: any stride passes the layout check
  CHECK_ERROR(validateMergeStatesArgs(e, a),
              "may be a state's out only as the same view");

}

TEST(mergeStatesWithoutLse) {
  std::string m = mergeManifest();
  size_t at = m.rfind(R"(, {"kind": "memref", "bind": "lse")");
  size_t end = m.find('}', at);
  std::string text = m.substr(0, at) + m.substr(end + 1);
  auto bundle = load(text);
  if (!bundle)
    return;
  const EntrySpec &e = bundle->getEntries()[0];
  CHECK(!e.tensor(Tensor::Lse).present);
  MergeStatesArgs a = goodArgs(2);
  CHECK_ERROR(validateMergeStatesArgs(e, a),
              "argument 'lse': entry 'merge' writes no merged log-sum-exp");
  a.lse = TensorRef();
  CHECK_OK(validateMergeStatesArgs(e, a));
}

TEST(mergeStatesPacking) {
  auto bundle = load(mergeManifest());
  if (!bundle)
    return;
  const EntrySpec &e = bundle->getEntries()[0];
  const KernelSpec &k = e.merge.kernels[0];
  MergeStatesArgs a = goodArgs(5);
  KernelParams params;
  CHECK_OK(packMergeStatesParams(k, a, params));
  CHECK_EQ(params.size(), k.getNumParams());
  // state_out_0 first (allocated, aligned, offset, 3 sizes, 3 strides), then
  // state_out_1, state_lse_0, state_lse_1 (transposed strides), out, lse.
  CHECK_EQ(params.getSlot(0), uint64_t(0x10000));
  CHECK_EQ(params.getSlot(9), uint64_t(0x20000));
  CHECK_EQ(params.getSlot(18), uint64_t(0x30000));
  CHECK_EQ(params.getSlot(25), uint64_t(0x40000));
  CHECK_EQ(params.getSlot(25 + 5), uint64_t(1)); // lse_1 stride of dim 0
  CHECK_EQ(params.getSlot(25 + 6), uint64_t(5)); // lse_1 stride of dim 1
  CHECK_EQ(params.getSlot(32), uint64_t(0x50000));
  CHECK_EQ(params.getSlot(41), uint64_t(0x60000));
  SymbolValues symbols;
  symbols.set(Symbol::B, 5);
  symbols.set(Symbol::Hq, 32);
  auto grid = evaluateGrid(k, symbols);
  CHECK_OK(grid);
  if (grid)
    CHECK((*grid)[0] == 4 && (*grid)[1] == 5 && (*grid)[2] == 1);
}

TEST(mergeStatesCApi) {
  std::string text = mergeManifest();
  fd_bundle *bundle = nullptr;
  CHECK_EQ(fd_bundle_load_memory(text.data(), text.size(), &bundle), 0);
  if (!bundle)
    return;
  fd_entry_info info = {};
  info.size = sizeof(info);
  CHECK_EQ(fd_bundle_entry_info(bundle, 0, &info), 0);
  CHECK_EQ(std::string(info.op), std::string("merge_states"));
  CHECK_EQ(info.num_q_heads, 32);
  CHECK_EQ(info.head_dim, 128);
  CHECK_EQ(info.merge_num_states, 2);
  CHECK_EQ(info.has_lse, 1);
  CHECK_EQ(info.lens_dtype, -1);
  CHECK_EQ(info.gemm_out_dtype, -1);
  int32_t variants = 0;
  CHECK_EQ(fd_bundle_variant_count(bundle, 0, &variants), 0);
  CHECK_EQ(variants, 1);
  // A merge entry is not planned: the planner refuses it by name.
  fd_plan plan;
  CHECK(fd_bundle_plan(bundle, 0, 1, 128, 132, 0, &plan) != 0);
  CHECK(std::strstr(fd_last_error(), "merge") != nullptr);
  // Bad calls are refused before anything touches a GPU.
  CHECK(fd_executable_run_merge_states(nullptr, 0, nullptr, nullptr) != 0);
  CHECK(std::strstr(fd_last_error(), "'executable' is NULL") != nullptr);
  fd_bundle_destroy(bundle);
}
