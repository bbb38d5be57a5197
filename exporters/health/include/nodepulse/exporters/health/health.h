// Node health for SREs: "what is wrong on this node, right now, and since
// when?", answered from the pipeline's snapshots and history rings.
//
// HealthReporter builds a HealthReport from the latest snapshot: node CPU,
// memory, load and PSI; every leaf container's CPU (1 m average and the last
// 1 s rate), throttled ratio, working set against its limit and PSI; OOM kills
// and restarts in the last hour per pod and workload; the agent's own cost;
// and the findings derived from them, each with the time since when it has
// held continuously. The same report feeds four views:
//   GET /api/v1/health                JSON (RenderHealthJson)
//   GET /api/v1/health?format=text    a terminal summary (RenderHealthText)
//   GET /api/v1/health?format=top     the `nodepulse top` table (RenderHealthTop)
//   GET /                             the HTML status page (status_page.h)
//
// Cost and threading. Nothing here runs on the collection thread. A report is
// built at most once per snapshot cycle (keyed by Snapshot::cycle) under
// build_mu_, so concurrent requests share one build and a burst of requests
// costs one build per cycle. Building reads the rings through Aggregator,
// which takes the rings' lock shared in pieces of about one row, so it never
// holds up collection for longer than that. Start() runs a tracker thread
// that builds a report every `track_interval_ms` even when nobody asks, so
// "since" times and the hour of OOM-kill/restart history stay continuous.
//
// "Since when": for each finding key (kind + entity), the first build at
// which it held, kept while it keeps holding and dropped when it stops. A key
// seen for the first time is back-dated from the history rings where the
// condition has a history series (memory near limit: working set; CPU
// throttling: throttled/total periods; node CPU and memory), walking back
// over the 1 s and then the 10 s tier while the condition held, so a page
// opened mid-incident shows when it really began.
//
// OOM kills and restarts in the last hour: the counters have no rings (they
// change rarely), so the reporter keeps, per series, the (time, value) points
// where the value changed, pruned to the last hour plus one baseline point.
// Sources: nodepulse_pod_oom_kills_total{namespace,pod,workload,workload_kind}
// and kube_pod_container_status_restarts_total from the kubelet collector
// (per pod and workload, so they survive the container being replaced; a
// track outlives its series by an hour, so a deleted pod's kills still
// count), and without a kubelet container_oom_events_total per cgroup.
// Increases are counted from the first time the reporter saw a series: a
// count that was already there at that moment is history of unknown age and
// is reported as `total`, not as "last hour".
//
// Thread-safety: every public method may be called from any thread.
// HealthReport and PageHistory are immutable once returned.
#ifndef NODEPULSE_EXPORTERS_HEALTH_H_
#define NODEPULSE_EXPORTERS_HEALTH_H_

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "nodepulse/exporters/http/http_server.h"
#include "nodepulse/pipeline/aggregate.h"
#include "nodepulse/pipeline/pipeline.h"
#include "prometheus/collectable.h"

namespace nodepulse::exporters {

inline constexpr double kHealthNaN = std::numeric_limits<double>::quiet_NaN();

struct Finding;

struct HealthOptions {
  size_t top_n = 10;                 // rows per top list in JSON and on the page
  int64_t window_ms = 60'000;        // averages (CPU, throttling, container PSI)
  int64_t events_window_ms = 3'600'000;  // OOM kills / restarts "recently"
  int64_t track_interval_ms = 5'000;     // tracker thread period (0: no thread)
  std::string node_name;             // shown in reports; empty: the hostname

  // Thresholds. Warning at the first value, critical at the second.
  double memory_limit_warn = 0.90, memory_limit_crit = 0.97;  // working set / limit
  double throttled_warn = 0.25, throttled_crit = 0.75;        // throttled periods share, 1 m
  // Throttling needs this many enforcement periods per second to count, so a
  // nearly idle container throttled once in two periods is not a finding.
  double throttled_min_periods_per_s = 1.0;
  double node_cpu_warn = 0.90, node_cpu_crit = 0.98;          // busy share of all CPUs, 1 m
  double node_mem_avail_warn = 0.10, node_mem_avail_crit = 0.05;  // MemAvailable / MemTotal
  // PSI avg60 thresholds by resource (cpu, memory, io): some, full.
  double psi_some_warn[3] = {0.50, 0.10, 0.30};
  double psi_full_crit[3] = {1.01, 0.05, 0.20};  // cpu full is always 0 at node level

  // The agent's own metrics (prometheus-cpp registries), read for the "agent"
  // section: nodepulse_cycle_duration_seconds, process_cpu_seconds_total,
  // process_resident_memory_bytes, nodepulse_series, nodepulse_*_errors_total,
  // nodepulse_collector_success, ... Missing families read as NaN.
  std::vector<std::shared_ptr<prometheus::Collectable>> self_metrics;
  int64_t start_time_ms = 0;  // agent start (wall clock) for uptime; 0: reporter creation
  // Findings the snapshot cannot show, e.g. the kubelet join being down
  // (kind kubelet_degraded); called once per report build, on the caller's
  // thread, so it must be cheap and thread-safe. Unset: none.
  std::function<std::vector<Finding>()> external_findings;
};

// Who a row or finding is about. Empty fields are unknown (no kubelet join).
struct EntityRef {
  std::string id;  // cgroup path, cAdvisor's `id`
  std::string namespace_name, pod, container, workload, workload_kind;
  // "namespace/pod/container" when known, else the cgroup id.
  std::string DisplayName() const;
};

struct ContainerHealth {
  EntityRef ref;
  pipeline::EntityId entity = 0;
  pipeline::SeriesId cpu_series = pipeline::kNoSeries;        // usage rate
  pipeline::SeriesId ws_series = pipeline::kNoSeries;         // working set
  pipeline::SeriesId throttled_series = pipeline::kNoSeries;  // throttled periods
  pipeline::SeriesId periods_series = pipeline::kNoSeries;    // CFS periods
  double cpu_cores = kHealthNaN;      // average over window_ms
  double cpu_cores_now = kHealthNaN;  // the last collection interval
  double cpu_limit_cores = kHealthNaN;  // quota / period; NaN without a quota
  double throttled_ratio = kHealthNaN;  // throttled / total periods over window_ms
  double throttled_ratio_now = kHealthNaN;
  double working_set_bytes = kHealthNaN;
  double memory_limit_bytes = kHealthNaN;  // NaN: unlimited
  double memory_limit_ratio = kHealthNaN;  // working set / limit
  double rss_bytes = kHealthNaN;
  double psi_some[3] = {kHealthNaN, kHealthNaN, kHealthNaN};  // cpu, memory, io (cgroup v2)
};

struct NodeHealth {
  double cpu_count = kHealthNaN;       // logical CPUs
  double cpu_busy_cores = kHealthNaN;  // non-idle, non-iowait, over window_ms
  double cpu_busy_cores_now = kHealthNaN;
  double cpu_iowait_cores = kHealthNaN;
  double memory_total_bytes = kHealthNaN;
  double memory_available_bytes = kHealthNaN;
  double load1 = kHealthNaN, load5 = kHealthNaN, load15 = kHealthNaN;
  // Kernel PSI averages (0..1): [resource cpu|memory|io][kind some|full][window 10s|60s|300s].
  double psi[3][2][3];
  NodeHealth();
};

enum class Severity : uint8_t { kWarning = 1, kCritical = 2 };
const char* SeverityName(Severity s);  // "warning", "critical"

struct Finding {
  // memory_near_limit, cpu_throttled, oom_killed, restarts, node_cpu,
  // node_memory, node_pressure, collector_failing, cycle_overruns,
  // kubelet_degraded, resize_pending (from HealthOptions::external_findings).
  std::string kind;
  Severity severity = Severity::kWarning;
  EntityRef ref;         // empty for node-level findings
  // node_pressure: cpu|memory|io; collector_failing: collector;
  // kubelet_degraded: the kubelet error reason (tls, connect, ...);
  // resize_pending: deferred|infeasible|error
  std::string resource;
  double value = kHealthNaN;
  double threshold = kHealthNaN;
  std::string summary;  // one line for humans, e.g. "working set 66 MiB = 94% of 70 MiB limit"
  int64_t since_ms = 0;  // wall clock, first time it held continuously
  std::string Key() const;
};

// Increases of one counter (OOM kills or restarts) for one pod or workload.
struct EventCount {
  EntityRef ref;
  double recent = 0;      // increase within events_window_ms
  double total = kHealthNaN;  // the counter now (NaN once the series is gone)
  int64_t first_ms = 0;   // first increase within the window (0: none)
  int64_t last_ms = 0;    // last increase
};

struct AgentCost {
  double uptime_seconds = kHealthNaN;
  double cycles = kHealthNaN;
  double cycle_seconds_avg = kHealthNaN;   // since the previous report (or since start)
  double cycle_seconds_last = kHealthNaN;  // sum of the collectors' last durations
  double cpu_cores = kHealthNaN;           // process CPU since the previous report
  double rss_bytes = kHealthNaN;
  double pipeline_bytes = kHealthNaN;
  double series = kHealthNaN;
  double entities = kHealthNaN;
  double read_errors = kHealthNaN;   // totals, all collectors
  double parse_errors = kHealthNaN;
  double overruns = kHealthNaN;
  double series_dropped = kHealthNaN;
  std::vector<std::string> failing_collectors;
};

struct HealthReport {
  int64_t timestamp_ms = 0;  // of the snapshot
  uint64_t cycle = 0;
  std::string node_name;
  bool kubernetes = false;  // some container carries pod labels
  int64_t window_ms = 0;
  int64_t events_window_ms = 0;
  NodeHealth node;
  std::vector<ContainerHealth> containers;  // leaf cgroups, by id
  // Indices into `containers`, best first, at most top_n each.
  std::vector<uint32_t> top_cpu, top_memory, top_throttled;
  std::vector<uint32_t> near_limit;  // every container >= memory_limit_warn
  std::vector<EventCount> oom_kills;          // per pod (or cgroup without a kubelet)
  std::vector<EventCount> workload_oom_kills;  // per workload
  std::vector<EventCount> restarts;           // per container of a pod
  std::vector<Finding> findings;  // critical first, then oldest first
  AgentCost agent;

  // "ok", "warning" or "critical": the worst finding.
  const char* Status() const;
};

// The last hour (or less, early on) of the page's charts, on one time grid.
struct PageHistory {
  int64_t first_ms = 0;  // time of values[0]
  int64_t step_ms = 0;
  size_t slots = 0;
  std::vector<double> node_cpu_busy;     // cores
  std::vector<double> node_memory_used;  // bytes (MemTotal - MemAvailable)
  std::vector<double> node_psi[3];       // some share: cpu, memory, io
  // By container id (only the containers in the report's top lists).
  std::map<std::string, std::vector<double>> cpu, working_set, throttled;
};

class HealthReporter {
 public:
  // `pipeline` must outlive the reporter.
  HealthReporter(const pipeline::Pipeline& pipeline, HealthOptions options);
  ~HealthReporter();
  HealthReporter(const HealthReporter&) = delete;
  HealthReporter& operator=(const HealthReporter&) = delete;

  // Starts the tracker thread (when track_interval_ms > 0). Stop() joins it;
  // idempotent, also run by the destructor.
  void Start();
  void Stop();

  // The report for the latest snapshot; built at most once per cycle. Null
  // before the first cycle completes.
  std::shared_ptr<const HealthReport> Report();
  // Charts for `report` (same snapshot when it is still the latest), cached
  // per cycle like Report().
  std::shared_ptr<const PageHistory> History(const HealthReport& report);

  const HealthOptions& options() const { return options_; }

  // GET /api/v1/health: JSON; ?format=text, ?format=top&sort=cpu|memory|throttled&n=&width=.
  Handler ApiHandler();
  // GET /: the status page.
  Handler PageHandler();

 private:
  struct State;
  void TrackerLoop();

  const pipeline::Pipeline& pipeline_;
  const HealthOptions options_;
  pipeline::Aggregator aggregator_;

  // Held across a build on purpose: it is the single-flight gate that makes
  // concurrent requests share one build per cycle. Never taken by the
  // collection thread.
  absl::Mutex build_mu_;
  std::unique_ptr<State> state_ ABSL_GUARDED_BY(build_mu_);

  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  bool stop_ = false;  // guarded by stop_mu_
  std::thread tracker_;
};

// Renderers; pure functions of their inputs.
std::string RenderHealthJson(const HealthReport& report);
std::string RenderHealthText(const HealthReport& report);
struct TopOptions {
  std::string sort = "cpu";  // cpu | memory | throttled
  size_t rows = 20;
  size_t width = 120;  // terminal columns
};
std::string RenderHealthTop(const HealthReport& report, const TopOptions& options);

// Formatting helpers shared by the renderers: "1.5 GiB", "93%", "4m12s".
// FormatDurationRounded drops what a reader does not need (whole seconds
// under 1h, minutes under 1d, hours beyond: 1500 ms is "1s"); it does not
// round-trip. Durations that must parse back use pipeline's FormatDurationExact.
std::string FormatBytes(double bytes);
std::string FormatPercent(double ratio);
std::string FormatDurationRounded(int64_t ms);

}  // namespace nodepulse::exporters

#endif  // NODEPULSE_EXPORTERS_HEALTH_H_
