//===- PageCheck.cpp - checking a block table on the device ---------------===//
#include "PageCheck.h"

#include "fd/Runtime/Driver.h"

#include <climits>
#include <cstdlib>
#include <cstring>
#include <vector>

using namespace fd::rt;

ModuleSpec fd::rt::getPageCheckModule() {
  ModuleSpec m;
  m.name = "fd_page_check";
  // sm_80 PTX (the oldest chip fd compiles for): the driver JITs it for
  // any later one.
  m.chip = "sm_80";
  m.ccMajor = 8;
  m.ccMinor = 0;
  m.ptx =
#include "PageCheckPtx.inc"
      ;
  return m;
}

bool fd::rt::isPageCheckRequested() {
  static const bool requested = [] {
    const char *v = std::getenv("FD_CHECK_PAGES");
    return v && std::strcmp(v, "1") == 0;
  }();
  return requested;
}

namespace {
CUdeviceptr devicePtr(const void *p) {
  return static_cast<CUdeviceptr>(reinterpret_cast<uintptr_t>(p));
}

/// Element `index` of an i32 or i64 device array, read synchronously.
Expected<int64_t> readElement(const DriverApi &api, const TensorRef &t,
                              int64_t index, CUstream stream,
                              const std::string &what) {
  const size_t bytes = t.dtype == DType::I64 ? 8 : 4;
  int64_t wide = 0;
  int32_t narrow = 0;
  void *host = bytes == 8 ? static_cast<void *>(&wide) : &narrow;
  CUresult r = api.cuMemcpyDtoHAsync(
      host, devicePtr(t.data) + CUdeviceptr(index) * bytes, bytes, stream);
  if (r == CUDA_SUCCESS)
    r = api.cuStreamSynchronize(stream);
  if (r != CUDA_SUCCESS)
    return driverError(api, r, what + ": reading back a bad entry");
  return bytes == 8 ? wide : int64_t(narrow);
}
} // namespace

Status fd::rt::checkPagesOnDevice(const Context &context, CUfunction kernel,
                                  const EntrySpec &entry,
                                  const AttentionArgs &args, CUstream stream) {
  const std::string what = "page check of '" + entry.name + "'";
  const DriverApi &api = context.getDriver();
  Status capturable = refuseCapture(
      api, stream, what,
      "the check waits for its result; check the tables outside the capture");
  if (!capturable.ok())
    return capturable;
  const int64_t batch = args.q.sizes[0];
  if (batch == 0)
    return Status::success();
  const TensorRef &table = args.blockTable;
  const TensorRef &indptr = args.pageIndptr;
  const bool csr = entry.isCsr();
  // CSR: the kernel's max_pages bound is nnz_pages, each row's start and
  // length come from indptr.
  int64_t maxPages = csr ? table.sizes[0] : table.sizes[1],
          numPages = args.k.sizes[0], pageSize = entry.pageSize;
  if (maxPages > INT32_MAX)
    return Status::error(ErrorCode::InvalidArgument,
                         what + ": block_table has " +
                             std::to_string(maxPages) +
                             (csr ? " pages" : " slots per sequence") +
                             "; the check handles at most " +
                             std::to_string(INT32_MAX));
  // A one-row table may carry any stride; the kernel indexes rows by it.
  int64_t stride = csr ? 0 : (batch > 1 ? table.strides[0] : maxPages);

  CUdeviceptr result = 0;
  CUresult r = api.cuMemAlloc(&result, size_t(batch) * 4);
  if (r != CUDA_SUCCESS)
    return driverError(api, r, what + ": cuMemAlloc");
  std::vector<int32_t> found(size_t(batch), 0);
  CUdeviceptr lensPtr = devicePtr(args.lens.data),
              tablePtr = devicePtr(table.data),
              indptrPtr = csr ? devicePtr(indptr.data) : 0;
  uint32_t lens64 = args.lens.dtype == DType::I64,
           table64 = table.dtype == DType::I64,
           indptr64 = csr && indptr.dtype == DType::I64;
  void *params[] = {&lensPtr,  &lens64,   &tablePtr, &table64,
                    &stride,   &maxPages, &pageSize, &numPages,
                    &result,   &indptrPtr, &indptr64};
  r = api.cuMemsetD32Async(result, uint32_t(INT32_MAX), size_t(batch), stream);
  if (r == CUDA_SUCCESS)
    r = api.cuLaunchKernel(kernel, unsigned(batch), 1, 1, 128, 1, 1, 0, stream,
                           params, nullptr);
  if (r == CUDA_SUCCESS)
    r = api.cuMemcpyDtoHAsync(found.data(), result, found.size() * 4, stream);
  if (r == CUDA_SUCCESS)
    r = api.cuStreamSynchronize(stream);
  (void)api.cuMemFree(result);
  if (r != CUDA_SUCCESS)
    return driverError(api, r, what);

  for (int64_t b = 0; b < batch; ++b) {
    if (found[size_t(b)] == INT32_MAX)
      continue;
    const std::string seq = std::to_string(b);
    // Sequence b's first slot and slot count in the table.
    int64_t rowStart = b * stride, rowSlots = maxPages;
    if (csr) {
      Expected<int64_t> start = readElement(api, indptr, b, stream, what);
      if (!start)
        return start.getStatus();
      Expected<int64_t> end = readElement(api, indptr, b + 1, stream, what);
      if (!end)
        return end.getStatus();
      if (found[size_t(b)] == -2)
        return Status::error(
            ErrorCode::InvalidArgument,
            what + ": page_indptr[" + seq + "] = " + std::to_string(*start) +
                ", page_indptr[" + std::to_string(b + 1) +
                "] = " + std::to_string(*end) +
                " is not an ordered range within [0, nnz_pages = " +
                std::to_string(maxPages) + "]");
      rowStart = *start;
      rowSlots = *end - *start;
    }
    Expected<int64_t> len = readElement(api, args.lens, b, stream, what);
    if (!len)
      return len.getStatus();
    if (found[size_t(b)] < 0)
      return Status::error(
          ErrorCode::InvalidArgument,
          what + ": lens[" + seq + "] = " + std::to_string(*len) +
              " is outside [0, " +
              (csr ? "pages of sequence " + seq : std::string("max_pages")) +
              " * page_size] = [0, " + std::to_string(rowSlots * pageSize) +
              "]");
    const int64_t slot = found[size_t(b)];
    Expected<int64_t> page =
        readElement(api, table, rowStart + slot, stream, what);
    if (!page)
      return page.getStatus();
    const std::string where =
        csr ? "block_table[" + std::to_string(rowStart + slot) +
                  "] (page " + std::to_string(slot) + " of sequence " + seq +
                  ")"
            : "block_table[" + seq + "][" + std::to_string(slot) + "]";
    return Status::error(
        ErrorCode::InvalidArgument,
        what + ": " + where + " = " + std::to_string(*page) +
            " is outside [0, num_pages = " + std::to_string(numPages) +
            "); sequence " + seq + " (lens = " + std::to_string(*len) +
            ") reads its first " +
            std::to_string((*len + pageSize - 1) / pageSize) + " pages");
  }
  return Status::success();
}
