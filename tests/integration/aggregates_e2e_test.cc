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
  AgentHarness agent({"--interval=1s"});
  ASSERT_TRUE(agent.ok()) << agent.child().Output();
  std::string dir = MakeTempDir("nodepulse-test-agg-prom");
  WriteFile(dir + "/prometheus.yml",
            absl::StrCat("global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: np\n"
                         "    static_configs:\n      - targets: ['127.0.0.1:", agent.port(), "']\n"));
  int prom_port = FreeLoopbackPort();
  ChildProcess prom({"prometheus", "--config.file=" + dir + "/prometheus.yml",
                     "--storage.tsdb.path=" + dir + "/data",
                     "--web.listen-address=127.0.0.1:" + std::to_string(prom_port)});
  ASSERT_TRUE(prom.started());
  // 25 s of 1 s scrapes: both sides then average ~25 per-second idle rates.
  std::this_thread::sleep_for(std::chrono::seconds(25));
  // Prometheus' own computation from the raw node_cpu_seconds_total series.
  auto theirs = QueryValue(prom_port,
                           "1-avg(rate(node_cpu_seconds_total%7Bmode%3D%22idle%22%7D%5B1m%5D))");
  // The agent's pre-aggregated series, as scraped at the same moment.
  auto ours = QueryValue(prom_port, "node%3Anode_cpu_utilisation%3Aavg1m");
  ASSERT_TRUE(theirs.has_value() && ours.has_value()) << prom.Output().substr(0, 2000);
  // The windows are the same length but not aligned to the same instants
  // (rate() extrapolates to the window edges); on a busy shared machine 0.1
  // absolute separates "same expression" from "different expression".
  EXPECT_NEAR(*ours, *theirs, 0.1);
  auto mem_ours = QueryValue(prom_port, "node%3Anode_memory_utilisation%3Aratio");
  auto mem_theirs = QueryValue(
      prom_port, "1-node_memory_MemAvailable_bytes%2Fnode_memory_MemTotal_bytes");
  ASSERT_TRUE(mem_ours.has_value() && mem_theirs.has_value());
  EXPECT_NEAR(*mem_ours, *mem_theirs, 1e-9);
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
