// Envoy-style memory test: the bytes the pipeline reports for history are
// checked against a golden formula and a golden number. If a change moves
// them, update the numbers here and say why in the PR.
#include <cstdint>
#include <cstdio>

#include "gtest/gtest.h"
#include "nodepulse/pipeline/pipeline.h"

namespace nodepulse::pipeline {
namespace {

// Per history column with the default tiers (1s x 360, 10s x 360,
// 60s x 1440):
//   raw:    8 B x 360                     =  2,880
//   coarse: 4 arrays x 8 B x (360 + 1440) = 57,600   (sum, count, min, max)
//   state:  live flag 1 + generation 4 + previous counter value 8 = 13
// plus one int64 tag per slot of every tier: 8 x 2,160 = 17,280 B in all.
constexpr uint64_t kBytesPerColumn = 8 * 360 + 4 * 8 * (360 + 1440) + 13;
constexpr uint64_t kTagBytes = 8 * (360 + 360 + 1440);
static_assert(kBytesPerColumn == 60'493);

// A container as DESIGN.md's history list has it: CPU usage, CFS periods
// and throttled periods, I/O read/write bytes, network rx/tx bytes and PSI
// cpu/memory/io stall totals (10 counters), working set and RSS (2 gauges).
constexpr int kCounters = 10;
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
  // Columns come in blocks of 1024 per kind: 10,000 counters -> 10 blocks,
  // 2,000 gauges -> 2 blocks; 12 x 1024 = 12,288 columns.
  const uint64_t columns = 12 * 1024;
  EXPECT_EQ(st.history_bytes, columns * kBytesPerColumn + kTagBytes);
  EXPECT_EQ(st.history_bytes, 743'355'264u);  // golden: ~709 MiB, ~61.9 KB per history series
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

}  // namespace
}  // namespace nodepulse::pipeline
