// The metric families the cgroup collector exports: cAdvisor's names, HELP
// texts and types (checked against the kubelet's /metrics/cadvisor output of
// Kubernetes 1.18 and 1.35 in shared/fixtures/kubelet).
#ifndef NODEPULSE_COLLECTORS_CGROUP_CGROUP_METRICS_H_
#define NODEPULSE_COLLECTORS_CGROUP_CGROUP_METRICS_H_

#include <array>
#include <cstdint>

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

using MetricIds = std::array<pipeline::MetricId, kNumMetrics>;
// Registers every family; fails with the metric name on a pipeline error.
absl::StatusOr<MetricIds> RegisterCgroupMetrics(pipeline::Pipeline& pipeline);

}  // namespace nodepulse::collectors::cgroup_internal

#endif  // NODEPULSE_COLLECTORS_CGROUP_CGROUP_METRICS_H_
