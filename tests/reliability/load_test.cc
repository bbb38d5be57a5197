// Load (issue #8, part 4): wrk against the agent's endpoints on loopback,
// bounded in time, while it collects 500 real cgroups at 1 s. Reports
// requests/s and p99 latency per endpoint, and compares the collection cycle
// time (nodepulse_cycle_duration_seconds) before and during the load:
// serving readers snapshots, so it must not delay collection.
//
// wrk: -t2 -c8 for NODEPULSE_LOAD_SECONDS (default 10) per endpoint.
// /api/v1/aggregates is loaded only when the agent serves it.
#include <cmath>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "agent_harness.h"
#include "gtest/gtest.h"
#include "process.h"
#include "reliability_util.h"
#include "test_cgroup.h"

namespace nodepulse::testing {
namespace {

struct WrkResult {
  bool ok = false;
  double requests_per_second = 0;
  double p99_seconds = NAN;
  double requests = 0;
  double non_2xx = 0;
  double socket_errors = 0;
  std::string output;
};

double WrkDuration(absl::string_view text) {
  // "12.34ms", "850.00us", "1.02s", "1.50m"
  size_t unit = text.find_first_not_of("0123456789.");
  double v = 0;
  if (unit == absl::string_view::npos || !absl::SimpleAtod(text.substr(0, unit), &v)) return NAN;
  absl::string_view u = text.substr(unit);
  if (u == "us") return v / 1e6;
  if (u == "ms") return v / 1e3;
  if (u == "m") return v * 60;
  return v;  // "s"
}

// The number after `label` on the line that has it ("Requests/sec: 123.4").
double NumberAfter(const std::string& out, const std::string& label) {
  size_t at = out.find(label);
  if (at == std::string::npos) return 0;
  std::vector<absl::string_view> f =
      absl::StrSplit(absl::string_view(out).substr(at + label.size()), absl::ByAnyChar(" ,\n"), absl::SkipEmpty());
  double v = 0;
  return !f.empty() && absl::SimpleAtod(f[0], &v) ? v : 0;
}

// wrk's own summary (wrk 4.1, --latency): "Requests/sec:", "N requests in",
// the "99%" line of the latency distribution, and error lines.
WrkResult RunWrk(int port, const std::string& path, int seconds) {
  WrkResult r;
  RunResult run = RunCommand({"wrk", "-t2", "-c8", "-d" + std::to_string(seconds) + "s", "--timeout", "5s",
                              "--latency", "http://127.0.0.1:" + std::to_string(port) + path},
                             (seconds + 30) * 1000);
  r.output = run.output;
  r.requests_per_second = NumberAfter(run.output, "Requests/sec:");
  r.non_2xx = NumberAfter(run.output, "Non-2xx or 3xx responses:");
  for (absl::string_view line : absl::StrSplit(run.output, '\n')) {
    std::vector<absl::string_view> f = absl::StrSplit(line, ' ', absl::SkipEmpty());
    if (f.size() == 2 && f[0] == "99%") r.p99_seconds = WrkDuration(f[1]);
    if (f.size() >= 3 && f[1] == "requests" && f[2] == "in" && !absl::SimpleAtod(f[0], &r.requests)) r.requests = 0;
    if (absl::StartsWith(absl::StripLeadingAsciiWhitespace(line), "Socket errors:")) {
      for (const char* k : {"connect ", "read ", "write ", "timeout "}) r.socket_errors += NumberAfter(std::string(line), k);
    }
  }
  r.ok = run.exit_code == 0 && r.requests > 0;
  return r;
}

std::string Slug(const std::string& path) {
  std::string s;
  for (char c : path) s += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  while (!s.empty() && s.front() == '_') s.erase(0, 1);
  return s;
}

TEST(Load, WrkOnEndpointsDoesNotDelayCollectionOf500Cgroups) {
  if (std::string why = TestCgroupTree::Unavailable(); !why.empty()) GTEST_SKIP() << why;
  if (RunCommand({"wrk", "--version"}, 5000).output.find("wrk") == std::string::npos) {
    GTEST_SKIP() << "wrk not installed (apt-get install wrk; scripts/deps.sh test does)";
  }
  const int cgroups = EnvInt("NODEPULSE_LOAD_CGROUPS", 500);
  const int seconds = EnvInt("NODEPULSE_LOAD_SECONDS", 10);
  TestCgroupTree tree("load");
  const std::string ours = "id=\"/" + tree.parent() + "/";
  for (int i = 0; i < cgroups; ++i) {
    std::string c = "c" + std::to_string(i);
    tree.AddChild(c);
    ASSERT_GT(tree.StartProcess(c, "alloc:1", 600), 0) << c;
  }
  std::vector<std::string> flags = {"--interval=1s", "--rescan-interval=1s"};
  // The server limits each connection to --max-requests-per-second (429
  // past it, by design); wrk measures capacity, so lift it where it exists.
  if (RunCommand({NODEPULSE_AGENT_BIN, "--help"}, 10000).output.find("--max-requests-per-second") !=
      std::string::npos) {
    flags.push_back("--max-requests-per-second=10000");
  }
  AgentHarness agent(flags);
  ASSERT_TRUE(agent.ok()) << agent.child().Output();
  ASSERT_TRUE(WaitFor([&] {
    return Samples(agent.Metrics(), "container_memory_usage_bytes", {ours}).size() >= static_cast<size_t>(cgroups);
  }, 20000, 500)) << "the agent did not see all " << cgroups << " cgroups";

  // Before: the same length as the load phase, with no load.
  std::vector<std::string> paths = {"/metrics", "/healthz"};
  if (HttpGet(agent.port(), "/api/v1/aggregates").status == 200) paths.push_back("/api/v1/aggregates");
  std::this_thread::sleep_for(std::chrono::seconds(2));
  std::string b0 = agent.Metrics();
  std::this_thread::sleep_for(std::chrono::seconds(seconds * static_cast<int>(paths.size())));
  std::string b1 = agent.Metrics();

  std::vector<WrkResult> results;
  for (const std::string& path : paths) {
    results.push_back(RunWrk(agent.port(), path, seconds));
  }
  std::string d1 = agent.Metrics();

  const auto bb0 = Buckets(b0, "nodepulse_cycle_duration_seconds");
  const auto bb1 = Buckets(b1, "nodepulse_cycle_duration_seconds");
  const auto db1 = Buckets(d1, "nodepulse_cycle_duration_seconds");
  auto cycles = [](const std::string& a, const std::string& b) {
    return SampleValue(b, "nodepulse_cycles_total").value_or(0) - SampleValue(a, "nodepulse_cycles_total").value_or(0);
  };
  auto overruns = [](const std::string& a, const std::string& b) {
    return SampleValue(b, "nodepulse_cycle_overruns_total").value_or(0) -
           SampleValue(a, "nodepulse_cycle_overruns_total").value_or(0);
  };
  const double p50_before = QuantileBetween(bb0, bb1, 0.5), p99_before = QuantileBetween(bb0, bb1, 0.99);
  const double p50_during = QuantileBetween(bb1, db1, 0.5), p99_during = QuantileBetween(bb1, db1, 0.99);
  Figure("load_cgroups", cgroups);
  Figure("load_series", SampleValue(d1, "nodepulse_series").value_or(0));
  for (size_t i = 0; i < paths.size(); ++i) {
    const std::string s = Slug(paths[i]);
    Figure("load_" + s + "_requests_per_second", results[i].requests_per_second);
    Figure("load_" + s + "_p99_seconds", results[i].p99_seconds);
    Figure("load_" + s + "_requests", results[i].requests);
    Figure("load_" + s + "_non_2xx", results[i].non_2xx);
    Figure("load_" + s + "_socket_errors", results[i].socket_errors);
  }
  Figure("load_cycles_before", cycles(b0, b1));
  Figure("load_cycles_during", cycles(b1, d1));
  Figure("load_overruns_before", overruns(b0, b1));
  Figure("load_overruns_during", overruns(b1, d1));
  Figure("load_cycle_p50_before_seconds", p50_before);
  Figure("load_cycle_p99_before_seconds", p99_before);
  Figure("load_cycle_p50_during_seconds", p50_during);
  Figure("load_cycle_p99_during_seconds", p99_during);

  for (size_t i = 0; i < paths.size(); ++i) {
    EXPECT_TRUE(results[i].ok) << paths[i] << ":\n" << results[i].output;
    EXPECT_EQ(results[i].non_2xx, 0) << paths[i] << ":\n" << results[i].output;
    EXPECT_EQ(results[i].socket_errors, 0) << paths[i] << ":\n" << results[i].output;
  }
  EXPECT_FALSE(agent.child().Exited()) << agent.child().Output();
  EXPECT_EQ(HttpGet(agent.port(), "/healthz").status, 200);
  // Every tick ran during the load (1 s interval; one of slack per phase).
  const double load_seconds = static_cast<double>(seconds) * static_cast<double>(paths.size());
  EXPECT_GE(cycles(b1, d1) + overruns(b1, d1), load_seconds - 2);
  if (!kSanitized) {
    // Not delayed: no tick missed (no overrun beyond the unloaded phase's)
    // and the median cycle within 2x (+50 ms) of the unloaded one. wrk and
    // the agent share this machine's 2 cores (with anything else running),
    // so the slowest cycle may lose CPU; its p99 (the slowest of ~20 cycles
    // per phase) is reported, not asserted.
    EXPECT_LE(overruns(b1, d1), overruns(b0, b1));
    EXPECT_LE(p50_during, 2 * p50_before + 0.05);
  }
}

}  // namespace
}  // namespace nodepulse::testing
