//===- FileRead.cpp - Reading a whole input file, bounded -----------------===//
#include "FileRead.h"

#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace fd::rt;

Expected<std::string> fd::rt::readRegularFile(const std::string &path,
                                              std::string_view what,
                                              uint64_t maxBytes) {
  std::string kind(what);
  // O_NONBLOCK: opening a FIFO must not wait for a writer before fstat can
  // refuse it; it changes nothing for regular files.
  int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0)
    return Status::error(ErrorCode::Io, path + ": cannot open " + kind +
                                            ": " + std::strerror(errno));
  auto failWith = [&](const std::string &message) {
    ::close(fd);
    return Status::error(ErrorCode::Io, path + ": " + message);
  };
  struct stat info;
  if (::fstat(fd, &info) != 0)
    return failWith("cannot read " + kind + ": " + std::strerror(errno));
  if (!S_ISREG(info.st_mode))
    return failWith("cannot read " + kind +
                    ": not a regular file (a device, FIFO or directory would "
                    "be read without end)");
  if (static_cast<uint64_t>(info.st_size) > maxBytes)
    return failWith(kind + " is " + std::to_string(info.st_size) +
                    " bytes, more than the " + std::to_string(maxBytes) +
                    " this runtime reads");
  std::string contents;
  contents.reserve(static_cast<size_t>(info.st_size));
  char buffer[1 << 16];
  for (;;) {
    ssize_t n = ::read(fd, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return failWith("cannot read " + kind + ": " + std::strerror(errno));
    if (n == 0)
      break;
    // The file may grow while it is read: the limit holds for what is read.
    if (contents.size() + static_cast<size_t>(n) > maxBytes)
      return failWith(kind + " is more than the " + std::to_string(maxBytes) +
                      " bytes this runtime reads");
    contents.append(buffer, static_cast<size_t>(n));
  }
  ::close(fd);
  return contents;
}
