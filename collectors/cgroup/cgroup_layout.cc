#include "cgroup_layout.h"

#include <dirent.h>

#include <algorithm>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "cgroup_file.h"
#include "cgroup_parsers.h"
#include "nodepulse/base/log.h"

namespace nodepulse::collectors::cgroup_internal {

namespace {

constexpr std::string_view kControllerNames[kNumControllers] = {"cpu", "cpuacct", "memory",
                                                                 "blkio", "pids"};

// Marks the controllers named in a comma-separated list ("rw,cpu,cpuacct" or
// a directory name "cpu,cpuacct") as living in `dir`; the first mount wins.
bool AssignControllers(std::string_view list, const std::string& dir, Layout* layout) {
  bool any = false;
  for (absl::string_view tok :
       absl::StrSplit(absl::string_view(list.data(), list.size()), ',')) {
    for (int c = 0; c < kNumControllers; ++c) {
      if (std::string_view(tok.data(), tok.size()) == kControllerNames[c] && layout->v1[c].empty()) {
        layout->v1[c] = dir;
        any = true;
      }
    }
  }
  return any;
}

void Finish(Layout* layout) {
  bool any_v1 = false;
  for (const std::string& d : layout->v1) {
    if (d.empty()) continue;
    any_v1 = true;
    if (std::find(layout->roots.begin(), layout->roots.end(), d) == layout->roots.end()) {
      layout->roots.push_back(d);
    }
  }
  if (!layout->v2.empty()) layout->roots.push_back(layout->v2);
  layout->mode = !any_v1 ? Layout::Mode::kV2
                 : layout->v2.empty() ? Layout::Mode::kV1
                                      : Layout::Mode::kHybrid;
}

Layout FromMountInfo(std::string_view text, const std::string& cgroup_root) {
  Layout layout;
  for (absl::string_view l : absl::StrSplit(absl::string_view(text.data(), text.size()),
                                            '\n', absl::SkipEmpty())) {
    std::string_view line(l.data(), l.size());
    MountInfo m;
    if (!ParseMountInfoLine(line, &m)) continue;
    bool v2 = m.fs_type == "cgroup2";
    if (!v2 && m.fs_type != "cgroup") continue;
    std::optional<std::string> dir = MapMountPoint(m.mount_point, cgroup_root);
    if (!dir || !IsDirectory(*dir)) {
      LogDebug("cgroup: skipping mount ", std::string(m.mount_point), " (not under ",
               cgroup_root, ")");
      continue;
    }
    if (v2) {
      // Several cgroup2 mounts can map to one directory (bind mounts, a
      // container's view); the first existing one is the hierarchy.
      if (layout.v2.empty()) layout.v2 = *dir;
    } else {
      AssignControllers(m.super_options, *dir, &layout);
    }
  }
  // A cgroup2 mount that is also the parent of the v1 directories (the
  // v1v2-docker fixture) is still a hierarchy of its own; discovery skips the
  // v1 directories when walking it.
  Finish(&layout);
  return layout;
}

bool HasV2Files(const std::string& dir) {
  return FileExists(dir + "/cgroup.controllers") || FileExists(dir + "/cpu.max") ||
         FileExists(dir + "/memory.current") || FileExists(dir + "/cpu.pressure");
}

Layout Probe(const std::string& cgroup_root) {
  Layout layout;
  if (DIR* d = ::opendir(cgroup_root.c_str())) {
    std::vector<std::string> names;
    while (dirent* e = ::readdir(d)) {
      std::string name = e->d_name;
      if (name == "." || name == "..") continue;
      names.push_back(std::move(name));
    }
    ::closedir(d);
    // Sorted so "cpu" wins over a "cpu,cpuacct" symlink pair deterministically.
    std::sort(names.begin(), names.end());
    for (const std::string& name : names) {
      std::string dir = absl::StrCat(cgroup_root, "/", name);
      if (IsDirectory(dir)) AssignControllers(name, dir, &layout);
    }
  }
  bool any_v1 = std::any_of(layout.v1.begin(), layout.v1.end(),
                            [](const std::string& s) { return !s.empty(); });
  if (FileExists(cgroup_root + "/cgroup.controllers")) {
    layout.v2 = cgroup_root;
  } else if (FileExists(cgroup_root + "/unified/cgroup.controllers")) {
    layout.v2 = cgroup_root + "/unified";
  } else if (!any_v1) {
    // Trees captured without the root's own files (the assembled v2 kubepods
    // fixture) still have v2 interface files one level down.
    for (const char* top : {"kubepods.slice", "kubepods"}) {
      if (HasV2Files(absl::StrCat(cgroup_root, "/", top))) layout.v2 = cgroup_root;
    }
  }
  Finish(&layout);
  return layout;
}

}  // namespace

std::optional<std::string> MapMountPoint(std::string_view mount_point,
                                         std::string_view cgroup_root) {
  constexpr std::string_view kHost = "sys/fs/cgroup";
  size_t at = std::string_view::npos;
  for (size_t pos = mount_point.find(kHost); pos != std::string_view::npos;
       pos = mount_point.find(kHost, pos + 1)) {
    bool starts = pos == 0 || mount_point[pos - 1] == '/';
    size_t end = pos + kHost.size();
    bool ends = end == mount_point.size() || mount_point[end] == '/';
    if (starts && ends) at = pos;
  }
  if (at == std::string_view::npos) return std::nullopt;
  std::string rest(mount_point.substr(at + kHost.size()));
  while (!cgroup_root.empty() && cgroup_root.back() == '/' && cgroup_root.size() > 1) {
    cgroup_root.remove_suffix(1);
  }
  return absl::StrCat(absl::string_view(cgroup_root.data(), cgroup_root.size()), rest);
}

absl::StatusOr<Layout> DetectLayout(const std::string& cgroup_root,
                                    const std::string& proc_root) {
  std::string mountinfo_path = proc_root + "/self/mountinfo";
  absl::StatusOr<std::string> mountinfo = ReadFileToString(mountinfo_path);
  Layout layout;
  if (mountinfo.ok()) {
    layout = FromMountInfo(*mountinfo, cgroup_root);
  } else {
    LogDebug("cgroup: ", mountinfo.status().message(), "; probing ", cgroup_root);
  }
  if (layout.roots.empty()) layout = Probe(cgroup_root);
  if (layout.roots.empty()) {
    return absl::NotFoundError(absl::StrCat("no cgroup hierarchy found under ", cgroup_root,
                                            " (mountinfo: ", mountinfo_path, ")"));
  }
  return layout;
}

const char* ModeName(Layout::Mode mode) {
  switch (mode) {
    case Layout::Mode::kV1:
      return "v1";
    case Layout::Mode::kV2:
      return "v2";
    case Layout::Mode::kHybrid:
      return "hybrid";
  }
  return "?";
}

}  // namespace nodepulse::collectors::cgroup_internal
