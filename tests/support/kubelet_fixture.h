// The cgroup fixture tree the kubelet join tests share (unit and end to
// end): the v1-cgroupfs-debian12 capture with its guaranteed pod and a container renamed
// after a pod and container of the captured kubelet responses
// (pods.nri-k8s-1.35.json), so the agent's join has something to join.
#ifndef NODEPULSE_TESTS_SUPPORT_KUBELET_FIXTURE_H_
#define NODEPULSE_TESTS_SUPPORT_KUBELET_FIXTURE_H_

#include <filesystem>
#include <string>

namespace nodepulse::testing {

// e2e-hpa-6cd8d99884-tggnr / php-apache in pods.nri-k8s-1.35.json.
inline constexpr char kPodUid[] = "3ea3ef66-5f89-43b7-b88b-6ee26f5b18a4";
inline constexpr char kContainerId[] = "77bb57d9a0006a5ac95a6fa541b2f2a646943143fe1d906aaf70a392d9a62b83";
inline constexpr char kPodName[] = "e2e-hpa-6cd8d99884-tggnr";

// The guaranteed pod in the v1-cgroupfs-debian12 tree.
inline constexpr char kFixturePod[] = "pod6f1c2a9e-0b4d-4e1f-9a57-3c2d1e0f9a01";

// Copies the tree to <dir>/sys and <dir>/proc and renames, in every
// controller hierarchy, kFixturePod after kPodUid and its container cgroup
// `fixture_container` after kContainerId, as the kubelet's cgroupfs driver
// would have named them (kubepods/pod<uid>/<container id>).
inline void CopyKubeletFixtureTree(const std::string& dir, const std::string& fixture_container) {
  namespace fs = std::filesystem;
  const fs::path src = std::string(NODEPULSE_FIXTURES) + "/cgroup/v1-cgroupfs-debian12";
  fs::copy(src / "sys", fs::path(dir) / "sys", fs::copy_options::recursive);
  fs::copy(src / "proc", fs::path(dir) / "proc", fs::copy_options::recursive);
  for (const auto& ctl : fs::directory_iterator(fs::path(dir) / "sys/fs/cgroup")) {
    fs::path pod = ctl.path() / "kubepods" / kFixturePod;
    if (!fs::exists(pod)) continue;
    if (fs::exists(pod / fixture_container)) fs::rename(pod / fixture_container, pod / kContainerId);
    fs::rename(pod, ctl.path() / "kubepods" / (std::string("pod") + kPodUid));
  }
}

}  // namespace nodepulse::testing

#endif  // NODEPULSE_TESTS_SUPPORT_KUBELET_FIXTURE_H_
