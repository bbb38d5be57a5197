// Discovery: which cgroups to watch. Walks every hierarchy of the layout and
// returns the union of the relative paths found ("/" for the root).
#ifndef NODEPULSE_COLLECTORS_CGROUP_CGROUP_DISCOVERY_H_
#define NODEPULSE_COLLECTORS_CGROUP_CGROUP_DISCOVERY_H_

#include <string>
#include <vector>

#include "cgroup_layout.h"
#include "cgroup_watch.h"

namespace nodepulse::collectors::cgroup_internal {

// The kubelet's pod tree is kubepods/<qos>/<pod>/<container>: three levels
// below the kubepods cgroup itself.
inline constexpr int kKubepodsDepth = 3;

struct Discovery {
  bool kubepods = false;         // a kubepods tree exists in some hierarchy
  std::vector<std::string> ids;  // sorted, unique
};

// With a kubepods (cgroupfs) or kubepods.slice (systemd) cgroup at the top of
// any hierarchy: "/" plus that subtree down to kKubepodsDepth, as the
// kubelet's cAdvisor reports. Otherwise every cgroup down to max_depth. Other
// hierarchies' mount directories met during a walk (v1 directories under a
// cgroup2 root) are skipped. With `watch`, every directory whose children
// are walked is added to it, so a later Changed() says whether to walk again.
Discovery DiscoverCgroups(const Layout& layout, int max_depth, DirWatch* watch = nullptr);

}  // namespace nodepulse::collectors::cgroup_internal

#endif  // NODEPULSE_COLLECTORS_CGROUP_CGROUP_DISCOVERY_H_
