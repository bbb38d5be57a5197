// Envoy-style memory test: the bytes the pipeline reports for history are
// checked against a golden formula and a golden number. If a change moves
// them, update the numbers here and say why in the PR.
#include <cstdint>
#include <cstdio>

#include "gtest/gtest.h"
#include "nodepulse/pipeline/aggregate.h"
#include "nodepulse/pipeline/pipeline.h"

namespace nodepulse::pipeline {
namespace {

// Per history column with the default tiers (1s x 360, 30s x 120), cells
// are float32 (kernels.h Cell):
//   raw:    4 B x 360                = 1,440
//   coarse: 4 arrays x 4 B x 120     = 1,920   (sum, count, min, max)
//   state:  live flag 1 + generation 4 + previous counter value 8 = 13
// plus one int64 tag per slot of every tier: 8 x 480 = 3,840 B in all.
constexpr uint64_t kBytesPerColumn = 4 * 360 + 4 * 4 * 120 + 13;
constexpr uint64_t kTagBytes = 8 * (360 + 120);
static_assert(kBytesPerColumn == 3'373);

// A container as the collectors keep history for it (history=true specs): CPU usage, CFS periods
// and throttled periods, I/O read/write bytes, network rx/tx bytes and PSI
// cpu/memory/io stall totals (10 counters), working set and RSS (2 gauges).
constexpr int kCounters = 10;
uint64_t BytesOfTags(const std::vector<TierSpec>& tiers) {
  uint64_t b = 0;
  for (const TierSpec& t : tiers) b += 8 * t.slots;
  return b;
}
constexpr int kGauges = 2;

TEST(PipelineMemory, ThousandContainersDefaultTiers) {
  Pipeline p(Options{});  // default tiers
  std::vector<MetricId> counters, gauges;
  for (int i = 0; i < kCounters; ++i) {
    counters.push_back(
        *p.RegisterMetric({"c" + std::to_string(i) + "_total", "", MetricKind::kCounter, true}));
  }
  for (int i = 0; i < kGauges; ++i) {
    gauges.push_back(*p.RegisterMetric({"g" + std::to_string(i), "", MetricKind::kGauge, true}));
  }
  MetricId latest = *p.RegisterMetric({"limit", "", MetricKind::kGauge, false});
  for (int c = 0; c < 1000; ++c) {
    EntityId e = p.AddEntity({{"container", "c" + std::to_string(c)},
                              {"namespace", "ns"},
                              {"pod", "p" + std::to_string(c)}});
    for (MetricId m : counters) ASSERT_NE(p.Intern(m, e), kNoSeries);
    for (MetricId m : gauges) ASSERT_NE(p.Intern(m, e), kNoSeries);
    ASSERT_NE(p.Intern(latest, e), kNoSeries);
  }
  p.BeginCycle(1'000'000);
  p.EndCycle();
  const Pipeline::Stats st = p.stats();
  EXPECT_EQ(st.history_series, 12'000u);
  // Columns come in blocks of 256 per kind: 10,000 counters -> 40 blocks,
  // 2,000 gauges -> 8 blocks; 48 x 256 = 12,288 columns.
  const uint64_t columns = 48 * 256;
  EXPECT_EQ(st.history_bytes, columns * kBytesPerColumn + kTagBytes);
  EXPECT_EQ(st.history_bytes, 41'451'264u);  // golden: ~39.5 MiB, ~3.45 KB per history series
  std::printf("1000 containers: %llu history series, history %llu B, total %llu B\n",
              static_cast<unsigned long long>(st.history_series),
              static_cast<unsigned long long>(st.history_bytes),
              static_cast<unsigned long long>(st.bytes));
  // Everything else (cycle row, catalog, maps, snapshots) is small beside it.
  EXPECT_GT(st.bytes, st.history_bytes);
  EXPECT_LT(st.bytes - st.history_bytes, 16u << 20);
  // Steady state: more cycles allocate nothing more.
  for (int i = 1; i < 30; ++i) {
    p.BeginCycle(1'000'000 + i * 1000);
    p.EndCycle();
  }
  EXPECT_EQ(p.stats().history_bytes, st.history_bytes);
}

// Container churn: series come and go, and the rings must shrink back once
// the extra series are gone, while the survivors' history stays intact.
TEST(PipelineMemory, ChurnGivesRingColumnsBack) {
  Options o;
  o.tiers = {{1000, 60}, {10'000, 12}};
  Pipeline p(o);
  MetricId g = *p.RegisterMetric({"g", "", MetricKind::kGauge, true});
  EntityId e = p.AddEntity({{"container", "c"}});
  std::vector<SeriesId> base, churn;
  for (int i = 0; i < 1000; ++i) base.push_back(p.Intern(g, e, {{"i", std::to_string(i)}}));
  int64_t ts = 1'000'000;
  auto cycle = [&](int n) {
    for (int k = 0; k < n; ++k, ts += 1000) {
      p.BeginCycle(ts);
      for (size_t i = 0; i < base.size(); ++i) p.Set(base[i], static_cast<double>(i));
      for (SeriesId id : churn) p.Set(id, 1.0);
      p.EndCycle();
    }
  };
  cycle(20);
  const uint64_t before = p.stats().history_bytes;
  const uint64_t total_before = p.stats().bytes;
  // 2,500 short-lived series: ten more blocks of 256 columns.
  for (int i = 0; i < 2500; ++i) churn.push_back(p.Intern(g, e, {{"churn", std::to_string(i)}}));
  cycle(5);
  EXPECT_GT(p.stats().history_bytes, 3 * before);
  for (SeriesId id : churn) p.Release(id);
  churn.clear();
  cycle(31);  // not yet: a block must stay empty for 32 cycles
  EXPECT_GT(p.stats().history_bytes, 3 * before);
  cycle(40);
  EXPECT_EQ(p.stats().history_bytes, before);
  EXPECT_EQ(p.stats().history_blocks_released, 10u);
  // Rows, expiry clocks, catalog and pooled snapshots shrank back as well.
  EXPECT_LE(p.stats().bytes, total_before + total_before / 10);
  // The survivors' rings were moved, not lost: a 1m window still sees
  // every one of them with its own value.
  Aggregator agg(p);
  WindowStats w;
  ASSERT_TRUE(agg.Compute(*p.snapshot(), 60'000, false, &w).ok());
  for (size_t i = 0; i < base.size(); ++i) {
    ASSERT_EQ(w.Get(base[i], Stat::kMax), static_cast<double>(i)) << i;
    ASSERT_EQ(w.Get(base[i], Stat::kCount), 60) << i;
  }
  // The id space was cut back to blocks 0-3 too. New series first fill
  // them (1,000 of their 1,024 ids are used), then open block 4 again: the
  // rings grow by one block of 256 columns.
  for (int i = 0; i < 24; ++i) ASSERT_LT(p.Intern(g, e, {{"again", std::to_string(i)}}), 1024u);
  cycle(1);
  EXPECT_EQ(p.stats().history_bytes, before);
  for (int i = 24; i < 100; ++i) {
    const SeriesId id = p.Intern(g, e, {{"again", std::to_string(i)}});
    ASSERT_GE(id, 1024u);
    ASSERT_LT(id, 1024u + 256u);
  }
  cycle(1);
  EXPECT_EQ(p.stats().history_bytes, before + (before - BytesOfTags(o.tiers)) / 4);
}

}  // namespace
}  // namespace nodepulse::pipeline
