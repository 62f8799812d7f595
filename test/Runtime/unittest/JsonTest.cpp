//===- JsonTest.cpp - Tests of the JSON reader ----------------------------===//

#include "TestUtil.h"

#include "fd/Runtime/Json.h"

using namespace fd::rt;

static JsonValue parseOk(const std::string &text) {
  Expected<JsonValue> value = parseJson(text);
  CHECK_OK(value);
  return value ? *value : JsonValue();
}

TEST(JsonScalars) {
  CHECK(parseOk("null").isNull());
  CHECK(parseOk(" true ").getBool());
  CHECK(!parseOk("false").getBool());
  CHECK(parseOk("false").isBool());

  JsonValue zero = parseOk("-0");
  CHECK(zero.isInteger());
  CHECK_EQ(zero.getInteger(), 0);

  JsonValue n = parseOk("-45");
  CHECK(n.isInteger());
  CHECK_EQ(n.getInteger(), -45);
  CHECK_EQ(n.getNumber(), -45.0);

  // Fractions and exponents are numbers but not integers.
  JsonValue real = parseOk("1.5");
  CHECK(real.isNumber());
  CHECK(!real.isInteger());
  CHECK_EQ(real.getNumber(), 1.5);
  JsonValue exp = parseOk("1E3");
  CHECK(!exp.isInteger());
  CHECK_EQ(exp.getNumber(), 1000.0);
  CHECK_EQ(parseOk("-2.5e-3").getNumber(), -0.0025);
  CHECK_EQ(parseOk("0.08838834764831845").getNumber(), 0.08838834764831845);

  // int64 limits are exact; one past them falls back to a double.
  JsonValue max = parseOk("9223372036854775807");
  CHECK(max.isInteger());
  CHECK_EQ(max.getInteger(), INT64_MAX);
  JsonValue min = parseOk("-9223372036854775808");
  CHECK(min.isInteger());
  CHECK_EQ(min.getInteger(), INT64_MIN);
  JsonValue big = parseOk("9223372036854775808");
  CHECK(big.isNumber());
  CHECK(!big.isInteger());
  CHECK_EQ(big.getNumber(), 9223372036854775808.0);
}

TEST(JsonStringEscapes) {
  CHECK_EQ(parseOk(R"("plain")").getString(), std::string("plain"));
  CHECK_EQ(parseOk(R"("\"\\\/\b\f\n\r\t")").getString(),
           std::string("\"\\/\b\f\n\r\t"));
  CHECK_EQ(parseOk(R"("\u0041\u0062")").getString(), std::string("Ab"));
  // Two- and three-byte UTF-8, and a surrogate pair (U+1F600).
  CHECK_EQ(parseOk(R"("\u00e9")").getString(), std::string("\xC3\xA9"));
  CHECK_EQ(parseOk(R"("\u20AC")").getString(), std::string("\xE2\x82\xAC"));
  CHECK_EQ(parseOk(R"("\ud83d\ude00")").getString(),
           std::string("\xF0\x9F\x98\x80"));
  // \u0000 is a valid character inside a std::string.
  CHECK_EQ(parseOk(R"("a\u0000b")").getString(), std::string("a\0b", 3));
  // Raw UTF-8 passes through.
  CHECK_EQ(parseOk("\"caf\xC3\xA9\"").getString(), std::string("caf\xC3\xA9"));
  // PTX-like text with tabs and newlines escaped.
  CHECK_EQ(parseOk(R"(".entry f()\n{\n\tret;\n}")").getString(),
           std::string(".entry f()\n{\n\tret;\n}"));
}

TEST(JsonNesting) {
  JsonValue v = parseOk(R"( {"a": [1, {"b": [[], {}]}], "c": {}, "d": "x"} )");
  CHECK(v.isObject());
  CHECK_EQ(v.size(), size_t(3));
  CHECK_EQ(v.getKeys()[0], std::string("a"));
  CHECK_EQ(v.getKeys()[2], std::string("d"));
  const JsonValue *a = v.find("a");
  CHECK(a && a->isArray() && a->size() == 2);
  if (a && a->size() == 2) {
    CHECK_EQ(a->getItems()[0].getInteger(), 1);
    const JsonValue *b = a->getItems()[1].find("b");
    CHECK(b && b->isArray() && b->size() == 2);
    if (b && b->size() == 2) {
      CHECK(b->getItems()[0].isArray() && b->getItems()[0].size() == 0);
      CHECK(b->getItems()[1].isObject() && b->getItems()[1].size() == 0);
    }
  }
  CHECK(v.find("c") && v.find("c")->isObject());
  CHECK(!v.find("missing"));
  CHECK(!a->find("a")); // find on an array is null, not a crash
  // Offsets point at the first character of each value.
  CHECK_EQ(v.getOffset(), size_t(1));
  CHECK_EQ(a->getOffset(), size_t(7));
}

TEST(JsonSourceLocation) {
  std::string text = "ab\ncd\n\nef";
  CHECK_EQ(getSourceLocation(text, 0).line, size_t(1));
  CHECK_EQ(getSourceLocation(text, 4).line, size_t(2));
  CHECK_EQ(getSourceLocation(text, 4).column, size_t(2));
  CHECK_EQ(getSourceLocation(text, 8).line, size_t(4));
  CHECK_EQ(getSourceLocation(text, 8).column, size_t(2));
  CHECK_EQ(getSourceLocation(text, 100).line, size_t(4)); // clamped
}

TEST(JsonErrorsSayWhereAndWhat) {
  struct Case {
    const char *text;
    const char *message;
  } cases[] = {
      {"", "line 1, column 1 (byte 0): empty input, expected a JSON value"},
      {"  \n ", "line 2, column 2 (byte 4): empty input"},
      {R"({"a": 1,})", "line 1, column 9 (byte 8): unexpected '}', expected a "
                       "string as object key"},
      {"[1 2]", "line 1, column 4 (byte 3): unexpected '2', expected ',' or "
                "']' in array"},
      {"{\"a\" 1}", "line 1, column 6 (byte 5): unexpected '1', expected ':' "
                    "after object key"},
      {"{\"a\": 1 \"b\": 2}", "unexpected '\"', expected ',' or '}' in object"},
      {"\n\n  tru", "line 3, column 3 (byte 4): invalid literal, expected "
                    "'true'"},
      {"nul", "invalid literal, expected 'null'"},
      {"[1,", "line 1, column 4 (byte 3): unexpected end of input, expected "
              "a value"},
      {"{\"a\": [1, 2", "unexpected end of input inside an array"},
      {"{\"a\": 1", "unexpected end of input inside an object, expected ',' "
                    "or '}'"},
      {"\"abc", "line 1, column 1 (byte 0): unterminated string"},
      {R"("a\x")", "line 1, column 3 (byte 2): invalid escape '\\x' in string"},
      {R"("\u12G4")", "line 1, column 6 (byte 5): invalid hex digit 'G' in "
                      "\\u escape"},
      {R"("\u12)", "unexpected end of input inside a \\u escape"},
      {R"("\ud800")", "line 1, column 2 (byte 1): invalid \\u escape: high "
                      "surrogate not followed by a low surrogate"},
      {R"("\ud800\u0041")", "high surrogate not followed by a low surrogate"},
      {R"("\udc00")", "invalid \\u escape: unpaired low surrogate"},
      {"\"a\tb\"", "line 1, column 3 (byte 2): unescaped control character "
                   "byte 0x09 in string"},
      {"01", "line 1, column 1 (byte 0): invalid number: leading zeros are "
             "not allowed"},
      {"1.", "line 1, column 3 (byte 2): invalid number: expected a digit "
             "after '.'"},
      {"-", "invalid number: expected a digit"},
      {"1e+", "invalid number: expected a digit in the exponent"},
      {"+1", "unexpected '+', expected a value"},
      {"1e400", "number 1e400 is out of range for a double"},
      {"{} x", "line 1, column 4 (byte 3): unexpected 'x' after the end of "
               "the top-level value"},
      {"{\"k\": 1, \"k\": 2}", "line 1, column 10 (byte 9): duplicate key "
                               "\"k\""},
      {"[\x01]", "unexpected byte 0x01, expected a value"},
  };
  for (const Case &c : cases) {
    Expected<JsonValue> value = parseJson(c.text);
    CHECK_ERROR(value, c.message);
    if (!value)
      CHECK_EQ(int(value.getStatus().getCode()), int(ErrorCode::Parse));
  }
}

TEST(JsonDeepNestingIsAnErrorNotACrash) {
  std::string deep(100000, '[');
  CHECK_ERROR(parseJson(deep), "nesting deeper than 256 levels");
  std::string ok = std::string(200, '[') + std::string(200, ']');
  CHECK_OK(parseJson(ok));
}

TEST(JsonByteOrderMark) { CHECK_OK(parseJson("\xEF\xBB\xBF{}")); }
