#include "quantity.h"

#include <gtest/gtest.h>

namespace nodepulse::collectors::kubelet {
namespace {

TEST(QuantityTest, DecimalAndBinarySuffixes) {
  struct Case { const char* text; double want; };
  for (const Case& c : {Case{"100m", 0.1}, Case{"200m", 0.2}, Case{"1", 1}, Case{"1.5", 1.5},
                        Case{"0.5", 0.5}, Case{"250000000n", 0.25}, Case{"500u", 0.0005},
                        Case{"128Mi", 134217728}, Case{"1Gi", 1073741824}, Case{"64Ki", 65536},
                        Case{"2Ti", 2199023255552.0}, Case{"1Pi", 1125899906842624.0},
                        Case{"1Ei", 1152921504606846976.0}, Case{"1k", 1000}, Case{"1M", 1e6},
                        Case{"2G", 2e9}, Case{"1T", 1e12}, Case{"1P", 1e15}, Case{"1E", 1e18},
                        Case{"1e3", 1000}, Case{"1E3", 1000}, Case{"5e-3", 0.005}, Case{"+4", 4},
                        Case{"-1", -1}, Case{".5", 0.5}, Case{"1.", 1}, Case{"0", 0},
                        Case{"1.5Gi", 1610612736}, Case{"0.1", 0.1}, Case{"170Mi", 178257920}}) {
    auto got = ParseQuantity(c.text);
    ASSERT_TRUE(got.ok()) << c.text << ": " << got.status();
    EXPECT_DOUBLE_EQ(*got, c.want) << c.text;
  }
  // Exactly rounded, not just close: 100m is the double nearest 0.1.
  EXPECT_EQ(*ParseQuantity("100m"), 0.1);
}

TEST(QuantityTest, RejectsMalformed) {
  for (const char* bad : {"", "m", "Mi", "1.2.3", "1x", "1mi", "1KiB", "abc", "1e", "1e+", "1ex",
                          "--1", "1 ", " 1", "1Zi"}) {
    EXPECT_FALSE(ParseQuantity(bad).ok()) << '"' << bad << '"';
  }
  auto s = ParseQuantity("12q");
  EXPECT_NE(std::string(s.status().message()).find("12q"), std::string::npos);
}

TEST(QuantityTest, ManyDigitsKeepScale) {
  EXPECT_DOUBLE_EQ(*ParseQuantity("123456789012345678901234"), 1.23456789012345678901234e23);
  EXPECT_DOUBLE_EQ(*ParseQuantity("0.000000000000000000001"), 1e-21);
}

}  // namespace
}  // namespace nodepulse::collectors::kubelet
