// /proc/self/mountinfo: the line parser, the mount-point mapping, and
// DetectLayout on a small real tree (sys/fs/cgroup with the v1 controller
// directories and a unified one) with the input as <proc>/self/mountinfo.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <string>

#include "cgroup_layout.h"
#include "cgroup_parsers.h"
#include "fuzz_util.h"

namespace cg = nodepulse::collectors::cgroup_internal;
using nodepulse::fuzz::AsView;
using nodepulse::fuzz::Within;

namespace {

std::string g_root;  // temp dir: <root>/sys/fs/cgroup/..., <root>/proc/self/mountinfo

void MakeTree() {
  const char* shm = ::access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
  std::string tmpl = std::string(shm) + "/nodepulse-fuzz-mountinfo-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) std::abort();
  g_root = tmpl;
  for (const char* d : {"/sys", "/sys/fs", "/sys/fs/cgroup", "/sys/fs/cgroup/cpu,cpuacct",
                        "/sys/fs/cgroup/memory", "/sys/fs/cgroup/blkio", "/sys/fs/cgroup/pids",
                        "/sys/fs/cgroup/unified", "/proc", "/proc/self"}) {
    ::mkdir((g_root + d).c_str(), 0755);
  }
  // Removed at exit; the tree is a few empty directories if that is skipped.
  std::atexit([] {
    std::string cmd = "rm -rf '" + g_root + "'";
    if (std::system(cmd.c_str()) != 0) {}
  });
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  MakeTree();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in = AsView(data, size);
  const std::string cgroup_root = g_root + "/sys/fs/cgroup";

  std::string_view rest = in;
  while (!rest.empty()) {
    size_t nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    rest.remove_prefix(nl == std::string_view::npos ? rest.size() : nl + 1);
    cg::MountInfo m;
    if (!cg::ParseMountInfoLine(line, &m)) continue;
    FUZZ_CHECK(Within(m.root, line) && Within(m.mount_point, line) && Within(m.fs_type, line) &&
               Within(m.super_options, line));
    FUZZ_CHECK(!m.mount_point.empty() && !m.fs_type.empty());
    std::optional<std::string> dir = cg::MapMountPoint(m.mount_point, cgroup_root);
    if (dir) FUZZ_CHECK(dir->rfind(cgroup_root, 0) == 0);
  }

  {
    std::ofstream out(g_root + "/proc/self/mountinfo", std::ios::binary | std::ios::trunc);
    out.write(in.data(), static_cast<std::streamsize>(in.size()));
  }
  absl::StatusOr<cg::Layout> layout = cg::DetectLayout(cgroup_root, g_root + "/proc");
  // The tree always has hierarchies, so probing finds them when mountinfo
  // names none.
  FUZZ_CHECK(layout.ok());
  for (const std::string& r : layout->roots) FUZZ_CHECK(r.rfind(cgroup_root, 0) == 0);
  FUZZ_CHECK(cg::ModeName(layout->mode) != nullptr);
  return 0;
}
