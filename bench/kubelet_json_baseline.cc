#include "kubelet_json_baseline.h"

#include <exception>
#include <string>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/json_util.h"
#include "kubelet_api.pb.h"

namespace nodepulse::bench {

namespace api = collectors::kubelet::api;

namespace {

absl::Status ProtobufJson(std::string_view json, google::protobuf::Message* out) {
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  // protobuf's JSON helpers return their own Status and, on allocation
  // failure, throw: keep both inside this boundary.
  try {
    auto status = google::protobuf::util::JsonStringToMessage(
        google::protobuf::StringPiece(json.data(), json.size()), out, options);
    if (status.ok()) return absl::OkStatus();
    return absl::InvalidArgumentError(absl::StrCat("parsing ", out->GetTypeName(), ": ",
                                                   std::string(status.message())));
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("parsing ", out->GetTypeName(), ": ", e.what()));
  }
}

}  // namespace

absl::Status ParsePodListProtobuf(std::string_view json, api::PodList* out) {
  out->Clear();
  return ProtobufJson(json, out);
}

absl::Status ParseSummaryProtobuf(std::string_view json, api::Summary* out) {
  out->Clear();
  return ProtobufJson(json, out);
}

absl::StatusOr<size_t> ProtobufPodListContainers(std::string_view json) {
  thread_local api::PodList list;
  if (absl::Status s = ParsePodListProtobuf(json, &list); !s.ok()) return s;
  size_t n = 0;
  for (const auto& pod : list.items()) n += pod.spec().containers_size();
  return n;
}

absl::StatusOr<size_t> ProtobufSummaryPods(std::string_view json) {
  thread_local api::Summary summary;
  if (absl::Status s = ParseSummaryProtobuf(json, &summary); !s.ok()) return s;
  return static_cast<size_t>(summary.pods_size());
}

}  // namespace nodepulse::bench
