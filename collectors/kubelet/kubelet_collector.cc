// The kubelet Collector: writes kube_*, kubelet_volume_stats_* and
// container_network_* series from the client's latest published state. Runs
// on the collection thread and does no I/O.
//
// Series are bound to positions in the state (pod i, container j, ...) when
// the state's layout_version changes, and only then interned/released; every
// other cycle is one Set() per binding with no allocation. layout_version
// changes exactly when the positions would (state_builder.cc), so a binding
// always reads the field it was made for.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "nodepulse/collectors/kubelet.h"
#include "nodepulse/pipeline/metric_names.h"

namespace nodepulse::collectors {
namespace {

using pipeline::EntityId;
using pipeline::Label;
using pipeline::Labels;
using pipeline::MetricId;
using pipeline::MetricKind;
using pipeline::SeriesId;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

enum class Field : uint8_t {
  kContainerQty, kPodQty, kRestarts, kOne, kPodOom, kWorkloadOom,
  kRxBytes, kRxErrors, kTxBytes, kTxErrors,
  kEphUsed, kEphInodesUsed, kRootfsUsed, kLogsUsed,
  kVolCapacity, kVolAvailable, kVolUsed, kVolInodes, kVolInodesFree, kVolInodesUsed,
};

struct Binding {
  SeriesId id;
  Field field;
  uint32_t a = 0;  // pod / usage / workload index
  uint32_t b = 0;  // container / interface / volume index
  uint8_t q = 0;   // kContainerQty/kPodQty: kQuantities index, + kCurrentBit
};

// The four resource quantities: one table for every requests/limits series
// and for reading their values back.
struct QuantitySpec {
  const char* resource;
  const char* unit;
  bool limit;
  double ResourceQuantities::*field;
};
constexpr QuantitySpec kQuantities[] = {
    {"cpu", "core", false, &ResourceQuantities::cpu_request_cores},
    {"memory", "byte", false, &ResourceQuantities::memory_request_bytes},
    {"cpu", "core", true, &ResourceQuantities::cpu_limit_cores},
    {"memory", "byte", true, &ResourceQuantities::memory_limit_bytes},
};
constexpr uint8_t kCurrentBit = 4;  // Binding::q: the current (applied) size

enum M : int {
  kRequests, kLimits, kRestartsTotal, kLastTerminated, kOwner, kWorkloadPod, kPodOomTotal,
  kWorkloadOomTotal, kNetRx, kNetRxErr, kNetTx, kNetTxErr, kEphUsedM, kEphInodesM, kRootfsM,
  kLogsM, kVolCapM, kVolAvailM, kVolUsedM, kVolInodesM, kVolInodesFreeM, kVolInodesUsedM,
  kPodVolUsedM, kUp, kErrors, kLastSuccess, kCtrRequestsM, kCtrLimitsM, kPodRequestsM,
  kPodLimitsM, kResizeM, kMetricCount
};

const pipeline::MetricSpec kSpecs[kMetricCount] = {
    {"kube_pod_container_resource_requests", "Requested resources by a container (cores, bytes).", MetricKind::kGauge},
    {"kube_pod_container_resource_limits", "Resource limits of a container (cores, bytes).", MetricKind::kGauge},
    {metric::kKubePodContainerRestarts, "Restarts of a container, from the kubelet.", MetricKind::kCounter},
    {"kube_pod_container_status_last_terminated_reason", "Why the container last terminated (1 for the reason).", MetricKind::kGauge},
    {"kube_pod_owner", "The pod's controlling owner as the kubelet lists it.", MetricKind::kGauge},
    {"namespace_workload_pod:kube_pod_owner:relabel", "The pod's resolved workload (ReplicaSet->Deployment, Job->CronJob).", MetricKind::kGauge},
    {metric::kPodOomKills, "Container restarts of the pod whose last termination was OOMKilled, seen by this agent.", MetricKind::kCounter},
    {metric::kWorkloadOomKills, "OOM kills across the workload's pods on this node, seen by this agent.", MetricKind::kCounter},
    {metric::kContainerNetworkReceiveBytes, "Cumulative count of bytes received", MetricKind::kCounter, true},
    {"container_network_receive_errors_total", "Cumulative count of errors encountered while receiving", MetricKind::kCounter},
    {metric::kContainerNetworkTransmitBytes, "Cumulative count of bytes transmitted", MetricKind::kCounter, true},
    {"container_network_transmit_errors_total", "Cumulative count of errors encountered while transmitting", MetricKind::kCounter},
    {"nodepulse_pod_ephemeral_storage_used_bytes", "Ephemeral storage used by the pod (rootfs, logs, emptyDirs), from the kubelet.", MetricKind::kGauge},
    {"nodepulse_pod_ephemeral_storage_inodes_used", "Inodes used by the pod's ephemeral storage, from the kubelet.", MetricKind::kGauge},
    {"nodepulse_container_fs_rootfs_used_bytes", "Bytes used by the container's writable layer, from the kubelet.", MetricKind::kGauge},
    {"nodepulse_container_fs_logs_used_bytes", "Bytes used by the container's logs, from the kubelet.", MetricKind::kGauge},
    {"kubelet_volume_stats_capacity_bytes", "Capacity in bytes of the volume", MetricKind::kGauge},
    {"kubelet_volume_stats_available_bytes", "Number of available bytes in the volume", MetricKind::kGauge},
    {"kubelet_volume_stats_used_bytes", "Number of used bytes in the volume", MetricKind::kGauge},
    {"kubelet_volume_stats_inodes", "Maximum number of inodes in the volume", MetricKind::kGauge},
    {"kubelet_volume_stats_inodes_free", "Number of free inodes in the volume", MetricKind::kGauge},
    {"kubelet_volume_stats_inodes_used", "Number of used inodes in the volume", MetricKind::kGauge},
    {"nodepulse_pod_volume_used_bytes", "Bytes used by a pod's non-PVC volume (emptyDir, configMap, ...), from the kubelet.", MetricKind::kGauge},
    {"nodepulse_kubelet_up", "1 if the last poll of every kubelet endpoint succeeded; 0 with the failure's reason.", MetricKind::kGauge},
    {"nodepulse_kubelet_errors_total", "Failed kubelet requests by endpoint and reason.", MetricKind::kCounter},
    {"nodepulse_kubelet_last_success_timestamp_seconds", "When the endpoint last answered with a usable body.", MetricKind::kGauge},
    {"nodepulse_container_resource_requests", "Container requests (cores, bytes); state=desired (spec) or current (applied, status.containerStatuses[].resources).", MetricKind::kGauge},
    {"nodepulse_container_resource_limits", "Container limits (cores, bytes); state=desired (spec) or current (applied).", MetricKind::kGauge},
    {"nodepulse_pod_resource_requests", "Sum of the pod's regular containers' requests; absent when one has none. state=desired|current.", MetricKind::kGauge},
    {"nodepulse_pod_resource_limits", "Sum of the pod's regular containers' limits; absent when one is unlimited. state=desired|current.", MetricKind::kGauge},
    {"nodepulse_pod_resize_status", "1 while an in-place resize is not done: status=in_progress|deferred|infeasible|error.", MetricKind::kGauge},
};

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

double Present(const StatValue& v) { return v.present ? v.value : kNaN; }

class KubeletCollector : public Collector {
 public:
  KubeletCollector(std::shared_ptr<const KubeletClient> client, pipeline::Pipeline& pipeline,
                   KubeletCollectorOptions options)
      : client_(std::move(client)), pipeline_(pipeline), options_(std::move(options)) {}

  absl::Status Init(pipeline::Pipeline& p) {
    for (int i = 0; i < kMetricCount; ++i) {
      auto id = p.RegisterMetric(kSpecs[i]);
      if (!id.ok()) return id.status();
      metric_[i] = *id;
    }
    up_ = p.Intern(metric_[kUp], pipeline::kNodeEntity);
    for (int r = 0; r < kKubeletErrors; ++r) {
      down_[r] = p.Intern(metric_[kUp], pipeline::kNodeEntity,
                          {{"reason", std::string(KubeletErrorName(static_cast<KubeletError>(r)))}});
    }
    for (int e = 0; e < kKubeletEndpoints; ++e) {
      std::string endpoint(KubeletEndpointName(static_cast<KubeletEndpoint>(e)));
      last_success_[e] = p.Intern(metric_[kLastSuccess], pipeline::kNodeEntity, {{"endpoint", endpoint}});
      // All reasons up front: a counter that exists at 0 lets increase()
      // see its first error.
      for (int r = 0; r < kKubeletErrors; ++r) {
        errors_[e][r] = p.Intern(metric_[kErrors], pipeline::kNodeEntity,
                                 {{"endpoint", endpoint},
                                  {"reason", std::string(KubeletErrorName(static_cast<KubeletError>(r)))}});
      }
    }
    return absl::OkStatus();
  }

  std::string_view name() const override { return "kubelet"; }

  absl::Status Collect(CollectStats& stats) override {
    pipeline::Pipeline& p = pipeline_;
    std::shared_ptr<const KubeletState> state = client_->state();
    if (!bound_ || state->layout_version != bound_version_) {
      Rebind(p, *state);
      bound_ = true;
      bound_version_ = state->layout_version;
    }
    for (const Binding& b : bindings_) p.Set(b.id, Value(*state, b));

    SetUp(p, *state);
    for (int e = 0; e < kKubeletEndpoints; ++e) {
      for (int r = 0; r < kKubeletErrors; ++r) p.Set(errors_[e][r], static_cast<double>(state->errors[e][r]));
      absl::Time t = e == 0 ? state->pods_fetched : state->summary_fetched;
      if (t != absl::InfinitePast()) p.Set(last_success_[e], absl::ToDoubleSeconds(t - absl::UnixEpoch()));
    }
    stats.containers = state->container_by_id.size();
    return absl::OkStatus();
  }

 private:
  // nodepulse_kubelet_up 1 while up, nodepulse_kubelet_up{reason="tls"} 0
  // while down, so the cause shows next to the outage. The series of the
  // other reasons stay interned but hold NaN, which is not exported.
  void SetUp(pipeline::Pipeline& p, const KubeletState& state) {
    const bool down = state.polls > 0 && !state.up;
    p.Set(up_, state.polls > 0 && state.up ? 1.0 : kNaN);
    for (int r = 0; r < kKubeletErrors; ++r) {
      p.Set(down_[r], down && static_cast<int>(state.problem_reason) == r ? 0.0 : kNaN);
    }
  }

  static double Value(const KubeletState& s, const Binding& b) {
    switch (b.field) {
      case Field::kOne: return 1;
      case Field::kWorkloadOom:
        return b.a < s.workload_oom_kills.size() ? static_cast<double>(s.workload_oom_kills[b.a]) : kNaN;
      case Field::kContainerQty: case Field::kPodQty: case Field::kRestarts: case Field::kPodOom: {
        if (b.a >= s.pods.size()) return kNaN;
        const PodMeta& pod = s.pods[b.a];
        const bool current = (b.q & kCurrentBit) != 0;
        const double ResourceQuantities::*f = kQuantities[b.q & (kCurrentBit - 1)].field;
        if (b.field == Field::kPodOom) return static_cast<double>(pod.oom_kills);
        if (b.field == Field::kPodQty) return (current ? pod.pod_current : pod.pod_desired).*f;
        if (b.b >= pod.containers.size()) return kNaN;
        const ContainerMeta& c = pod.containers[b.b];
        if (b.field == Field::kContainerQty) return (current ? c.current : c.desired).*f;
        return static_cast<double>(c.restart_count);
      }
      default: break;
    }
    if (b.a >= s.usage.size()) return kNaN;
    const PodUsage& u = s.usage[b.a];
    switch (b.field) {
      case Field::kRxBytes: case Field::kRxErrors: case Field::kTxBytes: case Field::kTxErrors: {
        if (b.b >= u.interfaces.size()) return kNaN;
        const InterfaceUsage& i = u.interfaces[b.b];
        if (b.field == Field::kRxBytes) return Present(i.rx_bytes);
        if (b.field == Field::kRxErrors) return Present(i.rx_errors);
        if (b.field == Field::kTxBytes) return Present(i.tx_bytes);
        return Present(i.tx_errors);
      }
      case Field::kEphUsed: return Present(u.ephemeral_storage.used_bytes);
      case Field::kEphInodesUsed: return Present(u.ephemeral_storage.inodes_used);
      case Field::kRootfsUsed:
        return b.b < u.containers.size() ? Present(u.containers[b.b].rootfs.used_bytes) : kNaN;
      case Field::kLogsUsed:
        return b.b < u.containers.size() ? Present(u.containers[b.b].logs.used_bytes) : kNaN;
      default: break;
    }
    if (b.b >= u.volumes.size()) return kNaN;
    const FsUsage& f = u.volumes[b.b].fs;
    switch (b.field) {
      case Field::kVolCapacity: return Present(f.capacity_bytes);
      case Field::kVolAvailable: return Present(f.available_bytes);
      case Field::kVolUsed: return Present(f.used_bytes);
      case Field::kVolInodes: return Present(f.inodes);
      case Field::kVolInodesFree: return Present(f.inodes_free);
      case Field::kVolInodesUsed: return Present(f.inodes_used);
      default: return kNaN;
    }
  }

  // Entities live across rebinds by key, so a pod's series keep their ids
  // (and history) while unrelated pods come and go.
  EntityId Entity(pipeline::Pipeline& p, std::string key, Labels labels) {
    auto it = entities_.find(key);
    EntityId id;
    if (it == entities_.end()) {
      id = p.AddEntity(std::move(labels));
      entities_.emplace(key, id);
    } else {
      id = it->second;
    }
    live_entities_.insert(std::move(key));
    return id;
  }

  void Bind(pipeline::Pipeline& p, int metric, EntityId entity, Labels extra, Field field,
            uint32_t a, uint32_t b = 0, uint8_t q = 0) {
    SeriesId id = p.Intern(metric_[metric], entity, std::move(extra));
    if (id == pipeline::kNoSeries) return;  // over --max-series: counted by the pipeline
    // Already bound (a PVC mounted by two pods): the first binding serves.
    if (!live_series_.insert(id).second) return;
    bindings_.push_back({id, field, a, b, q});
  }

  // kube_pod_container_resource_* keep kube-state-metrics' meaning (the
  // spec, i.e. desired); the nodepulse_* pair adds state=desired|current,
  // OpenTelemetry's limit.desired / limit.current split.
  void BindQuantities(pipeline::Pipeline& p, EntityId entity, const ResourceQuantities& desired,
                      const ResourceQuantities& current, bool pod, uint32_t i, uint32_t j) {
    const std::string& node = client_->options().node_name;
    const Field field = pod ? Field::kPodQty : Field::kContainerQty;
    for (uint8_t k = 0; k < std::size(kQuantities); ++k) {
      const QuantitySpec& qs = kQuantities[k];
      const int m = pod ? (qs.limit ? kPodLimitsM : kPodRequestsM) : (qs.limit ? kCtrLimitsM : kCtrRequestsM);
      Labels base = {{"node", node}, {"resource", qs.resource}, {"unit", qs.unit}};
      if (!pod && !std::isnan(desired.*qs.field)) Bind(p, qs.limit ? kLimits : kRequests, entity, base, field, i, j, k);
      for (bool cur : {false, true}) {
        if (std::isnan((cur ? current : desired).*qs.field)) continue;
        Labels l = base;
        l.push_back({"state", cur ? "current" : "desired"});
        Bind(p, m, entity, std::move(l), field, i, j, static_cast<uint8_t>(k | (cur ? kCurrentBit : 0)));
      }
    }
  }

  void Rebind(pipeline::Pipeline& p, const KubeletState& s) {
    const absl::flat_hash_set<SeriesId> old_series = std::move(live_series_);
    live_series_.clear();
    live_entities_.clear();
    bindings_.clear();

    for (uint32_t i = 0; i < s.pods.size(); ++i) {
      const PodMeta& pod = s.pods[i];
      const std::string& ns = pod.namespace_name;
      EntityId pe = Entity(p, absl::StrCat("P\x1f", ns, "\x1f", pod.name),
                           {{"namespace", ns}, {"pod", pod.name}});
      bool owned = !pod.owner_kind.empty();
      Bind(p, kOwner, pe,
           {{"owner_is_controller", owned ? (pod.owner_is_controller ? "true" : "false") : "<none>"},
            {"owner_kind", owned ? pod.owner_kind : "<none>"},
            {"owner_name", owned ? pod.owner_name : "<none>"}},
           Field::kOne, i);
      if (options_.mixin_series) {
        Bind(p, kWorkloadPod, pe,
             {{"workload", pod.workload.name}, {"workload_type", Lower(pod.workload.kind)}},
             Field::kOne, i);
      }
      Bind(p, kPodOomTotal, pe,
           {{"workload", pod.workload.name}, {"workload_kind", pod.workload.kind}},
           Field::kPodOom, i);
      BindQuantities(p, pe, pod.pod_desired, pod.pod_current, true, i, 0);
      if (pod.resize != ResizeState::kNone) {
        Bind(p, kResizeM, pe, {{"status", std::string(ResizeStateName(pod.resize))}}, Field::kOne, i);
      }
      for (uint32_t j = 0; j < pod.containers.size(); ++j) {
        const ContainerMeta& c = pod.containers[j];
        EntityId ce = Entity(p, absl::StrCat("C\x1f", ns, "\x1f", pod.name, "\x1f", c.name),
                             {{"container", c.name}, {"namespace", ns}, {"pod", pod.name}});
        BindQuantities(p, ce, c.desired, c.current, false, i, j);
        Bind(p, kRestartsTotal, ce, {}, Field::kRestarts, i, j);
        if (!c.last_terminated_reason.empty()) {
          Bind(p, kLastTerminated, ce, {{"reason", c.last_terminated_reason}}, Field::kOne, i, j);
        }
      }
    }
    for (uint32_t w = 0; w < s.workload_keys.size(); ++w) {
      const auto& [workload, ns] = s.workload_keys[w];
      EntityId we = Entity(p, absl::StrCat("W\x1f", ns, "\x1f", workload.kind, "\x1f", workload.name),
                           {{"namespace", ns}, {"workload", workload.name}, {"workload_kind", workload.kind}});
      Bind(p, kWorkloadOomTotal, we, {}, Field::kWorkloadOom, w);
    }

    for (uint32_t i = 0; i < s.usage.size(); ++i) {
      const PodUsage& u = s.usage[i];
      const std::string& ns = u.namespace_name;
      if (!u.interfaces.empty()) {
        std::string id = options_.pod_cgroup_id ? options_.pod_cgroup_id(u.uid) : std::string();
        EntityId ne = Entity(p, absl::StrCat("N\x1f", ns, "\x1f", u.name, "\x1f", id),
                             {{"container", ""}, {"id", id}, {"image", ""}, {"name", ""},
                              {"namespace", ns}, {"pod", u.name}});
        for (uint32_t k = 0; k < u.interfaces.size(); ++k) {
          const InterfaceUsage& itf = u.interfaces[k];
          Labels extra = {{"interface", itf.name}};
          if (itf.rx_bytes.present) Bind(p, kNetRx, ne, extra, Field::kRxBytes, i, k);
          if (itf.rx_errors.present) Bind(p, kNetRxErr, ne, extra, Field::kRxErrors, i, k);
          if (itf.tx_bytes.present) Bind(p, kNetTx, ne, extra, Field::kTxBytes, i, k);
          if (itf.tx_errors.present) Bind(p, kNetTxErr, ne, extra, Field::kTxErrors, i, k);
        }
      }
      EntityId pe = Entity(p, absl::StrCat("P\x1f", ns, "\x1f", u.name), {{"namespace", ns}, {"pod", u.name}});
      if (u.ephemeral_storage.used_bytes.present) Bind(p, kEphUsedM, pe, {}, Field::kEphUsed, i);
      if (u.ephemeral_storage.inodes_used.present) Bind(p, kEphInodesM, pe, {}, Field::kEphInodesUsed, i);
      for (uint32_t k = 0; k < u.containers.size(); ++k) {
        const ContainerUsage& c = u.containers[k];
        if (!c.rootfs.used_bytes.present && !c.logs.used_bytes.present) continue;
        EntityId ce = Entity(p, absl::StrCat("C\x1f", ns, "\x1f", u.name, "\x1f", c.name),
                             {{"container", c.name}, {"namespace", ns}, {"pod", u.name}});
        if (c.rootfs.used_bytes.present) Bind(p, kRootfsM, ce, {}, Field::kRootfsUsed, i, k);
        if (c.logs.used_bytes.present) Bind(p, kLogsM, ce, {}, Field::kLogsUsed, i, k);
      }
      for (uint32_t k = 0; k < u.volumes.size(); ++k) {
        const VolumeUsage& v = u.volumes[k];
        if (v.pvc_name.empty()) {
          if (v.fs.used_bytes.present) Bind(p, kPodVolUsedM, pe, {{"volume", v.name}}, Field::kVolUsed, i, k);
          continue;
        }
        // kubelet_volume_stats_* are per claim: two pods mounting one PVC
        // write the same series with the same values.
        const std::string& pvc_ns = v.pvc_namespace.empty() ? ns : v.pvc_namespace;
        EntityId ve = Entity(p, absl::StrCat("V\x1f", pvc_ns, "\x1f", v.pvc_name),
                             {{"namespace", pvc_ns}, {"persistentvolumeclaim", v.pvc_name}});
        struct F { int metric; const StatValue* v; Field f; };
        for (const F& f : {F{kVolCapM, &v.fs.capacity_bytes, Field::kVolCapacity},
                           F{kVolAvailM, &v.fs.available_bytes, Field::kVolAvailable},
                           F{kVolUsedM, &v.fs.used_bytes, Field::kVolUsed},
                           F{kVolInodesM, &v.fs.inodes, Field::kVolInodes},
                           F{kVolInodesFreeM, &v.fs.inodes_free, Field::kVolInodesFree},
                           F{kVolInodesUsedM, &v.fs.inodes_used, Field::kVolInodesUsed}}) {
          if (f.v->present) Bind(p, f.metric, ve, {}, f.f, i, k);
        }
      }
    }

    // Drop what is gone: whole entities (their series go with them), then
    // single series of entities that stay (a changed reason label). Release
    // ignores ids RemoveEntity already freed, and nothing is interned in
    // between, so no freed id can have been reused yet.
    for (auto it = entities_.begin(); it != entities_.end();) {
      if (!live_entities_.contains(it->first)) {
        p.RemoveEntity(it->second);
        entities_.erase(it++);
      } else {
        ++it;
      }
    }
    for (SeriesId id : old_series) {
      if (!live_series_.contains(id)) p.Release(id);
    }
  }

  std::shared_ptr<const KubeletClient> client_;
  pipeline::Pipeline& pipeline_;
  KubeletCollectorOptions options_;
  MetricId metric_[kMetricCount] = {};
  SeriesId up_ = pipeline::kNoSeries;
  SeriesId down_[kKubeletErrors];  // by KubeletError: nodepulse_kubelet_up{reason} 0
  SeriesId errors_[kKubeletEndpoints][kKubeletErrors];
  SeriesId last_success_[kKubeletEndpoints];
  bool bound_ = false;
  uint64_t bound_version_ = 0;
  std::vector<Binding> bindings_;
  absl::flat_hash_map<std::string, EntityId> entities_;
  absl::flat_hash_set<std::string> live_entities_;
  absl::flat_hash_set<SeriesId> live_series_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Collector>> NewKubeletCollector(
    std::shared_ptr<const KubeletClient> client, pipeline::Pipeline& pipeline,
    KubeletCollectorOptions options) {
  auto c = std::make_unique<KubeletCollector>(std::move(client), pipeline, std::move(options));
  if (absl::Status s = c->Init(pipeline); !s.ok()) return s;
  return std::unique_ptr<Collector>(std::move(c));
}

}  // namespace nodepulse::collectors
