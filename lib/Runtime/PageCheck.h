//===- PageCheck.h - checking a block table on the device -------*- C++ -*-===//
//
// Private to lib/Runtime. A paged cache's page indices are read on the
// device, like the lengths; an index out of range is the caller's contract
// and makes the kernels read out of bounds. The checking mode
// (BoundEntry::checkPages, FD_CHECK_PAGES=1) runs one small kernel over the
// table first and turns the first bad entry into an error naming it.
//
//===----------------------------------------------------------------------===//
#ifndef FD_LIB_RUNTIME_PAGECHECK_H
#define FD_LIB_RUNTIME_PAGECHECK_H

#include "fd/Runtime/Arguments.h"
#include "fd/Runtime/Bundle.h"
#include "fd/Runtime/Context.h"
#include "fd/Runtime/Status.h"

namespace fd::rt {

/// The check kernel's module (PageCheck.ptx, embedded at build time).
ModuleSpec getPageCheckModule();
/// Its one kernel.
inline constexpr const char *kPageCheckKernel = "fd_check_pages";

/// Runs the check of \p args (already validated against \p entry, paged) on
/// \p stream and waits for it: an InvalidArgument error naming the first
/// sequence with a length outside [0, max_pages * page_size] or a page it
/// reaches outside [0, num_pages), with the bad value. Refuses a stream
/// that is capturing a CUDA graph (the check synchronises).
Status checkPagesOnDevice(const Context &context, CUfunction kernel,
                          const EntrySpec &entry, const AttentionArgs &args,
                          CUstream stream);

/// Whether FD_CHECK_PAGES=1 asks every paged run to check first (read once).
bool isPageCheckRequested();

} // namespace fd::rt

#endif // FD_LIB_RUNTIME_PAGECHECK_H
