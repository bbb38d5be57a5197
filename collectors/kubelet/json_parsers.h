// Parsers for the kubelet's /pods and /stats/summary JSON into the protobuf
// mirrors in kubelet_api.proto.
//
// Parse*() is the hand parser the client uses (JsonReader; see there for why).
// Its reference, protobuf's own JSON parser, is not product code: it lives in
// bench/kubelet_json_baseline.h, where tests compare both on every fixture and
// the benchmark times both.
//
// All functions take the body as bytes, never throw, and return
// InvalidArgument with the byte offset of the first problem. Thread-safe.
#ifndef NODEPULSE_COLLECTORS_KUBELET_JSON_PARSERS_H_
#define NODEPULSE_COLLECTORS_KUBELET_JSON_PARSERS_H_

#include <string_view>

#include "absl/status/status.h"
#include "kubelet_api.pb.h"

namespace nodepulse::collectors::kubelet {

absl::Status ParsePodList(std::string_view json, api::PodList* out);
absl::Status ParseSummary(std::string_view json, api::Summary* out);

}  // namespace nodepulse::collectors::kubelet

#endif  // NODEPULSE_COLLECTORS_KUBELET_JSON_PARSERS_H_
