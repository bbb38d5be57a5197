#include "cgroup_identity.h"

#include <fstream>
#include <iterator>
#include <sstream>
#include <string>

#include "cgroup_layout.h"
#include "gtest/gtest.h"

namespace nodepulse::collectors::cgroup_internal {
namespace {

TEST(IdentifyCgroup, SystemdBurstableContainerd) {
  CgroupIdentity id = IdentifyCgroup(
      "/kubepods.slice/kubepods-burstable.slice/"
      "kubepods-burstable-pod7a96c459_d529_44ae_9f99_90d3798d6426.slice/"
      "cri-containerd-1d3d308a7d48a27814a68bf33a44acf4441c9c02463ca0bc1cdfdc8c0b4a8496.scope");
  EXPECT_EQ(id.pod_uid, "7a96c459-d529-44ae-9f99-90d3798d6426");
  EXPECT_EQ(id.container_id,
            "1d3d308a7d48a27814a68bf33a44acf4441c9c02463ca0bc1cdfdc8c0b4a8496");
  EXPECT_FALSE(id.pod_level);
}

TEST(IdentifyCgroup, SystemdGuaranteedPodAndCrio) {
  CgroupIdentity pod =
      IdentifyCgroup("/kubepods.slice/kubepods-pod7c1e3a5b_9d2f_4b6a_8c0e_1f3a5c7e9b20.slice");
  EXPECT_EQ(pod.pod_uid, "7c1e3a5b-9d2f-4b6a-8c0e-1f3a5c7e9b20");
  EXPECT_TRUE(pod.pod_level);
  EXPECT_EQ(pod.container_id, "");
  CgroupIdentity crio = IdentifyCgroup(
      "/kubepods.slice/kubepods-besteffort.slice/"
      "kubepods-besteffort-pod5e7a9c1b_3d5f_4a7c_9e1b_2c4e6a8c0d30.slice/crio-abc123.scope");
  EXPECT_EQ(crio.pod_uid, "5e7a9c1b-3d5f-4a7c-9e1b-2c4e6a8c0d30");
  EXPECT_EQ(crio.container_id, "abc123");
  CgroupIdentity docker = IdentifyCgroup(
      "/kubepods.slice/kubepods-podaa_bb.slice/docker-ff00.scope");
  EXPECT_EQ(docker.container_id, "ff00");
  CgroupIdentity conmon = IdentifyCgroup(
      "/kubepods.slice/kubepods-podaa_bb.slice/crio-conmon-ff00.scope");
  EXPECT_EQ(conmon.pod_uid, "aa-bb");
  EXPECT_EQ(conmon.container_id, "");
  EXPECT_FALSE(conmon.pod_level);
}

TEST(IdentifyCgroup, CgroupfsDriver) {
  CgroupIdentity c = IdentifyCgroup(
      "/kubepods/burstable/pod8a3e5b7c-1d2f-4a6b-8c9d-0e1f2a3b4c02/"
      "7e6d5c4b3a291807f6e5d4c3b2a1908f7e6d5c4b3a291807f6e5d4c3b2a19004");
  EXPECT_EQ(c.pod_uid, "8a3e5b7c-1d2f-4a6b-8c9d-0e1f2a3b4c02");
  EXPECT_EQ(c.container_id, "7e6d5c4b3a291807f6e5d4c3b2a1908f7e6d5c4b3a291807f6e5d4c3b2a19004");
  CgroupIdentity g = IdentifyCgroup("/kubepods/pod6f1c2a9e-0b4d-4e1f-9a57-3c2d1e0f9a01");
  EXPECT_EQ(g.pod_uid, "6f1c2a9e-0b4d-4e1f-9a57-3c2d1e0f9a01");
  EXPECT_TRUE(g.pod_level);
  // Static pods: md5 UID without dashes.
  CgroupIdentity s = IdentifyCgroup("/kubepods/burstable/podeaf7d48161d81d9c3359e1c008571fd6");
  EXPECT_EQ(s.pod_uid, "eaf7d48161d81d9c3359e1c008571fd6");
}

TEST(IdentifyCgroup, NonPodCgroups) {
  for (const char* path : {"/", "/kubepods", "/kubepods/burstable", "/kubepods.slice",
                           "/kubepods.slice/kubepods-burstable.slice", "/system.slice",
                           "/docker/b29faf21", "/podfake/x", "/user.slice/pod1.slice"}) {
    CgroupIdentity id = IdentifyCgroup(path);
    EXPECT_EQ(id.id, path);
    EXPECT_EQ(id.pod_uid, "") << path;
    EXPECT_EQ(id.container_id, "") << path;
    EXPECT_FALSE(id.pod_level) << path;
  }
}

// Every row of the naming table under every pod placement of its driver:
// the parser takes back the UID and ID the table's own names were built from.
TEST(IdentifyCgroup, EveryNamingUnderEveryPlacement) {
  constexpr std::string_view kUid = "7a96c459-d529-44ae-9f99-90d3798d6426";
  constexpr std::string_view kId = "1d3d308a7d48a27814a68bf33a44acf4441c9c02463ca0bc1cdfdc8c0b4a8496";
  int checked = 0;
  for (const PodPlacement& p : kPodPlacements) {
    const std::string pod = PodCgroupPath(p, kUid);
    CgroupIdentity pod_id = IdentifyCgroup(pod);
    EXPECT_EQ(pod_id.pod_uid, kUid) << pod;
    EXPECT_TRUE(pod_id.pod_level) << pod;
    for (const ContainerNaming& n : kContainerNamings) {
      if (n.driver != p.driver) continue;
      const std::string path = pod + "/" + ContainerDirName(n, kId);
      const ContainerNaming* matched = nullptr;
      CgroupIdentity id = IdentifyCgroup(path, &matched);
      ASSERT_NE(matched, nullptr) << path;
      EXPECT_EQ(matched->role, n.role) << path;
      EXPECT_EQ(id.pod_uid, kUid) << path;
      EXPECT_FALSE(id.pod_level) << path;
      EXPECT_EQ(id.container_id, n.role == Role::kContainer ? kId : "") << path;
      // A cgroup below the container belongs to the pod, not to a container.
      CgroupIdentity child = IdentifyCgroup(path + "/init");
      EXPECT_EQ(child.pod_uid, kUid) << path;
      EXPECT_EQ(child.container_id, "") << path;
      ++checked;
    }
  }
  EXPECT_EQ(checked, 3 * static_cast<int>(std::size(kContainerNamings)));
}

// A name the table does not give a driver is no container: a systemd scope
// of an unknown runtime, or a bare ID in a systemd pod slice.
TEST(IdentifyCgroup, NamesOfTheOtherDriverAreNotContainers) {
  for (const char* path : {"/kubepods.slice/kubepods-podaa_bb.slice/other-ff00.scope",
                           "/kubepods.slice/kubepods-podaa_bb.slice/ff00",
                           "/kubepods.slice/kubepods-podaa_bb.slice/cri-containerd-.scope"}) {
    CgroupIdentity id = IdentifyCgroup(path);
    EXPECT_EQ(id.pod_uid, "aa-bb") << path;
    EXPECT_EQ(id.container_id, "") << path;
  }
}

// README's matrix is rendered from the table; paste the expected text into
// README.md when the table changes.
TEST(NamingMatrix, ReadmeMatchesTheTable) {
  std::ifstream in(std::string(NODEPULSE_SOURCE_DIR) + "/README.md");
  ASSERT_TRUE(in.good());
  std::stringstream readme;
  readme << in.rdbuf();
  const std::string matrix = NamingMatrixMarkdown();
  EXPECT_NE(readme.str().find(matrix), std::string::npos) << "README.md must contain:\n" << matrix;
}

TEST(MapMountPoint, HostAndRewrittenPaths) {
  EXPECT_EQ(MapMountPoint("/sys/fs/cgroup/cpu", "/fx/sys/fs/cgroup"), "/fx/sys/fs/cgroup/cpu");
  EXPECT_EQ(MapMountPoint("/sys/fs/cgroup", "/sys/fs/cgroup"), "/sys/fs/cgroup");
  EXPECT_EQ(MapMountPoint("testdata/amzn2/sys/fs/cgroup/cpu,cpuacct", "/r/sys/fs/cgroup/"),
            "/r/sys/fs/cgroup/cpu,cpuacct");
  EXPECT_EQ(MapMountPoint("/host/sys/fs/cgroupx", "/r"), std::nullopt);
  EXPECT_EQ(MapMountPoint("/cgroup/cpu", "/r"), std::nullopt);
}

}  // namespace
}  // namespace nodepulse::collectors::cgroup_internal
