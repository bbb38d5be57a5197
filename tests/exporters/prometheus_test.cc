#include "nodepulse/exporters/prometheus.h"

#include <cmath>
#include <sstream>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "prometheus/text_serializer.h"

namespace nodepulse::exporters {
namespace {

using pipeline::Label;
using pipeline::MetricKind;
using pipeline::MetricSpec;
using pipeline::Pipeline;

std::string Render(const Pipeline& p) {
  std::ostringstream os;
  prometheus::TextSerializer().Serialize(os, SnapshotCollectable(p).Collect());
  return os.str();
}

TEST(SnapshotCollectable, EmptyBeforeFirstCycle) {
  Pipeline p({});
  EXPECT_TRUE(SnapshotCollectable(p).Collect().empty());
}

TEST(SnapshotCollectable, RendersNamesTypesAndSortedLabels) {
  Pipeline p({});
  auto cpu = p.RegisterMetric({"container_cpu_usage_seconds_total",
                               "Cumulative cpu time consumed in seconds.", MetricKind::kCounter});
  auto mem = p.RegisterMetric({"container_memory_usage_bytes", "Current memory usage in bytes",
                               MetricKind::kGauge});
  ASSERT_TRUE(cpu.ok() && mem.ok());
  auto e = p.AddEntity({{"container", ""}, {"id", "/kubepods/pod1"}, {"image", ""},
                        {"name", ""}, {"namespace", ""}, {"pod", ""}});
  auto s_cpu = p.Intern(*cpu, e, {{"cpu", "total"}});
  auto s_mem = p.Intern(*mem, e);
  p.BeginCycle(1000);
  p.Set(s_cpu, 12.5);
  p.Set(s_mem, 1048576);
  p.EndCycle();
  std::string text = Render(p);
  EXPECT_TRUE(absl::StrContains(text, "# TYPE container_cpu_usage_seconds_total counter")) << text;
  EXPECT_TRUE(absl::StrContains(text, "# TYPE container_memory_usage_bytes gauge")) << text;
  EXPECT_TRUE(absl::StrContains(
      text,
      "container_cpu_usage_seconds_total{container=\"\",cpu=\"total\",id=\"/kubepods/pod1\","
      "image=\"\",name=\"\",namespace=\"\",pod=\"\"} 12.5"))
      << text;
  EXPECT_TRUE(absl::StrContains(text, "container_memory_usage_bytes{container=\"\",id=\"/kubepods/pod1\""))
      << text;
}

TEST(SnapshotCollectable, SkipsSeriesWithoutSampleAndRemovedEntities) {
  Pipeline p({});
  auto g = p.RegisterMetric({"g", "help", MetricKind::kGauge});
  ASSERT_TRUE(g.ok());
  auto a = p.AddEntity({{"id", "/a"}});
  auto b = p.AddEntity({{"id", "/b"}});
  auto sa = p.Intern(*g, a);
  auto sb = p.Intern(*g, b);
  p.BeginCycle(1);
  p.Set(sa, 1);  // sb has no sample this cycle
  p.EndCycle();
  std::string text = Render(p);
  EXPECT_TRUE(absl::StrContains(text, "g{id=\"/a\"} 1"));
  EXPECT_FALSE(absl::StrContains(text, "/b"));
  p.RemoveEntity(a);
  p.BeginCycle(2);
  p.Set(sa, 5);  // stale id after removal must not resurrect the series
  p.Set(sb, 2);
  p.EndCycle();
  text = Render(p);
  EXPECT_FALSE(absl::StrContains(text, "/a\"")) << text;
  EXPECT_TRUE(absl::StrContains(text, "g{id=\"/b\"} 2")) << text;
}

TEST(SnapshotCollectable, EscapesLabelValues) {
  Pipeline p({});
  auto g = p.RegisterMetric({"g", "help", MetricKind::kGauge});
  auto e = p.AddEntity({{"id", "/we\"ird\\path\n"}});
  auto s = p.Intern(*g, e);
  p.BeginCycle(1);
  p.Set(s, 3);
  p.EndCycle();
  EXPECT_TRUE(absl::StrContains(Render(p), R"(g{id="/we\"ird\\path\n"} 3)")) << Render(p);
}

TEST(MetricsHandler, ConcatenatesCollectablesInTextFormat) {
  auto p = std::make_shared<Pipeline>(pipeline::Options{});
  auto g = p->RegisterMetric({"first_metric", "help", MetricKind::kGauge});
  auto s = p->Intern(*g, pipeline::kNodeEntity);
  p->BeginCycle(1);
  p->Set(s, 7);
  p->EndCycle();
  auto c = std::make_shared<SnapshotCollectable>(*p);
  HttpResponse r = MetricsHandler({c})(HttpRequest{});
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(absl::StrContains(r.content_type, "version=0.0.4"));
  EXPECT_TRUE(absl::StrContains(r.body, "first_metric 7")) << r.body;
  c.reset();  // an expired collectable is skipped, not dereferenced
  EXPECT_FALSE(absl::StrContains(MetricsHandler({std::weak_ptr<prometheus::Collectable>()})(HttpRequest{}).body,
                                 "first_metric"));
}

}  // namespace
}  // namespace nodepulse::exporters
