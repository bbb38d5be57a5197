// Turns parsed /pods and /stats/summary messages into the immutable
// KubeletState the client publishes, carrying forward what must survive
// between polls (OOM-kill counts, error totals, the last good half when one
// endpoint failed). Pure functions of their inputs; used by the client thread
// and directly by tests.
#ifndef NODEPULSE_COLLECTORS_KUBELET_STATE_BUILDER_H_
#define NODEPULSE_COLLECTORS_KUBELET_STATE_BUILDER_H_

#include <string>
#include <string_view>
#include <vector>

#include "kubelet_api.pb.h"
#include "nodepulse/collectors/kubelet.h"

namespace nodepulse::collectors::kubelet {

// "containerd://abc" -> "abc"; also docker://, cri-o://, any "<scheme>://".
std::string_view StripRuntimePrefix(std::string_view container_id);

// Pods with their containers, resolved workloads and OOM counts, which
// continue from `previous` (matched by pod UID and container name).
std::vector<PodMeta> BuildPods(const api::PodList& list, const KubeletState& previous);

// Per-pod usage from the summary. UINT64_MAX (what the beats fixture, and
// filesystems without inode accounting, report for inodesFree) reads as
// "not reported", not as 1.8e19.
std::vector<PodUsage> BuildUsage(const api::Summary& summary);

// Fills the maps of `state` from its vectors and carries per-workload OOM
// totals forward from `previous`, adding this round's increments
// (state.pods[i].oom_kills - previous pod's).
void IndexState(const KubeletState& previous, KubeletState* state);

// A string that changes exactly when the set of series the state implies
// changes; the client bumps layout_version when it does.
std::string LayoutSignature(const KubeletState& state);

}  // namespace nodepulse::collectors::kubelet

#endif  // NODEPULSE_COLLECTORS_KUBELET_STATE_BUILDER_H_
