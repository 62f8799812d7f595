//===- FileRead.h - Reading a whole input file, bounded ---------*- C++ -*-===//
//
// Private to lib/Runtime. Bundles and the measured tables are read whole;
// a path naming a device or a FIFO (/dev/zero, a pipe that never ends) would
// otherwise be read until allocation fails, so only regular files of at most
// a given size are read.
//
//===----------------------------------------------------------------------===//
#ifndef FD_LIB_RUNTIME_FILEREAD_H
#define FD_LIB_RUNTIME_FILEREAD_H

#include "fd/Runtime/Status.h"

#include <cstdint>
#include <string>
#include <string_view>

namespace fd::rt {

/// The contents of the regular file at \p path, at most \p maxBytes long.
/// Errors (ErrorCode::Io) read "<path>: cannot open <what>: <reason>",
/// "<path>: cannot read <what>: ..." or say that it is not a regular file
/// or is larger than \p maxBytes.
Expected<std::string> readRegularFile(const std::string &path,
                                      std::string_view what,
                                      uint64_t maxBytes);

} // namespace fd::rt

#endif // FD_LIB_RUNTIME_FILEREAD_H
