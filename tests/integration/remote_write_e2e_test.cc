// The agent's remote_write into a real Prometheus (Debian's package, with its
// remote-write receiver) on loopback: series arrive with cAdvisor's and
// node_exporter's names and labels, plus the external label.
#include <signal.h>
#include <sys/stat.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "agent_harness.h"
#include "gtest/gtest.h"
#include "process.h"

namespace nodepulse::testing {
namespace {

TEST(RemoteWriteE2E, AgentSamplesArriveInRealPrometheus) {
  std::string dir = MakeTempDir("nodepulse-test-rw-e2e");
  ASSERT_FALSE(dir.empty());
  WriteFile(dir + "/prometheus.yml", "global:\n  scrape_interval: 15s\n");
  ::mkdir((dir + "/state").c_str(), 0700);
  int prom_port = FreeLoopbackPort();
  ChildProcess prom({"prometheus", "--config.file=" + dir + "/prometheus.yml",
                     "--storage.tsdb.path=" + dir + "/data",
                     "--web.listen-address=127.0.0.1:" + std::to_string(prom_port),
                     "--web.enable-remote-write-receiver"});
  ASSERT_TRUE(prom.started());
  ASSERT_TRUE(WaitFor([&] { return HttpGet(prom_port, "/-/ready").status == 200; }, 30000, 100))
      << prom.Output().substr(0, 2000);

  AgentHarness agent({"--interval=500ms",
                      absl::StrCat("--remote-write-url=http://127.0.0.1:", prom_port, "/api/v1/write"),
                      "--state-dir=" + dir + "/state", "--remote-write-external-label=node=e2e-node"});
  ASSERT_TRUE(agent.ok()) << agent.child().Output();

  std::string body;
  bool arrived = WaitFor([&] {
    HttpResult r = HttpGet(prom_port,
                           "/api/v1/query?query=container_cpu_usage_seconds_total%7Bid%3D%22%2F%22%2C"
                           "node%3D%22e2e-node%22%7D");
    body = r.body;
    return r.status == 200 && absl::StrContains(body, "\"cpu\":\"total\"");
  }, 20000, 250);
  EXPECT_TRUE(arrived) << body << "\n" << agent.child().Output();
  // Node series may sit in a later batch than the container series.
  HttpResult node;
  EXPECT_TRUE(WaitFor([&] {
    node = HttpGet(prom_port, "/api/v1/query?query=count(node_cpu_seconds_total)");
    return absl::StrContains(node.body, "\"result\":[{");
  }, 10000, 200)) << node.body;
  // The sender counts a batch after the receiver's 2xx reaches it, which can
  // be a moment after Prometheus made the samples queryable.
  std::string m;
  EXPECT_TRUE(WaitFor([&] {
    m = agent.Metrics();
    return SampleValue(m, "nodepulse_remote_write_samples_sent_total").value_or(0) > 0;
  }, 5000, 100)) << m.substr(0, 500);

  int st = agent.child().Stop(SIGTERM, 20000);
  EXPECT_NE(st, -1) << "agent did not stop within 20 s (queue drain is bounded to 10 s)";
  prom.Stop(SIGTERM, 10000);
  RemoveTree(dir);
}

}  // namespace
}  // namespace nodepulse::testing
