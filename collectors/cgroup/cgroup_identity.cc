#include "cgroup_identity.h"

#include <string>

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

// Splits "<parent>/<pod dir>[/<rest>]" for `p`: the UID in the pod
// directory's name and what follows it ("" for the pod cgroup itself).
bool SplitPodPath(const PodPlacement& p, std::string_view path, std::string_view* uid,
                  std::string_view* below) {
  if (!ConsumePrefix(&path, p.parent) || !ConsumePrefix(&path, "/")) return false;
  std::string_view pod = path.substr(0, path.find('/'));
  *below = path.substr(pod.size());
  if (!ConsumePrefix(&pod, p.prefix) || !ConsumeSuffix(&pod, p.suffix) || pod.empty()) {
    return false;
  }
  *uid = pod;
  return true;
}

}  // namespace

CgroupIdentity IdentifyCgroup(std::string_view id, const ContainerNaming** naming) {
  if (naming != nullptr) *naming = nullptr;
  CgroupIdentity out;
  out.id = std::string(id);
  for (const PodPlacement& p : kPodPlacements) {
    std::string_view uid, below;
    if (!SplitPodPath(p, id, &uid, &below)) continue;
    out.pod_uid.assign(uid.data(), uid.size());
    if (p.driver == Driver::kSystemd) {
      for (char& c : out.pod_uid) {
        if (c == '_') c = '-';
      }
    }
    out.pod_level = below.empty();
    // Only the level right below the pod is a container; deeper cgroups (a
    // container's own children) belong to the pod but to no container.
    if (below.size() > 1 && below.find('/', 1) == std::string_view::npos) {
      std::string_view cid;
      const ContainerNaming* n = MatchContainerName(p.driver, below.substr(1), &cid);
      if (n != nullptr && n->role == Role::kContainer) out.container_id.assign(cid);
      if (naming != nullptr) *naming = n;
    }
    return out;
  }
  return out;
}

}  // namespace nodepulse::collectors::cgroup_internal
