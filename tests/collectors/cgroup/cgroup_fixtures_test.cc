// Discovery and collection over every captured tree in shared/fixtures/cgroup.
// Expected numbers are the contents of the named fixture files.
#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "cgroup_file.h"
#include "cgroup_layout.h"
#include "cgroup_parsers.h"
#include "cgroup_test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nodepulse/collectors/cgroup.h"

namespace nodepulse::collectors {
namespace {

using ::testing::Contains;
using ::testing::IsEmpty;
using ::testing::Not;
using testing::FixtureOptions;
using testing::FixtureRoot;
using testing::Value;

class TreeRun {
 public:
  explicit TreeRun(std::string_view tree, int max_depth = 3) {
    CgroupOptions o = FixtureOptions(FixtureRoot(tree));
    o.max_depth = max_depth;
    auto c = NewCgroupCollector(o, pipeline_);
    EXPECT_TRUE(c.ok()) << c.status();
    if (!c.ok()) return;
    collector_ = *std::move(c);
    EXPECT_TRUE(testing::Cycle(pipeline_, *collector_, stats_).ok());
    snap_ = pipeline_.snapshot();
  }
  bool ok() const { return snap_ != nullptr; }
  const pipeline::Snapshot& snap() const { return *snap_; }
  const CollectStats& stats() const { return stats_; }
  CgroupCollector& collector() { return *collector_; }
  double V(std::string_view metric, std::string_view id, const pipeline::Labels& extra = {}) {
    return Value(*snap_, metric, id, extra);
  }
  std::vector<std::string> Ids() const { return testing::EntityIds(*snap_); }
  const CgroupIdentity* Identity(std::string_view id) {
    identities_ = collector_->Identities();
    for (const auto& [e, ident] : identities_) {
      if (ident.id == id) return &ident;
    }
    return nullptr;
  }

 private:
  pipeline::Pipeline pipeline_{pipeline::Options{}};
  std::unique_ptr<CgroupCollector> collector_;
  CollectStats stats_;
  std::shared_ptr<const pipeline::Snapshot> snap_;
  std::vector<std::pair<pipeline::EntityId, CgroupIdentity>> identities_;
};

// ---- v1-cgroupfs-debian12: separate cpu/cpuacct mounts, no mountinfo ----

constexpr char kDebGuaranteedPod[] = "/kubepods/pod6f1c2a9e-0b4d-4e1f-9a57-3c2d1e0f9a01";
constexpr char kDebBusy[] =
    "/kubepods/pod6f1c2a9e-0b4d-4e1f-9a57-3c2d1e0f9a01/"
    "9c1e3a5b7d9f1b3d5f7a9c1e3b5d7f9a1c3e5b7d9f1a3c5e7b9d1f3a5c7e9b02";
constexpr char kDebBurstableApp[] =
    "/kubepods/burstable/pod8a3e5b7c-1d2f-4a6b-8c9d-0e1f2a3b4c02/"
    "7e6d5c4b3a291807f6e5d4c3b2a1908f7e6d5c4b3a291807f6e5d4c3b2a19004";
constexpr char kDebBesteffortPod[] = "/kubepods/besteffort/pod2b4d6f80-3e5a-4c7e-9f1b-5d7e9a1c3e03";
constexpr char kDebBesteffortApp[] =
    "/kubepods/besteffort/pod2b4d6f80-3e5a-4c7e-9f1b-5d7e9a1c3e03/"
    "b3a2918f7e6d5c4b3a2918f7e6d5c4b3a2918f7e6d5c4b3a2918f7e6d5c4b306";

TEST(CgroupFixtureV1Cgroupfs, ProbesLayoutWithoutMountinfo) {
  std::string root = FixtureRoot("v1-cgroupfs-debian12");
  auto layout = cgroup_internal::DetectLayout(root + "/sys/fs/cgroup", root + "/proc");
  ASSERT_TRUE(layout.ok()) << layout.status();
  EXPECT_EQ(layout->mode, cgroup_internal::Layout::Mode::kV1);
  EXPECT_EQ(layout->v1[cgroup_internal::kCpu], root + "/sys/fs/cgroup/cpu");
  EXPECT_EQ(layout->v1[cgroup_internal::kCpuacct], root + "/sys/fs/cgroup/cpuacct");
  EXPECT_EQ(layout->v2, "");
}

TEST(CgroupFixtureV1Cgroupfs, DiscoversKubepodsTree) {
  TreeRun run("v1-cgroupfs-debian12");
  ASSERT_TRUE(run.ok());
  std::vector<std::string> ids = run.Ids();
  for (const char* id : {"/", "/kubepods", "/kubepods/burstable", "/kubepods/besteffort",
                         kDebGuaranteedPod, kDebBusy, kDebBurstableApp, kDebBesteffortPod,
                         kDebBesteffortApp}) {
    EXPECT_THAT(ids, Contains(id));
  }
  // 3 pods x 2 containers + 3 pods + besteffort/burstable + kubepods + root.
  EXPECT_EQ(ids.size(), 13u);
  EXPECT_EQ(run.stats().containers, 13u);
  EXPECT_EQ(run.stats().parse_errors, 0u);
  EXPECT_EQ(run.stats().read_errors, 0u);

  const CgroupIdentity* busy = run.Identity(kDebBusy);
  ASSERT_NE(busy, nullptr);
  EXPECT_EQ(busy->pod_uid, "6f1c2a9e-0b4d-4e1f-9a57-3c2d1e0f9a01");
  EXPECT_EQ(busy->container_id,
            "9c1e3a5b7d9f1b3d5f7a9c1e3b5d7f9a1c3e5b7d9f1a3c5e7b9d1f3a5c7e9b02");
  const CgroupIdentity* pod = run.Identity(kDebGuaranteedPod);
  ASSERT_NE(pod, nullptr);
  EXPECT_TRUE(pod->pod_level);
}

TEST(CgroupFixtureV1Cgroupfs, CpuFromSeparateCpuAndCpuacctMounts) {
  TreeRun run("v1-cgroupfs-debian12");
  ASSERT_TRUE(run.ok());
  // cpu/<busy>/cpu.stat: nr_periods 100, nr_throttled 90, throttled_time 2452333314 ns.
  EXPECT_EQ(run.V("container_cpu_cfs_periods_total", kDebBusy), 100);
  EXPECT_EQ(run.V("container_cpu_cfs_throttled_periods_total", kDebBusy), 90);
  EXPECT_DOUBLE_EQ(run.V("container_cpu_cfs_throttled_seconds_total", kDebBusy), 2.452333314);
  // Pod level: nr_throttled 83.
  EXPECT_EQ(run.V("container_cpu_cfs_throttled_periods_total", kDebGuaranteedPod), 83);
  // cpuacct/<busy>/cpuacct.usage 6090760613 ns, usage_user 6632000000, usage_sys 40000000.
  EXPECT_DOUBLE_EQ(
      run.V("container_cpu_usage_seconds_total", kDebBusy, {{"cpu", "total"}}), 6.090760613);
  EXPECT_DOUBLE_EQ(run.V("container_cpu_user_seconds_total", kDebBusy), 6.632);
  EXPECT_DOUBLE_EQ(run.V("container_cpu_system_seconds_total", kDebBusy), 0.04);
}

TEST(CgroupFixtureV1Cgroupfs, SpecValues) {
  TreeRun run("v1-cgroupfs-debian12");
  ASSERT_TRUE(run.ok());
  // Guaranteed pod: quota 50000 / period 100000, shares 512, limit 256 MiB, pids.max 1024.
  EXPECT_EQ(run.V("container_spec_cpu_quota", kDebGuaranteedPod), 50000);
  EXPECT_EQ(run.V("container_spec_cpu_period", kDebGuaranteedPod), 100000);
  EXPECT_EQ(run.V("container_spec_cpu_shares", kDebGuaranteedPod), 512);
  EXPECT_EQ(run.V("container_spec_memory_limit_bytes", kDebGuaranteedPod), 268435456);
  EXPECT_EQ(run.V("container_threads_max", kDebGuaranteedPod), 1024);
  // Burstable app: cfs_quota_us -1 -> no quota series; pids.max "max" -> 0.
  EXPECT_THAT(testing::Find(run.snap(), "container_spec_cpu_quota", kDebBurstableApp),
              IsEmpty());
  EXPECT_EQ(run.V("container_threads_max", kDebBurstableApp), 0);
  EXPECT_EQ(run.V("container_spec_memory_limit_bytes", kDebBurstableApp), 536870912);
  // besteffort: cpu.shares 2; memory.limit_in_bytes 9223372036854771712 = unlimited -> 0.
  EXPECT_EQ(run.V("container_spec_cpu_shares", "/kubepods/besteffort"), 2);
  EXPECT_EQ(run.V("container_spec_memory_limit_bytes", "/kubepods/besteffort"), 0);
}

TEST(CgroupFixtureV1Cgroupfs, MemoryOfBurstableApp) {
  TreeRun run("v1-cgroupfs-debian12");
  ASSERT_TRUE(run.ok());
  // memory.stat total_rss 59469824 (rss 59469824; inactive_anon is 59465728),
  // memory.usage_in_bytes 59691008, total_inactive_file 0, failcnt 0, oom_kill 0.
  EXPECT_EQ(run.V("container_memory_rss", kDebBurstableApp), 59469824);
  EXPECT_EQ(run.V("container_memory_usage_bytes", kDebBurstableApp), 59691008);
  EXPECT_EQ(run.V("container_memory_working_set_bytes", kDebBurstableApp), 59691008);
  EXPECT_EQ(run.V("container_memory_cache", kDebBurstableApp), 0);
  EXPECT_EQ(run.V("container_memory_swap", kDebBurstableApp), 0);
  EXPECT_EQ(run.V("container_memory_failcnt", kDebBurstableApp), 0);
  EXPECT_EQ(run.V("container_oom_events_total", kDebBurstableApp), 0);
  // pids: kubepods/pids.current 8.
  EXPECT_EQ(run.V("container_threads", "/kubepods"), 8);
}

TEST(CgroupFixtureV1Cgroupfs, BlkioPerDeviceWithDiskstatsName) {
  TreeRun run("v1-cgroupfs-debian12");
  ASSERT_TRUE(run.ok());
  // blkio.throttle.io_service_bytes_recursive: 254:0 Read 16777216, Write 16793600;
  // io_serviced_recursive: Read 32, Write 37; proc/diskstats: 254 0 vda.
  pipeline::Labels vda = {{"device", "/dev/vda"}};
  EXPECT_EQ(run.V("container_fs_reads_bytes_total", kDebBesteffortApp, vda), 16777216);
  EXPECT_EQ(run.V("container_fs_writes_bytes_total", kDebBesteffortApp, vda), 16793600);
  EXPECT_EQ(run.V("container_fs_reads_total", kDebBesteffortApp, vda), 32);
  EXPECT_EQ(run.V("container_fs_writes_total", kDebBesteffortApp, vda), 37);
  EXPECT_EQ(run.V("container_blkio_device_usage_total", kDebBesteffortApp,
                  {{"device", "/dev/vda"}, {"major", "254"}, {"minor", "0"},
                   {"operation", "Read"}}),
            16777216);
  EXPECT_EQ(run.V("container_blkio_device_usage_total", kDebBesteffortApp,
                  {{"operation", "Write"}}),
            16793600);
  // The pod's _recursive file includes the container's I/O.
  EXPECT_EQ(run.V("container_fs_reads_bytes_total", kDebBesteffortPod, vda), 16777216);
}

TEST(CgroupFixtureV1Cgroupfs, LabelsAreCadvisorsInOrder) {
  TreeRun run("v1-cgroupfs-debian12");
  ASSERT_TRUE(run.ok());
  auto s = testing::Find(run.snap(), "container_cpu_usage_seconds_total", kDebBusy);
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(run.snap().catalog->series[s[0]].rendered_labels(),
            std::string("container=\"\",cpu=\"total\",id=\"") + kDebBusy +
                "\",image=\"\",name=\"\",namespace=\"\",pod=\"\"");
}

// ---- v1-systemd-containerd-amzn2-elastic: co-mounted cpu,cpuacct ----

constexpr char kAmznPod[] =
    "/kubepods.slice/kubepods-burstable.slice/"
    "kubepods-burstable-pod7a96c459_d529_44ae_9f99_90d3798d6426.slice";
constexpr char kAmznCtr[] =
    "/kubepods.slice/kubepods-burstable.slice/"
    "kubepods-burstable-pod7a96c459_d529_44ae_9f99_90d3798d6426.slice/"
    "cri-containerd-1d3d308a7d48a27814a68bf33a44acf4441c9c02463ca0bc1cdfdc8c0b4a8496.scope";

TEST(CgroupFixtureV1Systemd, CoMountedCpuCpuacctFromMountinfo) {
  std::string root = FixtureRoot("v1-systemd-containerd-amzn2-elastic");
  auto layout = cgroup_internal::DetectLayout(root + "/sys/fs/cgroup", root + "/proc");
  ASSERT_TRUE(layout.ok()) << layout.status();
  EXPECT_EQ(layout->mode, cgroup_internal::Layout::Mode::kV1);
  EXPECT_EQ(layout->v1[cgroup_internal::kCpu], root + "/sys/fs/cgroup/cpu,cpuacct");
  EXPECT_EQ(layout->v1[cgroup_internal::kCpuacct], root + "/sys/fs/cgroup/cpu,cpuacct");
}

TEST(CgroupFixtureV1Systemd, ContainerValuesAndIdentity) {
  TreeRun run("v1-systemd-containerd-amzn2-elastic");
  ASSERT_TRUE(run.ok());
  EXPECT_THAT(run.Ids(), Contains(kAmznPod));
  EXPECT_THAT(run.Ids(), Contains("/kubepods.slice/kubepods-burstable.slice"));
  const CgroupIdentity* c = run.Identity(kAmznCtr);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->pod_uid, "7a96c459-d529-44ae-9f99-90d3798d6426");
  EXPECT_EQ(c->container_id,
            "1d3d308a7d48a27814a68bf33a44acf4441c9c02463ca0bc1cdfdc8c0b4a8496");
  // cpuacct.usage 124659500367000 ns; usage_user 122669369578486; usage_sys 1990158250587.
  EXPECT_DOUBLE_EQ(run.V("container_cpu_usage_seconds_total", kAmznCtr), 124659.500367);
  EXPECT_DOUBLE_EQ(run.V("container_cpu_user_seconds_total", kAmznCtr), 122669.369578486);
  EXPECT_DOUBLE_EQ(run.V("container_cpu_system_seconds_total", kAmznCtr), 1990.158250587);
  EXPECT_EQ(run.V("container_cpu_cfs_periods_total", kAmznCtr), 0);
  // cfs_quota_us -1: no quota; period 100000; shares 102.
  EXPECT_THAT(testing::Find(run.snap(), "container_spec_cpu_quota", kAmznCtr), IsEmpty());
  EXPECT_EQ(run.V("container_spec_cpu_period", kAmznCtr), 100000);
  EXPECT_EQ(run.V("container_spec_cpu_shares", kAmznCtr), 102);
  // memory.usage_in_bytes 1215860736, total_inactive_file 78557184, total_rss
  // 1119465472, total_cache 78397440, limit 2147483648.
  EXPECT_EQ(run.V("container_memory_usage_bytes", kAmznCtr), 1215860736);
  EXPECT_EQ(run.V("container_memory_working_set_bytes", kAmznCtr), 1215860736 - 78557184);
  EXPECT_EQ(run.V("container_memory_rss", kAmznCtr), 1119465472);
  EXPECT_EQ(run.V("container_memory_cache", kAmznCtr), 78397440);
  EXPECT_EQ(run.V("container_spec_memory_limit_bytes", kAmznCtr), 2147483648.0);
  // No proc/diskstats in this tree: device named MAJ:MIN. 259:0 Read 3448832, ops Read 59.
  EXPECT_EQ(run.V("container_fs_reads_bytes_total", kAmznCtr, {{"device", "259:0"}}), 3448832);
  EXPECT_EQ(run.V("container_fs_writes_bytes_total", kAmznCtr, {{"device", "259:0"}}),
            25203200);
  EXPECT_EQ(run.V("container_fs_reads_total", kAmznCtr, {{"device", "259:0"}}), 59);
  // pids.current 177; cgroup.procs has 12 lines.
  EXPECT_EQ(run.V("container_threads", kAmznCtr), 177);
  EXPECT_EQ(run.V("container_processes", kAmznCtr), 12);
  // Parent slices are empty directories: entities without CPU values.
  EXPECT_THAT(testing::Find(run.snap(), "container_cpu_usage_seconds_total", kAmznPod),
              IsEmpty());
  EXPECT_EQ(run.stats().parse_errors, 0u);
}

// ---- v1v2-docker-elastic: v1 controllers plus a cgroup2 mount at the root ----

constexpr char kDockerV1[] =
    "/docker/b29faf21b7eff959f64b4192c34d5d67a707fe8561e9eaa608cb27693fba4242";
constexpr char kDockerV2[] =
    "/system.slice/"
    "docker-1c8fa019edd4b9d4b2856f4932c55929c5c118c808ed5faee9a135ca6e84b039.scope";

TEST(CgroupFixtureV1V2Docker, BothHierarchiesWithoutKubepods) {
  TreeRun run("v1v2-docker-elastic");
  ASSERT_TRUE(run.ok());
  std::vector<std::string> ids = run.Ids();
  EXPECT_THAT(ids, Contains(kDockerV1));
  EXPECT_THAT(ids, Contains(kDockerV2));
  // The v1 mount directories under the cgroup2 root are not cgroups of it.
  EXPECT_THAT(ids, Not(Contains("/cpu")));
  EXPECT_THAT(ids, Not(Contains("/memory")));

  // v1 container: cpu.stat 769021/1046/352597023453 ns; cpuacct.usage 95996653175.
  EXPECT_EQ(run.V("container_cpu_cfs_periods_total", kDockerV1), 769021);
  EXPECT_EQ(run.V("container_cpu_cfs_throttled_periods_total", kDockerV1), 1046);
  EXPECT_DOUBLE_EQ(run.V("container_cpu_cfs_throttled_seconds_total", kDockerV1),
                   352.597023453);
  EXPECT_DOUBLE_EQ(run.V("container_cpu_usage_seconds_total", kDockerV1), 95.996653175);
  // No cpuacct.usage_user here: cpuacct.stat "user 6195", "system 773" in USER_HZ ticks.
  EXPECT_DOUBLE_EQ(run.V("container_cpu_user_seconds_total", kDockerV1), 61.95);
  EXPECT_DOUBLE_EQ(run.V("container_cpu_system_seconds_total", kDockerV1), 7.73);
  // memory.usage_in_bytes 295997440, total_inactive_file 40108032, total_rss 230662144.
  EXPECT_EQ(run.V("container_memory_working_set_bytes", kDockerV1), 295997440 - 40108032);
  EXPECT_EQ(run.V("container_memory_rss", kDockerV1), 230662144);

  // v2 scope: usage_usec 26772130245; nr_throttled 4 > nr_periods 1 (hand
  // edited upstream) is exported as read, not "fixed".
  EXPECT_DOUBLE_EQ(run.V("container_cpu_usage_seconds_total", kDockerV2), 26772.130245);
  EXPECT_EQ(run.V("container_cpu_cfs_periods_total", kDockerV2), 1);
  EXPECT_EQ(run.V("container_cpu_cfs_throttled_periods_total", kDockerV2), 4);
  EXPECT_DOUBLE_EQ(run.V("container_cpu_cfs_throttled_seconds_total", kDockerV2), 1e-5);
  // cpu.max "max 100000": no quota, period 100000. memory.max "max" -> 0.
  EXPECT_THAT(testing::Find(run.snap(), "container_spec_cpu_quota", kDockerV2), IsEmpty());
  EXPECT_EQ(run.V("container_spec_cpu_period", kDockerV2), 100000);
  EXPECT_EQ(run.V("container_spec_memory_limit_bytes", kDockerV2), 0);
  // memory.events: max 2 (failcnt), oom_kill 1.
  EXPECT_EQ(run.V("container_memory_failcnt", kDockerV2), 2);
  EXPECT_EQ(run.V("container_oom_events_total", kDockerV2), 1);
  // memory.current 9125888, inactive_file 270336, anon 411045888 (hand edited).
  EXPECT_EQ(run.V("container_memory_usage_bytes", kDockerV2), 9125888);
  EXPECT_EQ(run.V("container_memory_working_set_bytes", kDockerV2), 9125888 - 270336);
  EXPECT_EQ(run.V("container_memory_rss", kDockerV2), 411045888);
  // io.stat: 8:0 rbytes=512 wbytes=4096 rios=100 wios=1.
  EXPECT_EQ(run.V("container_fs_reads_bytes_total", kDockerV2, {{"device", "8:0"}}), 512);
  EXPECT_EQ(run.V("container_fs_writes_total", kDockerV2, {{"device", "8:0"}}), 1);
  EXPECT_EQ(run.V("container_fs_reads_total", kDockerV2, {{"device", "253:0"}}), 1);
  // cpu.pressure has only a "some" line: total=1676316 us; stalled has no sample.
  EXPECT_DOUBLE_EQ(run.V("container_pressure_cpu_waiting_seconds_total", kDockerV2), 1.676316);
  EXPECT_TRUE(std::isnan(run.V("container_pressure_cpu_stalled_seconds_total", kDockerV2)));
}

// ---- hybrid-ubuntu1804-elastic: v1 memory/blkio + cgroup2 at unified/ ----

TEST(CgroupFixtureHybrid, UnifiedCpuStatAndV1Memory) {
  std::string root = FixtureRoot("hybrid-ubuntu1804-elastic");
  auto layout = cgroup_internal::DetectLayout(root + "/sys/fs/cgroup", root + "/proc");
  ASSERT_TRUE(layout.ok()) << layout.status();
  EXPECT_EQ(layout->mode, cgroup_internal::Layout::Mode::kHybrid);
  EXPECT_EQ(layout->v2, root + "/sys/fs/cgroup/unified");

  TreeRun run("hybrid-ubuntu1804-elastic");
  ASSERT_TRUE(run.ok());
  constexpr char kSvc[] = "/system.slice/networkd-dispatcher.service";
  EXPECT_THAT(run.Ids(), Contains(kSvc));
  // No cpu,cpuacct directory in the tree: usage from unified/.../cpu.stat
  // usage_usec 184713, user_usec 120465, system_usec 64248.
  EXPECT_DOUBLE_EQ(run.V("container_cpu_usage_seconds_total", kSvc), 0.184713);
  EXPECT_DOUBLE_EQ(run.V("container_cpu_user_seconds_total", kSvc), 0.120465);
  EXPECT_DOUBLE_EQ(run.V("container_cpu_system_seconds_total", kSvc), 0.064248);
  // No cpu controller in the unified hierarchy: no CFS series.
  EXPECT_THAT(testing::Find(run.snap(), "container_cpu_cfs_periods_total", kSvc), IsEmpty());
  // memory/.../memory.usage_in_bytes 9039872, total_rss 8404992.
  EXPECT_EQ(run.V("container_memory_usage_bytes", kSvc), 9039872);
  EXPECT_EQ(run.V("container_memory_rss", kSvc), 8404992);
}

// ---- v2-systemd-kubepods-debian-6.1-vm: pure v2, systemd driver ----

constexpr char kVmGuaranteedPod[] =
    "/kubepods.slice/kubepods-pod7c1e3a5b_9d2f_4b6a_8c0e_1f3a5c7e9b20.slice";
constexpr char kVmBusy[] =
    "/kubepods.slice/kubepods-pod7c1e3a5b_9d2f_4b6a_8c0e_1f3a5c7e9b20.slice/"
    "cri-containerd-2b4d6f8a0c2e4a6c8e0b2d4f6a8c0e2a4c6e8b0d2f4a6c8e0a2c4e6b8d0f2a4c.scope";
constexpr char kVmBurstablePod[] =
    "/kubepods.slice/kubepods-burstable.slice/"
    "kubepods-burstable-pod3f9a2c1e_5b7d_4e8f_a1c3_0d2e4f6a8b10.slice";
constexpr char kVmBesteffortPod[] =
    "/kubepods.slice/kubepods-besteffort.slice/"
    "kubepods-besteffort-pod5e7a9c1b_3d5f_4a7c_9e1b_2c4e6a8c0d30.slice";
constexpr char kVmCrio[] =
    "/kubepods.slice/kubepods-besteffort.slice/"
    "kubepods-besteffort-pod5e7a9c1b_3d5f_4a7c_9e1b_2c4e6a8c0d30.slice/"
    "crio-6e8a0c2e4b6d8f0a2c4e6a8c0e2b4d6f8a0c2e4a6c8e0b2d4f6a8c0e2a4c6e8b.scope";

TEST(CgroupFixtureV2Vm, DiscoveryAndIdentity) {
  TreeRun run("v2-systemd-kubepods-debian-6.1-vm");
  ASSERT_TRUE(run.ok());
  std::vector<std::string> ids = run.Ids();
  for (const char* id : {"/", "/kubepods.slice", "/kubepods.slice/kubepods-burstable.slice",
                         kVmGuaranteedPod, kVmBusy, kVmBurstablePod, kVmBesteffortPod,
                         kVmCrio}) {
    EXPECT_THAT(ids, Contains(id));
  }
  const CgroupIdentity* busy = run.Identity(kVmBusy);
  ASSERT_NE(busy, nullptr);
  EXPECT_EQ(busy->pod_uid, "7c1e3a5b-9d2f-4b6a-8c0e-1f3a5c7e9b20");
  EXPECT_EQ(busy->container_id,
            "2b4d6f8a0c2e4a6c8e0b2d4f6a8c0e2a4c6e8b0d2f4a6c8e0a2c4e6b8d0f2a4c");
  const CgroupIdentity* crio = run.Identity(kVmCrio);
  ASSERT_NE(crio, nullptr);
  EXPECT_EQ(crio->pod_uid, "5e7a9c1b-3d5f-4a7c-9e1b-2c4e6a8c0d30");
  EXPECT_EQ(crio->container_id,
            "6e8a0c2e4b6d8f0a2c4e6a8c0e2b4d6f8a0c2e4a6c8e0b2d4f6a8c0e2a4c6e8b");
  const CgroupIdentity* pod = run.Identity(kVmBurstablePod);
  ASSERT_NE(pod, nullptr);
  EXPECT_TRUE(pod->pod_level);
  EXPECT_EQ(pod->pod_uid, "3f9a2c1e-5b7d-4e8f-a1c3-0d2e4f6a8b10");
  EXPECT_EQ(run.stats().parse_errors, 0u);
  EXPECT_EQ(run.stats().read_errors, 0u);
}

TEST(CgroupFixtureV2Vm, ThrottledGuaranteedContainer) {
  TreeRun run("v2-systemd-kubepods-debian-6.1-vm");
  ASSERT_TRUE(run.ok());
  // cpu.stat: usage_usec 16211886, nr_periods 326, nr_throttled 323, throttled_usec 15402781.
  EXPECT_DOUBLE_EQ(run.V("container_cpu_usage_seconds_total", kVmBusy), 16.211886);
  EXPECT_EQ(run.V("container_cpu_cfs_periods_total", kVmBusy), 326);
  EXPECT_EQ(run.V("container_cpu_cfs_throttled_periods_total", kVmBusy), 323);
  EXPECT_DOUBLE_EQ(run.V("container_cpu_cfs_throttled_seconds_total", kVmBusy), 15.402781);
  // cpu.max "50000 100000", cpu.weight 100 -> shares 2 + 99*262142/9999 = 2597.
  EXPECT_EQ(run.V("container_spec_cpu_quota", kVmBusy), 50000);
  EXPECT_EQ(run.V("container_spec_cpu_period", kVmBusy), 100000);
  EXPECT_EQ(run.V("container_spec_cpu_shares", kVmBusy), 2597);
  // cpu.pressure some total=13399023, full total=13399023.
  EXPECT_DOUBLE_EQ(run.V("container_pressure_cpu_waiting_seconds_total", kVmBusy), 13.399023);
  EXPECT_DOUBLE_EQ(run.V("container_pressure_cpu_stalled_seconds_total", kVmBusy), 13.399023);
  // Root: cpu.stat usage_usec 161008000, cpu.pressure some total=43796705.
  EXPECT_DOUBLE_EQ(run.V("container_cpu_usage_seconds_total", "/"), 161.008);
  EXPECT_DOUBLE_EQ(run.V("container_pressure_cpu_waiting_seconds_total", "/"), 43.796705);
}

TEST(CgroupFixtureV2Vm, OomKilledBurstableContainer) {
  TreeRun run("v2-systemd-kubepods-debian-6.1-vm");
  ASSERT_TRUE(run.ok());
  std::string ctr;
  for (const std::string& id : run.Ids()) {
    if (id.starts_with(std::string(kVmBurstablePod) + "/cri-containerd-")) ctr = id;
  }
  ASSERT_FALSE(ctr.empty());
  // memory.events: max 101, oom 3, oom_kill 1; memory.max 100663296;
  // memory.current 28672; memory.stat anon 0, inactive_file 0.
  EXPECT_EQ(run.V("container_oom_events_total", ctr), 1);
  EXPECT_EQ(run.V("container_memory_failcnt", ctr), 101);
  EXPECT_EQ(run.V("container_spec_memory_limit_bytes", ctr), 100663296);
  EXPECT_EQ(run.V("container_memory_usage_bytes", ctr), 28672);
  EXPECT_EQ(run.V("container_memory_working_set_bytes", ctr), 28672);
  EXPECT_EQ(run.V("container_memory_rss", ctr), 0);
}

TEST(CgroupFixtureV2Vm, EmptyIoStatGivesNoDeviceSeries) {
  TreeRun run("v2-systemd-kubepods-debian-6.1-vm");
  ASSERT_TRUE(run.ok());
  EXPECT_THAT(testing::Find(run.snap(), "container_fs_reads_bytes_total", kVmCrio), IsEmpty());
}

// ---- v2-systemd-kubepods-assembled-elastic: no mountinfo, no root files ----

TEST(CgroupFixtureV2Assembled, ProbedAsV2AndCollected) {
  std::string root = FixtureRoot("v2-systemd-kubepods-assembled-elastic");
  auto layout = cgroup_internal::DetectLayout(root + "/sys/fs/cgroup", root + "/proc");
  ASSERT_TRUE(layout.ok()) << layout.status();
  EXPECT_EQ(layout->mode, cgroup_internal::Layout::Mode::kV2);

  TreeRun run("v2-systemd-kubepods-assembled-elastic");
  ASSERT_TRUE(run.ok());
  const CgroupIdentity* c = run.Identity(kAmznCtr);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->pod_uid, "7a96c459-d529-44ae-9f99-90d3798d6426");
  // Container files are the docker2 session-520.scope ones: usage_usec
  // 3611347518, memory.current 10498404352, inactive_file 6685749248, pids 148.
  EXPECT_DOUBLE_EQ(run.V("container_cpu_usage_seconds_total", kAmznCtr), 3611.347518);
  EXPECT_EQ(run.V("container_memory_working_set_bytes", kAmznCtr),
            10498404352.0 - 6685749248.0);
  EXPECT_EQ(run.V("container_threads", kAmznCtr), 148);
  EXPECT_EQ(run.V("container_threads_max", kAmznCtr), 0);  // pids.max "max"
  // Pod slice files are the docker scope ones: memory.events oom_kill 1.
  EXPECT_EQ(run.V("container_oom_events_total", kAmznPod), 1);
}

// ---- v2-systemd-user-docker2-elastic: no kubepods, walk to max_depth ----

TEST(CgroupFixtureV2User, WalksEveryCgroupToMaxDepth) {
  constexpr char kScope[] = "/user.slice/user-1000.slice/session-520.scope";
  TreeRun deep("v2-systemd-user-docker2-elastic", /*max_depth=*/3);
  ASSERT_TRUE(deep.ok());
  EXPECT_THAT(deep.Ids(), Contains(kScope));
  EXPECT_THAT(deep.Ids(), Contains("/"));
  // usage_usec 3611347518; memory.swap.current 17715200; cpu.pressure full total=29254180.
  EXPECT_DOUBLE_EQ(deep.V("container_cpu_usage_seconds_total", kScope), 3611.347518);
  EXPECT_EQ(deep.V("container_memory_swap", kScope), 17715200);
  EXPECT_DOUBLE_EQ(deep.V("container_pressure_cpu_stalled_seconds_total", kScope), 29.25418);
  EXPECT_EQ(deep.V("container_memory_usage_bytes", kScope), 10498404352.0);

  TreeRun shallow("v2-systemd-user-docker2-elastic", /*max_depth=*/2);
  ASSERT_TRUE(shallow.ok());
  EXPECT_THAT(shallow.Ids(), Not(Contains(kScope)));
  EXPECT_THAT(shallow.Ids(), Contains("/user.slice/user-1000.slice"));
}

// ---- file-level fixtures (original path unknown): parsed directly ----

std::string ReadFixture(std::string_view rel) {
  auto s = cgroup_internal::ReadFileToString(FixtureRoot(rel));
  EXPECT_TRUE(s.ok()) << s.status();
  return s.ok() ? *s : std::string();
}

TEST(CgroupFixtureFiles, IoStatQuirkFiles) {
  std::vector<cgroup_internal::IoStatDevice> devs;
  auto collect = [&](const cgroup_internal::IoStatDevice& d) { devs.push_back(d); };
  EXPECT_TRUE(cgroup_internal::ParseIoStat(ReadFixture("v2-iostat-elastic/ubuntu/io.stat"),
                                           collect));
  ASSERT_EQ(devs.size(), 2u);
  EXPECT_EQ(devs[0].minor, 4u);
  EXPECT_EQ(devs[0].rbytes, 556032u);
  EXPECT_EQ(devs[1].rbytes, 21017600u);
  devs.clear();
  EXPECT_TRUE(cgroup_internal::ParseIoStat(ReadFixture("v2-iostat-elastic/ubuntu2/io.stat"),
                                           collect));
  ASSERT_EQ(devs.size(), 2u);
  EXPECT_EQ(devs[0].major, 253u);
  EXPECT_EQ(devs[0].wbytes, 211814596608u);
  EXPECT_EQ(devs[1].major, 259u);
  EXPECT_EQ(devs[1].rios, 1315370u);
  devs.clear();
  EXPECT_TRUE(cgroup_internal::ParseIoStat(
      ReadFixture("v2-snippets-opencontainers-cgroups/io.stat"), collect));
  ASSERT_EQ(devs.size(), 3u);
  EXPECT_EQ(devs[2].wbytes, 14245536256u);
  devs.clear();
  EXPECT_TRUE(cgroup_internal::ParseIoStat(
      ReadFixture("v2-snippets-opencontainers-cgroups/io.stat.iocost-debug"), collect));
  ASSERT_EQ(devs.size(), 3u);
  EXPECT_EQ(devs[0].major, 251u);
  EXPECT_EQ(devs[2].rbytes, 4085926524416u);
}

TEST(CgroupFixtureFiles, MemoryStatAndPressureSnippets) {
  constexpr std::string_view keys[] = {"anon", "file", "file_mapped", "inactive_file"};
  uint64_t vals[4];
  uint64_t found;
  EXPECT_TRUE(cgroup_internal::ParseKeyedU64(
      ReadFixture("v2-snippets-opencontainers-cgroups/memory.stat"), keys, vals, &found));
  EXPECT_EQ(found, 0b1111u);
  EXPECT_EQ(vals[0], 790425600u);
  EXPECT_EQ(vals[1], 6502666240u);
  EXPECT_EQ(vals[2], 656187392u);
  EXPECT_EQ(vals[3], 5307346944u);
  cgroup_internal::Pressure p;
  EXPECT_TRUE(cgroup_internal::ParsePressure(
      ReadFixture("v2-snippets-opencontainers-cgroups/cpu.pressure"), &p));
  EXPECT_EQ(p.some_total_us, 230548833u);
  EXPECT_EQ(p.full_total_us, 157622356u);
}

}  // namespace
}  // namespace nodepulse::collectors
