// e2e_load: the containers' processes for bench/e2e/run.sh. One spawner
// forks one child per plan line; each child first moves itself into its
// cgroup in every given hierarchy (so every page and CPU cycle it uses is
// charged there from the start) and then does its work:
//
//   idle        sleeps (pause)                       - a sidecar, a pause container
//   busy <pct>  burns <pct>% of one CPU in 100 ms    - a light service
//               periods, measured in its own CPU time,
//               so preemption does not add load
//   mem <MiB>   allocates and touches <MiB>, sleeps  - a cache holding memory
//
// usage: e2e_load --hierarchies=DIR[,DIR...] --plan=FILE [--lifetime=SECONDS]
//                 [--pids=FILE]
//   DIR   a hierarchy's test parent, e.g. /sys/fs/cgroup/cpu/nodepulse-e2e-123
//   FILE  lines "<cgroup path relative to DIR> <kind> [<arg>]"
//
// The spawner prints "ready <n>" once every child has joined its cgroups (or
// exits 1 naming the first that could not), writes the children's PIDs to
// --pids, and waits. On SIGTERM/SIGINT it SIGKILLs and reaps its children
// and exits 0. Backstops so nothing outlives a crashed run.sh by much: every
// child dies with the spawner (PR_SET_PDEATHSIG) and after --lifetime
// seconds (alarm, default 3600).
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace {

struct Work {
  std::string cgroup;  // relative, "/kubepods/burstable/pod.../<id>"
  std::string kind;    // idle | busy | mem
  double arg = 0;      // busy: percent of one CPU; mem: MiB
};

bool WriteFile(const std::string& path, const std::string& text) {
  int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  return close(fd) == 0 && ok;
}

int64_t Ns(clockid_t clock) {
  timespec ts;
  clock_gettime(clock, &ts);
  return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

[[noreturn]] void Busy(double pct) {
  constexpr int64_t kPeriodNs = 100000000;  // 100 ms
  const int64_t burn_ns = static_cast<int64_t>(pct / 100.0 * kPeriodNs);
  // Random phase, so a thousand children do not wake in lockstep.
  int64_t next = Ns(CLOCK_MONOTONIC) + (getpid() * 7919LL) % kPeriodNs;
  for (;;) {
    timespec ts{static_cast<time_t>(next / 1000000000LL), static_cast<long>(next % 1000000000LL)};
    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr);
    const int64_t until = Ns(CLOCK_THREAD_CPUTIME_ID) + burn_ns;
    volatile uint64_t x = 0;
    while (Ns(CLOCK_THREAD_CPUTIME_ID) < until) x = x + 1;
    next += kPeriodNs;
    const int64_t now = Ns(CLOCK_MONOTONIC);
    if (next < now) next = now;  // throttled or preempted: do not catch up
  }
}

[[noreturn]] void HoldMemory(double mib) {
  size_t n = static_cast<size_t>(mib * 1024 * 1024);
  char* p = static_cast<char*>(malloc(n));
  if (p == nullptr) _exit(5);
  for (size_t i = 0; i < n; i += 4096) p[i] = static_cast<char>(i | 1);
  for (;;) pause();
}

// In the child: join the cgroup everywhere, report 'k' (or 'f') on `ack`,
// then work. Never returns.
[[noreturn]] void Child(const Work& w, const std::vector<std::string>& hierarchies, int ack,
                        int lifetime) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  signal(SIGTERM, SIG_DFL);
  signal(SIGINT, SIG_DFL);
  const std::string pid = std::to_string(getpid());
  bool ok = true;
  for (const std::string& h : hierarchies) ok &= WriteFile(h + w.cgroup + "/cgroup.procs", pid);
  char c = ok ? 'k' : 'f';
  if (write(ack, &c, 1) != 1) _exit(4);
  close(ack);
  if (!ok) _exit(4);
  alarm(static_cast<unsigned>(lifetime));
  if (w.kind == "busy") Busy(w.arg);
  if (w.kind == "mem") HoldMemory(w.arg);
  for (;;) pause();
}

std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string part; std::getline(in, part, sep);) {
    if (!part.empty()) out.push_back(part);
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> hierarchies;
  std::string plan_path, pids_path;
  int lifetime = 3600;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--hierarchies=", 0) == 0) {
      hierarchies = Split(a.substr(14), ',');
    } else if (a.rfind("--plan=", 0) == 0) {
      plan_path = a.substr(7);
    } else if (a.rfind("--pids=", 0) == 0) {
      pids_path = a.substr(7);
    } else if (a.rfind("--lifetime=", 0) == 0) {
      lifetime = atoi(a.c_str() + 11);
    } else {
      fprintf(stderr, "e2e_load: unknown argument %s\n", a.c_str());
      return 2;
    }
  }
  if (hierarchies.empty() || plan_path.empty() || lifetime <= 0) {
    fprintf(stderr, "usage: e2e_load --hierarchies=DIR[,DIR...] --plan=FILE [--lifetime=S] [--pids=FILE]\n");
    return 2;
  }
  std::vector<Work> plan;
  std::ifstream in(plan_path);
  for (std::string line; std::getline(in, line);) {
    std::istringstream ls(line);
    Work w;
    if (!(ls >> w.cgroup >> w.kind)) continue;
    ls >> w.arg;
    plan.push_back(w);
  }

  // SIGTERM/SIGINT are taken synchronously with sigwait below; children
  // restore the defaults.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  sigprocmask(SIG_BLOCK, &stop, nullptr);

  int ack[2];
  if (pipe2(ack, O_CLOEXEC) != 0) return 1;
  std::vector<pid_t> children;
  children.reserve(plan.size());
  auto kill_all = [&] {
    for (pid_t p : children) kill(p, SIGKILL);
    for (pid_t p : children) waitpid(p, nullptr, 0);
  };
  for (const Work& w : plan) {
    pid_t pid = fork();
    if (pid == 0) {
      sigprocmask(SIG_UNBLOCK, &stop, nullptr);
      close(ack[0]);
      Child(w, hierarchies, ack[1], lifetime);
    }
    if (pid < 0) {
      fprintf(stderr, "e2e_load: fork: %s\n", strerror(errno));
      kill_all();
      return 1;
    }
    children.push_back(pid);
  }
  close(ack[1]);
  if (!pids_path.empty()) {
    std::ofstream out(pids_path);
    for (pid_t p : children) out << p << "\n";
  }
  size_t joined = 0, failed = 0;
  while (joined + failed < plan.size()) {
    char c;
    ssize_t n = read(ack[0], &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    (c == 'k' ? joined : failed)++;
  }
  if (joined != plan.size()) {
    fprintf(stderr, "e2e_load: %zu of %zu children could not join their cgroups\n",
            plan.size() - joined, plan.size());
    kill_all();
    return 1;
  }
  printf("ready %zu\n", joined);
  fflush(stdout);
  int sig = 0;
  sigwait(&stop, &sig);
  kill_all();
  return 0;
}
