// Entry points into the kubelet parsers that do not expose the protobuf
// types, for benchmarks and fuzz targets outside this folder (they cannot
// see the generated kubelet_api.pb.h). Each call parses into a message reused
// across calls on the same thread, as the client does, and returns a count
// from the result so the work cannot be optimized away. Thread-safe.
#ifndef NODEPULSE_COLLECTORS_KUBELET_PARSE_ENTRY_H_
#define NODEPULSE_COLLECTORS_KUBELET_PARSE_ENTRY_H_

#include <cstddef>
#include <string_view>

#include "absl/status/statusor.h"

namespace nodepulse::collectors::kubelet {

// The hand parser alone. Returns the number of containers in the PodList /
// pods in the Summary. (protobuf's JSON parser, the benchmark's baseline, is
// in bench/kubelet_json_baseline.h.)
absl::StatusOr<size_t> ParsePodListOnly(std::string_view json);
absl::StatusOr<size_t> ParseSummaryOnly(std::string_view json);

// What one client poll does with the two bodies: hand-parse both and build
// the published state (quantities, owners, indexes). Returns the pod count.
absl::StatusOr<size_t> ParseAndBuildState(std::string_view pods_json, std::string_view summary_json);

}  // namespace nodepulse::collectors::kubelet

#endif  // NODEPULSE_COLLECTORS_KUBELET_PARSE_ENTRY_H_
