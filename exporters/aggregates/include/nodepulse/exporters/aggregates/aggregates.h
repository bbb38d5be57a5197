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
//   utilization:  cpu_utilization = a pod's cpu / its current CPU request,
//                 memory_utilization = its memory / its current memory
//                 request (HPA's averageUtilization, as a fraction), with
//                 the request in force (status resources, so an in-place
//                 resize counts once applied). A pod where some container
//                 has no request is counted in pods_without_request and left
//                 out, never divided by zero.
//   coverage:     per pod, the samples in the window / the samples a full
//                 window holds (window / interval), at most 1; per workload
//                 the mean over the pods the kubelet runs for it on the node
//                 (a running pod without samples counts 0). Freshness: each
//                 pod's newest sample time; a workload reports its newest and
//                 its least fresh pod's (oldest_sample_ms).
//
// Thread-safety: Notify() from the collection thread; view() and the
// handlers from any thread; Start()/Stop() from the owner.
#ifndef NODEPULSE_EXPORTERS_AGGREGATES_H_
#define NODEPULSE_EXPORTERS_AGGREGATES_H_

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <limits>
#include <tuple>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/node_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "nodepulse/exporters/http/http_server.h"
#include "nodepulse/pipeline/aggregate.h"
#include "nodepulse/pipeline/pipeline.h"
#include "nodepulse/exporters/aggregates/rollup.h"

namespace nodepulse::exporters {

// The workload that owns a pod, from the kubelet's /pods (ReplicaSet ->
// Deployment, Job -> CronJob, ...). nullopt when unknown.
struct PodOwnerInfo {
  std::string workload;
  std::string kind;
};
using OwnerLookup =
    std::function<std::optional<PodOwnerInfo>(absl::string_view ns, absl::string_view pod)>;

// A pod as the kubelet lists it. Requests are the pod's current (applied)
// ones summed over its regular containers; NaN when one of them has none.
struct PodInfo {
  std::string namespace_name, pod, workload, workload_kind;
  bool running = false;  // phase Running: expected to have samples
  double cpu_request_cores = std::numeric_limits<double>::quiet_NaN();
  double memory_request_bytes = std::numeric_limits<double>::quiet_NaN();
};
// Every pod on the node, asked once per update; returning the same pointer
// as last time means "unchanged" (the engine then reuses its indexes).
using PodsLookup = std::function<std::shared_ptr<const std::vector<PodInfo>>()>;

struct AggregatesOptions {
  std::vector<int64_t> windows_ms = {60'000, 300'000, 900'000};
  // Also emit kubernetes-mixin's node-local recording-rule series (off by
  // default: a cluster running kube-prometheus's rules already has them).
  bool mixin_series = false;
  std::string node_name;  // `node` label of the mixin series
  OwnerLookup owner_lookup;
  // Requests (for *_utilization) and the pods a workload should have
  // (for coverage). Unset: no utilization, coverage over contributing pods.
  PodsLookup pods;
  // The collection interval: a full window holds window / interval samples.
  int64_t interval_ms = 1000;
  // Wall clock for sample ages in answers; unset: absl::Now(). Tests pin it.
  std::function<int64_t()> now_ms;
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
  double coverage = 0;          // see "coverage" above
  uint32_t pods_expected = 0;   // running pods per the kubelet (>= contributing)
  uint32_t pods_without_request = 0;
  int64_t newest_sample_ms = 0;
  int64_t oldest_sample_ms = 0;  // the least fresh contributing pod's newest sample
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
    PodGrouping grouping;
    std::vector<std::string> label_text;  // `{namespace="..",pod=".."} ` of pod i
    // Wall time of pod i's newest sample of this metric; 0 = none seen.
    std::vector<int64_t> last_seen_ms;
    uint64_t seen_cycle = 0;  // the snapshot cycle last_seen_ms is up to date with
  };
  Grouped& Grouping(const pipeline::Catalog& cat, pipeline::MetricId metric);
  // node_hash_map: workload keys are views into the owners found, which
  // must not move when the map grows.
  using OwnerCache = absl::node_hash_map<std::pair<absl::string_view, absl::string_view>,
                                         std::optional<PodOwnerInfo>>;
  const PodOwnerInfo* OwnerOf(OwnerCache& cache, const PodRollup& pod) const;
  // Marks the pods of `g` with a sample in `snap` as seen at its time.
  void MarkSeen(Grouped& g, const pipeline::Snapshot& snap);
  // Refreshes the (namespace, pod) and workload indexes of options_.pods.
  void IndexPods();
  struct WorkloadPods {
    uint32_t running = 0, running_without_cpu = 0, running_without_memory = 0;
  };
  const PodInfo* FindPod(const PodRollup& pod) const;
  const WorkloadPods* FindWorkloadPods(absl::string_view ns, absl::string_view kind,
                                       absl::string_view workload) const;

  // Update()'s steps, in order. `metric` indexes the metric table
  // (AggregateMetrics()), `wi` options_.windows_ms.
  struct WorkloadAcc;  // one workload while its pods are summed
  void ResetGroupings(std::shared_ptr<const pipeline::Catalog> catalog);
  void ComputeWindows(const pipeline::Snapshot& snap);
  bool WindowComputed(size_t wi) const;
  // The per-pod and per-workload series of one metric over every window,
  // and its workloads for the API.
  void AppendMetric(const pipeline::Snapshot& snap, size_t metric, OwnerCache& owners, AggregatesView& view);
  // pod_values_ / the denominator's values of the same pods (dropping pods
  // without a positive denominator).
  void DivideByDenominator(const pipeline::Snapshot& snap, const Grouped& g, const Grouped& den, size_t wi,
                           pipeline::Stat stat);
  // Appends each pod's series and sums pod_values_ into workloads, sorted.
  std::vector<WorkloadAcc> SumPods(const pipeline::Snapshot& snap, const Grouped& g, size_t metric, size_t wi,
                                   const std::string& pod_series, OwnerCache& owners, std::string* text);
  void AppendWorkloadSeries(const std::vector<WorkloadAcc>& wls, size_t metric, const std::string& wname,
                            const std::string& pod_series, std::string* text) const;
  // node:node_cpu_utilisation:avg<window>, node:node_memory_utilisation:ratio.
  void AppendNodeSeries(const pipeline::Snapshot& snap, std::string* text) const;
  // kubernetes-mixin's node_namespace_pod_container:* series.
  void AppendMixinSeries(const pipeline::Snapshot& snap, std::string* text) const;

  AggregatesOptions options_;
  pipeline::Aggregator aggregator_;
  std::vector<pipeline::WindowStats> stats_;  // one per window, reused
  std::shared_ptr<const pipeline::Catalog> grouped_catalog_;
  std::vector<std::unique_ptr<Grouped>> groupings_;  // by MetricId
  std::vector<PodGrouping::PodValue> pod_values_, den_values_, count_values_;  // reused
  // Last seen times carried across a catalog change, by (namespace, pod).
  absl::flat_hash_map<std::pair<std::string, std::string>, int64_t> seen_carry_;
  std::shared_ptr<const std::vector<PodInfo>> pods_;  // options_.pods() of this update
  absl::flat_hash_map<std::pair<absl::string_view, absl::string_view>, uint32_t> pod_index_;
  absl::flat_hash_map<std::tuple<absl::string_view, absl::string_view, absl::string_view>, WorkloadPods>
      workload_pods_;

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

// Checks a --aggregates list (comma-separated API metric names, or "all"
// for every one); the error lists the valid names.
absl::StatusOr<std::vector<std::string>> ParseAggregateMetrics(absl::string_view list);

}  // namespace nodepulse::exporters

#endif  // NODEPULSE_EXPORTERS_AGGREGATES_H_
