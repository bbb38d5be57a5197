// Cgroup collector cost on real cgroups, against its floor in the same run.
//
//   BM_CollectCgroups/N  one steady-state Collect() cycle with the per-file
//                        cadence on: pread + parse + Set of every tracked
//                        cgroup's fast files (slow ones are re-emitted from
//                        their last values; --slow-interval is an hour here,
//                        so they are read only at the warm-up cycle).
//                        Pipeline::BeginCycle/EndCycle are EXCLUDED (manual
//                        timing around Collect only); they belong to the
//                        pipeline's own benchmarks.
//   BM_PreadFastFloor/N  pread of exactly the collector's open fast files
//                        (found through /proc/self/fd) into one buffer, no
//                        parsing: the floor of BM_CollectCgroups.
//   BM_PreadFloor/N      the same for all of its open files: what reading
//                        every file every cycle costs at least.
//
// Setup (needs root): N cgroups nodepulse-bench-<rand>/cNNNN in each of the
// cpu, cpuacct, memory, blkio and pids v1 hierarchies, five of them with a
// sleeping process; all removed afterwards (also on SIGINT/SIGTERM). The
// collector walks the whole host, so the few other cgroups of the machine are
// included in both the benchmark and its floor; items = cgroups tracked.
//
// Counters: ns_per_container, files (open fds read per cycle),
// allocs_per_cycle (operator new calls inside Collect(); target 0) and
// user/sys CPU per cycle (the machine is shared, so wall time is noisy).
// A summary line per N prints collect/floor (mean wall time per cycle over
// all runs) at the end. Run with --benchmark_repetitions=5 on a shared
// machine and compare the medians too.
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "bench/floor.h"
#include "benchmark/benchmark.h"
#include "collectors/cgroup/cgroup_files.h"
#include "nodepulse/collectors/cgroup.h"
#include "nodepulse/pipeline/pipeline.h"
// Replaces operator new for this binary: allocs_per_cycle.
#include "tests/support/alloc_counter.h"

namespace {

using nodepulse::collectors::CgroupCollector;
using nodepulse::collectors::CgroupOptions;
using nodepulse::collectors::CollectStats;
using nodepulse::collectors::NewCgroupCollector;
namespace pipeline = nodepulse::pipeline;

constexpr char kRoot[] = "/sys/fs/cgroup";
constexpr const char* kHierarchies[] = {"cpu", "cpuacct", "memory", "blkio", "pids"};
constexpr int kSleepers = 5;
constexpr int kSleeperLifetimeS = 600;  // backstop if cleanup never runs

// User and system CPU of this thread, ns: on a shared 2-core machine wall
// time includes preemption, CPU time does not.
// Also counts context switches: voluntary ones mean the reads blocked.
double g_vcsw = 0, g_ivcsw = 0;
void ThreadCpuNs(double* user, double* sys) {
  rusage ru;
  getrusage(RUSAGE_THREAD, &ru);
  *user = ru.ru_utime.tv_sec * 1e9 + ru.ru_utime.tv_usec * 1e3;
  *sys = ru.ru_stime.tv_sec * 1e9 + ru.ru_stime.tv_usec * 1e3;
  g_vcsw = static_cast<double>(ru.ru_nvcsw);
  g_ivcsw = static_cast<double>(ru.ru_nivcsw);
}

double NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e9 + ts.tv_nsec;
}

// Everything the bench created, for cleanup from normal exit or a signal.
// Plain arrays and raw syscalls so the signal path stays simple.
struct Created {
  std::vector<pid_t> pids;
  std::vector<std::string> dirs;  // parents first
};
Created* g_created = nullptr;

void CleanupCreated() {
  if (g_created == nullptr) return;
  for (pid_t p : g_created->pids) {
    kill(p, SIGKILL);
    waitpid(p, nullptr, 0);
  }
  g_created->pids.clear();
  for (auto it = g_created->dirs.rbegin(); it != g_created->dirs.rend(); ++it) {
    for (int i = 0; i < 100 && rmdir(it->c_str()) != 0 && errno == EBUSY; ++i) usleep(10000);
  }
  g_created->dirs.clear();
}

void OnSignal(int sig) {
  CleanupCreated();
  _exit(128 + sig);
}

bool WriteFile(const std::string& path, const std::string& text) {
  int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  close(fd);
  return ok;
}

// One set of N bench cgroups with a collector and the floor's fd list.
class World {
 public:
  explicit World(int n) {
    std::random_device rd;
    parent_ = absl::StrCat("nodepulse-bench-", rd() % 100000000);
    for (const char* h : kHierarchies) {
      Mkdir(absl::StrCat(kRoot, "/", h, "/", parent_));
      for (int i = 0; i < n; ++i) Mkdir(absl::StrCat(kRoot, "/", h, "/", parent_, "/c", i));
    }
    for (int i = 0; i < kSleepers && i < n; ++i) SpawnSleeper(i);

    CgroupOptions options;
    options.cgroup_root = kRoot;
    options.proc_root = "/proc";
    options.max_depth = 2;
    options.rescan_interval = absl::Hours(1);  // steady state only
    options.slow_interval = absl::Hours(1);    // slow files: warm-up read only
    auto c = NewCgroupCollector(options, pipeline_);
    if (!c.ok()) {
      error_ = std::string(c.status().message());
      return;
    }
    collector_ = *std::move(c);
    // Warm-up cycle: interns per-device series, grows buffers.
    pipeline_.BeginCycle(1);
    absl::Status s = collector_->Collect(stats_);
    pipeline_.EndCycle();
    if (!s.ok()) error_ = std::string(s.message());
    FindCollectorFds();
  }

  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }
  pipeline::Pipeline& pipeline() { return pipeline_; }
  CgroupCollector& collector() { return *collector_; }
  CollectStats& stats() { return stats_; }
  const std::vector<int>& fds() const { return fds_; }
  const std::vector<int>& fast_fds() const { return fast_fds_; }

 private:
  void Mkdir(const std::string& path) {
    if (mkdir(path.c_str(), 0755) == 0) {
      g_created->dirs.push_back(path);
    } else if (error_.empty()) {
      error_ = absl::StrCat("mkdir ", path, ": ", strerror(errno));
    }
  }

  void SpawnSleeper(int i) {
    pid_t pid = fork();
    if (pid == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      alarm(kSleeperLifetimeS);
      for (;;) pause();
    }
    if (pid < 0) return;
    g_created->pids.push_back(pid);
    for (const char* h : kHierarchies) {
      WriteFile(absl::StrCat(kRoot, "/", h, "/", parent_, "/c", i, "/cgroup.procs"),
                std::to_string(pid));
    }
  }

  // The collector's open files are exactly the fds pointing under
  // /sys/fs/cgroup (the bench holds no other).
  void FindCollectorFds() {
    fds_ = nodepulse::bench::OpenFdsUnder("/sys/fs/cgroup/");
    for (const nodepulse::bench::OpenFd& f : nodepulse::bench::OpenPathFds()) {
      if (f.target.rfind("/sys/fs/cgroup/", 0) == 0 && !IsSlowFile(f.target)) {
        fast_fds_.push_back(f.fd);
      }
    }
  }

  // By the collector's table (cgroup_files.h); its blkio rows name several
  // candidate files, of which io_serviced is the slow one.
  static bool IsSlowFile(const std::string& path) {
    namespace ci = nodepulse::collectors::cgroup_internal;
    const std::string base = path.substr(path.rfind('/') + 1);
    if (base.find("io_serviced") != std::string::npos) return true;
    for (int k = 0; k < ci::kNumFileKinds; ++k) {
      if (ci::CadenceOf(static_cast<ci::FileKind>(k)) == ci::Cadence::kSlow &&
          base == ci::kFiles[k].name) {
        return true;
      }
    }
    return false;
  }

  std::string parent_;
  std::string error_;
  pipeline::Pipeline pipeline_{pipeline::Options{}};
  std::unique_ptr<CgroupCollector> collector_;
  CollectStats stats_;
  std::vector<int> fds_;
  std::vector<int> fast_fds_;
};

std::unique_ptr<World> g_world;
int g_world_n = -1;
// Sum of timed ns and of cycles over every run (calibration runs included),
// by N, for the closing summary.
struct Totals {
  double ns = 0;
  double cycles = 0;
  double per_cycle() const { return cycles > 0 ? ns / cycles : 0; }
};
std::map<int, Totals> g_collect, g_floor, g_fast_floor;

World* GetWorld(int n) {
  if (g_world_n != n) {
    g_world.reset();
    CleanupCreated();
    g_world = std::make_unique<World>(n);
    g_world_n = n;
  }
  return g_world.get();
}

void BM_CollectCgroups(benchmark::State& state) {
  if (geteuid() != 0) return state.SkipWithError("needs root to create cgroups");
  World* w = GetWorld(static_cast<int>(state.range(0)));
  if (!w->ok()) return state.SkipWithError(w->error().c_str());
  double total_ns = 0, user_ns = 0, sys_ns = 0, vcsw = 0, ivcsw = 0;
  uint64_t allocs = 0, containers = 0, cycles = 0;
  int64_t ts = 2;
  for (auto _ : state) {
    w->pipeline().BeginCycle(ts++);
    nodepulse::testing::AllocCounter alloc_counter;
    alloc_counter.Start();
    double u0, s0, u1, s1;
    ThreadCpuNs(&u0, &s0);
    double v0 = g_vcsw, i0 = g_ivcsw;
    double t0 = NowNs();
    absl::Status s = w->collector().Collect(w->stats());
    double t1 = NowNs();
    ThreadCpuNs(&u1, &s1);
    vcsw += g_vcsw - v0;
    ivcsw += g_ivcsw - i0;
    user_ns += u1 - u0;
    sys_ns += s1 - s0;
    allocs += alloc_counter.Stop();
    w->pipeline().EndCycle();
    benchmark::DoNotOptimize(s);
    state.SetIterationTime((t1 - t0) * 1e-9);
    total_ns += t1 - t0;
    containers = w->stats().containers;
    ++cycles;
  }
  state.SetItemsProcessed(static_cast<int64_t>(containers * cycles));
  state.counters["containers"] = static_cast<double>(containers);
  state.counters["files"] = static_cast<double>(w->fds().size());
  state.counters["ns_per_container"] = total_ns / static_cast<double>(containers * cycles);
  state.counters["allocs_per_cycle"] = static_cast<double>(allocs) / static_cast<double>(cycles);
  state.counters["user_us_per_cycle"] = user_ns / 1e3 / static_cast<double>(cycles);
  state.counters["sys_us_per_cycle"] = sys_ns / 1e3 / static_cast<double>(cycles);
  state.counters["vcsw_per_cycle"] = vcsw / static_cast<double>(cycles);
  state.counters["ivcsw_per_cycle"] = ivcsw / static_cast<double>(cycles);
  Totals& t = g_collect[static_cast<int>(state.range(0))];
  t.ns += total_ns;
  t.cycles += static_cast<double>(cycles);
}

void PreadFloor(benchmark::State& state, bool fast_only) {
  if (geteuid() != 0) return state.SkipWithError("needs root to create cgroups");
  World* w = GetWorld(static_cast<int>(state.range(0)));
  if (!w->ok()) return state.SkipWithError(w->error().c_str());
  const std::vector<int>& fds = fast_only ? w->fast_fds() : w->fds();
  std::vector<char> buf(64 * 1024);
  double total_ns = 0, user_ns = 0, sys_ns = 0, vcsw = 0, ivcsw = 0;
  uint64_t cycles = 0, bytes = 0;
  const uint64_t containers = w->stats().containers;
  int64_t ts = 1000000;
  for (auto _ : state) {
    // The same untimed pipeline cycle as BM_CollectCgroups, so both start
    // with the caches EndCycle() leaves behind; only the collector differs.
    w->pipeline().BeginCycle(ts++);
    w->pipeline().EndCycle();
    double u0, s0, u1, s1;
    ThreadCpuNs(&u0, &s0);
    double v0 = g_vcsw, i0 = g_ivcsw;
    double t0 = NowNs();
    uint64_t n = nodepulse::bench::PreadAll(fds, buf.data(), buf.size());
    benchmark::DoNotOptimize(n);
    bytes += n;
    double t1 = NowNs();
    ThreadCpuNs(&u1, &s1);
    vcsw += g_vcsw - v0;
    ivcsw += g_ivcsw - i0;
    user_ns += u1 - u0;
    sys_ns += s1 - s0;
    state.SetIterationTime((t1 - t0) * 1e-9);
    total_ns += t1 - t0;
    ++cycles;
  }
  state.counters["user_us_per_cycle"] = user_ns / 1e3 / static_cast<double>(cycles);
  state.counters["sys_us_per_cycle"] = sys_ns / 1e3 / static_cast<double>(cycles);
  state.counters["vcsw_per_cycle"] = vcsw / static_cast<double>(cycles);
  state.counters["ivcsw_per_cycle"] = ivcsw / static_cast<double>(cycles);
  state.SetItemsProcessed(static_cast<int64_t>(containers * cycles));
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
  state.counters["containers"] = static_cast<double>(containers);
  state.counters["files"] = static_cast<double>(fds.size());
  state.counters["ns_per_container"] = total_ns / static_cast<double>(containers * cycles);
  Totals& t = (fast_only ? g_fast_floor : g_floor)[static_cast<int>(state.range(0))];
  t.ns += total_ns;
  t.cycles += static_cast<double>(cycles);
}

void BM_PreadFastFloor(benchmark::State& state) { PreadFloor(state, true); }
void BM_PreadFloor(benchmark::State& state) { PreadFloor(state, false); }

}  // namespace

int main(int argc, char** argv) {
  Created created;
  g_created = &created;
  signal(SIGINT, OnSignal);
  signal(SIGTERM, OnSignal);
  for (int n : {100, 1000}) {
    // Registered per N, collect then floor, so each world is built once.
    benchmark::RegisterBenchmark("BM_CollectCgroups",
                                 BM_CollectCgroups)
        ->Arg(n)
        ->UseManualTime()
        ->MinTime(2.0)
        ->Unit(benchmark::kMicrosecond);
    using Fn = void (*)(benchmark::State&);
    for (auto [name, fn] : {std::pair<const char*, Fn>{"BM_PreadFastFloor", BM_PreadFastFloor},
                            std::pair<const char*, Fn>{"BM_PreadFloor", BM_PreadFloor}}) {
      benchmark::RegisterBenchmark(name, fn)
          ->Arg(n)
          ->UseManualTime()
          ->MinTime(2.0)
          ->Unit(benchmark::kMicrosecond);
    }
  }
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  g_world.reset();
  CleanupCreated();
  for (const auto& [n, collect] : g_collect) {
    auto f = g_floor.find(n);
    auto ff = g_fast_floor.find(n);
    if (f == g_floor.end() || f->second.per_cycle() <= 0 || ff == g_fast_floor.end() ||
        ff->second.per_cycle() <= 0) {
      continue;
    }
    std::printf(
        "N=%d collect (cadence on) %.0f us/cycle; pread floor of the fast files %.0f us/cycle "
        "(ratio %.2f); of all files %.0f us/cycle (ratio %.2f)\n",
        n, collect.per_cycle() / 1e3, ff->second.per_cycle() / 1e3,
        collect.per_cycle() / ff->second.per_cycle(), f->second.per_cycle() / 1e3,
        collect.per_cycle() / f->second.per_cycle());
  }
  return 0;
}
