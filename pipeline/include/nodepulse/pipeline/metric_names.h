// Names of the series that one part of the agent writes and another reads.
//
// The collectors register these names (cgroup_metrics.cc, procfs's
// node_metrics.h, kubelet_collector.cc; the agent's self_metrics.cc its own)
// and the aggregates engine and the health reporter look them up by the
// same constant, so a
// rename is one edit and cannot leave a reader looking for a series that no
// longer exists. Names only read where they are written stay in the
// collector's own table. They live in pipeline/ because the catalog is where
// writers and readers meet: collectors and exporters both depend on the
// pipeline and on nothing of each other.
//
// Thread-safety: constants only.
#ifndef NODEPULSE_PIPELINE_METRIC_NAMES_H_
#define NODEPULSE_PIPELINE_METRIC_NAMES_H_

namespace nodepulse::metric {

// ---- cgroup collector: cAdvisor's names ----
inline constexpr char kContainerCpuUsage[] = "container_cpu_usage_seconds_total";
inline constexpr char kContainerCpuCfsPeriods[] = "container_cpu_cfs_periods_total";
inline constexpr char kContainerCpuCfsThrottledPeriods[] = "container_cpu_cfs_throttled_periods_total";
inline constexpr char kContainerMemoryWorkingSet[] = "container_memory_working_set_bytes";
inline constexpr char kContainerMemoryRss[] = "container_memory_rss";
inline constexpr char kContainerMemoryCache[] = "container_memory_cache";
inline constexpr char kContainerMemorySwap[] = "container_memory_swap";
inline constexpr char kContainerOomEvents[] = "container_oom_events_total";
inline constexpr char kContainerPressureCpuWaiting[] = "container_pressure_cpu_waiting_seconds_total";
inline constexpr char kContainerPressureMemoryWaiting[] = "container_pressure_memory_waiting_seconds_total";
inline constexpr char kContainerPressureIoWaiting[] = "container_pressure_io_waiting_seconds_total";
inline constexpr char kContainerSpecCpuQuota[] = "container_spec_cpu_quota";
inline constexpr char kContainerSpecCpuPeriod[] = "container_spec_cpu_period";
inline constexpr char kContainerSpecMemoryLimit[] = "container_spec_memory_limit_bytes";
inline constexpr char kContainerFsReadsBytes[] = "container_fs_reads_bytes_total";
inline constexpr char kContainerFsWritesBytes[] = "container_fs_writes_bytes_total";

// ---- kubelet collector ----
inline constexpr char kContainerNetworkReceiveBytes[] = "container_network_receive_bytes_total";
inline constexpr char kContainerNetworkTransmitBytes[] = "container_network_transmit_bytes_total";
inline constexpr char kKubePodContainerRestarts[] = "kube_pod_container_status_restarts_total";
inline constexpr char kPodOomKills[] = "nodepulse_pod_oom_kills_total";
inline constexpr char kWorkloadOomKills[] = "nodepulse_workload_oom_kills_total";

// ---- procfs collector: node_exporter's names ----
inline constexpr char kNodeCpuSeconds[] = "node_cpu_seconds_total";
inline constexpr char kNodeMemoryMemTotal[] = "node_memory_MemTotal_bytes";
inline constexpr char kNodeMemoryMemAvailable[] = "node_memory_MemAvailable_bytes";
inline constexpr char kNodeLoad1[] = "node_load1";
inline constexpr char kNodeLoad5[] = "node_load5";
inline constexpr char kNodeLoad15[] = "node_load15";
inline constexpr char kNodePressureCpuWaiting[] = "node_pressure_cpu_waiting_seconds_total";
inline constexpr char kNodePressureMemoryWaiting[] = "node_pressure_memory_waiting_seconds_total";
inline constexpr char kNodePressureIoWaiting[] = "node_pressure_io_waiting_seconds_total";
inline constexpr char kNodePressureAvgRatio[] = "nodepulse_node_pressure_avg_ratio";

// ---- the agent's self-metrics (agent/self_metrics.cc), read by the
// health reporter for its "agent" section ----
inline constexpr char kCycles[] = "nodepulse_cycles_total";
inline constexpr char kCycleOverruns[] = "nodepulse_cycle_overruns_total";
inline constexpr char kCycleDuration[] = "nodepulse_cycle_duration_seconds";
inline constexpr char kCollectorSuccess[] = "nodepulse_collector_success";
inline constexpr char kCollectorDuration[] = "nodepulse_collector_duration_seconds";
inline constexpr char kReadErrors[] = "nodepulse_read_errors_total";
inline constexpr char kParseErrors[] = "nodepulse_parse_errors_total";
inline constexpr char kSeries[] = "nodepulse_series";
inline constexpr char kSeriesDropped[] = "nodepulse_series_dropped_total";
inline constexpr char kEntities[] = "nodepulse_entities";
inline constexpr char kPipelineBytes[] = "nodepulse_pipeline_bytes";
inline constexpr char kProcessCpuSeconds[] = "process_cpu_seconds_total";
inline constexpr char kProcessResidentMemory[] = "process_resident_memory_bytes";

}  // namespace nodepulse::metric

#endif  // NODEPULSE_PIPELINE_METRIC_NAMES_H_
