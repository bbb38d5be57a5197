// Resolves a pod's owning workload from what /pods shows: the pod's own
// ownerReferences and labels. The kubelet does not return the owners' owners,
// so two hops are inferred from names, the way kube-prometheus' recording
// rules and most agents do:
//   ReplicaSet "<d>-<pod-template-hash>"  -> Deployment "<d>" (the hash is the
//       pod's pod-template-hash label, so this is exact when the label is set)
//   Job "<c>-<8+ digits>"                  -> CronJob "<c>" (the CronJob
//       controller names Jobs <cronjob>-<scheduled time in Unix minutes>;
//       8 digits covers every time since 1973-03. A hand-made Job named like
//       "backup-20240101" is misread as CronJob "backup": accepted, documented)
//   StatefulSet, DaemonSet, other kinds    -> themselves
//   no owner (bare or static pod)          -> kind "Pod", the pod's name
#ifndef NODEPULSE_COLLECTORS_KUBELET_WORKLOAD_H_
#define NODEPULSE_COLLECTORS_KUBELET_WORKLOAD_H_

#include "kubelet_api.pb.h"
#include "nodepulse/collectors/kubelet.h"

namespace nodepulse::collectors::kubelet {

// The owner reference that counts: the one with controller=true, else the
// first; null when there is none.
const api::OwnerReference* ControllerOf(const api::ObjectMeta& meta);

Workload ResolveWorkload(const api::ObjectMeta& meta);

}  // namespace nodepulse::collectors::kubelet

#endif  // NODEPULSE_COLLECTORS_KUBELET_WORKLOAD_H_
