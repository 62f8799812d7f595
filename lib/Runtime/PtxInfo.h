//===- PtxInfo.h - What the runtime reads out of PTX text -------*- C++ -*-===//
//
// Private to lib/Runtime. The manifest reader checks each module's PTX
// against the manifest before any GPU is involved: its .target against the
// module's chip, its .entry names against the kernels' symbols and each
// entry's parameter sizes against the kernels' arguments.
//
//===----------------------------------------------------------------------===//

#ifndef FD_LIB_RUNTIME_PTXINFO_H
#define FD_LIB_RUNTIME_PTXINFO_H

#include "fd/Runtime/Bundle.h"

#include <string>
#include <string_view>
#include <vector>

namespace fd::rt {

/// A kernel declared in PTX: its name and the size in bytes of each of its
/// parameters (0 where the declaration is not a plain scalar, e.g. an array).
struct PtxEntry {
  std::string name;
  std::vector<unsigned> paramBytes;
  /// Its .reqnctapercluster (omitted extents 1); {1, 1, 1} without one.
  std::array<unsigned, 3> cluster = {1, 1, 1};
};

/// The kernels declared with ".entry" in \p ptx, in order, with their
/// parameter lists.
std::vector<PtxEntry> findPtxEntries(std::string_view ptx);

/// The first operand of the ".target" directive of \p ptx, or empty.
std::string findPtxTarget(std::string_view ptx);

/// Parses "sm_90", "sm_90a", "sm_100f" into \p module's compute capability
/// and arch suffix; false if \p chip is not of that form.
bool parseChip(std::string_view chip, ModuleSpec &module);

} // namespace fd::rt

#endif // FD_LIB_RUNTIME_PTXINFO_H
