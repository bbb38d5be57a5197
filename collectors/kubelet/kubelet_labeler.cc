// The kubelet join: cAdvisor's labels for a cgroup, and pod UID -> owner for
// the pipeline's rollups, both read from the client's latest state.
#include <optional>
#include <string>

#include "nodepulse/collectors/kubelet.h"

namespace nodepulse::collectors {

std::function<pipeline::Labels(const CgroupIdentity&)> MakeKubeletLabeler(
    std::shared_ptr<const KubeletClient> client) {
  return [client = std::move(client)](const CgroupIdentity& identity) -> pipeline::Labels {
    std::shared_ptr<const KubeletState> state = client->state();
    const PodMeta* pod = identity.pod_uid.empty() ? nullptr : state->FindPod(identity.pod_uid);
    if (pod == nullptr) return DefaultCgroupLabels(identity);
    const ContainerMeta* container = nullptr;
    if (!identity.pod_level && !identity.container_id.empty()) {
      const PodMeta* owner = nullptr;
      container = state->FindContainer(identity.container_id, &owner);
      if (owner != pod) container = nullptr;  // an ID from another pod: trust the path
    }
    // cAdvisor's order. A container cgroup not in /pods (the sandbox/pause
    // container, or one started since the last poll) keeps name=<id> and
    // container="" as cAdvisor shows the pause container.
    return {{"container", container ? container->name : std::string()},
            {"id", identity.id},
            {"image", container ? container->image : std::string()},
            {"name", identity.pod_level ? std::string() : identity.container_id},
            {"namespace", pod->namespace_name},
            {"pod", pod->name}};
  };
}

std::function<std::optional<PodOwner>(std::string_view pod_uid)> MakePodOwnerLookup(
    std::shared_ptr<const KubeletClient> client) {
  return [client = std::move(client)](std::string_view uid) -> std::optional<PodOwner> {
    std::shared_ptr<const KubeletState> state = client->state();
    const PodMeta* pod = state->FindPod(uid);
    if (pod == nullptr) return std::nullopt;
    return PodOwner{pod->namespace_name, pod->name, pod->workload.name, pod->workload.kind};
  };
}

}  // namespace nodepulse::collectors
