// HealthReporter: builds HealthReport and PageHistory from snapshots and the
// history rings (see health.h for the model). Rendering lives in
// health_render.cc and status_page.cc.
#include "nodepulse/exporters/health/health.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "nodepulse/base/log.h"
#include "nodepulse/base/mutex.h"
#include "status_page.h"

namespace nodepulse::exporters {

namespace {

using pipeline::Catalog;
using pipeline::Labels;
using pipeline::MetricId;
using pipeline::SeriesId;
using pipeline::Snapshot;
using pipeline::Stat;

constexpr double kNaN = kHealthNaN;
constexpr const char* kPsiResources[3] = {"cpu", "memory", "io"};
constexpr const char* kPsiKinds[2] = {"some", "full"};
constexpr const char* kPsiWindows[3] = {"10s", "60s", "300s"};

using pipeline::LabelValue;

EntityRef RefFromLabels(const Labels& labels) {
  EntityRef r;
  r.id = std::string(LabelValue(labels, "id"));
  r.namespace_name = std::string(LabelValue(labels, "namespace"));
  r.pod = std::string(LabelValue(labels, "pod"));
  r.container = std::string(LabelValue(labels, "container"));
  r.workload = std::string(LabelValue(labels, "workload"));
  r.workload_kind = std::string(LabelValue(labels, "workload_kind"));
  return r;
}

double Ratio(double a, double b) { return (b > 0 && std::isfinite(a)) ? a / b : kNaN; }

// NaN-skipping sum that stays NaN when every term is NaN.
void AddTo(double& acc, double v) {
  if (std::isnan(v)) return;
  acc = std::isnan(acc) ? v : acc + v;
}

class MetricIndex {
 public:
  explicit MetricIndex(const Catalog& c) : catalog_(c) {
    for (size_t i = 0; i < c.metrics.size(); ++i) ids_.emplace(c.metrics[i].name, static_cast<MetricId>(i));
  }
  // Live series of a metric (empty when the metric is not registered).
  const std::vector<SeriesId>& Series(std::string_view name) const {
    static const std::vector<SeriesId> kEmpty;
    auto it = ids_.find(std::string(name));
    if (it == ids_.end() || it->second >= catalog_.by_metric.size()) return kEmpty;
    return catalog_.by_metric[it->second];
  }
  // The single node-level series of a metric (node_load1...), or kNoSeries.
  SeriesId NodeSeries(std::string_view name) const {
    for (SeriesId s : Series(name)) {
      if (catalog_.series[s].alive && catalog_.series[s].entity == pipeline::kNodeEntity) return s;
    }
    return pipeline::kNoSeries;
  }

 private:
  const Catalog& catalog_;
  std::unordered_map<std::string, MetricId> ids_;
};

// prometheus-cpp families, flattened: sum of every sample of a family.
struct SelfValues {
  std::unordered_map<std::string, double> sum;
  std::unordered_map<std::string, std::pair<double, double>> histo;  // (sum, count)
  std::vector<std::string> failing_collectors;

  explicit SelfValues(const std::vector<std::shared_ptr<prometheus::Collectable>>& sources) {
    for (const auto& src : sources) {
      if (!src) continue;
      for (const prometheus::MetricFamily& f : src->Collect()) {
        for (const prometheus::ClientMetric& m : f.metric) {
          double v = kNaN;
          switch (f.type) {
            case prometheus::MetricType::Counter: v = m.counter.value; break;
            case prometheus::MetricType::Gauge: v = m.gauge.value; break;
            case prometheus::MetricType::Untyped: v = m.untyped.value; break;
            case prometheus::MetricType::Histogram: {
              auto& h = histo[f.name];
              h.first += m.histogram.sample_sum;
              h.second += static_cast<double>(m.histogram.sample_count);
              continue;
            }
            default: continue;
          }
          AddTo(sum.try_emplace(f.name, kNaN).first->second, v);
          if (f.name == "nodepulse_collector_success" && v == 0) {
            for (const auto& l : m.label) {
              if (l.name == "collector") failing_collectors.push_back(l.value);
            }
          }
        }
      }
    }
  }
  double Get(const std::string& name) const {
    auto it = sum.find(name);
    return it == sum.end() ? kNaN : it->second;
  }
};

std::string Hostname() {
  char buf[256] = {};
  if (gethostname(buf, sizeof(buf) - 1) != 0) return "node";
  return buf;
}

}  // namespace

// ---- small public helpers ----

std::string EntityRef::DisplayName() const {
  if (!pod.empty()) {
    std::string s = absl::StrCat(namespace_name, "/", pod);
    if (!container.empty()) absl::StrAppend(&s, "/", container);
    return s;
  }
  if (!workload.empty()) return absl::StrCat(namespace_name, "/", workload_kind, "/", workload);
  return id;
}

const char* SeverityName(Severity s) { return s == Severity::kCritical ? "critical" : "warning"; }

std::string Finding::Key() const {
  return absl::StrCat(kind, "|", resource, "|", ref.id, "|", ref.namespace_name, "/", ref.pod, "/",
                      ref.container, "|", ref.workload_kind, "/", ref.workload);
}

NodeHealth::NodeHealth() {
  for (auto& r : psi) {
    for (auto& k : r) {
      for (double& w : k) w = kNaN;
    }
  }
}

const char* HealthReport::Status() const {
  Severity worst{};
  for (const Finding& f : findings) worst = std::max(worst, f.severity);
  if (findings.empty()) return "ok";
  return SeverityName(worst);
}

// ---- reporter state ----

struct HealthReporter::State {
  std::shared_ptr<const HealthReport> report;
  std::shared_ptr<const PageHistory> history;
  uint64_t history_cycle = ~uint64_t{0};
  pipeline::WindowStats window;  // reused across builds: no allocation in steady state

  std::unordered_map<std::string, int64_t> since;  // Finding::Key() -> first held

  // Counter tracks (OOM kills, restarts) by metric + rendered labels.
  struct Track {
    int kind = 0;  // 0 pod/cgroup OOM, 1 workload OOM, 2 restarts
    EntityRef ref;
    std::vector<std::pair<int64_t, double>> points;  // changes, oldest first
    double current = kNaN;
    int64_t last_seen_ms = 0;
  };
  std::unordered_map<std::string, Track> tracks;

  // Self-cost deltas between builds.
  int64_t prev_ms = 0;
  double prev_cpu = kNaN, prev_cycle_sum = kNaN, prev_cycle_count = kNaN;
  double cpu_cores = kNaN, cycle_avg = kNaN;
};

HealthReporter::HealthReporter(const pipeline::Pipeline& pipeline, HealthOptions options)
    : pipeline_(pipeline), options_([&] {
        if (options.node_name.empty()) options.node_name = Hostname();
        if (options.start_time_ms == 0) options.start_time_ms = absl::ToUnixMillis(absl::Now());
        return std::move(options);
      }()),
      aggregator_(pipeline),
      state_(std::make_unique<State>()) {}

HealthReporter::~HealthReporter() { Stop(); }

void HealthReporter::Start() {
  if (options_.track_interval_ms <= 0 || tracker_.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(stop_mu_);
    stop_ = false;
  }
  tracker_ = std::thread([this] {
    NameThisThread("np-health");
    TrackerLoop();
  });
}

void HealthReporter::Stop() {
  {
    std::lock_guard<std::mutex> lock(stop_mu_);
    stop_ = true;
  }
  stop_cv_.notify_all();
  if (tracker_.joinable()) tracker_.join();
}

void HealthReporter::TrackerLoop() {
  std::unique_lock<std::mutex> lock(stop_mu_);
  while (!stop_) {
    lock.unlock();
    Report();
    lock.lock();
    stop_cv_.wait_for(lock, std::chrono::milliseconds(options_.track_interval_ms),
                      [this] { return stop_; });
  }
}

namespace {

// Per-slot values of one series on one tier; empty on error.
struct TierValues {
  std::vector<double> v;
  int64_t first_ms = 0, step_ms = 0;
};

TierValues SeriesOnTier(const pipeline::Aggregator& agg, const Snapshot& snap, SeriesId id,
                        uint32_t tier) {
  TierValues out;
  if (id == pipeline::kNoSeries) return out;
  pipeline::Sparkline s;
  if (!agg.History(snap, id, tier, &s).ok()) return out;
  out.v = std::move(s.avg);
  out.first_ms = s.first_slot_ms;
  out.step_ms = s.step_ms;
  return out;
}

// Element-wise sum; NaN only where every term is NaN.
TierValues SumOnTier(const pipeline::Aggregator& agg, const Snapshot& snap,
                     const std::vector<SeriesId>& ids, uint32_t tier) {
  TierValues out;
  for (SeriesId id : ids) {
    TierValues t = SeriesOnTier(agg, snap, id, tier);
    if (t.v.empty()) continue;
    if (out.v.empty()) {
      out = std::move(t);
      continue;
    }
    size_t n = std::min(out.v.size(), t.v.size());
    for (size_t i = 0; i < n; ++i) AddTo(out.v[i], t.v[i]);
  }
  return out;
}

// The start of the trailing run of slots where values >= threshold, walking
// back from the newest slot with a sample; `fallback` when the newest sample
// does not hold (or there is none).
int64_t HeldSince(const TierValues& t, double threshold, int64_t fallback) {
  int64_t since = fallback;
  int i = static_cast<int>(t.v.size()) - 1;
  // The newest slot(s) may still be filling or not yet rolled up.
  for (int skipped = 0; i >= 0 && std::isnan(t.v[i]) && skipped < 2; --i, ++skipped) {
  }
  for (; i >= 0; --i) {
    if (!(t.v[i] >= threshold)) break;
    since = std::min(since, t.first_ms + i * t.step_ms);
  }
  return since;
}

// Tier 1 (10 s slots, the last hour) is the back-dating tier: fine enough for
// "since", and its 10 s averages do not flicker around a threshold the way 1 s
// samples of a throttled ratio do.
constexpr uint32_t kSinceTier = 1;

}  // namespace

std::shared_ptr<const HealthReport> HealthReporter::Report() {
  std::shared_ptr<const Snapshot> snap = pipeline_.snapshot();
  if (!snap || !snap->catalog) return nullptr;
  base::MutexLock lock(&build_mu_);
  State& st = *state_;
  if (st.report && st.report->cycle == snap->cycle) return st.report;

  const Catalog& cat = *snap->catalog;
  const MetricIndex mi(cat);
  const int64_t now = snap->timestamp_ms;
  auto report = std::make_shared<HealthReport>();
  HealthReport& r = *report;
  r.timestamp_ms = now;
  r.cycle = snap->cycle;
  r.node_name = options_.node_name;
  r.window_ms = options_.window_ms;
  r.events_window_ms = options_.events_window_ms;

  pipeline::WindowStats& w = st.window;
  bool have_window = aggregator_.Compute(*snap, options_.window_ms, false, &w).ok();
  auto avg = [&](SeriesId id) { return have_window ? w.Get(id, Stat::kAvg) : kNaN; };
  auto last = [&](SeriesId id) { return have_window ? w.Get(id, Stat::kLast) : kNaN; };
  auto value = [&](SeriesId id) { return id == pipeline::kNoSeries ? kNaN : snap->value(id); };

  // ---- node ----
  NodeHealth& n = r.node;
  std::vector<SeriesId> busy_cpu_series;
  {
    std::unordered_set<std::string> cpus;
    for (SeriesId s : mi.Series("node_cpu_seconds_total")) {
      const Catalog::Series& cs = cat.series[s];
      if (!cs.alive) continue;
      std::string_view mode = LabelValue(cs.extra, "mode");
      cpus.emplace(LabelValue(cs.extra, "cpu"));
      if (mode == "idle") continue;
      if (mode == "iowait") {
        AddTo(n.cpu_iowait_cores, avg(s));
        continue;
      }
      busy_cpu_series.push_back(s);
      AddTo(n.cpu_busy_cores, avg(s));
      AddTo(n.cpu_busy_cores_now, last(s));
    }
    if (!cpus.empty()) n.cpu_count = static_cast<double>(cpus.size());
  }
  n.memory_total_bytes = value(mi.NodeSeries("node_memory_MemTotal_bytes"));
  const SeriesId mem_avail_series = mi.NodeSeries("node_memory_MemAvailable_bytes");
  n.memory_available_bytes = value(mem_avail_series);
  n.load1 = value(mi.NodeSeries("node_load1"));
  n.load5 = value(mi.NodeSeries("node_load5"));
  n.load15 = value(mi.NodeSeries("node_load15"));
  for (SeriesId s : mi.Series("nodepulse_node_pressure_avg_ratio")) {
    const Labels labels = cat.LabelsOf(s);
    std::string_view res = LabelValue(labels, "resource"), kind = LabelValue(labels, "kind"),
                     win = LabelValue(labels, "window");
    for (int a = 0; a < 3; ++a) {
      for (int b = 0; b < 2; ++b) {
        for (int c = 0; c < 3; ++c) {
          if (res == kPsiResources[a] && kind == kPsiKinds[b] && win == kPsiWindows[c]) {
            n.psi[a][b][c] = value(s);
          }
        }
      }
    }
  }

  // ---- containers: leaf cgroups (a parent's usage includes its children's) ----
  {
    std::unordered_map<pipeline::EntityId, uint32_t> row_of;
    std::vector<pipeline::EntityId> candidates;
    std::unordered_set<std::string> parents;
    auto consider = [&](std::string_view metric) {
      for (SeriesId s : mi.Series(metric)) {
        const Catalog::Series& cs = cat.series[s];
        if (!cs.alive || cs.entity == pipeline::kNodeEntity || cs.entity >= cat.entities.size()) continue;
        if (row_of.count(cs.entity)) continue;
        row_of.emplace(cs.entity, 0);
        candidates.push_back(cs.entity);
        std::string_view id = LabelValue(cat.entities[cs.entity].labels, "id");
        for (size_t p = id.rfind('/'); p != std::string_view::npos && p > 0; p = id.rfind('/', p - 1)) {
          if (!parents.emplace(id.substr(0, p)).second) break;  // ancestors already in
        }
      }
    };
    consider("container_cpu_usage_seconds_total");
    consider("container_memory_working_set_bytes");
    row_of.clear();
    for (pipeline::EntityId e : candidates) {
      EntityRef ref = RefFromLabels(cat.entities[e].labels);
      if (ref.id.empty() || ref.id == "/" || parents.count(ref.id)) continue;
      // With the kubelet join: pod cgroups (container="") and pause
      // containers are not containers (cAdvisor exports both; rollup.h).
      if (!ref.pod.empty() && (ref.container.empty() || ref.container == "POD")) continue;
      if (!ref.pod.empty()) r.kubernetes = true;
      row_of.emplace(e, static_cast<uint32_t>(r.containers.size()));
      ContainerHealth c;
      c.ref = std::move(ref);
      c.entity = e;
      r.containers.push_back(std::move(c));
    }
    auto each = [&](std::string_view metric, auto&& fn) {
      for (SeriesId s : mi.Series(metric)) {
        const Catalog::Series& cs = cat.series[s];
        if (!cs.alive) continue;
        auto it = row_of.find(cs.entity);
        if (it == row_of.end()) continue;
        fn(r.containers[it->second], s, cs);
      }
    };
    each("container_cpu_usage_seconds_total", [&](ContainerHealth& c, SeriesId s, const Catalog::Series& cs) {
      std::string_view cpu = LabelValue(cs.extra, "cpu");
      if (!cpu.empty() && cpu != "total") return;
      c.cpu_series = s;
      c.cpu_cores = avg(s);
      c.cpu_cores_now = last(s);
    });
    each("container_cpu_cfs_throttled_periods_total",
         [&](ContainerHealth& c, SeriesId s, const Catalog::Series&) { c.throttled_series = s; });
    each("container_cpu_cfs_periods_total",
         [&](ContainerHealth& c, SeriesId s, const Catalog::Series&) { c.periods_series = s; });
    each("container_memory_working_set_bytes", [&](ContainerHealth& c, SeriesId s, const Catalog::Series&) {
      c.ws_series = s;
      c.working_set_bytes = value(s);
    });
    each("container_memory_rss",
         [&](ContainerHealth& c, SeriesId s, const Catalog::Series&) { c.rss_bytes = value(s); });
    each("container_spec_memory_limit_bytes", [&](ContainerHealth& c, SeriesId s, const Catalog::Series&) {
      double v = value(s);
      c.memory_limit_bytes = v > 0 ? v : kNaN;  // 0 = unlimited
    });
    std::unordered_map<pipeline::EntityId, double> quota;
    each("container_spec_cpu_quota", [&](ContainerHealth& c, SeriesId s, const Catalog::Series&) {
      quota[c.entity] = value(s);
    });
    each("container_spec_cpu_period", [&](ContainerHealth& c, SeriesId s, const Catalog::Series&) {
      auto q = quota.find(c.entity);
      double p = value(s);
      if (q != quota.end() && q->second > 0 && p > 0) c.cpu_limit_cores = q->second / p;
    });
    const char* psi_metrics[3] = {"container_pressure_cpu_waiting_seconds_total",
                                  "container_pressure_memory_waiting_seconds_total",
                                  "container_pressure_io_waiting_seconds_total"};
    for (int k = 0; k < 3; ++k) {
      each(psi_metrics[k], [&](ContainerHealth& c, SeriesId s, const Catalog::Series&) {
        c.psi_some[k] = avg(s);
      });
    }
    for (ContainerHealth& c : r.containers) {
      double periods = avg(c.periods_series), throttled = avg(c.throttled_series);
      if (periods > 0) c.throttled_ratio = std::min(1.0, throttled / periods);
      double pn = last(c.periods_series), tn = last(c.throttled_series);
      if (pn > 0) c.throttled_ratio_now = std::min(1.0, tn / pn);
      c.memory_limit_ratio = Ratio(c.working_set_bytes, c.memory_limit_bytes);
    }
  }

  // ---- top lists ----
  auto top = [&](auto key, double min_value) {
    std::vector<uint32_t> idx;
    for (uint32_t i = 0; i < r.containers.size(); ++i) {
      double k = key(r.containers[i]);
      if (k > min_value) idx.push_back(i);  // NaN never passes
    }
    std::sort(idx.begin(), idx.end(), [&](uint32_t a, uint32_t b) {
      double ka = key(r.containers[a]), kb = key(r.containers[b]);
      if (ka != kb) return ka > kb;
      return r.containers[a].ref.id < r.containers[b].ref.id;
    });
    if (idx.size() > options_.top_n) idx.resize(options_.top_n);
    return idx;
  };
  r.top_cpu = top([](const ContainerHealth& c) { return c.cpu_cores; }, -1);
  r.top_memory = top([](const ContainerHealth& c) { return c.working_set_bytes; }, -1);
  r.top_throttled = top([](const ContainerHealth& c) { return c.throttled_ratio; }, 0);
  for (uint32_t i = 0; i < r.containers.size(); ++i) {
    if (r.containers[i].memory_limit_ratio >= options_.memory_limit_warn) r.near_limit.push_back(i);
  }
  std::sort(r.near_limit.begin(), r.near_limit.end(), [&](uint32_t a, uint32_t b) {
    return r.containers[a].memory_limit_ratio > r.containers[b].memory_limit_ratio;
  });

  // ---- OOM kills and restarts: counter tracks ----
  {
    const bool kubelet_oom = !mi.Series("nodepulse_pod_oom_kills_total").empty();
    struct Source {
      const char* metric;
      int kind;
    };
    std::vector<Source> sources = {{"nodepulse_workload_oom_kills_total", 1},
                                   {"kube_pod_container_status_restarts_total", 2}};
    // Without a kubelet the cgroup's own counter is all there is (v2
    // memory.events oom_kill; it resets when the container is replaced).
    sources.push_back(kubelet_oom ? Source{"nodepulse_pod_oom_kills_total", 0}
                                  : Source{"container_oom_events_total", 0});
    for (const Source& src : sources) {
      for (SeriesId s : mi.Series(src.metric)) {
        const Catalog::Series& cs = cat.series[s];
        double v = value(s);
        if (!cs.alive || std::isnan(v)) continue;
        std::string key = absl::StrCat(src.metric, "{", cs.rendered_labels(), "}");
        auto [it, fresh] = st.tracks.try_emplace(std::move(key));
        State::Track& t = it->second;
        if (fresh) {
          t.kind = src.kind;
          t.ref = RefFromLabels(cat.LabelsOf(s));
        }
        if (t.points.empty() || t.points.back().second != v) t.points.emplace_back(now, v);
        t.current = v;
        t.last_seen_ms = now;
      }
    }
    const int64_t horizon = now - options_.events_window_ms;
    for (auto it = st.tracks.begin(); it != st.tracks.end();) {
      State::Track& t = it->second;
      if (t.last_seen_ms < horizon) {
        it = st.tracks.erase(it);
        continue;
      }
      // Keep one baseline point at or before the horizon.
      size_t drop = 0;
      while (drop + 1 < t.points.size() && t.points[drop + 1].first <= horizon) ++drop;
      if (drop > 0) t.points.erase(t.points.begin(), t.points.begin() + static_cast<ptrdiff_t>(drop));
      EventCount e;
      e.ref = t.ref;
      e.total = t.last_seen_ms == now ? t.current : kNaN;
      for (size_t i = 1; i < t.points.size(); ++i) {
        double prev = t.points[i - 1].second, cur = t.points[i].second;
        // A decrease is a reset (container replaced, agent-side recount): the
        // new value is the increase, as with Prometheus counters.
        double inc = cur >= prev ? cur - prev : cur;
        if (inc <= 0 || t.points[i].first <= horizon) continue;
        e.recent += inc;
        if (e.first_ms == 0) e.first_ms = t.points[i].first;
        e.last_ms = t.points[i].first;
      }
      if (e.recent > 0 || (t.kind != 2 && e.total > 0)) {
        (t.kind == 0 ? r.oom_kills : t.kind == 1 ? r.workload_oom_kills : r.restarts).push_back(std::move(e));
      }
      ++it;
    }
    for (auto* v : {&r.oom_kills, &r.workload_oom_kills, &r.restarts}) {
      std::sort(v->begin(), v->end(), [](const EventCount& a, const EventCount& b) {
        if (a.recent != b.recent) return a.recent > b.recent;
        return a.ref.DisplayName() < b.ref.DisplayName();
      });
    }
  }

  // ---- the agent's own cost ----
  {
    SelfValues sv(options_.self_metrics);
    AgentCost& a = r.agent;
    a.uptime_seconds = static_cast<double>(now - options_.start_time_ms) / 1000.0;
    a.cycles = sv.Get("nodepulse_cycles_total");
    a.cycle_seconds_last = sv.Get("nodepulse_collector_duration_seconds");
    a.rss_bytes = sv.Get("process_resident_memory_bytes");
    a.pipeline_bytes = sv.Get("nodepulse_pipeline_bytes");
    a.series = sv.Get("nodepulse_series");
    a.entities = sv.Get("nodepulse_entities");
    a.read_errors = sv.Get("nodepulse_read_errors_total");
    a.parse_errors = sv.Get("nodepulse_parse_errors_total");
    a.overruns = sv.Get("nodepulse_cycle_overruns_total");
    a.series_dropped = sv.Get("nodepulse_series_dropped_total");
    a.failing_collectors = sv.failing_collectors;
    double cpu = sv.Get("process_cpu_seconds_total");
    auto h = sv.histo.find("nodepulse_cycle_duration_seconds");
    double csum = h == sv.histo.end() ? kNaN : h->second.first;
    double ccount = h == sv.histo.end() ? kNaN : h->second.second;
    // Rates over at least 5 s between builds, else keep the previous ones;
    // the first build averages since start.
    double dt = static_cast<double>(now - st.prev_ms) / 1000.0;
    if (st.prev_ms == 0) {
      // Start-up work (discovery, first reads) would dominate a shorter span.
      st.cpu_cores = a.uptime_seconds >= 5 ? Ratio(cpu, a.uptime_seconds) : kNaN;
      st.cycle_avg = Ratio(csum, ccount);
    } else if (dt >= 5) {
      st.cpu_cores = Ratio(cpu - st.prev_cpu, dt);
      double dc = ccount - st.prev_cycle_count;
      st.cycle_avg = dc > 0 ? (csum - st.prev_cycle_sum) / dc : st.cycle_avg;
    }
    if (st.prev_ms == 0 || dt >= 5) {
      st.prev_ms = now;
      st.prev_cpu = cpu;
      st.prev_cycle_sum = csum;
      st.prev_cycle_count = ccount;
    }
    a.cpu_cores = st.cpu_cores;
    a.cycle_seconds_avg = st.cycle_avg;
  }

  // ---- findings ----
  const HealthOptions& o = options_;
  std::vector<Finding>& fs = r.findings;
  std::vector<int64_t> backdated;  // parallel to fs: ring-derived start, or `now`
  auto add = [&](Finding f, int64_t since) {
    fs.push_back(std::move(f));
    backdated.push_back(since);
  };
  for (uint32_t i : r.near_limit) {
    const ContainerHealth& c = r.containers[i];
    Finding f;
    f.kind = "memory_near_limit";
    f.severity = c.memory_limit_ratio >= o.memory_limit_crit ? Severity::kCritical : Severity::kWarning;
    f.ref = c.ref;
    f.value = c.memory_limit_ratio;
    f.threshold = o.memory_limit_warn;
    f.summary = absl::StrCat("working set ", FormatBytes(c.working_set_bytes), " = ",
                             FormatPercent(c.memory_limit_ratio), " of its ",
                             FormatBytes(c.memory_limit_bytes), " limit");
    int64_t since = now;
    if (!st.since.count(f.Key())) {
      TierValues t = SeriesOnTier(aggregator_, *snap, c.ws_series, kSinceTier);
      for (double& v : t.v) v /= c.memory_limit_bytes;
      since = HeldSince(t, o.memory_limit_warn, now);
    }
    add(std::move(f), since);
  }
  for (const ContainerHealth& c : r.containers) {
    if (!(c.throttled_ratio >= o.throttled_warn)) continue;
    if (!(avg(c.periods_series) >= o.throttled_min_periods_per_s)) continue;
    Finding f;
    f.kind = "cpu_throttled";
    f.severity = c.throttled_ratio >= o.throttled_crit ? Severity::kCritical : Severity::kWarning;
    f.ref = c.ref;
    f.value = c.throttled_ratio;
    f.threshold = o.throttled_warn;
    f.summary = absl::StrCat("throttled in ", FormatPercent(c.throttled_ratio),
                             " of CFS periods over ", FormatDuration(o.window_ms));
    if (std::isfinite(c.cpu_limit_cores)) {
      char buf[64];
      std::snprintf(buf, sizeof(buf), " (limit %.2f CPU, using %.2f)", c.cpu_limit_cores, c.cpu_cores);
      absl::StrAppend(&f.summary, buf);
    }
    int64_t since = now;
    if (!st.since.count(f.Key())) {
      TierValues t = SeriesOnTier(aggregator_, *snap, c.throttled_series, kSinceTier);
      TierValues p = SeriesOnTier(aggregator_, *snap, c.periods_series, kSinceTier);
      for (size_t k = 0; k < t.v.size(); ++k) t.v[k] = k < p.v.size() && p.v[k] > 0 ? t.v[k] / p.v[k] : kNaN;
      since = HeldSince(t, o.throttled_warn, now);
    }
    add(std::move(f), since);
  }
  for (const EventCount& e : r.oom_kills) {
    if (e.recent <= 0) continue;
    Finding f;
    f.kind = "oom_killed";
    f.severity = Severity::kCritical;
    f.ref = e.ref;
    f.value = e.recent;
    f.threshold = 1;
    f.summary = absl::StrCat(e.recent, " OOM kill", e.recent == 1 ? "" : "s", " in the last ",
                             FormatDuration(o.events_window_ms));
    if (!e.ref.workload.empty()) absl::StrAppend(&f.summary, " (", e.ref.workload_kind, " ", e.ref.workload, ")");
    add(std::move(f), e.first_ms);
  }
  for (const EventCount& e : r.restarts) {
    if (e.recent <= 0) continue;
    Finding f;
    f.kind = "restarts";
    f.severity = e.recent >= 3 ? Severity::kCritical : Severity::kWarning;
    f.ref = e.ref;
    f.value = e.recent;
    f.threshold = 1;
    f.summary = absl::StrCat(e.recent, " restart", e.recent == 1 ? "" : "s", " in the last ",
                             FormatDuration(o.events_window_ms));
    add(std::move(f), e.first_ms);
  }
  if (n.cpu_count > 0 && n.cpu_busy_cores / n.cpu_count >= o.node_cpu_warn) {
    Finding f;
    f.kind = "node_cpu";
    double ratio = n.cpu_busy_cores / n.cpu_count;
    f.severity = ratio >= o.node_cpu_crit ? Severity::kCritical : Severity::kWarning;
    f.value = ratio;
    f.threshold = o.node_cpu_warn;
    f.summary = absl::StrCat("CPUs ", FormatPercent(ratio), " busy over ", FormatDuration(o.window_ms));
    int64_t since = now;
    if (!st.since.count(f.Key())) {
      TierValues t = SumOnTier(aggregator_, *snap, busy_cpu_series, kSinceTier);
      for (double& v : t.v) v /= n.cpu_count;
      since = HeldSince(t, o.node_cpu_warn, now);
    }
    add(std::move(f), since);
  }
  if (n.memory_total_bytes > 0 && std::isfinite(n.memory_available_bytes)) {
    double avail = n.memory_available_bytes / n.memory_total_bytes;
    if (avail <= o.node_mem_avail_warn) {
      Finding f;
      f.kind = "node_memory";
      f.severity = avail <= o.node_mem_avail_crit ? Severity::kCritical : Severity::kWarning;
      f.value = avail;
      f.threshold = o.node_mem_avail_warn;
      f.summary = absl::StrCat("only ", FormatBytes(n.memory_available_bytes), " (",
                               FormatPercent(avail), ") of memory available");
      int64_t since = now;
      if (!st.since.count(f.Key())) {
        TierValues t = SeriesOnTier(aggregator_, *snap, mem_avail_series, kSinceTier);
        for (double& v : t.v) v = 1 - v / n.memory_total_bytes;
        since = HeldSince(t, 1 - o.node_mem_avail_warn, now);
      }
      add(std::move(f), since);
    }
  }
  for (int k = 0; k < 3; ++k) {
    double some = n.psi[k][0][1], full = n.psi[k][1][1];
    bool crit = full >= o.psi_full_crit[k];
    if (!crit && !(some >= o.psi_some_warn[k])) continue;
    Finding f;
    f.kind = "node_pressure";
    f.resource = kPsiResources[k];
    f.severity = crit ? Severity::kCritical : Severity::kWarning;
    f.value = crit ? full : some;
    f.threshold = crit ? o.psi_full_crit[k] : o.psi_some_warn[k];
    f.summary = absl::StrCat(kPsiResources[k], " pressure: ", crit ? "all" : "some",
                             " tasks stalled ", FormatPercent(f.value), " of the last minute (PSI ",
                             crit ? "full" : "some", " avg60)");
    add(std::move(f), now);
  }
  for (const std::string& name : r.agent.failing_collectors) {
    Finding f;
    f.kind = "collector_failing";
    f.resource = name;
    f.severity = Severity::kWarning;
    f.value = 0;
    f.summary = absl::StrCat("collector ", name, " failed its last run (see the agent's log)");
    add(std::move(f), now);
  }
  if (options_.external_findings) {
    for (Finding& f : options_.external_findings()) add(std::move(f), now);
  }

  // Since: first build at which the key held, back-dated once from the rings.
  std::unordered_map<std::string, int64_t> since;
  for (size_t i = 0; i < fs.size(); ++i) {
    std::string key = fs[i].Key();
    auto prev = st.since.find(key);
    // A 10 s slot starts before the first sample in it, and nothing is
    // known from before the agent started.
    int64_t s = prev != st.since.end() ? prev->second
                                       : std::clamp(backdated[i], std::min(options_.start_time_ms, now), now);
    if (fs[i].kind == "oom_killed" || fs[i].kind == "restarts") s = backdated[i];
    fs[i].since_ms = s;
    since.emplace(std::move(key), s);
  }
  st.since = std::move(since);
  std::stable_sort(fs.begin(), fs.end(), [](const Finding& a, const Finding& b) {
    if (a.severity != b.severity) return a.severity > b.severity;
    return a.since_ms < b.since_ms;
  });

  st.report = report;
  return report;
}

std::shared_ptr<const PageHistory> HealthReporter::History(const HealthReport& report) {
  std::shared_ptr<const Snapshot> snap = pipeline_.snapshot();
  if (!snap || !snap->catalog) return std::make_shared<PageHistory>();
  base::MutexLock lock(&build_mu_);
  State& st = *state_;
  if (st.history && st.history_cycle == snap->cycle) return st.history;

  const Catalog& cat = *snap->catalog;
  const MetricIndex mi(cat);
  std::vector<SeriesId> busy;
  for (SeriesId s : mi.Series("node_cpu_seconds_total")) {
    std::string_view mode = LabelValue(cat.series[s].extra, "mode");
    if (cat.series[s].alive && mode != "idle" && mode != "iowait") busy.push_back(s);
  }
  // The 10 s tier once it holds more than the 1 s tier's span (6 min);
  // before that the 1 s tier, so a young agent's charts are not a few dots.
  uint32_t tier = 1;
  TierValues cpu = SumOnTier(aggregator_, *snap, busy, tier);
  size_t filled = 0;
  for (double v : cpu.v) filled += !std::isnan(v);
  if (static_cast<int64_t>(filled) * cpu.step_ms < 6 * 60'000) {
    tier = 0;
    cpu = SumOnTier(aggregator_, *snap, busy, tier);
  }
  auto h = std::make_shared<PageHistory>();
  // Charts start at the first slot with node data: the rings' empty past is
  // not drawn as a flat line.
  size_t start = 0;
  while (start < cpu.v.size() && std::isnan(cpu.v[start])) ++start;
  h->step_ms = cpu.step_ms;
  h->first_ms = cpu.first_ms + static_cast<int64_t>(start) * cpu.step_ms;
  h->slots = cpu.v.size() - start;
  auto cut = [&](const TierValues& t) {
    std::vector<double> out(h->slots, kNaN);
    if (t.step_ms != h->step_ms || t.step_ms <= 0) return out;
    for (size_t i = 0; i < h->slots; ++i) {
      int64_t slot = (h->first_ms - t.first_ms) / t.step_ms + static_cast<int64_t>(i);
      if (slot >= 0 && slot < static_cast<int64_t>(t.v.size())) out[i] = t.v[slot];
    }
    return out;
  };
  h->node_cpu_busy = cut(cpu);
  TierValues avail = SeriesOnTier(aggregator_, *snap, mi.NodeSeries("node_memory_MemAvailable_bytes"), tier);
  h->node_memory_used = cut(avail);
  double total = report.node.memory_total_bytes;
  for (double& v : h->node_memory_used) v = total - v;
  const char* psi[3] = {"node_pressure_cpu_waiting_seconds_total", "node_pressure_memory_waiting_seconds_total",
                        "node_pressure_io_waiting_seconds_total"};
  for (int k = 0; k < 3; ++k) h->node_psi[k] = cut(SeriesOnTier(aggregator_, *snap, mi.NodeSeries(psi[k]), tier));

  auto container_rows = [&](const std::vector<uint32_t>& idx) {
    for (uint32_t i : idx) {
      if (i >= report.containers.size()) continue;
      const ContainerHealth& c = report.containers[i];
      if (!h->cpu.count(c.ref.id)) h->cpu[c.ref.id] = cut(SeriesOnTier(aggregator_, *snap, c.cpu_series, tier));
      if (!h->working_set.count(c.ref.id)) {
        h->working_set[c.ref.id] = cut(SeriesOnTier(aggregator_, *snap, c.ws_series, tier));
      }
      if (!h->throttled.count(c.ref.id)) {
        TierValues t = SeriesOnTier(aggregator_, *snap, c.throttled_series, tier);
        TierValues p = SeriesOnTier(aggregator_, *snap, c.periods_series, tier);
        for (size_t k = 0; k < t.v.size(); ++k) t.v[k] = k < p.v.size() && p.v[k] > 0 ? t.v[k] / p.v[k] : kNaN;
        h->throttled[c.ref.id] = cut(t);
      }
    }
  };
  container_rows(report.top_cpu);
  container_rows(report.top_memory);
  container_rows(report.top_throttled);
  container_rows(report.near_limit);
  st.history = h;
  st.history_cycle = snap->cycle;
  return h;
}

// ---- handlers ----

Handler HealthReporter::ApiHandler() {
  return [this](const HttpRequest& req) {
    std::shared_ptr<const HealthReport> r = Report();
    if (!r) {
      return HttpResponse{503, "text/plain; charset=utf-8", "no collection cycle completed yet\n", {}, nullptr};
    }
    std::map<std::string, std::string> headers = {
        {"X-Nodepulse-Health", r->Status()},
        {"X-Nodepulse-Findings", std::to_string(r->findings.size())}};
    std::string format = req.Param("format");
    if (format.empty() || format == "json") {
      return HttpResponse{200, "application/json", RenderHealthJson(*r), std::move(headers), nullptr};
    }
    if (format == "text") {
      return HttpResponse{200, "text/plain; charset=utf-8", RenderHealthText(*r), std::move(headers), nullptr};
    }
    if (format == "top") {
      TopOptions t;
      std::string sort = req.Param("sort");
      if (!sort.empty()) t.sort = sort;
      if (t.sort != "cpu" && t.sort != "memory" && t.sort != "throttled") {
        return HttpResponse{400, "text/plain; charset=utf-8",
                            "sort must be cpu, memory or throttled\n", {}, nullptr};
      }
      uint32_t v = 0;
      if (absl::SimpleAtoi(req.Param("n"), &v) && v > 0) t.rows = std::min<uint32_t>(v, 1000);
      if (absl::SimpleAtoi(req.Param("width"), &v) && v >= 60) t.width = std::min<uint32_t>(v, 400);
      return HttpResponse{200, "text/plain; charset=utf-8", RenderHealthTop(*r, t), std::move(headers), nullptr};
    }
    return HttpResponse{400, "text/plain; charset=utf-8", "format must be json, text or top\n", {}, nullptr};
  };
}

Handler HealthReporter::PageHandler() {
  return [this](const HttpRequest&) {
    std::shared_ptr<const HealthReport> r = Report();
    if (!r) {
      return HttpResponse{503, "text/html; charset=utf-8",
                          RenderStatusPageStarting(options_.node_name), {{"Cache-Control", "no-store"}}, nullptr};
    }
    std::shared_ptr<const PageHistory> h = History(*r);
    return HttpResponse{200, "text/html; charset=utf-8", RenderStatusPage(*r, *h),
                        {{"Cache-Control", "no-store"}}, nullptr};
  };
}

}  // namespace nodepulse::exporters
