// The agent joined to a real HTTPS kubelet stand-in serving captured kubelet
// responses, on a fixture cgroup tree renamed after a pod and container of
// those responses: /metrics must carry namespace/pod/container/image like
// cAdvisor in the kubelet, plus the kubelet-only series; with the kubelet
// down, cgroup collection goes on and the failure is visible.
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "agent_harness.h"
#include "fake_kubelet.h"
#include "gtest/gtest.h"
#include "kubelet_fixture.h"
#include "process.h"

namespace nodepulse::testing {
namespace {

// Renamed after kContainerId: the busy container of the fixture's pod.
constexpr char kFixtureContainer[] = "9c1e3a5b7d9f1b3d5f7a9c1e3b5d7f9a1c3e5b7d9f1a3c5e7b9d1f3a5c7e9b02";
constexpr char kToken[] = "e2e-token-0123456789";

class KubeletE2ETest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir("nodepulse-test-kubelet-e2e");
    ASSERT_FALSE(dir_.empty());
    certs_ = MakeTestCerts(dir_);
    ASSERT_TRUE(certs_.error.empty()) << certs_.error;
    WriteFile(dir_ + "/token", std::string(kToken) + "\n");
    CopyKubeletFixtureTree(dir_, kFixtureContainer);
  }
  void TearDown() override { RemoveTree(dir_); }

  std::vector<std::string> AgentFlags(const std::string& url) const {
    return {"--interval=500ms",
            "--cgroup-root=" + dir_ + "/sys/fs/cgroup",
            "--proc-root=" + dir_ + "/proc",
            "--kubelet-url=" + url,
            "--kubelet-ca-file=" + certs_.ca,
            "--kubelet-token-file=" + dir_ + "/token",
            "--kubelet-node-name=datagen-1-35",
            "--kubelet-interval=1s",
            "--kubelet-timeout=1s",
            "--rescan-interval=500ms"};
  }

  std::string dir_;
  TestCerts certs_;
};

TEST_F(KubeletE2ETest, SeriesCarryKubernetesLabelsAndKubeletSeries) {
  FakeKubelet kubelet(certs_.server_cert, certs_.server_key, kToken);
  ASSERT_TRUE(kubelet.ok());
  kubelet.Serve("/pods", ReadFile(std::string(NODEPULSE_FIXTURES) + "/kubelet/pods.nri-k8s-1.35.json"));
  kubelet.Serve("/stats/summary",
                ReadFile(std::string(NODEPULSE_FIXTURES) + "/kubelet/stats-summary.nri-k8s-1.35.json"));
  AgentHarness agent(AgentFlags(kubelet.url()));
  ASSERT_TRUE(agent.ok()) << agent.child().Output();

  const std::string id = std::string("id=\"/kubepods/pod") + kPodUid + "/" + kContainerId + "\"";
  std::string m;
  // Labels arrive at the first rescan after the first kubelet poll.
  bool joined = WaitFor([&] {
    m = agent.Metrics();
    return SampleValue(m, "container_cpu_usage_seconds_total", {id, "pod=\"e2e-hpa-6cd8d99884-tggnr\""})
        .has_value();
  }, 15000, 200);
  ASSERT_TRUE(joined) << agent.child().Output() << "\n" << m.substr(0, 3000);
  EXPECT_TRUE(SampleValue(m, "container_cpu_usage_seconds_total",
                          {id, "container=\"php-apache\"", "namespace=\"scraper\"",
                           "image=\"docker.io/library/nginx:alpine\"",
                           std::string("name=\"") + kContainerId + "\""})
                  .has_value());
  EXPECT_TRUE(SampleValue(m, "container_memory_working_set_bytes", {id, "namespace=\"scraper\""}).has_value());
  // Requests next to usage, and kubelet-only series (network from /stats/summary).
  EXPECT_TRUE(SampleValue(m, "kube_pod_container_resource_requests",
                          {"pod=\"e2e-hpa-6cd8d99884-tggnr\"", "resource=\"cpu\""})
                  .has_value())
      << m.substr(0, 2000);
  EXPECT_TRUE(SampleValue(m, "container_network_receive_bytes_total", {"namespace=\""}).has_value());
  EXPECT_EQ(SampleValue(m, "nodepulse_kubelet_up").value_or(-1), 1);
  EXPECT_GE(kubelet.requests("/pods"), 1);

  // The workload aggregate, read the way KEDA's metrics-api scaler reads it
  // (valueLocation: value): the pod's only listed container's working set
  // (the fixture files do not change, so max over 1m == the raw value).
  // Aggregates come from the rings, whose cells are float32: the raw value
  // as a float (exact anyway for page multiples below 64 GiB).
  double ws = static_cast<float>(
      SampleValue(m, "container_memory_working_set_bytes", {id}).value_or(-1));
  HttpResult api;
  ASSERT_TRUE(WaitFor([&] {
    api = HttpGet(agent.port(),
                  "/api/v1/aggregates?namespace=scraper&workload=e2e-hpa&metric=memory&window=1m&stat=max"
                  "&min_coverage=0");  // a second old: far from a covered minute
    return api.status == 200;
  }, 5000, 100)) << api.status << " " << api.body;
  ASSERT_TRUE(absl::StartsWith(api.body, "{\"value\":")) << api.body;
  EXPECT_DOUBLE_EQ(std::stod(api.body.substr(9)), ws) << api.body;
  EXPECT_TRUE(absl::StrContains(api.body, "\"workload_kind\":\"Deployment\"")) << api.body;
  EXPECT_TRUE(absl::StrContains(api.body, "\"pods\":1")) << api.body;
  std::string m2 = agent.Metrics();
  EXPECT_EQ(SampleValue(m2, "pod:container_memory_working_set_bytes:max1m",
                        {"namespace=\"scraper\"", "pod=\"e2e-hpa-6cd8d99884-tggnr\""})
                .value_or(-1),
            ws);
  // A rate needs two samples of the counter: wait for the second cycle.
  EXPECT_TRUE(WaitFor([&] {
    return SampleValue(agent.Metrics(), "workload:container_cpu_usage:rate1m_p95",
                       {"workload=\"e2e-hpa\"", "workload_kind=\"Deployment\""})
        .has_value();
  }, 5000, 100));
}

TEST_F(KubeletE2ETest, KubeletDownKeepsCollectingAndSaysWhy) {
  int closed_port = FreeLoopbackPort();  // nothing listens here
  AgentHarness agent(AgentFlags("https://127.0.0.1:" + std::to_string(closed_port)), "/healthz");
  ASSERT_TRUE(agent.ok()) << agent.child().Output();
  std::string m;
  ASSERT_TRUE(WaitFor([&] {
    m = agent.Metrics();
    return SampleValue(m, "nodepulse_kubelet_errors_total", {"reason=\"connect\""}).value_or(0) >= 2;
  }, 10000, 200)) << m.substr(0, 2000);
  EXPECT_EQ(SampleValue(m, "nodepulse_kubelet_up").value_or(-1), 0);
  // cgroup metrics keep flowing, path-only labels.
  EXPECT_TRUE(SampleValue(m, "container_cpu_usage_seconds_total",
                          {std::string("id=\"/kubepods/pod") + kPodUid + "\""})
                  .has_value());
  HttpResult ready = HttpGet(agent.port(), "/readyz");
  EXPECT_EQ(ready.status, 503);
  EXPECT_TRUE(absl::StrContains(ready.body, "kubelet")) << ready.body;
  EXPECT_EQ(HttpGet(agent.port(), "/healthz").status, 200);
  // Several failed polls, but one warning for the state change, not one per poll.
  std::string log = agent.child().Output();
  int warnings = 0;
  for (absl::string_view line : absl::StrSplit(log, '\n')) {
    if (absl::StrContains(line, "kubelet") &&
        (absl::StrContains(line, "level=warn") || absl::StrContains(line, "level=error"))) {
      ++warnings;
    }
  }
  EXPECT_GE(warnings, 1) << log;
  EXPECT_LE(warnings, 2) << log;
}

}  // namespace
}  // namespace nodepulse::testing
