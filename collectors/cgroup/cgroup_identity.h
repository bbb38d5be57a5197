// What a cgroup's path says about it: pod UID and container ID for the
// kubelet's systemd and cgroupfs drivers. Pure string work, no filesystem.
#ifndef NODEPULSE_COLLECTORS_CGROUP_CGROUP_IDENTITY_H_
#define NODEPULSE_COLLECTORS_CGROUP_CGROUP_IDENTITY_H_

#include <string_view>

#include "nodepulse/collectors/cgroup.h"

namespace nodepulse::collectors::cgroup_internal {

// `id` is the cgroup path relative to the hierarchy root ("/kubepods/...").
// Recognised layouts:
//   cgroupfs: /kubepods[/burstable|/besteffort]/pod<uid>[/<container-id>]
//   systemd:  /kubepods.slice[/kubepods-<qos>.slice]/kubepods[-<qos>]-pod<uid>.slice
//             [/<cri-containerd|crio|docker|libpod>-<id>.scope]
// systemd escapes the UID's dashes as underscores; they are restored. Static
// pods' UIDs are md5 hex without dashes and pass through unchanged.
CgroupIdentity IdentifyCgroup(std::string_view id);

}  // namespace nodepulse::collectors::cgroup_internal

#endif  // NODEPULSE_COLLECTORS_CGROUP_CGROUP_IDENTITY_H_
