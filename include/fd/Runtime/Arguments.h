//===- Arguments.h - Arguments of a decode-attention launch -----*- C++ -*-===//
//
// The caller describes its device buffers with TensorRef; validation checks
// them against the entry and the plan before anything is launched, because a
// wrong shape or stride on the GPU is silent memory corruption.
//
//===----------------------------------------------------------------------===//

#ifndef FD_RUNTIME_ARGUMENTS_H
#define FD_RUNTIME_ARGUMENTS_H

#include "fd/Runtime/Bundle.h"
#include "fd/Runtime/Export.h"
#include "fd/Runtime/Planner.h"
#include "fd/Runtime/Status.h"

#include <cstdint>
#include <initializer_list>

namespace fd::rt {

/// A strided view of device memory. Sizes and strides are in elements.
struct TensorRef {
  void *data = nullptr;
  DType dtype = DType::F16;
  int rank = 0;
  int64_t sizes[4] = {0, 0, 0, 0};
  int64_t strides[4] = {0, 0, 0, 0};
};

/// A contiguous row-major TensorRef over \p data (at most rank 4).
FD_RT_API TensorRef makeTensorRef(void *data, DType dtype,
                                  std::initializer_list<int64_t> sizes);

/// The buffers of one decode-attention step: q [B,Hq,D], k and v
/// [B,Hkv,L,D] (paged: pools [num_pages,Hkv,page_size,D]), lens [B] (i32 or
/// i64, as compiled), out [B,Hq,D]; for a paged entry the block table
/// [B,max_pages] (CSR addressing: the page list [nnz_pages] and pageIndptr
/// [B+1]), for an entry with that output lse [B,Hq] f32. Tensors an entry
/// does not take stay empty (null data).
struct AttentionArgs {
  TensorRef q, k, v, lens, out;
  TensorRef blockTable, lse;
  TensorRef pageIndptr;
};

/// What validation learned about the step.
struct ProblemShape {
  int64_t batch = 0;    ///< B
  int64_t cacheLen = 0; ///< L, the most tokens a sequence can hold
};

/// Checks \p args against \p entry and \p plan: ranks, dtypes, Hq/Hkv/D,
/// B consistent and within the plan, L equal for k and v (pages: the page
/// size compiled in), innermost stride 1, the static sizes and strides and
/// the contiguity the kernels were compiled for (the manifest's args),
/// non-null pointers and the 16-byte alignment that vector loads need; a
/// block table or lse only where the entry takes one. Each error names the
/// argument and what was expected.
FD_RT_API Expected<ProblemShape>
validateAttentionArgs(const EntrySpec &entry, const Plan &plan,
                      const AttentionArgs &args);

} // namespace fd::rt

#endif // FD_RUNTIME_ARGUMENTS_H
