//===- DriverTest.cpp - Tests of the driver loading and error text --------===//

#include "TestUtil.h"

#include "fd/Runtime/Context.h"
#include "fd/Runtime/Driver.h"

#include <cstring>

using namespace fd::rt;

static CUresult CUDAAPI fakeErrorName(CUresult result, const char **name) {
  if (result == CUDA_ERROR_INVALID_VALUE) {
    *name = "CUDA_ERROR_INVALID_VALUE";
    return CUDA_SUCCESS;
  }
  return CUDA_ERROR_INVALID_VALUE;
}

static CUresult CUDAAPI fakeErrorString(CUresult result, const char **text) {
  if (result == CUDA_ERROR_INVALID_VALUE) {
    *text = "invalid argument";
    return CUDA_SUCCESS;
  }
  return CUDA_ERROR_INVALID_VALUE;
}

TEST(DriverErrorText) {
  DriverApi api;
  api.cuGetErrorName = fakeErrorName;
  api.cuGetErrorString = fakeErrorString;
  Status status = driverError(api, CUDA_ERROR_INVALID_VALUE,
                              "cuLaunchKernel(fd_partial_online)");
  CHECK_EQ(status.getMessage(),
           std::string("cuLaunchKernel(fd_partial_online) failed: "
                       "CUDA_ERROR_INVALID_VALUE (invalid argument)"));
  CHECK(status.getCode() == ErrorCode::Driver);
  // A code the driver does not know is still shown.
  Status unknown = driverError(api, CUresult(1001), "cuInit");
  CHECK_EQ(unknown.getMessage(), std::string("cuInit failed: CUresult 1001"));
  // No GPU is its own category.
  CHECK(driverError(api, CUDA_ERROR_NO_DEVICE, "cuInit").getCode() ==
        ErrorCode::NoDevice);
}

TEST(NoDriverIsAnErrorValue) {
  // main() points FD_LIBCUDA at a file that does not exist.
  Expected<const DriverApi *> driver = getDriver();
  CHECK_ERROR(driver, "cannot load the CUDA driver "
                      "(/nonexistent/libcuda.so.1): ");
  CHECK(driver.getStatus().getCode() == ErrorCode::NoDevice);
  Expected<std::shared_ptr<Context>> context = Context::create(0);
  CHECK_ERROR(context, "cannot load the CUDA driver");
  CHECK(context.getStatus().getCode() == ErrorCode::NoDevice);
  CHECK(lookupDriverSymbol("cuInit") == nullptr);
}

TEST(StatusBasics) {
  Status ok;
  CHECK(ok.ok());
  CHECK(ok.withContext("x").ok());
  Status error = Status::error(ErrorCode::Io, "disk");
  CHECK_EQ(error.withContext("loading").getMessage(),
           std::string("loading: disk"));
  CHECK(error.withContext("loading").getCode() == ErrorCode::Io);
  // An "error" with code Ok must not read as success.
  CHECK(!Status::error(ErrorCode::Ok, "oops").ok());
  Expected<int> fromOk{Status()};
  CHECK(!fromOk.ok());
  Expected<int> value{3};
  CHECK(value.ok());
  CHECK_EQ(*value, 3);
}
