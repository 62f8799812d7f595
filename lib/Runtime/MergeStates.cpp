//===- MergeStates.cpp - Merging attention states (out, lse) --------------===//

#include "fd/Runtime/MergeStates.h"

#include "TensorCheck.h"

#include "fd/Runtime/Executable.h"
#include "fd/Runtime/Planner.h"

#include <cstring>
#include <string>

using namespace fd::rt;
namespace binding = fdb::binding;
namespace sym = fdb::symbol;

static std::string stateName(std::string_view prefix, int i) {
  return std::string(prefix) + std::to_string(i);
}

Expected<int64_t>
fd::rt::validateMergeStatesArgs(const EntrySpec &entry,
                                const MergeStatesArgs &args) {
  if (entry.op != OpKind::MergeStates)
    return Status::error(ErrorCode::InvalidArgument,
                         "entry '" + entry.name + "' is a " + entry.opName +
                             ", not a merge_states entry");
  const MergeStatesSpec &m = entry.merge;
  if (args.numStates != m.numStates)
    return Status::error(ErrorCode::InvalidArgument,
                         std::to_string(args.numStates) +
                             " states given, but entry '" + entry.name +
                             "' merges " + std::to_string(m.numStates));
  bool hasLse = entry.tensor(Tensor::Lse).present;
  if (!hasLse && args.lse.data)
    return argError(binding::kLse.data(),
                    "entry '" + entry.name +
                        "' writes no merged log-sum-exp; compile it with "
                        "lse(...)");
  const int64_t b = args.out.rank >= 1 ? args.out.sizes[0] : -1;
  const int64_t hq = entry.numQHeads, d = entry.headDim;
  const std::string hqFrom = "num_q_heads of entry '" + entry.name + "'";
  const std::string dFrom = "head_dim of entry '" + entry.name + "'";
  const char *bFrom = "the batch of 'out'";
  // The kernel reads and writes the outs 16 bytes at a time, the lses one
  // element at a time.
  auto outLike = [&](const char *name, const TensorSpec *spec) {
    return TensorExpectation{name,
                             entry.dtype,
                             3,
                             {b, hq, d, 0},
                             {sym::kB.data(), sym::kHq.data(), sym::kD.data(),
                              ""},
                             {bFrom, hqFrom.c_str(), dFrom.c_str(), ""},
                             kVectorBytes,
                             true,
                             spec,
                             false};
  };
  auto lseLike = [&](const char *name, const TensorSpec *spec) {
    TensorExpectation e{name,
                        DType::F32,
                        2,
                        {b, hq, 0, 0},
                        {sym::kB.data(), sym::kHq.data(), "", ""},
                        {bFrom, hqFrom.c_str(), "", ""},
                        4,
                        false,
                        spec,
                        false};
    e.anyInnerStride = true;
    return e;
  };
  auto check = [&](const TensorRef &t, const TensorExpectation &want) {
    if (t.rank < 0 || t.rank > 4)
      return argError(want.name,
                      "rank " + std::to_string(t.rank) +
                          " is out of range [0, 4]");
    return checkTensor(t, want);
  };
  // out first: it gives B.
  Status status = check(args.out, outLike(binding::kOut.data(),
                                          &entry.tensor(Tensor::Out)));
  if (!status.ok())
    return status;
  if (hasLse) {
    if (!args.lse.data)
      return argError(binding::kLse.data(),
                      "entry '" + entry.name +
                          "' writes the merged log-sum-exp: pass an lse "
                          "[B, Hq] f32 tensor");
    status = check(args.lse, lseLike(binding::kLse.data(),
                                     &entry.tensor(Tensor::Lse)));
    if (!status.ok())
      return status;
  }
  for (int i = 0; i < m.numStates; ++i) {
    std::string outName = stateName(binding::kStateOutPrefix, i);
    std::string lseName = stateName(binding::kStateLsePrefix, i);
    const TensorRef &o = args.outs[i], &l = args.lses[i];
    status = check(o, outLike(outName.c_str(), &m.outs[i]));
    if (status.ok())
      status = check(l, lseLike(lseName.c_str(), &m.lses[i]));
    if (!status.ok())
      return status;
    // Thread 0 of a row writes its lse after every thread of the row read
    // the states' lses, but nothing orders the others' reads before that
    // write; out in place is safe only as the very same view.
    if (hasLse && args.lse.data == l.data)
      return argError(binding::kLse.data(),
                      "is state " + std::to_string(i) +
                          "'s lse: the merged lse must be a buffer of its "
                          "own");
    if (o.data == args.out.data &&
        std::memcmp(o.strides, args.out.strides, sizeof(o.strides)) != 0)
      return argError(binding::kOut.data(),
                      "starts where " + outName +
                          " does but with other strides: out may be a "
                          "state's out only as the same view");
  }
  return b;
}

Status fd::rt::packMergeStatesParams(const KernelSpec &kernel,
                                     const MergeStatesArgs &args,
                                     KernelParams &params) {
  params.clear();
  int64_t b = args.out.sizes[0];
  for (const ArgSpec &arg : kernel.args) {
    if (arg.kind == ArgSpec::Kind::Scalar) {
      // The reader allows B, Hq and D only.
      int64_t v = arg.symbol == Symbol::B    ? b
                  : arg.symbol == Symbol::Hq ? args.out.sizes[1]
                                             : args.out.sizes[2];
      if (arg.elem == DType::I32)
        params.pushI32(static_cast<int32_t>(v));
      else
        params.pushI64(v);
      continue;
    }
    const TensorRef *t = nullptr;
    switch (arg.source) {
    case ArgSource::StateOut:
      t = &args.outs[arg.stateIndex];
      break;
    case ArgSource::StateLse:
      t = &args.lses[arg.stateIndex];
      break;
    case ArgSource::Out:
      t = &args.out;
      break;
    case ArgSource::Lse:
      t = &args.lse;
      break;
    default:
      return Status::error(ErrorCode::Internal, "merge_states argument '" +
                                                    arg.bind +
                                                    "' has no binding");
    }
    params.pushMemref(reinterpret_cast<uintptr_t>(t->data), t->rank, t->sizes,
                      t->strides);
  }
  if (params.hasOverflowed())
    return Status::error(ErrorCode::Internal, "too many kernel parameters");
  return Status::success();
}

MergeStates::MergeStates(const BoundEntry &bound)
    : entry(&bound.getSpec()), context(&bound.getContext()),
      kernels(&bound.getKernels()) {}

Status MergeStates::run(const MergeStatesArgs &args, CUstream stream) const {
  std::string what = "run merge_states '" + entry->name + "'";
  Expected<int64_t> b = validateMergeStatesArgs(*entry, args);
  if (!b)
    return b.getStatus().withContext(what);
  if (*b == 0)
    return Status::success();
  const KernelSpec &kernel = entry->merge.kernels.front();
  SymbolValues symbols;
  symbols.set(Symbol::B, *b);
  symbols.set(Symbol::Hq, entry->numQHeads);
  symbols.set(Symbol::D, entry->headDim);
  Expected<std::array<uint32_t, 3>> grid = evaluateGrid(kernel, symbols);
  if (!grid)
    return grid.getStatus().withContext(what);
  KernelParams params;
  Status packed = packMergeStatesParams(kernel, args, params);
  if (!packed.ok())
    return packed.withContext(what);
  ContextGuard guard(*context);
  if (!guard.getStatus().ok())
    return guard.getStatus().withContext(what);
  Status launched = launchKernel(context->getDriver(), kernels->front().function,
                                 kernel, *grid, stream, params.getPointers());
  if (!launched.ok())
    return launched.withContext(what);
  return Status::success();
}
