//===- Main.cpp - Runs every registered fd runtime unit test --------------===//

#include "TestUtil.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace {
struct Test {
  const char *name;
  fdtest::TestFunction function;
};
std::vector<Test> &registry() {
  static std::vector<Test> tests;
  return tests;
}
int failures = 0;
} // namespace

fdtest::Registrar::Registrar(const char *name, TestFunction function) {
  registry().push_back({name, function});
}

void fdtest::fail(const char *file, int line, const std::string &message) {
  std::fprintf(stderr, "%s:%d: %s\n", file, line, message.c_str());
  ++failures;
}

std::string fdtest::replaceOnce(const std::string &text,
                                const std::string &from, const std::string &to,
                                const char *file, int line) {
  size_t pos = text.find(from);
  if (pos == std::string::npos) {
    fail(file, line, "REPLACE: '" + from + "' not found in the manifest");
    return text;
  }
  return text.substr(0, pos) + to + text.substr(pos + from.size());
}

std::string fdtest::withStubPtx(const std::string &text) {
  size_t begin = text.find("\"ptx\": \"");
  size_t end = begin == std::string::npos ? begin : text.find('\n', begin);
  if (end == std::string::npos) {
    fail(__FILE__, __LINE__, "withStubPtx: no \"ptx\" line");
    return text;
  }
  return text.substr(0, begin) + "\"ptx\": \"stub\"" + text.substr(end);
}

std::shared_ptr<const fd::rt::Bundle> fdtest::loadValid() {
  auto bundle = fd::rt::Bundle::loadMemory(validManifest(), "valid");
  if (!bundle) {
    fail(__FILE__, __LINE__,
         "the valid manifest does not load: " +
             bundle.getStatus().getMessage());
    std::exit(1);
  }
  return *bundle;
}

int main(int argc, char **argv) {
  // The unit tests never touch a GPU: make "no driver" the same on every
  // machine (the GPU path is covered by fd-runtime-gputest).
  setenv("FD_LIBCUDA", "/nonexistent/libcuda.so.1", 1);
  const char *filter = argc > 1 ? argv[1] : nullptr;
  int run = 0;
  for (const Test &test : registry()) {
    if (filter && !std::strstr(test.name, filter))
      continue;
    int before = failures;
    test.function();
    ++run;
    std::printf("%s %s\n", failures == before ? "PASS" : "FAIL", test.name);
  }
  std::printf("%d tests, %d failed checks\n", run, failures);
  return failures == 0 && run > 0 ? 0 : 1;
}
