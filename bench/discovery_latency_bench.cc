// Discovery latency under churn (issue 17): how long after a cgroup's
// directory appears (or disappears) the cgroup collector tracks (or drops)
// it, with the collector cycling every second as the agent does.
//
// Real cgroups (needs root): a churn thread creates a cgroup
// nodepulse-disc-<rand>/cN in every hierarchy (all v1 controllers the bench
// knows, or the cgroup2 root on a pure v2 host) and removes the oldest one,
// at --rate per second each, while the main thread runs Collect() once a
// second. Latency is from the first mkdir (rmdir) to the end of the first
// cycle whose Identities() includes (no longer includes) the cgroup. With
// --static=N, N more cgroups exist throughout, so the cost of the walks the
// churn triggers is that of a node with N containers: printed as the mean
// CPU time of Collect() in cycles with and without a walk. No assertion: it
// prints p50/p99/max. Usage:
//   discovery_latency_bench [--seconds=60] [--rate=5] [--static=0]
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "nodepulse/collectors/cgroup.h"
#include "nodepulse/pipeline/pipeline.h"

namespace {

using Clock = std::chrono::steady_clock;
constexpr char kRoot[] = "/sys/fs/cgroup";

std::vector<std::string> Hierarchies() {
  struct stat st;
  if (::stat(absl::StrCat(kRoot, "/cgroup.controllers").c_str(), &st) == 0) return {kRoot};
  std::vector<std::string> out;
  for (const char* h : {"cpu", "cpuacct", "memory", "blkio", "pids"}) {
    std::string dir = absl::StrCat(kRoot, "/", h);
    if (::stat(dir.c_str(), &st) == 0) out.push_back(dir);
  }
  return out;
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

void Report(const char* what, const std::vector<double>& ms) {
  std::printf("%s: n=%zu p50 %.0f ms, p99 %.0f ms, max %.0f ms\n", what, ms.size(),
              Percentile(ms, 0.5), Percentile(ms, 0.99),
              ms.empty() ? 0.0 : *std::max_element(ms.begin(), ms.end()));
}

double ThreadCpuMs() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

struct Churn {
  std::mutex mu;
  std::map<std::string, Clock::time_point> created;  // id -> first mkdir
  std::map<std::string, Clock::time_point> removed;  // id -> first rmdir
};

}  // namespace

int main(int argc, char** argv) {
  int seconds = 60;
  double rate = 5;
  int statics = 0;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--static=", 0) == 0) (void)absl::SimpleAtoi(a.substr(9), &statics);
    if (a.rfind("--seconds=", 0) == 0) (void)absl::SimpleAtoi(a.substr(10), &seconds);
    if (a.rfind("--rate=", 0) == 0) (void)absl::SimpleAtod(a.substr(7), &rate);
  }
  if (geteuid() != 0) {
    std::fprintf(stderr, "needs root to create cgroups\n");
    return 77;
  }
  const std::vector<std::string> roots = Hierarchies();
  std::random_device rd;
  const std::string parent = absl::StrCat("nodepulse-disc-", rd() % 100000000);
  for (const std::string& r : roots) {
    ::mkdir(absl::StrCat(r, "/", parent).c_str(), 0755);
    for (int i = 0; i < statics; ++i) ::mkdir(absl::StrCat(r, "/", parent, "/s", i).c_str(), 0755);
  }

  nodepulse::pipeline::Pipeline pipeline{nodepulse::pipeline::Options{}};
  nodepulse::collectors::CgroupOptions options;
  options.max_depth = 2;  // parent/cN
  auto collector = nodepulse::collectors::NewCgroupCollector(options, pipeline);
  if (!collector.ok()) {
    std::fprintf(stderr, "%s\n", std::string(collector.status().message()).c_str());
    return 1;
  }

  Churn churn;
  std::atomic<bool> stop{false};
  std::vector<std::string> live;  // churn thread only
  std::thread churner([&] {
    std::mt19937 rng(rd());
    std::exponential_distribution<double> gap(rate);
    for (int n = 0; !stop.load(); ++n) {
      std::this_thread::sleep_for(std::chrono::duration<double>(gap(rng)));
      const std::string id = absl::StrCat("/", parent, "/c", n);
      {
        std::lock_guard<std::mutex> lock(churn.mu);
        churn.created[id] = Clock::now();
      }
      for (const std::string& r : roots) ::mkdir((r + id).c_str(), 0755);
      live.push_back(id);
      if (live.size() > 20) {
        const std::string old = live.front();
        live.erase(live.begin());
        {
          std::lock_guard<std::mutex> lock(churn.mu);
          churn.removed[old] = Clock::now();
        }
        for (const std::string& r : roots) ::rmdir((r + old).c_str());
      }
    }
  });

  std::vector<double> found_ms, dropped_ms;
  double walk_cpu_ms = 0, quiet_cpu_ms = 0;
  int walk_cycles = 0, quiet_cycles = 0;
  auto tick = Clock::now();
  for (int cycle = 0; cycle < seconds; ++cycle) {
    tick += std::chrono::seconds(1);
    std::this_thread::sleep_until(tick);
    pipeline.BeginCycle(cycle * 1000);
    nodepulse::collectors::CollectStats stats;
    const double cpu0 = ThreadCpuMs();
    (void)(*collector)->Collect(stats);
    const double cpu = ThreadCpuMs() - cpu0;
    pipeline.EndCycle();
    if (cycle > 0) {  // the first cycle reads every file once
      (stats.discovery_walks > 0 ? walk_cpu_ms : quiet_cpu_ms) += cpu;
      ++(stats.discovery_walks > 0 ? walk_cycles : quiet_cycles);
    }
    const auto done = Clock::now();
    std::map<std::string, bool> tracked;
    for (const auto& [entity, identity] : (*collector)->Identities()) tracked[identity.id] = true;
    std::lock_guard<std::mutex> lock(churn.mu);
    for (auto it = churn.created.begin(); it != churn.created.end();) {
      if (tracked.count(it->first) != 0) {
        found_ms.push_back(std::chrono::duration<double, std::milli>(done - it->second).count());
        it = churn.created.erase(it);
      } else {
        ++it;
      }
    }
    for (auto it = churn.removed.begin(); it != churn.removed.end();) {
      if (tracked.count(it->first) == 0 && churn.created.count(it->first) == 0) {
        dropped_ms.push_back(std::chrono::duration<double, std::milli>(done - it->second).count());
        it = churn.removed.erase(it);
      } else {
        ++it;
      }
    }
  }
  stop = true;
  churner.join();
  collector->reset();
  for (const std::string& id : live) {
    for (const std::string& r : roots) ::rmdir((r + id).c_str());
  }
  for (const std::string& r : roots) {
    for (int i = 0; i < statics; ++i) ::rmdir(absl::StrCat(r, "/", parent, "/s", i).c_str());
    ::rmdir(absl::StrCat(r, "/", parent).c_str());
  }
  std::printf("interval 1 s, rescan-interval %s, churn %.1f creates + removes per second, %d s\n",
              absl::FormatDuration(options.rescan_interval).c_str(), rate, seconds);
  Report("discovered after mkdir", found_ms);
  Report("dropped after rmdir", dropped_ms);
  std::printf("%d static cgroups: Collect() CPU %.2f ms in %d cycles with a walk, %.2f ms in %d "
              "without\n",
              statics, walk_cycles > 0 ? walk_cpu_ms / walk_cycles : 0.0, walk_cycles,
              quiet_cycles > 0 ? quiet_cpu_ms / quiet_cycles : 0.0, quiet_cycles);
  return 0;
}
