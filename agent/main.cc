// nodepulse: node metrics agent. See README.md for flags and endpoints.
#include <curl/curl.h>
#include <malloc.h>
#include <signal.h>
#include <sys/resource.h>

#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "agent.h"
#include "cli.h"
#include "cluster_cli.h"
#include "config.h"
#include "nodepulse/base/log.h"

namespace {

// 1000 containers x ~10 open cgroup files exceeds the usual soft limit of
// 1024 fds, so lift the soft limit to the hard one before collecting.
void RaiseFdLimit() {
  rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
  rlim_t before = rl.rlim_cur;
  if (rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
      nodepulse::LogWarn("cannot raise RLIMIT_NOFILE from ", before, ": fd-heavy nodes may lose cgroups");
      return;
    }
  }
  nodepulse::LogDebug("RLIMIT_NOFILE ", before, " -> ", rl.rlim_cur);
  if (rl.rlim_cur < 16384) {
    nodepulse::LogWarn("RLIMIT_NOFILE is ", rl.rlim_cur,
                       "; nodes with >1000 containers need ~10 fds per container");
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv, argv + argc);
  // `nodepulse health|top ...`: clients of a running agent, not the agent.
  if (nodepulse::agent::IsCliCommand(args)) return nodepulse::agent::RunCli(args);
  // `nodepulse merge|cluster ...`: the autoscaler side of the aggregates API.
  if (nodepulse::agent::IsClusterCommand(args)) {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    return nodepulse::agent::RunClusterCommand(args);
  }
  absl::StatusOr<nodepulse::agent::Config> cfg = nodepulse::agent::ParseFlags(args);
  if (!cfg.ok()) {
    std::fprintf(stderr, "nodepulse: %s\n", std::string(cfg.status().message()).c_str());
    return 2;
  }
  if (cfg->help) {
    std::fputs(nodepulse::agent::Usage().c_str(), stdout);
    return 0;
  }
  if (cfg->version) {
    std::printf("nodepulse %s\n", NODEPULSE_VERSION);
    return 0;
  }
  nodepulse::SetLogLevel(cfg->log_level);
  RaiseFdLimit();
  // The rings grow in whole blocks, each growth re-laying them into a larger
  // allocation. With glibc's dynamic mmap threshold, the freed old layouts
  // stay in the heap and RSS ends up far above the live ring bytes. A fixed
  // threshold keeps large blocks mmap'ed, so freeing returns them to the OS
  // and RSS tracks nodepulse_pipeline_bytes. Not every one: glibc mmaps only
  // when the top of the heap cannot serve the request, and takes a free heap
  // chunk that fits first (churn test: malloc_info showed the 1.1 MB raw ring
  // mmap'ed before, in a hole the churn left after) - which is why the
  // pipeline maps its ring arrays itself (internal/history.h AllocateArray).
  mallopt(M_MMAP_THRESHOLD, 1 << 20);
  // Free space at the top of the heap beyond 1 MiB goes back at once: with
  // 4 MiB, RSS after container churn floated up to 4 MB above what the
  // agent held (the churn test's residual).
  mallopt(M_TRIM_THRESHOLD, 1 << 20);
  // One heap for every thread. glibc gives each thread that allocates its own
  // arena, and what a container's series left in an HTTP or aggregates
  // thread's arena stayed resident even after malloc_trim: measured in the
  // churn test, RSS +22% after 30 s of churn with per-thread arenas, +8.8%
  // with one. In steady state the threads allocate little (the collection
  // thread nothing per sample), so the shared lock costs nothing measurable.
  mallopt(M_ARENA_MAX, 1);
  // libcurl's global init is not thread-safe: once, before any thread starts.
  curl_global_init(CURL_GLOBAL_DEFAULT);

  // Block the stop signals in every thread; main waits for them with sigwait
  // so no work happens in a signal handler.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  // A scrape client that disconnects mid-write must not kill the agent.
  signal(SIGPIPE, SIG_IGN);

  nodepulse::agent::Agent agent(*std::move(cfg));
  if (absl::Status s = agent.Start(); !s.ok()) {
    nodepulse::LogError("cannot start: ", s.ToString());
    return 1;
  }
  int sig = 0;
  sigwait(&stop_signals, &sig);
  nodepulse::LogInfo("received ", sig == SIGTERM ? "SIGTERM" : "SIGINT", ", stopping");
  agent.Stop();
  curl_global_cleanup();
  nodepulse::LogInfo("stopped cleanly");
  return 0;
}
