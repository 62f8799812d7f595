//===- PtxInfo.cpp - What the runtime reads out of PTX text ---------------===//

#include "PtxInfo.h"

#include <cctype>

using namespace fd::rt;

bool fd::rt::parseChip(std::string_view chip, ModuleSpec &module) {
  if (chip.substr(0, 3) != "sm_")
    return false;
  std::string_view rest = chip.substr(3);
  char suffix = 0;
  if (!rest.empty() && (rest.back() == 'a' || rest.back() == 'f')) {
    suffix = rest.back();
    rest.remove_suffix(1);
  }
  if (rest.size() < 2 || rest.size() > 3)
    return false;
  for (char c : rest)
    if (c < '0' || c > '9')
      return false;
  // The last digit is the minor version: sm_90 is 9.0, sm_120 is 12.0.
  module.ccMajor = std::stoi(std::string(rest.substr(0, rest.size() - 1)));
  module.ccMinor = rest.back() - '0';
  module.archSuffix = suffix;
  return true;
}

Status fd::rt::checkChipCompatible(const ModuleSpec &module, int ccMajor,
                                   int ccMinor) {
  std::string device =
      "sm_" + std::to_string(ccMajor) + std::to_string(ccMinor);
  auto mismatch = [&](const char *why) {
    return Status::error(ErrorCode::Unsupported,
                         "module '" + module.name + "' is PTX for " +
                             module.chip + " but the device is " + device +
                             " (compute capability " + std::to_string(ccMajor) +
                             "." + std::to_string(ccMinor) + "): " + why +
                             "; rebuild the bundle for " + device);
  };
  int mod = module.ccMajor * 10 + module.ccMinor;
  int dev = ccMajor * 10 + ccMinor;
  if (module.archSuffix == 'a') {
    // Arch-specific PTX (wgmma, setmaxnreg, ...) runs on that chip only.
    if (mod != dev)
      return mismatch("arch-specific PTX runs only on that exact chip");
    return Status::success();
  }
  if (module.archSuffix == 'f') {
    if (module.ccMajor != ccMajor || ccMinor < module.ccMinor)
      return mismatch("family-specific PTX runs only on the same family, "
                      "equal or newer minor version");
    return Status::success();
  }
  if (dev < mod)
    return mismatch("the device is older than the PTX target");
  return Status::success();
}

/// Size of a PTX parameter declaration such as ".param .u64 .ptr .align 1
/// name" (8) or ".param .u32 name" (4); 0 if it is not a plain scalar.
static unsigned getPtxParamBytes(std::string_view decl) {
  if (decl.find('[') != std::string_view::npos)
    return 0;
  size_t pos = 0;
  while (pos < decl.size()) {
    while (pos < decl.size() &&
           std::isspace(static_cast<unsigned char>(decl[pos])))
      ++pos;
    size_t start = pos;
    while (pos < decl.size() &&
           !std::isspace(static_cast<unsigned char>(decl[pos])))
      ++pos;
    std::string_view token = decl.substr(start, pos - start);
    if (token.size() >= 3 && token[0] == '.' &&
        (token[1] == 'u' || token[1] == 's' || token[1] == 'b' ||
         token[1] == 'f')) {
      std::string_view bits = token.substr(2);
      if (bits == "8")
        return 1;
      if (bits == "16")
        return 2;
      if (bits == "32")
        return 4;
      if (bits == "64")
        return 8;
    }
  }
  return 0;
}

std::vector<PtxEntry> fd::rt::findPtxEntries(std::string_view ptx) {
  std::vector<PtxEntry> entries;
  auto isIdent = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '_' || c == '$' || c == '.';
  };
  auto isSpace = [](char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
  };
  size_t pos = 0;
  while ((pos = ptx.find(".entry", pos)) != std::string_view::npos) {
    pos += 6;
    if (pos >= ptx.size() || (ptx[pos] != ' ' && ptx[pos] != '\t'))
      continue;
    while (pos < ptx.size() && (ptx[pos] == ' ' || ptx[pos] == '\t'))
      ++pos;
    size_t start = pos;
    while (pos < ptx.size() && isIdent(ptx[pos]))
      ++pos;
    if (pos == start)
      continue;
    PtxEntry entry;
    entry.name = std::string(ptx.substr(start, pos - start));
    while (pos < ptx.size() && isSpace(ptx[pos]))
      ++pos;
    // The parameter list is optional; declarations are comma-separated.
    if (pos < ptx.size() && ptx[pos] == '(') {
      size_t close = ptx.find(')', pos);
      if (close == std::string_view::npos)
        close = ptx.size();
      std::string_view list = ptx.substr(pos + 1, close - pos - 1);
      size_t from = 0;
      while (from <= list.size()) {
        size_t comma = list.find(',', from);
        std::string_view decl = list.substr(
            from, comma == std::string_view::npos ? std::string_view::npos
                                                  : comma - from);
        if (decl.find(".param") != std::string_view::npos)
          entry.paramBytes.push_back(getPtxParamBytes(decl));
        if (comma == std::string_view::npos)
          break;
        from = comma + 1;
      }
      pos = close;
    }
    // Performance directives sit between the parameters and the body.
    size_t body = ptx.find('{', pos);
    std::string_view directives = ptx.substr(
        pos, body == std::string_view::npos ? std::string_view::npos
                                            : body - pos);
    constexpr std::string_view kReqCluster = ".reqnctapercluster";
    if (size_t at = directives.find(kReqCluster);
        at != std::string_view::npos) {
      size_t p = at + kReqCluster.size();
      for (unsigned d = 0; d < 3; ++d) {
        while (p < directives.size() &&
               (isSpace(directives[p]) || directives[p] == ','))
          ++p;
        unsigned v = 0;
        size_t digits = p;
        while (p < directives.size() && directives[p] >= '0' &&
               directives[p] <= '9' && v < 100000)
          v = v * 10 + unsigned(directives[p++] - '0');
        if (p == digits)
          break;
        entry.cluster[d] = v;
      }
    }
    entries.push_back(std::move(entry));
  }
  return entries;
}

std::string fd::rt::findPtxTarget(std::string_view ptx) {
  size_t pos = ptx.find(".target");
  if (pos == std::string_view::npos)
    return {};
  pos += 7;
  while (pos < ptx.size() && (ptx[pos] == ' ' || ptx[pos] == '\t'))
    ++pos;
  size_t start = pos;
  while (pos < ptx.size() && ptx[pos] != ',' && ptx[pos] != ' ' &&
         ptx[pos] != '\t' && ptx[pos] != '\n' && ptx[pos] != '\r')
    ++pos;
  return std::string(ptx.substr(start, pos - start));
}
