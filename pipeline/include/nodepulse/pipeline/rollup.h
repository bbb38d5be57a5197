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
// Sorted by (namespace, workload_kind, workload); pods without a workload
// label are left out.
std::vector<WorkloadRollup> RollupWorkloads(const std::vector<PodRollup>& pods);

}  // namespace nodepulse::pipeline

#endif  // NODEPULSE_PIPELINE_ROLLUP_H_
