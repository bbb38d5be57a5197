#include "nodepulse/exporters/aggregates/aggregates.h"

#include <algorithm>
#include <cmath>
#include <charconv>
#include <limits>
#include <cstdio>
#include <map>
#include <tuple>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "aggregates.pb.h"
#include "aggregates_coverage.h"
#include "aggregates_json.h"
#include "nodepulse/base/json_writer.h"
#include "nodepulse/base/log.h"
#include "nodepulse/base/text_format.h"
#include "nodepulse/pipeline/metric_names.h"

namespace nodepulse::exporters {

using base::JsonWriter;

namespace {

using pipeline::Catalog;
using pipeline::MetricId;
using PodValue = PodGrouping::PodValue;
using pipeline::Snapshot;
using pipeline::Stat;
using pipeline::WindowStats;

constexpr MetricId kNoMetric = 0xffff;

MetricId FindMetric(const Catalog& cat, absl::string_view name) {
  for (size_t i = 0; i < cat.metrics.size(); ++i) {
    if (cat.metrics[i].name == name) return static_cast<MetricId>(i);
  }
  return kNoMetric;
}

// The text format's numbers and escaping (one precision: text_format.h).
std::string Num(double v) { return base::SampleValue(v); }
template <typename S>
std::string Escape(const S& v) {
  return base::EscapeLabelValue(v);
}

// What a pod's value is divided by: nothing, or its current request.
enum class PerRequest : uint8_t { kNone, kCpu, kMemory };

// The aggregate metrics, one row each: the API's name and the recording
// rule's parts (AggregateMetrics() is this table's public face), and where
// the values come from and how a container's window value is taken:
// counters are stored as rates, so kAvg is the average rate.
struct ApiNames {
  const char* name;         // AggregateMetric::name
  const char* rule_metric;  // AggregateMetric::rule_metric
  const char* rule_op;
  const char* unit;
};
struct MetricRow {
  ApiNames api;
  const char* raw;      // container series
  const char* den_raw;  // ratio denominator, or nullptr
  Stat stat;
  PerRequest per_request;
};
constexpr MetricRow kMetricTable[] = {
    {{"cpu", "container_cpu_usage", "rate", "cores"}, metric::kContainerCpuUsage, nullptr, Stat::kAvg,
     PerRequest::kNone},
    {{"memory", "container_memory_working_set_bytes", "max", "bytes"}, metric::kContainerMemoryWorkingSet,
     nullptr, Stat::kMax, PerRequest::kNone},
    {{"throttling", "container_cpu_cfs_throttled", "ratio", "ratio"}, metric::kContainerCpuCfsThrottledPeriods,
     metric::kContainerCpuCfsPeriods, Stat::kAvg, PerRequest::kNone},
    {{"rss", "container_memory_rss", "max", "bytes"}, metric::kContainerMemoryRss, nullptr, Stat::kMax,
     PerRequest::kNone},
    {{"fs_read", "container_fs_reads_bytes", "rate", "bytes_per_second"}, metric::kContainerFsReadsBytes,
     nullptr, Stat::kAvg, PerRequest::kNone},
    {{"fs_write", "container_fs_writes_bytes", "rate", "bytes_per_second"}, metric::kContainerFsWritesBytes,
     nullptr, Stat::kAvg, PerRequest::kNone},
    {{"network_receive", "container_network_receive_bytes", "rate", "bytes_per_second"},
     metric::kContainerNetworkReceiveBytes, nullptr, Stat::kAvg, PerRequest::kNone},
    {{"network_transmit", "container_network_transmit_bytes", "rate", "bytes_per_second"},
     metric::kContainerNetworkTransmitBytes, nullptr, Stat::kAvg, PerRequest::kNone},
    // The pod's cpu / memory value as above, over its request in force.
    {{"cpu_utilization", "container_cpu_utilization", "ratio", "ratio"}, metric::kContainerCpuUsage, nullptr,
     Stat::kAvg, PerRequest::kCpu},
    {{"memory_utilization", "container_memory_utilization", "ratio", "ratio"},
     metric::kContainerMemoryWorkingSet, nullptr, Stat::kMax, PerRequest::kMemory},
};

// The divisor of a pod's value: 1, or its request in force; NaN when the
// pod has none (unknown pod, a container without one, or 0), so the pod is
// left out and counted, never divided by zero.
double RequestOf(PerRequest per, const PodInfo* info) {
  if (per == PerRequest::kNone) return 1;
  const double r = info == nullptr              ? std::nan("")
                   : per == PerRequest::kCpu    ? info->cpu_request_cores
                                                : info->memory_request_bytes;
  return r > 0 ? r : std::nan("");
}

std::string PodHelp(const MetricRow& row, const std::string& wname) {
  // A utilization's op is that of the value it divides (rate or max).
  const std::string op = row.per_request == PerRequest::kNone ? row.api.rule_op
                         : row.stat == Stat::kAvg              ? "rate"
                                                               : "max";
  std::string help = absl::StrCat("sum over its containers of the ", op, " over ", wname, " of ", row.raw);
  if (row.per_request == PerRequest::kCpu) absl::StrAppend(&help, ", over the pod's current CPU request");
  if (row.per_request == PerRequest::kMemory) absl::StrAppend(&help, ", over the pod's current memory request");
  return absl::StrCat(help, " (", row.api.unit, ").");
}

// Workload series emitted per metric and window (the API serves every stat).
constexpr Stat kWorkloadStats[] = {Stat::kSum, Stat::kAvg, Stat::kMax, Stat::kP95};

void Family(std::string* out, const std::string& name, const std::string& help) {
  absl::StrAppend(out, "# HELP ", name, " ", help, "\n# TYPE ", name, " gauge\n");
}

}  // namespace

const std::vector<AggregateMetric>& AggregateMetrics() {
  static const auto* m = [] {
    auto* v = new std::vector<AggregateMetric>;
    for (const MetricRow& row : kMetricTable) {
      v->push_back({row.api.name, row.api.rule_metric, row.api.rule_op, row.api.unit});
    }
    return v;
  }();
  return *m;
}

// The largest unit that divides the window: "1h", "5m", "15s", "1500ms".
std::string WindowName(int64_t window_ms) {
  if (window_ms % 3'600'000 == 0) return absl::StrCat(window_ms / 3'600'000, "h");
  if (window_ms % 60'000 == 0) return absl::StrCat(window_ms / 60'000, "m");
  if (window_ms % 1000 == 0) return absl::StrCat(window_ms / 1000, "s");
  return absl::StrCat(window_ms, "ms");
}

absl::StatusOr<std::vector<std::string>> ParseAggregateMetrics(absl::string_view list) {
  std::vector<std::string> out;
  std::vector<std::string> valid;
  for (const AggregateMetric& m : AggregateMetrics()) valid.push_back(m.name);
  if (list == "all") return valid;
  for (absl::string_view name : absl::StrSplit(list, ',', absl::SkipEmpty())) {
    if (std::find(valid.begin(), valid.end(), name) == valid.end()) {
      return absl::InvalidArgumentError(absl::StrCat("unknown aggregate metric '", name,
                                                     "'; valid: ", absl::StrJoin(valid, ",")));
    }
    out.emplace_back(name);
  }
  if (out.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("no aggregate metric given; valid: ", absl::StrJoin(valid, ",")));
  }
  return out;
}

absl::StatusOr<int64_t> ParseWindow(absl::string_view text, const std::vector<int64_t>& windows_ms) {
  std::vector<std::string> names;
  for (int64_t w : windows_ms) {
    names.push_back(WindowName(w));
    if (names.back() == text) return w;
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown window '", text,
                                                 "'; valid windows: ", absl::StrJoin(names, ", ")));
}

AggregatesEngine::AggregatesEngine(const pipeline::Pipeline& pipeline, AggregatesOptions options)
    : options_(std::move(options)), aggregator_(pipeline), stats_(options_.windows_ms.size()) {}

AggregatesEngine::~AggregatesEngine() { Stop(); }

void AggregatesEngine::Start() {
  thread_ = std::thread([this] {
    NameThisThread("np-aggregates");
    Run();
  });
}

void AggregatesEngine::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void AggregatesEngine::Notify(std::shared_ptr<const Snapshot> snapshot) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    pending_ = std::move(snapshot);  // a newer snapshot supersedes an unread one
  }
  cv_.notify_one();
}

std::shared_ptr<const AggregatesView> AggregatesEngine::view() const {
  std::lock_guard<std::mutex> lock(mu_);
  return view_;
}

void AggregatesEngine::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    cv_.wait(lock, [this] { return stop_ || pending_ != nullptr; });
    if (stop_) return;
    std::shared_ptr<const Snapshot> snap = std::move(pending_);
    pending_.reset();
    lock.unlock();
    Update(snap);
    lock.lock();
  }
}

AggregatesEngine::Grouped& AggregatesEngine::Grouping(const Catalog& cat, MetricId metric) {
  if (metric >= groupings_.size()) groupings_.resize(metric + 1);
  std::unique_ptr<Grouped>& g = groupings_[metric];
  if (!g) {
    g = std::make_unique<Grouped>(Grouped{PodGrouping(cat, metric), {}, {}, 0});
    g->label_text.reserve(g->grouping.pods());
    g->last_seen_ms.assign(g->grouping.pods(), 0);
    for (uint32_t i = 0; i < g->grouping.pods(); ++i) {
      const PodRollup& p = g->grouping.pod(i);
      g->label_text.push_back(absl::StrCat("{namespace=\"", Escape(p.namespace_name), "\",pod=\"",
                                           Escape(p.pod), "\"} "));
      auto seen = seen_carry_.find(std::make_pair(p.namespace_name, p.pod));
      if (seen != seen_carry_.end()) g->last_seen_ms[i] = seen->second;
    }
  }
  return *g;
}

void AggregatesEngine::MarkSeen(Grouped& g, const Snapshot& snap) {
  if (g.seen_cycle == snap.cycle) return;
  g.seen_cycle = snap.cycle;
  // Without a window: the pods with a sample in this very cycle.
  g.grouping.Values(snap, nullptr, Stat::kLast, &count_values_);
  for (const PodValue& v : count_values_) g.last_seen_ms[v.pod] = snap.timestamp_ms;
}

void AggregatesEngine::IndexPods() {
  std::shared_ptr<const std::vector<PodInfo>> pods =
      options_.pods ? options_.pods() : std::shared_ptr<const std::vector<PodInfo>>();
  if (pods == pods_) return;
  pods_ = std::move(pods);
  pod_index_.clear();
  workload_pods_.clear();
  if (!pods_) return;
  for (uint32_t i = 0; i < pods_->size(); ++i) {
    const PodInfo& p = (*pods_)[i];
    pod_index_.emplace(std::make_pair(absl::string_view(p.namespace_name), absl::string_view(p.pod)), i);
    if (!p.running || p.workload.empty()) continue;
    WorkloadPods& w = workload_pods_[{p.namespace_name, p.workload_kind, p.workload}];
    ++w.running;
    w.running_without_cpu += !(p.cpu_request_cores > 0);
    w.running_without_memory += !(p.memory_request_bytes > 0);
  }
}

const PodInfo* AggregatesEngine::FindPod(const PodRollup& pod) const {
  auto it = pod_index_.find(std::make_pair(absl::string_view(pod.namespace_name), absl::string_view(pod.pod)));
  return it == pod_index_.end() ? nullptr : &(*pods_)[it->second];
}

const AggregatesEngine::WorkloadPods* AggregatesEngine::FindWorkloadPods(absl::string_view ns,
                                                                         absl::string_view kind,
                                                                         absl::string_view workload) const {
  auto it = workload_pods_.find(std::make_tuple(ns, kind, workload));
  return it == workload_pods_.end() ? nullptr : &it->second;
}

const PodOwnerInfo* AggregatesEngine::OwnerOf(OwnerCache& cache, const PodRollup& pod) const {
  if (!options_.owner_lookup) return nullptr;
  auto [it, inserted] = cache.try_emplace({pod.namespace_name, pod.pod});
  if (inserted) it->second = options_.owner_lookup(pod.namespace_name, pod.pod);
  return it->second ? &*it->second : nullptr;
}

// One workload while its pods are summed.
struct AggregatesEngine::WorkloadAcc {
  WorkloadRollup rollup;
  double coverage_sum = 0;       // of the contributing pods' coverages
  uint32_t without_request = 0;  // pods with samples left out for lack of a request
  int64_t newest_ms = 0;
  int64_t oldest_ms = std::numeric_limits<int64_t>::max();

  // `running`: the workload's running pods per the kubelet (0: unknown), of
  // which `without_request_running` cannot count for this metric.
  WorkloadAggregate Finish(const std::string& metric, int64_t window_ms, uint32_t running,
                           uint32_t without_request_running) && {
    WorkloadAggregate a;
    a.namespace_name = std::move(rollup.namespace_name);
    a.workload = std::move(rollup.workload);
    a.workload_kind = std::move(rollup.workload_kind);
    a.metric = metric;
    a.window_ms = window_ms;
    a.pods = std::move(rollup.pods);
    const auto contributing = static_cast<uint32_t>(a.pods.count);
    // Pods that ended inside the window still contributed: never fewer.
    a.pods_expected = std::max(contributing, running > without_request_running
                                                 ? running - without_request_running
                                                 : 0);
    a.pods_without_request = std::max(without_request, without_request_running);
    a.coverage = a.pods_expected > 0 ? coverage_sum / a.pods_expected : 0;
    a.newest_sample_ms = newest_ms;
    a.oldest_sample_ms = contributing > 0 ? oldest_ms : 0;
    return a;
  }
};

void AggregatesEngine::Update(const std::shared_ptr<const Snapshot>& snap) {
  if (!snap || !snap->catalog) return;
  if (snap->catalog != grouped_catalog_) ResetGroupings(snap->catalog);
  IndexPods();
  auto view = std::make_shared<AggregatesView>();
  view->timestamp_ms = snap->timestamp_ms;
  view->cycle = snap->cycle;
  ComputeWindows(*snap);
  // The owner of a pod without a workload label, asked once per update.
  OwnerCache owners;
  for (size_t mi = 0; mi < std::size(kMetricTable); ++mi) AppendMetric(*snap, mi, owners, *view);
  AppendNodeSeries(*snap, &view->exposition);
  if (options_.mixin_series) AppendMixinSeries(*snap, &view->exposition);
  std::lock_guard<std::mutex> lock(mu_);
  view_ = std::move(view);
}

void AggregatesEngine::ResetGroupings(std::shared_ptr<const Catalog> catalog) {
  // Pods keep their last-seen times across a catalog change (any series
  // coming or going makes one); the newest over the pod's metrics.
  seen_carry_.clear();
  for (const std::unique_ptr<Grouped>& g : groupings_) {
    if (!g) continue;
    for (uint32_t i = 0; i < g->grouping.pods(); ++i) {
      const PodRollup& p = g->grouping.pod(i);
      int64_t& t = seen_carry_[{p.namespace_name, p.pod}];
      t = std::max(t, g->last_seen_ms[i]);
    }
  }
  groupings_.clear();
  grouped_catalog_ = std::move(catalog);
}

void AggregatesEngine::ComputeWindows(const Snapshot& snap) {
  for (size_t wi = 0; wi < options_.windows_ms.size(); ++wi) {
    absl::Status s = aggregator_.Compute(snap, options_.windows_ms[wi], false, &stats_[wi]);
    if (!s.ok()) LogDebug("aggregates: window ", WindowName(options_.windows_ms[wi]), ": ", s.ToString());
  }
}

bool AggregatesEngine::WindowComputed(size_t wi) const {
  return stats_[wi].window_ms() == options_.windows_ms[wi];
}

void AggregatesEngine::AppendMetric(const Snapshot& snap, size_t metric, OwnerCache& owners,
                                    AggregatesView& view) {
  const MetricRow& row = kMetricTable[metric];
  const Catalog& cat = *snap.catalog;
  MetricId num = FindMetric(cat, row.raw);
  MetricId den = row.den_raw ? FindMetric(cat, row.den_raw) : kNoMetric;
  if (num == kNoMetric || (row.den_raw && den == kNoMetric)) return;
  // Without the kubelet there are no requests to divide by.
  if (row.per_request != PerRequest::kNone && !options_.pods) return;
  if (!options_.metrics.empty() &&
      std::find(options_.metrics.begin(), options_.metrics.end(), row.api.name) == options_.metrics.end()) {
    return;
  }
  for (size_t wi = 0; wi < options_.windows_ms.size(); ++wi) {
    if (!WindowComputed(wi)) continue;
    // Per second this is numbers only: names, label text and owners come
    // from the per-catalog grouping (and the per-update owner cache).
    Grouped& g = Grouping(cat, num);
    MarkSeen(g, snap);
    g.grouping.Values(snap, &stats_[wi], row.stat, &pod_values_);
    if (den != kNoMetric) DivideByDenominator(snap, g, Grouping(cat, den), wi, row.stat);
    // Samples per pod in the window, for coverage; same pod order.
    g.grouping.Values(snap, &stats_[wi], Stat::kCount, &count_values_);
    const std::string wname = WindowName(options_.windows_ms[wi]);
    const std::string pod_series = absl::StrCat("pod:", row.api.rule_metric, ":", row.api.rule_op, wname);
    if (!pod_values_.empty()) {
      Family(&view.exposition, pod_series, absl::StrCat("Per pod: ", PodHelp(row, wname)));
    }
    std::vector<WorkloadAcc> wls = SumPods(snap, g, metric, wi, pod_series, owners, &view.exposition);
    AppendWorkloadSeries(wls, metric, wname, pod_series, &view.exposition);
    for (WorkloadAcc& w : wls) {
      const WorkloadPods* wp =
          FindWorkloadPods(w.rollup.namespace_name, w.rollup.workload_kind, w.rollup.workload);
      const uint32_t without = wp == nullptr                          ? 0
                               : row.per_request == PerRequest::kCpu    ? wp->running_without_cpu
                               : row.per_request == PerRequest::kMemory ? wp->running_without_memory
                                                                        : 0;
      view.workloads.push_back(std::move(w).Finish(row.api.name, options_.windows_ms[wi],
                                                   wp == nullptr ? 0 : wp->running, without));
    }
  }
}

void AggregatesEngine::DivideByDenominator(const Snapshot& snap, const Grouped& g, const Grouped& gd,
                                           size_t wi, Stat stat) {
  // ratio: join on (namespace, pod); both lists are in that order.
  gd.grouping.Values(snap, &stats_[wi], stat, &den_values_);
  size_t j = 0, kept = 0;
  for (const PodValue& v : pod_values_) {
    const PodRollup& p = g.grouping.pod(v.pod);
    auto key = [&](size_t k) -> const PodRollup& { return gd.grouping.pod(den_values_[k].pod); };
    while (j < den_values_.size() &&
           std::tie(key(j).namespace_name, key(j).pod) < std::tie(p.namespace_name, p.pod)) {
      ++j;
    }
    if (j < den_values_.size() && key(j).namespace_name == p.namespace_name && key(j).pod == p.pod &&
        den_values_[j].value > 0) {
      pod_values_[kept] = v;
      pod_values_[kept++].value = v.value / den_values_[j].value;
    }
  }
  pod_values_.resize(kept);
}

std::vector<AggregatesEngine::WorkloadAcc> AggregatesEngine::SumPods(const Snapshot& snap, const Grouped& g,
                                                                     size_t metric, size_t wi,
                                                                     const std::string& pod_series,
                                                                     OwnerCache& owners, std::string* text) {
  const MetricRow& row = kMetricTable[metric];
  const int64_t window_ms = options_.windows_ms[wi];
  // Workloads keyed by views into the groupings and the owner cache, which
  // outlive this update's use of them.
  using WorkloadKey = std::tuple<absl::string_view, absl::string_view, absl::string_view>;
  absl::flat_hash_map<WorkloadKey, size_t> wl_index;
  std::vector<WorkloadAcc> wls;
  size_t ci = 0;
  for (const PodValue& v : pod_values_) {
    const PodRollup& p = g.grouping.pod(v.pod);
    while (ci < count_values_.size() && count_values_[ci].pod < v.pod) ++ci;
    const double samples = ci < count_values_.size() && count_values_[ci].pod == v.pod
                               ? count_values_[ci].value / std::max<uint32_t>(1, count_values_[ci].series)
                               : 0;
    const double value =
        v.value / RequestOf(row.per_request, row.per_request == PerRequest::kNone ? nullptr : FindPod(p));
    const bool no_request = std::isnan(value);  // v.value never is
    if (!no_request) absl::StrAppend(text, pod_series, g.label_text[v.pod], Num(value), "\n");
    absl::string_view workload = p.workload, kind = p.workload_kind;
    if (workload.empty()) {
      if (const PodOwnerInfo* o = OwnerOf(owners, p)) {
        workload = o->workload;
        kind = o->kind;
      }
    }
    if (workload.empty()) continue;
    auto [it, inserted] = wl_index.try_emplace(WorkloadKey{p.namespace_name, kind, workload}, wls.size());
    if (inserted) {
      WorkloadAcc w;
      w.rollup.namespace_name = p.namespace_name;
      w.rollup.workload = std::string(workload);
      w.rollup.workload_kind = std::string(kind);
      wls.push_back(std::move(w));
    }
    WorkloadAcc& w = wls[it->second];
    if (no_request) {
      ++w.without_request;
      continue;
    }
    w.rollup.pods.Add(value);
    // Coverage: the share of a full window (window / interval samples) this
    // pod has; more cannot happen on the raw tier, but a rolled-up tier's
    // window may reach a step past it.
    w.coverage_sum += std::min(1.0, samples * static_cast<double>(options_.interval_ms) /
                                        static_cast<double>(window_ms));
    const int64_t seen = g.last_seen_ms[v.pod] > 0 ? g.last_seen_ms[v.pod] : snap.timestamp_ms - window_ms;
    w.newest_ms = std::max(w.newest_ms, seen);
    w.oldest_ms = std::min(w.oldest_ms, seen);
  }
  std::sort(wls.begin(), wls.end(), [](const WorkloadAcc& a, const WorkloadAcc& b) {
    return std::tie(a.rollup.namespace_name, a.rollup.workload_kind, a.rollup.workload) <
           std::tie(b.rollup.namespace_name, b.rollup.workload_kind, b.rollup.workload);
  });
  return wls;
}

void AggregatesEngine::AppendWorkloadSeries(const std::vector<WorkloadAcc>& wls, size_t metric,
                                            const std::string& wname, const std::string& pod_series,
                                            std::string* text) const {
  if (wls.empty()) return;
  const MetricRow& row = kMetricTable[metric];
  for (Stat st : kWorkloadStats) {
    const std::string stat(pipeline::StatName(st));
    const std::string name =
        absl::StrCat("workload:", row.api.rule_metric, ":", row.api.rule_op, wname, "_", stat);
    Family(text, name, absl::StrCat(stat, " across the workload's pods of ", pod_series, "."));
    for (const WorkloadAcc& w : wls) {
      if (w.rollup.pods.count == 0) continue;  // every pod without a request
      absl::StrAppend(text, name, "{namespace=\"", Escape(w.rollup.namespace_name), "\",workload=\"",
                      Escape(w.rollup.workload), "\",workload_kind=\"", Escape(w.rollup.workload_kind),
                      "\"} ", Num(w.rollup.pods.Value(st)), "\n");
    }
  }
}

void AggregatesEngine::AppendNodeSeries(const Snapshot& snap, std::string* text) const {
  const Catalog& cat = *snap.catalog;
  MetricId node_cpu = FindMetric(cat, metric::kNodeCpuSeconds);
  for (size_t wi = 0; node_cpu != kNoMetric && wi < options_.windows_ms.size(); ++wi) {
    if (!WindowComputed(wi)) continue;
    // 1 - average idle rate across CPUs: kube-prometheus's
    // node:node_cpu_utilisation over the same window.
    double idle = 0;
    int cpus = 0;
    for (pipeline::SeriesId id : cat.by_metric[node_cpu]) {
      if (LabelValue(cat.series[id].extra, "mode") != "idle") continue;
      double r = stats_[wi].Get(id, Stat::kAvg);
      if (std::isnan(r)) continue;
      idle += r;
      ++cpus;
    }
    if (cpus == 0) continue;
    const std::string name = absl::StrCat("node:node_cpu_utilisation:avg", WindowName(options_.windows_ms[wi]));
    Family(text, name, "Fraction of CPU time not idle, averaged over all CPUs and the window.");
    absl::StrAppend(text, name, " ", Num(std::clamp(1.0 - idle / cpus, 0.0, 1.0)), "\n");
  }
  MetricId avail = FindMetric(cat, metric::kNodeMemoryMemAvailable);
  MetricId total = FindMetric(cat, metric::kNodeMemoryMemTotal);
  if (avail == kNoMetric || total == kNoMetric || cat.by_metric[avail].empty() || cat.by_metric[total].empty()) {
    return;
  }
  double a = snap.value(cat.by_metric[avail][0]);
  double t = snap.value(cat.by_metric[total][0]);
  if (t > 0 && !std::isnan(a)) {
    Family(text, "node:node_memory_utilisation:ratio", "1 - MemAvailable / MemTotal.");
    absl::StrAppend(text, "node:node_memory_utilisation:ratio ", Num(1.0 - a / t), "\n");
  }
}

// kubernetes-mixin's node-local recording rules.
void AggregatesEngine::AppendMixinSeries(const Snapshot& snap, std::string* text) const {
  const Catalog& cat = *snap.catalog;
  const std::string node = Escape(options_.node_name);
  auto container_series = [&](absl::string_view raw, auto value_of, const std::string& name,
                              const std::string& help) {
    MetricId m = FindMetric(cat, raw);
    if (m == kNoMetric) return;
    bool header = false;
    for (pipeline::SeriesId id : cat.by_metric[m]) {
      const Catalog::Series& s = cat.series[id];
      if (s.entity == pipeline::kNodeEntity || s.entity >= cat.entities.size()) continue;
      const pipeline::Labels& l = cat.entities[s.entity].labels;
      // The mixin selects image!="" (real containers, not pod cgroups).
      if (LabelValue(l, "image").empty() || LabelValue(l, "pod").empty()) continue;
      double v = value_of(id);
      if (std::isnan(v)) continue;
      if (!header) Family(text, name, help);
      header = true;
      absl::StrAppend(text, name, "{container=\"", Escape(LabelValue(l, "container")), "\",namespace=\"",
                      Escape(LabelValue(l, "namespace")), "\",node=\"", node, "\",pod=\"",
                      Escape(LabelValue(l, "pod")), "\"} ", Num(v), "\n");
    }
  };
  for (size_t wi = 0; wi < options_.windows_ms.size(); ++wi) {
    const WindowStats& ws = stats_[wi];
    if (options_.windows_ms[wi] == 300'000 && ws.window_ms() == 300'000) {
      container_series(metric::kContainerCpuUsage, [&](pipeline::SeriesId id) { return ws.Get(id, Stat::kAvg); },
                       "node_namespace_pod_container:container_cpu_usage_seconds_total:sum_rate5m",
                       "kubernetes-mixin: rate over 5m of container CPU, per container.");
    }
    if (options_.windows_ms[wi] == 60'000 && ws.window_ms() == 60'000) {
      // irate = the rate between the two newest samples: the newest 1 s rate.
      container_series(metric::kContainerCpuUsage, [&](pipeline::SeriesId id) { return ws.Get(id, Stat::kLast); },
                       "node_namespace_pod_container:container_cpu_usage_seconds_total:sum_irate",
                       "kubernetes-mixin: instant rate of container CPU, per container.");
    }
  }
  for (const char* m : {metric::kContainerMemoryWorkingSet, metric::kContainerMemoryRss,
                        metric::kContainerMemoryCache, metric::kContainerMemorySwap}) {
    container_series(m, [&](pipeline::SeriesId id) { return snap.value(id); },
                     absl::StrCat("node_namespace_pod_container:", m),
                     absl::StrCat("kubernetes-mixin: ", m, " with the node label."));
  }
}

// ---------------------------------------------------------------- API -----

namespace {

constexpr Stat kApiStats[] = {Stat::kSum, Stat::kAvg, Stat::kMin,  Stat::kMax, Stat::kCount,
                              Stat::kP50, Stat::kP90, Stat::kP95, Stat::kP99};

absl::StatusOr<Stat> ParseApiStat(const std::string& text) {
  std::vector<std::string> names;
  for (Stat s : kApiStats) {
    names.emplace_back(pipeline::StatName(s));
    if (names.back() == text) return s;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown stat '", text, "'; valid stats: ", absl::StrJoin(names, ", ")));
}

HttpResponse Error(int status, const std::string& message) {
  JsonWriter j;
  j.BeginObject();
  j.Key("error");
  j.String(message);
  j.EndObject();
  return HttpResponse{status, "application/json", j.Take() + "\n", {}, nullptr};
}

// What a request asks for; empty strings and window 0 match everything.
struct Query {
  std::string namespace_name, workload, metric;
  int64_t window_ms = 0;
  Stat stat = Stat::kAvg;
  CoverageThresholds thresholds;
};

// `metric` is an API metric enabled on this agent (the error says which are).
absl::Status CheckMetric(const std::string& metric, const AggregatesOptions& options) {
  std::vector<std::string> names;
  bool known = false;
  for (const AggregateMetric& m : AggregateMetrics()) {
    names.push_back(m.name);
    known |= m.name == metric;
  }
  if (!known) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown metric '", metric, "'; valid metrics: ", absl::StrJoin(names, ", ")));
  }
  const std::vector<std::string>& enabled = options.metrics;
  if (!enabled.empty() && std::find(enabled.begin(), enabled.end(), metric) == enabled.end()) {
    return absl::InvalidArgumentError(absl::StrCat("metric '", metric, "' is not enabled on this agent (",
                                                   "--aggregates=", absl::StrJoin(enabled, ","), ")"));
  }
  return absl::OkStatus();
}

// The query of `req`; windows are the engine's (`options`), so a
// configured window is as queryable as the default ones.
absl::StatusOr<Query> ParseQuery(const HttpRequest& req, const AggregatesOptions& options) {
  Query q;
  q.metric = req.Param("metric");
  if (!q.metric.empty()) {
    if (absl::Status s = CheckMetric(q.metric, options); !s.ok()) return s;
  }
  if (std::string w = req.Param("window"); !w.empty()) {
    absl::StatusOr<int64_t> parsed = ParseWindow(w, options.windows_ms);
    if (!parsed.ok()) return parsed.status();
    q.window_ms = *parsed;
  }
  if (std::string stat = req.Param("stat"); !stat.empty()) {
    absl::StatusOr<Stat> parsed = ParseApiStat(stat);
    if (!parsed.ok()) return parsed.status();
    q.stat = *parsed;
  }
  absl::StatusOr<CoverageThresholds> thresholds = ParseThresholds(req);
  if (!thresholds.ok()) return thresholds.status();
  q.thresholds = *thresholds;
  q.namespace_name = req.Param("namespace");
  q.workload = req.Param("workload");
  return q;
}

bool Matches(const Query& q, const WorkloadAggregate& w) {
  return (q.namespace_name.empty() || w.namespace_name == q.namespace_name) &&
         (q.workload.empty() || w.workload == q.workload) && (q.metric.empty() || w.metric == q.metric) &&
         (q.window_ms == 0 || w.window_ms == q.window_ms);
}

void FillResult(const WorkloadAggregate& w, Stat stat, int64_t now_ms, nodepulse::api::v1::Aggregate* a) {
  a->set_namespace_(w.namespace_name);
  a->set_workload(w.workload);
  a->set_workload_kind(w.workload_kind);
  a->set_metric(w.metric);
  a->set_window(WindowName(w.window_ms));
  a->set_stat(std::string(pipeline::StatName(stat)));
  a->set_value(w.pods.Value(stat));
  a->set_sum(w.pods.sum);
  a->set_count(w.pods.count);
  a->set_min(w.pods.min);
  a->set_max(w.pods.max);
  a->set_pods(static_cast<uint32_t>(w.pods.count));
  a->set_coverage(w.coverage);
  a->set_pods_expected(w.pods_expected);
  a->set_pods_without_request(w.pods_without_request);
  a->set_newest_sample_ms(w.newest_sample_ms);
  // No contributing pod (all without a request): as old as can be.
  a->set_oldest_sample_age_ms(w.oldest_sample_ms > 0 ? std::max<int64_t>(0, now_ms - w.oldest_sample_ms)
                                                     : std::numeric_limits<int64_t>::max());
  for (const AggregateMetric& m : AggregateMetrics()) {
    if (m.name == w.metric) a->set_unit(m.unit);
  }
  SketchToProto(w.pods.sketch, a->mutable_sketch());
}

}  // namespace

Handler AggregatesHandler(std::shared_ptr<AggregatesEngine> engine) {
  return [engine](const HttpRequest& req) -> HttpResponse {
    absl::StatusOr<Query> q = ParseQuery(req, engine->options());
    if (!q.ok()) return Error(400, std::string(q.status().message()));
    std::shared_ptr<const AggregatesView> view = engine->view();
    if (!view) return Error(503, "no aggregates yet: the first collection cycle is not done");

    const int64_t now_ms = engine->options().now_ms ? engine->options().now_ms()
                                                    : absl::ToUnixMillis(absl::Now());
    nodepulse::api::v1::AggregatesResponse resp;
    resp.set_timestamp_ms(view->timestamp_ms);
    for (const WorkloadAggregate& w : view->workloads) {
      if (Matches(*q, w)) FillResult(w, q->stat, now_ms, resp.add_results());
    }
    if (resp.results_size() == 1) resp.set_value(resp.results(0).value());
    if ((!q->namespace_name.empty() || !q->workload.empty()) && resp.results_size() == 0) {
      return Error(404, absl::StrCat("no aggregates for namespace='", q->namespace_name, "' workload='",
                                     q->workload, "' metric='", q->metric, "' on this node"));
    }
    if (std::optional<HttpResponse> refused = RefuseBelowThresholds(q->thresholds, req, resp)) {
      return *std::move(refused);
    }
    return AggregatesAnswer(req, 200, resp);
  };
}

}  // namespace nodepulse::exporters
