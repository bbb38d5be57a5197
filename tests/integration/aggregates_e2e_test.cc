// Node-side recording rules checked against a real Prometheus computing the
// same expressions from the agent's raw series, and the aggregates API read
// the way KEDA's metrics-api scaler reads it.
#include <signal.h>

#include <chrono>
#include <optional>
#include <thread>

#include <cmath>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "agent_harness.h"
#include "gtest/gtest.h"
#include "process.h"

namespace nodepulse::testing {
namespace {

// The first sample value in a Prometheus instant-query answer.
std::optional<double> QueryValue(int prom_port, const std::string& urlencoded_query) {
  HttpResult r = HttpGet(prom_port, "/api/v1/query?query=" + urlencoded_query);
  size_t at = r.body.find("\"value\":[");
  if (r.status != 200 || at == std::string::npos) return std::nullopt;
  size_t q1 = r.body.find(",\"", at);
  size_t q2 = r.body.find('"', q1 + 2);
  double v;
  if (q1 == std::string::npos || q2 == std::string::npos ||
      !absl::SimpleAtod(r.body.substr(q1 + 2, q2 - q1 - 2), &v)) {
    return std::nullopt;
  }
  return v;
}

TEST(AggregatesE2E, NodeCpuUtilisationMatchesPrometheusOverRawSeries) {
  // Prometheus starts first and the agent second, so Prometheus' first scrape
  // comes within a second of the agent's first sample and both windows cover
  // the same stretch of time (the agent's avg1m covers its whole life here).
  int agent_port = FreeLoopbackPort();
  std::string dir = MakeTempDir("nodepulse-test-agg-prom");
  WriteFile(dir + "/prometheus.yml",
            absl::StrCat("global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: np\n"
                         "    static_configs:\n      - targets: ['127.0.0.1:", agent_port, "']\n"));
  int prom_port = FreeLoopbackPort();
  ChildProcess prom({"prometheus", "--config.file=" + dir + "/prometheus.yml",
                     "--storage.tsdb.path=" + dir + "/data",
                     "--web.listen-address=127.0.0.1:" + std::to_string(prom_port)});
  ASSERT_TRUE(prom.started());
  ASSERT_TRUE(WaitFor([&] { return HttpGet(prom_port, "/-/ready").status == 200; }, 30000, 100))
      << prom.Output().substr(0, 2000);
  ChildProcess agent({NODEPULSE_AGENT_BIN, "--listen=127.0.0.1:" + std::to_string(agent_port),
                      "--interval=1s"});
  ASSERT_TRUE(WaitFor([&] { return HttpGet(agent_port, "/readyz").status == 200; }, 20000, 50))
      << agent.Output();
  // rate() divides the increase by the range it is given, so the 1m window
  // must be full of samples before it equals the agent's avg1m (over a
  // half-full range it would report part of the rate): wait a minute and a bit.
  std::this_thread::sleep_for(std::chrono::seconds(63));
  // Prometheus' own computation from the raw node_cpu_seconds_total series.
  auto theirs = QueryValue(prom_port,
                           "1-avg(rate(node_cpu_seconds_total%7Bmode%3D%22idle%22%7D%5B1m%5D))");
  // The agent's pre-aggregated series, as scraped at the same moment.
  auto ours = QueryValue(prom_port, "node%3Anode_cpu_utilisation%3Aavg1m");
  ASSERT_TRUE(theirs.has_value() && ours.has_value()) << prom.Output().substr(0, 2000);
  // Same 60 s, but the two windows' edges differ by up to a scrape interval
  // and rate() extrapolates to its edges: a few hundredths apart at most.
  EXPECT_NEAR(*ours, *theirs, 0.05);
  auto mem_ours = QueryValue(prom_port, "node%3Anode_memory_utilisation%3Aratio");
  auto mem_theirs = QueryValue(
      prom_port, "1-node_memory_MemAvailable_bytes%2Fnode_memory_MemTotal_bytes");
  ASSERT_TRUE(mem_ours.has_value() && mem_theirs.has_value());
  // Both sides read MemAvailable/MemTotal of possibly different cycles.
  EXPECT_NEAR(*mem_ours, *mem_theirs, 0.02);
  agent.Stop(SIGTERM, 10000);
  prom.Stop(SIGTERM, 10000);
  RemoveTree(dir);
}

TEST(AggregatesE2E, ApiRejectsBadQueriesWithValidValues) {
  AgentHarness agent({"--interval=500ms"});
  ASSERT_TRUE(agent.ok()) << agent.child().Output();
  HttpResult bad = HttpGet(agent.port(), "/api/v1/aggregates?metric=gpu");
  EXPECT_EQ(bad.status, 400);
  EXPECT_TRUE(absl::StrContains(bad.body, "valid metrics: cpu, memory, throttling")) << bad.body;
  HttpResult all = HttpGet(agent.port(), "/api/v1/aggregates");
  EXPECT_EQ(all.status, 200);
  EXPECT_TRUE(absl::StrContains(all.body, "\"results\":[")) << all.body;
  EXPECT_EQ(HttpGet(agent.port(), "/api/v1/aggregates?namespace=x&workload=y").status, 404);
}

}  // namespace
}  // namespace nodepulse::testing
