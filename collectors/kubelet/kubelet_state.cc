// KubeletState lookups and the names used in labels and logs.
#include <string_view>

#include "nodepulse/collectors/kubelet.h"

namespace nodepulse::collectors {

std::string_view KubeletEndpointName(KubeletEndpoint e) {
  return e == KubeletEndpoint::kPods ? "pods" : "stats/summary";
}

std::string_view KubeletErrorName(KubeletError e) {
  switch (e) {
    case KubeletError::kConnect: return "connect";
    case KubeletError::kTimeout: return "timeout";
    case KubeletError::kTls: return "tls";
    case KubeletError::kHttp401: return "http_401";
    case KubeletError::kHttp403: return "http_403";
    case KubeletError::kHttp4xx: return "http_4xx";
    case KubeletError::kHttp5xx: return "http_5xx";
    case KubeletError::kParse: return "parse";
    case KubeletError::kTooLarge: return "too_large";
    case KubeletError::kOther: return "other";
  }
  return "other";
}

std::string_view ResizeStateName(ResizeState s) {
  switch (s) {
    case ResizeState::kNone: return "none";
    case ResizeState::kInProgress: return "in_progress";
    case ResizeState::kDeferred: return "deferred";
    case ResizeState::kInfeasible: return "infeasible";
    case ResizeState::kError: return "error";
  }
  return "none";
}

const PodMeta* KubeletState::FindPod(std::string_view uid) const {
  auto it = pod_by_uid.find(absl::string_view(uid.data(), uid.size()));
  return it == pod_by_uid.end() ? nullptr : &pods[it->second];
}

const ContainerMeta* KubeletState::FindContainer(std::string_view id, const PodMeta** pod) const {
  auto it = container_by_id.find(absl::string_view(id.data(), id.size()));
  if (it == container_by_id.end()) return nullptr;
  const PodMeta& p = pods[it->second.first];
  if (pod != nullptr) *pod = &p;
  return &p.containers[it->second.second];
}

}  // namespace nodepulse::collectors
