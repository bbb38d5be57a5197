// Issue 17: per-file cadence (fast files every cycle, slow files every
// --slow-interval), discovery at the next cycle after a directory appears,
// the cgroup v2 event/reclaim/peak/burst families, and event counters kept
// after their cgroup is gone. Over writable copies of the fixture trees,
// with a stepped CLOCK_MONOTONIC source: cycles are counted, not seconds.
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "cgroup_files.h"
#include "cgroup_test_util.h"
#include "gtest/gtest.h"
#include "nodepulse/collectors/cgroup.h"

namespace nodepulse::collectors {
namespace {

namespace fs = std::filesystem;
namespace ci = cgroup_internal;
using testing::Value;

constexpr char kPod[] =
    "/kubepods.slice/kubepods-burstable.slice/"
    "kubepods-burstable-pod3f9a2c1e_5b7d_4e8f_a1c3_0d2e4f6a8b10.slice";
constexpr char kCtr[] =
    "/kubepods.slice/kubepods-burstable.slice/"
    "kubepods-burstable-pod3f9a2c1e_5b7d_4e8f_a1c3_0d2e4f6a8b10.slice/"
    "cri-containerd-8d4f2a6c0e1b3d5f7a9c1e3b5d7f9a1c3e5b7d9f1a3c5e7b9d1f3a5c7e9b1d3f.scope";

// ---- the table ----

TEST(CadenceTable, HistoryFilesAreFastTheRestSlow) {
  // Files behind the 1 s aggregates/health (history metrics) are fast: the
  // activity signals and v2 io.stat always, the rest while the cgroup is
  // active.
  for (ci::FileKind k : {ci::kFCpuacctUsage, ci::kFCpuStatV2, ci::kFMemUsageV1,
                         ci::kFMemCurrentV2, ci::kFIoStatV2}) {
    EXPECT_EQ(ci::CadenceOf(k), ci::Cadence::kFast) << ci::kFiles[k].name;
  }
  for (ci::FileKind k : {ci::kFCpuStatV1, ci::kFMemStatV1, ci::kFMemStatV2, ci::kFBlkioBytesV1,
                         ci::kFCpuPressure, ci::kFMemPressure, ci::kFIoPressure}) {
    EXPECT_EQ(ci::CadenceOf(k), ci::Cadence::kActive) << ci::kFiles[k].name;
  }
  for (ci::FileKind k : {ci::kFCpuacctUsageUser, ci::kFCpuacctUsageSys, ci::kFCpuacctStat,
                         ci::kFMemFailcntV1, ci::kFOomControlV1, ci::kFMemEventsV2,
                         ci::kFSwapCurrentV2, ci::kFSwapEventsV2, ci::kFMemPeakV2,
                         ci::kFBlkioOpsV1, ci::kFPidsCurrent, ci::kFProcs}) {
    EXPECT_EQ(ci::CadenceOf(k), ci::Cadence::kSlow) << ci::kFiles[k].name;
  }
  // A metric fed by files of both cadences has them on different versions
  // (v1 or v2, never both in one cgroup: OpenFiles picks one source per
  // value), and Set() keeps the newest value for the re-emission anyway.
  ci::MetricMask fast = 0, slow = 0;
  for (int k = 0; k < ci::kNumFileKinds; ++k) {
    (ci::CadenceOf(static_cast<ci::FileKind>(k)) == ci::Cadence::kSlow ? slow : fast) |=
        ci::kFiles[k].feeds;
  }
  EXPECT_EQ(fast & slow, ci::MaskOf({ci::kCpuUser, ci::kCpuSystem, ci::kSwap, ci::kFsReads,
                                     ci::kFsWrites}));
}

// ---- fixture values of the v2 families ----

class V2Fixture : public ::testing::Test {
 protected:
  void SetUp() override {
    auto c = NewCgroupCollector(
        testing::FixtureOptions(testing::FixtureRoot("v2-systemd-kubepods-debian-6.1-vm")),
        pipeline_);
    ASSERT_TRUE(c.ok()) << c.status();
    collector_ = *std::move(c);
    ASSERT_TRUE(testing::Cycle(pipeline_, *collector_, stats_).ok());
  }
  double V(std::string_view metric, std::string_view id, const pipeline::Labels& extra = {}) {
    return Value(*pipeline_.snapshot(), metric, id, extra);
  }
  pipeline::Pipeline pipeline_{pipeline::Options{}};
  std::unique_ptr<CgroupCollector> collector_;
  CollectStats stats_;
};

TEST_F(V2Fixture, MemoryEventsSwapEventsPeakReclaimAndBurst) {
  // memory.events: low 0, high 0, max 101, oom 3, oom_kill 1, oom_group_kill 0.
  const char* events[] = {"low", "high", "max", "oom", "oom_kill", "oom_group_kill"};
  const double want[] = {0, 0, 101, 3, 1, 0};
  for (int i = 0; i < 6; ++i) {
    EXPECT_EQ(V("container_memory_events_total", kCtr, {{"event", events[i]}}), want[i])
        << events[i];
  }
  EXPECT_EQ(V("container_oom_events_total", kCtr), 1);
  EXPECT_EQ(V("container_memory_failcnt", kCtr), 101);
  for (const char* e : {"high", "max", "fail"}) {
    EXPECT_EQ(V("container_memory_swap_events_total", kCtr, {{"event", e}}), 0) << e;
  }
  EXPECT_EQ(V("container_memory_max_usage_bytes", kCtr), 100663296);
  EXPECT_EQ(V("container_memory_max_usage_bytes", kPod), 100671488);
  // memory.stat: pgfault 6667, pgmajfault 1161 in both of cAdvisor's scopes.
  for (const char* scope : {"container", "hierarchy"}) {
    EXPECT_EQ(V("container_memory_failures_total", kCtr,
                {{"failure_type", "pgfault"}, {"scope", scope}}), 6667);
    EXPECT_EQ(V("container_memory_failures_total", kCtr,
                {{"failure_type", "pgmajfault"}, {"scope", scope}}), 1161);
  }
  EXPECT_EQ(V("container_memory_workingset_refaults_total", kCtr, {{"type", "file"}}), 173);
  EXPECT_EQ(V("container_memory_workingset_refaults_total", kCtr, {{"type", "anon"}}), 0);
  EXPECT_EQ(V("container_memory_workingset_activations_total", kCtr, {{"type", "file"}}), 0);
  EXPECT_EQ(V("container_memory_workingset_restores_total", kCtr, {{"type", "anon"}}), 0);
  EXPECT_EQ(V("container_memory_workingset_nodereclaims_total", kCtr), 0);
  EXPECT_EQ(V("container_memory_reclaim_scanned_pages_total", kCtr), 1369);
  EXPECT_EQ(V("container_memory_reclaim_reclaimed_pages_total", kCtr), 833);
  // cpu.stat: nr_bursts 0, burst_usec 0 (cpu.max is set: CFS counters exist).
  EXPECT_EQ(V("container_cpu_cfs_bursts_total", kCtr), 0);
  EXPECT_EQ(V("container_cpu_cfs_burst_seconds_total", kCtr), 0);
  EXPECT_EQ(stats_.parse_errors, 0u);
}

TEST(V1Fixture, NoV2OnlySeriesAndNoErrors) {
  pipeline::Pipeline p{pipeline::Options{}};
  auto c = NewCgroupCollector(
      testing::FixtureOptions(testing::FixtureRoot("v1-cgroupfs-debian12")), p);
  ASSERT_TRUE(c.ok()) << c.status();
  CollectStats stats;
  ASSERT_TRUE(testing::Cycle(p, **c, stats).ok());
  const pipeline::Catalog& cat = *p.snapshot()->catalog;
  for (const char* m : {"container_memory_events_total", "container_memory_swap_events_total",
                        "container_memory_max_usage_bytes", "container_cpu_cfs_bursts_total",
                        "container_memory_workingset_refaults_total"}) {
    pipeline::MetricId id = testing::MetricIdOf(cat, m);
    ASSERT_LT(id, cat.by_metric.size()) << m;
    EXPECT_TRUE(cat.by_metric[id].empty()) << m;
  }
  EXPECT_EQ(stats.read_errors, 0u);
  EXPECT_EQ(stats.parse_errors, 0u);
}

// ---- cadence, discovery and retirement over time ----

// A writable copy of the v2 VM tree and a clock the test steps.
class V2Copy : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = testing::CopyFixtureTree("v2-systemd-kubepods-debian-6.1-vm");
    ASSERT_FALSE(root_.empty());
    options_ = testing::FixtureOptions(root_);
    options_.interval = absl::Seconds(1);
    options_.slow_interval = absl::Seconds(10);
    options_.clock = [this] { return now_; };
  }
  void TearDown() override {
    collector_.reset();
    if (!root_.empty()) fs::remove_all(root_);
  }
  void Start() {
    auto c = NewCgroupCollector(options_, pipeline_);
    ASSERT_TRUE(c.ok()) << c.status();
    collector_ = *std::move(c);
  }
  // One cycle, then the clock moves on by one interval.
  void Cycle() {
    ASSERT_TRUE(testing::Cycle(pipeline_, *collector_, stats_, ++cycle_ * 1000).ok());
    now_ += std::chrono::seconds(1);
  }
  void Write(const std::string& id, const std::string& file, const std::string& text) {
    std::ofstream(root_ + "/sys/fs/cgroup" + id + "/" + file, std::ios::trunc) << text;
  }
  double V(std::string_view metric, std::string_view id, const pipeline::Labels& extra = {}) {
    return Value(*pipeline_.snapshot(), metric, id, extra);
  }

  std::string root_;
  CgroupOptions options_;
  std::chrono::steady_clock::time_point now_{std::chrono::hours(1)};
  int64_t cycle_ = 0;
  pipeline::Pipeline pipeline_{pipeline::Options{}};
  std::unique_ptr<CgroupCollector> collector_;
  CollectStats stats_;
};

// memory.current (fast) is read at every cycle; pids.current (slow) at most
// once per slow_interval - interval (9 cycles), never less often, and its
// last value is exported at every cycle in between.
TEST_F(V2Copy, FastFileEveryCycleSlowFileEverySlowInterval) {
  options_.rescan_interval = absl::Hours(1);
  Start();
  int slow_reads = 0;
  int last_change = 0;
  double prev = -1;
  uint64_t fast_per_cycle = 0;
  for (int i = 1; i <= 40; ++i) {
    Write(kCtr, "memory.current", std::to_string(1000000 + i) + "\n");
    Write(kCtr, "pids.current", std::to_string(i) + "\n");
    const CollectStats before = stats_;
    Cycle();
    // Every fast file of every cgroup is read, or skipped as idle (the
    // other cgroups of the copied tree never change).
    const uint64_t fast = (stats_.files_read - before.files_read) -
                          (stats_.slow_files_read - before.slow_files_read) +
                          (stats_.idle_files_skipped - before.idle_files_skipped);
    if (i == 1) fast_per_cycle = fast;
    EXPECT_EQ(fast, fast_per_cycle) << "cycle " << i << ": fast files read or skipped";
    EXPECT_EQ(V("container_memory_usage_bytes", kCtr), 1000000 + i) << "cycle " << i;
    const double threads = V("container_threads", kCtr);
    ASSERT_FALSE(std::isnan(threads)) << "cycle " << i << ": slow value not re-exported";
    // Never older than the slow interval: read at most 9 cycles ago.
    EXPECT_GE(threads, i - 9) << "cycle " << i;
    if (threads != prev) {
      ++slow_reads;
      if (slow_reads > 2) {
        EXPECT_GE(i - last_change, 9) << "slow file read early, cycle " << i;
      }
      last_change = i;
      prev = threads;
    }
  }
  EXPECT_GT(fast_per_cycle, 0u);
  // Cycle 1, a first staggered period, then every 9 cycles: 40 cycles hold
  // at most 6 reads (at least 4 by the age bound above).
  EXPECT_LE(slow_reads, 6);
  EXPECT_GE(slow_reads, 4);
  EXPECT_GT(stats_.slow_files_read, 0u);
}

// memory.stat and PSI of an idle cgroup (CPU and memory usage unchanged)
// are not read at every cycle: their last values are exported, and read
// again at the first cycle its CPU or memory usage moves, or with the slow
// files at the latest.
TEST_F(V2Copy, IdleCgroupReadsActiveFilesWhenItsUsageMovesOrWithTheSlowFiles) {
  options_.rescan_interval = absl::Hours(1);
  Start();
  auto cpu_stat = [](int usage_usec) {
    return "usage_usec " + std::to_string(usage_usec) +
           "\nuser_usec 1\nsystem_usec 1\nnr_periods 0\nnr_throttled 0\nthrottled_usec 0\n";
  };
  auto mem_stat = [](int anon) { return "anon " + std::to_string(anon) + "\nfile 0\n"; };
  Cycle();
  // Cycle 2 is the staggered first slow read at the latest; settle past it.
  for (int i = 0; i < 10; ++i) Cycle();

  Write(kCtr, "memory.stat", mem_stat(111));
  const CollectStats before = stats_;
  Cycle();
  EXPECT_NE(V("container_memory_rss", kCtr), 111) << "idle: memory.stat read anyway";
  EXPECT_FALSE(std::isnan(V("container_memory_rss", kCtr))) << "skipped value not re-exported";
  EXPECT_GT(stats_.idle_files_skipped, before.idle_files_skipped);

  Write(kCtr, "cpu.stat", cpu_stat(5000000));  // it ran
  Cycle();
  EXPECT_EQ(V("container_memory_rss", kCtr), 111);

  Write(kCtr, "memory.stat", mem_stat(222));
  Write(kCtr, "memory.current", "1234567\n");  // it allocated
  Cycle();
  EXPECT_EQ(V("container_memory_rss", kCtr), 222);

  // Idle again: the change is seen with the slow files, within
  // slow_interval - interval = 9 cycles, and not at the next cycle.
  Write(kCtr, "memory.stat", mem_stat(333));
  int cycles = 0;
  while (V("container_memory_rss", kCtr) != 333 && cycles < 20) {
    Cycle();
    ++cycles;
  }
  EXPECT_GT(cycles, 1);
  EXPECT_LE(cycles, 9);
}

// A new cgroup directory is collected at the next cycle, not at the next
// --rescan-interval (an hour here); a removed one is dropped at the next.
TEST_F(V2Copy, DiscoveryAtTheNextCycleAfterADirectoryAppears) {
  options_.rescan_interval = absl::Hours(1);
  Start();
  Cycle();
  Cycle();
  const std::string id = std::string(kPod) + "/cri-containerd-" + std::string(64, 'a') + ".scope";
  fs::create_directory(root_ + "/sys/fs/cgroup" + id);
  Write(id, "memory.stat", "anon 4096\ninactive_file 0\n");
  Write(id, "memory.current", "8192\n");
  Cycle();
  EXPECT_EQ(V("container_memory_rss", id), 4096);
  EXPECT_EQ(V("container_memory_working_set_bytes", id), 8192);
  EXPECT_EQ(stats_.discovery_events, 1u);

  fs::remove_all(root_ + "/sys/fs/cgroup" + id);
  Cycle();
  EXPECT_TRUE(testing::Find(*pipeline_.snapshot(), "container_memory_rss", id).empty());
  EXPECT_EQ(stats_.discovery_events, 2u);
}

// A container whose cgroup disappears keeps its memory.events counters (an
// OOM kill) for gone_grace, and nothing else; then they go too.
TEST_F(V2Copy, GoneCgroupKeepsEventCountersForTheGracePeriod) {
  options_.rescan_interval = absl::Hours(1);
  options_.gone_grace = absl::Seconds(30);
  Start();
  Cycle();
  ASSERT_EQ(V("container_oom_events_total", kCtr), 1);
  fs::remove_all(root_ + "/sys/fs/cgroup" + kCtr);
  for (int i = 0; i < 29; ++i) {
    Cycle();
    ASSERT_EQ(V("container_oom_events_total", kCtr), 1) << "cycle " << i;
    ASSERT_EQ(V("container_memory_events_total", kCtr, {{"event", "oom_kill"}}), 1);
    ASSERT_TRUE(testing::Find(*pipeline_.snapshot(), "container_memory_rss", kCtr).empty() ||
                std::isnan(V("container_memory_rss", kCtr)));
  }
  for (const auto& [entity, identity] : collector_->Identities()) {
    EXPECT_NE(identity.id, kCtr) << "a gone cgroup is no container any more";
  }
  Cycle();
  Cycle();
  EXPECT_TRUE(std::isnan(V("container_oom_events_total", kCtr)));
  EXPECT_TRUE(testing::Find(*pipeline_.snapshot(), "container_oom_events_total", kCtr).empty());
}

// A change to memory.events (inotify IN_MODIFY, as the kernel raises it) is
// read by the watch thread and exported at the next cycle, although the file
// is slow and its slow read is not due (the clock does not move).
TEST_F(V2Copy, MemoryEventsChangeIsExportedAtTheNextCycle) {
  options_.rescan_interval = absl::Hours(1);
  Start();
  Cycle();
  ASSERT_EQ(V("container_oom_events_total", kCtr), 1);
  Write(kCtr, "memory.events",
        "low 0\nhigh 0\nmax 102\noom 4\noom_kill 2\noom_group_kill 0\n");
  // The capture is asynchronous: cycle (without moving the clock) until it
  // lands; the slow read cannot be what exports it.
  bool seen = false;
  for (int i = 0; i < 500 && !seen; ++i) {
    ASSERT_TRUE(testing::Cycle(pipeline_, *collector_, stats_, 5000 + i).ok());
    seen = V("container_oom_events_total", kCtr) == 2;
    if (!seen) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(seen);
  EXPECT_EQ(V("container_memory_events_total", kCtr, {{"event", "oom"}}), 4);
  EXPECT_GE(stats_.event_reads, 1u);
}

}  // namespace
}  // namespace nodepulse::collectors
