// The metric families the procfs collector writes: names, HELP texts and
// types copied from node_exporter (collector/{cpu_common,stat_linux,
// loadavg,pressure_linux,diskstats_common,diskstats_linux,netdev_common}.go)
// so node_exporter dashboards and alerts work on our output unchanged, plus
// the unit conversions node_exporter applies.
//
// Thread-safety: constant data.
#ifndef NODEPULSE_COLLECTORS_PROCFS_NODE_METRICS_H_
#define NODEPULSE_COLLECTORS_PROCFS_NODE_METRICS_H_

#include "nodepulse/pipeline/metric_names.h"
#include "nodepulse/pipeline/snapshot.h"
#include "proc_parsers.h"

namespace nodepulse::collectors::procfs {

struct ColumnSpec {
  const char* name;
  const char* help;
  pipeline::MetricKind kind;
  double scale;  // multiplies the kernel's value into the exported unit
  bool history;
};

inline constexpr auto kCounter = pipeline::MetricKind::kCounter;
inline constexpr auto kGauge = pipeline::MetricKind::kGauge;

// /proc/stat counts CPU time in USER_HZ ticks. USER_HZ is part of the
// userspace ABI and is 100 on every Linux architecture whatever CONFIG_HZ is
// (asm-generic/param.h); node_exporter hardcodes the same value.
inline constexpr double kUserHz = 100.0;

// node_cpu_seconds_total{mode}: the first 8 columns. guest and guest_nice are
// already included in user and nice (node_exporter exports them separately
// as node_cpu_guest_seconds_total, which we do not).
inline constexpr int kCpuModes = 8;
inline constexpr const char* kCpuModeNames[kCpuModes] = {
    "user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal"};

// diskstats counts sectors of 512 bytes whatever the device's real sector
// size (iostats.rst), and times in milliseconds.
inline constexpr double kSectorBytes = 512.0;
inline constexpr double kMs = 0.001;

inline constexpr ColumnSpec kDiskSpecs[kDiskColumns] = {
    {"node_disk_reads_completed_total", "The total number of reads completed successfully.",
     kCounter, 1, false},
    {"node_disk_reads_merged_total", "The total number of reads merged.", kCounter, 1, false},
    {"node_disk_read_bytes_total", "The total number of bytes read successfully.", kCounter,
     kSectorBytes, true},
    {"node_disk_read_time_seconds_total", "The total number of seconds spent by all reads.",
     kCounter, kMs, false},
    {"node_disk_writes_completed_total", "The total number of writes completed successfully.",
     kCounter, 1, false},
    {"node_disk_writes_merged_total", "The number of writes merged.", kCounter, 1, false},
    {"node_disk_written_bytes_total", "The total number of bytes written successfully.",
     kCounter, kSectorBytes, true},
    {"node_disk_write_time_seconds_total",
     "This is the total number of seconds spent by all writes.", kCounter, kMs, false},
    {"node_disk_io_now", "The number of I/Os currently in progress.", kGauge, 1, false},
    {"node_disk_io_time_seconds_total", "Total seconds spent doing I/Os.", kCounter, kMs, false},
    {"node_disk_io_time_weighted_seconds_total", "The weighted # of seconds spent doing I/Os.",
     kCounter, kMs, false},
    {"node_disk_discards_completed_total", "The total number of discards completed successfully.",
     kCounter, 1, false},
    {"node_disk_discards_merged_total", "The total number of discards merged.", kCounter, 1,
     false},
    // Sectors, not bytes: node_exporter's name and unit.
    {"node_disk_discarded_sectors_total", "The total number of sectors discarded successfully.",
     kCounter, 1, false},
    {"node_disk_discard_time_seconds_total",
     "This is the total number of seconds spent by all discards.", kCounter, kMs, false},
    {"node_disk_flush_requests_total", "The total number of flush requests completed successfully",
     kCounter, 1, false},
    {"node_disk_flush_requests_time_seconds_total",
     "This is the total number of seconds spent by all flush requests.", kCounter, kMs, false},
};

// node_exporter builds these from the /proc/net/dev header as
// "Network device statistic <key>." with key + "_total" as the name.
inline constexpr ColumnSpec kNetSpecs[kNetColumns] = {
    {"node_network_receive_bytes_total", "Network device statistic receive_bytes.", kCounter, 1,
     true},
    {"node_network_receive_packets_total", "Network device statistic receive_packets.", kCounter,
     1, false},
    {"node_network_receive_errs_total", "Network device statistic receive_errs.", kCounter, 1,
     false},
    {"node_network_receive_drop_total", "Network device statistic receive_drop.", kCounter, 1,
     false},
    {"node_network_receive_fifo_total", "Network device statistic receive_fifo.", kCounter, 1,
     false},
    {"node_network_receive_frame_total", "Network device statistic receive_frame.", kCounter, 1,
     false},
    {"node_network_receive_compressed_total", "Network device statistic receive_compressed.",
     kCounter, 1, false},
    {"node_network_receive_multicast_total", "Network device statistic receive_multicast.",
     kCounter, 1, false},
    {"node_network_transmit_bytes_total", "Network device statistic transmit_bytes.", kCounter, 1,
     true},
    {"node_network_transmit_packets_total", "Network device statistic transmit_packets.",
     kCounter, 1, false},
    {"node_network_transmit_errs_total", "Network device statistic transmit_errs.", kCounter, 1,
     false},
    {"node_network_transmit_drop_total", "Network device statistic transmit_drop.", kCounter, 1,
     false},
    {"node_network_transmit_fifo_total", "Network device statistic transmit_fifo.", kCounter, 1,
     false},
    {"node_network_transmit_colls_total", "Network device statistic transmit_colls.", kCounter, 1,
     false},
    {"node_network_transmit_carrier_total", "Network device statistic transmit_carrier.",
     kCounter, 1, false},
    {"node_network_transmit_compressed_total", "Network device statistic transmit_compressed.",
     kCounter, 1, false},
};

// /proc/pressure/<resource>: "some" is node_exporter's *_waiting_seconds_total
// and "full" its *_stalled_seconds_total; totals are microseconds.
inline constexpr int kPsiResources = 3;
inline constexpr const char* kPsiResourceNames[kPsiResources] = {"cpu", "memory", "io"};
inline constexpr ColumnSpec kPsiSomeSpecs[kPsiResources] = {
    {metric::kNodePressureCpuWaiting,
     "Total time in seconds that processes have waited for CPU time", kCounter, 1e-6, true},
    {metric::kNodePressureMemoryWaiting,
     "Total time in seconds that processes have waited for memory", kCounter, 1e-6, true},
    {metric::kNodePressureIoWaiting,
     "Total time in seconds that processes have waited due to IO congestion", kCounter, 1e-6,
     true},
};
inline constexpr ColumnSpec kPsiFullSpecs[kPsiResources] = {
    // The system-wide cpu "full" line exists from Linux 5.13 on (always zero
    // at node level, meaningful in cgroups); node_exporter added this name
    // later than the others, with the same wording pattern.
    {"node_pressure_cpu_stalled_seconds_total",
     "Total time in seconds no process could make progress due to CPU congestion", kCounter,
     1e-6, true},
    {"node_pressure_memory_stalled_seconds_total",
     "Total time in seconds no process could make progress due to memory congestion", kCounter,
     1e-6, true},
    {"node_pressure_io_stalled_seconds_total",
     "Total time in seconds no process could make progress due to IO congestion", kCounter, 1e-6,
     true},
};

// PSI averages. node_exporter drops them (rate() of the totals is the
// Prometheus way), but the SRE health page needs "pressure right now" without
// a TSDB, and the kernel's avg10/60/300 are exactly that. One family with
// labels rather than 18 names, so the page can select by resource/kind/window:
//   nodepulse_node_pressure_avg_ratio{resource="cpu|memory|io",
//                                     kind="some|full",window="10s|60s|300s"}
// nodepulse_ prefix because node_exporter has no such metric; _ratio because
// the value is the kernel's percentage / 100 (0..1), Prometheus' base unit.
// No history: the totals carry it (their rate is the exact stall share over
// any window), so ringing the kernel's smoothed copies would be redundant.
inline constexpr ColumnSpec kPsiAvgSpec = {
    metric::kNodePressureAvgRatio,
    "PSI stall average from /proc/pressure: share of wall time (0..1) in which some (kind=some) "
    "or all (kind=full) non-idle tasks were stalled on the resource, averaged by the kernel over "
    "the window.",
    kGauge, 0.01, false};
inline constexpr int kPsiWindows = 3;
inline constexpr const char* kPsiWindowNames[kPsiWindows] = {"10s", "60s", "300s"};
inline constexpr const char* kPsiKindNames[2] = {"some", "full"};

}  // namespace nodepulse::collectors::procfs

#endif  // NODEPULSE_COLLECTORS_PROCFS_NODE_METRICS_H_
