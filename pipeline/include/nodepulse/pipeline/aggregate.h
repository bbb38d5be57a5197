// Window aggregates over the pipeline's history rings: the one code path
// behind pre-aggregated Prometheus series, the autoscaler's aggregates API
// and the health page's sparklines.
//
//   Aggregator agg(pipeline);               // pipeline must outlive agg
//   auto snap = pipeline.snapshot();
//   WindowStats w1m;                         // reuse across calls: no allocs
//   agg.Compute(*snap, 60'000, /*quantiles=*/false, &w1m);
//   double rate = w1m.Get(cpu_series, Stat::kAvg);   // counter: avg rate/s
//   // pod:container_cpu_usage:rate1m, workload ...:rate1m_p95: rollup.h
//
// What a window means. Every query is aligned to a snapshot: a window of W
// ends at the snapshot's cycle and is served by the finest tier whose step
// divides W and whose span covers it (1m, 5m: raw; 15m, 1h: 30 s with the
// default tiers). It holds the newest W/step slots of that
// tier; the newest is still filling and is read from finer tiers, so a
// window covers more than W - step and at most W of samples (exactly W on
// the raw tier). avg/min/max/sum/count are exact over the samples covered
// (sums of rolled-up slots are rounded once, as the slots store them; a
// raw-tier window computed without quantiles reads its whole rolled-up slots
// that way too, for a fraction of the rows).
// `last` is the newest sample in the window; for windows on a rolled-up
// tier, the newest within the window's final tier-1 step (30 s), since
// rolled-up slots keep no order. Quantiles over
// time are exact (lower rank: the sample at rank floor(q*(n-1))) and only
// for raw-tier windows; coarse slots do not keep samples.
//
// A snapshot is best read promptly: rows overwritten since (a reader still
// computing on a snapshot older than the tier span minus the window) are
// skipped, never read from the future.
//
// Counters: the rings hold the per-second rate between the samples of two
// consecutive cycles (a decrease is a restart and counts the new value as
// the increase; a cycle without a sample leaves the next interval without a
// rate rather than charging a multi-cycle increase to one slot), so
// Stat::kAvg over a window is the average rate, kMax the peak 1 s rate, and
// so on. The snapshot keeps the raw cumulative value.
//
// Thread-safety: Aggregator's methods are const and may run concurrently
// from any thread, alongside the collection thread. They take the rings'
// lock shared in pieces of about one row each, so they never hold up
// collection for longer than that. WindowStats and Summary are plain values
// (external synchronization to share a mutable one).
#ifndef NODEPULSE_PIPELINE_AGGREGATE_H_
#define NODEPULSE_PIPELINE_AGGREGATE_H_

#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "nodepulse/pipeline/pipeline.h"
#include "nodepulse/pipeline/sketch.h"
#include "nodepulse/pipeline/snapshot.h"

namespace nodepulse::pipeline {

enum class Stat : uint8_t { kAvg, kMin, kMax, kLast, kSum, kCount, kP50, kP90, kP95, kP99 };
// "avg", "min", "max", "last", "sum", "count", "p50", "p90", "p95", "p99".
absl::StatusOr<Stat> ParseStat(std::string_view name);
std::string_view StatName(Stat stat);
inline bool IsQuantile(Stat s) { return s >= Stat::kP50; }
// 0.5 for kP50 ...; NaN for non-quantiles.
double QuantileOf(Stat s);

// Mergeable summary of a set of samples: what the autoscaler API returns so
// it can combine nodes exactly (sum, count, min, max add/compare; the sketch
// merges within its 1% bound).
struct Summary {
  double sum = 0;
  double count = 0;
  double min = std::numeric_limits<double>::quiet_NaN();
  double max = std::numeric_limits<double>::quiet_NaN();
  double last = std::numeric_limits<double>::quiet_NaN();
  QuantileSketch sketch;
  // Every sample, when the source had them (raw tier, pods of a workload):
  // quantiles are then exact. Not merged across nodes; the sketch is.
  std::vector<double> samples;

  void Add(double x);  // NaN ignored
  // Folds pre-aggregated values (a coarse slot) without samples.
  void AddAggregate(double sum, double count, double min, double max);
  void Merge(const Summary& other);
  // NaN when empty (or for a quantile with neither samples nor sketch).
  double Value(Stat stat) const;
};

// One window over every history series, by SeriesId. Reuse one per
// (window, quantiles) across scrapes: Compute() reuses its buffers.
class WindowStats {
 public:
  // NaN for a series without history, with no sample in the window, whose
  // id was recycled since the snapshot, or for a quantile when Compute() did
  // not ask for them.
  double Get(SeriesId id, Stat stat) const;
  int64_t window_ms() const { return window_ms_; }
  int64_t timestamp_ms() const { return timestamp_ms_; }
  uint32_t tier() const { return tier_; }
  bool has_quantiles() const { return quantiles_; }

 private:
  friend class Aggregator;
  int64_t window_ms_ = 0;
  int64_t timestamp_ms_ = 0;
  uint32_t tier_ = 0;
  bool quantiles_ = false;
  std::vector<double> sum_, count_, min_, max_, last_;
  std::vector<double> q_[4];  // p50, p90, p95, p99
  // Compute()'s scratch, kept so a reused WindowStats allocates nothing.
  struct Scratch;
  std::shared_ptr<Scratch> scratch_;
};

// Per-slot history of one series on one tier, oldest first.
struct Sparkline {
  int64_t first_slot_ms = 0;  // start time of avg[0]
  int64_t step_ms = 0;
  std::vector<double> avg, min, max;  // NaN where the slot has no sample
};

class Aggregator {
 public:
  explicit Aggregator(const Pipeline& pipeline) : pipeline_(pipeline) {}

  // Computes avg/min/max/last/sum/count (and, for raw-tier windows, p50..p99
  // when `quantiles`) for every history series. InvalidArgument for a window
  // no tier serves; FailedPrecondition for quantiles beyond the raw tier.
  absl::Status Compute(const Snapshot& at, int64_t window_ms, bool quantiles,
                       WindowStats* out) const;

  // The whole span of tier `tier` for one series (the health page uses tier
  // 1: 10 s x 360 = the last hour).
  absl::Status History(const Snapshot& at, SeriesId id, uint32_t tier, Sparkline* out) const;

 private:
  const Pipeline& pipeline_;
};

}  // namespace nodepulse::pipeline

#endif  // NODEPULSE_PIPELINE_AGGREGATE_H_
