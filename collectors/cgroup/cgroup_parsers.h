// Parsers for cgroup v1/v2 and /proc files: hand-written, allocation-free,
// taking the file contents as a string_view so they are tested with inline
// strings and never touch the filesystem.
//
// Conventions: a parser returns false when the input is malformed (truncated
// mid-token, garbage, overflow); values it could parse before the problem are
// still reported. Kernel files end with '\n', but fixtures and some kernels'
// last lines do not, so a missing final newline is never an error.
#ifndef NODEPULSE_COLLECTORS_CGROUP_CGROUP_PARSERS_H_
#define NODEPULSE_COLLECTORS_CGROUP_CGROUP_PARSERS_H_

#include <cstdint>
#include <string_view>

#include "absl/functional/function_ref.h"
#include "absl/types/span.h"

namespace nodepulse::collectors::cgroup_internal {

// One unsigned decimal with optional surrounding whitespace ("123\n").
bool ParseU64(std::string_view text, uint64_t* out);
// Same, but the whole token may be "max" (v2 limits, v1 pids.max): sets
// *is_max and leaves *out at UINT64_MAX.
bool ParseU64OrMax(std::string_view text, uint64_t* out, bool* is_max);
// One signed decimal (v1 cpu.cfs_quota_us is -1 when unlimited).
bool ParseI64(std::string_view text, int64_t* out);

// "key value" lines (cpu.stat, memory.stat, memory.events, cpuacct.stat,
// memory.oom_control). For each keys[i] found, sets values[i] and bit i of
// *found (so at most 64 keys). Lines with other keys are skipped without
// looking at their value. Returns false if a wanted key's value is malformed
// or a line has no value.
bool ParseKeyedU64(std::string_view text, absl::Span<const std::string_view> keys,
                   uint64_t* values, uint64_t* found);

// v2 cpu.max: "<quota|max> <period>".
struct CpuMax {
  bool unlimited = false;
  uint64_t quota_us = 0;
  uint64_t period_us = 0;
};
bool ParseCpuMax(std::string_view text, CpuMax* out);

// PSI: "some avg10=.. avg60=.. avg300=.. total=<us>" and an optional "full"
// line (cgroup cpu.pressure has "full" only from kernel 5.13).
struct Pressure {
  bool has_some = false;
  bool has_full = false;
  uint64_t some_total_us = 0;
  uint64_t full_total_us = 0;
};
bool ParsePressure(std::string_view text, Pressure* out);

// v2 io.stat. Each device's line is "MAJ:MIN key=value ...". Quirk (seen on
// Ubuntu 5.x kernels, fixture v2-iostat-elastic): a device with no stats
// prints only "MAJ:MIN " and no newline, so several devices run together
// ("7:7 7:6 7:5 rbytes=...") and the file may end in bare devices. Parsing is
// therefore by token: a MAJ:MIN token starts a device and key=value tokens
// belong to the last one; devices without any of the four keys are not
// reported. Unknown keys (dbytes, cost.*) are ignored.
struct IoStatDevice {
  uint32_t major = 0;
  uint32_t minor = 0;
  uint64_t rbytes = 0;
  uint64_t wbytes = 0;
  uint64_t rios = 0;
  uint64_t wios = 0;
};
bool ParseIoStat(std::string_view text, absl::FunctionRef<void(const IoStatDevice&)> fn);

// v1 blkio.*io_service_bytes / io_serviced: "MAJ:MIN Op N" lines plus a
// device-less "Total N" at the end. Only Read and Write are reported (Sync,
// Async, Discard and Total are sums cAdvisor does not export per device).
struct BlkioDevice {
  uint32_t major = 0;
  uint32_t minor = 0;
  uint64_t read = 0;
  uint64_t write = 0;
};
// Consecutive lines of one device are merged into one callback.
bool ParseBlkio(std::string_view text, absl::FunctionRef<void(const BlkioDevice&)> fn);

// Number of non-empty lines (cgroup.procs -> process count).
uint64_t CountLines(std::string_view text);

// One /proc/<pid>/mountinfo line:
//   36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
// Views point into the line. Octal escapes (\040) are left as they are.
struct MountInfo {
  std::string_view root;
  std::string_view mount_point;
  std::string_view fs_type;
  std::string_view super_options;
};
bool ParseMountInfoLine(std::string_view line, MountInfo* out);

// One /proc/diskstats line: "   8       0 sda 123 ...".
bool ParseDiskstatsLine(std::string_view line, uint32_t* major, uint32_t* minor,
                        std::string_view* name);

}  // namespace nodepulse::collectors::cgroup_internal

#endif  // NODEPULSE_COLLECTORS_CGROUP_CGROUP_PARSERS_H_
