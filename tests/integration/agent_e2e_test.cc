// End-to-end tests of the nodepulse binary: flags, probes, /metrics, and real
// cgroups with real load, on this machine, over loopback.
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#include <unistd.h>

#include <algorithm>
#include <iostream>
#include <string>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "agent_harness.h"
#include "gtest/gtest.h"
#include "process.h"
#include "test_cgroup.h"

namespace nodepulse::testing {
namespace {

double MonoSeconds() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

// utime + stime of a process, in seconds.
double ProcessCpuSeconds(pid_t pid) {
  std::string stat = ReadFile("/proc/" + std::to_string(pid) + "/stat");
  size_t rp = stat.rfind(')');
  if (rp == std::string::npos) return 0;
  std::vector<std::string> f = absl::StrSplit(stat.substr(rp + 2), ' ');
  if (f.size() < 13) return 0;
  return static_cast<double>(std::stoull(f[11]) + std::stoull(f[12])) /
         static_cast<double>(sysconf(_SC_CLK_TCK));
}

TEST(AgentFlags, BadValuesExitTwoWithOneLine) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"--interval=abc", "--interval"},
      {"--interval=10ms", "--interval"},
      {"--listen=nonsense", "--listen"},
      {"--listen=127.0.0.1:99999", "--listen"},
      {"--cgroup-root=/does/not/exist", "--cgroup-root"},
      {"--max-series=0", "--max-series"},
      {"--log-level=loud", "--log-level"},
      {"--no-such-flag=1", "--no-such-flag"},
      {"--interval", "--interval"},
  };
  for (const auto& [arg, flag] : cases) {
    RunResult r = RunCommand({NODEPULSE_AGENT_BIN, arg}, 10000);
    EXPECT_EQ(r.exit_code, 2) << arg << ": " << r.output;
    EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << arg << ": " << r.output;
    EXPECT_TRUE(absl::StrContains(r.output, flag)) << arg << ": " << r.output;
  }
}

TEST(AgentFlags, HelpListsFlagsAndExitsZero) {
  RunResult r = RunCommand({NODEPULSE_AGENT_BIN, "--help"}, 10000);
  EXPECT_EQ(r.exit_code, 0);
  for (const char* f : {"--listen", "--interval", "--cgroup-root", "--proc-root", "--max-series",
                        "--log-level"}) {
    EXPECT_TRUE(absl::StrContains(r.output, f)) << f;
  }
}

TEST(AgentE2E, ServesProbesMetricsAndStopsOnSigterm) {
  AgentHarness agent({"--interval=500ms"});
  ASSERT_TRUE(agent.ok()) << agent.child().Output();
  EXPECT_EQ(HttpGet(agent.port(), "/healthz").status, 200);
  HttpResult m = HttpGet(agent.port(), "/metrics");
  ASSERT_EQ(m.status, 200);
  EXPECT_TRUE(absl::StrContains(m.headers, "text/plain; version=0.0.4"));
  // cAdvisor-style root cgroup, node_exporter-style node metrics, self-metrics.
  EXPECT_TRUE(SampleValue(m.body, "container_cpu_usage_seconds_total", {"id=\"/\""}).has_value());
  EXPECT_TRUE(SampleValue(m.body, "node_cpu_seconds_total", {"mode=\"idle\""}).has_value());
  EXPECT_TRUE(SampleValue(m.body, "node_memory_MemAvailable_bytes").has_value());
  EXPECT_GE(SampleValue(m.body, "nodepulse_cycles_total").value_or(0), 1);
  EXPECT_GT(SampleValue(m.body, "nodepulse_series").value_or(0), 10);
  EXPECT_EQ(HttpGet(agent.port(), "/no/such/page").status, 404);
  std::string post = RawRequest(agent.port(),
                                "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n"
                                "Connection: close\r\n\r\n");
  EXPECT_TRUE(absl::StartsWith(post, "HTTP/1.1 405")) << post.substr(0, 80);
  EXPECT_TRUE(absl::StrContains(agent.child().Output(), "kubelet"))
      << "a clear log line says the kubelet is not used";

  int st = agent.child().Stop(SIGTERM, 10000);
  ASSERT_NE(st, -1) << "agent did not stop within 10 s of SIGTERM";
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << agent.child().Output();
  EXPECT_TRUE(absl::StrContains(agent.child().Output(), "stopped cleanly"));
}

TEST(AgentE2E, OversizedRequestIsRefusedAndAgentStaysHealthy) {
  AgentHarness agent({"--interval=500ms", "--max-request-bytes=4096"});
  ASSERT_TRUE(agent.ok()) << agent.child().Output();
  std::string big = "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Pad: " + std::string(64 * 1024, 'a') +
                    "\r\nConnection: close\r\n\r\n";
  std::string resp = RawRequest(agent.port(), big);
  // civetweb answers 413/431/400 or closes the connection; it must never serve it.
  EXPECT_FALSE(absl::StartsWith(resp, "HTTP/1.1 200")) << resp.substr(0, 80);
  if (!resp.empty()) {
    // civetweb answers malformed/oversized requests as HTTP/1.0.
    EXPECT_TRUE(absl::StartsWith(resp, "HTTP/1.1 4") || absl::StartsWith(resp, "HTTP/1.0 4"))
        << resp.substr(0, 80);
  }
  EXPECT_EQ(HttpGet(agent.port(), "/healthz").status, 200);
  EXPECT_EQ(HttpGet(agent.port(), "/metrics").status, 200);
}

TEST(AgentE2E, PromtoolAcceptsTheExposition) {
  AgentHarness agent({"--interval=500ms"});
  ASSERT_TRUE(agent.ok()) << agent.child().Output();
  std::string body = agent.Metrics();
  ASSERT_FALSE(body.empty());
  RunResult r = RunCommand({"promtool", "check", "metrics"}, 60000, body);
  ASSERT_NE(r.exit_code, 127) << "promtool missing: install Debian's prometheus (scripts/deps.sh test)";
  // Exit 0 is clean, 3 is "lint problems only" (1 would be a parse error).
  // The only lint findings allowed are names we keep on purpose because
  // dashboards query them: node_exporter's camelCase meminfo names and
  // cAdvisor's container_memory_failcnt counter without _total. Real
  // node_exporter and cAdvisor get exactly these findings too.
  ASSERT_TRUE(r.exit_code == 0 || r.exit_code == 3) << r.output.substr(0, 2000);
  int findings = 0;
  for (absl::string_view line : absl::StrSplit(r.output, '\n', absl::SkipEmpty())) {
    ++findings;
    bool meminfo = absl::StartsWith(line, "node_memory_") &&
                   absl::StrContains(line, "should be written in 'snake_case'");
    bool failcnt = line == "container_memory_failcnt counter metrics should have \"_total\" suffix";
    // Node-side recording rules use Prometheus' level:metric:operation
    // convention on purpose (issue: pre-aggregated series); promtool reserves
    // colons for recording rules and flags them in an exporter.
    bool rule = absl::StrContains(line, ":") &&
                absl::StrContains(line, "metric names should not contain ':'");
    EXPECT_TRUE(meminfo || failcnt || rule) << "unexpected promtool finding: " << line;
  }
  EXPECT_EQ(r.exit_code == 0, findings == 0) << r.output.substr(0, 2000);
}

TEST(AgentE2E, RealPrometheusScrapesIt) {
  AgentHarness agent({"--interval=500ms"});
  ASSERT_TRUE(agent.ok()) << agent.child().Output();
  std::string dir = MakeTempDir("nodepulse-test-prom");
  ASSERT_FALSE(dir.empty());
  WriteFile(dir + "/prometheus.yml",
            absl::StrCat("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                         "scrape_configs:\n  - job_name: nodepulse\n    static_configs:\n"
                         "      - targets: ['127.0.0.1:",
                         agent.port(), "']\n"));
  int prom_port = FreeLoopbackPort();
  ChildProcess prom({"prometheus", "--config.file=" + dir + "/prometheus.yml",
                     "--storage.tsdb.path=" + dir + "/data",
                     "--web.listen-address=127.0.0.1:" + std::to_string(prom_port)});
  ASSERT_TRUE(prom.started());
  std::string last;
  bool up = WaitFor(
      [&] {
        HttpResult r = HttpGet(prom_port, "/api/v1/query?query=up%7Bjob%3D%22nodepulse%22%7D");
        last = r.body;
        return r.status == 200 && absl::StrContains(r.body, "\"1\"]");
      },
      40000, 250);
  EXPECT_TRUE(up) << "last answer: " << last << "\nprometheus: " << prom.Output().substr(0, 3000);
  // The scraped container series are queryable with cAdvisor's names.
  HttpResult q = HttpGet(prom_port, "/api/v1/query?query=count(container_cpu_usage_seconds_total)");
  EXPECT_EQ(q.status, 200);
  EXPECT_TRUE(absl::StrContains(q.body, "\"result\":[{")) << q.body;
  prom.Stop(SIGTERM, 10000);
  RemoveTree(dir);
}

TEST(AgentE2E, RealCgroupCpuMemoryAndRemoval) {
  if (std::string why = TestCgroupTree::Unavailable(); !why.empty()) GTEST_SKIP() << why;
  TestCgroupTree tree("e2e");
  std::string busy_id = tree.AddChild("busy");
  std::string mem_id = tree.AddChild("mem");
  ASSERT_TRUE(tree.SetCpuLimit("busy", 50000, 100000));
  pid_t busy_pid = tree.StartProcess("busy", "busy");
  ASSERT_GT(busy_pid, 0);
  ASSERT_GT(tree.StartProcess("mem", "alloc:64"), 0);

  AgentHarness agent({"--interval=500ms", "--rescan-interval=500ms"});
  ASSERT_TRUE(agent.ok()) << agent.child().Output();
  const std::string busy_sel = "id=\"" + busy_id + "\"";
  const std::string mem_sel = "id=\"" + mem_id + "\"";

  ASSERT_TRUE(WaitFor([&] {
    return SampleValue(agent.Metrics(), "container_cpu_usage_seconds_total", {busy_sel}).has_value();
  }, 10000, 100)) << "busy cgroup never appeared";
  // A sample is up to one interval old when scraped, and a scrape itself can
  // take a good part of a second in the cgroup v2 VM (tests/vm, software
  // emulation). So each end waits for a fresh sample: scrape every 10 ms
  // until the value moves, and time it at the middle of that scrape.
  auto fresh = [&](double* t, std::string* text) -> std::optional<double> {
    std::optional<double> prev =
        SampleValue(agent.Metrics(), "container_cpu_usage_seconds_total", {busy_sel});
    for (int i = 0; i < 300; ++i) {
      double before = MonoSeconds();
      *text = agent.Metrics();
      double after = MonoSeconds();
      std::optional<double> v = SampleValue(*text, "container_cpu_usage_seconds_total", {busy_sel});
      if (v && prev && *v != *prev) {
        *t = (before + after) / 2;
        return v;
      }
      prev = v;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return std::nullopt;
  };
  double t0 = 0, t1 = 0;
  std::string m;
  std::optional<double> cpu0 = fresh(&t0, &m);
  double truth0 = ProcessCpuSeconds(busy_pid);
  std::this_thread::sleep_for(std::chrono::seconds(4));
  std::optional<double> cpu1 = fresh(&t1, &m);
  double truth1 = ProcessCpuSeconds(busy_pid);
  ASSERT_TRUE(cpu0.has_value() && cpu1.has_value()) << "no fresh sample of the busy cgroup";
  double rate = (*cpu1 - *cpu0) / (t1 - t0);
  double truth = (truth1 - truth0) / (t1 - t0);
  // The process's own CPU time (from /proc/PID/stat) is the ground truth: on
  // an idle machine it is the 0.5 CPU the quota allows; on an overloaded
  // one (other builds) it can be less, and the agent must still agree with it.
  EXPECT_NEAR(rate, truth, 0.1 * 0.5) << "agent rate vs the process's own CPU time";
  EXPECT_LE(truth, 0.55) << "the CFS quota held the busy loop to 0.5 CPU";
  if (truth >= 0.45) {
    EXPECT_NEAR(rate, 0.5, 0.05) << "cpu rate of a busy loop held to 0.5 CPU by CFS";
  } else {
    std::cerr << "note: machine overloaded, busy loop got only " << truth << " CPU\n";
  }
  EXPECT_GT(SampleValue(m, "container_cpu_cfs_throttled_periods_total", {busy_sel}).value_or(0), 0);
  EXPECT_GE(SampleValue(m, "container_memory_usage_bytes", {mem_sel}).value_or(0), 64.0 * 1024 * 1024);

  tree.RemoveChild("busy");
  // Gone within two cycles (1 s at 500 ms), plus one scrape of slack.
  bool gone = WaitFor([&] {
    return !SampleValue(agent.Metrics(), "container_cpu_usage_seconds_total", {busy_sel}).has_value();
  }, 1500, 50);
  EXPECT_TRUE(gone) << "removed cgroup's series still exported";
  EXPECT_TRUE(SampleValue(agent.Metrics(), "container_memory_usage_bytes", {mem_sel}).has_value());
}

}  // namespace
}  // namespace nodepulse::testing
