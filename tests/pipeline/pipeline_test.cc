#include "nodepulse/pipeline/pipeline.h"

#include <cmath>

#include "alloc_counter.h"  // replaces operator new for pipeline_test
#include "gtest/gtest.h"

namespace nodepulse::pipeline {
namespace {

TEST(Pipeline, InternIsIdempotentAndCapped) {
  Options o;
  o.max_series = 3;
  Pipeline p(o);
  MetricId m = *p.RegisterMetric({"m", "", MetricKind::kGauge, true});
  EXPECT_EQ(*p.RegisterMetric({"m", "", MetricKind::kGauge, true}), m);
  EXPECT_FALSE(p.RegisterMetric({"m", "", MetricKind::kCounter, true}).ok());
  EXPECT_FALSE(p.RegisterMetric({"bad name", "", MetricKind::kGauge, false}).ok());
  EntityId e = p.AddEntity({{"container", "a"}});
  SeriesId a = p.Intern(m, e, {{"cpu", "0"}});
  EXPECT_EQ(p.Intern(m, e, {{"cpu", "0"}}), a);
  p.Intern(m, e, {{"cpu", "1"}});
  p.Intern(m, e, {{"cpu", "2"}});
  EXPECT_EQ(p.Intern(m, e, {{"cpu", "3"}}), kNoSeries);
  EXPECT_EQ(p.Intern(m, e, {{"cpu", "4"}}), kNoSeries);
  p.Set(kNoSeries, 1.0);  // no-op, no crash
  p.BeginCycle(1000);
  p.EndCycle();
  EXPECT_EQ(p.stats().series_dropped, 2u);
  EXPECT_EQ(p.stats().series_live, 3u);
  EXPECT_EQ(p.stats().history_series, 3u);
}

TEST(Pipeline, SnapshotValuesAndLabels) {
  Pipeline p(Options{});
  MetricId m = *p.RegisterMetric({"container_memory_rss", "", MetricKind::kGauge, false});
  EntityId e = p.AddEntity({{"pod", "p"}, {"container", "c"}});
  SeriesId s = p.Intern(m, e, {{"device", "sda"}});
  p.BeginCycle(1234);
  p.Set(s, 42);
  p.EndCycle();
  auto snap = p.snapshot();
  EXPECT_EQ(snap->timestamp_ms, 1234);
  EXPECT_EQ(snap->value(s), 42);
  EXPECT_EQ(snap->catalog->series[s].rendered_labels(), "container=\"c\",device=\"sda\",pod=\"p\"");
  p.SetEntityLabels(e, {{"pod", "p"}, {"container", "c"}, {"namespace", "n"}});
  p.BeginCycle(2234);
  p.EndCycle();
  EXPECT_TRUE(std::isnan(p.snapshot()->value(s)));  // not set this cycle
  EXPECT_EQ(p.snapshot()->catalog->LabelsOf(s).size(), 4u);
  EXPECT_EQ(snap->value(s), 42);  // the old snapshot did not change
}

TEST(Pipeline, ReleaseRecyclesWithNewGeneration) {
  Pipeline p(Options{});
  MetricId m = *p.RegisterMetric({"m", "", MetricKind::kGauge, false});
  EntityId e = p.AddEntity({});
  SeriesId a = p.Intern(m, e, {{"k", "1"}});
  p.BeginCycle(1);
  p.EndCycle();
  const uint32_t gen = p.snapshot()->catalog->series[a].generation;
  p.Release(a);
  SeriesId b = p.Intern(m, e, {{"k", "2"}});
  EXPECT_EQ(a, b);
  p.BeginCycle(2);
  p.EndCycle();
  EXPECT_EQ(p.snapshot()->catalog->series[b].generation, gen + 1);
  EXPECT_EQ(p.snapshot()->catalog->by_metric[m].size(), 1u);
}

TEST(Pipeline, ExpiryRecyclesSilentSeries) {
  Options o;
  o.series_expiry_ms = 30'000;
  Pipeline p(o);
  MetricId m = *p.RegisterMetric({"m", "", MetricKind::kGauge, true});
  SeriesId busy = p.Intern(m, kNodeEntity, {{"k", "busy"}});
  SeriesId quiet = p.Intern(m, kNodeEntity, {{"k", "quiet"}});
  int64_t ts = 1'000'000;
  for (int i = 0; i < 100; ++i, ts += 1000) {
    p.BeginCycle(ts);
    p.Set(busy, i);
    if (i < 10) p.Set(quiet, i);
    p.EndCycle();
  }
  Pipeline::Stats st = p.stats();
  EXPECT_EQ(st.series_expired, 1u);
  EXPECT_EQ(st.series_live, 1u);
  EXPECT_TRUE(p.snapshot()->catalog->series[busy].alive);
  EXPECT_FALSE(p.snapshot()->catalog->series[quiet].alive);
  // Interning it again gives a fresh series (same id, next generation).
  EXPECT_EQ(p.Intern(m, kNodeEntity, {{"k", "quiet"}}), quiet);
}

TEST(Pipeline, SteadyStateCycleAllocatesNothing) {
  if (!testing::kAllocCountingAvailable) {
    GTEST_SKIP() << "sanitizer build: operator new not replaceable";
  }
  Pipeline p(Options{});
  MetricId g = *p.RegisterMetric({"g", "", MetricKind::kGauge, true});
  MetricId c = *p.RegisterMetric({"c_total", "", MetricKind::kCounter, true});
  MetricId l = *p.RegisterMetric({"l", "", MetricKind::kGauge, false});
  std::vector<SeriesId> ids;
  for (int i = 0; i < 3000; ++i) {
    ids.push_back(p.Intern(i % 3 == 0   ? g
                           : i % 3 == 1 ? c
                                        : l,
                           kNodeEntity, {{"i", std::to_string(i)}}));
  }
  int64_t ts = 1'000'000;
  auto cycle = [&] {
    p.BeginCycle(ts);
    for (SeriesId id : ids) p.Set(id, static_cast<double>(ts));
    p.EndCycle();
    ts += 1000;
  };
  for (int i = 0; i < 5; ++i) cycle();
  const uint64_t bytes = p.stats().bytes;
  testing::AllocCounter allocs;
  allocs.Start();
  for (int i = 0; i < 200; ++i) cycle();  // crosses 10 s and 60 s rollups
  EXPECT_EQ(allocs.Stop(), 0u);
  EXPECT_EQ(p.stats().bytes, bytes);  // nothing grows per sample
}

// Tiers ValidateTiers refuses (1500 ms is no multiple of 1000 ms) are
// replaced by DefaultTiers(): the rings are then exactly the default ones.
TEST(Pipeline, InvalidTiersFallBackToDefaultTiers) {
  Options bad;
  bad.tiers = {{1000, 10}, {1500, 10}};
  EXPECT_EQ(ValidateTiers(bad.tiers).code(), absl::StatusCode::kInvalidArgument);
  Options small;
  small.tiers = {{1000, 10}, {2000, 10}};
  ASSERT_TRUE(ValidateTiers(small.tiers).ok());
  auto history_bytes = [](const Options& o) {
    Pipeline p(o);
    auto m = p.RegisterMetric({"tiers_probe", "h", MetricKind::kGauge, true});
    EXPECT_TRUE(m.ok());
    SeriesId s = p.Intern(*m, kNodeEntity);
    p.BeginCycle(1'000'000);
    p.Set(s, 1);
    p.EndCycle();
    return p.stats().history_bytes;
  };
  EXPECT_EQ(history_bytes(bad), history_bytes(Options{}));
  EXPECT_NE(history_bytes(small), history_bytes(Options{}));
}

}  // namespace
}  // namespace nodepulse::pipeline
