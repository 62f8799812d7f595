//===- TensorCheck.h - Checking a caller tensor against an entry -*- C++ -*-===//
//
// Private to lib/Runtime. One caller tensor (TensorRef) against what an
// entry's kernels were compiled for: dtype, rank, sizes, strides, the
// manifest's static layout and the alignment its loads need. Shared by the
// argument validation of every entry kind (Arguments.cpp, MergeStates.cpp),
// so that each error reads the same.
//
//===----------------------------------------------------------------------===//

#ifndef FD_LIB_RUNTIME_TENSORCHECK_H
#define FD_LIB_RUNTIME_TENSORCHECK_H

#include "fd/Runtime/Arguments.h"
#include "fd/Runtime/Bundle.h"
#include "fd/Runtime/Status.h"

#include <cstdint>
#include <string>

namespace fd::rt {

/// Kernels load q/k/v and store out 16 bytes at a time.
inline constexpr uint64_t kVectorBytes = 16;

/// What one tensor must look like: its dims, with -1 for "any" and the name
/// of each dim for messages.
struct TensorExpectation {
  const char *name;
  DType dtype;
  int rank;
  int64_t sizes[4];
  const char *dimNames[4];
  /// Where each expected size comes from, for messages.
  const char *origins[4];
  /// Base-pointer alignment; strides must be multiples of it in bytes too
  /// when vector loads are used.
  uint64_t alignment;
  bool vectorStrides;
  /// What the kernels were compiled for (the manifest's args): static sizes
  /// and strides, and whether the layout is the identity, in which case the
  /// compiled code computes addresses from the sizes alone.
  const TensorSpec *spec;
  /// Without recorded layouts (older bundles): whether the tensor must be
  /// contiguous row-major (q, lens and out were identity memrefs).
  bool legacyContiguous;
  /// Any stride in the innermost dim too (tensors the kernels read one
  /// element at a time, e.g. merge_states' lses, which may be transposed
  /// views); otherwise the last dim must be contiguous.
  bool anyInnerStride = false;
};


/// InvalidArgument "argument '<name>': <what>".
Status argError(const char *name, const std::string &what);

/// Checks \p t against \p want; the error names the argument and dim.
Status checkTensor(const TensorRef &t, const TensorExpectation &want);

} // namespace fd::rt

#endif // FD_LIB_RUNTIME_TENSORCHECK_H
