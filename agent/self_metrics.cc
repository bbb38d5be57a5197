#include "self_metrics.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "nodepulse/pipeline/metric_names.h"

namespace nodepulse::agent {

namespace {

std::string ReadSmallFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "";
  char buf[4096];
  ssize_t n = ::read(fd, buf, sizeof(buf));
  ::close(fd);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
}

}  // namespace

// nodepulse_build_info and the collection cycle's families.
void SelfMetrics::RegisterCycleMetrics(prometheus::Registry& r) {
  prometheus::BuildGauge()
      .Name("nodepulse_build_info")
      .Help("A metric with a constant '1' value labelled by the nodepulse version.")
      .Register(r)
      .Add({{"version", NODEPULSE_VERSION}})
      .Set(1);
  cycles_ = &prometheus::BuildCounter()
                    .Name(metric::kCycles)
                    .Help("Collection cycles completed.")
                    .Register(r)
                    .Add({});
  overruns_ = &prometheus::BuildCounter()
                      .Name(metric::kCycleOverruns)
                      .Help("Cycles that took longer than --interval, so ticks were skipped.")
                      .Register(r)
                      .Add({});
  cycle_duration_ =
      &prometheus::BuildHistogram()
           .Name(metric::kCycleDuration)
           .Help("Wall time of one collection cycle (all collectors and the pipeline).")
           .Register(r)
           .Add({}, prometheus::Histogram::BucketBoundaries{0.0005, 0.001, 0.0025, 0.005, 0.01,
                                                             0.025, 0.05, 0.1, 0.25, 0.5, 1});
  last_cycle_ = &prometheus::BuildGauge()
                        .Name("nodepulse_last_cycle_timestamp_seconds")
                        .Help("Unix time at which the last collection cycle completed.")
                        .Register(r)
                        .Add({});
}

// Per-collector families (labelled by collector).
void SelfMetrics::RegisterCollectorMetrics(prometheus::Registry& r) {
  collector_success_ = &prometheus::BuildGauge()
                               .Name(metric::kCollectorSuccess)
                               .Help("1 if the collector's last cycle succeeded, else 0.")
                               .Register(r);
  collector_duration_ = &prometheus::BuildGauge()
                                .Name(metric::kCollectorDuration)
                                .Help("Wall time of the collector's last cycle.")
                                .Register(r);
  files_read_ = &prometheus::BuildCounter()
                        .Name("nodepulse_files_read_total")
                        .Help("Kernel files read by the collector.")
                        .Register(r);
  read_errors_ = &prometheus::BuildCounter()
                         .Name(metric::kReadErrors)
                         .Help("File reads that failed for a reason other than the cgroup vanishing.")
                         .Register(r);
  parse_errors_ = &prometheus::BuildCounter()
                          .Name(metric::kParseErrors)
                          .Help("Kernel files whose contents could not be parsed.")
                          .Register(r);
  discovery_walks_ = &prometheus::BuildCounter()
                             .Name("nodepulse_discovery_walks_total")
                             .Help("Walks of the cgroup hierarchies to find new cgroups: after a "
                                   "directory change seen by inotify, and once a minute.")
                             .Register(r);
  slow_files_read_ = &prometheus::BuildCounter()
                             .Name("nodepulse_slow_files_read_total")
                             .Help("Part of nodepulse_files_read_total read every "
                                   "--slow-interval: files that feed only /metrics.")
                             .Register(r);
  idle_files_skipped_ = &prometheus::BuildCounter()
                                .Name("nodepulse_idle_files_skipped_total")
                                .Help("Cgroup files not read at a cycle because their cgroup "
                                      "was idle (CPU and memory usage unchanged); their last "
                                      "values were exported, at most --slow-interval old.")
                                .Register(r);
  discovery_events_ = &prometheus::BuildCounter()
                              .Name("nodepulse_discovery_events_total")
                              .Help("Cycles that rescanned because inotify saw a cgroup "
                                    "directory come or go.")
                              .Register(r);
  event_reads_ = &prometheus::BuildCounter()
                         .Name("nodepulse_event_reads_total")
                         .Help("memory.events and memory.swap.events read the moment the "
                               "kernel reported a change.")
                         .Register(r);
  containers_ = &prometheus::BuildGauge()
                        .Name("nodepulse_collector_entities")
                        .Help("Cgroups (or other entities) the collector currently tracks.")
                        .Register(r);
}

// The pipeline's series, entities and memory.
void SelfMetrics::RegisterPipelineMetrics(prometheus::Registry& r) {
  series_ = &prometheus::BuildGauge()
                    .Name(metric::kSeries)
                    .Help("Live series in the pipeline.")
                    .Register(r)
                    .Add({});
  series_dropped_ = &prometheus::BuildCounter()
                            .Name(metric::kSeriesDropped)
                            .Help("New series refused because --max-series was reached.")
                            .Register(r)
                            .Add({});
  series_created_ = &prometheus::BuildCounter()
                            .Name("nodepulse_series_created_total")
                            .Help("Series interned since start (new containers, devices, cpus).")
                            .Register(r)
                            .Add({});
  entities_ = &prometheus::BuildGauge()
                      .Name(metric::kEntities)
                      .Help("Live entities (cgroups) in the pipeline.")
                      .Register(r)
                      .Add({});
  pipeline_bytes_ = &prometheus::BuildGauge()
                            .Name(metric::kPipelineBytes)
                            .Help("Memory held by the pipeline's series table, rows and rings.")
                            .Register(r)
                            .Add({});
  history_bytes_ = &prometheus::BuildGauge()
                           .Name("nodepulse_pipeline_history_bytes")
                           .Help("Bytes of the history rings (part of nodepulse_pipeline_bytes).")
                           .Register(r)
                           .Add({});
  history_series_ = &prometheus::BuildGauge()
                            .Name("nodepulse_pipeline_history_series")
                            .Help("Live series that keep history (--retention rings).")
                            .Register(r)
                            .Add({});
  blocks_released_ = &prometheus::BuildCounter()
                             .Name("nodepulse_pipeline_history_blocks_released_total")
                             .Help("Blocks of 256 ring columns given back after their series were gone.")
                             .Register(r)
                             .Add({});
}

// process_*: the agent process itself.
void SelfMetrics::RegisterProcessMetrics(prometheus::Registry& r) {
  process_cpu_ = &prometheus::BuildCounter()
                         .Name(metric::kProcessCpuSeconds)
                         .Help("Total user and system CPU time spent in seconds.")
                         .Register(r)
                         .Add({});
  rss_bytes_ = &prometheus::BuildGauge()
                       .Name(metric::kProcessResidentMemory)
                       .Help("Resident memory size in bytes.")
                       .Register(r)
                       .Add({});
  open_fds_ = &prometheus::BuildGauge()
                      .Name("process_open_fds")
                      .Help("Number of open file descriptors.")
                      .Register(r)
                      .Add({});
}

absl::StatusOr<std::shared_ptr<SelfMetrics>> SelfMetrics::Create(const std::string& proc_root) {
  std::shared_ptr<SelfMetrics> m(new SelfMetrics());
  m->proc_root_ = proc_root;
  m->registry_ = std::make_shared<prometheus::Registry>();
  prometheus::Registry& r = *m->registry_;
  try {
    // In this order: it is the order of the families in /metrics.
    m->RegisterCycleMetrics(r);
    m->RegisterCollectorMetrics(r);
    m->RegisterPipelineMetrics(r);
    m->RegisterProcessMetrics(r);
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("registering self-metrics: ", e.what()));
  }
  return m;
}

void SelfMetrics::Advance(prometheus::Counter* c, uint64_t now, uint64_t before) {
  if (now > before) c->Increment(static_cast<double>(now - before));
}

SelfMetrics::PerCollector& SelfMetrics::For(const std::string& name) {
  auto it = per_collector_.find(name);
  if (it != per_collector_.end()) return it->second;
  const std::map<std::string, std::string> labels{{"collector", name}};
  PerCollector pc{&collector_success_->Add(labels), &collector_duration_->Add(labels),
                  &files_read_->Add(labels),        &read_errors_->Add(labels),
                  &parse_errors_->Add(labels),      &containers_->Add(labels),
                  &discovery_walks_->Add(labels),   &slow_files_read_->Add(labels),
                  &idle_files_skipped_->Add(labels), &discovery_events_->Add(labels),
                  &event_reads_->Add(labels),       {}};
  return per_collector_.emplace(name, pc).first->second;
}

void SelfMetrics::ObserveCycle(double seconds, bool overrun) {
  cycles_->Increment();
  if (overrun) overruns_->Increment();
  cycle_duration_->Observe(seconds);
  last_cycle_->SetToCurrentTime();
}

void SelfMetrics::ObserveCollector(const std::string& name, bool ok, double seconds,
                                   const collectors::CollectStats& stats) {
  PerCollector& pc = For(name);
  pc.success->Set(ok ? 1 : 0);
  pc.duration->Set(seconds);
  Advance(pc.files_read, stats.files_read, pc.last.files_read);
  Advance(pc.read_errors, stats.read_errors, pc.last.read_errors);
  Advance(pc.parse_errors, stats.parse_errors, pc.last.parse_errors);
  Advance(pc.discovery_walks, stats.discovery_walks, pc.last.discovery_walks);
  Advance(pc.slow_files_read, stats.slow_files_read, pc.last.slow_files_read);
  Advance(pc.idle_files_skipped, stats.idle_files_skipped, pc.last.idle_files_skipped);
  Advance(pc.discovery_events, stats.discovery_events, pc.last.discovery_events);
  Advance(pc.event_reads, stats.event_reads, pc.last.event_reads);
  pc.containers->Set(static_cast<double>(stats.containers));
  pc.last = stats;
}

void SelfMetrics::ObservePipeline(const pipeline::Pipeline::Stats& s) {
  series_->Set(static_cast<double>(s.series_live));
  entities_->Set(static_cast<double>(s.entities_live));
  pipeline_bytes_->Set(static_cast<double>(s.bytes));
  history_bytes_->Set(static_cast<double>(s.history_bytes));
  history_series_->Set(static_cast<double>(s.history_series));
  Advance(blocks_released_, s.history_blocks_released, last_pipeline_.history_blocks_released);
  Advance(series_dropped_, s.series_dropped, last_pipeline_.series_dropped);
  Advance(series_created_, s.series_created, last_pipeline_.series_created);
  last_pipeline_ = s;
}

void SelfMetrics::ObserveProcess() {
  // /proc/self/stat: fields 14 and 15 are utime and stime in clock ticks; the
  // comm field (2) may contain spaces, so parse after the last ')'.
  std::string stat = ReadSmallFile("/proc/self/stat");
  size_t rp = stat.rfind(')');
  if (rp != std::string::npos) {
    std::vector<absl::string_view> f = absl::StrSplit(absl::string_view(stat).substr(rp + 2), ' ');
    uint64_t utime = 0, stime = 0;
    int64_t rss_pages = 0;
    // After ')' the fields start at 3 (state), so field k is f[k-3].
    if (f.size() > 21 && absl::SimpleAtoi(f[11], &utime) && absl::SimpleAtoi(f[12], &stime) &&
        absl::SimpleAtoi(f[21], &rss_pages)) {
      double cpu = static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
      if (cpu > last_cpu_seconds_) process_cpu_->Increment(cpu - last_cpu_seconds_);
      last_cpu_seconds_ = std::max(cpu, last_cpu_seconds_);
      rss_bytes_->Set(static_cast<double>(rss_pages) * static_cast<double>(sysconf(_SC_PAGESIZE)));
    }
  }
  // Listing /proc/self/fd costs the kernel a dentry per fd: with 1000
  // containers (~19k open files) that was 15% of the agent's CPU when done
  // every cycle, and still 1.8% every 10 s (perf, bench/e2e N=1000). Fds
  // change only when cgroups come and go, so the count is refreshed once a
  // minute.
  const auto now = std::chrono::steady_clock::now();
  if (fds_counted_ && now - fds_counted_at_ < std::chrono::seconds(60)) return;
  fds_counted_ = true;
  fds_counted_at_ = now;
  int fds = 0;
  if (DIR* d = ::opendir("/proc/self/fd")) {
    while (dirent* e = ::readdir(d)) {
      if (e->d_name[0] != '.') ++fds;
    }
    ::closedir(d);
    open_fds_->Set(fds - 1);  // minus the fd opendir itself holds
  }
}

}  // namespace nodepulse::agent
