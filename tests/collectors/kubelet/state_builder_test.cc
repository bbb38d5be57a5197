#include "state_builder.h"

#include <gtest/gtest.h>

#include <cmath>

#include "json_parsers.h"
#include "kubelet_test_util.h"

namespace nodepulse::collectors::kubelet {
namespace {

using ::nodepulse::testing::KubeletFixture;
using ::nodepulse::testing::ReadFile;

KubeletState Build(const std::string& pods_json, const std::string& summary_json,
                   const KubeletState& prev) {
  api::PodList l;
  api::Summary s;
  EXPECT_TRUE(ParsePodList(pods_json, &l).ok());
  EXPECT_TRUE(ParseSummary(summary_json, &s).ok());
  KubeletState st;
  st.pods = BuildPods(l, prev);
  st.usage = BuildUsage(s);
  IndexState(prev, &st);
  return st;
}

TEST(StateBuilderTest, StripRuntimePrefix) {
  EXPECT_EQ(StripRuntimePrefix("containerd://abc"), "abc");
  EXPECT_EQ(StripRuntimePrefix("docker://abc"), "abc");
  EXPECT_EQ(StripRuntimePrefix("cri-o://abc"), "abc");
  EXPECT_EQ(StripRuntimePrefix("abc"), "abc");
}

TEST(StateBuilderTest, Fixture135) {
  KubeletState empty;
  KubeletState st = Build(ReadFile(KubeletFixture("pods.nri-k8s-1.35.json")),
                          ReadFile(KubeletFixture("stats-summary.nri-k8s-1.35.json")), empty);
  ASSERT_EQ(st.pods.size(), 24u);
  const PodMeta* pod = nullptr;
  const ContainerMeta* c =
      st.FindContainer("77bb57d9a0006a5ac95a6fa541b2f2a646943143fe1d906aaf70a392d9a62b83", &pod);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->name, "php-apache");
  EXPECT_EQ(c->image, "docker.io/library/nginx:alpine");
  EXPECT_DOUBLE_EQ(c->desired.cpu_request_cores, 0.2);
  EXPECT_DOUBLE_EQ(c->desired.cpu_limit_cores, 0.5);
  EXPECT_TRUE(std::isnan(c->desired.memory_request_bytes));
  EXPECT_EQ(pod->name, "e2e-hpa-6cd8d99884-tggnr");
  EXPECT_EQ(pod->workload.kind, "Deployment");
  EXPECT_EQ(st.FindPod("3ea3ef66-5f89-43b7-b88b-6ee26f5b18a4"), pod);
  // Image pulled by digest: status says sha256:..., the spec's reference is kept.
  const PodMeta* ms = st.FindPod("5e5613d6-fccb-40d6-967b-447697d4d871");
  ASSERT_NE(ms, nullptr);
  EXPECT_EQ(ms->containers[0].image.rfind("registry.k8s.io/metrics-server/metrics-server:v0.8.1", 0), 0u);
  ASSERT_EQ(st.usage.size(), 17u);
}

TEST(StateBuilderTest, WindowsInitContainersFirstAndUnknownInodes) {
  KubeletState empty;
  KubeletState st = Build(ReadFile(KubeletFixture("pods.datadog-windows.json")),
                          ReadFile(KubeletFixture("stats-summary.datadog-windows.json")), empty);
  const PodMeta* dd = st.FindPod("8ddf0e3f-ac6c-4d44-87d7-0bc41f6729ec");
  ASSERT_NE(dd, nullptr);
  ASSERT_EQ(dd->containers.size(), 5u);
  EXPECT_TRUE(dd->containers[0].init);
  EXPECT_EQ(dd->containers[0].id, "8b77800949d523c1faa135731ffb2f19eee4ee954c8d5eb0548562b82d5616a8");
  EXPECT_EQ(dd->workload.kind, "DaemonSet");
  // Windows network: no error counters.
  for (const PodUsage& u : st.usage) {
    ASSERT_EQ(u.interfaces.size(), 1u);
    EXPECT_FALSE(u.interfaces[0].rx_errors.present);
    EXPECT_TRUE(u.interfaces[0].rx_bytes.present);
  }
}

TEST(StateBuilderTest, Uint64MaxIsNotReported) {
  api::Summary s;
  ASSERT_TRUE(ParseSummary(R"({"pods":[{"podRef":{"name":"p","namespace":"n","uid":"u"},
      "volume":[{"name":"v","inodesFree":18446744073709551615,"inodes":10,"pvcRef":{"name":"c","namespace":"n"}}]}]})", &s).ok());
  auto usage = BuildUsage(s);
  ASSERT_EQ(usage.size(), 1u);
  EXPECT_FALSE(usage[0].volumes[0].fs.inodes_free.present);
  EXPECT_TRUE(usage[0].volumes[0].fs.inodes.present);
  EXPECT_EQ(usage[0].volumes[0].pvc_name, "c");
}

TEST(StateBuilderTest, OldKubeletDefaultInterfaceIsEth0) {
  api::Summary s;
  ASSERT_TRUE(ParseSummary(ReadFile(KubeletFixture("stats-summary.beats-gke-2017.json")), &s).ok());
  auto usage = BuildUsage(s);
  ASSERT_EQ(usage[0].interfaces.size(), 1u);
  EXPECT_EQ(usage[0].interfaces[0].name, "eth0");
  EXPECT_DOUBLE_EQ(usage[0].interfaces[0].rx_bytes.value, 107056);
}

std::string PodJson(int restarts, const std::string& reason, const std::string& uid = "u1",
                    const std::string& cid = "containerd://c1") {
  return R"({"items":[{"metadata":{"name":"api-5f6d7-x","namespace":"prod","uid":")" + uid +
         R"(","labels":{"pod-template-hash":"5f6d7"},"ownerReferences":[{"kind":"ReplicaSet","name":"api-5f6d7","controller":true}]},
      "spec":{"containers":[{"name":"app","image":"app:1","resources":{"limits":{"memory":"128Mi"}}}]},
      "status":{"containerStatuses":[{"name":"app","containerID":")" + cid + R"(","restartCount":)" +
         std::to_string(restarts) + R"(,"lastState":)" +
         (reason.empty() ? "{}" : R"({"terminated":{"reason":")" + reason + R"(","exitCode":137}})") +
         "}]}}]}";
}

TEST(StateBuilderTest, OomKillsCountAcrossContainerRestartsAndFeedTheWorkload) {
  KubeletState s0;
  KubeletState s1 = Build(PodJson(0, ""), "{}", s0);
  EXPECT_EQ(s1.pods[0].oom_kills, 0u);
  EXPECT_DOUBLE_EQ(s1.pods[0].containers[0].desired.memory_limit_bytes, 134217728);
  KubeletState s2 = Build(PodJson(1, "OOMKilled", "u1", "containerd://c2"), "{}", s1);
  EXPECT_EQ(s2.pods[0].oom_kills, 1u);
  KubeletState s3 = Build(PodJson(1, "OOMKilled", "u1", "containerd://c2"), "{}", s2);  // no change
  EXPECT_EQ(s3.pods[0].oom_kills, 1u);
  KubeletState s4 = Build(PodJson(2, "OOMKilled", "u1", "containerd://c3"), "{}", s3);
  EXPECT_EQ(s4.pods[0].oom_kills, 2u);
  KubeletState s5 = Build(PodJson(3, "Error", "u1", "containerd://c4"), "{}", s4);
  EXPECT_EQ(s5.pods[0].oom_kills, 2u);
  ASSERT_EQ(s5.workload_keys.size(), 1u);
  EXPECT_EQ(s5.workload_keys[0].first.kind, "Deployment");
  EXPECT_EQ(s5.workload_keys[0].first.name, "api");
  EXPECT_EQ(s5.workload_oom_kills[0], 2u);
  // The pod is replaced by a new one of the same Deployment: the workload's
  // count carries on; the new pod starts at its own history.
  KubeletState s6 = Build(PodJson(0, "OOMKilled", "u2", "containerd://d1"), "{}", s5);
  EXPECT_EQ(s6.pods[0].oom_kills, 1u);  // OOMKilled at first sight counts once
  EXPECT_EQ(s6.workload_oom_kills[0], 3u);
}

TEST(StateBuilderTest, LayoutSignatureTracksSeriesNotValues) {
  KubeletState s0;
  std::string summary1 = R"({"pods":[{"podRef":{"name":"p","namespace":"n","uid":"u"},"network":{"name":"eth0","rxBytes":1,"interfaces":[{"name":"eth0","rxBytes":1}]}}]})";
  std::string summary2 = R"({"pods":[{"podRef":{"name":"p","namespace":"n","uid":"u"},"network":{"name":"eth0","rxBytes":99,"interfaces":[{"name":"eth0","rxBytes":99}]}}]})";
  std::string summary3 = R"({"pods":[{"podRef":{"name":"p","namespace":"n","uid":"u"},"network":{"name":"eth0","rxBytes":99,"interfaces":[{"name":"eth0","rxBytes":99},{"name":"eth1","rxBytes":1}]}}]})";
  KubeletState a = Build(PodJson(0, ""), summary1, s0);
  KubeletState b = Build(PodJson(0, ""), summary2, a);
  KubeletState c = Build(PodJson(0, ""), summary3, b);
  KubeletState d = Build(PodJson(1, "OOMKilled"), summary3, c);
  EXPECT_EQ(LayoutSignature(a), LayoutSignature(b));
  EXPECT_NE(LayoutSignature(b), LayoutSignature(c));
  EXPECT_NE(LayoutSignature(c), LayoutSignature(d));  // a new reason label
}

}  // namespace
}  // namespace nodepulse::collectors::kubelet
