// Pipeline: the agent's single store of samples.
//
// Collectors describe what they measure once (RegisterMetric, AddEntity,
// Intern), then write one value per series per cycle with Set() between
// BeginCycle() and EndCycle(). EndCycle() publishes an immutable Snapshot that
// exporters read from any thread.
//
// Model:
//   metric  - a Prometheus family (name, help, counter|gauge); dense MetricId.
//   entity  - the thing measured: a container or pod cgroup, or the node
//             (kNodeEntity, no labels). Its labels (cAdvisor's container, id,
//             image, name, namespace, pod) can change later, e.g. when the
//             kubelet join lands, without changing its series' ids, so history
//             continues.
//   series  - (metric, entity, extra labels such as cpu/device/mode); dense
//             SeriesId, recycled after removal with a bumped generation.
//   history - series of metrics registered with MetricSpec::history also get
//             time-major rings (Options::tiers): raw values per cycle (for
//             counters: the per-second rate since the previous cycle) and
//             rolled-up min/max/sum/count tiers. Query them with Aggregator
//             (aggregate.h); everything else keeps only the latest value.
//
// Memory is allocated when series appear (in whole blocks of 256 rows or
// columns) and reported in stats().bytes (the agent exports it as
// nodepulse_pipeline_bytes); nothing is allocated per sample or per cycle in
// steady state. A block of history columns whose series have all been gone
// for 32 cycles is given back (freed ids are reused lowest first, so after
// container churn the newest blocks drain).
//
// Thread-safety: every non-const method is for the single collection thread
// (or set-up before it starts). snapshot() and stats() may be called from any
// thread at any time; they only take a mutex long enough to copy a pointer.
#ifndef NODEPULSE_PIPELINE_PIPELINE_H_
#define NODEPULSE_PIPELINE_PIPELINE_H_

#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "nodepulse/pipeline/retention.h"
#include "nodepulse/pipeline/snapshot.h"

namespace nodepulse::pipeline {

namespace internal {
class History;
class SnapshotPool;
}  // namespace internal
class Aggregator;

struct Options {
  // Hard cap on live series; new series beyond it are dropped and counted
  // (stats().series_dropped, exported as nodepulse_series_dropped_total).
  size_t max_series = 200000;
  // Rings of history series, finest first (--retention). Tier 0's step
  // should equal the collection interval.
  std::vector<TierSpec> tiers = DefaultTiers();
  // A series with no sample (no Set() of a non-NaN value) for this long is
  // released and its id recycled with a bumped generation. 0 = never: a
  // collector that keeps a SeriesId must then Release() it itself. With
  // expiry on, a collector that may hold an id longer than this without
  // setting it must re-Intern() it (interning again is cheap and returns the
  // live id).
  int64_t series_expiry_ms = 0;
};

class Pipeline {
 public:
  // Invalid options.tiers (see ValidateTiers) fall back to DefaultTiers();
  // the agent validates --retention with ValidateTiers before it gets here.
  explicit Pipeline(Options options);
  ~Pipeline();
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

  // ---- set-up and discovery (collection thread, off the per-sample path) ----

  // Idempotent by name: registering the same name again returns the same id.
  // Fails on an invalid Prometheus name or a kind mismatch.
  absl::StatusOr<MetricId> RegisterMetric(const MetricSpec& spec);

  EntityId AddEntity(Labels labels);
  void SetEntityLabels(EntityId entity, Labels labels);
  // Removes the entity and all its series from the next snapshot.
  void RemoveEntity(EntityId entity);

  // Returns kNoSeries when the --max-series cap is reached (counted in
  // stats().series_dropped). Set() on kNoSeries is a no-op, so callers need
  // no special case. Interning the same (metric, entity, extra) twice returns
  // the same id.
  SeriesId Intern(MetricId metric, EntityId entity, Labels extra = {});
  void Release(SeriesId series);

  // ---- per cycle (collection thread) ----

  // Starts a row; every series reads NaN ("no sample") until Set().
  void BeginCycle(int64_t timestamp_ms);
  void Set(SeriesId series, double value) {
    if (series < row_.size()) row_[series] = value;
  }
  // Commits the row: history series go into the raw tier and complete
  // coarse slots are rolled up; expired series are released; then a new
  // snapshot is published. Readers never make this wait longer than it
  // takes them to fold about one row (see internal/history.h).
  void EndCycle();

  // ---- readers (any thread) ----
  std::shared_ptr<const Snapshot> snapshot() const;

  struct Stats {
    uint64_t series_live = 0;
    uint64_t series_dropped = 0;  // total refused by the cap
    uint64_t series_created = 0;  // total interned (Envoy's "recent lookups")
    uint64_t entities_live = 0;
    uint64_t series_expired = 0;  // total released by series_expiry_ms
    uint64_t history_series = 0;  // live series with rings
    uint64_t history_bytes = 0;   // rings + per-column state (exact)
    uint64_t history_blocks_released = 0;  // total blocks of ring columns given back
    uint64_t bytes = 0;           // memory held by the pipeline (history_bytes
                                  // exact; catalog strings estimated)
  };
  Stats stats() const;

 private:
  friend class Aggregator;
  const internal::History& history() const;

  class Impl;
  std::unique_ptr<Impl> impl_;
  // The current row lives here so Set() is inline: one bounds check and a store.
  std::vector<double> row_;
  int64_t cycle_timestamp_ms_ = 0;

  mutable absl::Mutex mu_;
  std::shared_ptr<const Snapshot> published_ ABSL_GUARDED_BY(mu_);
  Stats published_stats_ ABSL_GUARDED_BY(mu_);
};

}  // namespace nodepulse::pipeline

#endif  // NODEPULSE_PIPELINE_PIPELINE_H_
