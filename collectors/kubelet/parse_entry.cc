#include "parse_entry.h"

#include "json_parsers.h"
#include "state_builder.h"

namespace nodepulse::collectors::kubelet {

absl::StatusOr<size_t> ParsePodListOnly(std::string_view json) {
  thread_local api::PodList list;
  if (absl::Status s = ParsePodList(json, &list); !s.ok()) return s;
  size_t n = 0;
  for (const auto& pod : list.items()) n += pod.spec().containers_size();
  return n;
}

absl::StatusOr<size_t> ParseSummaryOnly(std::string_view json) {
  thread_local api::Summary summary;
  if (absl::Status s = ParseSummary(json, &summary); !s.ok()) return s;
  return static_cast<size_t>(summary.pods_size());
}

absl::StatusOr<size_t> ParseAndBuildState(std::string_view pods_json, std::string_view summary_json) {
  thread_local api::PodList list;
  thread_local api::Summary summary;
  if (absl::Status s = ParsePodList(pods_json, &list); !s.ok()) return s;
  if (absl::Status s = ParseSummary(summary_json, &summary); !s.ok()) return s;
  static const KubeletState kEmpty;
  KubeletState state;
  state.pods = BuildPods(list, kEmpty);
  state.usage = BuildUsage(summary);
  IndexState(kEmpty, &state);
  return state.pods.size();
}

}  // namespace nodepulse::collectors::kubelet
