// Kubelet collector: Kubernetes metadata (namespace, pod, container, image,
// workload owner, requests/limits, restarts, OOM kills) and the kubelet-only
// stats (per-pod network, ephemeral storage, volumes) joined onto the cgroup
// series by pod UID and container ID, the way cAdvisor inside the kubelet
// labels its series.
//
// Three parts:
//   KubeletClient  - owns one thread that polls <url>/pods and
//                    <url>/stats/summary over HTTPS (libcurl, bearer token, CA
//                    file) every `interval`, backing off exponentially with
//                    jitter on failure, and publishes an immutable
//                    KubeletState. It never touches the pipeline.
//   labeler        - MakeKubeletLabeler() returns the cgroup collector's
//                    CgroupOptions::labeler: cAdvisor's label set for a cgroup
//                    from the latest state.
//   Collector      - NewKubeletCollector() writes kube_* / kubelet_* /
//                    container_network_* series from the latest state on the
//                    collection thread. It does no I/O.
//
// Workloads: cAdvisor's raw series carry no workload label, so the labeler
// keeps cAdvisor's six labels exactly. The owning workload is exposed the
// way kube-state-metrics and kube-prometheus do it, as info-style series
// (kube_pod_owner, namespace_workload_pod:kube_pod_owner:relabel) users join
// on {namespace,pod}, and to the aggregates engine through
// MakePodOwnerLookup() ((namespace, pod) -> workload, workload_kind).
//
// Requirements: the agent's main calls curl_global_init(CURL_GLOBAL_DEFAULT)
// once before starting any thread (libcurl's global init is not thread-safe);
// KubeletClient does not call it.
//
// Thread-safety: KubeletClient::state() and the functions returned by
// MakeKubeletLabeler()/MakePodOwnerLookup() may be called from any thread;
// they copy a shared_ptr under a mutex held only for the copy. Start(), Stop()
// and PollOnce() are for the owning (agent or test) thread. The Collector is
// owned and called by the collection thread only. A KubeletState is
// immutable once published.
#ifndef NODEPULSE_COLLECTORS_KUBELET_H_
#define NODEPULSE_COLLECTORS_KUBELET_H_

#include <array>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "nodepulse/collectors/cgroup.h"
#include "nodepulse/collectors/collector.h"

namespace nodepulse::collectors {

struct KubeletOptions {
  // Base URL; "/pods" and "/stats/summary" are appended. In API-server proxy
  // mode: https://<apiserver>/api/v1/nodes/<node>/proxy.
  std::string url;
  // Bearer token, re-read before every poll because projected service-account
  // tokens rotate (about hourly). Empty: no Authorization header.
  std::string token_file;
  std::string ca_file;  // PEM bundle; empty: the system trust store
  // Accept any server certificate. Only when asked for explicitly: kubelets
  // serve self-signed certificates unless serverTLSBootstrap is on.
  bool insecure_skip_verify = false;
  std::string node_name;         // label `node` on kube_pod_container_resource_*
  bool apiserver_proxy = false;  // reach the kubelet through the API server
  absl::Duration interval = absl::Seconds(10);
  absl::Duration timeout = absl::Seconds(5);  // whole request, connect included
  // A response larger than this is abandoned and counted as too_large; a
  // kubelet with ~250 pods answers /pods in ~1.5 MB (managedFields included).
  size_t max_response_bytes = size_t{64} << 20;
  // After the kubelet fails, its last good metadata is kept this long: stale
  // labels beat no labels while the kubelet restarts. Past it the pods are
  // dropped from the state (series lose namespace/pod until it recovers).
  absl::Duration stale_grace = absl::Minutes(2);
  // Retry delay after n consecutive failed polls: min(backoff_max,
  // backoff_initial * 2^(n-1)), then a random 50-100% of it (jitter, so a
  // DaemonSet's agents do not retry in lockstep after a control-plane blip).
  absl::Duration backoff_initial = absl::Seconds(1);
  absl::Duration backoff_max = absl::Seconds(60);
};

// What the process sees of the cluster; FromProcess() reads the environment
// (KUBERNETES_SERVICE_HOST/PORT, NODE_IP, NODE_NAME, and
// NODEPULSE_SERVICEACCOUNT_DIR, which overrides the service-account
// directory for tests). Unit tests build it directly.
struct KubeletEnvironment {
  std::string kubernetes_service_host;  // set by Kubernetes in every pod
  std::string kubernetes_service_port;
  std::string node_ip;    // from the downward API (status.hostIP)
  std::string node_name;  // from the downward API (spec.nodeName)
  std::string serviceaccount_dir = "/var/run/secrets/kubernetes.io/serviceaccount";
  static KubeletEnvironment FromProcess();
};

// Completes `flags` (the --kubelet-* values; empty fields are "not set") with
// in-cluster defaults: the service account's token and ca.crt, the URL
// https://$NODE_IP:10250 (or the API server's node proxy when
// flags.apiserver_proxy) and NODE_NAME. Returns NotFound when not in a
// cluster and no URL was given (the agent then logs "no kubelet configured;
// cgroup and node metrics only"), InvalidArgument for a bad URL or an
// unreadable token/CA file, FailedPrecondition when in a cluster but neither
// NODE_IP nor --kubelet-url says where the kubelet is.
absl::StatusOr<KubeletOptions> KubeletOptionsFromEnvironment(
    const KubeletOptions& flags,
    const KubeletEnvironment& env = KubeletEnvironment::FromProcess());

// ---- published state ----

struct Workload {
  // Deployment, StatefulSet, DaemonSet, CronJob, Job, ReplicaSet (one not
  // named <deployment>-<pod-template-hash>), Pod (no owner: bare and static
  // pods), or any other owner kind as the kubelet reports it.
  std::string kind;
  std::string name;
};

// CPU and memory requests/limits of a container or a pod; NaN = not set.
struct ResourceQuantities {
  double cpu_request_cores = std::numeric_limits<double>::quiet_NaN();
  double cpu_limit_cores = std::numeric_limits<double>::quiet_NaN();
  double memory_request_bytes = std::numeric_limits<double>::quiet_NaN();
  double memory_limit_bytes = std::numeric_limits<double>::quiet_NaN();
};

// Where a pod's in-place resize (KEP-1287, GA in Kubernetes 1.35) stands,
// from status.conditions (1.33+) or the older status.resize string.
enum class ResizeState : uint8_t {
  kNone = 0,     // nothing pending: desired == current
  kInProgress,   // PodResizeInProgress: allocated, being actuated
  kDeferred,     // PodResizePending/Deferred: may fit later
  kInfeasible,   // PodResizePending/Infeasible: cannot fit on this node
  kError,        // PodResizeInProgress/Error: the runtime refused it
};
inline constexpr int kResizeStates = 5;
std::string_view ResizeStateName(ResizeState s);  // "none", "in_progress", ...

struct ContainerMeta {
  std::string name;
  std::string id;  // runtime ID without "containerd://" etc.; "" if not started
  std::string image;
  bool init = false;
  // spec.containers[].resources: what the owner asks for. After a resize
  // this is the new size even while the old one is still enforced.
  ResourceQuantities desired;
  // What is applied: status.containerStatuses[].resources (the runtime's
  // view, 1.33+); without it, allocatedResources for requests (1.27-1.32
  // with the feature gate); without either (older kubelets, where a spec
  // could not change in place), the spec.
  ResourceQuantities current;
  uint32_t restart_count = 0;
  std::string last_terminated_reason;  // lastState.terminated.reason ("OOMKilled")
};

struct PodMeta {
  std::string uid, namespace_name, name, phase;
  std::string owner_kind, owner_name;  // the controller owner as listed; "" if none
  bool owner_is_controller = false;
  Workload workload;
  absl::flat_hash_map<std::string, std::string> labels;
  std::vector<ContainerMeta> containers;  // spec order, init containers first
  // Sums over the regular (non-init) containers: what usage summed over
  // those containers is compared with. A request sum is NaN when any of
  // them has no request (HPA leaves utilization undefined then too); a
  // limit sum is NaN when any is unlimited.
  ResourceQuantities pod_desired, pod_current;
  ResizeState resize = ResizeState::kNone;
  std::string resize_message;  // the condition's message, e.g. "Node didn't have enough capacity: ..."

  // OOM kills seen since this agent first saw the pod (restartCount went up
  // with lastState OOMKilled, or OOMKilled at first sight).
  uint64_t oom_kills = 0;
};

// A summary counter or gauge; the kubelet omits what it could not measure.
struct StatValue {
  bool present = false;
  double value = 0;
};

struct FsUsage {
  StatValue capacity_bytes, available_bytes, used_bytes, inodes, inodes_free, inodes_used;
};

struct InterfaceUsage {
  std::string name;
  StatValue rx_bytes, rx_errors, tx_bytes, tx_errors;
};

struct VolumeUsage {
  std::string name;
  std::string pvc_namespace, pvc_name;  // empty unless a PVC backs the volume
  FsUsage fs;
};

struct ContainerUsage {
  std::string name;
  FsUsage rootfs, logs;
};

struct PodUsage {
  std::string uid, namespace_name, name;
  std::vector<InterfaceUsage> interfaces;
  FsUsage ephemeral_storage;
  std::vector<VolumeUsage> volumes;
  std::vector<ContainerUsage> containers;
};

enum class KubeletEndpoint : uint8_t { kPods = 0, kSummary = 1 };
inline constexpr int kKubeletEndpoints = 2;
std::string_view KubeletEndpointName(KubeletEndpoint e);  // "pods", "stats/summary"

// Why a poll failed; the `reason` label of nodepulse_kubelet_errors_total.
enum class KubeletError : uint8_t {
  kConnect = 0,  // refused, unreachable, reset, DNS
  kTimeout,
  kTls,          // handshake, unknown CA, hostname mismatch, bad CA file
  kHttp401,
  kHttp403,
  kHttp4xx,      // other 4xx (and 3xx: redirects are not followed)
  kHttp5xx,
  kParse,        // not the JSON we expect
  kTooLarge,     // over max_response_bytes
  kOther,
};
inline constexpr int kKubeletErrors = 10;
std::string_view KubeletErrorName(KubeletError e);  // "connect", "http_401", ...

struct KubeletState {
  // Pods and their containers, in /pods order. The maps index into them.
  std::vector<PodMeta> pods;
  absl::flat_hash_map<std::string, uint32_t> pod_by_uid;
  // Container ID -> (pod index, container index).
  absl::flat_hash_map<std::string, std::pair<uint32_t, uint32_t>> container_by_id;
  std::vector<PodUsage> usage;  // /stats/summary pods, in its order
  // OOM kills per workload, keyed "<namespace>/<kind>/<name>": these outlive
  // pods (a Deployment's pods are replaced; the workload's count goes on).
  std::vector<std::pair<Workload, std::string>> workload_keys;  // (workload, namespace)
  std::vector<uint64_t> workload_oom_kills;                     // by workload_keys index

  // Bumped whenever the set of series the state implies changes (pods,
  // containers, images, owners, reasons, interfaces, volumes); the collector
  // re-interns only then.
  uint64_t layout_version = 0;
  uint64_t polls = 0;  // completed poll rounds, successful or not
  absl::Time pods_fetched = absl::InfinitePast();     // last good /pods
  absl::Time summary_fetched = absl::InfinitePast();  // last good /stats/summary
  // The same two moments on CLOCK_MONOTONIC (time since boot): the stale
  // grace is measured on these, so a wall-clock step (NTP, date) can neither
  // drop the labels early nor keep them for too long. The wall times above
  // are only timestamps (kubelet_last_success_timestamp_seconds).
  absl::Duration pods_fetched_mono = -absl::InfiniteDuration();
  absl::Duration summary_fetched_mono = -absl::InfiniteDuration();
  bool up = false;  // the last poll of every endpoint succeeded
  // When !up after a poll: why, for /readyz, /api/v1/health and the status
  // page. `problem` is one line with the fix where there is one (a TLS
  // failure names the presented certificate's subject and issuer and the
  // flags --kubelet-insecure-skip-verify and --kubelet-ca-file). Empty
  // before the first poll and while up.
  KubeletError problem_reason = KubeletError::kOther;
  std::string problem;
  // errors[endpoint][reason]: totals since start.
  std::array<std::array<uint64_t, kKubeletErrors>, kKubeletEndpoints> errors{};

  const PodMeta* FindPod(std::string_view uid) const;
  // The container with this runtime ID (prefix already stripped).
  const ContainerMeta* FindContainer(std::string_view id, const PodMeta** pod = nullptr) const;
};

class KubeletClient {
 public:
  // Options are taken as given (see KubeletOptionsFromEnvironment).
  explicit KubeletClient(KubeletOptions options);
  ~KubeletClient();  // Stop()s
  KubeletClient(const KubeletClient&) = delete;
  KubeletClient& operator=(const KubeletClient&) = delete;

  // Starts the polling thread; the first poll happens at once. Fails when
  // the options are unusable (no URL, not http(s)) or curl cannot be set up.
  absl::Status Start();
  // Wakes the thread, lets an in-flight request finish or time out (at most
  // `timeout`), and joins it. Idempotent.
  void Stop();

  // One poll round (both endpoints) on the calling thread, publishing the
  // result: for tests and one-shot tools. Not while Start()ed.
  void PollOnce();

  // The latest published state; never null (empty before the first poll).
  std::shared_ptr<const KubeletState> state() const;
  const KubeletOptions& options() const { return options_; }

 private:
  class Poller;  // curl handle, backoff, log-once bookkeeping; thread-owned
  void Run();
  void Publish(std::shared_ptr<const KubeletState> state);

  const KubeletOptions options_;
  std::unique_ptr<Poller> poller_;
  std::thread thread_;
  // Wakes Run()'s sleep between polls. std::condition_variable, not
  // absl::Mutex::AwaitWithTimeout: Debian's abseil turns a timeout into a
  // CLOCK_REALTIME deadline, so a wall-clock step back would stretch the
  // sleep (and stop polling) by the size of the step; libstdc++'s wait_for
  // waits on CLOCK_MONOTONIC.
  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  bool stop_ = false;  // guarded by stop_mu_

  mutable absl::Mutex mu_;
  std::shared_ptr<const KubeletState> state_ ABSL_GUARDED_BY(mu_);
};

// cAdvisor's labels for a cgroup, from the client's latest state, in
// cAdvisor's order: container, id, image, name, namespace, pod.
//   container cgroup of a known container: container=<name>, image, name=<id>
//   other cgroup of a known pod (sandbox/pause, pod level): container="",
//       image="", name=<container id> or "" at pod level
//   unknown pod: DefaultCgroupLabels(identity)
// New metadata reaches a cgroup at the cgroup collector's next cycle when
// MakeKubeletLabelGeneration() is its CgroupOptions::label_generation.
std::function<pipeline::Labels(const CgroupIdentity&)> MakeKubeletLabeler(
    std::shared_ptr<const KubeletClient> client);

// The latest state's layout_version: it changes whenever anything the
// labeler reads (pods, containers, images, owners) changed, including pods
// dropped after the stale grace.
std::function<uint64_t()> MakeKubeletLabelGeneration(std::shared_ptr<const KubeletClient> client);

// The workload that owns a pod (ReplicaSet -> Deployment, Job -> CronJob,
// ...), from the client's latest /pods, by namespace and pod name; nullopt
// for a pod it does not list or one without a workload. For the aggregates
// engine's per-workload rollups. The (namespace, pod) index is rebuilt only
// when the client publishes a new state, under a mutex of the returned
// function's own.
struct PodOwner {
  std::string workload, workload_kind;
};
std::function<std::optional<PodOwner>(std::string_view namespace_name, std::string_view pod)>
MakePodOwnerLookup(std::shared_ptr<const KubeletClient> client);

struct KubeletCollectorOptions {
  // The pod cgroup's id ("/kubepods/besteffort/pod<uid>"), for the `id`
  // label of the pod-level container_network_* series (cAdvisor puts them on
  // the sandbox cgroup). Called when pods change. Unset or "": id="".
  std::function<std::string(std::string_view pod_uid)> pod_cgroup_id;
  // Emit namespace_workload_pod:kube_pod_owner:relabel (kubernetes-mixin's
  // name). Off unless --mixin-series: kube-prometheus records the same name
  // from kube-state-metrics, and a series must not exist twice.
  bool mixin_series = false;
};

// Series written (all from the latest state; nothing when it holds no pods):
//   kube_pod_container_resource_{requests,limits}{namespace,pod,container,node,resource,unit}
//   kube_pod_container_status_restarts_total{namespace,pod,container}
//   kube_pod_container_status_last_terminated_reason{namespace,pod,container,reason} 1
//   kube_pod_owner{namespace,pod,owner_kind,owner_name,owner_is_controller} 1
//   namespace_workload_pod:kube_pod_owner:relabel{namespace,pod,workload,workload_type} 1
//   nodepulse_pod_oom_kills_total{namespace,pod,workload,workload_kind}
//   nodepulse_workload_oom_kills_total{namespace,workload,workload_kind}
//   container_network_{receive,transmit}_{bytes,errors}_total
//       {container="",id,image="",interface,name="",namespace,pod}
//       (the Summary API has no packet counts; the cgroup/procfs side may)
//   nodepulse_pod_ephemeral_storage_{used_bytes,inodes_used}{namespace,pod}
//   nodepulse_container_fs_{rootfs,logs}_used_bytes{namespace,pod,container}
//   kubelet_volume_stats_{capacity,available,used}_bytes,
//   kubelet_volume_stats_inodes{,_free,_used}{namespace,persistentvolumeclaim}
//   nodepulse_pod_volume_used_bytes{namespace,pod,volume} (non-PVC volumes)
//   nodepulse_kubelet_up (1), or nodepulse_kubelet_up{reason} 0 while down,
//   nodepulse_kubelet_errors_total{endpoint,reason},
//   nodepulse_kubelet_last_success_timestamp_seconds{endpoint}
// Fails only when a metric cannot be registered.
absl::StatusOr<std::unique_ptr<Collector>> NewKubeletCollector(
    std::shared_ptr<const KubeletClient> client, pipeline::Pipeline& pipeline,
    KubeletCollectorOptions options = {});

}  // namespace nodepulse::collectors

#endif  // NODEPULSE_COLLECTORS_KUBELET_H_
