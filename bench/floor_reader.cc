// floor_reader: the floor of the end-to-end bench (bench/e2e/run.sh). It
// preads, once per interval, exactly the files the agent's collectors keep
// open - and does nothing else: no parsing, no pipeline, no HTTP. Its CPU
// and RSS are what reading the kernel's numbers costs at the very least;
// nodepulse's cost is reported as a ratio to it.
//
// Which files: a forked child builds the agent's cgroup and procfs
// collectors with the agent's options (same --cgroup-root, --proc-root,
// --cgroup-max-depth; kubepods discovery as in the agent), runs one cycle so
// they open everything, and sends the paths of its open files to the parent,
// then exits. The parent opens those paths and loops. The child keeps the
// pipeline's start-up memory out of the parent's peak RSS; it exits before
// the bench's measurement window starts, so its CPU is not measured either.
// Files of cgroups created later are not picked up (the floor does no
// rescans); run.sh creates every cgroup before starting a subject.
//
// Output (stdout): with --list the paths, one per line, then exit.
// Otherwise one line at start ("floor_reader: N files ...") and, on
// SIGTERM/SIGINT or after --seconds, a summary line with cycles, bytes per
// cycle and the cycle time p50/p99/max in microseconds (wall time of the
// pread loop).
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "bench/floor.h"
#include "nodepulse/collectors/cgroup.h"
#include "nodepulse/collectors/procfs.h"
#include "nodepulse/pipeline/pipeline.h"

namespace {

namespace collectors = nodepulse::collectors;
namespace pipeline = nodepulse::pipeline;

struct Flags {
  std::string cgroup_root = "/sys/fs/cgroup";
  std::string proc_root = "/proc";
  int max_depth = 3;
  int interval_ms = 1000;
  int seconds = 0;  // 0: until SIGTERM/SIGINT
  bool list = false;
};

constexpr char kUsage[] =
    "usage: floor_reader [--cgroup-root=/sys/fs/cgroup] [--proc-root=/proc]\n"
    "                    [--cgroup-max-depth=3] [--interval-ms=1000] [--seconds=0] [--list]\n";

bool ParseFlags(int argc, char** argv, Flags* f) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const size_t eq = a.find('=');
    const std::string name = a.substr(0, eq);
    const std::string value = eq == std::string::npos ? "" : a.substr(eq + 1);
    auto num = [&](int* out) { return absl::SimpleAtoi(value, out); };
    if (name == "--cgroup-root") {
      f->cgroup_root = value;
    } else if (name == "--proc-root") {
      f->proc_root = value;
    } else if (name == "--cgroup-max-depth") {
      if (!num(&f->max_depth)) return false;
    } else if (name == "--interval-ms") {
      if (!num(&f->interval_ms) || f->interval_ms <= 0) return false;
    } else if (name == "--seconds") {
      if (!num(&f->seconds) || f->seconds < 0) return false;
    } else if (a == "--list") {
      f->list = true;
    } else {
      return false;
    }
  }
  return true;
}

// ~10 files per container: 1000 containers exceed the usual soft limit of
// 1024, as in the agent (agent/main.cc).
void RaiseFdLimit() {
  rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

// Runs in the forked child: the agent's collectors, one cycle, then the
// paths they hold open, newline-separated, written to `out`.
int ListCollectorFiles(const Flags& f, int out) {
  std::set<int> before;
  for (const auto& o : nodepulse::bench::OpenPathFds()) before.insert(o.fd);
  pipeline::Pipeline p{pipeline::Options{}};
  collectors::CgroupOptions copts;
  copts.cgroup_root = f.cgroup_root;
  copts.proc_root = f.proc_root;
  copts.max_depth = f.max_depth;
  copts.rescan_interval = absl::Hours(1);
  auto cg = collectors::NewCgroupCollector(copts, p);
  if (!cg.ok()) {
    fprintf(stderr, "floor_reader: %s\n", std::string(cg.status().message()).c_str());
    return 1;
  }
  collectors::ProcfsOptions nopts;
  nopts.proc_root = f.proc_root;
  auto node = collectors::NewProcfsCollector(nopts, p);
  if (!node.ok()) {
    fprintf(stderr, "floor_reader: %s\n", std::string(node.status().message()).c_str());
    return 1;
  }
  collectors::CollectStats stats;
  p.BeginCycle(1);
  (void)(*cg)->Collect(stats);
  (void)(*node)->Collect(stats);
  p.EndCycle();
  std::string text;
  for (const auto& o : nodepulse::bench::OpenPathFds()) {
    if (before.count(o.fd) == 0) text += o.target + "\n";
  }
  for (size_t off = 0; off < text.size();) {
    ssize_t n = write(out, text.data() + off, text.size() - off);
    if (n <= 0) return 1;
    off += static_cast<size_t>(n);
  }
  return 0;
}

// The collectors' file list, computed in a child process (see the top).
bool CollectorFiles(const Flags& f, std::vector<std::string>* paths) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) return false;
  fflush(stdout);
  pid_t pid = fork();
  if (pid < 0) return false;
  if (pid == 0) {
    close(p[0]);
    _exit(ListCollectorFiles(f, p[1]));
  }
  close(p[1]);
  std::string text;
  char buf[65536];
  for (;;) {
    ssize_t n = read(p[0], buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  close(p[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return false;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    paths->emplace_back(line);
  }
  std::sort(paths->begin(), paths->end());
  return true;
}

volatile sig_atomic_t g_stop = 0;
void OnSignal(int) { g_stop = 1; }

int64_t MonoNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

double Percentile(std::vector<int64_t> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(q * static_cast<double>(v.size() - 1) + 0.5);
  return static_cast<double>(v[std::min(i, v.size() - 1)]);
}

}  // namespace

int main(int argc, char** argv) {
  Flags f;
  if (!ParseFlags(argc, argv, &f)) {
    fputs(kUsage, stderr);
    return 2;
  }
  RaiseFdLimit();
  std::vector<std::string> paths;
  if (!CollectorFiles(f, &paths)) {
    fprintf(stderr, "floor_reader: could not list the collectors' files under %s\n",
            f.cgroup_root.c_str());
    return 1;
  }
  if (f.list) {
    for (const std::string& p : paths) printf("%s\n", p.c_str());
    return 0;
  }
  std::vector<int> fds;
  size_t cgroup_files = 0, failed = 0;
  for (const std::string& p : paths) {
    int fd = open(p.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      ++failed;
      continue;
    }
    fds.push_back(fd);
    if (p.rfind(f.proc_root, 0) != 0) ++cgroup_files;
  }
  printf("floor_reader: %zu files (%zu cgroup, %zu proc), %zu could not be opened\n", fds.size(),
         cgroup_files, fds.size() - cgroup_files, failed);
  fflush(stdout);

  struct sigaction sa = {};
  sa.sa_handler = OnSignal;  // no SA_RESTART: the sleep returns at once
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);

  // 64 KiB holds the largest file the collectors read (memory.stat, io.stat
  // on a node with many devices); one buffer, reused, as in the agent.
  std::vector<char> buf(64 * 1024);
  std::vector<int64_t> cycle_ns;
  cycle_ns.reserve(4096);
  uint64_t bytes = 0;
  const int64_t interval_ns = static_cast<int64_t>(f.interval_ms) * 1000000;
  const int64_t start = MonoNs();
  int64_t next = start;
  while (!g_stop) {
    const int64_t t0 = MonoNs();
    bytes += nodepulse::bench::PreadAll(fds, buf.data(), buf.size());
    const int64_t t1 = MonoNs();
    if (cycle_ns.size() < cycle_ns.capacity()) cycle_ns.push_back(t1 - t0);
    if (f.seconds > 0 && t1 - start >= static_cast<int64_t>(f.seconds) * 1000000000LL) break;
    // Absolute ticks, like the agent's collection loop: no drift.
    next += interval_ns;
    timespec ts{static_cast<time_t>(next / 1000000000LL), static_cast<long>(next % 1000000000LL)};
    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr);
  }
  const size_t cycles = cycle_ns.size();
  printf("floor_reader: cycles=%zu files=%zu bytes_per_cycle=%.0f cycle_us_p50=%.0f "
         "cycle_us_p99=%.0f cycle_us_max=%.0f\n",
         cycles, fds.size(), cycles ? static_cast<double>(bytes) / static_cast<double>(cycles) : 0,
         Percentile(cycle_ns, 0.50) / 1e3, Percentile(cycle_ns, 0.99) / 1e3,
         Percentile(cycle_ns, 1.0) / 1e3);
  for (int fd : fds) close(fd);
  return 0;
}
