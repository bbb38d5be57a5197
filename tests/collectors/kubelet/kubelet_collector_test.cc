// The kubelet Collector writing into a real Pipeline from a client that
// polled the HTTPS fake kubelet: names, labels and values of every family,
// steady state without re-interning, churn, and a kubelet outage.
#include <cmath>
#include <string>
#include <utility>

#include "https_fixture.h"
#include "nodepulse/pipeline/pipeline.h"

namespace nodepulse::collectors {
namespace {

using testing::FakeKubelet;
using testing::FindSeries;
using testing::KubeletTestdata;
using testing::ReadFile;
using testing::SeriesValue;

class KubeletCollectorTest : public testing::KubeletHttpsTest {
 protected:
  // The one nodepulse_kubelet_up series with a value (the others hold NaN,
  // which the exposition skips): its reason label ("" when none) and value.
  static std::pair<std::string, double> ExportedUp(const pipeline::Snapshot& snap) {
    std::pair<std::string, double> out{"<none>", -1};
    int n = 0;
    for (const auto& f : testing::FindSeries(snap, "nodepulse_kubelet_up")) {
      if (std::isnan(f.value)) continue;
      ++n;
      auto it = f.labels.find("reason");
      out = {it == f.labels.end() ? "" : it->second, f.value};
    }
    if (n > 1) out.first = "<several>";
    return out;
  }

  std::shared_ptr<const pipeline::Snapshot> Cycle(Collector& c, int64_t ts = 1000) {
    pipeline_.BeginCycle(ts);
    CollectStats stats;
    EXPECT_TRUE(c.Collect(stats).ok());
    pipeline_.EndCycle();
    return pipeline_.snapshot();
  }
  pipeline::Pipeline pipeline_{pipeline::Options{}};
};

TEST_F(KubeletCollectorTest, WritesKubeStateAndSummarySeries) {
  auto client = std::make_shared<KubeletClient>(Options());
  client->PollOnce();
  KubeletCollectorOptions copts;
  copts.mixin_series = true;  // also the relabel series checked below
  auto collector = NewKubeletCollector(client, pipeline_, copts);
  ASSERT_TRUE(collector.ok()) << collector.status();
  auto snap = Cycle(**collector);
  const std::string hpa = "e2e-hpa-6cd8d99884-tggnr";

  EXPECT_DOUBLE_EQ(SeriesValue(*snap, "kube_pod_container_resource_requests",
                               {{"namespace", "scraper"}, {"pod", hpa}, {"container", "php-apache"},
                                {"node", "datagen-1-35"}, {"resource", "cpu"}, {"unit", "core"}}),
                   0.2);
  EXPECT_DOUBLE_EQ(SeriesValue(*snap, "kube_pod_container_resource_limits",
                               {{"pod", hpa}, {"resource", "cpu"}}),
                   0.5);
  // No memory request in the spec: no series (not a 0).
  EXPECT_TRUE(FindSeries(*snap, "kube_pod_container_resource_requests", {{"pod", hpa}, {"resource", "memory"}}).empty());
  EXPECT_DOUBLE_EQ(SeriesValue(*snap, "kube_pod_container_status_restarts_total",
                               {{"pod", "e2e-container-creating"}, {"container", "alpine"}}),
                   2);
  EXPECT_DOUBLE_EQ(SeriesValue(*snap, "kube_pod_container_status_last_terminated_reason",
                               {{"pod", "e2e-container-creating"}, {"reason", "Completed"}}),
                   1);
  EXPECT_DOUBLE_EQ(SeriesValue(*snap, "kube_pod_owner",
                               {{"pod", hpa}, {"owner_kind", "ReplicaSet"},
                                {"owner_name", "e2e-hpa-6cd8d99884"}, {"owner_is_controller", "true"}}),
                   1);
  EXPECT_DOUBLE_EQ(SeriesValue(*snap, "kube_pod_owner",
                               {{"pod", "etcd-datagen-1-35"}, {"owner_kind", "<none>"}}),
                   1);
  EXPECT_DOUBLE_EQ(SeriesValue(*snap, "namespace_workload_pod:kube_pod_owner:relabel",
                               {{"namespace", "scraper"}, {"pod", hpa}, {"workload", "e2e-hpa"},
                                {"workload_type", "deployment"}}),
                   1);
  EXPECT_DOUBLE_EQ(SeriesValue(*snap, "namespace_workload_pod:kube_pod_owner:relabel",
                               {{"pod", "e2e-cronjob-29707813-dhlr2"}, {"workload", "e2e-cronjob"},
                                {"workload_type", "cronjob"}}),
                   1);
  EXPECT_DOUBLE_EQ(SeriesValue(*snap, "nodepulse_pod_oom_kills_total",
                               {{"pod", hpa}, {"workload", "e2e-hpa"}, {"workload_kind", "Deployment"}}),
                   0);
  EXPECT_DOUBLE_EQ(SeriesValue(*snap, "nodepulse_workload_oom_kills_total",
                               {{"namespace", "scraper"}, {"workload", "e2e-statefulset"},
                                {"workload_kind", "StatefulSet"}}),
                   0);

  // Summary: network on the pod with cAdvisor's label names.
  const std::string kcm = "kube-controller-manager-datagen-1-35";
  auto rx = FindSeries(*snap, "container_network_receive_bytes_total", {{"pod", kcm}, {"interface", "eth0"}});
  ASSERT_EQ(rx.size(), 1u);
  EXPECT_DOUBLE_EQ(rx[0].value, 772919385);
  std::map<std::string, std::string> want_labels = {
      {"container", ""}, {"id", ""}, {"image", ""}, {"interface", "eth0"},
      {"name", ""}, {"namespace", "kube-system"}, {"pod", kcm}};
  EXPECT_EQ(rx[0].labels, want_labels);
  EXPECT_EQ(FindSeries(*snap, "container_network_receive_bytes_total", {{"pod", kcm}}).size(), 10u);
  EXPECT_DOUBLE_EQ(SeriesValue(*snap, "container_network_transmit_bytes_total", {{"pod", kcm}, {"interface", "eth0"}}), 13842013);
  EXPECT_DOUBLE_EQ(SeriesValue(*snap, "container_network_receive_errors_total", {{"pod", kcm}, {"interface", "eth0"}}), 0);
  EXPECT_DOUBLE_EQ(SeriesValue(*snap, "nodepulse_pod_ephemeral_storage_used_bytes", {{"pod", kcm}}), 122880);
  EXPECT_DOUBLE_EQ(SeriesValue(*snap, "nodepulse_container_fs_rootfs_used_bytes",
                               {{"pod", kcm}, {"container", "kube-controller-manager"}}),
                   86016);

  // Self-metrics: up, and every (endpoint, reason) counter at 0.
  EXPECT_EQ(ExportedUp(*snap), (std::pair<std::string, double>{"", 1}));
  EXPECT_EQ(FindSeries(*snap, "nodepulse_kubelet_errors_total").size(), 20u);
  EXPECT_DOUBLE_EQ(SeriesValue(*snap, "nodepulse_kubelet_errors_total", {{"endpoint", "stats/summary"}, {"reason", "timeout"}}), 0);
  EXPECT_GT(SeriesValue(*snap, "nodepulse_kubelet_last_success_timestamp_seconds", {{"endpoint", "pods"}}), 1.7e9);

  // Steady state: same layout, nothing interned.
  uint64_t created = pipeline_.stats().series_created;
  client->PollOnce();
  snap = Cycle(**collector, 2000);
  EXPECT_EQ(pipeline_.stats().series_created, created);
  EXPECT_DOUBLE_EQ(SeriesValue(*snap, "kube_pod_container_resource_limits", {{"pod", hpa}, {"resource", "cpu"}}), 0.5);
}

TEST_F(KubeletCollectorTest, PodChurnReleasesSeries) {
  auto client = std::make_shared<KubeletClient>(Options());
  client->PollOnce();
  auto collector = NewKubeletCollector(client, pipeline_);
  ASSERT_TRUE(collector.ok());
  Cycle(**collector);
  uint64_t live_before = pipeline_.stats().series_live;
  kubelet_->Serve("/pods", ReadFile(KubeletTestdata("pods.pvc.json")));
  kubelet_->Serve("/stats/summary", ReadFile(KubeletTestdata("stats-summary.pvc.json")));
  client->PollOnce();
  auto snap = Cycle(**collector, 2000);
  EXPECT_TRUE(FindSeries(*snap, "kube_pod_owner", {{"pod", "e2e-hpa-6cd8d99884-tggnr"}}).empty());
  EXPECT_TRUE(FindSeries(*snap, "container_network_receive_bytes_total", {{"namespace", "kube-system"}}).empty());
  EXPECT_LT(pipeline_.stats().series_live, live_before);

  // PVC volumes: one series per claim though two pods mount it.
  EXPECT_DOUBLE_EQ(SeriesValue(*snap, "kubelet_volume_stats_used_bytes",
                               {{"namespace", "data"}, {"persistentvolumeclaim", "data-db-0"}}),
                   3e9);
  EXPECT_DOUBLE_EQ(SeriesValue(*snap, "kubelet_volume_stats_capacity_bytes", {{"persistentvolumeclaim", "data-db-0"}}), 1e10);
  EXPECT_DOUBLE_EQ(SeriesValue(*snap, "kubelet_volume_stats_available_bytes", {{"persistentvolumeclaim", "data-db-0"}}), 7e9);
  EXPECT_DOUBLE_EQ(SeriesValue(*snap, "kubelet_volume_stats_inodes", {{"persistentvolumeclaim", "data-db-0"}}), 655360);
  EXPECT_DOUBLE_EQ(SeriesValue(*snap, "kubelet_volume_stats_inodes_free", {{"persistentvolumeclaim", "data-db-0"}}), 600000);
  EXPECT_DOUBLE_EQ(SeriesValue(*snap, "kubelet_volume_stats_inodes_used", {{"persistentvolumeclaim", "data-db-0"}}), 55360);
  auto vol = FindSeries(*snap, "kubelet_volume_stats_used_bytes");
  ASSERT_EQ(vol.size(), 1u);
  std::map<std::string, std::string> want = {{"namespace", "data"}, {"persistentvolumeclaim", "data-db-0"}};
  EXPECT_EQ(vol[0].labels, want);
  EXPECT_DOUBLE_EQ(SeriesValue(*snap, "nodepulse_pod_volume_used_bytes", {{"pod", "db-0"}, {"volume", "scratch"}}), 4096);
  // OOM kill seen at first sight; memory request/limit in bytes.
  EXPECT_DOUBLE_EQ(SeriesValue(*snap, "nodepulse_pod_oom_kills_total",
                               {{"pod", "db-0"}, {"workload", "db"}, {"workload_kind", "StatefulSet"}}),
                   1);
  EXPECT_DOUBLE_EQ(SeriesValue(*snap, "nodepulse_workload_oom_kills_total", {{"workload", "db"}}), 1);
  EXPECT_DOUBLE_EQ(SeriesValue(*snap, "kube_pod_container_status_last_terminated_reason",
                               {{"pod", "db-0"}, {"reason", "OOMKilled"}}),
                   1);
  EXPECT_DOUBLE_EQ(SeriesValue(*snap, "kube_pod_container_resource_requests",
                               {{"pod", "db-0"}, {"resource", "memory"}, {"unit", "byte"}}),
                   268435456);
  EXPECT_DOUBLE_EQ(SeriesValue(*snap, "kube_pod_container_resource_limits",
                               {{"pod", "db-0"}, {"resource", "memory"}}),
                   536870912);
  EXPECT_DOUBLE_EQ(SeriesValue(*snap, "container_network_transmit_errors_total", {{"pod", "db-0"}}), 2);
}

TEST_F(KubeletCollectorTest, OutageKeepsSeriesWithinGraceAndCountsErrors) {
  KubeletOptions o = Options();
  auto client = std::make_shared<KubeletClient>(o);
  client->PollOnce();
  auto collector = NewKubeletCollector(client, pipeline_);
  ASSERT_TRUE(collector.ok());
  Cycle(**collector);
  kubelet_.reset();  // the kubelet goes away: connection refused
  client->PollOnce();
  auto snap = Cycle(**collector, 2000);
  EXPECT_EQ(ExportedUp(*snap), (std::pair<std::string, double>{"connect", 0}));
  EXPECT_DOUBLE_EQ(SeriesValue(*snap, "nodepulse_kubelet_errors_total", {{"endpoint", "pods"}, {"reason", "connect"}}), 1);
  EXPECT_DOUBLE_EQ(SeriesValue(*snap, "kube_pod_container_resource_limits",
                               {{"pod", "e2e-hpa-6cd8d99884-tggnr"}, {"resource", "cpu"}}),
                   0.5);
}

TEST_F(KubeletCollectorTest, MixinRelabelSeriesOnlyWhenAskedFor) {
  auto client = std::make_shared<KubeletClient>(Options());
  client->PollOnce();
  auto collector = NewKubeletCollector(client, pipeline_);  // mixin_series off
  ASSERT_TRUE(collector.ok()) << collector.status();
  auto snap = Cycle(**collector);
  EXPECT_TRUE(FindSeries(*snap, "namespace_workload_pod:kube_pod_owner:relabel", {}).empty());
  EXPECT_FALSE(FindSeries(*snap, "kube_pod_owner", {}).empty());
}

}  // namespace
}  // namespace nodepulse::collectors
