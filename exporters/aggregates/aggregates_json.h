// The JSON form of nodepulse.api.v1.AggregatesResponse, shared by the node
// handler and the cluster merge so both answer in exactly the same shape.
#ifndef NODEPULSE_EXPORTERS_AGGREGATES_JSON_H_
#define NODEPULSE_EXPORTERS_AGGREGATES_JSON_H_

#include <string>

#include "aggregates.pb.h"

namespace nodepulse::exporters {

// A top-level `value` first when the response has one (KEDA's
// valueLocation: value), then timestamp_ms, results (with sketches) and, for
// the cluster, errors.
std::string ResponseJson(const nodepulse::api::v1::AggregatesResponse& resp);

}  // namespace nodepulse::exporters

#endif  // NODEPULSE_EXPORTERS_AGGREGATES_JSON_H_
