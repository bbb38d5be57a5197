// The metric families the cgroup collector exports: cAdvisor's names, HELP
// texts and types (checked against the kubelet's /metrics/cadvisor output of
// Kubernetes 1.18 and 1.35 in shared/fixtures/kubelet). The cgroup v2 event,
// refault, reclaim and burst families cAdvisor lacks follow its style
// (container_<area>_<what>_total) and are listed in the README.
#ifndef NODEPULSE_COLLECTORS_CGROUP_CGROUP_METRICS_H_
#define NODEPULSE_COLLECTORS_CGROUP_CGROUP_METRICS_H_

#include <array>
#include <cstdint>
#include <initializer_list>

#include "absl/status/statusor.h"
#include "nodepulse/pipeline/pipeline.h"

namespace nodepulse::collectors::cgroup_internal {

// Per-cgroup scalar metrics first (one series per cgroup), then the spec
// values read only at rescan, then the per-device families.
enum Metric : uint8_t {
  kCpuUsage,
  kCpuUser,
  kCpuSystem,
  kCfsPeriods,
  kCfsThrottledPeriods,
  kCfsThrottledSeconds,
  kMemUsage,
  kWorkingSet,
  kRss,
  kCache,
  kSwap,
  kMappedFile,
  kFailcnt,
  kOomEvents,
  kThreads,
  kProcesses,
  kPsiCpuWaiting,
  kPsiCpuStalled,
  kPsiMemWaiting,
  kPsiMemStalled,
  kPsiIoWaiting,
  kPsiIoStalled,
  // cgroup v2 only (the files do not exist on v1: no series there). A family
  // with labels has one slot per label value; ExtraLabelsOf() gives them.
  kMemEventsLow,  // container_memory_events_total{event}: memory.events
  kMemEventsHigh,
  kMemEventsMax,
  kMemEventsOom,
  kMemEventsOomKill,
  kMemEventsOomGroupKill,
  kSwapEventsHigh,  // container_memory_swap_events_total{event}: memory.swap.events
  kSwapEventsMax,
  kSwapEventsFail,
  kMemMaxUsage,  // memory.peak
  kPgfaultContainer,  // container_memory_failures_total{failure_type,scope}
  kPgfaultHierarchy,
  kPgmajfaultContainer,
  kPgmajfaultHierarchy,
  kRefaultsAnon,  // container_memory_workingset_refaults_total{type}
  kRefaultsFile,
  kActivationsAnon,  // container_memory_workingset_activations_total{type}
  kActivationsFile,
  kRestoresAnon,  // container_memory_workingset_restores_total{type}
  kRestoresFile,
  kNodereclaims,
  kPagesScanned,    // pgscan
  kPagesReclaimed,  // pgsteal
  kCpuBursts,       // cpu.stat nr_bursts
  kCpuBurstSeconds,  // cpu.stat burst_usec
  // spec: read at rescan, re-emitted every cycle from the cached value
  kSpecCpuQuota,
  kSpecCpuPeriod,
  kSpecCpuShares,
  kSpecMemLimit,
  kThreadsMax,
  kNumScalarMetrics,
  // per device (labels device, and major/minor/operation for blkio)
  kFsReadsBytes = kNumScalarMetrics,
  kFsWritesBytes,
  kFsReads,
  kFsWrites,
  kBlkioDeviceUsage,
  kNumMetrics,
};
inline constexpr int kFirstSpecMetric = kSpecCpuQuota;

const pipeline::MetricSpec& MetricSpecOf(Metric m);
// The labels that tell apart the slots of one family (event="oom_kill"),
// beyond the entity's; empty for most metrics.
pipeline::Labels ExtraLabelsOf(Metric m);

// A bit per Metric, for sets of metrics (what a file feeds).
static_assert(kNumMetrics <= 64, "MetricMask is 64 bits");
using MetricMask = uint64_t;
constexpr MetricMask MaskOf(std::initializer_list<Metric> ms) {
  MetricMask mask = 0;
  for (Metric m : ms) mask |= MetricMask{1} << m;
  return mask;
}

using MetricIds = std::array<pipeline::MetricId, kNumMetrics>;
// Registers every family; fails with the metric name on a pipeline error.
absl::StatusOr<MetricIds> RegisterCgroupMetrics(pipeline::Pipeline& pipeline);

}  // namespace nodepulse::collectors::cgroup_internal

#endif  // NODEPULSE_COLLECTORS_CGROUP_CGROUP_METRICS_H_
