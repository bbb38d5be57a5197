// The collector on this machine's /proc, and the steady-state allocation
// count (alloc_counter.h replaces the global operator new for this test
// binary; it only counts while a test asks it to).
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <thread>

#include "alloc_counter.h"  // replaces operator new for collectors_procfs_test
#include "gtest/gtest.h"
#include "nodepulse/collectors/procfs.h"
#include "nodepulse/pipeline/pipeline.h"
#include "procfs_test_util.h"

namespace nodepulse::collectors::procfs_test {
namespace {

double SumCpu(const Snapshot& s, const char* mode) {
  double sum = 0;
  for (SeriesId id : SeriesOf(s, "node_cpu_seconds_total")) {
    for (const auto& l : s.catalog->LabelsOf(id)) {
      if (l.name == "mode" && l.value == mode) sum += s.value(id);
    }
  }
  return sum;
}

TEST(RealProc, CpuSecondsIncreaseWhileAThreadSpins) {
  Pipeline p{pipeline::Options{}};
  auto c = NewProcfsCollector(ProcfsOptions{}, p);
  ASSERT_TRUE(c.ok()) << c.status();
  std::atomic<bool> stop{false};
  std::thread spinner([&] {
    volatile uint64_t x = 0;
    while (!stop.load(std::memory_order_relaxed)) x = x + 1;
  });
  Cycle a = RunCycle(p, **c, 1000);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  Cycle b = RunCycle(p, **c, 1200);
  stop = true;
  spinner.join();

  ASSERT_TRUE(a.status.ok()) << a.status;
  EXPECT_EQ(a.stats.parse_errors, 0u);
  EXPECT_EQ(a.stats.read_errors, 0u);
  double busy_a = SumCpu(*a.snap, "user") + SumCpu(*a.snap, "system");
  double busy_b = SumCpu(*b.snap, "user") + SumCpu(*b.snap, "system");
  // One spinning thread for 200 ms is ~20 ticks of user time; require a few
  // so a loaded CI host that preempts the spinner does not flake.
  EXPECT_GE(busy_b - busy_a, 0.05) << busy_a << " -> " << busy_b;
  EXPECT_EQ(LabelValues(*b.snap, "node_cpu_seconds_total", "cpu"),
            LabelValues(*a.snap, "node_cpu_seconds_total", "cpu"));
  EXPECT_GE(LabelValues(*b.snap, "node_cpu_seconds_total", "cpu").size(),
            static_cast<size_t>(sysconf(_SC_NPROCESSORS_ONLN)));
}

TEST(RealProc, MemTotalMatchesSysconf) {
  Pipeline p{pipeline::Options{}};
  auto c = NewProcfsCollector(ProcfsOptions{}, p);
  ASSERT_TRUE(c.ok()) << c.status();
  Cycle cy = RunCycle(p, **c);
  double want = static_cast<double>(sysconf(_SC_PHYS_PAGES)) * sysconf(_SC_PAGESIZE);
  double got = Value(*cy.snap, "node_memory_MemTotal_bytes");
  EXPECT_NEAR(got, want, want * 0.05);
  EXPECT_GT(Value(*cy.snap, "node_memory_MemAvailable_bytes"), 0);
  EXPECT_GT(Value(*cy.snap, "node_boot_time_seconds"), 1e9);
  EXPECT_FALSE(std::isnan(Value(*cy.snap, "node_load1")));
}

// Steady state = same CPUs, devices and fields as the previous cycle: then a
// Collect() must not allocate (no new/delete; pread buffers and parse results
// are reused, SeriesIds are looked up by position). Run on fixtures, whose
// device set cannot change under the test, and on the real /proc.
uint64_t AllocationsInCollect(Pipeline& p, Collector& c) {
  CollectStats stats;
  p.BeginCycle(3000);
  testing::AllocCounter allocs;
  allocs.Start();
  absl::Status s = c.Collect(stats);
  const uint64_t allocations = allocs.Stop();
  p.EndCycle();
  EXPECT_TRUE(s.ok()) << s;
  return allocations;
}

TEST(SteadyState, CollectAllocatesNothingOnFixtures) {
  if (!testing::kAllocCountingAvailable) {
    GTEST_SKIP() << "sanitizer build: operator new not replaceable";
  }
  for (const char* tree : {"proc-prometheus-procfs", "v1-cgroupfs-debian12",
                           "v2-systemd-kubepods-debian-6.1-vm"}) {
    Pipeline p{pipeline::Options{}};
    ProcfsOptions options;
    options.proc_root = FixtureProc(tree);
    auto c = NewProcfsCollector(options, p);
    ASSERT_TRUE(c.ok()) << c.status();
    RunCycle(p, **c, 1000);  // discovery: interning allocates, by design
    RunCycle(p, **c, 2000);
    EXPECT_EQ(AllocationsInCollect(p, **c), 0u) << tree;
  }
}

TEST(SteadyState, CollectAllocatesNothingOnRealProc) {
  if (!testing::kAllocCountingAvailable) {
    GTEST_SKIP() << "sanitizer build: operator new not replaceable";
  }
  Pipeline p{pipeline::Options{}};
  auto c = NewProcfsCollector(ProcfsOptions{}, p);
  ASSERT_TRUE(c.ok()) << c.status();
  RunCycle(p, **c, 1000);
  RunCycle(p, **c, 2000);
  uint64_t created = p.stats().series_created;
  uint64_t allocs = AllocationsInCollect(p, **c);
  if (p.stats().series_created != created) {
    GTEST_SKIP() << "a device or CPU changed during the test; rediscovery allocates by design";
  }
  EXPECT_EQ(allocs, 0u);
}

}  // namespace
}  // namespace nodepulse::collectors::procfs_test
