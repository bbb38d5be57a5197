// Collector behaviour over time on a writable copy of a fixture tree:
// rescans, removal, labeler, malformed files, fds and steady-state allocation.
#include <dirent.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "alloc_counter.h"  // replaces operator new for collectors_cgroup_test
#include "cgroup_test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nodepulse/collectors/cgroup.h"

namespace nodepulse::collectors {
namespace {

namespace fs = std::filesystem;
using ::testing::Contains;
using ::testing::IsEmpty;
using ::testing::Not;

constexpr char kApp[] =
    "/kubepods/burstable/pod8a3e5b7c-1d2f-4a6b-8c9d-0e1f2a3b4c02/"
    "7e6d5c4b3a291807f6e5d4c3b2a1908f7e6d5c4b3a291807f6e5d4c3b2a19004";

int CountOpenFds() {
  int n = 0;
  DIR* d = opendir("/proc/self/fd");
  while (dirent* e = readdir(d)) n += e->d_name[0] != '.';
  closedir(d);
  return n;
}

// A private copy of v1-cgroupfs-debian12 the test may change.
class CopiedTree : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = testing::CopyFixtureTree("v1-cgroupfs-debian12");
    ASSERT_FALSE(root_.empty());
    options_ = testing::FixtureOptions(root_);
    options_.rescan_interval = absl::ZeroDuration();  // rescan every cycle
  }
  void TearDown() override {
    if (!root_.empty()) fs::remove_all(root_);
  }
  void RemoveEverywhere(const std::string& id) {
    for (const char* ctl : {"cpu", "cpuacct", "memory", "blkio", "pids"}) {
      fs::remove_all(root_ + "/sys/fs/cgroup/" + ctl + id);
    }
  }
  void Write(const std::string& rel, const std::string& text) {
    std::ofstream(root_ + "/sys/fs/cgroup/" + rel, std::ios::trunc) << text;
  }

  std::string root_;
  CgroupOptions options_;
  pipeline::Pipeline pipeline_{pipeline::Options{}};
  CollectStats stats_;
};

TEST_F(CopiedTree, RemovedCgroupIsDroppedAtRescanAndFdsClosed) {
  int fds_before = CountOpenFds();
  {
    auto c = NewCgroupCollector(options_, pipeline_);
    ASSERT_TRUE(c.ok()) << c.status();
    ASSERT_TRUE(testing::Cycle(pipeline_, **c, stats_).ok());
    int fds_with_all = CountOpenFds();
    EXPECT_GT(fds_with_all, fds_before + 13);  // at least one file per cgroup
    EXPECT_THAT(testing::Find(*pipeline_.snapshot(), "container_memory_rss", kApp),
                Not(IsEmpty()));

    RemoveEverywhere(kApp);
    ASSERT_TRUE(testing::Cycle(pipeline_, **c, stats_).ok());
    auto snap = pipeline_.snapshot();
    EXPECT_THAT(testing::EntityIds(*snap), Not(Contains(kApp)));
    for (const auto& s : snap->catalog->series) {
      if (!s.alive) continue;
      EXPECT_EQ(s.rendered_labels().find(kApp), std::string::npos) << s.rendered_labels();
    }
    EXPECT_EQ(stats_.containers, 12u);
    EXPECT_EQ(stats_.read_errors, 0u);
    EXPECT_LT(CountOpenFds(), fds_with_all);
  }
  // Destroying the collector closes every fd and removes its entities.
  EXPECT_EQ(CountOpenFds(), fds_before);
  pipeline_.BeginCycle(9000);
  pipeline_.EndCycle();
  EXPECT_EQ(pipeline_.stats().entities_live, 0u);
}

TEST_F(CopiedTree, NewCgroupAppearsAtRescan) {
  auto c = NewCgroupCollector(options_, pipeline_);
  ASSERT_TRUE(c.ok());
  std::string id = "/kubepods/burstable/pod8a3e5b7c-1d2f-4a6b-8c9d-0e1f2a3b4c02/abcdef";
  fs::create_directory(root_ + "/sys/fs/cgroup/memory" + id);
  Write("memory" + id + "/memory.usage_in_bytes", "4096\n");
  Write("memory" + id + "/memory.stat", "total_rss 1234\ntotal_inactive_file 96\n");
  ASSERT_TRUE(testing::Cycle(pipeline_, **c, stats_).ok());
  auto snap = pipeline_.snapshot();
  EXPECT_EQ(testing::Value(*snap, "container_memory_rss", id), 1234);
  EXPECT_EQ(testing::Value(*snap, "container_memory_working_set_bytes", id), 4000);
  auto ids = (*c)->Identities();
  bool found = false;
  for (const auto& [e, ident] : ids) {
    if (ident.id == id) {
      found = true;
      EXPECT_EQ(ident.container_id, "abcdef");
      EXPECT_EQ(ident.pod_uid, "8a3e5b7c-1d2f-4a6b-8c9d-0e1f2a3b4c02");
    }
  }
  EXPECT_TRUE(found);
}

// Discovery walks the hierarchies only after a directory came or went
// (inotify), not at every rescan; nodepulse_discovery_walks_total counts them.
TEST_F(CopiedTree, DiscoveryWalksOnlyAfterADirectoryChange) {
  auto c = NewCgroupCollector(options_, pipeline_);
  ASSERT_TRUE(c.ok());
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(testing::Cycle(pipeline_, **c, stats_, 1000 * (i + 1)).ok());
  EXPECT_EQ(stats_.discovery_walks, 1u) << "rescans without a change walked";

  // A file is not a cgroup: no walk.
  const std::string pod = "/kubepods/burstable/pod8a3e5b7c-1d2f-4a6b-8c9d-0e1f2a3b4c02";
  Write("memory" + pod + "/notes.txt", "x\n");
  ASSERT_TRUE(testing::Cycle(pipeline_, **c, stats_, 5000).ok());
  EXPECT_EQ(stats_.discovery_walks, 1u);

  // A new container directory: found at the next rescan, by one walk.
  const std::string id = pod + "/fedcba";
  fs::create_directory(root_ + "/sys/fs/cgroup/memory" + id);
  Write("memory" + id + "/memory.stat", "total_rss 1234\n");
  ASSERT_TRUE(testing::Cycle(pipeline_, **c, stats_, 6000).ok());
  EXPECT_EQ(testing::Value(*pipeline_.snapshot(), "container_memory_rss", id), 1234);
  EXPECT_EQ(stats_.discovery_walks, 2u);
  ASSERT_TRUE(testing::Cycle(pipeline_, **c, stats_, 7000).ok());
  EXPECT_EQ(stats_.discovery_walks, 2u);

  // A new pod directory, then a container in it: the pod's directory is
  // watched by the walk that found it although it had no children then.
  const std::string pod2 = "/kubepods/besteffort/pod11111111-2222-3333-4444-555555555555";
  fs::create_directory(root_ + "/sys/fs/cgroup/memory" + pod2);
  ASSERT_TRUE(testing::Cycle(pipeline_, **c, stats_, 8000).ok());
  EXPECT_EQ(stats_.discovery_walks, 3u);
  fs::create_directory(root_ + "/sys/fs/cgroup/memory" + pod2 + "/c1");
  Write("memory" + pod2 + "/c1/memory.stat", "total_rss 8192\n");
  ASSERT_TRUE(testing::Cycle(pipeline_, **c, stats_, 9000).ok());
  EXPECT_EQ(testing::Value(*pipeline_.snapshot(), "container_memory_rss", pod2 + "/c1"), 8192);
  EXPECT_EQ(stats_.discovery_walks, 4u);

  // Removal: dropped, and one more walk.
  fs::remove_all(root_ + "/sys/fs/cgroup/memory" + id);
  ASSERT_TRUE(testing::Cycle(pipeline_, **c, stats_, 10000).ok());
  EXPECT_THAT(testing::EntityIds(*pipeline_.snapshot()), Not(Contains(id)));
  EXPECT_EQ(stats_.discovery_walks, 5u);
  EXPECT_EQ(stats_.read_errors, 0u);
}

TEST_F(CopiedTree, MalformedFileCountsParseErrorAndCycleGoesOn) {
  Write(std::string("memory") + kApp + "/memory.usage_in_bytes", "garbage\n");
  Write(std::string("cpu") + kApp + "/cpu.stat", "nr_periods 7\nnr_throttled");
  auto c = NewCgroupCollector(options_, pipeline_);
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(testing::Cycle(pipeline_, **c, stats_).ok());
  EXPECT_EQ(stats_.parse_errors, 2u);
  auto snap = pipeline_.snapshot();
  EXPECT_TRUE(std::isnan(testing::Value(*snap, "container_memory_usage_bytes", kApp)));
  // Working set needs usage, so it has no sample this cycle either.
  EXPECT_TRUE(std::isnan(testing::Value(*snap, "container_memory_working_set_bytes", kApp)));
  // Values parsed before the truncation still count; other files unaffected.
  EXPECT_EQ(testing::Value(*snap, "container_cpu_cfs_periods_total", kApp), 7);
  EXPECT_EQ(testing::Value(*snap, "container_memory_rss", kApp), 59469824);
}

TEST_F(CopiedTree, LabelerSuppliesLabelsAndChangesKeepSeriesIds) {
  int generation = 1;
  options_.labeler = [&](const CgroupIdentity& id) {
    pipeline::Labels l = DefaultCgroupLabels(id);
    if (!id.pod_uid.empty()) {
      l[4].value = "ns";  // namespace
      l[5].value = "pod-" + std::to_string(generation);
      if (!id.container_id.empty()) l[0].value = "app";
    }
    return l;
  };
  auto c = NewCgroupCollector(options_, pipeline_);
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(testing::Cycle(pipeline_, **c, stats_).ok());
  auto s1 = testing::Find(*pipeline_.snapshot(), "container_memory_rss", kApp,
                          {{"pod", "pod-1"}, {"container", "app"}, {"namespace", "ns"}});
  ASSERT_EQ(s1.size(), 1u);
  generation = 2;
  ASSERT_TRUE(testing::Cycle(pipeline_, **c, stats_).ok());
  auto s2 = testing::Find(*pipeline_.snapshot(), "container_memory_rss", kApp,
                          {{"pod", "pod-2"}});
  ASSERT_EQ(s2.size(), 1u);
  EXPECT_EQ(s1[0], s2[0]);
  EXPECT_THAT(testing::Find(*pipeline_.snapshot(), "container_memory_rss", kApp,
                            {{"pod", "pod-1"}}),
              IsEmpty());
}

TEST_F(CopiedTree, LabelGenerationRelabelsAtTheNextCycleAndOnlyThen) {
  int calls = 0;
  uint64_t generation = 7;
  options_.labeler = [&](const CgroupIdentity& id) {
    ++calls;
    pipeline::Labels l = DefaultCgroupLabels(id);
    l[5].value = "pod-" + std::to_string(generation);  // pod
    return l;
  };
  options_.label_generation = [&] { return generation; };
  auto c = NewCgroupCollector(options_, pipeline_);
  ASSERT_TRUE(c.ok());
  // The first cycle relabels once: discovery may have raced the metadata.
  ASSERT_TRUE(testing::Cycle(pipeline_, **c, stats_, 1000).ok());
  const int cgroups = static_cast<int>(testing::EntityIds(*pipeline_.snapshot()).size());
  ASSERT_GT(cgroups, 0);
  calls = 0;
  // Rescans (every cycle here) with the same generation: no labeler call.
  for (int64_t t = 2000; t <= 6000; t += 1000) {
    ASSERT_TRUE(testing::Cycle(pipeline_, **c, stats_, t).ok());
  }
  EXPECT_EQ(calls, 0);
  // A new generation: every cgroup relabelled at the next cycle.
  generation = 8;
  ASSERT_TRUE(testing::Cycle(pipeline_, **c, stats_, 7000).ok());
  EXPECT_EQ(calls, cgroups);
  EXPECT_EQ(testing::Find(*pipeline_.snapshot(), "container_memory_rss", kApp, {{"pod", "pod-8"}})
                .size(),
            1u);
}

TEST_F(CopiedTree, SteadyStateCollectAllocatesNothing) {
  if (!nodepulse::testing::kAllocCountingAvailable) {
    GTEST_SKIP() << "allocation counting is off in sanitizer builds";
  }
  options_.rescan_interval = absl::Hours(1);
  auto c = NewCgroupCollector(options_, pipeline_);
  ASSERT_TRUE(c.ok());
  // First cycle interns the per-device series.
  ASSERT_TRUE(testing::Cycle(pipeline_, **c, stats_).ok());
  for (int i = 0; i < 3; ++i) {
    pipeline_.BeginCycle(2000 + i);
    nodepulse::testing::AllocCounter allocs;
    allocs.Start();
    absl::Status s = (*c)->Collect(stats_);
    const uint64_t allocations = allocs.Stop();
    pipeline_.EndCycle();
    ASSERT_TRUE(s.ok());
    EXPECT_EQ(allocations, 0u) << "cycle " << i;
  }
  EXPECT_GT(stats_.files_read, 0u);
}

TEST(CgroupCollector, MissingRootIsNotFoundWithPath) {
  pipeline::Pipeline p{pipeline::Options{}};
  CgroupOptions o;
  o.cgroup_root = "/nonexistent/nodepulse/cgroup";
  o.proc_root = "/nonexistent/nodepulse/proc";
  auto c = NewCgroupCollector(o, p);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(c.status().message()), ::testing::HasSubstr(o.cgroup_root));
}

}  // namespace
}  // namespace nodepulse::collectors
