// Pod rollups for the aggregates engine: a container metric summed per
// pod, and the pods of a workload summarized, keyed by the entity labels
// namespace/pod/workload/workload_kind. This is API logic (which cgroups
// count as a pod's containers is cAdvisor's convention), not storage, so it
// lives with the aggregates engine rather than in pipeline/.
//
//   PodGrouping g(*snap->catalog, cpu_metric);      // once per catalog
//   g.Values(*snap, &w1m, Stat::kAvg, &values);      // every update
//     -> pod:container_cpu_usage:rate1m{namespace,pod} = values[i].value
//   WorkloadRollup::pods.Add(value) per pod of a workload
//     -> workload:container_cpu_usage:rate1m_p95 = w.pods.Value(Stat::kP95)
//
// Which entities count: those with non-empty namespace and pod labels. An
// entity whose `container` label is empty or "POD" is the pod cgroup or the
// pause container and is skipped, so usage is not counted twice (cAdvisor
// exports both). Workload rollups need the workload label (the kubelet join
// adds workload and workload_kind); pods without it are absent, not errors.
//
// Thread-safety: PodGrouping is immutable after construction; Values() may
// be called from any thread on snapshots of the catalog it was built from.
#ifndef NODEPULSE_EXPORTERS_AGGREGATES_ROLLUP_H_
#define NODEPULSE_EXPORTERS_AGGREGATES_ROLLUP_H_

#include <string>
#include <vector>

#include "nodepulse/pipeline/aggregate.h"
#include "nodepulse/pipeline/snapshot.h"

namespace nodepulse::exporters {

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
  pipeline::Summary pods;
};

// Which pod each series of one metric belongs to in one catalog: the label
// lookups, hashing and sorting, done once. Catalogs are immutable and shared by consecutive snapshots until a series or a
// label changes, so a caller rolling up many windows and stats every second
// (the aggregates engine: 8 metrics x 3 windows) builds this once per
// catalog and only sums per call.
class PodGrouping {
 public:
  PodGrouping(const pipeline::Catalog& catalog, pipeline::MetricId metric);
  // The sum of `stat` (over `window`; null: the snapshot's latest values)
  // of each pod's series, for a snapshot of the same catalog: pods with a
  // value, in pod() order, into `out` (cleared; reuse it and nothing is
  // allocated). A pod whose every series is NaN is left out.
  struct PodValue {
    uint32_t pod;  // index for pod()
    double value;
    uint32_t series;
  };
  void Values(const pipeline::Snapshot& at, const pipeline::WindowStats* window, pipeline::Stat stat,
              std::vector<PodValue>* out) const;
  // Names and labels of pod i (value and series are 0); sorted by
  // (namespace, pod).
  const PodRollup& pod(uint32_t i) const { return pods_[i]; }
  size_t pods() const { return pods_.size(); }

 private:
  std::vector<PodRollup> pods_;  // sorted by (namespace, pod); value/series 0
  struct Member {
    pipeline::SeriesId series;
    uint32_t pod;  // index into pods_
  };
  std::vector<Member> members_;
};

}  // namespace nodepulse::exporters

#endif  // NODEPULSE_EXPORTERS_AGGREGATES_ROLLUP_H_
