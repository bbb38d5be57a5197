// The kubelet join: cAdvisor's labels for a cgroup, and (namespace, pod) ->
// owning workload for the aggregates, both read from the client's latest
// state.
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

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

std::function<uint64_t()> MakeKubeletLabelGeneration(std::shared_ptr<const KubeletClient> client) {
  return [client = std::move(client)] { return client->state()->layout_version; };
}

std::function<std::optional<PodOwner>(std::string_view namespace_name, std::string_view pod)>
MakePodOwnerLookup(std::shared_ptr<const KubeletClient> client) {
  struct Cache {
    std::mutex mu;
    std::shared_ptr<const KubeletState> state;
    std::map<std::pair<std::string, std::string>, PodOwner> owners;
  };
  auto cache = std::make_shared<Cache>();
  return [client = std::move(client), cache](std::string_view ns,
                                             std::string_view pod) -> std::optional<PodOwner> {
    std::shared_ptr<const KubeletState> state = client->state();
    std::lock_guard<std::mutex> lock(cache->mu);
    if (cache->state != state) {
      cache->state = state;
      cache->owners.clear();
      for (const PodMeta& p : state->pods) {
        if (p.workload.name.empty()) continue;
        cache->owners[{p.namespace_name, p.name}] = {p.workload.name, p.workload.kind};
      }
    }
    auto it = cache->owners.find(std::make_pair(std::string(ns), std::string(pod)));
    if (it == cache->owners.end()) return std::nullopt;
    return it->second;
  };
}

}  // namespace nodepulse::collectors
