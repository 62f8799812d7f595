//===- Json.cpp - Minimal JSON reader for bundle manifests ----------------===//

#include "fd/Runtime/Json.h"

#include <cstdio>
#include <locale>
#include <sstream>
#include <unordered_set>

using namespace fd::rt;

const JsonValue *JsonValue::find(std::string_view key) const {
  if (kind != Kind::Object)
    return nullptr;
  for (size_t i = 0, e = keys.size(); i != e; ++i)
    if (keys[i] == key)
      return &items[i];
  return nullptr;
}

const char *JsonValue::kindName(Kind kind) {
  switch (kind) {
  case Kind::Null:
    return "null";
  case Kind::Bool:
    return "boolean";
  case Kind::Number:
    return "number";
  case Kind::String:
    return "string";
  case Kind::Array:
    return "array";
  case Kind::Object:
    return "object";
  }
  return "value";
}

SourceLocation fd::rt::getSourceLocation(std::string_view text, size_t offset) {
  SourceLocation loc;
  if (offset > text.size())
    offset = text.size();
  for (size_t i = 0; i < offset; ++i) {
    if (text[i] == '\n') {
      ++loc.line;
      loc.column = 1;
    } else {
      ++loc.column;
    }
  }
  return loc;
}

namespace fd::rt {
/// Recursive-descent parser over a string_view. It stops at the first error
/// and records where it happened; values built so far are discarded.
class JsonParser {
public:
  explicit JsonParser(std::string_view text) : text(text) {}

  Expected<JsonValue> parseDocument();

private:
  /// Nesting beyond this is rejected instead of risking the stack on a
  /// corrupt or hostile file; manifests nest about 6 deep.
  static constexpr int kMaxDepth = 256;

  bool parseValue(JsonValue &out, int depth);
  bool parseObject(JsonValue &out, int depth);
  bool parseArray(JsonValue &out, int depth);
  bool parseString(std::string &out);
  bool parseNumber(JsonValue &out);
  bool parseLiteral(std::string_view word, JsonValue &out);
  bool parseHex4(unsigned &out);

  void skipWhitespace() {
    while (pos < text.size() && (text[pos] == ' ' || text[pos] == '\t' ||
                                 text[pos] == '\n' || text[pos] == '\r'))
      ++pos;
  }
  bool atEnd() const { return pos >= text.size(); }
  char peek() const { return text[pos]; }

  /// Describes the character at the current position for an error message.
  std::string describeCurrent() const;
  bool fail(std::string what) { return failAt(pos, std::move(what)); }
  bool failAt(size_t at, std::string what) {
    if (errorMessage.empty()) {
      errorOffset = at;
      errorMessage = std::move(what);
    }
    return false;
  }

  std::string_view text;
  size_t pos = 0;
  size_t errorOffset = 0;
  std::string errorMessage;
};
} // namespace fd::rt

std::string JsonParser::describeCurrent() const {
  if (atEnd())
    return "end of input";
  unsigned char c = static_cast<unsigned char>(peek());
  char buf[32];
  if (c >= 0x20 && c < 0x7f)
    std::snprintf(buf, sizeof(buf), "'%c'", c);
  else
    std::snprintf(buf, sizeof(buf), "byte 0x%02X", c);
  return buf;
}

Expected<JsonValue> JsonParser::parseDocument() {
  JsonValue root;
  // Tolerate a UTF-8 byte order mark; some editors add one.
  if (text.substr(0, 3) == "\xEF\xBB\xBF")
    pos = 3;
  skipWhitespace();
  bool ok;
  if (atEnd())
    ok = fail("empty input, expected a JSON value");
  else
    ok = parseValue(root, 0);
  if (ok) {
    skipWhitespace();
    if (!atEnd())
      ok = fail("unexpected " + describeCurrent() +
                " after the end of the top-level value");
  }
  if (ok)
    return root;
  SourceLocation loc = getSourceLocation(text, errorOffset);
  return Status::error(ErrorCode::Parse,
                       "line " + std::to_string(loc.line) + ", column " +
                           std::to_string(loc.column) + " (byte " +
                           std::to_string(errorOffset) + "): " + errorMessage);
}

bool JsonParser::parseValue(JsonValue &out, int depth) {
  skipWhitespace();
  if (atEnd())
    return fail("unexpected end of input, expected a value");
  out.offset = pos;
  switch (peek()) {
  case '{':
    return parseObject(out, depth + 1);
  case '[':
    return parseArray(out, depth + 1);
  case '"':
    out.kind = JsonValue::Kind::String;
    return parseString(out.string);
  case 't':
    return parseLiteral("true", out);
  case 'f':
    return parseLiteral("false", out);
  case 'n':
    return parseLiteral("null", out);
  default:
    if (peek() == '-' || (peek() >= '0' && peek() <= '9'))
      return parseNumber(out);
    return fail("unexpected " + describeCurrent() + ", expected a value");
  }
}

bool JsonParser::parseLiteral(std::string_view word, JsonValue &out) {
  if (text.substr(pos, word.size()) != word)
    return fail("invalid literal, expected '" + std::string(word) + "'");
  pos += word.size();
  if (word == "null") {
    out.kind = JsonValue::Kind::Null;
  } else {
    out.kind = JsonValue::Kind::Bool;
    out.boolValue = word == "true";
  }
  return true;
}

bool JsonParser::parseObject(JsonValue &out, int depth) {
  if (depth > kMaxDepth)
    return fail("nesting deeper than " + std::to_string(kMaxDepth) + " levels");
  out.kind = JsonValue::Kind::Object;
  ++pos; // '{'
  skipWhitespace();
  if (!atEnd() && peek() == '}') {
    ++pos;
    return true;
  }
  // Duplicate keys would make the manifest ambiguous (which one wins differs
  // between JSON libraries), so they are an error here.
  std::unordered_set<std::string> seen;
  while (true) {
    skipWhitespace();
    if (atEnd())
      return fail("unexpected end of input inside an object, expected '\"'");
    if (peek() != '"')
      return fail("unexpected " + describeCurrent() +
                  ", expected a string as object key");
    size_t keyOffset = pos;
    std::string key;
    if (!parseString(key))
      return false;
    if (!seen.insert(key).second)
      return failAt(keyOffset, "duplicate key \"" + key + "\"");
    skipWhitespace();
    if (atEnd() || peek() != ':')
      return fail("unexpected " + describeCurrent() +
                  ", expected ':' after object key");
    ++pos;
    JsonValue value;
    if (!parseValue(value, depth))
      return false;
    out.keys.push_back(std::move(key));
    out.items.push_back(std::move(value));
    skipWhitespace();
    if (atEnd())
      return fail("unexpected end of input inside an object, expected ',' or "
                  "'}'");
    if (peek() == ',') {
      ++pos;
      continue;
    }
    if (peek() == '}') {
      ++pos;
      return true;
    }
    return fail("unexpected " + describeCurrent() +
                ", expected ',' or '}' in object");
  }
}

bool JsonParser::parseArray(JsonValue &out, int depth) {
  if (depth > kMaxDepth)
    return fail("nesting deeper than " + std::to_string(kMaxDepth) + " levels");
  out.kind = JsonValue::Kind::Array;
  ++pos; // '['
  skipWhitespace();
  if (!atEnd() && peek() == ']') {
    ++pos;
    return true;
  }
  while (true) {
    JsonValue value;
    if (!parseValue(value, depth))
      return false;
    out.items.push_back(std::move(value));
    skipWhitespace();
    if (atEnd())
      return fail("unexpected end of input inside an array, expected ',' or "
                  "']'");
    if (peek() == ',') {
      ++pos;
      continue;
    }
    if (peek() == ']') {
      ++pos;
      return true;
    }
    return fail("unexpected " + describeCurrent() +
                ", expected ',' or ']' in array");
  }
}

bool JsonParser::parseHex4(unsigned &out) {
  out = 0;
  for (int i = 0; i < 4; ++i, ++pos) {
    if (atEnd())
      return fail("unexpected end of input inside a \\u escape");
    char c = peek();
    unsigned digit;
    if (c >= '0' && c <= '9')
      digit = c - '0';
    else if (c >= 'a' && c <= 'f')
      digit = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F')
      digit = c - 'A' + 10;
    else
      return fail("invalid hex digit " + describeCurrent() + " in \\u escape");
    out = out * 16 + digit;
  }
  return true;
}

/// Appends the UTF-8 encoding of \p cp (at most U+10FFFF) to \p out.
static void appendUtf8(std::string &out, unsigned cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

bool JsonParser::parseString(std::string &out) {
  size_t start = pos;
  ++pos; // opening quote
  while (true) {
    // Copy the run up to the next quote, backslash or control character in
    // one go: PTX strings are long and mostly plain.
    size_t runStart = pos;
    while (pos < text.size() && text[pos] != '"' && text[pos] != '\\' &&
           static_cast<unsigned char>(text[pos]) >= 0x20)
      ++pos;
    out.append(text.data() + runStart, pos - runStart);
    if (atEnd())
      return failAt(start, "unterminated string (input ends before the "
                           "closing '\"')");
    char c = peek();
    if (c == '"') {
      ++pos;
      return true;
    }
    if (c != '\\')
      return fail("unescaped control character " + describeCurrent() +
                  " in string");
    size_t escapeStart = pos;
    ++pos;
    if (atEnd())
      return fail("unexpected end of input after '\\' in string");
    char e = peek();
    ++pos;
    switch (e) {
    case '"':
      out += '"';
      break;
    case '\\':
      out += '\\';
      break;
    case '/':
      out += '/';
      break;
    case 'b':
      out += '\b';
      break;
    case 'f':
      out += '\f';
      break;
    case 'n':
      out += '\n';
      break;
    case 'r':
      out += '\r';
      break;
    case 't':
      out += '\t';
      break;
    case 'u': {
      unsigned cp;
      if (!parseHex4(cp))
        return false;
      if (cp >= 0xDC00 && cp <= 0xDFFF)
        return failAt(escapeStart, "invalid \\u escape: unpaired low "
                                   "surrogate");
      if (cp >= 0xD800 && cp <= 0xDBFF) {
        // A high surrogate must be followed by an escaped low surrogate;
        // together they encode one code point above U+FFFF.
        if (text.substr(pos, 2) != "\\u")
          return failAt(escapeStart, "invalid \\u escape: high surrogate not "
                                     "followed by a low surrogate");
        pos += 2;
        unsigned low;
        if (!parseHex4(low))
          return false;
        if (low < 0xDC00 || low > 0xDFFF)
          return failAt(escapeStart, "invalid \\u escape: high surrogate not "
                                     "followed by a low surrogate");
        cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
      }
      appendUtf8(out, cp);
      break;
    }
    default:
      return failAt(escapeStart,
                    "invalid escape '\\" + std::string(1, e) + "' in string");
    }
  }
}

bool JsonParser::parseNumber(JsonValue &out) {
  size_t start = pos;
  if (peek() == '-')
    ++pos;
  auto isDigit = [&] { return !atEnd() && peek() >= '0' && peek() <= '9'; };
  if (!isDigit())
    return fail("invalid number: expected a digit");
  if (peek() == '0') {
    ++pos;
    if (isDigit())
      return failAt(start, "invalid number: leading zeros are not allowed");
  } else {
    while (isDigit())
      ++pos;
  }
  bool integral = true;
  if (!atEnd() && peek() == '.') {
    integral = false;
    ++pos;
    if (!isDigit())
      return fail("invalid number: expected a digit after '.'");
    while (isDigit())
      ++pos;
  }
  if (!atEnd() && (peek() == 'e' || peek() == 'E')) {
    integral = false;
    ++pos;
    if (!atEnd() && (peek() == '+' || peek() == '-'))
      ++pos;
    if (!isDigit())
      return fail("invalid number: expected a digit in the exponent");
    while (isDigit())
      ++pos;
  }
  std::string_view literal = text.substr(start, pos - start);
  out.kind = JsonValue::Kind::Number;

  if (integral) {
    // Exact 64-bit integers: sizes and byte counts must not go through a
    // double and lose precision.
    bool negative = literal[0] == '-';
    uint64_t magnitude = 0;
    bool overflow = false;
    for (char c : literal.substr(negative ? 1 : 0)) {
      unsigned digit = c - '0';
      if (magnitude > (UINT64_MAX - digit) / 10) {
        overflow = true;
        break;
      }
      magnitude = magnitude * 10 + digit;
    }
    uint64_t limit = negative ? uint64_t(INT64_MAX) + 1 : uint64_t(INT64_MAX);
    if (!overflow && magnitude <= limit) {
      out.integral = true;
      out.integer = negative ? static_cast<int64_t>(0 - magnitude)
                             : static_cast<int64_t>(magnitude);
      out.number = static_cast<double>(out.integer);
      return true;
    }
  }
  // The classic locale keeps '.' the decimal point whatever the host
  // application set with setlocale.
  std::istringstream stream{std::string(literal)};
  stream.imbue(std::locale::classic());
  double value = 0;
  stream >> value;
  if (stream.fail())
    return failAt(start, "number " + std::string(literal) +
                             " is out of range for a double");
  out.number = value;
  return true;
}

Expected<JsonValue> fd::rt::parseJson(std::string_view text) {
  return JsonParser(text).parseDocument();
}
