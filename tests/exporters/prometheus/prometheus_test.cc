#include "nodepulse/exporters/prometheus/prometheus.h"

#include <cmath>
#include <limits>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

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
  std::shared_ptr<const pipeline::Snapshot> snap = p.snapshot();
  if (snap) prometheus::TextSerializer().Serialize(os, FamiliesFromSnapshot(*snap));
  return os.str();
}

TEST(FamiliesFromSnapshot, EmptyBeforeFirstCycle) {
  Pipeline p({});
  EXPECT_EQ(Render(p), "");
}

TEST(FamiliesFromSnapshot, RendersNamesTypesAndSortedLabels) {
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

TEST(FamiliesFromSnapshot, SkipsSeriesWithoutSampleAndRemovedEntities) {
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

TEST(FamiliesFromSnapshot, EscapesLabelValues) {
  Pipeline p({});
  auto g = p.RegisterMetric({"g", "help", MetricKind::kGauge});
  auto e = p.AddEntity({{"id", "/we\"ird\\path\n"}});
  auto s = p.Intern(*g, e);
  p.BeginCycle(1);
  p.Set(s, 3);
  p.EndCycle();
  EXPECT_TRUE(absl::StrContains(Render(p), R"(g{id="/we\"ird\\path\n"} 3)")) << Render(p);
}

// The /metrics cache renders with AppendExposition; dashboards, promtool and
// every other test read what TextSerializer would print. They must agree
// byte for byte, over values of every shape and labels that need escaping.
TEST(AppendExposition, SameBytesAsTextSerializer) {
  Pipeline p({});
  auto c = p.RegisterMetric({"c_total", "Counter help.", MetricKind::kCounter});
  auto g = p.RegisterMetric({"g", "Plain help.", MetricKind::kGauge});
  auto empty = p.RegisterMetric({"never_set", "No samples: left out.", MetricKind::kGauge});
  ASSERT_TRUE(c.ok() && g.ok() && empty.ok());
  std::vector<pipeline::SeriesId> ids;
  ids.push_back(p.Intern(*g, pipeline::kNodeEntity));  // no labels at all
  p.Intern(*empty, pipeline::kNodeEntity);
  auto e1 = p.AddEntity({{"id", "/we\"ird\\path\n"}, {"namespace", "ns"}, {"pod", "p-0"}});
  auto e2 = p.AddEntity({{"container", ""}, {"id", "/b"}});
  for (int i = 0; i < 40; ++i) {
    ids.push_back(p.Intern(i % 2 ? *c : *g, i % 3 ? e1 : e2, {{"i", std::to_string(i)}}));
  }
  const double values[] = {0.0, -0.0, 1.0, 12.5, 1048576, 1500000000, 0.1, 1.0 / 3.0,
                           -2.75, 1e21, 1e-7, 123456789012345678.0, 4.9e-324, 1.7976931348623157e308,
                           std::numeric_limits<double>::infinity(),
                           -std::numeric_limits<double>::infinity(), 9007199254740993.0,
                           6.02214076e23, 2.5e-300, 99999999999999.99};
  p.BeginCycle(1000);
  size_t k = 0;
  for (pipeline::SeriesId id : ids) {
    if (k % 7 != 6) p.Set(id, values[k % (sizeof values / sizeof values[0])]);  // some unset
    ++k;
  }
  p.EndCycle();
  std::string direct;
  AppendExposition(*p.snapshot(), &direct);
  std::ostringstream os;
  prometheus::TextSerializer().Serialize(os, FamiliesFromSnapshot(*p.snapshot()));
  EXPECT_EQ(direct, os.str());
  EXPECT_FALSE(absl::StrContains(direct, "never_set"));
  EXPECT_TRUE(absl::StrContains(direct, "\ng 0\n")) << direct;
}

// The one place the two differ on purpose: HELP text escapes backslash and
// newline as the text format requires (prometheus-cpp 1.0.1 writes them raw,
// and a raw newline would end the HELP line mid-text).
TEST(AppendExposition, EscapesHelp) {
  Pipeline p({});
  auto c = p.RegisterMetric({"c_total", "a \\ b\nc", MetricKind::kCounter});
  auto s = p.Intern(*c, pipeline::kNodeEntity);
  p.BeginCycle(1);
  p.Set(s, 2);
  p.EndCycle();
  std::string direct;
  AppendExposition(*p.snapshot(), &direct);
  EXPECT_EQ(direct, "# HELP c_total a \\\\ b\\nc\n# TYPE c_total counter\nc_total 2\n");
}

TEST(MetricsHandler, ConcatenatesCollectablesInTextFormat) {
  auto p = std::make_shared<Pipeline>(pipeline::Options{});
  auto g = p->RegisterMetric({"first_metric", "help", MetricKind::kGauge});
  auto s = p->Intern(*g, pipeline::kNodeEntity);
  p->BeginCycle(1);
  p->Set(s, 7);
  p->EndCycle();
  // A collectable as the agent's self-metrics registry is one.
  struct SnapshotFamilies : prometheus::Collectable {
    explicit SnapshotFamilies(const Pipeline& p) : p(p) {}
    std::vector<prometheus::MetricFamily> Collect() const override { return FamiliesFromSnapshot(*p.snapshot()); }
    const Pipeline& p;
  };
  auto c = std::make_shared<SnapshotFamilies>(*p);
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
