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

std::vector<PodRollup> RollupPods(const Snapshot& at, MetricId metric, const WindowStats* window,
                                  Stat stat) {
  std::vector<PodRollup> out;
  if (!at.catalog || metric >= at.catalog->by_metric.size()) return out;
  const Catalog& cat = *at.catalog;
  // Key on views into the catalog, which outlives this call.
  absl::flat_hash_map<std::pair<std::string_view, std::string_view>, size_t> index;
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
    const double v = window != nullptr ? window->Get(id, stat) : at.value(id);
    auto [it, inserted] = index.try_emplace({ns, pod}, out.size());
    if (inserted) {
      PodRollup r;
      r.namespace_name = std::string(ns);
      r.pod = std::string(pod);
      r.workload = std::string(Find(labels, "workload"));
      r.workload_kind = std::string(Find(labels, "workload_kind"));
      out.push_back(std::move(r));
    }
    if (std::isnan(v)) continue;
    out[it->second].value += v;
    out[it->second].series++;
  }
  // Pods whose every series was NaN have no value: drop them rather than
  // report a 0 that was never measured.
  out.erase(
      std::remove_if(out.begin(), out.end(), [](const PodRollup& r) { return r.series == 0; }),
      out.end());
  std::sort(out.begin(), out.end(), [](const PodRollup& a, const PodRollup& b) {
    return std::tie(a.namespace_name, a.pod) < std::tie(b.namespace_name, b.pod);
  });
  return out;
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
