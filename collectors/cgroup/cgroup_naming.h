// How each container runtime names cgroups under the kubelet's pod cgroups,
// per cgroup driver: the one table the identity parser matches, its tests
// iterate, the e2e tests build trees from and the README's matrix is
// rendered from (NamingMatrixMarkdown; a test keeps README in step).
//
// Constant data and pure functions; safe from any thread.
#ifndef NODEPULSE_COLLECTORS_CGROUP_CGROUP_NAMING_H_
#define NODEPULSE_COLLECTORS_CGROUP_CGROUP_NAMING_H_

#include <span>
#include <string>
#include <string_view>

namespace nodepulse::collectors::cgroup_internal {

enum class Driver { kCgroupfs, kSystemd };

// kContainer: the container's (or pod sandbox's) own cgroup, which the
// kubelet's /pods names by ID. kMonitor: the runtime's per-container monitor
// process (conmon). Monitors are left out of collection: their CPU and
// memory are already inside the pod cgroup's hierarchical totals (exported
// with container=""), they are not a container any dashboard or workload
// can name, and on CRI-O there is one per container, so reading them would
// double the files read per pod for nothing new.
enum class Role { kContainer, kMonitor };

// What a row was proven against.
enum class Evidence {
  kRuntime,     // measured: the runtime made this name on the project's machines
  kDocumented,  // the runtime's source or documentation only (see `source`)
};

struct ContainerNaming {
  std::string_view runtime;  // as the README names it
  Driver driver;
  Role role;
  // Directory name = prefix + <id> + suffix; with has_id false, exactly prefix.
  std::string_view prefix;
  std::string_view suffix;
  bool has_id;
  // The kubelet's containerID scheme ("<scheme>://<id>"); "" when the
  // runtime is not a CRI runtime (podman) or for monitors.
  std::string_view kubelet_scheme;
  Evidence evidence;
  std::string_view source;  // where the naming is defined or was measured
};

// Order matters: the first row that matches wins, so monitors come before
// the container rows whose prefix is a prefix of theirs ("crio-conmon-" vs
// "crio-"), and the bare-ID cgroupfs rows, which match any name, come last.
inline constexpr ContainerNaming kContainerNamings[] = {
    {"CRI-O", Driver::kCgroupfs, Role::kMonitor, "crio-conmon-", "", true, "",
     Evidence::kDocumented, "cri-o internal/config/cgmgr/cgroupfs.go MoveConmonToCgroup"},
    {"CRI-O", Driver::kSystemd, Role::kMonitor, "crio-conmon-", ".scope", true, "",
     Evidence::kDocumented, "cri-o internal/config/cgmgr/systemd.go MoveConmonToCgroup"},
    {"podman", Driver::kCgroupfs, Role::kMonitor, "conmon", "", false, "", Evidence::kRuntime,
     "podman 4.3.1 + runc, cgroupfs, --cgroup-parent (tests/container)"},
    {"podman", Driver::kSystemd, Role::kMonitor, "libpod-conmon-", ".scope", true, "",
     Evidence::kDocumented, "podman libpod/runtime_ctr.go (conmon scope)"},
    {"containerd", Driver::kSystemd, Role::kContainer, "cri-containerd-", ".scope", true,
     "containerd", Evidence::kDocumented, "containerd CRI plugin with SystemdCgroup"},
    {"cri-dockerd", Driver::kSystemd, Role::kContainer, "docker-", ".scope", true, "docker",
     Evidence::kDocumented, "moby daemon, systemd cgroup driver"},
    {"CRI-O", Driver::kSystemd, Role::kContainer, "crio-", ".scope", true, "cri-o",
     Evidence::kDocumented, "cri-o internal/config/cgmgr/systemd.go ContainerCgroupPath"},
    {"CRI-O", Driver::kCgroupfs, Role::kContainer, "crio-", "", true, "cri-o",
     Evidence::kDocumented, "cri-o internal/config/cgmgr/cgroupfs.go ContainerCgroupPath"},
    {"podman", Driver::kSystemd, Role::kContainer, "libpod-", ".scope", true, "",
     Evidence::kDocumented, "podman libpod (systemd cgroup manager)"},
    {"podman", Driver::kCgroupfs, Role::kContainer, "libpod-", "", true, "", Evidence::kRuntime,
     "podman 4.3.1 + runc, cgroupfs, --cgroup-parent (tests/container)"},
    {"containerd", Driver::kCgroupfs, Role::kContainer, "", "", true, "containerd",
     Evidence::kRuntime, "containerd 1.6.20 + runc, ctr run --cgroup (tests/container)"},
    {"cri-dockerd", Driver::kCgroupfs, Role::kContainer, "", "", true, "docker",
     Evidence::kDocumented, "moby daemon, cgroupfs driver"},
};

// Where the kubelet puts a pod's cgroup, per driver and QoS class:
// guaranteed pods directly under the kubepods root, the others under their
// QoS cgroup. systemd escapes the UID's dashes as underscores in the name.
struct PodPlacement {
  Driver driver;
  std::string_view qos;     // "guaranteed", "burstable", "besteffort"
  std::string_view parent;  // relative to the hierarchy root
  std::string_view prefix;  // pod directory = prefix + <uid> + suffix
  std::string_view suffix;
};

inline constexpr PodPlacement kPodPlacements[] = {
    {Driver::kCgroupfs, "guaranteed", "/kubepods", "pod", ""},
    {Driver::kCgroupfs, "burstable", "/kubepods/burstable", "pod", ""},
    {Driver::kCgroupfs, "besteffort", "/kubepods/besteffort", "pod", ""},
    {Driver::kSystemd, "guaranteed", "/kubepods.slice", "kubepods-pod", ".slice"},
    {Driver::kSystemd, "burstable", "/kubepods.slice/kubepods-burstable.slice",
     "kubepods-burstable-pod", ".slice"},
    {Driver::kSystemd, "besteffort", "/kubepods.slice/kubepods-besteffort.slice",
     "kubepods-besteffort-pod", ".slice"},
};

// The row whose name pattern `component` (one path component below a pod
// cgroup of `driver`) matches, and the container ID it carries ("" for
// has_id false); nullptr when none does.
const ContainerNaming* MatchContainerName(Driver driver, std::string_view component,
                                          std::string_view* id);

// The monitor row of `container`'s runtime and driver; nullptr if it has none.
const ContainerNaming* MonitorOf(const ContainerNaming& container);

// The directory name `naming` gives the container `id`.
std::string ContainerDirName(const ContainerNaming& naming, std::string_view id);

// The pod cgroup's path relative to the hierarchy root for `uid` (with
// dashes; escaped here for systemd).
std::string PodCgroupPath(const PodPlacement& placement, std::string_view uid);

std::string_view DriverName(Driver driver);

// The README's runtime x driver x cgroup-version matrix, rendered from the
// tables above.
std::string NamingMatrixMarkdown();

}  // namespace nodepulse::collectors::cgroup_internal

#endif  // NODEPULSE_COLLECTORS_CGROUP_CGROUP_NAMING_H_
