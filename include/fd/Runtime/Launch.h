//===- Launch.h - Kernel parameter packing and launching --------*- C++ -*-===//
//
// Turns a plan plus the caller's buffers into cuLaunchKernel calls. The ABI
// (docs/bundle.md): a rank-r memref expands to allocated ptr, aligned ptr,
// offset, r sizes, r strides (3 + 2r parameters, i64 except the pointers);
// a scalar is one parameter of its type. Nothing here allocates or
// synchronises, so the whole sequence can be captured into a CUDA graph.
//
//===----------------------------------------------------------------------===//

#ifndef FD_RUNTIME_LAUNCH_H
#define FD_RUNTIME_LAUNCH_H

#include "fd/Runtime/Arguments.h"
#include "fd/Runtime/Bundle.h"
#include "fd/Runtime/Driver.h"
#include "fd/Runtime/Export.h"
#include "fd/Runtime/Planner.h"
#include "fd/Runtime/Status.h"

#include <array>
#include <cstdint>

namespace fd::rt {

/// Programmatic dependent launch (docs/runtime.md): kernels whose manifest
/// says "pdl" are launched with programmatic stream serialization, so each
/// may start while the kernel before it in the stream finishes (it waits
/// for it in-kernel before touching memory). On by default where the
/// driver has cuLaunchKernelEx; FD_PDL=0 in the environment, or
/// setProgrammaticLaunch(false), launches every kernel plainly. Process-wide.
FD_RT_API void setProgrammaticLaunch(bool enabled);
FD_RT_API bool isProgrammaticLaunchEnabled();

/// Launches \p kernel's function \p function: with programmatic stream
/// serialization when the kernel allows it and it is enabled, else with
/// cuLaunchKernel. Errors name the kernel.
FD_RT_API Status launchKernel(const DriverApi &api, CUfunction function,
                              const KernelSpec &kernel,
                              const std::array<uint32_t, 3> &grid,
                              CUstream stream, void **params);

/// The parameters of one kernel launch: one 8-byte slot per parameter (a
/// 4-byte parameter uses the low half; the driver reads only its size) and
/// the pointer array cuLaunchKernel takes. Fixed capacity, no allocation.
class FD_RT_API KernelParams {
public:
  KernelParams() = default;
  KernelParams(const KernelParams &) = delete;
  KernelParams &operator=(const KernelParams &) = delete;

  void clear() {
    count = 0;
    overflow = false;
  }
  void pushU64(uint64_t value);
  void pushI64(int64_t value) { pushU64(static_cast<uint64_t>(value)); }
  void pushI32(int32_t value);
  void pushF32(float value);
  void pushF64(double value);
  /// Pushes the 3 + 2 * rank parameters of a memref descriptor over
  /// \p pointer (allocated = aligned = pointer, offset 0).
  void pushMemref(uint64_t pointer, int rank, const int64_t *sizes,
                  const int64_t *strides);

  size_t size() const { return count; }
  /// The raw 8 bytes of parameter \p i.
  uint64_t getSlot(size_t i) const { return slots[i]; }
  /// True if more than kMaxKernelParams were pushed (the extra were dropped).
  bool hasOverflowed() const { return overflow; }
  /// kernelParams for cuLaunchKernel; valid while this object lives.
  void **getPointers();

private:
  std::array<uint64_t, kMaxKernelParams> slots{};
  std::array<void *, kMaxKernelParams> pointers{};
  size_t count = 0;
  bool overflow = false;
};

/// A workspace buffer's memref descriptor (rank at most 8).
struct WorkspaceMemref {
  uint64_t pointer = 0;
  int rank = 0;
  int64_t sizes[8] = {};
  int64_t strides[8] = {};
};

/// Everything kernel arguments of one launch can be bound to.
struct LaunchBindings {
  const AttentionArgs *args = nullptr;
  /// The launch variant of the plan (index into EntrySpec::variants).
  int variant = 0;
  /// B and L from the buffers, S and chunk from the plan.
  SymbolValues symbols;
  double scale = 0;
  /// Device address of the workspace and the buffers' places in it.
  uint64_t workspace = 0;
  WorkspaceLayout layout;
  /// Descriptor of each workspace buffer, in manifest order.
  std::array<WorkspaceMemref, kMaxWorkspaceBuffers> buffers{};
};

/// Validates \p args and the workspace against \p entry and \p plan and
/// resolves the bindings of the launch. No GPU involved.
FD_RT_API Status prepareLaunch(const EntrySpec &entry, const Plan &plan,
                               const AttentionArgs &args, void *workspace,
                               uint64_t workspaceBytes,
                               LaunchBindings &bindings);

/// Packs the parameters of \p kernel per the ABI.
FD_RT_API Status packKernelParams(const KernelSpec &kernel,
                                  const LaunchBindings &bindings,
                                  KernelParams &params);

/// Launches every kernel of the bindings' variant of \p entry in order on
/// \p stream; \p functions are the loaded kernels, parallel to that
/// variant's kernels. The entry's context must be current. A batch of 0
/// launches nothing.
FD_RT_API Status launchKernels(const DriverApi &api, const EntrySpec &entry,
                               const CUfunction *functions,
                               const LaunchBindings &bindings, CUstream stream);

} // namespace fd::rt

#endif // FD_RUNTIME_LAUNCH_H
