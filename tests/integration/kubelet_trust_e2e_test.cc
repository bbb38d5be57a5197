// First deploy on the clusters people try first: the agent runs with the
// base manifests' configuration (no --kubelet-* flag; the in-pod defaults
// from KUBERNETES_SERVICE_HOST, NODE_IP and the service-account directory)
// against a real HTTPS kubelet stand-in on <NODE_IP>:10250.
//   - The kubelet's certificate is self-signed (kind, minikube, kubeadm):
//     the agent is Ready after --kubelet-ready-grace anyway, serves cgroup
//     and node series, and every surface names the TLS cause with the
//     certificate's subject and issuer.
//   - The same kubelet with the arguments of
//     deploy/components/kubelet-insecure-tls: the labels join.
//   - A kubelet signed by the service account's CA: the labels join with no flag.
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <random>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "agent_harness.h"
#include "fake_kubelet.h"
#include "gtest/gtest.h"
#include "kubelet_fixture.h"
#include "process.h"

namespace nodepulse::testing {
namespace {

// Renamed after kContainerId: the busy container of the fixture's pod.
constexpr char kFixtureContainer[] = "9c1e3a5b7d9f1b3d5f7a9c1e3b5d7f9a1c3e5b7d9f1a3c5e7b9d1f3a5c7e9b02";
constexpr char kToken[] = "trust-e2e-token-0123456789";
constexpr int kKubeletPort = 10250;  // what the agent assumes in a pod
// Like a kubelet's own self-signed pair (<node>-ca@<unix time>, <node>@<unix time>).
constexpr char kSelfSignedCa[] = "kind-worker-ca@1733500000";
constexpr char kSelfSignedLeaf[] = "kind-worker@1733500000";
constexpr char kGrace[] = "--kubelet-ready-grace=3s";

// The agent arguments a deploy/components/<name> kustomization adds: the
// values of its JSON6902 `add` ops on the container's args, read the way
// tests/deploy/validate_deploy.py's component_args() reads them (that check
// also proves the rendered overlay carries exactly these).
std::vector<std::string> ComponentArgs(const std::string& name) {
  const std::string text = ReadFile(std::string(NODEPULSE_SOURCE_DIR) + "/deploy/components/" + name +
                                    "/kustomization.yaml");
  std::vector<std::string> args;
  bool args_path = false;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    line = absl::StripAsciiWhitespace(line);
    if (absl::ConsumePrefix(&line, "- ")) line = absl::StripLeadingAsciiWhitespace(line);
    if (absl::StartsWith(line, "path:")) {
      args_path = absl::EndsWith(line, "/spec/template/spec/containers/0/args/-");
    } else if (args_path && absl::ConsumePrefix(&line, "value:")) {
      args.emplace_back(absl::StripAsciiWhitespace(line));
      args_path = false;
    }
  }
  return args;
}

class KubeletTrustE2ETest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir("nodepulse-test-kubelet-trust");
    ASSERT_FALSE(dir_.empty());
    CopyKubeletFixtureTree(dir_, kFixtureContainer);
    std::string error;
    // The cluster CA: the service account's ca.crt.
    ASSERT_TRUE(MakeTestCa(dir_, "cluster-ca", "/CN=kubernetes", &error)) << error;
    ASSERT_TRUE(MakeTestCa(dir_, "kubelet-ca", std::string("/CN=") + kSelfSignedCa, &error)) << error;
    std::filesystem::create_directories(dir_ + "/sa");
    WriteFile(dir_ + "/sa/token", std::string(kToken) + "\n");
    WriteFile(dir_ + "/sa/ca.crt", ReadFile(dir_ + "/cluster-ca.crt"));
    // A random 127/8 address, so the fixed kubelet port cannot collide with
    // another test or a real kubelet.
    std::mt19937 rng(std::random_device{}());
    node_ip_ = absl::StrCat("127.", 100 + rng() % 100, ".", 1 + rng() % 250, ".", 1 + rng() % 250);
    // What Kubernetes and the DaemonSet's downward API put in the pod's env;
    // the child inherits it.
    setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1", 1);
    setenv("NODE_IP", node_ip_.c_str(), 1);
    setenv("NODE_NAME", "kind-worker", 1);
    setenv("NODEPULSE_SERVICEACCOUNT_DIR", (dir_ + "/sa").c_str(), 1);
  }
  void TearDown() override {
    for (const char* v : {"KUBERNETES_SERVICE_HOST", "NODE_IP", "NODE_NAME", "NODEPULSE_SERVICEACCOUNT_DIR"}) {
      unsetenv(v);
    }
    RemoveTree(dir_);
  }

  // A kubelet on node_ip_:10250 whose serving certificate `ca` signed.
  std::unique_ptr<FakeKubelet> StartKubelet(const std::string& ca, const std::string& subject) {
    std::string error;
    EXPECT_TRUE(MakeTestLeaf(dir_, "kubelet", "/CN=" + subject, "IP:" + node_ip_, dir_ + "/" + ca, &error))
        << error;
    auto k = std::make_unique<FakeKubelet>(dir_ + "/kubelet.crt", dir_ + "/kubelet.key", kToken, node_ip_,
                                           kKubeletPort);
    EXPECT_TRUE(k->ok()) << "cannot listen on " << node_ip_ << ":" << kKubeletPort;
    k->Serve("/pods", ReadFile(std::string(NODEPULSE_FIXTURES) + "/kubelet/pods.nri-k8s-1.35.json"));
    k->Serve("/stats/summary", ReadFile(std::string(NODEPULSE_FIXTURES) + "/kubelet/stats-summary.nri-k8s-1.35.json"));
    return k;
  }

  // The base DaemonSet passes no --kubelet-* flag; these only aim the agent
  // at the fixture tree and make its rescans quick.
  std::vector<std::string> BaseFlags(std::vector<std::string> extra = {}) const {
    std::vector<std::string> f = {"--interval=500ms", "--cgroup-root=" + dir_ + "/sys/fs/cgroup",
                                  "--proc-root=" + dir_ + "/proc", "--rescan-interval=500ms", kGrace};
    f.insert(f.end(), extra.begin(), extra.end());
    return f;
  }

  // Waits for cAdvisor's labels on the fixture container.
  static void ExpectJoined(AgentHarness& agent) {
    const std::string id = absl::StrCat("id=\"/kubepods/pod", kPodUid, "/", kContainerId, "\"");
    std::string m;
    bool joined = WaitFor([&] {
      m = agent.Metrics();
      return SampleValue(m, "container_cpu_usage_seconds_total", {id, absl::StrCat("pod=\"", kPodName, "\"")})
          .has_value();
    }, 15000, 200);
    EXPECT_TRUE(joined) << agent.child().Output() << "\n" << m.substr(0, 3000);
    EXPECT_EQ(SampleValue(m, "nodepulse_kubelet_up").value_or(-1), 1);
    EXPECT_EQ(HttpGet(agent.port(), "/readyz").body, "ready\n");
  }

  std::string dir_;
  std::string node_ip_;
};

TEST_F(KubeletTrustE2ETest, SelfSignedKubeletWithBaseManifestsIsReadyAndSaysTls) {
  auto kubelet = StartKubelet("kubelet-ca", kSelfSignedLeaf);
  ASSERT_TRUE(kubelet->ok());
  const auto t0 = std::chrono::steady_clock::now();
  AgentHarness agent(BaseFlags(), "/healthz");
  ASSERT_TRUE(agent.ok()) << agent.child().Output();

  HttpResult ready;
  ASSERT_TRUE(WaitFor([&] { return (ready = HttpGet(agent.port(), "/readyz")).status == 200; }, 15000, 100))
      << ready.status << " " << ready.body << "\n" << agent.child().Output();
  const auto ready_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
  // The kubelet never verifies, so only the grace can have made it Ready.
  EXPECT_GE(ready_ms, 3000);
  std::cerr << "Ready after " << ready_ms << " ms; /readyz: " << ready.body;
  for (const char* want : {"ready\ndegraded: ", "reason=tls", kSelfSignedLeaf, kSelfSignedCa,
                           "--kubelet-insecure-skip-verify", "--kubelet-ca-file"}) {
    EXPECT_TRUE(absl::StrContains(ready.body, want)) << want << " not in " << ready.body;
  }
  EXPECT_EQ(HttpGet(agent.port(), "/healthz").status, 200);

  const std::string m = agent.Metrics();
  EXPECT_EQ(SampleValue(m, "nodepulse_kubelet_up", {"reason=\"tls\""}).value_or(-1), 0);
  EXPECT_GE(SampleValue(m, "nodepulse_kubelet_errors_total", {"endpoint=\"pods\"", "reason=\"tls\""}).value_or(0), 1);
  EXPECT_TRUE(SampleValue(m, "container_cpu_usage_seconds_total",
                          {absl::StrCat("id=\"/kubepods/pod", kPodUid, "/", kContainerId, "\"")})
                  .has_value());
  EXPECT_TRUE(SampleValue(m, "node_context_switches_total").has_value());
  EXPECT_EQ(kubelet->requests("/pods"), 0);  // the token never reached the unverified peer

  HttpResult health;
  ASSERT_TRUE(WaitFor([&] {
    health = HttpGet(agent.port(), "/api/v1/health");
    return absl::StrContains(health.body, "kubelet_degraded");
  }, 10000, 200)) << health.body.substr(0, 2000);
  for (const char* want : {"\"resource\":\"tls\"", kSelfSignedLeaf, kSelfSignedCa}) {
    EXPECT_TRUE(absl::StrContains(health.body, want)) << want;
  }
  const std::string page = HttpGet(agent.port(), "/").body;
  EXPECT_TRUE(absl::StrContains(page, "Kubelet join degraded"));
  EXPECT_TRUE(absl::StrContains(page, kSelfSignedLeaf));
}

TEST_F(KubeletTrustE2ETest, SelfSignedKubeletJoinsWithTheInsecureComponent) {
  const std::vector<std::string> component = ComponentArgs("kubelet-insecure-tls");
  ASSERT_EQ(component, std::vector<std::string>{"--kubelet-insecure-skip-verify"});
  auto kubelet = StartKubelet("kubelet-ca", kSelfSignedLeaf);
  ASSERT_TRUE(kubelet->ok());
  AgentHarness agent(BaseFlags(component));
  ASSERT_TRUE(agent.ok()) << agent.child().Output();
  ExpectJoined(agent);
}

TEST_F(KubeletTrustE2ETest, ClusterSignedKubeletJoinsWithNoFlag) {
  auto kubelet = StartKubelet("cluster-ca", "system:node:kind-worker");
  ASSERT_TRUE(kubelet->ok());
  AgentHarness agent(BaseFlags());
  ASSERT_TRUE(agent.ok()) << agent.child().Output();
  ExpectJoined(agent);
}

}  // namespace
}  // namespace nodepulse::testing
