// Real cgroups on this host: create them, run real processes in them, read
// them back through the collector, then remove them and watch the series go.
// Needs root and the v1 cpu, cpuacct, memory, blkio and pids controllers (the
// dev machines are hybrid: v1 controllers plus a controller-less cgroup2 at
// /sys/fs/cgroup/unified); skips with the reason otherwise.
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "cgroup_test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nodepulse/collectors/cgroup.h"

namespace nodepulse::collectors {
namespace {

constexpr char kRoot[] = "/sys/fs/cgroup";
// Backstop: children exit on their own after this long, even if the test
// process is SIGKILLed before its cleanup runs (PDEATHSIG covers most cases).
constexpr int kChildLifetimeS = 30;

double MonotonicS() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

bool WriteFile(const std::string& path, const std::string& text) {
  int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  close(fd);
  return ok;
}

bool Exists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

// Owns what the test creates: kills its own children by pid and removes its
// cgroup directories deepest-first. Cleanup() is idempotent and runs from the
// destructor and from TearDown, so a failed assertion still cleans up.
class RealCgroups {
 public:
  RealCgroups() = default;
  RealCgroups(const RealCgroups&) = delete;
  RealCgroups& operator=(const RealCgroups&) = delete;
  ~RealCgroups() { Cleanup(); }

  bool Mkdir(const std::string& path) {
    if (mkdir(path.c_str(), 0755) != 0) return false;
    dirs_.push_back(path);
    return true;
  }
  void Track(pid_t pid) { pids_.push_back(pid); }

  // Kills and reaps one tracked child now.
  void Kill(pid_t pid) {
    for (size_t i = 0; i < pids_.size(); ++i) {
      if (pids_[i] != pid) continue;
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
      pids_.erase(pids_.begin() + static_cast<long>(i));
      return;
    }
  }

  // Removes one tracked directory now (must be empty of tasks and children).
  bool Rmdir(const std::string& path) {
    for (int attempt = 0; attempt < 100; ++attempt) {
      if (rmdir(path.c_str()) == 0 || errno == ENOENT) {
        std::erase(dirs_, path);
        return true;
      }
      // A reaped task can take a moment to leave a v1 cgroup.
      if (errno != EBUSY) return false;
      usleep(20000);
    }
    return false;
  }

  void Cleanup() {
    while (!pids_.empty()) Kill(pids_.back());
    while (!dirs_.empty()) {
      std::string d = dirs_.back();
      if (!Rmdir(d)) {
        ADD_FAILURE() << "could not remove " << d << ": " << strerror(errno);
        dirs_.pop_back();
      }
    }
  }

 private:
  std::vector<pid_t> pids_;
  std::vector<std::string> dirs_;  // creation order: parents first
};

enum class Work { kSpin, kTouch64MiB };

// Forks a child that waits for a byte on `go`, then works; kTouch64MiB writes
// a byte on `ready` once every page is touched. The child only makes raw
// syscalls and always _exit()s.
pid_t SpawnChild(Work work, int* go_fd, int* ready_fd) {
  int go[2], ready[2];
  if (pipe2(go, O_CLOEXEC) != 0 || pipe2(ready, O_CLOEXEC) != 0) return -1;
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid != 0) {
    close(go[0]);
    close(ready[1]);
    *go_fd = go[1];
    *ready_fd = ready[0];
    return pid;
  }
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(1);
  alarm(kChildLifetimeS);  // SIGALRM's default action ends the child
  char c;
  if (read(go[0], &c, 1) != 1) _exit(1);
  double deadline = MonotonicS() + kChildLifetimeS;
  if (work == Work::kSpin) {
    volatile uint64_t x = 0;
    while (MonotonicS() < deadline) x = x + 1;
    _exit(0);
  }
  constexpr size_t kBytes = 64u << 20;
  char* mem = static_cast<char*>(malloc(kBytes));
  if (mem == nullptr) _exit(1);
  long page = sysconf(_SC_PAGESIZE);
  for (size_t i = 0; i < kBytes; i += static_cast<size_t>(page)) mem[i] = 1;
  if (write(ready[1], "r", 1) != 1) _exit(1);
  while (MonotonicS() < deadline) usleep(100000);
  _exit(mem[0] == 1 ? 0 : 1);
}

class RealCgroupTest : public ::testing::Test {
 protected:
  void TearDown() override { cgroups_.Cleanup(); }
  RealCgroups cgroups_;
};

TEST_F(RealCgroupTest, BusyAndMemoryProcessesThenRemoval) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to create cgroups (euid " << geteuid() << ")";
  const std::vector<std::string> v1 = {"cpu", "cpuacct", "memory", "blkio", "pids"};
  for (const std::string& c : v1) {
    if (!Exists(absl::StrCat(kRoot, "/", c, "/cgroup.procs"))) {
      GTEST_SKIP() << "v1 controller " << c << " not mounted at " << kRoot << "/" << c
                   << " (pure cgroup v2 host?)";
    }
  }
  std::vector<std::string> hierarchies = v1;
  if (Exists(absl::StrCat(kRoot, "/unified/cgroup.procs"))) hierarchies.push_back("unified");

  std::random_device rd;
  std::string parent = absl::StrCat("nodepulse-test-", rd() % 100000000);
  const std::string busy = "/" + parent + "/busy";
  const std::string mem = "/" + parent + "/mem";
  // Created at each hierarchy's root (allowed here even though our own
  // process sits in memory:/process_api/<id>).
  for (const std::string& h : hierarchies) {
    for (const std::string& rel : {"/" + parent, busy, mem}) {
      ASSERT_TRUE(cgroups_.Mkdir(absl::StrCat(kRoot, "/", h, rel)))
          << h << rel << ": " << strerror(errno);
    }
  }
  ASSERT_TRUE(WriteFile(absl::StrCat(kRoot, "/cpu", busy, "/cpu.cfs_period_us"), "100000"));
  ASSERT_TRUE(WriteFile(absl::StrCat(kRoot, "/cpu", busy, "/cpu.cfs_quota_us"), "50000"));
  // The 2-core machine is shared with builds; top weight for our parent so
  // the child really gets its 0.5 CPU and only the quota limits it.
  ASSERT_TRUE(WriteFile(absl::StrCat(kRoot, "/cpu/", parent, "/cpu.shares"), "262144"));

  int busy_go, busy_ready, mem_go, mem_ready;
  pid_t busy_pid = SpawnChild(Work::kSpin, &busy_go, &busy_ready);
  ASSERT_GT(busy_pid, 0);
  cgroups_.Track(busy_pid);
  pid_t mem_pid = SpawnChild(Work::kTouch64MiB, &mem_go, &mem_ready);
  ASSERT_GT(mem_pid, 0);
  cgroups_.Track(mem_pid);
  for (const std::string& h : hierarchies) {
    ASSERT_TRUE(WriteFile(absl::StrCat(kRoot, "/", h, busy, "/cgroup.procs"),
                          std::to_string(busy_pid)));
    ASSERT_TRUE(WriteFile(absl::StrCat(kRoot, "/", h, mem, "/cgroup.procs"),
                          std::to_string(mem_pid)));
  }
  ASSERT_EQ(write(busy_go, "g", 1), 1);
  ASSERT_EQ(write(mem_go, "g", 1), 1);
  char c;
  ASSERT_EQ(read(mem_ready, &c, 1), 1) << "memory child did not touch its 64 MiB";
  for (int fd : {busy_go, busy_ready, mem_go, mem_ready}) close(fd);

  pipeline::Pipeline pipeline{pipeline::Options{}};
  CgroupOptions options;
  options.cgroup_root = kRoot;
  options.proc_root = "/proc";
  options.max_depth = 2;
  // Long rescan: removal below must be noticed by the reads (ENODEV) alone.
  options.rescan_interval = absl::Seconds(60);
  auto collector = NewCgroupCollector(options, pipeline);
  ASSERT_TRUE(collector.ok()) << collector.status();
  CollectStats stats;

  // 8 cycles 0.5 s apart: 3.5 s between the first and the last read.
  double first_t = 0, last_t = 0, first_cpu = NAN, last_cpu = NAN;
  const double start = MonotonicS();
  for (int i = 0; i < 8; ++i) {
    double due = start + 0.5 * i;
    while (MonotonicS() < due) usleep(1000);
    double t = MonotonicS();
    ASSERT_TRUE(testing::Cycle(pipeline, **collector, stats, 1000 * (i + 1)).ok());
    double cpu = testing::Value(*pipeline.snapshot(), "container_cpu_usage_seconds_total", busy);
    ASSERT_FALSE(std::isnan(cpu)) << "cycle " << i;
    if (i == 0) {
      first_t = t;
      first_cpu = cpu;
    }
    last_t = t;
    last_cpu = cpu;
  }
  auto snap = pipeline.snapshot();
  double rate = (last_cpu - first_cpu) / (last_t - first_t);
  EXPECT_NEAR(rate, 0.5, 0.05) << "cpu seconds " << first_cpu << " -> " << last_cpu;
  EXPECT_GT(testing::Value(*snap, "container_cpu_cfs_throttled_periods_total", busy), 0);
  EXPECT_GT(testing::Value(*snap, "container_cpu_cfs_throttled_seconds_total", busy), 0);
  EXPECT_EQ(testing::Value(*snap, "container_spec_cpu_quota", busy), 50000);
  EXPECT_EQ(testing::Value(*snap, "container_spec_cpu_period", busy), 100000);
  EXPECT_EQ(testing::Value(*snap, "container_processes", busy), 1);
  EXPECT_EQ(testing::Value(*snap, "container_threads", busy), 1);
  EXPECT_GE(testing::Value(*snap, "container_memory_usage_bytes", mem), 64.0 * (1 << 20));
  EXPECT_GE(testing::Value(*snap, "container_memory_rss", mem), 64.0 * (1 << 20));
  EXPECT_GE(testing::Value(*snap, "container_memory_working_set_bytes", mem), 64.0 * (1 << 20));
  // The parent's usage is hierarchical: it includes the child's 64 MiB.
  EXPECT_GE(testing::Value(*snap, "container_memory_usage_bytes", "/" + parent),
            64.0 * (1 << 20));
  if (hierarchies.back() == "unified") {
    EXPECT_GE(testing::Value(*snap, "container_pressure_cpu_waiting_seconds_total", busy), 0);
  }
  EXPECT_EQ(stats.read_errors, 0u);
  EXPECT_EQ(stats.parse_errors, 0u);

  // Remove everything; the series must be gone within two cycles.
  cgroups_.Kill(busy_pid);
  cgroups_.Kill(mem_pid);
  for (const std::string& h : hierarchies) {
    for (const std::string& rel : {busy, mem, "/" + parent}) {
      ASSERT_TRUE(cgroups_.Rmdir(absl::StrCat(kRoot, "/", h, rel))) << h << rel;
    }
  }
  uint64_t read_errors_before = stats.read_errors;
  bool gone = false;
  for (int i = 0; i < 2 && !gone; ++i) {
    ASSERT_TRUE(testing::Cycle(pipeline, **collector, stats, 20000 + i).ok());
    snap = pipeline.snapshot();
    gone = true;
    for (const auto& s : snap->catalog->series) {
      if (s.alive && s.rendered_labels().find(parent) != std::string::npos) gone = false;
    }
  }
  EXPECT_TRUE(gone) << "series of removed cgroups still present after two cycles";
  EXPECT_THAT(testing::EntityIds(*snap), ::testing::Not(::testing::Contains(busy)));
  // Removal is churn, not an error.
  EXPECT_EQ(stats.read_errors, read_errors_before);
}

// The kernel's cgroupfs raises inotify events for mkdir/rmdir, so a cgroup
// created after start is found at the next rescan without walking the
// hierarchies at every rescan (cgroup_watch.h).
TEST_F(RealCgroupTest, LateCgroupIsFoundThroughTheWatch) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to create cgroups (euid " << geteuid() << ")";
  // v1's memory hierarchy (this host: hybrid), else a pure cgroup2 root
  // (the VM suite).
  std::string hierarchy;
  if (Exists(absl::StrCat(kRoot, "/memory/cgroup.procs"))) {
    hierarchy = absl::StrCat(kRoot, "/memory");
  } else if (Exists(absl::StrCat(kRoot, "/cgroup.controllers"))) {
    hierarchy = kRoot;
  } else {
    GTEST_SKIP() << "neither a v1 memory hierarchy nor a cgroup2 root at " << kRoot;
  }
  std::random_device rd;
  const std::string parent = absl::StrCat("/nodepulse-test-watch-", rd() % 100000000);
  ASSERT_TRUE(cgroups_.Mkdir(hierarchy + parent)) << strerror(errno);

  pipeline::Pipeline pipeline{pipeline::Options{}};
  CgroupOptions options;
  options.cgroup_root = kRoot;
  options.proc_root = "/proc";
  options.max_depth = 2;
  options.rescan_interval = absl::ZeroDuration();  // a rescan every cycle
  auto collector = NewCgroupCollector(options, pipeline);
  ASSERT_TRUE(collector.ok()) << collector.status();
  CollectStats stats;
  ASSERT_TRUE(testing::Cycle(pipeline, **collector, stats, 1000).ok());
  const uint64_t walks = stats.discovery_walks;
  EXPECT_GE(walks, 1u);
  auto has = [&](const std::string& id) {
    for (const auto& [entity, ident] : (*collector)->Identities()) {
      if (ident.id == id) return true;
    }
    return false;
  };
  ASSERT_TRUE(has(parent));

  const std::string late = parent + "/late";
  ASSERT_TRUE(cgroups_.Mkdir(hierarchy + late)) << strerror(errno);
  ASSERT_TRUE(testing::Cycle(pipeline, **collector, stats, 2000).ok());
  EXPECT_TRUE(has(late)) << "a cgroup made after start was not found at the next rescan";
  // Other cgroups on this shared machine may come and go too: at least ours.
  EXPECT_GT(stats.discovery_walks, walks);

  ASSERT_TRUE(cgroups_.Rmdir(hierarchy + late));
  ASSERT_TRUE(testing::Cycle(pipeline, **collector, stats, 3000).ok());
  EXPECT_FALSE(has(late));
  EXPECT_EQ(stats.read_errors, 0u);
}

}  // namespace
}  // namespace nodepulse::collectors
