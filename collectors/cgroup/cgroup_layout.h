// Where the cgroup hierarchies are: which directory holds each v1 controller
// we read and the cgroup2 (unified) mount, found from mountinfo or, when that
// file is missing (some fixture trees), by probing the cgroup root.
#ifndef NODEPULSE_COLLECTORS_CGROUP_CGROUP_LAYOUT_H_
#define NODEPULSE_COLLECTORS_CGROUP_CGROUP_LAYOUT_H_

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace nodepulse::collectors::cgroup_internal {

enum Controller { kCpu, kCpuacct, kMemory, kBlkio, kPids, kNumControllers };

struct Layout {
  enum class Mode { kV1, kV2, kHybrid };
  Mode mode = Mode::kV1;
  // Directory of each v1 controller's hierarchy under cgroup_root, "" if not
  // mounted. Co-mounted controllers (cpu,cpuacct) share a directory.
  std::array<std::string, kNumControllers> v1;
  // Directory of the cgroup2 mount: cgroup_root itself (pure v2) or
  // cgroup_root/unified (hybrid: PSI and cpu.stat only). "" if none.
  std::string v2;
  // Distinct hierarchy directories, walked by discovery.
  std::vector<std::string> roots;
};

// Maps a host mount point to a directory under cgroup_root: the part after
// "/sys/fs/cgroup" is appended to cgroup_root. Mount points that are not under
// a sys/fs/cgroup (a container's own cgroupns view elsewhere) give nullopt.
// The elastic fixtures rewrote mount points to relative "testdata/.../sys/fs/
// cgroup/cpu", so the last "sys/fs/cgroup" component sequence is used.
std::optional<std::string> MapMountPoint(std::string_view mount_point,
                                         std::string_view cgroup_root);

// Reads <proc_root>/self/mountinfo; falls back to probing cgroup_root when it
// is missing or names no existing hierarchy. NotFound (with both paths) when
// neither finds a hierarchy.
absl::StatusOr<Layout> DetectLayout(const std::string& cgroup_root,
                                    const std::string& proc_root);

const char* ModeName(Layout::Mode mode);

}  // namespace nodepulse::collectors::cgroup_internal

#endif  // NODEPULSE_COLLECTORS_CGROUP_CGROUP_LAYOUT_H_
