//===- DriverTestSupport.h - what the driver-API GPU tests share -*- C++
//-*-===//
//
// fd-runtime-gputest and fd-unified-max-gputest talk to the GPU through the
// runtime's dlopen'd driver, not the CUDA runtime API, so that they build and
// say "skipped" where no driver is installed. This is their common start-up:
// the extra driver entry points they call, a fatal check for their own
// calls, and opening a bundle on device 0.
//
//===----------------------------------------------------------------------===//
#ifndef FD_TEST_RUNTIME_GPU_DRIVERTESTSUPPORT_H
#define FD_TEST_RUNTIME_GPU_DRIVERTESTSUPPORT_H

#include "fd/Runtime/Bundle.h"
#include "fd/Runtime/Context.h"
#include "fd/Runtime/Driver.h"
#include "fd/Runtime/Executable.h"

#include <cstdio>
#include <cstdlib>
#include <memory>

namespace fd::rt::test {

#define FD_TEST_STRINGIFY_IMPL(x) #x
#define FD_TEST_STRINGIFY(x) FD_TEST_STRINGIFY_IMPL(x)

/// Driver entry points the tests need beyond the runtime's own table.
struct TestDriver {
#define FD_TEST_FUNCTIONS(X)                                                   \
  X(cuMemcpyHtoD)                                                              \
  X(cuMemcpyDtoH)                                                              \
  X(cuMemsetD8)                                                                \
  X(cuStreamCreate)                                                            \
  X(cuStreamDestroy)                                                           \
  X(cuStreamBeginCapture)                                                      \
  X(cuStreamEndCapture)                                                        \
  X(cuGraphInstantiateWithFlags)                                               \
  X(cuGraphLaunch)                                                             \
  X(cuGraphExecDestroy)                                                        \
  X(cuGraphDestroy)                                                            \
  X(cuEventCreate)                                                             \
  X(cuEventRecord)                                                             \
  X(cuStreamWaitEvent)                                                         \
  X(cuEventSynchronize)                                                        \
  X(cuEventElapsedTime)                                                        \
  X(cuEventDestroy)
#define FD_DECLARE(name) decltype(&::name) name = nullptr;
  FD_TEST_FUNCTIONS(FD_DECLARE)
#undef FD_DECLARE
  const DriverApi *api = nullptr;

  bool load(const DriverApi &driver) {
    api = &driver;
#define FD_RESOLVE(name)                                                       \
  name = reinterpret_cast<decltype(name)>(                                     \
      lookupDriverSymbol(FD_TEST_STRINGIFY(name)));                            \
  if (!name) {                                                                 \
    std::printf("FAILED: the driver lacks %s\n", FD_TEST_STRINGIFY(name));     \
    return false;                                                              \
  }
    FD_TEST_FUNCTIONS(FD_RESOLVE)
#undef FD_RESOLVE
    return true;
  }
};

/// The one driver table of a test program.
inline TestDriver drv;

/// Aborts the test on a driver error in the test's own calls.
inline void check(CUresult result, const char *what) {
  if (result == CUDA_SUCCESS)
    return;
  std::printf("FAILED: %s\n",
              driverError(*drv.api, result, what).getMessage().c_str());
  std::exit(1);
}

/// A bundle loaded on device 0, with the driver table resolved.
struct GpuSession {
  std::shared_ptr<const Bundle> bundle;
  std::shared_ptr<Context> context;
  std::shared_ptr<Executable> exe;
};

/// Opens \p bundle on device 0 and prints the device. Returns -1 when the
/// test can go on, otherwise the exit code: 77 (ctest's and the scripts'
/// "skipped", as fd-gpu-suite and fd-bench) after "SKIPPED: no GPU: <why>"
/// where there is no GPU, 1 after "FAILED: <why>".
inline int openSession(Expected<std::shared_ptr<const Bundle>> bundle,
                       GpuSession &session) {
  if (!bundle) {
    std::printf("FAILED: %s\n", bundle.getStatus().getMessage().c_str());
    return 1;
  }
  Expected<std::shared_ptr<Context>> context = Context::create(0);
  if (!context) {
    if (context.getStatus().getCode() == ErrorCode::NoDevice) {
      std::printf("SKIPPED: no GPU: %s\n",
                  context.getStatus().getMessage().c_str());
      return 77;
    }
    std::printf("FAILED: %s\n", context.getStatus().getMessage().c_str());
    return 1;
  }
  const Context &ctx = **context;
  if (!drv.load(ctx.getDriver()))
    return 1;
  std::printf("device: %s, %s, %d SMs\n", ctx.getName().c_str(),
              ctx.getChip().c_str(), ctx.getSmCount());
  Expected<std::shared_ptr<Executable>> exe =
      Executable::create(*context, *bundle);
  if (!exe) {
    std::printf("FAILED: %s\n", exe.getStatus().getMessage().c_str());
    return 1;
  }
  session = {*bundle, *context, *exe};
  return -1;
}

} // namespace fd::rt::test

#endif // FD_TEST_RUNTIME_GPU_DRIVERTESTSUPPORT_H
