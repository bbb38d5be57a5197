// The join end to end below the agent: the cgroup collector, on a fixture
// cgroup tree renamed after a pod UID and container ID of the 1.35 /pods
// fixture, labels its series through MakeKubeletLabeler() with what the
// client fetched from the HTTPS fake kubelet, as cAdvisor would.
#include "https_fixture.h"
#include "kubelet_fixture.h"
#include "nodepulse/collectors/cgroup.h"
#include "nodepulse/pipeline/pipeline.h"

namespace nodepulse::collectors {
namespace {

using testing::FindSeries;
using testing::kContainerId;
using testing::kPodUid;

constexpr char kFixtureContainer[] = "4f0a1c8e2b6d9f3a5c7e1b0d2f4a6c8e0b2d4f6a8c0e2a4c6e8f0a2b4c6d8e01";
constexpr char kSandbox[] = "9c1e3a5b7d9f1b3d5f7a9c1e3b5d7f9a1c3e5b7d9f1a3c5e7b9d1f3a5c7e9b02";

class KubeletJoinTest : public testing::KubeletHttpsTest {
 protected:
  void SetUp() override {
    KubeletHttpsTest::SetUp();
    root_ = testing::MakeTempDir("kubelet-join");
    testing::CopyKubeletFixtureTree(root_, kFixtureContainer);
  }
  void TearDown() override { testing::RemoveTree(root_); }
  std::string root_;
};

TEST_F(KubeletJoinTest, CgroupSeriesCarryNamespacePodContainerImage) {
  auto client = std::make_shared<KubeletClient>(Options());
  client->PollOnce();
  ASSERT_TRUE(client->state()->up);

  pipeline::Pipeline pipeline{pipeline::Options{}};
  CgroupOptions options;
  options.cgroup_root = root_ + "/sys/fs/cgroup";
  options.proc_root = root_ + "/proc";
  options.labeler = MakeKubeletLabeler(client);
  auto cgroups = NewCgroupCollector(options, pipeline);
  ASSERT_TRUE(cgroups.ok()) << cgroups.status();
  pipeline.BeginCycle(1000);
  CollectStats stats;
  ASSERT_TRUE((*cgroups)->Collect(stats).ok());
  pipeline.EndCycle();
  auto snap = pipeline.snapshot();

  const std::string pod_id = std::string("/kubepods/pod") + kPodUid;
  auto container = FindSeries(*snap, "container_cpu_usage_seconds_total", {{"id", pod_id + "/" + kContainerId}});
  ASSERT_FALSE(container.empty()) << "no cpu series for the renamed container";
  std::map<std::string, std::string> want = {
      {"container", "php-apache"}, {"id", pod_id + "/" + kContainerId},
      {"image", "docker.io/library/nginx:alpine"}, {"name", kContainerId},
      {"namespace", "scraper"}, {"pod", "e2e-hpa-6cd8d99884-tggnr"}};
  for (const auto& s : container) {
    for (const auto& [k, v] : want) EXPECT_EQ(s.labels.at(k), v) << k;
  }
  // The other container of that pod is not in /pods (cAdvisor shows the
  // sandbox like this): known pod, container="".
  auto sandbox = FindSeries(*snap, "container_cpu_usage_seconds_total", {{"id", pod_id + "/" + kSandbox}});
  ASSERT_FALSE(sandbox.empty());
  EXPECT_EQ(sandbox[0].labels.at("container"), "");
  EXPECT_EQ(sandbox[0].labels.at("name"), kSandbox);
  EXPECT_EQ(sandbox[0].labels.at("pod"), "e2e-hpa-6cd8d99884-tggnr");
  // The pod cgroup itself: namespace and pod, empty container/image/name.
  auto pod = FindSeries(*snap, "container_cpu_usage_seconds_total", {{"id", pod_id}});
  ASSERT_FALSE(pod.empty());
  EXPECT_EQ(pod[0].labels.at("namespace"), "scraper");
  EXPECT_EQ(pod[0].labels.at("container"), "");
  EXPECT_EQ(pod[0].labels.at("name"), "");
  // Pods the kubelet does not list keep the path-only labels.
  auto other = FindSeries(*snap, "container_cpu_usage_seconds_total",
                          {{"id", "/kubepods/burstable/pod8a3e5b7c-1d2f-4a6b-8c9d-0e1f2a3b4c02"}});
  ASSERT_FALSE(other.empty());
  EXPECT_EQ(other[0].labels.at("pod"), "");

  // The aggregates' owner lookup agrees.
  auto owners = MakePodOwnerLookup(client);
  auto owner = owners("scraper", testing::kPodName);
  ASSERT_TRUE(owner.has_value());
  EXPECT_EQ(owner->workload, "e2e-hpa");
  EXPECT_EQ(owner->workload_kind, "Deployment");
  EXPECT_FALSE(owners("kube-system", testing::kPodName).has_value());
  EXPECT_FALSE(owners("scraper", "no-such-pod").has_value());
}

// The agent starts its kubelet client and its cgroup collector together, so
// the first discovery may run before the first /pods answer (the container
// suite once caught one pod unlabelled that way). The metadata version makes
// the next cycle relabel, without waiting for a rescan.
TEST_F(KubeletJoinTest, PodListedAfterDiscoveryIsLabelledAtTheNextCycle) {
  auto client = std::make_shared<KubeletClient>(Options());
  pipeline::Pipeline pipeline{pipeline::Options{}};
  CgroupOptions options;
  options.cgroup_root = root_ + "/sys/fs/cgroup";
  options.proc_root = root_ + "/proc";
  options.rescan_interval = absl::Hours(1);
  options.labeler = MakeKubeletLabeler(client);
  options.label_generation = MakeKubeletLabelGeneration(client);
  auto cgroups = NewCgroupCollector(options, pipeline);
  ASSERT_TRUE(cgroups.ok()) << cgroups.status();
  const std::string id = std::string("/kubepods/pod") + kPodUid + "/" + kContainerId;
  CollectStats stats;
  auto cycle = [&](int64_t t) {
    pipeline.BeginCycle(t);
    ASSERT_TRUE((*cgroups)->Collect(stats).ok());
    pipeline.EndCycle();
  };
  auto pod_label = [&] {
    auto s = FindSeries(*pipeline.snapshot(), "container_cpu_usage_seconds_total", {{"id", id}});
    return s.empty() ? std::string("<no series>") : s[0].labels.at("pod");
  };
  cycle(1000);
  EXPECT_EQ(pod_label(), "");  // nothing polled yet
  const uint64_t before = options.label_generation();
  client->PollOnce();
  ASSERT_TRUE(client->state()->up);
  EXPECT_NE(options.label_generation(), before);
  cycle(2000);
  EXPECT_EQ(pod_label(), "e2e-hpa-6cd8d99884-tggnr");
  EXPECT_EQ(stats.discovery_walks, 1u);  // labelled without a rescan
}

}  // namespace
}  // namespace nodepulse::collectors
