// Rollups: a container metric summed per pod, and pods summarized per
// workload, keyed by the entity labels namespace/pod/workload/workload_kind.
//
//   WindowStats w1m;  agg.Compute(*snap, 60'000, false, &w1m);
//   auto pods = RollupPods(*snap, cpu_metric, &w1m, Stat::kAvg);
//     -> pod:container_cpu_usage:rate1m{namespace,pod} = pods[i].value
//   auto workloads = RollupWorkloads(pods);
//     -> workload:container_cpu_usage:rate1m_p95 = w.pods.Value(Stat::kP95)
//   pod:container_cpu_cfs_throttled:ratio1m: RollupPods of the throttled
//     periods counter divided by RollupPods of the periods counter (both
//     kAvg rates over the same window; join on namespace/pod).
//
// Which entities count: those with non-empty namespace and pod labels. An
// entity whose `container` label is empty or "POD" is the pod cgroup or the
// pause container and is skipped, so usage is not counted twice (cAdvisor
// exports both). Workload rollups need the workload label (the kubelet join
// adds workload and workload_kind); pods without it are absent, not errors.
//
// Pure functions over immutable inputs: safe from any thread.
#ifndef NODEPULSE_PIPELINE_ROLLUP_H_
#define NODEPULSE_PIPELINE_ROLLUP_H_

#include <string>
#include <vector>

#include "nodepulse/pipeline/aggregate.h"
#include "nodepulse/pipeline/snapshot.h"

namespace nodepulse::pipeline {

struct PodRollup {
  std::string namespace_name, pod, workload, workload_kind;
  double value = 0;     // sum over the pod's series of the per-series stat
  uint32_t series = 0;  // series that had a value (NaN ones are skipped)
};

struct WorkloadRollup {
  std::string namespace_name, workload, workload_kind;
  // One sample per pod (its PodRollup::value): pods.Value(kSum) is the sum
  // across pods, kCount the pod count, kP95 the exact p95 across pods; the
  // sketch is there to merge with other nodes.
  Summary pods;
};

// Sorted by (namespace, pod). `window` null: latest values from the
// snapshot; else `stat` of each series over that window (series without
// history then contribute nothing).
std::vector<PodRollup> RollupPods(const Snapshot& at, MetricId metric, const WindowStats* window,
                                  Stat stat);

// Which pod each series of one metric belongs to in one catalog: the label
// lookups, hashing and sorting RollupPods repeats on every call. Catalogs
// are immutable and shared by consecutive snapshots until a series or a
// label changes, so a caller rolling up many windows and stats every second
// (the aggregates engine: 8 metrics x 3 windows) builds this once per
// catalog and only sums per call.
class PodGrouping {
 public:
  PodGrouping(const Catalog& catalog, MetricId metric);
  // RollupPods(at, metric, window, stat) for a snapshot of the same catalog.
  std::vector<PodRollup> Rollup(const Snapshot& at, const WindowStats* window, Stat stat) const;

  // The same without copying names: pods with a value, in pod() order, into
  // `out` (cleared; reuse it and nothing is allocated).
  struct PodValue {
    uint32_t pod;  // index for pod()
    double value;
    uint32_t series;
  };
  void Values(const Snapshot& at, const WindowStats* window, Stat stat,
              std::vector<PodValue>* out) const;
  // Names and labels of pod i (value and series are 0); sorted by
  // (namespace, pod).
  const PodRollup& pod(uint32_t i) const { return pods_[i]; }
  size_t pods() const { return pods_.size(); }

 private:
  std::vector<PodRollup> pods_;  // sorted by (namespace, pod); value/series 0
  struct Member {
    SeriesId series;
    uint32_t pod;  // index into pods_
  };
  std::vector<Member> members_;
};
// Sorted by (namespace, workload_kind, workload); pods without a workload
// label are left out.
std::vector<WorkloadRollup> RollupWorkloads(const std::vector<PodRollup>& pods);

}  // namespace nodepulse::pipeline

#endif  // NODEPULSE_PIPELINE_ROLLUP_H_
