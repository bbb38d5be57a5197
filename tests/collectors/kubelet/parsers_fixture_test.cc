// The /pods and /stats/summary parsers on every kubelet fixture: the hand
// parser must agree with protobuf's JSON parser field for field, and chosen
// values are checked against the files (see fixtures/kubelet/SOURCES.md).
#include <gtest/gtest.h>

#include <limits>
#include <string>

#include "google/protobuf/util/message_differencer.h"
#include "json_parsers.h"
#include "kubelet_json_baseline.h"
#include "kubelet_test_util.h"

namespace nodepulse::collectors::kubelet {
namespace {

using ::nodepulse::testing::KubeletFixture;
using ::nodepulse::testing::ReadFile;

class PodsFixtureTest : public ::testing::TestWithParam<const char*> {};
class SummaryFixtureTest : public ::testing::TestWithParam<const char*> {};

TEST_P(PodsFixtureTest, HandParserMatchesProtobuf) {
  std::string json = ReadFile(KubeletFixture(GetParam()));
  ASSERT_FALSE(json.empty());
  api::PodList hand, reference;
  ASSERT_TRUE(ParsePodList(json, &hand).ok()) << ParsePodList(json, &hand);
  ASSERT_TRUE(bench::ParsePodListProtobuf(json, &reference).ok()) << bench::ParsePodListProtobuf(json, &reference);
  std::string diff;
  google::protobuf::util::MessageDifferencer d;
  d.ReportDifferencesToString(&diff);
  EXPECT_TRUE(d.Compare(reference, hand)) << diff;
  EXPECT_GT(hand.items_size(), 0);
  for (const auto& pod : hand.items()) {
    EXPECT_FALSE(pod.metadata().uid().empty());
    EXPECT_FALSE(pod.metadata().namespace_().empty());
  }
}

TEST_P(SummaryFixtureTest, HandParserMatchesProtobuf) {
  std::string json = ReadFile(KubeletFixture(GetParam()));
  ASSERT_FALSE(json.empty());
  api::Summary hand, reference;
  ASSERT_TRUE(ParseSummary(json, &hand).ok()) << ParseSummary(json, &hand);
  ASSERT_TRUE(bench::ParseSummaryProtobuf(json, &reference).ok()) << bench::ParseSummaryProtobuf(json, &reference);
  std::string diff;
  google::protobuf::util::MessageDifferencer d;
  d.ReportDifferencesToString(&diff);
  EXPECT_TRUE(d.Compare(reference, hand)) << diff;
  EXPECT_GT(hand.pods_size(), 0);
}

INSTANTIATE_TEST_SUITE_P(AllPods, PodsFixtureTest,
                         ::testing::Values("pods.nri-k8s-1.18.json", "pods.nri-k8s-1.24.json",
                                           "pods.nri-k8s-1.28.json", "pods.nri-k8s-1.35.json",
                                           "pods.datadog-windows.json"));
INSTANTIATE_TEST_SUITE_P(AllSummaries, SummaryFixtureTest,
                         ::testing::Values("stats-summary.nri-k8s-1.18.json",
                                           "stats-summary.nri-k8s-1.24.json",
                                           "stats-summary.nri-k8s-1.28.json",
                                           "stats-summary.nri-k8s-1.35.json",
                                           "stats-summary.datadog-windows.json",
                                           "stats-summary.beats-gke-2017.json",
                                           "stats-summary.beats-gke-2017-multiple-containers.json"));

api::PodList Pods(const char* name) {
  api::PodList l;
  EXPECT_TRUE(ParsePodList(ReadFile(KubeletFixture(name)), &l).ok());
  return l;
}
api::Summary Summary(const char* name) {
  api::Summary s;
  EXPECT_TRUE(ParseSummary(ReadFile(KubeletFixture(name)), &s).ok());
  return s;
}
const api::Pod* PodNamed(const api::PodList& l, const std::string& name) {
  for (const auto& p : l.items()) if (p.metadata().name() == name) return &p;
  return nullptr;
}
const api::PodStats* StatsNamed(const api::Summary& s, const std::string& name) {
  for (const auto& p : s.pods()) if (p.pod_ref().name() == name) return &p;
  return nullptr;
}

TEST(PodsValuesTest, Kubernetes135) {
  api::PodList l = Pods("pods.nri-k8s-1.35.json");
  EXPECT_EQ(l.items_size(), 24);
  const api::Pod* hpa = PodNamed(l, "e2e-hpa-6cd8d99884-tggnr");
  ASSERT_NE(hpa, nullptr);
  EXPECT_EQ(hpa->metadata().namespace_(), "scraper");
  EXPECT_EQ(hpa->metadata().uid(), "3ea3ef66-5f89-43b7-b88b-6ee26f5b18a4");
  EXPECT_EQ(hpa->metadata().labels().at("pod-template-hash"), "6cd8d99884");
  ASSERT_EQ(hpa->metadata().owner_references_size(), 1);
  EXPECT_EQ(hpa->metadata().owner_references(0).kind(), "ReplicaSet");
  EXPECT_TRUE(hpa->metadata().owner_references(0).controller());
  EXPECT_EQ(hpa->spec().containers(0).resources().requests().at("cpu"), "200m");
  EXPECT_EQ(hpa->spec().containers(0).resources().limits().at("cpu"), "500m");
  EXPECT_EQ(hpa->status().container_statuses(0).container_id(),
            "containerd://77bb57d9a0006a5ac95a6fa541b2f2a646943143fe1d906aaf70a392d9a62b83");
  EXPECT_EQ(hpa->status().container_statuses(0).image(), "docker.io/library/nginx:alpine");
  const api::Pod* creating = PodNamed(l, "e2e-container-creating");
  ASSERT_NE(creating, nullptr);
  EXPECT_EQ(creating->status().container_statuses(0).restart_count(), 2);
  EXPECT_EQ(creating->status().container_statuses(0).last_state().terminated().reason(), "Completed");
  EXPECT_EQ(PodNamed(l, "e2e-cronjob-29707813-dhlr2")->status().phase(), "Succeeded");
}

TEST(PodsValuesTest, Kubernetes118DockerIdsAndErrorRestart) {
  api::PodList l = Pods("pods.nri-k8s-1.18.json");
  EXPECT_EQ(l.items_size(), 16);
  const api::Pod* sp = PodNamed(l, "storage-provisioner");
  ASSERT_NE(sp, nullptr);
  EXPECT_EQ(sp->status().container_statuses(0).restart_count(), 1);
  EXPECT_EQ(sp->status().container_statuses(0).last_state().terminated().reason(), "Error");
  EXPECT_EQ(sp->status().container_statuses(0).container_id().rfind("docker://", 0), 0u);
  // Pending: no containerID yet.
  EXPECT_EQ(PodNamed(l, "e2e-container-creating")->status().container_statuses(0).container_id(), "");
}

TEST(PodsValuesTest, Kubernetes124And128) {
  EXPECT_EQ(Pods("pods.nri-k8s-1.24.json").items_size(), 25);
  api::PodList l = Pods("pods.nri-k8s-1.28.json");
  EXPECT_EQ(l.items_size(), 23);
  EXPECT_EQ(PodNamed(l, "e2e-deployment-6c6fb66fd4-vjqkq")->status().container_statuses_size(), 2);
}

TEST(PodsValuesTest, WindowsInitContainersAndExtendedResources) {
  api::PodList l = Pods("pods.datadog-windows.json");
  ASSERT_EQ(l.items_size(), 2);
  const api::Pod* dd = PodNamed(l, "dd-datadog-lbvkl");
  ASSERT_NE(dd, nullptr);
  EXPECT_EQ(dd->spec().init_containers_size(), 2);
  EXPECT_EQ(dd->spec().containers_size(), 3);
  ASSERT_EQ(dd->status().init_container_statuses_size(), 2);
  EXPECT_EQ(dd->status().init_container_statuses(0).state().terminated().reason(), "Completed");
  EXPECT_EQ(dd->spec().containers(0).resources().requests().at("vpc.amazonaws.com/PrivateIPv4Address"), "1");
}

TEST(SummaryValuesTest, Kubernetes135NetworkAndEphemeral) {
  api::Summary s = Summary("stats-summary.nri-k8s-1.35.json");
  EXPECT_EQ(s.node().node_name(), "datagen-1-35");
  EXPECT_EQ(s.pods_size(), 17);
  const api::PodStats* kcm = StatsNamed(s, "kube-controller-manager-datagen-1-35");
  ASSERT_NE(kcm, nullptr);
  EXPECT_EQ(kcm->network().name(), "eth0");
  EXPECT_EQ(kcm->network().rx_bytes(), 772919385u);
  EXPECT_EQ(kcm->network().tx_bytes(), 13842013u);
  EXPECT_EQ(kcm->network().interfaces_size(), 10);
  EXPECT_EQ(kcm->ephemeral_storage().used_bytes(), 122880u);
  EXPECT_EQ(kcm->ephemeral_storage().inodes_used(), 25u);
  EXPECT_EQ(kcm->containers(0).rootfs().used_bytes(), 86016u);
  EXPECT_EQ(kcm->containers(0).logs().used_bytes(), 32768u);
  EXPECT_EQ(kcm->cpu().usage_nano_cores(), 6989967u);
}

TEST(SummaryValuesTest, BeatsUint64MaxInodes) {
  api::Summary s = Summary("stats-summary.beats-gke-2017-multiple-containers.json");
  EXPECT_EQ(s.node().fs().inodes_free(), std::numeric_limits<uint64_t>::max());
  ASSERT_EQ(s.pods_size(), 1);
  EXPECT_EQ(s.pods(0).containers_size(), 2);
  EXPECT_EQ(s.pods(0).containers(1).name(), "sidecar");
}

TEST(SummaryValuesTest, BeatsNoPodLevelCpuMemoryNoInterfaces) {
  api::Summary s = Summary("stats-summary.beats-gke-2017.json");
  ASSERT_EQ(s.pods_size(), 1);
  const api::PodStats& p = s.pods(0);
  EXPECT_FALSE(p.has_cpu());
  EXPECT_FALSE(p.has_memory());
  EXPECT_FALSE(p.has_ephemeral_storage());
  EXPECT_EQ(p.network().name(), "");
  EXPECT_EQ(p.network().interfaces_size(), 0);
  EXPECT_EQ(p.network().rx_bytes(), 107056u);
  EXPECT_EQ(p.volume(0).inodes_free(), 473551u);
}

TEST(SummaryValuesTest, WindowsQuirks) {
  api::Summary s = Summary("stats-summary.datadog-windows.json");
  ASSERT_EQ(s.pods_size(), 2);
  const api::PodStats* dd = StatsNamed(s, "dd-datadog-lbvkl");
  ASSERT_NE(dd, nullptr);
  // No rxErrors/txErrors on Windows: absent, not 0.
  EXPECT_FALSE(dd->network().has_rx_errors());
  EXPECT_TRUE(dd->network().has_rx_bytes());
  EXPECT_EQ(dd->network().interfaces(0).name(),
            "cid-41dfe66c6f1f5597dbdf6ab1029b4cf72baa10b530e85685adcd6105ad70d70a");
  // process-agent's first scrape has no usageNanoCores.
  bool checked = false;
  for (const auto& c : dd->containers()) {
    if (c.name() != "process-agent") continue;
    EXPECT_FALSE(c.cpu().has_usage_nano_cores());
    EXPECT_EQ(c.cpu().usage_core_nano_seconds(), 9359375000u);
    checked = true;
  }
  EXPECT_TRUE(checked);
  EXPECT_EQ(dd->ephemeral_storage().used_bytes(), 919980u);
  EXPECT_FALSE(dd->ephemeral_storage().has_inodes());
  EXPECT_EQ(dd->volume_size(), 2);
  EXPECT_EQ(dd->volume(0).inodes(), 0u);
}

}  // namespace
}  // namespace nodepulse::collectors::kubelet
