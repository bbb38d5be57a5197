#include "config.h"

#include "absl/flags/reflection.h"
#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace nodepulse::agent {
namespace {

absl::StatusOr<Config> Parse(std::vector<std::string> args) {
  args.insert(args.begin(), "nodepulse");
  return ParseFlags(args);
}

// Each test restores the global flag values it changed.
class ConfigTest : public ::testing::Test {
  absl::FlagSaver saver_;
};

TEST_F(ConfigTest, DefaultsMatchTheDocs) {
  auto c = Parse({});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->listen, "127.0.0.1:9779");
  EXPECT_EQ(c->interval, absl::Seconds(1));
  EXPECT_EQ(c->cgroup_root, "/sys/fs/cgroup");
  EXPECT_EQ(c->proc_root, "/proc");
  EXPECT_EQ(c->log_level, LogLevel::kInfo);
  EXPECT_EQ(c->kubelet_ready_grace, absl::Seconds(15));
  EXPECT_EQ(c->slow_interval, absl::Seconds(10));
  c = Parse({"--interval=10s"});  // --slow-interval may equal --interval
  ASSERT_TRUE(c.ok()) << c.status();
  c = Parse({"--kubelet-ready-grace=0s"});  // 0: never wait for the kubelet
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->kubelet_ready_grace, absl::ZeroDuration());
}

TEST_F(ConfigTest, AcceptsDashesUnderscoresAndSeparateValues) {
  auto c = Parse({"--cgroup-root=/tmp", "--proc_root", "/tmp", "--interval=250ms",
                  "--log-level", "debug", "--max-series=10"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->cgroup_root, "/tmp");
  EXPECT_EQ(c->proc_root, "/tmp");
  EXPECT_EQ(c->interval, absl::Milliseconds(250));
  EXPECT_EQ(c->log_level, LogLevel::kDebug);
  EXPECT_EQ(c->max_series, 10u);
}

TEST_F(ConfigTest, BoolFlagsAndHelp) {
  auto c = Parse({"--version"});
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->version);
  c = Parse({"--noversion"});
  ASSERT_TRUE(c.ok());
  EXPECT_FALSE(c->version);
  c = Parse({"--help"});
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->help);
  // --version answers where the machine's paths do not exist (an image build).
  c = Parse({"--version", "--cgroup-root=/does/not/exist"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE(c->version);
  EXPECT_TRUE(absl::StrContains(Usage(), "--cgroup-root"));
}

TEST_F(ConfigTest, RejectsBadValuesNamingTheFlag) {
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"--interval=soon", "--interval"},
      {"--interval=0s", "--interval"},
      {"--interval=2h", "--interval"},
      {"--listen=localhost", "--listen"},
      {"--listen=1.2.3.4:70000", "--listen"},
      {"--proc-root=/nonexistent-nodepulse", "--proc-root"},
      {"--max-series=-5", "--max-series"},
      {"--max-series=many", "--max-series"},
      {"--log-level=chatty", "--log-level"},
      {"--cgroup-max-depth=99", "--cgroup-max-depth"},
      {"--rescan-interval=1ms", "--rescan-interval"},
      {"--slow-interval=500ms", "--slow-interval"},  // below --interval
      {"--slow-interval=2h", "--slow-interval"},
      {"--http-threads=0", "--http-threads"},
      {"--max-request-bytes=10", "--max-request-bytes"},
      {"--bogus", "--bogus"},
      {"positional", "positional"},
      {"--max-series", "--max-series"},
      {"--aggregates=cpu,gpu", "--aggregates"},
      {"--retention=1s:6m,7s:1h", "--retention"},
      {"--kubelet-ready-grace=-1s", "--kubelet-ready-grace"},
      {"--kubelet-ready-grace=2h", "--kubelet-ready-grace"},
  };
  for (const auto& [arg, name] : bad) {
    absl::FlagSaver saver;
    auto c = Parse({arg});
    ASSERT_FALSE(c.ok()) << arg;
    EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument) << arg;
    EXPECT_TRUE(absl::StrContains(c.status().message(), name)) << arg << ": " << c.status();
    EXPECT_FALSE(absl::StrContains(c.status().message(), "\n")) << "one line: " << arg;
  }
}

}  // namespace
}  // namespace nodepulse::agent
