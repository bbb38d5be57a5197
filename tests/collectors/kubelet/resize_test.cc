// In-place pod resize (Kubernetes 1.35): desired (spec) vs current (applied)
// requests and limits, and the resize state, from the derived 1.35 fixture
// (tests/testdata/kubelet/pods.resize-1.35.json; README.md there cites each
// field's shape) through both parsers, the state builder and the collector.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "google/protobuf/util/message_differencer.h"
#include "https_fixture.h"
#include "json_parsers.h"
#include "kubelet_json_baseline.h"
#include "nodepulse/pipeline/pipeline.h"
#include "state_builder.h"

namespace nodepulse::collectors {
namespace {

using testing::FindSeries;
using testing::KubeletTestdata;
using testing::ReadFile;
using testing::SeriesValue;

constexpr char kFixture[] = "pods.resize-1.35.json";

const PodMeta& Named(const std::vector<PodMeta>& pods, const std::string& name) {
  for (const PodMeta& p : pods) {
    if (p.name == name) return p;
  }
  ADD_FAILURE() << "no pod " << name;
  static const PodMeta kNone;
  return kNone;
}

std::vector<PodMeta> Pods() {
  kubelet::api::PodList l;
  EXPECT_TRUE(kubelet::ParsePodList(ReadFile(KubeletTestdata(kFixture)), &l).ok());
  return kubelet::BuildPods(l, KubeletState{});
}

TEST(ResizeTest, HandParserMatchesProtobufOnResizeFields) {
  const std::string json = ReadFile(KubeletTestdata(kFixture));
  kubelet::api::PodList hand, reference;
  ASSERT_TRUE(kubelet::ParsePodList(json, &hand).ok());
  ASSERT_TRUE(bench::ParsePodListProtobuf(json, &reference).ok());
  std::string diff;
  google::protobuf::util::MessageDifferencer d;
  d.ReportDifferencesToString(&diff);
  EXPECT_TRUE(d.Compare(reference, hand)) << diff;
  // The fields are really read, not both left empty.
  const auto& hpa = hand.items(0);
  ASSERT_TRUE(hpa.status().container_statuses(0).has_resources());
  EXPECT_EQ(hpa.status().container_statuses(0).resources().requests().at("cpu"), "200m");
  EXPECT_EQ(hpa.status().container_statuses(0).allocated_resources().at("cpu"), "400m");
  EXPECT_EQ(hpa.status().conditions().rbegin()->type(), "PodResizeInProgress");
  EXPECT_EQ(hand.items(4).status().resize(), "InProgress");
}

TEST(ResizeTest, DesiredIsTheSpecCurrentIsWhatIsApplied) {
  const std::vector<PodMeta> pods = Pods();
  ASSERT_EQ(pods.size(), 6u);

  const PodMeta& hpa = Named(pods, "e2e-hpa-6cd8d99884-tggnr");
  EXPECT_EQ(hpa.resize, ResizeState::kInProgress);
  EXPECT_DOUBLE_EQ(hpa.containers[0].desired.cpu_request_cores, 0.4);
  EXPECT_DOUBLE_EQ(hpa.containers[0].desired.cpu_limit_cores, 1.0);
  EXPECT_DOUBLE_EQ(hpa.containers[0].current.cpu_request_cores, 0.2);  // still enforced
  EXPECT_DOUBLE_EQ(hpa.containers[0].current.cpu_limit_cores, 0.5);
  EXPECT_DOUBLE_EQ(hpa.pod_current.cpu_request_cores, 0.2);
  EXPECT_TRUE(std::isnan(hpa.pod_current.memory_request_bytes)) << "no memory request";

  const PodMeta& infeasible = Named(pods, "e2e-deployment-79967c5968-8bnn8");
  EXPECT_EQ(infeasible.resize, ResizeState::kInfeasible);
  EXPECT_EQ(infeasible.resize_message,
            "Node didn't have enough capacity: memory, requested: 4718592000, capacity: 4294967296");
  EXPECT_DOUBLE_EQ(infeasible.pod_desired.memory_request_bytes, 4500.0 * 1024 * 1024);
  EXPECT_DOUBLE_EQ(infeasible.pod_current.memory_request_bytes, 15.0 * 1024 * 1024);

  EXPECT_EQ(Named(pods, "e2e-deployment-79967c5968-zjslc").resize, ResizeState::kDeferred);

  const PodMeta& done = Named(pods, "e2e-statefulset-0");
  EXPECT_EQ(done.resize, ResizeState::kNone);
  EXPECT_DOUBLE_EQ(done.pod_current.cpu_request_cores, 0.12);
  EXPECT_DOUBLE_EQ(done.pod_desired.cpu_request_cores, 0.12);

  // Pre-1.33: status.resize and allocatedResources, no status.resources:
  // requests come from the allocation, limits from the spec.
  const PodMeta& old = Named(pods, "e2e-statefulset-1");
  EXPECT_EQ(old.resize, ResizeState::kInProgress);
  EXPECT_DOUBLE_EQ(old.containers[0].desired.cpu_request_cores, 0.06);
  EXPECT_DOUBLE_EQ(old.containers[0].current.cpu_request_cores, 0.04);
  EXPECT_DOUBLE_EQ(old.containers[0].current.cpu_limit_cores, 0.08);

  const PodMeta& besteffort = Named(pods, "e2e-scraper-5f97dc94d8-vkcjl");
  EXPECT_EQ(besteffort.resize, ResizeState::kNone);
  EXPECT_TRUE(std::isnan(besteffort.pod_current.cpu_request_cores));
}

TEST(ResizeTest, ConditionsWinOverTheDeprecatedStringAndFalseIsNotPending) {
  kubelet::api::PodList l;
  ASSERT_TRUE(kubelet::ParsePodList(R"({"items":[
    {"metadata":{"uid":"u1","name":"a","namespace":"n"},"spec":{"containers":[{"name":"c"}]},
     "status":{"resize":"Deferred","conditions":[
       {"type":"PodResizeInProgress","status":"True","reason":"Error","message":"runtime said no"}]}},
    {"metadata":{"uid":"u2","name":"b","namespace":"n"},"spec":{"containers":[{"name":"c"}]},
     "status":{"conditions":[{"type":"PodResizePending","status":"False","reason":"Infeasible"}]}}]})",
                                    &l)
                  .ok());
  std::vector<PodMeta> pods = kubelet::BuildPods(l, KubeletState{});
  ASSERT_EQ(pods.size(), 2u);
  EXPECT_EQ(pods[0].resize, ResizeState::kError);
  EXPECT_EQ(pods[0].resize_message, "runtime said no");
  EXPECT_EQ(pods[1].resize, ResizeState::kNone);
}

class ResizeCollectorTest : public testing::KubeletHttpsTest {};

TEST_F(ResizeCollectorTest, ExportsDesiredAndCurrentAndTheResizeStatus) {
  kubelet_->Serve("/pods", ReadFile(KubeletTestdata(kFixture)));
  auto client = std::make_shared<KubeletClient>(Options());
  client->PollOnce();
  pipeline::Pipeline pipeline{pipeline::Options{}};
  auto collector = NewKubeletCollector(client, pipeline);
  ASSERT_TRUE(collector.ok()) << collector.status();
  pipeline.BeginCycle(1000);
  CollectStats stats;
  ASSERT_TRUE((*collector)->Collect(stats).ok());
  pipeline.EndCycle();
  auto snap = pipeline.snapshot();
  const std::string hpa = "e2e-hpa-6cd8d99884-tggnr";
  auto value = [&](const char* metric, std::map<std::string, std::string> labels) {
    return SeriesValue(*snap, metric, labels);
  };
  // kube-state-metrics' name keeps its meaning: the spec.
  EXPECT_DOUBLE_EQ(value("kube_pod_container_resource_requests", {{"pod", hpa}, {"resource", "cpu"}}), 0.4);
  EXPECT_DOUBLE_EQ(value("nodepulse_container_resource_requests",
                         {{"pod", hpa}, {"container", "php-apache"}, {"node", "datagen-1-35"},
                          {"resource", "cpu"}, {"unit", "core"}, {"state", "desired"}}),
                   0.4);
  EXPECT_DOUBLE_EQ(value("nodepulse_container_resource_requests",
                         {{"pod", hpa}, {"resource", "cpu"}, {"state", "current"}}),
                   0.2);
  EXPECT_DOUBLE_EQ(value("nodepulse_container_resource_limits",
                         {{"pod", hpa}, {"resource", "cpu"}, {"state", "current"}}),
                   0.5);
  EXPECT_DOUBLE_EQ(value("nodepulse_pod_resource_requests",
                         {{"namespace", "scraper"}, {"pod", hpa}, {"resource", "cpu"}, {"state", "current"}}),
                   0.2);
  EXPECT_TRUE(FindSeries(*snap, "nodepulse_pod_resource_requests", {{"pod", hpa}, {"resource", "memory"}}).empty());
  EXPECT_DOUBLE_EQ(value("nodepulse_pod_resize_status", {{"pod", hpa}, {"status", "in_progress"}}), 1);
  EXPECT_DOUBLE_EQ(value("nodepulse_pod_resize_status",
                         {{"pod", "e2e-deployment-79967c5968-8bnn8"}, {"status", "infeasible"}}),
                   1);
  EXPECT_DOUBLE_EQ(value("nodepulse_pod_resource_requests",
                         {{"pod", "e2e-deployment-79967c5968-8bnn8"}, {"resource", "memory"}, {"state", "desired"}}),
                   4500.0 * 1024 * 1024);
  EXPECT_EQ(FindSeries(*snap, "nodepulse_pod_resize_status").size(), 4u);  // done and BestEffort: none

  // The resize completes: the status series goes, current follows.
  std::string json = ReadFile(KubeletTestdata(kFixture));
  const std::string cond = R"("type": "PodResizeInProgress")";
  ASSERT_NE(json.find(cond), std::string::npos);
  json.replace(json.find(cond), cond.size(), R"("type": "SomethingElse")");
  // The hpa container's status (its ID appears only there): applied 200m/500m -> 400m/1.
  size_t at = json.find("77bb57d9a0006a5ac95a6fa541b2f2a646943143fe1d906aaf70a392d9a62b83\"");
  for (auto [from, to] : {std::pair<std::string, std::string>{R"("cpu": "500m")", R"("cpu": "1")"},
                          {R"("cpu": "200m")", R"("cpu": "400m")"}}) {
    at = json.find(from, at);
    ASSERT_NE(at, std::string::npos) << from;
    json.replace(at, from.size(), to);
  }
  kubelet_->Serve("/pods", json);
  client->PollOnce();
  pipeline.BeginCycle(2000);
  ASSERT_TRUE((*collector)->Collect(stats).ok());
  pipeline.EndCycle();
  snap = pipeline.snapshot();
  EXPECT_TRUE(FindSeries(*snap, "nodepulse_pod_resize_status", {{"pod", hpa}}).empty());
  EXPECT_DOUBLE_EQ(SeriesValue(*snap, "nodepulse_pod_resource_requests",
                               {{"pod", hpa}, {"resource", "cpu"}, {"state", "current"}}),
                   0.4);
}

}  // namespace
}  // namespace nodepulse::collectors
