#include "nodepulse/exporters/aggregates/rollup.h"

#include <algorithm>
#include <cmath>
#include <string_view>
#include <tuple>
#include <vector>

#include "absl/container/flat_hash_map.h"

namespace nodepulse::exporters {

using pipeline::Catalog;
using pipeline::kNodeEntity;
using pipeline::FindLabel;
using pipeline::Label;
using pipeline::LabelValue;
using pipeline::Labels;
using pipeline::MetricId;
using pipeline::SeriesId;
using pipeline::Snapshot;
using pipeline::Stat;
using pipeline::WindowStats;


PodGrouping::PodGrouping(const Catalog& cat, MetricId metric) {
  if (metric >= cat.by_metric.size()) return;
  // Key on views into the catalog, which outlives this constructor.
  absl::flat_hash_map<std::pair<std::string_view, std::string_view>, uint32_t> index;
  for (SeriesId id : cat.by_metric[metric]) {
    const Catalog::Series& s = cat.series[id];
    if (!s.alive || s.entity == kNodeEntity || s.entity >= cat.entities.size()) continue;
    const Labels& labels = cat.entities[s.entity].labels;
    std::string_view ns = LabelValue(labels, "namespace");
    std::string_view pod = LabelValue(labels, "pod");
    if (ns.empty() || pod.empty()) continue;
    // cAdvisor's pod cgroup (container="") and pause container ("POD").
    const Label* container = FindLabel(labels, "container");
    if (container != nullptr && (container->value.empty() || container->value == "POD")) continue;
    auto [it, inserted] = index.try_emplace({ns, pod}, static_cast<uint32_t>(pods_.size()));
    if (inserted) {
      PodRollup r;
      r.namespace_name = std::string(ns);
      r.pod = std::string(pod);
      r.workload = std::string(LabelValue(labels, "workload"));
      r.workload_kind = std::string(LabelValue(labels, "workload_kind"));
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

}  // namespace nodepulse::exporters
