// Per-workload native histograms of the aggregates engine's per-pod values:
// for each aggregate metric and window, one gauge histogram per workload
// (count = its pods on this node, sum = the sum of their values), named as
// the recording rule of the per-pod value it bins, at workload level:
//   pod:container_cpu_usage:rate1m  ->  workload:container_cpu_usage:rate1m
// with labels namespace, workload, workload_kind. Summed over nodes in
// PromQL they give cluster-wide quantiles (native_histogram.h has the
// accuracy).
//
// Thread-safety: a pure function of an immutable view.
#ifndef NODEPULSE_EXPORTERS_WORKLOAD_HISTOGRAMS_H_
#define NODEPULSE_EXPORTERS_WORKLOAD_HISTOGRAMS_H_

#include <vector>

#include "nodepulse/exporters/aggregates/aggregates.h"
#include "nodepulse/exporters/aggregates/native_histogram.h"

namespace nodepulse::exporters {

// In the view's order: by metric, window, then workload, so the histograms
// of one name are adjacent (AppendProtobufHistograms relies on it).
std::vector<WorkloadHistogram> WorkloadHistograms(const AggregatesView& view);

}  // namespace nodepulse::exporters

#endif  // NODEPULSE_EXPORTERS_WORKLOAD_HISTOGRAMS_H_
