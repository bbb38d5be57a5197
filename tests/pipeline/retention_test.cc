#include "nodepulse/pipeline/retention.h"

#include "gtest/gtest.h"

namespace nodepulse::pipeline {
namespace {

TEST(ParseDuration, Units) {
  EXPECT_EQ(*ParseDuration("1500ms"), 1500);
  EXPECT_EQ(*ParseDuration("1s"), 1000);
  EXPECT_EQ(*ParseDuration("10s"), 10'000);
  EXPECT_EQ(*ParseDuration("6m"), 360'000);
  EXPECT_EQ(*ParseDuration("1h"), 3'600'000);
  EXPECT_EQ(*ParseDuration("7d"), 7 * 86'400'000LL);
  EXPECT_EQ(*ParseDuration(" 24h "), 86'400'000);
}

TEST(ParseDuration, Rejects) {
  for (const char* bad : {"", "s", "10", "0s", "-1s", "1.5s", "1h30m", "10x", "m5", "1 s",
                          "99999999999999999999s", "9223372036854775807d"}) {
    absl::StatusOr<int64_t> d = ParseDuration(bad);
    EXPECT_FALSE(d.ok()) << bad;
    if (!d.ok()) {
      EXPECT_EQ(d.status().code(), absl::StatusCode::kInvalidArgument);
      EXPECT_NE(d.status().message().find("ms, s, m, h, d"), std::string::npos);
    }
  }
}

TEST(FormatDurationExact, LargestUnit) {
  EXPECT_EQ(FormatDurationExact(60'000), "1m");
  EXPECT_EQ(FormatDurationExact(1500), "1500ms");
  EXPECT_EQ(FormatDurationExact(86'400'000), "1d");
  EXPECT_EQ(FormatDurationExact(90'000), "90s");
}

TEST(ParseRetention, Default) {
  // The flag's default text (agent/config.cc) spells DefaultTiers().
  absl::StatusOr<std::vector<TierSpec>> t = ParseRetention("1s:6m,30s:1h");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(*t, DefaultTiers());
  EXPECT_EQ((*t)[1].slots, 120u);
  EXPECT_EQ((*t)[1].span_ms(), 3'600'000);
  absl::StatusOr<std::vector<TierSpec>> day = ParseRetention("1s:6m,10s:1h,60s:24h");
  ASSERT_TRUE(day.ok()) << day.status();
  EXPECT_EQ((*day)[2].slots, 1440u);
}

TEST(ParseRetention, RejectsWithReason) {
  struct Case {
    const char* text;
    const char* says;
  } cases[] = {
      {"", "step:span"},
      {"1s", "step:span"},
      {"1s:6m:1h", "step:span"},
      {"1s:6x", "bad duration '6x'"},
      {"10s:15s", "whole steps"},
      {"10s:1h,15s:2h", "multiple of the previous step"},
      {"10s:1h,1s:6m", "multiple of the previous step"},
      {"1s:6m,1s:1h", "multiple of the previous step"},
      {"1ms:2h", "1 to 1048576"},
      {"1s:1m,2s:2m,4s:4m,8s:8m,16s:16m,32s:32m,64s:64m,128s:128m,256s:256m", "1 to 8 tiers"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<std::vector<TierSpec>> t = ParseRetention(c.text);
    ASSERT_FALSE(t.ok()) << c.text;
    EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(t.status().message().find(c.says), std::string::npos)
        << c.text << " -> " << t.status().message();
  }
}

}  // namespace
}  // namespace nodepulse::pipeline
