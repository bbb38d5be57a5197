// Readers against the collection thread, concurrently: run under
// ThreadSanitizer (-DNODEPULSE_SANITIZE=thread) to show the snapshot and
// ring protocols are race-free.
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "nodepulse/pipeline/aggregate.h"
#include "nodepulse/pipeline/pipeline.h"

namespace nodepulse::pipeline {
namespace {

TEST(Concurrency, ReadersAndWriter) {
  Options o;
  o.tiers = {{1000, 120}, {10'000, 60}, {60'000, 60}};
  o.series_expiry_ms = 20'000;
  Pipeline p(o);
  MetricId g = *p.RegisterMetric({"g", "", MetricKind::kGauge, true});
  MetricId c = *p.RegisterMetric({"c_total", "", MetricKind::kCounter, true});
  MetricId l = *p.RegisterMetric({"l", "", MetricKind::kGauge, false});
  std::vector<SeriesId> ids;
  for (int i = 0; i < 1500; ++i) {
    EntityId e = p.AddEntity({{"container", "app"},
                              {"namespace", "ns"},
                              {"pod", "pod-" + std::to_string(i / 3)},
                              {"workload", "w" + std::to_string(i / 30)}});
    ids.push_back(p.Intern(g, e));
    ids.push_back(p.Intern(c, e));
    ids.push_back(p.Intern(l, e));
  }
  // The writer sets these every cycle, so they never expire and their ids
  // are never recycled (ids[i] for i > 3000 stop at cycle 100 and expire).
  std::vector<bool> steady;
  for (size_t i = 0; i <= 3000; ++i) {
    if (ids[i] >= steady.size()) steady.resize(ids[i] + 1);
    steady[ids[i]] = true;
  }
  constexpr int kCycles = 400;
  std::atomic<bool> done{false};
  std::atomic<int> reads{0};

  std::thread writer([&] {
    int64_t ts = 1'000'000'000;
    for (int cycle = 1; cycle <= kCycles; ++cycle, ts += 1000) {
      p.BeginCycle(ts);
      // Every value of a cycle is that cycle's number, so a reader can tell
      // a torn snapshot.
      for (size_t i = 0; i < ids.size(); ++i) {
        if (i > 3000 && cycle > 100) continue;  // these expire and get recycled
        p.Set(ids[i], cycle);
      }
      p.EndCycle();
      if (cycle == 200) {  // churn: new series while readers run
        for (int k = 0; k < 50; ++k) {
          ids.push_back(p.Intern(g, kNodeEntity, {{"late", std::to_string(k)}}));
        }
      }
    }
    done = true;
  });

  auto reader = [&](int which) {
    Aggregator agg(p);
    WindowStats w1m, w15m;
    std::shared_ptr<const Snapshot> held;
    std::vector<double> held_copy;
    while (!done) {
      std::shared_ptr<const Snapshot> snap = p.snapshot();
      if (!snap) continue;
      const double cycle = static_cast<double>(snap->cycle);
      for (SeriesId id : snap->catalog->by_metric[g]) {
        const double v = snap->value(id);
        ASSERT_TRUE(std::isnan(v) || v == cycle) << v << " vs " << cycle;
      }
      // A snapshot kept across many cycles must not change under us (its
      // slot is not recycled while held).
      if (!held || snap->cycle > held->cycle + 50) {
        if (held) {
          // Bitwise: NaN (no sample) compares unequal to itself.
          ASSERT_EQ(held->values.size(), held_copy.size());
          ASSERT_EQ(
              std::memcmp(held->values.data(), held_copy.data(), held_copy.size() * sizeof(double)),
              0);
        }
        held = snap;
        held_copy = snap->values;
      }
      ASSERT_TRUE(agg.Compute(*snap, 60'000, which == 0, &w1m).ok());
      ASSERT_TRUE(agg.Compute(*snap, 900'000, false, &w15m).ok());
      // The writer runs thousands of times faster than 1 cycle/s here: once
      // it is more than (120 raw slots - 60 in the window) cycles past this
      // snapshot, the window's oldest rows are legitimately overwritten and
      // skipped (aggregate.h), so `last` is only checked for fresh snapshots.
      std::shared_ptr<const Snapshot> now = p.snapshot();
      const bool fresh = now->cycle < snap->cycle + 50;
      for (SeriesId id : snap->catalog->by_metric[g]) {
        // A series released (expired) after `snap` reads NaN by contract
        // (aggregate.h), and expiry (20 cycles after the last sample) can come
        // sooner than 50 cycles. `now` cannot tell: EndCycle releases the
        // history column before it publishes the catalog that says so (TSan's
        // slowdown showed that window), so `last` is checked on series the
        // writer never stops setting.
        const bool steady_series = id < steady.size() && steady[id];
        const double mx = w1m.Get(id, Stat::kMax);
        // Gauges hold the cycle number: the window's max is the snapshot's.
        if (!std::isnan(mx)) {
          ASSERT_LE(mx, cycle);
        }
        if (fresh && steady_series && !std::isnan(snap->value(id))) {
          ASSERT_EQ(w1m.Get(id, Stat::kLast), cycle);
        }
      }
      Sparkline sl;
      (void)agg.History(*snap, snap->catalog->by_metric[g].front(), 1, &sl);
      (void)p.stats();
      ++reads;
    }
  };
  std::thread r1(reader, 0), r2(reader, 1);
  writer.join();
  r1.join();
  r2.join();
  EXPECT_GT(reads.load(), 2);
  EXPECT_GT(p.stats().series_expired, 0u);
}

}  // namespace
}  // namespace nodepulse::pipeline
