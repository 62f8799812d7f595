//===- Status.h - Error values of the fd runtime ----------------*- C++ -*-===//
//
// The runtime never throws and never aborts on bad input: every fallible call
// returns a Status or an Expected<T> whose message says what went wrong and
// what the runtime was doing. The C API maps ErrorCode onto its int codes.
//
//===----------------------------------------------------------------------===//

#ifndef FD_RUNTIME_STATUS_H
#define FD_RUNTIME_STATUS_H

#include "fd/Runtime/Export.h"

#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace fd::rt {

/// Broad category of a failure. The values are the C API's status codes.
enum class ErrorCode : int {
  Ok = 0,
  InvalidArgument = 1, ///< The caller passed something wrong (tensor, plan).
  Io = 2,              ///< A file could not be read.
  Parse = 3,           ///< The manifest is not well-formed JSON.
  InvalidBundle = 4,   ///< Well-formed JSON that is not a valid bundle.
  Unsupported = 5,     ///< Valid, but not runnable here (version, op, chip).
  NoDevice = 6,        ///< No CUDA driver or no GPU.
  Driver = 7,          ///< The CUDA driver returned an error.
  Internal = 8,        ///< A bug or resource exhaustion in the runtime.
};

/// Short lower-case name of \p code ("invalid argument", ...).
FD_RT_API const char *errorCodeName(ErrorCode code);

/// Success, or an error code with a human-readable message.
class [[nodiscard]] Status {
public:
  /// Success.
  Status() = default;

  static Status success() { return Status(); }
  static Status error(ErrorCode code, std::string message) {
    Status s;
    // An error must never read as success, whatever the caller passed.
    s.code = code == ErrorCode::Ok ? ErrorCode::Internal : code;
    s.message = std::move(message);
    return s;
  }

  bool ok() const { return code == ErrorCode::Ok; }
  ErrorCode getCode() const { return code; }
  const std::string &getMessage() const { return message; }

  /// Returns this error with "context: " put in front of its message, so an
  /// outer layer can say what it was doing without losing the inner reason.
  Status withContext(std::string_view context) const {
    if (ok())
      return *this;
    return error(code, std::string(context) + ": " + message);
  }

private:
  ErrorCode code = ErrorCode::Ok;
  std::string message;
};

/// A value of type T, or the Status saying why there is none.
template <typename T> class [[nodiscard]] Expected {
public:
  Expected(T value) : value(std::move(value)) {}
  // Constructing from success would leave neither a value nor an error.
  // (Initialised, not assigned: nvcc reads the assignment's Status& as a
  // discarded [[nodiscard]] value.)
  Expected(Status status)
      : status(status.ok() ? Status::error(ErrorCode::Internal,
                                           "Expected constructed from a "
                                           "success")
                           : std::move(status)) {}

  bool ok() const { return value.has_value(); }
  explicit operator bool() const { return ok(); }

  T &operator*() { return *value; }
  const T &operator*() const { return *value; }
  T *operator->() { return &*value; }
  const T *operator->() const { return &*value; }

  /// The error; success when a value is held.
  const Status &getStatus() const { return status; }
  /// Moves the value out; only valid when ok().
  T take() { return std::move(*value); }

private:
  std::optional<T> value;
  Status status;
};

} // namespace fd::rt

#endif // FD_RUNTIME_STATUS_H
