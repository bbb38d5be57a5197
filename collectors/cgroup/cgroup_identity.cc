#include "cgroup_identity.h"

#include <string>
#include <vector>

namespace nodepulse::collectors::cgroup_internal {

namespace {

bool ConsumePrefix(std::string_view* s, std::string_view prefix) {
  if (!s->starts_with(prefix)) return false;
  s->remove_prefix(prefix.size());
  return true;
}

bool ConsumeSuffix(std::string_view* s, std::string_view suffix) {
  if (!s->ends_with(suffix)) return false;
  s->remove_suffix(suffix.size());
  return true;
}

// "pod<uid>" (cgroupfs) or "kubepods[-qos]-pod<uid_with_underscores>.slice".
bool PodUidOf(std::string_view component, std::string* uid) {
  std::string_view rest;
  if (ConsumeSuffix(&component, ".slice")) {
    size_t at = component.rfind("-pod");
    if (!component.starts_with("kubepods") || at == std::string_view::npos) return false;
    rest = component.substr(at + 4);
  } else if (component.starts_with("pod")) {
    rest = component.substr(3);
  } else {
    return false;
  }
  if (rest.empty()) return false;
  uid->assign(rest.data(), rest.size());
  for (char& c : *uid) {
    if (c == '_') c = '-';
  }
  return true;
}

// Container cgroup under a pod: "<runtime>-<id>.scope" (systemd) or "<id>".
// cri-o's "crio-conmon-<id>.scope" holds the monitor process, not the
// container, so it is not given a container id.
bool ContainerIdOf(std::string_view component, std::string* id) {
  if (ConsumeSuffix(&component, ".scope")) {
    if (component.starts_with("crio-conmon-")) return false;
    for (std::string_view prefix : {"cri-containerd-", "crio-", "docker-", "libpod-"}) {
      if (ConsumePrefix(&component, prefix)) {
        if (component.empty()) return false;
        id->assign(component.data(), component.size());
        return true;
      }
    }
    return false;
  }
  if (component.empty()) return false;
  id->assign(component.data(), component.size());
  return true;
}

std::vector<std::string_view> SplitPath(std::string_view path) {
  std::vector<std::string_view> parts;
  while (!path.empty()) {
    size_t slash = path.find('/');
    std::string_view part = path.substr(0, slash);
    if (!part.empty()) parts.push_back(part);
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return parts;
}

}  // namespace

CgroupIdentity IdentifyCgroup(std::string_view id) {
  CgroupIdentity out;
  out.id = std::string(id);
  std::vector<std::string_view> parts = SplitPath(id);
  if (parts.empty() || (parts[0] != "kubepods" && parts[0] != "kubepods.slice")) {
    return out;
  }
  for (size_t i = 1; i < parts.size(); ++i) {
    if (!PodUidOf(parts[i], &out.pod_uid)) continue;
    if (i + 1 == parts.size()) {
      out.pod_level = true;
    } else if (i + 2 == parts.size()) {
      ContainerIdOf(parts[i + 1], &out.container_id);
    }
    break;
  }
  return out;
}

}  // namespace nodepulse::collectors::cgroup_internal
