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
TensorRef makeTensorRef(void *data, DType dtype,
                        std::initializer_list<int64_t> sizes);

/// The buffers of one decode-attention step:
/// q [B,Hq,D], k and v [B,Hkv,L,D], lens [B] i32, out [B,Hq,D].
struct AttentionArgs {
  TensorRef q, k, v, lens, out;
};

/// What validation learned about the step.
struct ProblemShape {
  int64_t batch = 0;    ///< B
  int64_t cacheLen = 0; ///< L, the K/V capacity
};

/// Checks \p args against \p entry and \p plan: ranks, dtypes, Hq/Hkv/D,
/// B consistent and within the plan, L equal for k and v, innermost stride 1,
/// non-null pointers and the 16-byte alignment that vector loads need. Each
/// error names the argument and what was expected.
Expected<ProblemShape> validateAttentionArgs(const EntrySpec &entry,
                                             const Plan &plan,
                                             const AttentionArgs &args);

} // namespace fd::rt

#endif // FD_RUNTIME_ARGUMENTS_H
