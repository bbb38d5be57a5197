// AggregatesEngine: node-side "recording rules" and the autoscaler's
// aggregates, computed once per collection cycle from the pipeline's rings.
//
// After each cycle the agent hands the new snapshot to Notify() (a pointer
// swap); the engine's own thread then computes 1m/5m/15m window statistics
// (pipeline::Aggregator), rolls containers up per pod and pods up per
// workload, renders the pre-aggregated Prometheus series once, and publishes
// an immutable AggregatesView. /metrics and /api/v1/aggregates read the view,
// so a scrape or an API call never computes, and collection never waits.
//
// Semantics (also in the README):
//   per pod:      sum over the pod's containers (not the pod cgroup or the
//                 pause container) of each container's window value:
//                 cpu = average rate over the window (cores), memory = max
//                 of the working set over the window, throttling = throttled
//                 periods / periods over the window.
//   per workload: the distribution of its pods' values: sum, avg, min, max,
//                 count and p50/p90/p95/p99 across pods (exact; the sketch,
//                 with 1% relative error, is there to merge nodes).
//
// Thread-safety: Notify() from the collection thread; view() and the
// handlers from any thread; Start()/Stop() from the owner.
#ifndef NODEPULSE_EXPORTERS_AGGREGATES_H_
#define NODEPULSE_EXPORTERS_AGGREGATES_H_

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/node_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "nodepulse/exporters/http_server.h"
#include "nodepulse/pipeline/aggregate.h"
#include "nodepulse/pipeline/pipeline.h"
#include "nodepulse/pipeline/rollup.h"

namespace nodepulse::exporters {

// The workload that owns a pod, from the kubelet's /pods (ReplicaSet ->
// Deployment, Job -> CronJob, ...). nullopt when unknown.
struct PodOwnerInfo {
  std::string workload;
  std::string kind;
};
using OwnerLookup =
    std::function<std::optional<PodOwnerInfo>(absl::string_view ns, absl::string_view pod)>;

struct AggregatesOptions {
  std::vector<int64_t> windows_ms = {60'000, 300'000, 900'000};
  // Also emit kubernetes-mixin's node-local recording-rule series (off by
  // default: a cluster running kube-prometheus's rules already has them).
  bool mixin_series = false;
  std::string node_name;  // `node` label of the mixin series
  OwnerLookup owner_lookup;
  // API names (AggregateMetrics()) to compute and export; empty = all.
  std::vector<std::string> metrics;
};

// One aggregate metric of the API: which raw series it comes from.
struct AggregateMetric {
  std::string name;         // API name: cpu, memory, throttling, rss, ...
  std::string rule_metric;  // recording-rule middle part, e.g. container_cpu_usage
  std::string rule_op;      // rate, max, ratio, avg
  std::string unit;         // cores, bytes, ratio, bytes_per_second
};
const std::vector<AggregateMetric>& AggregateMetrics();

struct WorkloadAggregate {
  std::string namespace_name, workload, workload_kind, metric;
  int64_t window_ms = 0;
  pipeline::Summary pods;  // one sample per pod
};

struct AggregatesView {
  int64_t timestamp_ms = 0;  // newest sample the view covers
  uint64_t cycle = 0;
  std::vector<WorkloadAggregate> workloads;
  // Prometheus text of every pre-aggregated series; the per-pod values are
  // only here (the API serves workloads).
  std::string exposition;
};

class AggregatesEngine {
 public:
  // `pipeline` must outlive the engine.
  AggregatesEngine(const pipeline::Pipeline& pipeline, AggregatesOptions options);
  ~AggregatesEngine();
  AggregatesEngine(const AggregatesEngine&) = delete;
  AggregatesEngine& operator=(const AggregatesEngine&) = delete;

  void Start();
  void Stop();
  // Never blocks for longer than a pointer swap.
  void Notify(std::shared_ptr<const pipeline::Snapshot> snapshot);
  // Computes synchronously (tests and the worker thread).
  void Update(const std::shared_ptr<const pipeline::Snapshot>& snapshot);
  std::shared_ptr<const AggregatesView> view() const;
  const AggregatesOptions& options() const { return options_; }

 private:
  void Run();
  // Pod grouping of `metric`'s series and each pod's label text, built once
  // per catalog (Update's thread only).
  struct Grouped {
    pipeline::PodGrouping grouping;
    std::vector<std::string> label_text;  // `{namespace="..",pod=".."} ` of pod i
  };
  const Grouped& Grouping(const pipeline::Catalog& cat, pipeline::MetricId metric);
  // node_hash_map: workload keys are views into the owners found, which
  // must not move when the map grows.
  using OwnerCache = absl::node_hash_map<std::pair<absl::string_view, absl::string_view>,
                                         std::optional<PodOwnerInfo>>;
  const PodOwnerInfo* OwnerOf(OwnerCache& cache, const pipeline::PodRollup& pod) const;

  AggregatesOptions options_;
  pipeline::Aggregator aggregator_;
  std::vector<pipeline::WindowStats> stats_;  // one per window, reused
  std::shared_ptr<const pipeline::Catalog> grouped_catalog_;
  std::vector<std::unique_ptr<Grouped>> groupings_;  // by MetricId
  std::vector<pipeline::PodGrouping::PodValue> pod_values_, den_values_;  // reused

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::shared_ptr<const pipeline::Snapshot> pending_;  // guarded by mu_
  std::shared_ptr<const AggregatesView> view_;         // guarded by mu_
  bool stop_ = false;                                  // guarded by mu_
  std::thread thread_;
};

// GET /api/v1/aggregates?namespace=&workload=&metric=&window=&stat=
// JSON by default, protobuf (exporters/aggregates.proto) with
// Accept: application/x-protobuf. With exactly one match, a top-level
// numeric `value` (KEDA metrics-api: valueLocation: value).
Handler AggregatesHandler(std::shared_ptr<AggregatesEngine> engine);

// Parses "1m", "5m", "15m" (any of the engine's windows). For errors the
// message lists the valid values.
absl::StatusOr<int64_t> ParseWindow(absl::string_view text, const std::vector<int64_t>& windows_ms);
std::string WindowName(int64_t window_ms);

// Checks a --aggregates list (comma-separated API metric names); the error
// lists the valid names.
absl::StatusOr<std::vector<std::string>> ParseAggregateMetrics(absl::string_view list);

}  // namespace nodepulse::exporters

#endif  // NODEPULSE_EXPORTERS_AGGREGATES_H_
