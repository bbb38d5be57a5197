// The kernel files the cgroup collector keeps open and reads per cycle, and
// the one table that says, for each, which metrics it feeds. Each file's
// cadence follows from that table:
//
//   fast - read every --interval: the file feeds at least one metric with
//          history (MetricSpec::history: CPU usage, CFS periods and
//          throttled periods, working set, RSS, I/O bytes, PSI "some"),
//          which the 1 s aggregates, the health API and the status page
//          read from the rings. Whatever else such a file feeds is read with
//          it, so it is fresh every cycle too.
//   slow - read every --slow-interval: the file feeds only metrics that
//          nothing reads but /metrics and remote_write (which re-send the
//          last value each cycle). A slow file is re-read when its value
//          would otherwise be older than --slow-interval by the time the
//          next cycle's snapshot replaces the current one, so a scrape never
//          sees an older value.
//   active - a fast file whose values move only while the cgroup is active
//          (FileInfo::follows_activity): read every --interval while its
//          CPU usage or memory usage (the files read before it in a cycle)
//          changed since the previous cycle, and with the slow files
//          otherwise. Idle containers (pause, sleeping sidecars) are most of
//          a node's, and these are the costly files (memory.stat). Their
//          values are re-exported unchanged while skipped: exact when the
//          cgroup did nothing, and never older than --slow-interval (LRU aging
//          under global reclaim can move inactive_file with neither signal
//          changing). cAdvisor's dynamic housekeeping backs off on idle
//          containers for the same reason, on all of their files.
//
// Two more properties of a file:
//   notify - the kernel raises IN_MODIFY on it when it changes
//          (cgroup_file_notify: memory.events, memory.swap.events). An
//          EventsWatch reads it the moment it changes, so an OOM kill is
//          captured before the runtime removes the cgroup, and the next
//          cycle exports it whatever its cadence.
//   kept - its values (OOM and limit events) stay exported for a grace
//          period after the cgroup is gone, so a kill that ends a container
//          is seen by the next scrape.
//
// Spec files (cpu.max, cpu.weight, memory.max, pids.max and their v1
// counterparts) are not in this table: they are opened, read and closed at
// rescans (see ReadSpec in cgroup_collector.cc), as limits change only when
// the kubelet resizes a pod.
#ifndef NODEPULSE_COLLECTORS_CGROUP_CGROUP_FILES_H_
#define NODEPULSE_COLLECTORS_CGROUP_CGROUP_FILES_H_

#include <cstdint>

#include "cgroup_metrics.h"

namespace nodepulse::collectors::cgroup_internal {

// In the order they are read within a cycle: usage before stat, so the
// working set (usage - inactive_file) can be computed from both.
enum FileKind : uint8_t {
  kFCpuacctUsage,
  kFCpuacctUsageUser,
  kFCpuacctUsageSys,
  kFCpuacctStat,
  kFCpuStatV1,
  kFCpuStatV2,
  kFMemUsageV1,
  kFMemCurrentV2,
  kFMemFailcntV1,
  kFMemStatV1,
  kFMemStatV2,
  kFOomControlV1,
  kFMemEventsV2,
  kFSwapCurrentV2,
  kFSwapEventsV2,
  kFMemPeakV2,
  kFBlkioBytesV1,
  kFBlkioOpsV1,
  kFIoStatV2,
  kFPidsCurrent,
  kFProcs,
  kFCpuPressure,
  kFMemPressure,
  kFIoPressure,
  kNumFileKinds,
};
static_assert(kNumFileKinds <= 32, "per-cgroup file sets are 32-bit masks");

enum class Cadence : uint8_t { kFast, kActive, kSlow };

struct FileInfo {
  const char* name;  // for logs (the blkio files have several candidates)
  MetricMask feeds;  // every metric a value of this file is written to
  bool notify;
  bool kept;
  // Its values change only while the cgroup's tasks run or its memory usage
  // changes: v1 cpu.stat (CFS periods accrue only while the group runs),
  // v1 blkio (no cgroup writeback on v1: I/O is issued by the tasks),
  // memory.stat (charges, faults, reclaim). PSI too, but for one case: a
  // task blocked on I/O stalls without running, and that stall time reaches
  // the (cumulative) total at the next read, when the task wakes or at the
  // slow cadence. Not v2 io.stat: writeback of a cgroup's dirty pages is
  // charged to it while it sleeps.
  bool follows_activity = false;
};

inline constexpr FileInfo kFiles[kNumFileKinds] = {
    {"cpuacct.usage", MaskOf({kCpuUsage}), false, false},
    {"cpuacct.usage_user", MaskOf({kCpuUser}), false, false},
    {"cpuacct.usage_sys", MaskOf({kCpuSystem}), false, false},
    {"cpuacct.stat", MaskOf({kCpuUser, kCpuSystem}), false, false},
    {"cpu.stat", MaskOf({kCfsPeriods, kCfsThrottledPeriods, kCfsThrottledSeconds}), false,
     false, true},
    {"cpu.stat",
     MaskOf({kCpuUsage, kCpuUser, kCpuSystem, kCfsPeriods, kCfsThrottledPeriods,
             kCfsThrottledSeconds, kCpuBursts, kCpuBurstSeconds}),
     false, false},
    {"memory.usage_in_bytes", MaskOf({kMemUsage, kWorkingSet}), false, false},
    {"memory.current", MaskOf({kMemUsage, kWorkingSet}), false, false},
    {"memory.failcnt", MaskOf({kFailcnt}), false, false},
    {"memory.stat", MaskOf({kRss, kCache, kSwap, kMappedFile, kWorkingSet}), false, false, true},
    {"memory.stat",
     MaskOf({kRss, kCache, kMappedFile, kWorkingSet, kPgfaultContainer, kPgfaultHierarchy,
             kPgmajfaultContainer, kPgmajfaultHierarchy, kRefaultsAnon, kRefaultsFile,
             kActivationsAnon, kActivationsFile, kRestoresAnon, kRestoresFile, kNodereclaims,
             kPagesScanned, kPagesReclaimed}),
     false, false, true},
    // v1 signals OOM through an eventfd, not inotify: read at its cadence.
    {"memory.oom_control", MaskOf({kOomEvents}), false, true},
    {"memory.events",
     MaskOf({kFailcnt, kOomEvents, kMemEventsLow, kMemEventsHigh, kMemEventsMax, kMemEventsOom,
             kMemEventsOomKill, kMemEventsOomGroupKill}),
     true, true},
    {"memory.swap.current", MaskOf({kSwap}), false, false},
    {"memory.swap.events", MaskOf({kSwapEventsHigh, kSwapEventsMax, kSwapEventsFail}), true,
     true},
    {"memory.peak", MaskOf({kMemMaxUsage}), false, false},
    {"blkio io_service_bytes", MaskOf({kFsReadsBytes, kFsWritesBytes, kBlkioDeviceUsage}),
     false, false, true},
    {"blkio io_serviced", MaskOf({kFsReads, kFsWrites}), false, false},
    {"io.stat", MaskOf({kFsReadsBytes, kFsWritesBytes, kFsReads, kFsWrites, kBlkioDeviceUsage}),
     false, false},
    {"pids.current", MaskOf({kThreads}), false, false},
    {"cgroup.procs", MaskOf({kProcesses}), false, false},
    {"cpu.pressure", MaskOf({kPsiCpuWaiting, kPsiCpuStalled}), false, false, true},
    {"memory.pressure", MaskOf({kPsiMemWaiting, kPsiMemStalled}), false, false, true},
    {"io.pressure", MaskOf({kPsiIoWaiting, kPsiIoStalled}), false, false, true},
};

// The activity signals are read before every file that follows them.
static_assert(kFCpuacctUsage < kFCpuStatV1 && kFCpuacctUsage < kFBlkioBytesV1 &&
              kFMemUsageV1 < kFMemStatV1 && kFCpuStatV2 < kFMemStatV2 &&
              kFMemCurrentV2 < kFMemStatV2 && kFMemCurrentV2 < kFCpuPressure &&
              kFMemUsageV1 < kFCpuPressure);

// From kFiles and the metrics' history flags (computed once).
Cadence CadenceOf(FileKind kind);

// The metrics a kept file feeds: exported after their cgroup is gone.
MetricMask KeptMetrics();

}  // namespace nodepulse::collectors::cgroup_internal

#endif  // NODEPULSE_COLLECTORS_CGROUP_CGROUP_FILES_H_
