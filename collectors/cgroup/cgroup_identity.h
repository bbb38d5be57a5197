// What a cgroup's path says about it: pod UID and container ID for the
// kubelet's systemd and cgroupfs drivers. Pure string work, no filesystem.
#ifndef NODEPULSE_COLLECTORS_CGROUP_CGROUP_IDENTITY_H_
#define NODEPULSE_COLLECTORS_CGROUP_CGROUP_IDENTITY_H_

#include <string_view>

#include "cgroup_naming.h"
#include "nodepulse/collectors/cgroup.h"

namespace nodepulse::collectors::cgroup_internal {

// `id` is the cgroup path relative to the hierarchy root ("/kubepods/...").
// A pod cgroup is one of kPodPlacements; the cgroup one level below it is
// named by one of kContainerNamings of the same driver, which gives the
// container ID without the runtime's prefix and suffix. systemd escapes the
// UID's dashes as underscores; they are restored. Static pods' UIDs are md5
// hex without dashes and pass through unchanged.
//
// `naming`, if given, is set to the row a cgroup directly below a pod
// matched (nullptr otherwise); a kMonitor row leaves container_id "".
CgroupIdentity IdentifyCgroup(std::string_view id, const ContainerNaming** naming = nullptr);

}  // namespace nodepulse::collectors::cgroup_internal

#endif  // NODEPULSE_COLLECTORS_CGROUP_CGROUP_IDENTITY_H_
