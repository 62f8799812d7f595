//===- LaunchTest.cpp - Tests of kernel parameter packing -----------------===//

#include "TestUtil.h"

#include "fd/Runtime/Launch.h"

#include <cstring>
#include <vector>

using namespace fd::rt;

static void *fake(uintptr_t address) {
  return reinterpret_cast<void *>(address);
}

static std::vector<uint64_t> slots(const KernelParams &params, size_t begin,
                                   size_t count) {
  std::vector<uint64_t> out;
  for (size_t i = begin; i < begin + count && i < params.size(); ++i)
    out.push_back(params.getSlot(i));
  return out;
}

static std::string show(const std::vector<uint64_t> &values) {
  std::string text = "[";
  for (size_t i = 0; i < values.size(); ++i)
    text += (i ? ", " : "") + std::to_string(values[i]);
  return text + "]";
}

#define CHECK_SLOTS(params, begin, ...)                                        \
  do {                                                                         \
    std::vector<uint64_t> want = __VA_ARGS__;                                  \
    std::vector<uint64_t> got = slots(params, begin, want.size());             \
    if (got != want)                                                           \
      fdtest::fail(__FILE__, __LINE__,                                         \
                   "parameters from " + std::to_string(begin) + ": got " +     \
                       show(got) + ", want " + show(want));                    \
  } while (0)

TEST(PackRank4MemrefExactSequence) {
  // k [B=2, Hkv=8, L=1024, D=128] at 0x200000: allocated ptr, aligned ptr,
  // offset 0, 4 sizes, 4 strides (in elements) -- 11 i64 parameters.
  TensorRef k = makeTensorRef(fake(0x200000), DType::F16, {2, 8, 1024, 128});
  KernelParams params;
  params.pushMemref(reinterpret_cast<uintptr_t>(k.data), k.rank, k.sizes,
                    k.strides);
  CHECK_EQ(params.size(), size_t(11));
  CHECK_SLOTS(
      params, 0,
      {0x200000, 0x200000, 0, 2, 8, 1024, 128, 1048576, 131072, 128, 1});
  // cuLaunchKernel reads each parameter through its pointer.
  void **pointers = params.getPointers();
  for (size_t i = 0; i < params.size(); ++i) {
    uint64_t value;
    std::memcpy(&value, pointers[i], sizeof(value));
    CHECK_EQ(value, params.getSlot(i));
  }
}

TEST(PackScalars) {
  KernelParams params;
  params.pushI32(-7);
  params.pushF32(0.5f);
  params.pushF64(0.25);
  params.pushI64(-1);
  void **pointers = params.getPointers();
  // A 4-byte parameter is read as 4 bytes from its pointer.
  int32_t i32;
  std::memcpy(&i32, pointers[0], 4);
  CHECK_EQ(i32, -7);
  float f32;
  std::memcpy(&f32, pointers[1], 4);
  CHECK_EQ(f32, 0.5f);
  double f64;
  std::memcpy(&f64, pointers[2], 8);
  CHECK_EQ(f64, 0.25);
  CHECK_EQ(params.getSlot(3), UINT64_MAX);
}

TEST(PackOverflowIsReported) {
  KernelParams params;
  for (size_t i = 0; i < kMaxKernelParams; ++i)
    params.pushI64(int64_t(i));
  CHECK(!params.hasOverflowed());
  params.pushI64(0);
  CHECK(params.hasOverflowed());
  CHECK_EQ(params.size(), kMaxKernelParams);
  params.clear();
  CHECK_EQ(params.size(), size_t(0));
  CHECK(!params.hasOverflowed());
}

namespace {
/// The llama3 entry planned for B=4 (S=9, chunk=960) and run with B=2,
/// L=1024 and a workspace at 0x1000000.
struct Launch {
  std::shared_ptr<const Bundle> bundle = fdtest::loadValid();
  const EntrySpec *entry = &bundle->getEntries()[0];
  Plan plan = *fd::rt::plan(*entry, 4, 8192, 132);
  AttentionArgs args;
  LaunchBindings bindings;

  Launch() {
    args.q = makeTensorRef(fake(0x100000), DType::F16, {2, 32, 128});
    args.k = makeTensorRef(fake(0x200000), DType::F16, {2, 8, 1024, 128});
    args.v = makeTensorRef(fake(0x400000), DType::F16, {2, 8, 1024, 128});
    args.lens = makeTensorRef(fake(0x600000), DType::I32, {2});
    args.out = makeTensorRef(fake(0x700000), DType::F16, {2, 32, 128});
  }
  Status prepare(void *workspace, uint64_t bytes) {
    return prepareLaunch(*entry, plan, args, workspace, bytes, bindings);
  }
};
} // namespace

TEST(PackPartialKernel) {
  Launch launch;
  CHECK_OK(launch.prepare(fake(0x1000000), launch.plan.workspaceBytes));
  // B from the buffers (2), S and chunk from the plan (9, 960).
  CHECK_EQ(launch.bindings.symbols.get(Symbol::B), 2);
  CHECK_EQ(launch.bindings.symbols.get(Symbol::L), 1024);
  CHECK_EQ(launch.bindings.symbols.get(Symbol::S), 9);
  CHECK_EQ(launch.bindings.symbols.get(Symbol::Chunk), 960);

  KernelParams params;
  CHECK_OK(packKernelParams(launch.entry->variants[0].kernels[0],
                            launch.bindings, params));
  CHECK_EQ(params.size(), size_t(66));
  // q [2, 32, 128].
  CHECK_SLOTS(params, 0, {0x100000, 0x100000, 0, 2, 32, 128, 4096, 128, 1});
  // k and v follow, 11 each.
  CHECK_SLOTS(params, 9, {0x200000, 0x200000, 0, 2, 8, 1024, 128});
  CHECK_SLOTS(params, 20, {0x400000, 0x400000, 0});
  // lens [2].
  CHECK_SLOTS(params, 31, {0x600000, 0x600000, 0, 2, 1});
  // partial_acc [B=2, Hq=32, S=9, D=128] contiguous at the workspace base.
  CHECK_SLOTS(params, 36,
              {0x1000000, 0x1000000, 0, 2, 32, 9, 128, 36864, 1152, 128, 1});
  // partial_max [2, 32, 9] after 2*32*9*128*4 = 294912 bytes (256-aligned).
  CHECK_SLOTS(params, 47,
              {0x1000000 + 294912, 0x1000000 + 294912, 0, 2, 32, 9, 288, 9, 1});
  // partial_sum after 294912 + 2304 = 297216 (= 1161 * 256).
  CHECK_SLOTS(params, 56, {0x1000000 + 297216, 0x1000000 + 297216, 0});
  // The chunk scalar, last.
  CHECK_SLOTS(params, 65, {960});
}

TEST(PackMergeKernel) {
  Launch launch;
  CHECK_OK(launch.prepare(fake(0x1000000), launch.plan.workspaceBytes));
  KernelParams params;
  CHECK_OK(packKernelParams(launch.entry->variants[0].kernels[1],
                            launch.bindings, params));
  CHECK_EQ(params.size(), size_t(44));
  // partial_acc (11), partial_max (9), partial_sum (9), then lens, out.
  CHECK_SLOTS(params, 29, {0x600000, 0x600000, 0, 2, 1});  // lens
  CHECK_SLOTS(params, 34, {0x700000, 0x700000, 0, 2, 32}); // out
  CHECK_SLOTS(params, 43, {9});                            // num_splits
}

TEST(PackScaleAndI32Scalars) {
  // The stub PTX goes: the kernel's parameter list changes.
  std::string text =
      REPLACE(fdtest::withStubPtx(fdtest::validManifest()),
              R"({ "kind": "scalar", "bind": "chunk", "type": "i64" })",
              R"({ "kind": "scalar", "bind": "chunk", "type": "i32" },
            { "kind": "scalar", "bind": "scale", "type": "f32" },
            { "kind": "scalar", "bind": "L", "type": "i64" })");
  auto bundle = Bundle::loadMemory(text);
  CHECK_OK(bundle);
  if (!bundle)
    return;
  Launch launch;
  launch.bundle = *bundle;
  launch.entry = &launch.bundle->getEntries()[0];
  CHECK_OK(launch.prepare(fake(0x1000000), launch.plan.workspaceBytes));
  KernelParams params;
  CHECK_OK(packKernelParams(launch.entry->variants[0].kernels[0],
                            launch.bindings, params));
  CHECK_EQ(params.size(), size_t(68));
  void **pointers = params.getPointers();
  int32_t chunk;
  std::memcpy(&chunk, pointers[65], 4);
  CHECK_EQ(chunk, 960);
  float scale;
  std::memcpy(&scale, pointers[66], 4);
  CHECK_EQ(scale, float(0.08838834764831845));
  CHECK_EQ(params.getSlot(67), 1024u);
}

TEST(PrepareChecksTheWorkspace) {
  // B=2 needs 297216 + 2304 = 299520 bytes (less than the plan's B=4).
  Launch launch;
  CHECK_OK(launch.prepare(fake(0x1000000), 299520));
  CHECK_EQ(launch.bindings.layout.totalBytes, 299520u);
  CHECK_ERROR(launch.prepare(fake(0x1000000), 299519),
              "workspace is 299519 bytes, the plan needs 299520 "
              "(Plan::workspaceBytes)");
  CHECK_ERROR(launch.prepare(nullptr, 0),
              "workspace pointer is null but the plan needs 299520 bytes");
  CHECK_ERROR(launch.prepare(fake(0x1000080), 1 << 20),
              "workspace pointer is not 256-byte aligned");
  // Argument errors come first, unchanged.
  launch.args.k.sizes[1] = 4;
  CHECK_ERROR(launch.prepare(fake(0x1000000), 1 << 20),
              "argument 'k': dim 1 (Hkv) is 4");
}

TEST(LaunchEmptyBatchLaunchesNothing) {
  Launch launch;
  for (TensorRef *t : {&launch.args.q, &launch.args.k, &launch.args.v,
                       &launch.args.lens, &launch.args.out})
    t->sizes[0] = 0;
  // No workspace is needed for B = 0.
  CHECK_OK(launch.prepare(nullptr, 0));
  // An empty driver table: any call would crash, so passing proves that
  // nothing is launched.
  DriverApi none;
  CUfunction functions[2] = {nullptr, nullptr};
  CHECK_OK(
      launchKernels(none, *launch.entry, functions, launch.bindings, nullptr));
}

TEST(ProgrammaticLaunchSwitch) {
  // Process-wide; restored so that other tests see the default.
  const bool saved = isProgrammaticLaunchEnabled();
  setProgrammaticLaunch(false);
  CHECK(!isProgrammaticLaunchEnabled());
  setProgrammaticLaunch(true);
  CHECK(isProgrammaticLaunchEnabled());
  setProgrammaticLaunch(saved);
}
