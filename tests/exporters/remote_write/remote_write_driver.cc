// remote_write_driver: a tiny agent for the SIGKILL-restart test. A real
// Pipeline produces one cycle every --interval_ms with known values (value =
// --start + cycle) for two series, and a RemoteWriter sends them through its
// disk queue under --state_dir. After each sample is on disk it prints
//   sample <timestamp_ms> <value>
// (flushed), so a test that SIGKILLs this process knows exactly which
// samples must eventually arrive. Every cycle it prints
//   stats pending=<n> sent=<n>
// and on SIGTERM it drains (Stop with a deadline) and prints
//   final sent=<n> enqueued=<n> recovered=<n> dropped=<n> failed=<n> pending=<n>
//
// Usage: remote_write_driver <url> <state_dir> <interval_ms> <start> <metric>
#include <curl/curl.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/time/clock.h"
#include "nodepulse/exporters/remote_write/remote_write.h"
#include "nodepulse/pipeline/pipeline.h"

namespace {
std::atomic<bool> g_stop{false};
void OnSignal(int) { g_stop.store(true); }
}  // namespace

int main(int argc, char** argv) {
  using namespace nodepulse;
  if (argc != 6) {
    std::fprintf(stderr, "usage: %s <url> <state_dir> <interval_ms> <start> <metric>\n", argv[0]);
    return 2;
  }
  int interval_ms = 0;
  int64_t start = 0;
  if (!absl::SimpleAtoi(argv[3], &interval_ms) || !absl::SimpleAtoi(argv[4], &start)) {
    std::fprintf(stderr, "bad interval or start\n");
    return 2;
  }
  signal(SIGTERM, OnSignal);
  signal(SIGINT, OnSignal);
  curl_global_init(CURL_GLOBAL_DEFAULT);

  pipeline::Pipeline p{pipeline::Options{}};
  auto metric = p.RegisterMetric({argv[5], "driver test value", pipeline::MetricKind::kGauge, false});
  if (!metric.ok()) {
    std::fprintf(stderr, "%s\n", std::string(metric.status().message()).c_str());
    return 1;
  }
  pipeline::EntityId e = p.AddEntity({{"container", "app"}, {"namespace", "rw-test"}, {"pod", "driver-0"}});
  pipeline::SeriesId a = p.Intern(*metric, e, {{"kind", "a"}});
  pipeline::SeriesId b = p.Intern(*metric, e, {{"kind", "b"}});

  exporters::RemoteWriteOptions o;
  o.urls = {argv[1]};
  o.state_dir = argv[2];
  o.min_backoff = absl::Milliseconds(50);
  o.max_backoff = absl::Milliseconds(500);
  o.timeout = absl::Seconds(5);
  o.fsync_interval = absl::Milliseconds(100);
  auto writer = exporters::RemoteWriter::Create(o, nullptr);
  if (!writer.ok()) {
    std::fprintf(stderr, "%s\n", std::string(writer.status().message()).c_str());
    return 1;
  }
  const auto initial = (*writer)->stats();
  std::printf("recovered %llu\n", static_cast<unsigned long long>(initial.samples_recovered));
  std::fflush(stdout);

  uint64_t cycle = 0;
  while (!g_stop.load()) {
    const int64_t ts = absl::ToUnixMillis(absl::Now());
    const double value = static_cast<double>(start + static_cast<int64_t>(cycle));
    p.BeginCycle(ts);
    p.Set(a, value);
    p.Set(b, -value);
    p.EndCycle();
    ++cycle;
    (*writer)->OnSnapshot(p.snapshot());
    // Print only once the sample is in the disk queue: the SIGKILL test
    // expects every printed sample to arrive.
    for (int i = 0; i < 2000 && (*writer)->stats().snapshots_enqueued < cycle; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    if ((*writer)->stats().snapshots_enqueued >= cycle) {
      std::printf("sample %lld %.0f\n", static_cast<long long>(ts), value);
    }
    std::fflush(stdout);
    std::this_thread::sleep_for(std::chrono::milliseconds(interval_ms));
    // After the pause, so a receiver that keeps up shows pending=0.
    const auto st = (*writer)->stats();
    std::printf("stats pending=%llu sent=%llu\n", static_cast<unsigned long long>(st.urls[0].samples_pending),
                static_cast<unsigned long long>(st.urls[0].samples_sent));
    std::fflush(stdout);
  }
  (*writer)->Stop(absl::Seconds(20));
  const auto st = (*writer)->stats();
  std::printf("final sent=%llu enqueued=%llu recovered=%llu dropped=%llu failed=%llu pending=%llu\n",
              static_cast<unsigned long long>(st.urls[0].samples_sent),
              static_cast<unsigned long long>(st.samples_enqueued),
              static_cast<unsigned long long>(st.samples_recovered),
              static_cast<unsigned long long>(st.urls[0].samples_dropped),
              static_cast<unsigned long long>(st.urls[0].samples_failed),
              static_cast<unsigned long long>(st.urls[0].samples_pending));
  std::fflush(stdout);
  writer->reset();
  curl_global_cleanup();
  return 0;
}
