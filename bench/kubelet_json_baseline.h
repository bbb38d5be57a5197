// protobuf's own JSON parser (google::protobuf::util::JsonStringToMessage,
// unknown fields ignored) on the kubelet's /pods and /stats/summary: the
// reference the hand parser in collectors/kubelet/json_parsers.h is held to.
// Not product code: the kubelet tests require both parsers to give equal
// messages on every fixture, and kubelet_bench times this one as its
// baseline. Never throws; errors are InvalidArgument. Thread-safe.
#ifndef NODEPULSE_BENCH_KUBELET_JSON_BASELINE_H_
#define NODEPULSE_BENCH_KUBELET_JSON_BASELINE_H_

#include <cstddef>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace nodepulse::collectors::kubelet::api {
class PodList;
class Summary;
}  // namespace nodepulse::collectors::kubelet::api

namespace nodepulse::bench {

absl::Status ParsePodListProtobuf(std::string_view json, collectors::kubelet::api::PodList* out);
absl::Status ParseSummaryProtobuf(std::string_view json, collectors::kubelet::api::Summary* out);

// For the benchmark, which does not see the generated messages: parse into a
// message reused per thread (as parse_entry.h's hand-parser entry points do)
// and return the containers in the PodList / pods in the Summary.
absl::StatusOr<size_t> ProtobufPodListContainers(std::string_view json);
absl::StatusOr<size_t> ProtobufSummaryPods(std::string_view json);

}  // namespace nodepulse::bench

#endif  // NODEPULSE_BENCH_KUBELET_JSON_BASELINE_H_
