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
#include "nodepulse/pipeline/metric_names.h"
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
          if (f.name == metric::kCollectorSuccess && v == 0) {
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

// throttled / periods slot by slot; NaN where periods is not positive.
TierValues ThrottledOnTier(const pipeline::Aggregator& agg, const Snapshot& snap, SeriesId throttled,
                           SeriesId periods, uint32_t tier) {
  TierValues t = SeriesOnTier(agg, snap, throttled, tier);
  TierValues p = SeriesOnTier(agg, snap, periods, tier);
  for (size_t k = 0; k < t.v.size(); ++k) t.v[k] = k < p.v.size() && p.v[k] > 0 ? t.v[k] / p.v[k] : kNaN;
  return t;
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

// What one report build reads: the snapshot, its metric index and the
// window statistics over HealthOptions::window_ms.
struct BuildInput {
  const Snapshot& snap;
  const Catalog& cat;
  const MetricIndex& mi;
  const pipeline::WindowStats& window;
  bool have_window;
  int64_t now;

  double Avg(SeriesId id) const { return have_window ? window.Get(id, Stat::kAvg) : kNaN; }
  double Last(SeriesId id) const { return have_window ? window.Get(id, Stat::kLast) : kNaN; }
  double Value(SeriesId id) const { return id == pipeline::kNoSeries ? kNaN : snap.value(id); }
};

// The node series the findings back-date from.
struct NodeSeries {
  std::vector<SeriesId> busy_cpu;  // node_cpu_seconds_total, neither idle nor iowait
  SeriesId mem_available = pipeline::kNoSeries;
};

void ReadNodeCpu(const BuildInput& in, NodeHealth& n, NodeSeries& series) {
  std::unordered_set<std::string> cpus;
  for (SeriesId s : in.mi.Series(metric::kNodeCpuSeconds)) {
    const Catalog::Series& cs = in.cat.series[s];
    if (!cs.alive) continue;
    std::string_view mode = LabelValue(cs.extra, "mode");
    cpus.emplace(LabelValue(cs.extra, "cpu"));
    if (mode == "idle") continue;
    if (mode == "iowait") {
      AddTo(n.cpu_iowait_cores, in.Avg(s));
      continue;
    }
    series.busy_cpu.push_back(s);
    AddTo(n.cpu_busy_cores, in.Avg(s));
    AddTo(n.cpu_busy_cores_now, in.Last(s));
  }
  if (!cpus.empty()) n.cpu_count = static_cast<double>(cpus.size());
}

void ReadNodePressure(const BuildInput& in, NodeHealth& n) {
  for (SeriesId s : in.mi.Series(metric::kNodePressureAvgRatio)) {
    const Labels labels = in.cat.LabelsOf(s);
    std::string_view res = LabelValue(labels, "resource"), kind = LabelValue(labels, "kind"),
                     win = LabelValue(labels, "window");
    for (int a = 0; a < 3; ++a) {
      for (int b = 0; b < 2; ++b) {
        for (int c = 0; c < 3; ++c) {
          if (res == kPsiResources[a] && kind == kPsiKinds[b] && win == kPsiWindows[c]) {
            n.psi[a][b][c] = in.Value(s);
          }
        }
      }
    }
  }
}

NodeSeries ReadNode(const BuildInput& in, NodeHealth& n) {
  NodeSeries series;
  ReadNodeCpu(in, n, series);
  n.memory_total_bytes = in.Value(in.mi.NodeSeries(metric::kNodeMemoryMemTotal));
  series.mem_available = in.mi.NodeSeries(metric::kNodeMemoryMemAvailable);
  n.memory_available_bytes = in.Value(series.mem_available);
  n.load1 = in.Value(in.mi.NodeSeries(metric::kNodeLoad1));
  n.load5 = in.Value(in.mi.NodeSeries(metric::kNodeLoad5));
  n.load15 = in.Value(in.mi.NodeSeries(metric::kNodeLoad15));
  ReadNodePressure(in, n);
  return series;
}

// Containers are leaf cgroups (a parent's usage includes its children's)
// with CPU or memory series; with the kubelet join, not pod cgroups
// (container="") nor pause containers (cAdvisor exports both; rollup.h).
// Appends them to r.containers and returns entity -> row.
std::unordered_map<pipeline::EntityId, uint32_t> FindContainers(const BuildInput& in, HealthReport& r) {
  std::unordered_set<pipeline::EntityId> seen;
  std::vector<pipeline::EntityId> candidates;
  std::unordered_set<std::string> parents;
  for (const char* name : {metric::kContainerCpuUsage, metric::kContainerMemoryWorkingSet}) {
    for (SeriesId s : in.mi.Series(name)) {
      const Catalog::Series& cs = in.cat.series[s];
      if (!cs.alive || cs.entity == pipeline::kNodeEntity || cs.entity >= in.cat.entities.size()) continue;
      if (!seen.insert(cs.entity).second) continue;
      candidates.push_back(cs.entity);
      std::string_view id = LabelValue(in.cat.entities[cs.entity].labels, "id");
      for (size_t p = id.rfind('/'); p != std::string_view::npos && p > 0; p = id.rfind('/', p - 1)) {
        if (!parents.emplace(id.substr(0, p)).second) break;  // ancestors already in
      }
    }
  }
  std::unordered_map<pipeline::EntityId, uint32_t> row_of;
  for (pipeline::EntityId e : candidates) {
    EntityRef ref = RefFromLabels(in.cat.entities[e].labels);
    if (ref.id.empty() || ref.id == "/" || parents.count(ref.id)) continue;
    if (!ref.pod.empty() && (ref.container.empty() || ref.container == "POD")) continue;
    if (!ref.pod.empty()) r.kubernetes = true;
    row_of.emplace(e, static_cast<uint32_t>(r.containers.size()));
    ContainerHealth c;
    c.ref = std::move(ref);
    c.entity = e;
    r.containers.push_back(std::move(c));
  }
  return row_of;
}

// Fills each container's values from its series.
void ReadContainers(const BuildInput& in, HealthReport& r) {
  const std::unordered_map<pipeline::EntityId, uint32_t> row_of = FindContainers(in, r);
  auto each = [&](std::string_view name, auto&& fn) {
    for (SeriesId s : in.mi.Series(name)) {
      const Catalog::Series& cs = in.cat.series[s];
      if (!cs.alive) continue;
      auto it = row_of.find(cs.entity);
      if (it != row_of.end()) fn(r.containers[it->second], s, cs);
    }
  };
  each(metric::kContainerCpuUsage, [&](ContainerHealth& c, SeriesId s, const Catalog::Series& cs) {
    std::string_view cpu = LabelValue(cs.extra, "cpu");
    if (!cpu.empty() && cpu != "total") return;
    c.cpu_series = s;
    c.cpu_cores = in.Avg(s);
    c.cpu_cores_now = in.Last(s);
  });
  each(metric::kContainerCpuCfsThrottledPeriods, [&](ContainerHealth& c, SeriesId s, auto&) { c.throttled_series = s; });
  each(metric::kContainerCpuCfsPeriods, [&](ContainerHealth& c, SeriesId s, auto&) { c.periods_series = s; });
  each(metric::kContainerMemoryWorkingSet, [&](ContainerHealth& c, SeriesId s, auto&) {
    c.ws_series = s;
    c.working_set_bytes = in.Value(s);
  });
  each(metric::kContainerMemoryRss, [&](ContainerHealth& c, SeriesId s, auto&) { c.rss_bytes = in.Value(s); });
  each(metric::kContainerSpecMemoryLimit, [&](ContainerHealth& c, SeriesId s, auto&) {
    double v = in.Value(s);
    c.memory_limit_bytes = v > 0 ? v : kNaN;  // 0 = unlimited
  });
  std::unordered_map<pipeline::EntityId, double> quota;
  each(metric::kContainerSpecCpuQuota, [&](ContainerHealth& c, SeriesId s, auto&) { quota[c.entity] = in.Value(s); });
  each(metric::kContainerSpecCpuPeriod, [&](ContainerHealth& c, SeriesId s, auto&) {
    auto q = quota.find(c.entity);
    double p = in.Value(s);
    if (q != quota.end() && q->second > 0 && p > 0) c.cpu_limit_cores = q->second / p;
  });
  const char* psi_metrics[3] = {metric::kContainerPressureCpuWaiting, metric::kContainerPressureMemoryWaiting,
                                metric::kContainerPressureIoWaiting};
  for (int k = 0; k < 3; ++k) {
    each(psi_metrics[k], [&](ContainerHealth& c, SeriesId s, auto&) { c.psi_some[k] = in.Avg(s); });
  }
  for (ContainerHealth& c : r.containers) {
    double periods = in.Avg(c.periods_series), throttled = in.Avg(c.throttled_series);
    if (periods > 0) c.throttled_ratio = std::min(1.0, throttled / periods);
    double pn = in.Last(c.periods_series), tn = in.Last(c.throttled_series);
    if (pn > 0) c.throttled_ratio_now = std::min(1.0, tn / pn);
    c.memory_limit_ratio = Ratio(c.working_set_bytes, c.memory_limit_bytes);
  }
}

// The top lists and the containers near their memory limit.
void RankContainers(const HealthOptions& o, HealthReport& r) {
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
    if (idx.size() > o.top_n) idx.resize(o.top_n);
    return idx;
  };
  r.top_cpu = top([](const ContainerHealth& c) { return c.cpu_cores; }, -1);
  r.top_memory = top([](const ContainerHealth& c) { return c.working_set_bytes; }, -1);
  r.top_throttled = top([](const ContainerHealth& c) { return c.throttled_ratio; }, 0);
  for (uint32_t i = 0; i < r.containers.size(); ++i) {
    if (r.containers[i].memory_limit_ratio >= o.memory_limit_warn) r.near_limit.push_back(i);
  }
  std::sort(r.near_limit.begin(), r.near_limit.end(), [&](uint32_t a, uint32_t b) {
    return r.containers[a].memory_limit_ratio > r.containers[b].memory_limit_ratio;
  });
}

// OOM kills and restarts: the counters' changes over events_window_ms,
// kept across builds, so a kill is still reported after the container (and
// its series) was replaced.
class EventTracker {
 public:
  void Update(const BuildInput& in, int64_t events_window_ms, HealthReport& r) {
    Observe(in);
    const int64_t horizon = in.now - events_window_ms;
    for (auto it = tracks_.begin(); it != tracks_.end();) {
      Track& t = it->second;
      if (t.last_seen_ms < horizon) {
        it = tracks_.erase(it);
        continue;
      }
      EventCount e = Count(t, horizon, in.now);
      if (e.recent > 0 || (t.kind != kRestarts && e.total > 0)) {
        (t.kind == kPodOom ? r.oom_kills : t.kind == kWorkloadOom ? r.workload_oom_kills : r.restarts)
            .push_back(std::move(e));
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

 private:
  enum Kind { kPodOom, kWorkloadOom, kRestarts };
  // One counter series, by metric + rendered labels.
  struct Track {
    Kind kind = kPodOom;
    EntityRef ref;
    std::vector<std::pair<int64_t, double>> points;  // changes, oldest first
    double current = kNaN;
    int64_t last_seen_ms = 0;
  };

  void Observe(const BuildInput& in) {
    struct Source {
      const char* metric;
      Kind kind;
    };
    // Without a kubelet the cgroup's own counter is all there is (v2
    // memory.events oom_kill; it resets when the container is replaced).
    const bool kubelet_oom = !in.mi.Series(metric::kPodOomKills).empty();
    const Source sources[] = {{metric::kWorkloadOomKills, kWorkloadOom},
                              {metric::kKubePodContainerRestarts, kRestarts},
                              kubelet_oom ? Source{metric::kPodOomKills, kPodOom}
                                          : Source{metric::kContainerOomEvents, kPodOom}};
    for (const Source& src : sources) {
      for (SeriesId s : in.mi.Series(src.metric)) {
        const Catalog::Series& cs = in.cat.series[s];
        double v = in.Value(s);
        if (!cs.alive || std::isnan(v)) continue;
        auto [it, fresh] = tracks_.try_emplace(absl::StrCat(src.metric, "{", cs.rendered_labels(), "}"));
        Track& t = it->second;
        if (fresh) {
          t.kind = src.kind;
          t.ref = RefFromLabels(in.cat.LabelsOf(s));
        }
        if (t.points.empty() || t.points.back().second != v) t.points.emplace_back(in.now, v);
        t.current = v;
        t.last_seen_ms = in.now;
      }
    }
  }

  // The increase within the window; drops the points before it but one
  // baseline at or before the horizon.
  static EventCount Count(Track& t, int64_t horizon, int64_t now) {
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
    return e;
  }

  std::unordered_map<std::string, Track> tracks_;
};

// The agent's own cost, from its self-metrics; CPU and cycle time as rates
// between builds at least 5 s apart.
class CostMeter {
 public:
  void Update(const HealthOptions& o, int64_t now, AgentCost& a) {
    SelfValues sv(o.self_metrics);
    a.uptime_seconds = static_cast<double>(now - o.start_time_ms) / 1000.0;
    a.cycles = sv.Get(metric::kCycles);
    a.cycle_seconds_last = sv.Get(metric::kCollectorDuration);
    a.rss_bytes = sv.Get(metric::kProcessResidentMemory);
    a.pipeline_bytes = sv.Get(metric::kPipelineBytes);
    a.series = sv.Get(metric::kSeries);
    a.entities = sv.Get(metric::kEntities);
    a.read_errors = sv.Get(metric::kReadErrors);
    a.parse_errors = sv.Get(metric::kParseErrors);
    a.overruns = sv.Get(metric::kCycleOverruns);
    a.series_dropped = sv.Get(metric::kSeriesDropped);
    a.failing_collectors = sv.failing_collectors;
    auto h = sv.histo.find(metric::kCycleDuration);
    UpdateRates(now, a.uptime_seconds, sv.Get(metric::kProcessCpuSeconds),
                h == sv.histo.end() ? kNaN : h->second.first, h == sv.histo.end() ? kNaN : h->second.second);
    a.cpu_cores = cpu_cores_;
    a.cycle_seconds_avg = cycle_avg_;
  }

 private:
  void UpdateRates(int64_t now, double uptime_seconds, double cpu, double cycle_sum, double cycle_count) {
    // Rates over at least 5 s between builds, else keep the previous ones;
    // the first build averages since start.
    double dt = static_cast<double>(now - prev_ms_) / 1000.0;
    if (prev_ms_ == 0) {
      // Start-up work (discovery, first reads) would dominate a shorter span.
      cpu_cores_ = uptime_seconds >= 5 ? Ratio(cpu, uptime_seconds) : kNaN;
      cycle_avg_ = Ratio(cycle_sum, cycle_count);
    } else if (dt >= 5) {
      cpu_cores_ = Ratio(cpu - prev_cpu_, dt);
      double dc = cycle_count - prev_cycle_count_;
      cycle_avg_ = dc > 0 ? (cycle_sum - prev_cycle_sum_) / dc : cycle_avg_;
    }
    if (prev_ms_ == 0 || dt >= 5) {
      prev_ms_ = now;
      prev_cpu_ = cpu;
      prev_cycle_sum_ = cycle_sum;
      prev_cycle_count_ = cycle_count;
    }
  }

  int64_t prev_ms_ = 0;
  double prev_cpu_ = kNaN, prev_cycle_sum_ = kNaN, prev_cycle_count_ = kNaN;
  double cpu_cores_ = kNaN, cycle_avg_ = kNaN;
};

// The findings of one build, each with the time it is back-dated to, then
// settled against the previous build's "since" times.
class FindingsBuilder {
 public:
  FindingsBuilder(const BuildInput& in, const HealthOptions& o, const pipeline::Aggregator& agg,
                  const std::unordered_map<std::string, int64_t>& since)
      : in_(in), o_(o), agg_(agg), since_(since) {}

  void MemoryNearLimit(const HealthReport& r) {
    for (uint32_t i : r.near_limit) {
      const ContainerHealth& c = r.containers[i];
      Finding f;
      f.kind = "memory_near_limit";
      f.severity = c.memory_limit_ratio >= o_.memory_limit_crit ? Severity::kCritical : Severity::kWarning;
      f.ref = c.ref;
      f.value = c.memory_limit_ratio;
      f.threshold = o_.memory_limit_warn;
      f.summary = absl::StrCat("working set ", FormatBytes(c.working_set_bytes), " = ",
                               FormatPercent(c.memory_limit_ratio), " of its ",
                               FormatBytes(c.memory_limit_bytes), " limit");
      int64_t since = in_.now;
      if (!Known(f)) {
        TierValues t = SeriesOnTier(agg_, in_.snap, c.ws_series, kSinceTier);
        for (double& v : t.v) v /= c.memory_limit_bytes;
        since = HeldSince(t, o_.memory_limit_warn, in_.now);
      }
      Add(std::move(f), since);
    }
  }

  void Throttled(const HealthReport& r) {
    for (const ContainerHealth& c : r.containers) {
      if (!(c.throttled_ratio >= o_.throttled_warn)) continue;
      if (!(in_.Avg(c.periods_series) >= o_.throttled_min_periods_per_s)) continue;
      Finding f;
      f.kind = "cpu_throttled";
      f.severity = c.throttled_ratio >= o_.throttled_crit ? Severity::kCritical : Severity::kWarning;
      f.ref = c.ref;
      f.value = c.throttled_ratio;
      f.threshold = o_.throttled_warn;
      f.summary = absl::StrCat("throttled in ", FormatPercent(c.throttled_ratio), " of CFS periods over ",
                               FormatDurationRounded(o_.window_ms));
      if (std::isfinite(c.cpu_limit_cores)) {
        char buf[64];
        std::snprintf(buf, sizeof(buf), " (limit %.2f CPU, using %.2f)", c.cpu_limit_cores, c.cpu_cores);
        absl::StrAppend(&f.summary, buf);
      }
      int64_t since = in_.now;
      if (!Known(f)) {
        since = HeldSince(ThrottledOnTier(agg_, in_.snap, c.throttled_series, c.periods_series, kSinceTier),
                          o_.throttled_warn, in_.now);
      }
      Add(std::move(f), since);
    }
  }

  // oom_killed and restarts: since the first increase in the window.
  void Events(const HealthReport& r) {
    for (const EventCount& e : r.oom_kills) {
      if (e.recent <= 0) continue;
      Finding f = EventFinding("oom_killed", Severity::kCritical, e, " OOM kill");
      if (!e.ref.workload.empty()) absl::StrAppend(&f.summary, " (", e.ref.workload_kind, " ", e.ref.workload, ")");
      Add(std::move(f), e.first_ms);
    }
    for (const EventCount& e : r.restarts) {
      if (e.recent <= 0) continue;
      Add(EventFinding("restarts", e.recent >= 3 ? Severity::kCritical : Severity::kWarning, e, " restart"),
          e.first_ms);
    }
  }

  void NodeCpu(const NodeHealth& n, const NodeSeries& series) {
    if (!(n.cpu_count > 0 && n.cpu_busy_cores / n.cpu_count >= o_.node_cpu_warn)) return;
    Finding f;
    f.kind = "node_cpu";
    double ratio = n.cpu_busy_cores / n.cpu_count;
    f.severity = ratio >= o_.node_cpu_crit ? Severity::kCritical : Severity::kWarning;
    f.value = ratio;
    f.threshold = o_.node_cpu_warn;
    f.summary = absl::StrCat("CPUs ", FormatPercent(ratio), " busy over ", FormatDurationRounded(o_.window_ms));
    int64_t since = in_.now;
    if (!Known(f)) {
      TierValues t = SumOnTier(agg_, in_.snap, series.busy_cpu, kSinceTier);
      for (double& v : t.v) v /= n.cpu_count;
      since = HeldSince(t, o_.node_cpu_warn, in_.now);
    }
    Add(std::move(f), since);
  }

  void NodeMemory(const NodeHealth& n, const NodeSeries& series) {
    if (!(n.memory_total_bytes > 0 && std::isfinite(n.memory_available_bytes))) return;
    double avail = n.memory_available_bytes / n.memory_total_bytes;
    if (avail > o_.node_mem_avail_warn) return;
    Finding f;
    f.kind = "node_memory";
    f.severity = avail <= o_.node_mem_avail_crit ? Severity::kCritical : Severity::kWarning;
    f.value = avail;
    f.threshold = o_.node_mem_avail_warn;
    f.summary = absl::StrCat("only ", FormatBytes(n.memory_available_bytes), " (", FormatPercent(avail),
                             ") of memory available");
    int64_t since = in_.now;
    if (!Known(f)) {
      TierValues t = SeriesOnTier(agg_, in_.snap, series.mem_available, kSinceTier);
      for (double& v : t.v) v = 1 - v / n.memory_total_bytes;
      since = HeldSince(t, 1 - o_.node_mem_avail_warn, in_.now);
    }
    Add(std::move(f), since);
  }

  void NodePressure(const NodeHealth& n) {
    for (int k = 0; k < 3; ++k) {
      double some = n.psi[k][0][1], full = n.psi[k][1][1];
      bool crit = full >= o_.psi_full_crit[k];
      if (!crit && !(some >= o_.psi_some_warn[k])) continue;
      Finding f;
      f.kind = "node_pressure";
      f.resource = kPsiResources[k];
      f.severity = crit ? Severity::kCritical : Severity::kWarning;
      f.value = crit ? full : some;
      f.threshold = crit ? o_.psi_full_crit[k] : o_.psi_some_warn[k];
      f.summary = absl::StrCat(kPsiResources[k], " pressure: ", crit ? "all" : "some", " tasks stalled ",
                               FormatPercent(f.value), " of the last minute (PSI ", crit ? "full" : "some",
                               " avg60)");
      Add(std::move(f), in_.now);
    }
  }

  void FailingCollectors(const AgentCost& a) {
    for (const std::string& name : a.failing_collectors) {
      Finding f;
      f.kind = "collector_failing";
      f.resource = name;
      f.severity = Severity::kWarning;
      f.value = 0;
      f.summary = absl::StrCat("collector ", name, " failed its last run (see the agent's log)");
      Add(std::move(f), in_.now);
    }
  }

  void External() {
    if (!o_.external_findings) return;
    for (Finding& f : o_.external_findings()) Add(std::move(f), in_.now);
  }

  // The findings, critical first, then oldest first, each with since_ms:
  // the first build at which its key held, back-dated once from the rings;
  // `since` becomes this build's keys.
  std::vector<Finding> Settle(std::unordered_map<std::string, int64_t>& since) && {
    std::unordered_map<std::string, int64_t> next;
    for (size_t i = 0; i < fs_.size(); ++i) {
      std::string key = fs_[i].Key();
      auto prev = since_.find(key);
      // A 10 s slot starts before the first sample in it, and nothing is
      // known from before the agent started.
      int64_t s = prev != since_.end()
                      ? prev->second
                      : std::clamp(backdated_[i], std::min(o_.start_time_ms, in_.now), in_.now);
      if (fs_[i].kind == "oom_killed" || fs_[i].kind == "restarts") s = backdated_[i];
      fs_[i].since_ms = s;
      next.emplace(std::move(key), s);
    }
    since = std::move(next);
    std::stable_sort(fs_.begin(), fs_.end(), [](const Finding& a, const Finding& b) {
      if (a.severity != b.severity) return a.severity > b.severity;
      return a.since_ms < b.since_ms;
    });
    return std::move(fs_);
  }

 private:
  Finding EventFinding(const char* kind, Severity severity, const EventCount& e, const char* what) const {
    Finding f;
    f.kind = kind;
    f.severity = severity;
    f.ref = e.ref;
    f.value = e.recent;
    f.threshold = 1;
    f.summary = absl::StrCat(e.recent, what, e.recent == 1 ? "" : "s", " in the last ",
                             FormatDurationRounded(o_.events_window_ms));
    return f;
  }
  // Held at the previous build: its since is known, no back-dating needed.
  bool Known(const Finding& f) const { return since_.count(f.Key()) > 0; }
  void Add(Finding f, int64_t since) {
    fs_.push_back(std::move(f));
    backdated_.push_back(since);
  }

  const BuildInput& in_;
  const HealthOptions& o_;
  const pipeline::Aggregator& agg_;
  const std::unordered_map<std::string, int64_t>& since_;
  std::vector<Finding> fs_;
  std::vector<int64_t> backdated_;  // parallel to fs_: ring-derived start, or now
};

std::vector<Finding> BuildFindings(const BuildInput& in, const HealthOptions& o, const pipeline::Aggregator& agg,
                                   const NodeSeries& node, const HealthReport& r,
                                   std::unordered_map<std::string, int64_t>& since) {
  FindingsBuilder b(in, o, agg, since);
  b.MemoryNearLimit(r);
  b.Throttled(r);
  b.Events(r);
  b.NodeCpu(r.node, node);
  b.NodeMemory(r.node, node);
  b.NodePressure(r.node);
  b.FailingCollectors(r.agent);
  b.External();
  return std::move(b).Settle(since);
}

}  // namespace

// ---- reporter state ----

struct HealthReporter::State {
  std::shared_ptr<const HealthReport> report;
  std::shared_ptr<const PageHistory> history;
  uint64_t history_cycle = ~uint64_t{0};
  pipeline::WindowStats window;  // reused across builds: no allocation in steady state
  std::unordered_map<std::string, int64_t> since;  // Finding::Key() -> first held
  EventTracker events;
  CostMeter cost;
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

std::shared_ptr<const HealthReport> HealthReporter::Report() {
  std::shared_ptr<const Snapshot> snap = pipeline_.snapshot();
  if (!snap || !snap->catalog) return nullptr;
  base::MutexLock lock(&build_mu_);
  State& st = *state_;
  if (st.report && st.report->cycle == snap->cycle) return st.report;

  const MetricIndex mi(*snap->catalog);
  const bool have_window = aggregator_.Compute(*snap, options_.window_ms, false, &st.window).ok();
  const BuildInput in{*snap, *snap->catalog, mi, st.window, have_window, snap->timestamp_ms};
  auto report = std::make_shared<HealthReport>();
  HealthReport& r = *report;
  r.timestamp_ms = in.now;
  r.cycle = snap->cycle;
  r.node_name = options_.node_name;
  r.window_ms = options_.window_ms;
  r.events_window_ms = options_.events_window_ms;
  const NodeSeries node = ReadNode(in, r.node);
  ReadContainers(in, r);
  RankContainers(options_, r);
  st.events.Update(in, options_.events_window_ms, r);
  st.cost.Update(options_, in.now, r.agent);
  r.findings = BuildFindings(in, options_, aggregator_, node, r, st.since);
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
  for (SeriesId s : mi.Series(metric::kNodeCpuSeconds)) {
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
  TierValues avail = SeriesOnTier(aggregator_, *snap, mi.NodeSeries(metric::kNodeMemoryMemAvailable), tier);
  h->node_memory_used = cut(avail);
  double total = report.node.memory_total_bytes;
  for (double& v : h->node_memory_used) v = total - v;
  const char* psi[3] = {metric::kNodePressureCpuWaiting, metric::kNodePressureMemoryWaiting,
                        metric::kNodePressureIoWaiting};
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
        h->throttled[c.ref.id] =
            cut(ThrottledOnTier(aggregator_, *snap, c.throttled_series, c.periods_series, tier));
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
