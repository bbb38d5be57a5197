#include "nodepulse/exporters/aggregates/workload_histograms.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace nodepulse::exporters {

std::vector<WorkloadHistogram> WorkloadHistograms(const AggregatesView& view) {
  std::vector<WorkloadHistogram> out;
  out.reserve(view.workloads.size());
  std::vector<int32_t> scratch;
  const std::vector<AggregateMetric>& metrics = AggregateMetrics();
  for (const WorkloadAggregate& w : view.workloads) {
    auto am = std::find_if(metrics.begin(), metrics.end(),
                           [&](const AggregateMetric& m) { return m.name == w.metric; });
    // Only views whose samples are the pods' values (not coarse slots).
    if (am == metrics.end() || w.pods.samples.empty()) continue;
    WorkloadHistogram h;
    const std::string rule = absl::StrCat(am->rule_metric, ":", am->rule_op, WindowName(w.window_ms));
    h.name = absl::StrCat("workload:", rule);
    h.help = absl::StrCat("Gauge histogram across the workload's pods on this node of pod:", rule,
                          " (", am->unit, "); sum it over nodes for cluster-wide quantiles.");
    h.namespace_name = w.namespace_name;
    h.workload = w.workload;
    h.workload_kind = w.workload_kind;
    BuildNativeHistogram(w.pods.samples, &scratch, &h.histogram);
    out.push_back(std::move(h));
  }
  // Stable: keeps the workloads' order within a name.
  std::stable_sort(out.begin(), out.end(),
                   [](const WorkloadHistogram& a, const WorkloadHistogram& b) { return a.name < b.name; });
  return out;
}

}  // namespace nodepulse::exporters
