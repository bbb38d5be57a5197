// Node collector: reads <proc_root>/{stat, meminfo, loadavg,
// pressure/{cpu,memory,io}, diskstats, net/dev} once per cycle and writes
// node-level series (entity pipeline::kNodeEntity) under node_exporter's
// names, HELP texts and types - node_cpu_seconds_total{cpu,mode},
// node_memory_<Field>_bytes, node_load1, node_pressure_*_seconds_total,
// node_disk_*{device}, node_network_*{device} - so node_exporter dashboards
// work unchanged. PSI averages, which node_exporter does not export, appear as
// nodepulse_node_pressure_avg_ratio{resource,kind,window} (see the .cc).
//
// Files are opened once and re-read with pread(2) into buffers kept across
// cycles; parsers are hand-written over string_views and tested without /proc.
// After the first cycle a Collect() allocates nothing and hashes no string
// unless a CPU, disk, interface or meminfo field appears or disappears.
//
// A file missing at start-up (no /proc/pressure before Linux 4.20 or with
// psi=0) is "no data": logged once at info level, then skipped. A malformed
// line is counted in CollectStats::parse_errors and skipped.
//
// Ownership: NewProcfsCollector registers its metric families in `pipeline`,
// which must outlive the returned Collector; Collect() writes there. The
// Collector owns its file descriptors. Thread-safety: owned and called by the
// collection thread only.
#ifndef NODEPULSE_COLLECTORS_PROCFS_H_
#define NODEPULSE_COLLECTORS_PROCFS_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "nodepulse/collectors/collector.h"

namespace nodepulse::collectors {

struct ProcfsOptions {
  // The host's /proc; in a DaemonSet, where the host /proc is mounted
  // (--proc-root).
  std::string proc_root = "/proc";
  // Skip the devices node_exporter's default --collector.diskstats.device-
  // exclude skips: ram, zram, loop and floppy devices and partitions of
  // sd/hd/vd/xvd/nvme disks. false reports every line of diskstats.
  bool diskstats_default_exclude = true;
};

// Fails with NotFound when none of the files exists under proc_root (a wrong
// --proc-root should stop the agent at start-up, not produce an empty node),
// or with InvalidArgument if a metric family clashes with one registered
// earlier under another type.
absl::StatusOr<std::unique_ptr<Collector>> NewProcfsCollector(
    const ProcfsOptions& options, pipeline::Pipeline& pipeline);

}  // namespace nodepulse::collectors

#endif  // NODEPULSE_COLLECTORS_PROCFS_H_
