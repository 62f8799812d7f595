//===- Context.h - A device and its primary context -------------*- C++ -*-===//
//
// The runtime works in the device's primary context, the one the CUDA runtime
// API (and so PyTorch) uses, so caller streams and pointers from either API
// are valid here without any context juggling by the caller.
//
//===----------------------------------------------------------------------===//

#ifndef FD_RUNTIME_CONTEXT_H
#define FD_RUNTIME_CONTEXT_H

#include "fd/Runtime/Driver.h"
#include "fd/Runtime/Export.h"
#include "fd/Runtime/Status.h"

#include <memory>
#include <mutex>
#include <string>

namespace fd::rt {

class CublasHandle;

/// A retained primary context of one device, with the device properties the
/// runtime plans and checks with.
class FD_RT_API Context {
public:
  /// Retains the primary context of device \p ordinal. Fails with NoDevice
  /// when there is no driver or no GPU.
  static Expected<std::shared_ptr<Context>> create(int ordinal = 0);
  ~Context();
  Context(const Context &) = delete;
  Context &operator=(const Context &) = delete;

  const DriverApi &getDriver() const { return *api; }
  int getOrdinal() const { return ordinal; }
  CUdevice getDevice() const { return device; }
  CUcontext getContext() const { return context; }
  const std::string &getName() const { return name; }
  int getSmCount() const { return smCount; }
  int getCcMajor() const { return ccMajor; }
  int getCcMinor() const { return ccMinor; }
  /// "sm_90" for compute capability 9.0.
  std::string getChip() const;
  /// Largest shared memory per block after opting in, in bytes.
  int getMaxSharedPerBlockOptin() const { return maxSharedOptin; }
  bool hasMemoryPools() const { return memoryPools; }

  /// This context's cuBLAS handle, created on the first call (loading
  /// libcublas if no context has yet; thread-safe). A failure (no library,
  /// cublasCreate failing) is remembered and returned again. Does not need
  /// the context to be current.
  Expected<CublasHandle *> getCublas() const;

private:
  Context() = default;

  const DriverApi *api = nullptr;
  int ordinal = 0;
  CUdevice device = 0;
  CUcontext context = nullptr;
  std::string name;
  int smCount = 0;
  int ccMajor = 0;
  int ccMinor = 0;
  int maxSharedOptin = 0;
  bool memoryPools = false;

  /// Lazily created by getCublas(); logically part of the device state, so
  /// mutable behind a const Context.
  mutable std::mutex cublasMutex;
  mutable bool cublasTried = false;
  mutable Status cublasStatus;
  mutable std::unique_ptr<CublasHandle> cublas;
};

/// Makes a context current on this thread for the guard's lifetime and then
/// restores whatever was current before, so callers' own context state is
/// left as it was.
class FD_RT_API ContextGuard {
public:
  explicit ContextGuard(const Context &context);
  ~ContextGuard();
  ContextGuard(const ContextGuard &) = delete;
  ContextGuard &operator=(const ContextGuard &) = delete;

  /// Whether the push succeeded; check before using the context.
  const Status &getStatus() const { return status; }

private:
  const DriverApi &api;
  bool pushed = false;
  Status status;
};

} // namespace fd::rt

#endif // FD_RUNTIME_CONTEXT_H
