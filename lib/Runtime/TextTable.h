//===- TextTable.h - the line format of fd's measured tables ----*- C++ -*-===//
//
// Private to lib/Runtime: the dispatch table (FlatGemm.h) and the variant
// table (VariantTable.h) are both text files of whitespace-separated fields,
// one record per line, '#' starting a comment. This reads them once.
//
//===----------------------------------------------------------------------===//
#ifndef FD_LIB_RUNTIME_TEXTTABLE_H
#define FD_LIB_RUNTIME_TEXTTABLE_H

#include "fd/Runtime/Status.h"

#include <cstdint>
#include <functional>
#include <sstream>
#include <string>
#include <string_view>

namespace fd::rt {

/// The largest table file read: a table has a line per measured shape
/// (tens of bytes each), so 64 MiB is millions of measurements and a larger
/// file is not a table.
inline constexpr uint64_t kMaxTableBytes = uint64_t(64) << 20;

/// The whole regular file at \p path, at most kMaxTableBytes; the error
/// names it and \p what (e.g. "dispatch table").
Expected<std::string> readTableFile(const std::string &path,
                                    std::string_view what);

/// Calls \p parseLine with the fields of every line of \p text, comments
/// removed. parseLine returns an error message ("" for none); the first one
/// fails the parse as ErrorCode::Parse, prefixed "<sourceName>:<line>: ".
Status forEachTableLine(
    std::string_view text, std::string_view sourceName,
    const std::function<std::string(std::istringstream &fields)> &parseLine);

} // namespace fd::rt

#endif // FD_LIB_RUNTIME_TEXTTABLE_H
