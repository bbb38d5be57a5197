#include "nodepulse/base/json_writer.h"

#include <cmath>
#include <limits>
#include <string>

#include "gtest/gtest.h"

namespace nodepulse::base {
namespace {

std::string Quoted(std::string_view s) {
  JsonWriter j;
  j.String(s);
  return j.Take();
}

TEST(JsonWriter, StringsEscapeWhatRfc8259RequiresAndNothingElse) {
  EXPECT_EQ(Quoted(""), R"("")");
  EXPECT_EQ(Quoted("web-6cd8d99884-tggnr"), R"("web-6cd8d99884-tggnr")");
  EXPECT_EQ(Quoted("a\"b\\c"), R"("a\"b\\c")");
  EXPECT_EQ(Quoted("\n\r\t\b\f"), R"("\n\r\t\b\f")");
  EXPECT_EQ(Quoted(std::string_view("\x01x\x1f\x7f", 4)), R"("\u0001x\u001f\u007f")");
  EXPECT_EQ(Quoted(std::string_view("\0", 1)), R"("\u0000")");
  // UTF-8 passes through, escapes at the start, the end and back to back.
  EXPECT_EQ(Quoted("caf\xc3\xa9"), "\"caf\xc3\xa9\"");
  EXPECT_EQ(Quoted("\"x\""), R"("\"x\"")");
  EXPECT_EQ(Quoted("\"\"\\"), R"("\"\"\\")");
}

TEST(JsonWriter, NumbersIntegersAndNonFiniteAsNull) {
  JsonWriter j;
  j.BeginArray()
      .Number(0)
      .Number(-3)
      .Number(1e14)
      .Number(0.25)
      .Number(std::nan(""))
      .Number(std::numeric_limits<double>::infinity())
      .Int(std::numeric_limits<int64_t>::min())
      .Int(42)
      .EndArray();
  EXPECT_EQ(j.str(), "[0,-3,100000000000000,0.25,null,null,-9223372036854775808,42]");
}

TEST(JsonWriter, MembersAndNestingGetTheirCommas) {
  JsonWriter j;
  j.BeginObject()
      .Field("a", "x")
      .Key("b")
      .BeginArray()
      .BeginObject()
      .FieldInt("c", 1)
      .FieldBool("d", true)
      .EndObject()
      .Null()
      .EndArray()
      .Field("e", 1.5)
      .EndObject();
  EXPECT_EQ(j.str(), R"({"a":"x","b":[{"c":1,"d":true},null],"e":1.5})");
}

}  // namespace
}  // namespace nodepulse::base
