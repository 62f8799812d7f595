//===- Json.h - Minimal JSON reader for bundle manifests --------*- C++ -*-===//
//
// A small, self-contained JSON (RFC 8259) reader, so the runtime needs no
// third-party library. Every value remembers its byte offset in the source so
// that manifest validation can say where a bad field is.
//
//===----------------------------------------------------------------------===//

#ifndef FD_RUNTIME_JSON_H
#define FD_RUNTIME_JSON_H

#include "fd/Runtime/Status.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace fd::rt {

/// One parsed JSON value. Objects keep their members in source order.
class JsonValue {
public:
  enum class Kind { Null, Bool, Number, String, Array, Object };

  Kind getKind() const { return kind; }
  bool isNull() const { return kind == Kind::Null; }
  bool isBool() const { return kind == Kind::Bool; }
  bool isNumber() const { return kind == Kind::Number; }
  bool isString() const { return kind == Kind::String; }
  bool isArray() const { return kind == Kind::Array; }
  bool isObject() const { return kind == Kind::Object; }
  /// True for a number written without fraction or exponent that fits in an
  /// int64 ("128", "-3"); "128.0" and "1e3" are numbers but not integers.
  bool isInteger() const { return kind == Kind::Number && integral; }

  bool getBool() const { return boolValue; }
  double getNumber() const { return number; }
  int64_t getInteger() const { return integer; }
  const std::string &getString() const { return string; }

  /// Elements of an array, or member values of an object.
  const std::vector<JsonValue> &getItems() const { return items; }
  /// Member names of an object, parallel to getItems().
  const std::vector<std::string> &getKeys() const { return keys; }
  size_t size() const { return items.size(); }

  /// The member named \p key of an object, or null if absent / not an object.
  const JsonValue *find(std::string_view key) const;

  /// Byte offset of the value's first character in the parsed text.
  size_t getOffset() const { return offset; }

  /// "null", "boolean", "number", "string", "array" or "object".
  static const char *kindName(Kind kind);

private:
  friend class JsonParser;

  Kind kind = Kind::Null;
  bool boolValue = false;
  bool integral = false;
  double number = 0;
  int64_t integer = 0;
  size_t offset = 0;
  std::string string;
  std::vector<JsonValue> items;
  std::vector<std::string> keys;
};

/// A 1-based line and column (in bytes) in some text.
struct SourceLocation {
  size_t line = 1;
  size_t column = 1;
};

/// Converts a byte offset into a line and column of \p text.
SourceLocation getSourceLocation(std::string_view text, size_t offset);

/// Parses one JSON document. Errors are ErrorCode::Parse with a message of
/// the form "line L, column C (byte N): what".
Expected<JsonValue> parseJson(std::string_view text);

} // namespace fd::rt

#endif // FD_RUNTIME_JSON_H
