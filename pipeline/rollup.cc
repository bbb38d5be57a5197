#include "nodepulse/pipeline/rollup.h"

#include <algorithm>
#include <cmath>
#include <string_view>
#include <tuple>

#include "absl/container/flat_hash_map.h"

namespace nodepulse::pipeline {

namespace {
std::string_view Find(const Labels& labels, std::string_view name, bool* present = nullptr) {
  for (const Label& l : labels) {
    if (l.name == name) {
      if (present != nullptr) *present = true;
      return l.value;
    }
  }
  if (present != nullptr) *present = false;
  return {};
}
}  // namespace

PodGrouping::PodGrouping(const Catalog& cat, MetricId metric) {
  if (metric >= cat.by_metric.size()) return;
  // Key on views into the catalog, which outlives this constructor.
  absl::flat_hash_map<std::pair<std::string_view, std::string_view>, uint32_t> index;
  for (SeriesId id : cat.by_metric[metric]) {
    const Catalog::Series& s = cat.series[id];
    if (!s.alive || s.entity == kNodeEntity || s.entity >= cat.entities.size()) continue;
    const Labels& labels = cat.entities[s.entity].labels;
    std::string_view ns = Find(labels, "namespace");
    std::string_view pod = Find(labels, "pod");
    if (ns.empty() || pod.empty()) continue;
    bool has_container = false;
    std::string_view container = Find(labels, "container", &has_container);
    if (has_container && (container.empty() || container == "POD")) continue;
    auto [it, inserted] = index.try_emplace({ns, pod}, static_cast<uint32_t>(pods_.size()));
    if (inserted) {
      PodRollup r;
      r.namespace_name = std::string(ns);
      r.pod = std::string(pod);
      r.workload = std::string(Find(labels, "workload"));
      r.workload_kind = std::string(Find(labels, "workload_kind"));
      pods_.push_back(std::move(r));
    }
    members_.push_back({id, it->second});
  }
  // Sort the pods once and renumber the members to match.
  std::vector<uint32_t> order(pods_.size());
  for (uint32_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
    return std::tie(pods_[a].namespace_name, pods_[a].pod) <
           std::tie(pods_[b].namespace_name, pods_[b].pod);
  });
  std::vector<uint32_t> rank(order.size());
  std::vector<PodRollup> sorted;
  sorted.reserve(pods_.size());
  for (uint32_t i = 0; i < order.size(); ++i) {
    rank[order[i]] = i;
    sorted.push_back(std::move(pods_[order[i]]));
  }
  pods_ = std::move(sorted);
  for (Member& m : members_) m.pod = rank[m.pod];
}

void PodGrouping::Values(const Snapshot& at, const WindowStats* window, Stat stat,
                         std::vector<PodValue>* out) const {
  out->assign(pods_.size(), PodValue{0, 0.0, 0});
  for (const Member& m : members_) {
    const double v = window != nullptr ? window->Get(m.series, stat) : at.value(m.series);
    if (std::isnan(v)) continue;
    PodValue& pv = (*out)[m.pod];
    pv.value += v;
    pv.series++;
  }
  // Pods whose every series was NaN have no value: left out rather than
  // reported as a 0 that was never measured.
  size_t n = 0;
  for (uint32_t i = 0; i < pods_.size(); ++i) {
    if ((*out)[i].series == 0) continue;
    (*out)[n] = (*out)[i];
    (*out)[n].pod = i;
    ++n;
  }
  out->resize(n);
}

std::vector<PodRollup> PodGrouping::Rollup(const Snapshot& at, const WindowStats* window,
                                           Stat stat) const {
  std::vector<PodValue> values;
  Values(at, window, stat, &values);
  std::vector<PodRollup> out;
  out.reserve(values.size());
  for (const PodValue& v : values) {
    out.push_back(pods_[v.pod]);
    out.back().value = v.value;
    out.back().series = v.series;
  }
  return out;
}

std::vector<PodRollup> RollupPods(const Snapshot& at, MetricId metric, const WindowStats* window,
                                  Stat stat) {
  if (!at.catalog) return {};
  return PodGrouping(*at.catalog, metric).Rollup(at, window, stat);
}

std::vector<WorkloadRollup> RollupWorkloads(const std::vector<PodRollup>& pods) {
  std::vector<WorkloadRollup> out;
  absl::flat_hash_map<std::tuple<std::string_view, std::string_view, std::string_view>, size_t>
      index;
  for (const PodRollup& p : pods) {
    if (p.workload.empty()) continue;
    auto [it, inserted] =
        index.try_emplace({p.namespace_name, p.workload_kind, p.workload}, out.size());
    if (inserted) {
      WorkloadRollup w;
      w.namespace_name = p.namespace_name;
      w.workload = p.workload;
      w.workload_kind = p.workload_kind;
      out.push_back(std::move(w));
    }
    out[it->second].pods.Add(p.value);
  }
  std::sort(out.begin(), out.end(), [](const WorkloadRollup& a, const WorkloadRollup& b) {
    return std::tie(a.namespace_name, a.workload_kind, a.workload) <
           std::tie(b.namespace_name, b.workload_kind, b.workload);
  });
  return out;
}

}  // namespace nodepulse::pipeline
