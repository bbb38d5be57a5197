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
// PSI "some" (waiting) totals (DESIGN.md "Tiers"). Throttled seconds and PSI
// "full" (stalled) totals are exported but keep no history: nothing reads
// them from the rings, and each history series costs ~3.4 KB per container.
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

absl::StatusOr<MetricIds> RegisterCgroupMetrics(pipeline::Pipeline& pipeline) {
  static_assert(kNumMetrics == 32, "update Specs() with the Metric enum");
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
