// Prometheus exposition of pipeline snapshots: /metrics.
//
// The series come from our own published Snapshot, with the series'
// cAdvisor / node_exporter names and labels, instead of
// prometheus::Family<T>, so pod series that come and go need no Remove()
// bookkeeping and exist once in memory (in the pipeline's catalog).
//
// Thread-safety: free functions of an immutable snapshot; the handlers may
// run on any number of HTTP threads while collection continues.
#ifndef NODEPULSE_EXPORTERS_PROMETHEUS_H_
#define NODEPULSE_EXPORTERS_PROMETHEUS_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "nodepulse/exporters/http/http_server.h"
#include "nodepulse/exporters/aggregates/native_histogram.h"
#include "nodepulse/pipeline/pipeline.h"
#include "prometheus/collectable.h"
#include "prometheus/metric_family.h"

namespace nodepulse::exporters {

// Families from one snapshot: the protobuf /metrics body is built from
// them (and the tests check AppendExposition against them).
std::vector<prometheus::MetricFamily> FamiliesFromSnapshot(const pipeline::Snapshot& snapshot);

// The same series as text format 0.0.4, appended to `out` straight from the
// catalog's pre-rendered labels: what TextSerializer(FamiliesFromSnapshot())
// prints, byte for byte, without building a MetricFamily per series
// (bench/render_bench.cc has both next to the snprintf floor).
void AppendExposition(const pipeline::Snapshot& snapshot, std::string* out);

// A /metrics handler: the text format (0.0.4) of every collectable, in order,
// serialized with prometheus-cpp's TextSerializer as its Exposer does.
Handler MetricsHandler(std::vector<std::weak_ptr<prometheus::Collectable>> collectables);

// The agent's /metrics: the pipeline's series rendered (AppendExposition)
// and sent without a copy, shared by the scrapes of one cycle that overlap
// and freed when the last of them is sent; then the `per_scrape`
// collectables (the small self-metrics registry), then `extra`
// (pre-rendered text, e.g. the aggregates engine's recording-rule series).
// A scrape whose Accept header prefers the protobuf format
// (protobuf_exposition.h) gets the same families as protobuf, built per
// scrape, with `protobuf_extra` in place of `extra`: the same text plus
// native gauge histograms, which text cannot carry, taken together so both
// are of one aggregates cycle (their values are compared in PromQL).
struct ProtobufExtra {
  std::string text;
  std::vector<WorkloadHistogram> histograms;
};
Handler CachedMetricsHandler(const pipeline::Pipeline& pipeline,
                             std::vector<std::weak_ptr<prometheus::Collectable>> per_scrape,
                             std::function<std::string()> extra,
                             std::function<ProtobufExtra()> protobuf_extra = {});

}  // namespace nodepulse::exporters

#endif  // NODEPULSE_EXPORTERS_PROMETHEUS_H_
