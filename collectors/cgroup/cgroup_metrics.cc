#include "cgroup_metrics.h"

#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "nodepulse/pipeline/metric_names.h"

namespace nodepulse::collectors::cgroup_internal {

namespace {

using pipeline::MetricKind;
using pipeline::MetricSpec;

// history=true for what the health page and autoscaler read from the rings:
// CPU rate, throttled and total CFS periods, working set, RSS, I/O bytes and
// PSI "some" (waiting) totals. Only these get tiered history because memory
// is sized at start-up from capacity x tiers and each history series costs
// ~3.4 KB per container; everything else keeps just its latest value.
// Throttled seconds and PSI "full" (stalled) totals are exported but keep no
// history: nothing reads them from the rings.
// The v2 families with one slot per label value.
const MetricSpec kMemEvents{
    "container_memory_events_total",
    "Memory events of the cgroup and its descendants (cgroup v2 memory.events): low, high, "
    "max, oom, oom_kill, oom_group_kill.",
    MetricKind::kCounter, false};
const MetricSpec kSwapEvents{
    "container_memory_swap_events_total",
    "Swap events of the cgroup and its descendants (cgroup v2 memory.swap.events): high, max, "
    "fail.",
    MetricKind::kCounter, false};
const MetricSpec kFailures{"container_memory_failures_total",
                           "Cumulative count of memory allocation failures.",
                           MetricKind::kCounter, false};
const MetricSpec kRefaults{
    "container_memory_workingset_refaults_total",
    "Refaults of previously evicted pages of the cgroup (memory.stat workingset_refault_*).",
    MetricKind::kCounter, false};
const MetricSpec kActivations{
    "container_memory_workingset_activations_total",
    "Refaulted pages of the cgroup that were immediately activated (memory.stat "
    "workingset_activate_*).",
    MetricKind::kCounter, false};
const MetricSpec kRestores{
    "container_memory_workingset_restores_total",
    "Restored pages of the cgroup that had been part of its working set before eviction "
    "(memory.stat workingset_restore_*).",
    MetricKind::kCounter, false};

const std::vector<MetricSpec>& Specs() {
  static const std::vector<MetricSpec>* specs = new std::vector<MetricSpec>{
      {metric::kContainerCpuUsage, "Cumulative cpu time consumed in seconds.",
       MetricKind::kCounter, true},
      {"container_cpu_user_seconds_total", "Cumulative user cpu time consumed in seconds.",
       MetricKind::kCounter, false},
      {"container_cpu_system_seconds_total", "Cumulative system cpu time consumed in seconds.",
       MetricKind::kCounter, false},
      {metric::kContainerCpuCfsPeriods, "Number of elapsed enforcement period intervals.",
       MetricKind::kCounter, true},
      {metric::kContainerCpuCfsThrottledPeriods, "Number of throttled period intervals.",
       MetricKind::kCounter, true},
      {"container_cpu_cfs_throttled_seconds_total",
       "Total time duration the container has been throttled.", MetricKind::kCounter, false},
      {"container_memory_usage_bytes",
       "Current memory usage in bytes, including all memory regardless of when it was "
       "accessed",
       MetricKind::kGauge, false},
      {metric::kContainerMemoryWorkingSet, "Current working set in bytes.",
       MetricKind::kGauge, true},
      {metric::kContainerMemoryRss, "Size of RSS in bytes.", MetricKind::kGauge, true},
      {metric::kContainerMemoryCache, "Number of bytes of page cache memory.", MetricKind::kGauge,
       false},
      {metric::kContainerMemorySwap, "Container swap usage in bytes.", MetricKind::kGauge, false},
      {"container_memory_mapped_file", "Size of memory mapped files in bytes.",
       MetricKind::kGauge, false},
      {"container_memory_failcnt", "Number of memory usage hits limits", MetricKind::kCounter,
       false},
      {metric::kContainerOomEvents, "Count of out of memory events observed for the container",
       MetricKind::kCounter, false},
      {"container_threads", "Number of threads running inside the container",
       MetricKind::kGauge, false},
      {"container_processes", "Number of processes running inside the container.",
       MetricKind::kGauge, false},
      {metric::kContainerPressureCpuWaiting,
       "Total time duration tasks in the container have waited due to CPU congestion.",
       MetricKind::kCounter, true},
      {"container_pressure_cpu_stalled_seconds_total",
       "Total time duration no tasks in the container could make progress due to CPU "
       "congestion.",
       MetricKind::kCounter, false},
      {metric::kContainerPressureMemoryWaiting,
       "Total time duration tasks in the container have waited due to memory congestion.",
       MetricKind::kCounter, true},
      {"container_pressure_memory_stalled_seconds_total",
       "Total time duration no tasks in the container could make progress due to memory "
       "congestion.",
       MetricKind::kCounter, false},
      {metric::kContainerPressureIoWaiting,
       "Total time duration tasks in the container have waited due to IO congestion.",
       MetricKind::kCounter, true},
      {"container_pressure_io_stalled_seconds_total",
       "Total time duration no tasks in the container could make progress due to IO "
       "congestion.",
       MetricKind::kCounter, false},
      // v2 only. Slots of one family repeat its spec (RegisterMetric is
      // idempotent by name); ExtraLabelsOf() labels them.
      kMemEvents, kMemEvents, kMemEvents, kMemEvents, kMemEvents, kMemEvents,
      kSwapEvents, kSwapEvents, kSwapEvents,
      {"container_memory_max_usage_bytes", "Maximum memory usage recorded in bytes",
       MetricKind::kGauge, false},
      kFailures, kFailures, kFailures, kFailures,
      kRefaults, kRefaults, kActivations, kActivations, kRestores, kRestores,
      {"container_memory_workingset_nodereclaims_total",
       "Times a shadow node of the cgroup's evicted pages was reclaimed (memory.stat "
       "workingset_nodereclaim).",
       MetricKind::kCounter, false},
      {"container_memory_reclaim_scanned_pages_total",
       "Pages scanned by reclaim in the cgroup, kswapd and direct (memory.stat pgscan).",
       MetricKind::kCounter, false},
      {"container_memory_reclaim_reclaimed_pages_total",
       "Pages reclaimed from the cgroup, kswapd and direct (memory.stat pgsteal).",
       MetricKind::kCounter, false},
      {"container_cpu_cfs_bursts_total",
       "Number of periods in which the container used CPU beyond its quota from its burst "
       "allowance (cpu.stat nr_bursts).",
       MetricKind::kCounter, false},
      {"container_cpu_cfs_burst_seconds_total",
       "Total CPU time the container used beyond its quota from its burst allowance (cpu.stat "
       "burst_usec).",
       MetricKind::kCounter, false},
      {metric::kContainerSpecCpuQuota, "CPU quota of the container.", MetricKind::kGauge, false},
      {metric::kContainerSpecCpuPeriod, "CPU period of the container.", MetricKind::kGauge, false},
      {"container_spec_cpu_shares", "CPU share of the container.", MetricKind::kGauge, false},
      {metric::kContainerSpecMemoryLimit, "Memory limit for the container.",
       MetricKind::kGauge, false},
      {"container_threads_max",
       "Maximum number of threads allowed inside the container, infinity if value is zero",
       MetricKind::kGauge, false},
      {metric::kContainerFsReadsBytes, "Cumulative count of bytes read", MetricKind::kCounter,
       true},
      {metric::kContainerFsWritesBytes, "Cumulative count of bytes written",
       MetricKind::kCounter, true},
      {"container_fs_reads_total", "Cumulative count of reads completed", MetricKind::kCounter,
       false},
      {"container_fs_writes_total", "Cumulative count of writes completed",
       MetricKind::kCounter, false},
      {"container_blkio_device_usage_total", "Blkio Device bytes usage", MetricKind::kCounter,
       false},
  };
  return *specs;
}

}  // namespace

const pipeline::MetricSpec& MetricSpecOf(Metric m) { return Specs()[m]; }

pipeline::Labels ExtraLabelsOf(Metric m) {
  auto event = [](const char* e) { return pipeline::Labels{{"event", e}}; };
  auto failure = [](const char* type, const char* scope) {
    return pipeline::Labels{{"failure_type", type}, {"scope", scope}};
  };
  auto type = [](const char* t) { return pipeline::Labels{{"type", t}}; };
  switch (m) {
    case kCpuUsage: return {{"cpu", "total"}};
    case kMemEventsLow: return event("low");
    case kMemEventsHigh: return event("high");
    case kMemEventsMax: return event("max");
    case kMemEventsOom: return event("oom");
    case kMemEventsOomKill: return event("oom_kill");
    case kMemEventsOomGroupKill: return event("oom_group_kill");
    case kSwapEventsHigh: return event("high");
    case kSwapEventsMax: return event("max");
    case kSwapEventsFail: return event("fail");
    // v2 memory.stat is hierarchical only; cAdvisor exports it in both scopes.
    case kPgfaultContainer: return failure("pgfault", "container");
    case kPgfaultHierarchy: return failure("pgfault", "hierarchy");
    case kPgmajfaultContainer: return failure("pgmajfault", "container");
    case kPgmajfaultHierarchy: return failure("pgmajfault", "hierarchy");
    case kRefaultsAnon: case kActivationsAnon: case kRestoresAnon: return type("anon");
    case kRefaultsFile: case kActivationsFile: case kRestoresFile: return type("file");
    default: return {};
  }
}

absl::StatusOr<MetricIds> RegisterCgroupMetrics(pipeline::Pipeline& pipeline) {
  static_assert(kNumMetrics == 57, "update Specs() with the Metric enum");
  MetricIds ids{};
  for (int m = 0; m < kNumMetrics; ++m) {
    absl::StatusOr<pipeline::MetricId> id = pipeline.RegisterMetric(Specs()[m]);
    if (!id.ok()) {
      return absl::Status(id.status().code(), absl::StrCat("cgroup collector: registering ",
                                                           Specs()[m].name, ": ",
                                                           id.status().message()));
    }
    ids[m] = *id;
  }
  return ids;
}

}  // namespace nodepulse::collectors::cgroup_internal
