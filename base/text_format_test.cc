#include "nodepulse/base/text_format.h"

#include <cmath>
#include <limits>
#include <sstream>
#include <string>

#include "gtest/gtest.h"

namespace nodepulse::base {
namespace {

// What prometheus-cpp's TextSerializer does with a value: an ostream at
// max_digits10 - 1 digits. Ours must print the same bytes.
std::string SerializerDigits(double v) {
  std::ostringstream os;
  os.precision(std::numeric_limits<double>::max_digits10 - 1);
  os << v;
  return os.str();
}

TEST(TextFormat, NumbersAreTextSerializersDigits) {
  for (double v : {0.0, 0.1, 0.25, 1.0 / 3, 2.0 / 3, 180224.0, 1e20, 1.5e-7, 123456789012345678.0,
                   -42.125, 0.30000000000000004}) {
    std::string ours;
    AppendNumber(v, &ours);
    EXPECT_EQ(ours, SerializerDigits(v)) << v;
  }
}

TEST(TextFormat, SampleValuesSpellNonFinite) {
  EXPECT_EQ(SampleValue(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(SampleValue(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(SampleValue(std::nan("")), "NaN");
  EXPECT_EQ(SampleValue(0.1), "0.1");
}

TEST(TextFormat, EscapesLabelValuesAndHelp) {
  EXPECT_EQ(EscapeLabelValue(std::string_view("a\\b\"c\nd")), "a\\\\b\\\"c\\nd");
  std::string help;
  AppendEscapedHelp("say \"hi\"\\\n", &help);
  EXPECT_EQ(help, "say \"hi\"\\\\\\n");
}

}  // namespace
}  // namespace nodepulse::base
