#include "workload.h"

#include <string_view>

namespace nodepulse::collectors::kubelet {

const api::OwnerReference* ControllerOf(const api::ObjectMeta& meta) {
  for (const auto& owner : meta.owner_references()) {
    if (owner.has_controller() && owner.controller()) return &owner;
  }
  return meta.owner_references().empty() ? nullptr : &meta.owner_references(0);
}

Workload ResolveWorkload(const api::ObjectMeta& meta) {
  const api::OwnerReference* owner = ControllerOf(meta);
  if (owner == nullptr || owner->name().empty()) return {"Pod", meta.name()};
  std::string_view name = owner->name();
  if (owner->kind() == "ReplicaSet") {
    auto hash = meta.labels().find("pod-template-hash");
    if (hash != meta.labels().end() && !hash->second.empty() &&
        name.size() > hash->second.size() + 1 &&
        name.substr(name.size() - hash->second.size()) == hash->second &&
        name[name.size() - hash->second.size() - 1] == '-') {
      return {"Deployment", std::string(name.substr(0, name.size() - hash->second.size() - 1))};
    }
    return {"ReplicaSet", std::string(name)};
  }
  if (owner->kind() == "Job") {
    size_t dash = name.rfind('-');
    if (dash != std::string_view::npos && dash > 0 && name.size() - dash - 1 >= 8) {
      bool digits = true;
      for (char c : name.substr(dash + 1)) digits = digits && c >= '0' && c <= '9';
      if (digits) return {"CronJob", std::string(name.substr(0, dash))};
    }
    return {"Job", std::string(name)};
  }
  return {owner->kind(), std::string(name)};
}

}  // namespace nodepulse::collectors::kubelet
