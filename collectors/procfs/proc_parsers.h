// Parsers for the node-level /proc files: stat, meminfo, loadavg,
// pressure/{cpu,memory,io}, diskstats and net/dev.
//
// Parsing is kept apart from reading (proc_file.h) so every parser can be
// tested with inline strings. Each parser takes the whole file as a
// string_view and fills a caller-owned result whose vectors are cleared but
// keep their capacity, so after the first cycle parsing allocates nothing.
// Names in the results (cpu, device, meminfo key) are views into the input
// text and are valid only as long as it is.
//
// Every parser returns the number of malformed lines it skipped (the caller
// adds it to CollectStats::parse_errors); one bad line never hides the rest of
// the file, and no input can make a parser crash or throw.
//
// Thread-safety: stateless free functions.
#ifndef NODEPULSE_COLLECTORS_PROCFS_PROC_PARSERS_H_
#define NODEPULSE_COLLECTORS_PROCFS_PROC_PARSERS_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nodepulse::collectors::procfs {

// ---- /proc/stat ----

// Columns of a "cpuN" line, in the order the kernel prints them (USER_HZ
// ticks). Kernels before 2.6.11 print fewer; newer ones may print more.
enum CpuColumn {
  kCpuUser, kCpuNice, kCpuSystem, kCpuIdle, kCpuIowait, kCpuIrq, kCpuSoftirq,
  kCpuSteal, kCpuGuest, kCpuGuestNice, kCpuColumns
};

struct CpuLine {
  std::string_view name;  // "cpu3"
  std::string_view id;    // "3" (node_exporter's cpu label)
  uint64_t ticks[kCpuColumns] = {};
  int columns = 0;        // columns present, at most kCpuColumns
};

struct StatData {
  std::optional<CpuLine> total;  // the aggregate "cpu" line
  std::vector<CpuLine> cpus;     // "cpuN" lines in file order
  std::optional<uint64_t> intr;  // first field of "intr": the total
  std::optional<uint64_t> ctxt;
  std::optional<uint64_t> btime;
  std::optional<uint64_t> processes;
  std::optional<uint64_t> procs_running;
  std::optional<uint64_t> procs_blocked;
};
size_t ParseStat(std::string_view text, StatData* out);

// ---- /proc/meminfo ----

struct MeminfoField {
  std::string_view name;  // as printed, without the colon: "Active(anon)"
  uint64_t value = 0;    // as printed
  bool kb = false;       // value carried a "kB" unit (means KiB)
};
size_t ParseMeminfo(std::string_view text, std::vector<MeminfoField>* out);

// node_exporter's name for a meminfo key: "(x)" becomes "_x" and keys with a
// unit get "_bytes": MemTotal -> node_memory_MemTotal_bytes,
// Active(anon) -> node_memory_Active_anon_bytes, HugePages_Total ->
// node_memory_HugePages_Total. Anything else that is not legal in a
// Prometheus name becomes '_' so an odd vendor key cannot break exposition.
std::string MeminfoMetricName(std::string_view key, bool has_unit);

// ---- /proc/loadavg ----

struct LoadavgData {
  double load1 = 0, load5 = 0, load15 = 0;
  bool valid = false;
};
size_t ParseLoadavg(std::string_view text, LoadavgData* out);

// ---- /proc/pressure/{cpu,memory,io} ----

struct PsiLine {
  bool present = false;
  double avg10 = 0, avg60 = 0, avg300 = 0;  // percent of wall time, 0..100
  uint64_t total_us = 0;                    // cumulative stall, microseconds
};
struct PressureData {
  PsiLine some;
  PsiLine full;  // /proc/pressure/cpu has it only from kernel 5.13 on
};
size_t ParsePressure(std::string_view text, PressureData* out);

// ---- /proc/diskstats ----

// Stat columns after "major minor name" (Documentation/admin-guide/
// iostats.rst). Kernels print 11 (< 4.18), 15 (+discards, 4.18) or 17
// (+flush, 5.5) of them, i.e. lines of 14, 18 or 20 fields.
enum DiskColumn {
  kDiskReads, kDiskReadsMerged, kDiskSectorsRead, kDiskReadMs,
  kDiskWrites, kDiskWritesMerged, kDiskSectorsWritten, kDiskWriteMs,
  kDiskIoNow, kDiskIoMs, kDiskIoWeightedMs,
  kDiskDiscards, kDiskDiscardsMerged, kDiskSectorsDiscarded, kDiskDiscardMs,
  kDiskFlushes, kDiskFlushMs,
  kDiskColumns
};

struct DiskLine {
  std::string_view name;
  uint32_t major = 0, minor = 0;
  uint64_t stats[kDiskColumns] = {};
  int columns = 0;  // 11, 15 or 17 (extra columns of future kernels ignored)
};
size_t ParseDiskstats(std::string_view text, std::vector<DiskLine>* out);

// node_exporter's default --collector.diskstats.device-exclude,
// ^(z?ram|loop|fd|(h|s|v|xv)d[a-z]|nvme\d+n\d+p)\d+$, without a regex engine:
// RAM and loop devices, floppies and partitions of sd/hd/vd/xvd/nvme disks.
bool DefaultDiskExcluded(std::string_view device);

// ---- /proc/net/dev ----

enum NetColumn {
  kRxBytes, kRxPackets, kRxErrs, kRxDrop, kRxFifo, kRxFrame, kRxCompressed, kRxMulticast,
  kTxBytes, kTxPackets, kTxErrs, kTxDrop, kTxFifo, kTxColls, kTxCarrier, kTxCompressed,
  kNetColumns
};

struct NetDevLine {
  std::string_view name;
  uint64_t stats[kNetColumns] = {};
};
size_t ParseNetDev(std::string_view text, std::vector<NetDevLine>* out);

}  // namespace nodepulse::collectors::procfs

#endif  // NODEPULSE_COLLECTORS_PROCFS_PROC_PARSERS_H_
