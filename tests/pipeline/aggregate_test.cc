// Randomized property tests: window aggregates, sparklines and rates from
// the rings against a naive reference that keeps every sample in a map and
// applies the window semantics documented in aggregate.h directly.
#include "nodepulse/pipeline/aggregate.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <vector>

#include "gtest/gtest.h"
#include "nodepulse/pipeline/pipeline.h"

namespace nodepulse::pipeline {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Small tiers so a few simulated hours exercise every tier and wrap-around.
std::vector<TierSpec> TestTiers() { return {{1000, 120}, {10'000, 60}, {60'000, 60}}; }

struct RefSeries {
  bool counter = false;
  SeriesId id = kNoSeries;
  double prev = kNaN;                // previous commit's raw value
  std::map<int64_t, double> stored;  // raw slot -> stored value (rate or gauge)
};

class Reference {
 public:
  explicit Reference(std::vector<TierSpec> tiers) : tiers_(std::move(tiers)) {}

  void Commit(int64_t ts, const std::vector<double>& raw, std::vector<RefSeries>& series) {
    const int64_t r = ts / tiers_[0].step_ms;
    const double per_ms = have_prev_ ? 1000.0 / static_cast<double>(ts - prev_ts_) : kNaN;
    for (size_t i = 0; i < series.size(); ++i) {
      RefSeries& s = series[i];
      const double v = raw[i];
      double stored = v;
      if (s.counter) {
        const double p = s.prev;
        if (std::isnan(v) || std::isnan(p)) {
          stored = kNaN;
        } else {
          const double increase = v >= p ? v - p : v;  // restart: counts from 0
          stored = increase * per_ms;
        }
        s.prev = v;
      }
      // Rings keep float32 cells (kernels.h): the stored value is the
      // rate or gauge rounded to float; everything after that is exact.
      if (!std::isnan(stored)) s.stored[r] = static_cast<double>(static_cast<float>(stored));
    }
    have_prev_ = true;
    prev_ts_ = ts;
    last_r_ = r;
  }

  struct Expect {
    double sum = 0, count = 0, min = kNaN, max = kNaN, last = kNaN;
    double abs_sum = 0;  // bounds the rounding of float-stored coarse sums
    std::vector<double> samples;
  };
  // The documented semantics: finest tier whose step divides the window and
  // whose span covers it; the newest window/step slots of it; `last` from
  // the final tier-1 step on rolled-up tiers.
  Expect Window(const RefSeries& s, int64_t window_ms, uint32_t* tier_out) const {
    uint32_t j = 0;
    while (!(window_ms % tiers_[j].step_ms == 0 && window_ms <= tiers_[j].span_ms())) ++j;
    *tier_out = j;
    const int64_t raw_per = tiers_[j].step_ms / tiers_[0].step_ms;
    const int64_t newest = last_r_ / raw_per;
    const int64_t start = (newest - window_ms / tiers_[j].step_ms + 1) * raw_per;
    const int64_t last_from =
        j == 0 ? start : std::max(start, last_r_ - tiers_[1].step_ms / tiers_[0].step_ms + 1);
    Expect e;
    for (auto it = s.stored.lower_bound(start); it != s.stored.end() && it->first <= last_r_;
         ++it) {
      const double v = it->second;
      e.sum += v;
      e.abs_sum += std::fabs(v);
      e.count += 1;
      e.min = std::isnan(e.min) || v < e.min ? v : e.min;
      e.max = std::isnan(e.max) || v > e.max ? v : e.max;
      if (it->first >= last_from) e.last = v;
      e.samples.push_back(v);
    }
    std::sort(e.samples.begin(), e.samples.end());
    return e;
  }

  int64_t last_r() const { return last_r_; }

 private:
  std::vector<TierSpec> tiers_;
  bool have_prev_ = false;
  int64_t prev_ts_ = 0;
  int64_t last_r_ = -1;
};

void ExpectSame(double want, double got, const char* what, double rel = 0) {
  if (std::isnan(want)) {
    EXPECT_TRUE(std::isnan(got)) << what << " want NaN got " << got;
  } else if (rel == 0) {
    EXPECT_EQ(want, got) << what;
  } else {
    EXPECT_NEAR(want, got, rel * std::max(1.0, std::fabs(want))) << what;
  }
}

// Coarse slots store their sum as a float: each level of rollup rounds it
// once (relative 2^-24 of the slot's sum, itself at most the slot's sum of
// |v|). Two levels over a window whose samples add up to abs_sum in
// magnitude stay within 4 * 2^-24 * abs_sum; raw-tier windows are summed in
// double from the cells and differ from the reference only in order.
double SumTolerance(const Reference::Expect& e, uint32_t tier) {
  return tier == 0 ? 1e-9 * std::max(1.0, std::fabs(e.sum)) : 4.0 / (1 << 24) * e.abs_sum + 1e-12;
}

void ExpectNear(double want, double got, double tol, const char* what) {
  if (std::isnan(want)) {
    EXPECT_TRUE(std::isnan(got)) << what << " want NaN got " << got;
  } else {
    EXPECT_NEAR(want, got, tol) << what;
  }
}

TEST(AggregateProperty, WindowsMatchNaiveReference) {
  for (uint64_t seed : {1u, 2u, 3u}) {
    SCOPED_TRACE(seed);
    std::mt19937_64 rng(seed);
    Options o;
    o.tiers = TestTiers();
    Pipeline p(o);
    MetricId gauge = *p.RegisterMetric({"g", "", MetricKind::kGauge, true});
    MetricId counter = *p.RegisterMetric({"c_total", "", MetricKind::kCounter, true});
    MetricId latest = *p.RegisterMetric({"l", "", MetricKind::kGauge, false});
    std::vector<RefSeries> series;
    EntityId e = p.AddEntity({{"container", "x"}});
    for (int i = 0; i < 40; ++i) {
      RefSeries s;
      s.counter = i % 2 == 1;
      s.id = p.Intern(s.counter ? counter : gauge, e, {{"i", std::to_string(i)}});
      ASSERT_NE(s.id, kNoSeries);
      series.push_back(s);
      p.Intern(latest, e, {{"i", std::to_string(i)}});  // interleaved ids
    }
    Reference ref(o.tiers);
    Aggregator agg(p);
    std::vector<double> raw(series.size());
    std::vector<double> counters(series.size(), 0);
    int64_t slot = 1'700'000'000;  // seconds
    WindowStats ws, rolled;
    int checks = 0;
    for (int cycle = 0; cycle < 3 * 3600; ++cycle) {
      // Mostly 1 s apart, sometimes a pause of up to 3 minutes.
      slot += rng() % 200 == 0 ? 1 + rng() % 180 : 1;
      const int64_t ts = slot * 1000 + static_cast<int64_t>(rng() % 900);
      p.BeginCycle(ts);
      for (size_t i = 0; i < series.size(); ++i) {
        double v;
        if (series[i].counter) {
          counters[i] = rng() % 40 == 0 ? static_cast<double>(rng() % 50)  // restart
                                        : counters[i] + static_cast<double>(rng() % 1000);
          v = counters[i];
        } else {
          v = static_cast<double>(static_cast<int64_t>(rng() % 20000) - 5000) / 7.0;
        }
        if (rng() % 10 == 0) v = kNaN;  // missed sample
        raw[i] = v;
        if (!std::isnan(v)) p.Set(series[i].id, v);
      }
      p.EndCycle();
      ref.Commit(ts, raw, series);
      if (cycle < 200 || rng() % 97 != 0) continue;

      auto snap = p.snapshot();
      for (int64_t w : {1000, 30'000, 60'000, 120'000, 180'000, 600'000, 1'200'000, 3'600'000}) {
        SCOPED_TRACE(w);
        const bool raw_tier = w <= 120'000;
        ASSERT_TRUE(agg.Compute(*snap, w, raw_tier, &ws).ok());
        for (const RefSeries& s : series) {
          uint32_t tier = 0;
          Reference::Expect e = ref.Window(s, w, &tier);
          ASSERT_EQ(ws.tier(), tier);
          ExpectSame(e.count, ws.Get(s.id, Stat::kCount), "count");
          ExpectSame(e.count > 0 ? e.min : kNaN, ws.Get(s.id, Stat::kMin), "min");
          ExpectSame(e.count > 0 ? e.max : kNaN, ws.Get(s.id, Stat::kMax), "max");
          ExpectSame(e.last, ws.Get(s.id, Stat::kLast), "last");
          const double tol = SumTolerance(e, tier);
          ExpectNear(e.count > 0 ? e.sum : kNaN, ws.Get(s.id, Stat::kSum), tol, "sum");
          ExpectNear(e.count > 0 ? e.sum / e.count : kNaN, ws.Get(s.id, Stat::kAvg),
                     e.count > 0 ? tol / e.count : 0, "avg");
          if (raw_tier) {
            for (Stat q : {Stat::kP50, Stat::kP90, Stat::kP95, Stat::kP99}) {
              const double want =
                  e.samples.empty()
                      ? kNaN
                      : e.samples[static_cast<size_t>(QuantileOf(q) * (e.samples.size() - 1))];
              ExpectSame(want, ws.Get(s.id, q), "quantile");
            }
          }
          if (raw_tier) {
            // Without quantiles the same window reads its whole coarse slots
            // rolled up (History::Plan): the same samples, so the same
            // count/min/max/last, and sums rounded as coarse slots store them.
            ASSERT_TRUE(agg.Compute(*snap, w, false, &rolled).ok());
            ASSERT_EQ(rolled.tier(), 0u);
            ExpectSame(e.count, rolled.Get(s.id, Stat::kCount), "rolled count");
            ExpectSame(e.count > 0 ? e.min : kNaN, rolled.Get(s.id, Stat::kMin), "rolled min");
            ExpectSame(e.count > 0 ? e.max : kNaN, rolled.Get(s.id, Stat::kMax), "rolled max");
            ExpectSame(e.last, rolled.Get(s.id, Stat::kLast), "rolled last");
            const double rtol = SumTolerance(e, 1);
            ExpectNear(e.count > 0 ? e.sum : kNaN, rolled.Get(s.id, Stat::kSum), rtol,
                       "rolled sum");
          }
          ++checks;
        }
      }
      // Sparkline of the 10 s tier against the reference, slot by slot.
      const RefSeries& s = series[rng() % series.size()];
      Sparkline sl;
      ASSERT_TRUE(agg.History(*snap, s.id, 1, &sl).ok());
      ASSERT_EQ(sl.avg.size(), 60u);
      const int64_t first = ref.last_r() / 10 - 59;
      EXPECT_EQ(sl.first_slot_ms, first * 10'000);
      for (int i = 0; i < 60; ++i) {
        double mx = kNaN;
        double n = 0, total = 0, abs_total = 0;
        for (auto it = s.stored.lower_bound((first + i) * 10);
             it != s.stored.end() && it->first < (first + i + 1) * 10 && it->first <= ref.last_r();
             ++it) {
          mx = std::isnan(mx) || it->second > mx ? it->second : mx;
          total += it->second;
          abs_total += std::fabs(it->second);
          n += 1;
        }
        ExpectSame(mx, sl.max[i], "sparkline max");
        // One rollup level (the 10 s tier): one float rounding of the sum.
        ExpectNear(n > 0 ? total / n : kNaN, sl.avg[i],
                   n > 0 ? (2.0 / (1 << 24) * abs_total + 1e-12) / n : 0, "sparkline avg");
      }
    }
    EXPECT_GT(checks, 1000);
  }
}

TEST(Aggregate, CounterRateAndReset) {
  Options o;
  o.tiers = TestTiers();
  Pipeline p(o);
  MetricId c = *p.RegisterMetric({"c_total", "", MetricKind::kCounter, true});
  SeriesId s = p.Intern(c, kNodeEntity);
  const double values[] = {100, 110, 130, 5, 25};  // restart after 130
  int64_t ts = 1'000'000;
  for (double v : values) {
    p.BeginCycle(ts);
    p.Set(s, v);
    p.EndCycle();
    ts += 2000;  // 2 s cycles: rates are per second
  }
  Aggregator agg(p);
  WindowStats w;
  ASSERT_TRUE(agg.Compute(*p.snapshot(), 60'000, true, &w).ok());
  // Rates: 5, 10, 2.5 (5 after restart / 2 s), 10.
  EXPECT_EQ(w.Get(s, Stat::kCount), 4);
  EXPECT_EQ(w.Get(s, Stat::kMax), 10);
  EXPECT_EQ(w.Get(s, Stat::kMin), 2.5);
  EXPECT_EQ(w.Get(s, Stat::kLast), 10);
  EXPECT_EQ(w.Get(s, Stat::kAvg), (5 + 10 + 2.5 + 10) / 4);
  EXPECT_EQ(w.Get(s, Stat::kP50), 5);
  EXPECT_EQ(p.snapshot()->value(s), 25);  // the snapshot keeps the raw counter
}

TEST(Aggregate, Errors) {
  Pipeline p(Options{});
  MetricId g = *p.RegisterMetric({"g", "", MetricKind::kGauge, true});
  MetricId l = *p.RegisterMetric({"l", "", MetricKind::kGauge, false});
  SeriesId sg = p.Intern(g, kNodeEntity);
  SeriesId sl = p.Intern(l, kNodeEntity);
  p.BeginCycle(1'000'000);
  p.Set(sg, 1);
  p.Set(sl, 1);
  p.EndCycle();
  Aggregator agg(p);
  WindowStats w;
  auto snap = p.snapshot();
  EXPECT_EQ(agg.Compute(*snap, 7'000'000'000, false, &w).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(agg.Compute(*snap, 15'500, false, &w).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(agg.Compute(*snap, 900'000, true, &w).code(), absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(agg.Compute(*snap, 900'000, false, &w).ok());  // 15m from the 10 s tier
  EXPECT_EQ(w.tier(), 1u);
  EXPECT_EQ(w.Get(sg, Stat::kMax), 1);
  EXPECT_TRUE(std::isnan(w.Get(sl, Stat::kMax)));  // latest-only: no history
  EXPECT_EQ(*ParseStat("p95"), Stat::kP95);
  EXPECT_EQ(StatName(Stat::kAvg), "avg");
  EXPECT_EQ(ParseStat("median").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(Aggregate, RecycledSeriesDoesNotInheritHistory) {
  Options o;
  o.tiers = TestTiers();
  Pipeline p(o);
  MetricId g = *p.RegisterMetric({"g", "", MetricKind::kGauge, true});
  EntityId e1 = p.AddEntity({{"container", "a"}});
  SeriesId s1 = p.Intern(g, e1);
  int64_t ts = 5'000'000;
  for (int i = 0; i < 5; ++i, ts += 1000) {
    p.BeginCycle(ts);
    p.Set(s1, 1000);
    p.EndCycle();
  }
  auto old_snap = p.snapshot();
  p.RemoveEntity(e1);
  EntityId e2 = p.AddEntity({{"container", "b"}});
  SeriesId s2 = p.Intern(g, e2);
  ASSERT_EQ(s1, s2);  // id recycled
  EXPECT_GT(p.snapshot() == old_snap ? 0 : 1, -1);
  p.BeginCycle(ts);
  p.Set(s2, 1);
  p.EndCycle();
  Aggregator agg(p);
  WindowStats w;
  ASSERT_TRUE(agg.Compute(*p.snapshot(), 60'000, false, &w).ok());
  EXPECT_EQ(w.Get(s2, Stat::kMax), 1);
  EXPECT_EQ(w.Get(s2, Stat::kCount), 1);
  // A reader still on the old snapshot sees the old generation as gone.
  ASSERT_TRUE(agg.Compute(*old_snap, 60'000, false, &w).ok());
  EXPECT_TRUE(std::isnan(w.Get(s1, Stat::kMax)));
}

}  // namespace
}  // namespace nodepulse::pipeline
