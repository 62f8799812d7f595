//===- TextTable.cpp - the line format of fd's measured tables ------------===//
#include "TextTable.h"

#include "FileRead.h"

using namespace fd;
using namespace fd::rt;

Expected<std::string> fd::rt::readTableFile(const std::string &path,
                                            std::string_view what) {
  return readRegularFile(path, what, kMaxTableBytes);
}

Status fd::rt::forEachTableLine(
    std::string_view text, std::string_view sourceName,
    const std::function<std::string(std::istringstream &fields)> &parseLine) {
  std::istringstream in{std::string(text)};
  std::string line;
  int lineNo = 0;
  while (std::getline(in, line)) {
    ++lineNo;
    if (size_t hash = line.find('#'); hash != std::string::npos)
      line.resize(hash);
    std::istringstream fields(line);
    std::string error = parseLine(fields);
    if (!error.empty())
      return Status::error(ErrorCode::Parse, std::string(sourceName) + ":" +
                                                 std::to_string(lineNo) +
                                                 ": " + error);
  }
  return Status::success();
}
