#include "cgroup_discovery.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "cgroup_file.h"

namespace nodepulse::collectors::cgroup_internal {

namespace {

struct Walker {
  const absl::flat_hash_set<std::string>* skip;  // other hierarchies' roots
  absl::flat_hash_set<std::string>* out;

  // `rel` is "" for the hierarchy root, else "/a/b".
  void Walk(const std::string& root, const std::string& rel, int depth_left) {
    out->insert(rel.empty() ? "/" : rel);
    if (depth_left <= 0) return;
    std::string dir = root + rel;
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return;  // removed while walking: simply not found
    // A directory's link count is 2 + its subdirectories on cgroupfs
    // (kernfs), tmpfs and ext4, so 2 means a leaf: skip listing its 20-60
    // control files. Container cgroups are nearly all leaves, and listing
    // them in every hierarchy was most of a rescan's cost (perf, bench/e2e
    // N=1000). Filesystems that report 1 for directories (btrfs) are listed.
    struct stat st;
    if (::fstat(fd, &st) == 0 && st.st_nlink == 2) {
      ::close(fd);
      return;
    }
    DIR* d = ::fdopendir(fd);
    if (d == nullptr) {
      ::close(fd);
      return;
    }
    std::vector<std::string> children;
    while (dirent* e = ::readdir(d)) {
      std::string name = e->d_name;
      if (name == "." || name == "..") continue;
      bool is_dir = e->d_type == DT_DIR;
      if (e->d_type == DT_UNKNOWN) is_dir = IsDirectory(absl::StrCat(dir, "/", name));
      if (!is_dir) continue;
      std::string child = absl::StrCat(rel, "/", name);
      if (skip->contains(root + child)) continue;
      children.push_back(std::move(child));
    }
    ::closedir(d);
    for (const std::string& child : children) Walk(root, child, depth_left - 1);
  }
};

}  // namespace

Discovery DiscoverCgroups(const Layout& layout, int max_depth) {
  absl::flat_hash_set<std::string> skip(layout.roots.begin(), layout.roots.end());
  absl::flat_hash_set<std::string> found;
  Walker walker{&skip, &found};
  Discovery result;
  for (const std::string& root : layout.roots) {
    for (const char* top : {"/kubepods", "/kubepods.slice"}) {
      if (IsDirectory(root + top)) result.kubepods = true;
    }
  }
  for (const std::string& root : layout.roots) {
    if (result.kubepods) {
      found.insert("/");
      for (const char* top : {"/kubepods", "/kubepods.slice"}) {
        if (IsDirectory(root + top)) walker.Walk(root, top, kKubepodsDepth);
      }
    } else {
      walker.Walk(root, "", max_depth);
    }
  }
  result.ids.assign(found.begin(), found.end());
  std::sort(result.ids.begin(), result.ids.end());
  return result;
}

}  // namespace nodepulse::collectors::cgroup_internal
