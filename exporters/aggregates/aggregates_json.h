// The wire forms of nodepulse.api.v1.AggregatesResponse - its JSON, and a
// QuantileSketch as its protobuf Sketch and back - shared by the node
// handler and the cluster merge so both answer in exactly the same shape.
#ifndef NODEPULSE_EXPORTERS_AGGREGATES_JSON_H_
#define NODEPULSE_EXPORTERS_AGGREGATES_JSON_H_

#include <string>

#include "aggregates.pb.h"
#include "nodepulse/pipeline/sketch.h"

namespace nodepulse::exporters {

// A top-level `value` first when the response has one (KEDA's
// valueLocation: value), then timestamp_ms, results (with sketches) and, for
// the cluster, errors.
std::string ResponseJson(const nodepulse::api::v1::AggregatesResponse& resp);

// `sketch`'s buckets into `out` (replacing what it held).
void SketchToProto(const pipeline::QuantileSketch& sketch, nodepulse::api::v1::Sketch* out);
// Rebuilds a sketch from its buckets: Value(i) is the representative value
// of bucket i, and Index(Value(i)) == i, so re-adding lands in the same bucket.
pipeline::QuantileSketch SketchFromProto(const nodepulse::api::v1::Sketch& proto);

}  // namespace nodepulse::exporters

#endif  // NODEPULSE_EXPORTERS_AGGREGATES_JSON_H_
