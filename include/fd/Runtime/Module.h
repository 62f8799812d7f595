//===- Module.h - Loading PTX modules and their kernels ---------*- C++ -*-===//

#ifndef FD_RUNTIME_MODULE_H
#define FD_RUNTIME_MODULE_H

#include "fd/Runtime/Bundle.h"
#include "fd/Runtime/Context.h"
#include "fd/Runtime/Status.h"

namespace fd::rt {

/// A loaded kernel and what the driver says about its resources.
struct KernelInfo {
  CUfunction function = nullptr;
  int numRegs = 0;
  /// Local memory per thread: non-zero means register spills (or a local
  /// array), which cost a lot in a memory-bound decode kernel.
  int localBytes = 0;
  int staticSharedBytes = 0;
  int maxThreadsPerBlock = 0;
  /// CTAs of the manifest's block size one SM holds at once (the driver's
  /// occupancy calculator); the planner sizes the split count by it.
  int residentCtasPerSm = 0;
};

/// JIT-compiles \p module's PTX in \p context after checking that its chip
/// suits the device. A JIT failure carries the driver's error log.
Expected<CUmodule> loadModule(const Context &context, const ModuleSpec &module);

/// Looks \p kernel up in \p module, reads its attributes, checks its block
/// size and shared memory against them and opts in to more than 48 KB of
/// dynamic shared memory when the manifest asks for it. The context must be
/// current.
Expected<KernelInfo> loadKernel(const Context &context, CUmodule module,
                                const KernelSpec &kernel);

} // namespace fd::rt

#endif // FD_RUNTIME_MODULE_H
