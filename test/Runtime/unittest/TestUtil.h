//===- TestUtil.h - Minimal harness for fd-runtime-unittest -----*- C++ -*-===//
//
// No GoogleTest on the build machines, so: TEST() registers a function,
// CHECK*() record failures and keep going, main() runs everything and exits
// non-zero if anything failed.
//
//===----------------------------------------------------------------------===//

#ifndef FD_TEST_RUNTIME_TESTUTIL_H
#define FD_TEST_RUNTIME_TESTUTIL_H

#include "fd/Runtime/Bundle.h"
#include "fd/Runtime/Status.h"

#include <cstdint>
#include <memory>
#include <sstream>
#include <string>

namespace fdtest {

using TestFunction = void (*)();

/// Adds a test to the registry; used by TEST().
struct Registrar {
  Registrar(const char *name, TestFunction function);
};

/// Records a failure at file:line.
void fail(const char *file, int line, const std::string &message);

inline const fd::rt::Status &statusOf(const fd::rt::Status &status) {
  return status;
}
template <typename T>
const fd::rt::Status &statusOf(const fd::rt::Expected<T> &expected) {
  return expected.getStatus();
}

template <typename T> std::string show(const T &value) {
  std::ostringstream os;
  os << value;
  return os.str();
}

/// The manifest of docs/bundle.md's example with a stub PTX (the same bundle
/// as Inputs/valid.fdb).
const std::string &validManifest();

/// \p text with the first occurrence of \p from replaced by \p to; records a
/// failure if \p from does not occur (a stale test).
std::string replaceOnce(const std::string &text, const std::string &from,
                        const std::string &to, const char *file, int line);

/// \p text with the module's PTX replaced by "stub", which declares no
/// .entry: for tests that change kernel arguments without matching PTX.
std::string withStubPtx(const std::string &text);

/// validManifest() with a "variants" list: two copies of its own launch,
/// the second named \p secondName with \p init as its workspace_init and
/// \p counter as its fallback_counter (none when empty). A unified-max
/// \p secondName makes the entry unified_max (phi 0.5, threshold 20), the
/// first variant "two_kernel" and gives the second an extra i32 workspace
/// buffer "fallback_count" of shape [1]; otherwise the entry stays online
/// and the first variant is "split".
std::string withVariants(const std::string &init, const std::string &counter,
                         const std::string &secondName = "single_launch");

/// Loads validManifest(), failing the test if it does not load.
std::shared_ptr<const fd::rt::Bundle> loadValid();

} // namespace fdtest

#define TEST(name)                                                             \
  static void name();                                                          \
  static fdtest::Registrar name##Registrar(#name, name);                       \
  static void name()

#define CHECK(cond)                                                            \
  do {                                                                         \
    if (!(cond))                                                               \
      fdtest::fail(__FILE__, __LINE__, "CHECK(" #cond ") failed");             \
  } while (0)

#define CHECK_EQ(a, b)                                                         \
  do {                                                                         \
    auto checkA = (a);                                                         \
    auto checkB = (b);                                                         \
    if (!(checkA == checkB))                                                   \
      fdtest::fail(__FILE__, __LINE__,                                         \
                   "CHECK_EQ(" #a ", " #b ") failed: " +                       \
                       fdtest::show(checkA) + " != " + fdtest::show(checkB));  \
  } while (0)

/// Checks that a Status or Expected succeeded; shows the error if not.
#define CHECK_OK(expr)                                                         \
  do {                                                                         \
    auto &&checkValue = (expr); /* keeps a temporary alive */                  \
    const fd::rt::Status &checkStatus = fdtest::statusOf(checkValue);          \
    if (!checkStatus.ok())                                                     \
      fdtest::fail(__FILE__, __LINE__,                                         \
                   "CHECK_OK(" #expr ") failed: " + checkStatus.getMessage()); \
  } while (0)

/// Checks that a Status or Expected failed with a message containing
/// \p substring.
#define CHECK_ERROR(expr, substring)                                           \
  do {                                                                         \
    auto &&checkValue = (expr); /* keeps a temporary alive */                  \
    const fd::rt::Status &checkStatus = fdtest::statusOf(checkValue);          \
    if (checkStatus.ok())                                                      \
      fdtest::fail(__FILE__, __LINE__,                                         \
                   "CHECK_ERROR(" #expr ") succeeded, expected an error "      \
                   "containing: " +                                            \
                       std::string(substring));                                \
    else if (checkStatus.getMessage().find(substring) == std::string::npos)    \
      fdtest::fail(__FILE__, __LINE__,                                         \
                   "CHECK_ERROR(" #expr "): message\n    " +                   \
                       checkStatus.getMessage() +                              \
                       "\n  does not contain\n    " + std::string(substring)); \
  } while (0)

#define REPLACE(text, from, to)                                                \
  fdtest::replaceOnce(text, from, to, __FILE__, __LINE__)

#endif // FD_TEST_RUNTIME_TESTUTIL_H
