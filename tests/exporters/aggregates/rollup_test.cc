#include "nodepulse/exporters/aggregates/rollup.h"

#include <cmath>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "nodepulse/pipeline/aggregate.h"
#include "nodepulse/pipeline/pipeline.h"

namespace nodepulse::exporters {
namespace {

using pipeline::Aggregator;
using pipeline::Labels;
using pipeline::MetricId;
using pipeline::MetricKind;
using pipeline::Options;
using pipeline::Pipeline;
using pipeline::SeriesId;
using pipeline::Stat;
using pipeline::WindowStats;

// The pods of `grouping` with a value, named, as the engine reads them.
std::vector<PodRollup> Pods(const PodGrouping& grouping, const pipeline::Snapshot& snap,
                            const WindowStats* w, Stat stat) {
  std::vector<PodGrouping::PodValue> values;
  grouping.Values(snap, w, stat, &values);
  std::vector<PodRollup> out;
  for (const PodGrouping::PodValue& v : values) {
    out.push_back(grouping.pod(v.pod));
    out.back().value = v.value;
    out.back().series = v.series;
  }
  return out;
}

Labels Container(const std::string& ns, const std::string& pod, const std::string& container,
                 const std::string& workload = "") {
  Labels l = {{"container", container}, {"namespace", ns}, {"pod", pod}};
  if (!workload.empty()) {
    l.push_back({"workload", workload});
    l.push_back({"workload_kind", "Deployment"});
  }
  return l;
}

TEST(Rollup, PodsSkipPodCgroupAndPause) {
  Pipeline p(Options{});
  MetricId cpu =
      *p.RegisterMetric({"container_cpu_usage_seconds_total", "", MetricKind::kCounter, true});
  // web: 3 pods; pod web-0 has 2 containers plus its pod cgroup and pause
  // container, which must not be counted twice.
  struct C {
    Labels labels;
    double per_s;
  };
  std::vector<C> cs = {
      {Container("prod", "web-0", "app", "web"), 1.0},
      {Container("prod", "web-0", "sidecar", "web"), 0.25},
      {Container("prod", "web-0", "", "web"), 100},     // pod cgroup
      {Container("prod", "web-0", "POD", "web"), 100},  // pause
      {Container("prod", "web-1", "app", "web"), 2.0},
      {Container("prod", "web-2", "app", "web"), 4.0},
      {Container("prod", "lonely", "app"), 0.5},  // no workload label yet
      {{{"container", "x"}}, 9.0},                // not a pod at all
  };
  std::vector<SeriesId> ids;
  for (auto& c : cs) ids.push_back(p.Intern(cpu, p.AddEntity(c.labels)));
  int64_t ts = 10'000'000;
  for (int i = 0; i <= 60; ++i, ts += 1000) {
    p.BeginCycle(ts);
    for (size_t k = 0; k < cs.size(); ++k) p.Set(ids[k], cs[k].per_s * i);
    p.EndCycle();
  }
  Aggregator agg(p);
  WindowStats w;
  auto snap = p.snapshot();
  ASSERT_TRUE(agg.Compute(*snap, 60'000, false, &w).ok());
  const PodGrouping grouping(*snap->catalog, cpu);
  ASSERT_EQ(grouping.pods(), 4u);
  std::vector<PodRollup> pods = Pods(grouping, *snap, &w, Stat::kAvg);
  ASSERT_EQ(pods.size(), 4u);
  EXPECT_EQ(pods[0].pod, "lonely");
  EXPECT_DOUBLE_EQ(pods[0].value, 0.5);
  EXPECT_EQ(pods[1].pod, "web-0");
  EXPECT_DOUBLE_EQ(pods[1].value, 1.25);
  EXPECT_EQ(pods[1].series, 2u);
  EXPECT_EQ(pods[1].workload, "web");
  EXPECT_DOUBLE_EQ(pods[3].value, 4.0);

  // Workloads summarize these per-pod values (WorkloadRollup::pods): the
  // engine's tests (aggregates_test.cc) check their sums and quantiles.

  // Latest values instead of a window (no history needed).
  std::vector<PodRollup> latest = Pods(grouping, *snap, nullptr, Stat::kLast);
  EXPECT_DOUBLE_EQ(latest[1].value, 1.25 * 60);
}

TEST(Rollup, NoPodsNoRollups) {
  Pipeline p(Options{});
  MetricId m = *p.RegisterMetric({"m", "", MetricKind::kGauge, false});
  SeriesId s = p.Intern(m, p.AddEntity({{"id", "/system.slice"}}));
  p.BeginCycle(1000);
  p.Set(s, 1);
  p.EndCycle();
  auto snap = p.snapshot();
  const PodGrouping grouping(*snap->catalog, m);
  EXPECT_EQ(grouping.pods(), 0u);
  EXPECT_TRUE(Pods(grouping, *snap, nullptr, Stat::kLast).empty());
}

}  // namespace
}  // namespace nodepulse::exporters
