// Prometheus' protobuf exposition format (io.prometheus.client.MetricFamily,
// length-delimited; exporters/proto/client/metrics.proto) for /metrics: the
// one format Prometheus 2.42 scrapes native histograms from. The text format
// 0.0.4 stays the default; a scrape gets protobuf only when its Accept header
// prefers it (Prometheus with --enable-feature=native-histograms does).
//
// The protobuf body carries the same families as the text body, built from
// the same sources: the snapshot (FamiliesFromSnapshot), the per-scrape
// collectables, and the aggregates engine's pre-rendered text, parsed back
// by ParseTextExposition (so a series is defined once, in the text renderer).
//
// Thread-safety: free functions without shared state.
#ifndef NODEPULSE_EXPORTERS_PROTOBUF_EXPOSITION_H_
#define NODEPULSE_EXPORTERS_PROTOBUF_EXPOSITION_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "nodepulse/exporters/aggregates/native_histogram.h"
#include "prometheus/metric_family.h"

namespace nodepulse::exporters {

inline constexpr char kProtobufExpositionType[] =
    "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; "
    "encoding=delimited";

// True when `accept` lists the delimited MetricFamily protobuf with a
// q-value above 0 and not below text/plain's (and any wildcard's).
bool PrefersProtobufExposition(absl::string_view accept);

// Text format families of counters, gauges and untyped series (what the
// aggregates engine renders). InvalidArgument on a line that is not one, or
// on a sample of another TYPE (histogram, summary): those come as structs.
absl::StatusOr<std::vector<prometheus::MetricFamily>> ParseTextExposition(absl::string_view text);

// Appends each family as one length-delimited io.prometheus.client.MetricFamily.
void AppendProtobufFamilies(const std::vector<prometheus::MetricFamily>& families, std::string* out);

// Appends the histograms as GAUGE_HISTOGRAM families (one per name, in the
// order given; entries of one name must be adjacent) with native buckets.
void AppendProtobufHistograms(absl::Span<const WorkloadHistogram> histograms, std::string* out);

}  // namespace nodepulse::exporters

#endif  // NODEPULSE_EXPORTERS_PROTOBUF_EXPOSITION_H_
