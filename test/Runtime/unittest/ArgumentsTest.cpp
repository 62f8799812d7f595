//===- ArgumentsTest.cpp - Tests of decode-attention argument checks ------===//
//
// No GPU: the "device pointers" are aligned fake addresses, which is all that
// validation looks at.
//
//===----------------------------------------------------------------------===//

#include "TestUtil.h"

#include "fd/Runtime/Arguments.h"

using namespace fd::rt;

namespace {
/// A valid step for the llama3 entry (Hq 32, Hkv 8, D 128): B=2, L=1024.
struct Step {
  std::shared_ptr<const Bundle> bundle;
  const EntrySpec *entry;
  Plan plan;
  AttentionArgs args;

  Step()
      : bundle(fdtest::loadValid()), entry(&bundle->getEntries()[0]),
        plan(*fd::rt::plan(*entry, 4, 1024, 132)) {
    args.q = makeTensorRef(fake(0x100000), DType::F16, {2, 32, 128});
    args.k = makeTensorRef(fake(0x200000), DType::F16, {2, 8, 1024, 128});
    args.v = makeTensorRef(fake(0x400000), DType::F16, {2, 8, 1024, 128});
    args.lens = makeTensorRef(fake(0x600000), DType::I32, {2});
    args.out = makeTensorRef(fake(0x700000), DType::F16, {2, 32, 128});
  }
  static void *fake(uintptr_t address) {
    return reinterpret_cast<void *>(address);
  }
  Expected<ProblemShape> validate() const {
    return validateAttentionArgs(*entry, plan, args);
  }
};
} // namespace

TEST(ArgsMakeTensorRef) {
  TensorRef t = makeTensorRef(nullptr, DType::BF16, {2, 8, 1024, 128});
  CHECK_EQ(t.rank, 4);
  CHECK_EQ(t.strides[0], 8 * 1024 * 128);
  CHECK_EQ(t.strides[1], 1024 * 128);
  CHECK_EQ(t.strides[2], 128);
  CHECK_EQ(t.strides[3], 1);
}

TEST(ArgsValid) {
  Step step;
  Expected<ProblemShape> shape = step.validate();
  CHECK_OK(shape);
  if (shape) {
    CHECK_EQ(shape->batch, 2);
    CHECK_EQ(shape->cacheLen, 1024);
  }
  // k and v may be strided views (a paged or padded cache) as long as the
  // last dim is contiguous and every stride is a multiple of 16 bytes.
  step.args.k.strides[2] = 256;
  step.args.k.strides[1] = 256 * 2048;
  step.args.k.strides[0] = 256 * 2048 * 8;
  step.args.v.strides[0] = 0; // broadcast over the batch is fine to read
  CHECK_OK(step.validate());
  // Strides of size-1 dims are never used: a B=1 slice with an odd stride.
  step.args.q.sizes[0] = step.args.k.sizes[0] = step.args.v.sizes[0] = 1;
  step.args.lens.sizes[0] = step.args.out.sizes[0] = 1;
  step.args.q.strides[0] = 3;
  step.args.lens.strides[0] = 5;
  CHECK_OK(step.validate());
}

TEST(ArgsNullPointers) {
  const char *names[] = {"q", "k", "v", "lens", "out"};
  for (int i = 0; i < 5; ++i) {
    Step step;
    TensorRef *tensors[] = {&step.args.q, &step.args.k, &step.args.v,
                            &step.args.lens, &step.args.out};
    tensors[i]->data = nullptr;
    Expected<ProblemShape> shape = step.validate();
    CHECK_ERROR(shape, std::string("argument '") + names[i] +
                           "': data pointer is null");
    CHECK(shape.getStatus().getCode() == ErrorCode::InvalidArgument);
  }
}

TEST(ArgsDTypeAndRank) {
  Step step;
  step.args.q.dtype = DType::BF16;
  CHECK_ERROR(step.validate(), "argument 'q': dtype is bf16, expected f16");
  step = Step();
  step.args.lens.dtype = DType::I64;
  CHECK_ERROR(step.validate(), "argument 'lens': dtype is i64, expected i32");
  step = Step();
  step.args.k.rank = 3;
  CHECK_ERROR(step.validate(), "argument 'k': rank is 3, expected 4");
  step = Step();
  step.args.out.rank = 7;
  CHECK_ERROR(step.validate(), "argument 'out': rank 7 is out of range [0, 4]");
}

TEST(ArgsShapesMatchTheEntry) {
  Step step;
  step.args.q.sizes[1] = 16;
  CHECK_ERROR(step.validate(), "argument 'q': dim 1 (Hq) is 16, expected 32 "
                               "(num_q_heads of entry 'llama3_decode')");
  step = Step();
  step.args.k.sizes[1] = 4;
  CHECK_ERROR(step.validate(), "argument 'k': dim 1 (Hkv) is 4, expected 8 "
                               "(num_kv_heads of entry 'llama3_decode')");
  step = Step();
  step.args.v.sizes[3] = 64;
  CHECK_ERROR(step.validate(), "argument 'v': dim 3 (D) is 64, expected 128 "
                               "(head_dim of entry 'llama3_decode')");
  step = Step();
  step.args.out.sizes[2] = 64;
  CHECK_ERROR(step.validate(), "argument 'out': dim 2 (D) is 64, expected 128");
  step = Step();
  step.args.k.sizes[2] = -1;
  CHECK_ERROR(step.validate(), "argument 'k': dim 2 (L) has negative size -1");
}

TEST(ArgsBatchAndLengthAgree) {
  Step step;
  step.args.out.sizes[0] = 3;
  CHECK_ERROR(step.validate(), "argument 'out': dim 0 (B) is 3, expected 2 "
                               "(the batch of 'q')");
  step = Step();
  step.args.lens.sizes[0] = 1;
  CHECK_ERROR(step.validate(), "argument 'lens': dim 0 (B) is 1, expected 2 "
                               "(the batch of 'q')");
  step = Step();
  step.args.k.sizes[0] = 1;
  CHECK_ERROR(step.validate(), "argument 'k': dim 0 (B) is 1, expected 2");
  step = Step();
  step.args.v.sizes[2] = 512;
  CHECK_ERROR(step.validate(), "argument 'v': dim 2 (L) is 512, expected "
                               "1024 (L of 'k')");
}

TEST(ArgsStrides) {
  Step step;
  step.args.k.strides[3] = 2;
  CHECK_ERROR(step.validate(), "argument 'k': innermost stride is 2, "
                               "expected 1 (the last dim must be contiguous)");
  step = Step();
  step.args.lens.strides[0] = 2;
  CHECK_ERROR(step.validate(), "argument 'lens': innermost stride is 2");
  step = Step();
  step.args.q.strides[0] = -4096;
  CHECK_ERROR(step.validate(), "argument 'q': dim 0 (B) has negative stride "
                               "-4096");
  // 132 f16 = 264 bytes between rows: not a multiple of 16.
  step = Step();
  step.args.k.strides[2] = 132;
  CHECK_ERROR(step.validate(),
              "argument 'k': stride of dim 2 (L) is 132 elements (264 "
              "bytes), not a multiple of 16 bytes (needed for 16-byte vector "
              "loads)");
  // The kernels treat q, lens and out as contiguous (identity-layout
  // memrefs), so a padded view of them must be refused.
  step = Step();
  step.args.q.strides[0] = 4104;
  CHECK_ERROR(step.validate(), "argument 'q': strides [4104, 128, 1] are not "
                               "contiguous row-major (expected [4096, 128, "
                               "1]): the entry was compiled for an identity "
                               "layout");
  step = Step();
  step.args.out.strides[1] = 256;
  CHECK_ERROR(step.validate(), "argument 'out': strides [4096, 256, 1] are "
                               "not contiguous row-major");
}

TEST(ArgsAlignment) {
  Step step;
  step.args.q.data = Step::fake(0x100002);
  CHECK_ERROR(step.validate(), "argument 'q': base pointer 0x100002 is not "
                               "16-byte aligned (needed for 16-byte vector "
                               "loads)");
  const char *names[] = {"k", "v", "out"};
  for (int i = 0; i < 3; ++i) {
    step = Step();
    TensorRef *tensors[] = {&step.args.k, &step.args.v, &step.args.out};
    tensors[i]->data = Step::fake(0x800008);
    CHECK_ERROR(step.validate(), std::string("argument '") + names[i] +
                                     "': base pointer 0x800008 is not "
                                     "16-byte aligned");
  }
  // lens only needs i32 alignment.
  step = Step();
  step.args.lens.data = Step::fake(0x600004);
  CHECK_OK(step.validate());
  step.args.lens.data = Step::fake(0x600002);
  CHECK_ERROR(step.validate(), "argument 'lens': base pointer 0x600002 is "
                               "not 4-byte aligned");
}

TEST(ArgsBatchWithinPlan) {
  Step step;
  step.plan = *plan(*step.entry, 1, 1024, 132);
  CHECK_ERROR(step.validate(), "argument 'q': batch 2 exceeds the planned "
                               "maximum 1 (plan for a larger batch)");
  // A smaller batch than planned is fine (graph mode pads up to it).
  step.plan = *planForGraph(*step.entry, 64, 1024, 132);
  CHECK_OK(step.validate());
}

TEST(ArgsPlanOfAnotherEntry) {
  Step step;
  step.plan.entryName = "other";
  CHECK_ERROR(step.validate(), "the plan was made for entry 'other', not "
                               "'llama3_decode'");
}

namespace {
/// A Step whose entry records its kernels' layouts (as fd-compile writes
/// them) and can be made paged or given an lse output.
struct RecordedStep : Step {
  EntrySpec recorded;
  RecordedStep() : recorded(*entry) {
    auto set = [&](Tensor t, DType elem, std::vector<int64_t> sizes,
                   std::vector<int64_t> strides, bool contiguous) {
      recorded.tensors[static_cast<int>(t)] = {
          true, elem, static_cast<int>(sizes.size()), sizes, strides,
          contiguous};
    };
    // q and out strided over batch and head (a slice of a fused QKV
    // projection), k/v strided, lens identity.
    set(Tensor::Q, DType::F16, {-1, 32, 128}, {-1, -1, 1}, false);
    set(Tensor::Out, DType::F16, {-1, 32, 128}, {-1, -1, 1}, false);
    set(Tensor::K, DType::F16, {-1, 8, -1, 128}, {-1, -1, -1, 1}, false);
    set(Tensor::V, DType::F16, {-1, 8, -1, 128}, {-1, -1, -1, 1}, false);
    set(Tensor::Lens, DType::I32, {-1}, {1}, true);
    entry = &recorded;
  }
  // `entry` points into this object: copies re-point it.
  RecordedStep(const RecordedStep &o) : Step(o), recorded(o.recorded) {
    entry = &recorded;
  }
  RecordedStep &operator=(const RecordedStep &o) {
    Step::operator=(o);
    recorded = o.recorded;
    entry = &recorded;
    return *this;
  }
  void makePaged(int64_t pageSize, int64_t pages, int64_t maxPages) {
    recorded.tensors[static_cast<int>(Tensor::BlockTable)] = {
        true, DType::I32, 2, {-1, -1}, {-1, 1}, true};
    recorded.pageSize = pageSize;
    for (Tensor t : {Tensor::K, Tensor::V})
      recorded.tensors[static_cast<int>(t)].sizes = {-1, 8, pageSize, 128};
    args.k = makeTensorRef(fake(0x200000), DType::F16, {pages, 8, pageSize, 128});
    args.v = makeTensorRef(fake(0x400000), DType::F16, {pages, 8, pageSize, 128});
    args.blockTable = makeTensorRef(fake(0x800000), DType::I32, {2, maxPages});
  }
  /// CSR addressing: a flat list of nnz pages and indptr [B + 1] (i32).
  void makeCsr(int64_t pageSize, int64_t pages, int64_t nnz) {
    makePaged(pageSize, pages, 1);
    recorded.tensors[static_cast<int>(Tensor::BlockTable)] = {
        true, DType::I32, 1, {-1}, {1}, true};
    recorded.tensors[static_cast<int>(Tensor::PageIndptr)] = {
        true, DType::I32, 1, {-1}, {1}, true};
    args.blockTable = makeTensorRef(fake(0x800000), DType::I32, {nnz});
    args.pageIndptr = makeTensorRef(fake(0xa00000), DType::I32, {3});
  }
  void addLse() {
    recorded.tensors[static_cast<int>(Tensor::Lse)] = {
        true, DType::F32, 2, {-1, 32}, {32, 1}, true};
    args.lse = makeTensorRef(fake(0x900000), DType::F32, {2, 32});
  }
};
} // namespace

TEST(ArgsRecordedLayouts) {
  // q sliced out of a fused QKV projection [B, 48, 128]: strides [6144, 128,
  // 1]; out with a padded batch stride. Accepted: compiled strided.
  RecordedStep step;
  step.args.q.strides[0] = 6144;
  step.args.out.strides[0] = 8192;
  CHECK_OK(step.validate());
  // A static size or stride the kernels baked in must be met.
  step = RecordedStep();
  step.recorded.tensors[static_cast<int>(Tensor::Q)].sizes[0] = 4;
  CHECK_ERROR(step.validate(), "argument 'q': dim 0 (B) is 2, but the entry "
                               "was compiled for a static 4");
  step = RecordedStep();
  step.recorded.tensors[static_cast<int>(Tensor::K)].strides[2] = 128;
  step.args.k.strides[2] = 1024;
  step.args.k.strides[1] = 1024 * 1024;
  step.args.k.strides[0] = 8 * 1024 * 1024;
  CHECK_ERROR(step.validate(), "argument 'k': stride of dim 2 (L) is 1024, "
                               "but the entry was compiled for a static 128");
  // Identity layouts recorded as contiguous stay contiguous.
  step = RecordedStep();
  step.args.lens.strides[0] = 2;
  CHECK_ERROR(step.validate(), "argument 'lens': innermost stride is 2");
  // i64 lengths when compiled so, and only then.
  step = RecordedStep();
  step.recorded.tensors[static_cast<int>(Tensor::Lens)].elem = DType::I64;
  CHECK_ERROR(step.validate(), "argument 'lens': dtype is i32, expected i64");
  step.args.lens.dtype = DType::I64;
  CHECK_OK(step.validate());
}

TEST(ArgsPaged) {
  RecordedStep step;
  step.makePaged(16, 100, 8);
  Expected<ProblemShape> shape = step.validate();
  CHECK_OK(shape);
  if (shape)
    CHECK_EQ(shape->cacheLen, 8 * 16);
  // Page size compiled in; one pool size for k and v; a table per sequence.
  step.args.k.sizes[2] = 32;
  CHECK_ERROR(step.validate(), "argument 'k': dim 2 (page_size) is 32, "
                               "expected 16 (the page size of entry");
  step = RecordedStep();
  step.makePaged(16, 100, 8);
  step.args.v.sizes[0] = 99;
  CHECK_ERROR(step.validate(), "argument 'v': dim 0 (num_pages) is 99, "
                               "expected 100 (the page count of 'k')");
  step = RecordedStep();
  step.makePaged(16, 100, 8);
  step.args.blockTable.sizes[0] = 3;
  CHECK_ERROR(step.validate(), "argument 'block_table': dim 0 (B) is 3, "
                               "expected 2 (the batch of 'q')");
  step = RecordedStep();
  step.makePaged(16, 100, 8);
  step.args.blockTable.data = nullptr;
  CHECK_ERROR(step.validate(), "argument 'block_table': data pointer is null");
  step = RecordedStep();
  step.makePaged(16, 100, 0);
  CHECK_ERROR(step.validate(), "argument 'block_table': dim 1 (max_pages) is "
                               "0");
  step = RecordedStep();
  step.makePaged(16, 100, 8);
  step.args.blockTable.dtype = DType::I64;
  CHECK_ERROR(step.validate(), "argument 'block_table': dtype is i64, "
                               "expected i32");
  // A contiguous entry refuses a block table rather than ignore it.
  RecordedStep contiguous;
  contiguous.args.blockTable =
      makeTensorRef(Step::fake(0x800000), DType::I32, {2, 8});
  CHECK_ERROR(contiguous.validate(), "argument 'block_table': entry 'llama3_decode' "
                                     "reads a contiguous KV cache");
}

TEST(ArgsPagedCsr) {
  RecordedStep step;
  step.makeCsr(16, 100, 40);
  Expected<ProblemShape> shape = step.validate();
  CHECK_OK(shape);
  // One sequence may own every page of the list.
  if (shape)
    CHECK_EQ(shape->cacheLen, 40 * 16);
  step.args.pageIndptr.sizes[0] = 2;
  CHECK_ERROR(step.validate(), "argument 'page_indptr': dim 0 (B + 1) is 2, "
                               "expected 3 (the batch of 'q' plus one)");
  step = RecordedStep();
  step.makeCsr(16, 100, 40);
  step.args.pageIndptr.data = nullptr;
  CHECK_ERROR(step.validate(), "argument 'page_indptr': data pointer is null");
  step = RecordedStep();
  step.makeCsr(16, 100, 40);
  step.args.pageIndptr.dtype = DType::I64;
  CHECK_ERROR(step.validate(), "argument 'page_indptr': dtype is i64, "
                               "expected i32");
  step = RecordedStep();
  step.makeCsr(16, 100, 0);
  CHECK_ERROR(step.validate(), "argument 'block_table': dim 0 (nnz_pages) is "
                               "0: the page list is empty");
  step = RecordedStep();
  step.makeCsr(16, 100, 40);
  step.args.blockTable = makeTensorRef(Step::fake(0x800000), DType::I32, {2, 20});
  CHECK_ERROR(step.validate(), "argument 'block_table': rank is 2, expected 1");
  step = RecordedStep();
  step.makeCsr(65536, 100, 40000);
  CHECK_ERROR(step.validate(), "argument 'block_table': nnz_pages 40000 x page "
                               "size 65536 tokens exceeds 2147483647");
  // Entries that do not address pages by CSR refuse an indptr.
  RecordedStep table;
  table.makePaged(16, 100, 8);
  table.args.pageIndptr =
      makeTensorRef(Step::fake(0xa00000), DType::I32, {3});
  CHECK_ERROR(table.validate(), "argument 'page_indptr': entry "
                                "'llama3_decode' addresses pages through a "
                                "[B, max_pages] block table");
  RecordedStep contiguous;
  contiguous.args.pageIndptr =
      makeTensorRef(Step::fake(0xa00000), DType::I32, {3});
  CHECK_ERROR(contiguous.validate(), "argument 'page_indptr': entry "
                                     "'llama3_decode' reads a contiguous KV "
                                     "cache");
}

TEST(ArgsLse) {
  RecordedStep step;
  step.addLse();
  CHECK_OK(step.validate());
  step.args.lse.dtype = DType::F16;
  CHECK_ERROR(step.validate(), "argument 'lse': dtype is f16, expected f32");
  step = RecordedStep();
  step.addLse();
  step.args.lse.data = nullptr;
  CHECK_ERROR(step.validate(), "argument 'lse': data pointer is null");
  // An entry without the output refuses an lse buffer.
  RecordedStep none;
  none.args.lse = makeTensorRef(Step::fake(0x900000), DType::F32, {2, 32});
  CHECK_ERROR(none.validate(), "argument 'lse': entry 'llama3_decode' has no "
                               "log-sum-exp output");
}
