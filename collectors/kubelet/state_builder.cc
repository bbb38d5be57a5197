#include "state_builder.h"

#include <cmath>
#include <cstdint>
#include <limits>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "quantity.h"
#include "workload.h"

namespace nodepulse::collectors::kubelet {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double Quantity(const google::protobuf::Map<std::string, std::string>& map, const char* key) {
  auto it = map.find(key);
  if (it == map.end()) return kNaN;
  auto value = ParseQuantity(it->second);
  // A malformed quantity cannot come from a real API server (it validates
  // them); treat it as unset rather than failing the whole pod list.
  return value.ok() ? *value : kNaN;
}

ResourceQuantities Quantities(const api::ResourceRequirements& res) {
  ResourceQuantities q;
  q.cpu_request_cores = Quantity(res.requests(), "cpu");
  q.cpu_limit_cores = Quantity(res.limits(), "cpu");
  q.memory_request_bytes = Quantity(res.requests(), "memory");
  q.memory_limit_bytes = Quantity(res.limits(), "memory");
  return q;
}

// The size in force (see ContainerMeta::current for the order of sources).
ResourceQuantities Current(const ResourceQuantities& desired, const api::ContainerStatus* status) {
  if (status == nullptr) return desired;
  if (status->has_resources()) return Quantities(status->resources());
  ResourceQuantities q = desired;
  if (!status->allocated_resources().empty()) {
    // allocatedResources holds requests only; limits stay the spec's.
    q.cpu_request_cores = Quantity(status->allocated_resources(), "cpu");
    q.memory_request_bytes = Quantity(status->allocated_resources(), "memory");
  }
  return q;
}

ContainerMeta MakeContainer(const api::Container& spec, const api::ContainerStatus* status,
                            bool init) {
  ContainerMeta c;
  c.name = spec.name();
  c.init = init;
  c.image = spec.image();
  c.desired = Quantities(spec.resources());
  c.current = Current(c.desired, status);
  if (status != nullptr) {
    c.id = std::string(StripRuntimePrefix(status->container_id()));
    // cAdvisor labels with the image the runtime reports (containerd
    // normalizes "alpine" to "docker.io/library/alpine:latest"), so prefer
    // the status image, unless it is a bare image ID ("sha256:...", seen for
    // images pulled by digest), which says less than the spec's reference.
    const std::string& img = status->image();
    if (!img.empty() && img.rfind("sha256:", 0) != 0) c.image = img;
    c.restart_count = static_cast<uint32_t>(std::max(0, status->restart_count()));
    c.last_terminated_reason = status->last_state().terminated().reason();
  }
  return c;
}

const api::ContainerStatus* FindStatus(
    const google::protobuf::RepeatedPtrField<api::ContainerStatus>& statuses,
    const std::string& name) {
  for (const auto& s : statuses) {
    if (s.name() == name) return &s;
  }
  return nullptr;
}

StatValue Stat(bool has, uint64_t v) {
  // UINT64_MAX is "unknown", not a count: see state_builder.h.
  if (!has || v == std::numeric_limits<uint64_t>::max()) return {};
  return {true, static_cast<double>(v)};
}

template <typename Msg>
FsUsage MakeFs(const Msg& f) {
  FsUsage u;
  u.capacity_bytes = Stat(f.has_capacity_bytes(), f.capacity_bytes());
  u.available_bytes = Stat(f.has_available_bytes(), f.available_bytes());
  u.used_bytes = Stat(f.has_used_bytes(), f.used_bytes());
  u.inodes = Stat(f.has_inodes(), f.inodes());
  u.inodes_free = Stat(f.has_inodes_free(), f.inodes_free());
  u.inodes_used = Stat(f.has_inodes_used(), f.inodes_used());
  return u;
}

template <typename Msg>
InterfaceUsage MakeInterface(const Msg& i, std::string name) {
  InterfaceUsage u;
  u.name = std::move(name);
  u.rx_bytes = Stat(i.has_rx_bytes(), i.rx_bytes());
  u.rx_errors = Stat(i.has_rx_errors(), i.rx_errors());
  u.tx_bytes = Stat(i.has_tx_bytes(), i.tx_bytes());
  u.tx_errors = Stat(i.has_tx_errors(), i.tx_errors());
  return u;
}

void AppendResourceBits(const ResourceQuantities& q, std::string* sig) {
  for (double v : {q.cpu_request_cores, q.cpu_limit_cores, q.memory_request_bytes, q.memory_limit_bytes}) {
    sig->push_back(std::isnan(v) ? '0' : '1');
  }
}

void AppendFsBits(const FsUsage& f, std::string* sig) {
  for (const StatValue* v : {&f.capacity_bytes, &f.available_bytes, &f.used_bytes, &f.inodes,
                             &f.inodes_free, &f.inodes_used}) {
    sig->push_back(v->present ? '1' : '0');
  }
}

// Pod totals over the regular containers. NaN poisons a sum on purpose: a
// container without a request (limit) leaves the pod's undefined.
ResourceQuantities PodSum(const std::vector<ContainerMeta>& containers,
                          ResourceQuantities ContainerMeta::*which) {
  ResourceQuantities sum{0, 0, 0, 0};
  bool any = false;
  for (const ContainerMeta& c : containers) {
    if (c.init) continue;
    const ResourceQuantities& q = c.*which;
    sum.cpu_request_cores += q.cpu_request_cores;
    sum.cpu_limit_cores += q.cpu_limit_cores;
    sum.memory_request_bytes += q.memory_request_bytes;
    sum.memory_limit_bytes += q.memory_limit_bytes;
    any = true;
  }
  return any ? sum : ResourceQuantities{};
}

// Conditions (1.33+) win over the deprecated status.resize string; of the
// conditions, Pending wins over InProgress (a newer resize waits behind one
// being actuated, and it is the one an operator must act on).
void ReadResize(const api::PodStatus& status, PodMeta* p) {
  p->resize = ResizeState::kNone;
  p->resize_message.clear();
  const api::PodCondition* pending = nullptr;
  const api::PodCondition* in_progress = nullptr;
  for (const api::PodCondition& c : status.conditions()) {
    if (c.status() != "True") continue;
    if (c.type() == "PodResizePending") pending = &c;
    if (c.type() == "PodResizeInProgress") in_progress = &c;
  }
  if (pending != nullptr) {
    p->resize = pending->reason() == "Infeasible" ? ResizeState::kInfeasible : ResizeState::kDeferred;
    p->resize_message = pending->message();
  } else if (in_progress != nullptr) {
    p->resize = in_progress->reason() == "Error" ? ResizeState::kError : ResizeState::kInProgress;
    p->resize_message = in_progress->message();
  } else if (status.resize() == "Infeasible") {
    p->resize = ResizeState::kInfeasible;
  } else if (status.resize() == "Deferred") {
    p->resize = ResizeState::kDeferred;
  } else if (status.resize() == "InProgress" || status.resize() == "Proposed") {
    p->resize = ResizeState::kInProgress;
  }
}

std::string WorkloadKey(const std::string& ns, const Workload& w) {
  return absl::StrCat(ns, "/", w.kind, "/", w.name);
}

}  // namespace

std::string_view StripRuntimePrefix(std::string_view id) {
  size_t pos = id.find("://");
  return pos == std::string_view::npos ? id : id.substr(pos + 3);
}

std::vector<PodMeta> BuildPods(const api::PodList& list, const KubeletState& previous) {
  std::vector<PodMeta> pods;
  pods.reserve(list.items_size());
  for (const api::Pod& pod : list.items()) {
    const auto& meta = pod.metadata();
    if (meta.uid().empty()) continue;  // cannot be joined to anything
    PodMeta p;
    p.uid = meta.uid();
    p.namespace_name = meta.namespace_();
    p.name = meta.name();
    p.phase = pod.status().phase();
    if (const api::OwnerReference* owner = ControllerOf(meta)) {
      p.owner_kind = owner->kind();
      p.owner_name = owner->name();
      p.owner_is_controller = owner->has_controller() && owner->controller();
    }
    p.workload = ResolveWorkload(meta);
    p.labels.reserve(meta.labels_size());
    for (const auto& [k, v] : meta.labels()) p.labels.emplace(k, v);
    for (const auto& c : pod.spec().init_containers()) {
      p.containers.push_back(MakeContainer(c, FindStatus(pod.status().init_container_statuses(), c.name()), true));
    }
    for (const auto& c : pod.spec().containers()) {
      p.containers.push_back(MakeContainer(c, FindStatus(pod.status().container_statuses(), c.name()), false));
    }
    p.pod_desired = PodSum(p.containers, &ContainerMeta::desired);
    p.pod_current = PodSum(p.containers, &ContainerMeta::current);
    ReadResize(pod.status(), &p);

    // OOM kills: each restart whose last termination was OOMKilled is one
    // kill. Between two polls several restarts may have happened and only
    // the last reason is visible, so this counts at least one, not all.
    const PodMeta* before = previous.FindPod(p.uid);
    p.oom_kills = before ? before->oom_kills : 0;
    for (const ContainerMeta& c : p.containers) {
      if (c.last_terminated_reason != "OOMKilled") continue;
      const ContainerMeta* prev = nullptr;
      if (before) {
        for (const ContainerMeta& b : before->containers) {
          if (b.name == c.name && b.init == c.init) prev = &b;
        }
      }
      if (prev == nullptr || c.restart_count > prev->restart_count ||
          prev->last_terminated_reason != "OOMKilled") {
        ++p.oom_kills;
      }
    }
    pods.push_back(std::move(p));
  }
  return pods;
}

std::vector<PodUsage> BuildUsage(const api::Summary& summary) {
  std::vector<PodUsage> usage;
  usage.reserve(summary.pods_size());
  for (const api::PodStats& s : summary.pods()) {
    PodUsage u;
    u.uid = s.pod_ref().uid();
    u.namespace_name = s.pod_ref().namespace_();
    u.name = s.pod_ref().name();
    if (s.has_network()) {
      const auto& n = s.network();
      for (const auto& i : n.interfaces()) u.interfaces.push_back(MakeInterface(i, i.name()));
      if (u.interfaces.empty() && (n.has_rx_bytes() || n.has_tx_bytes())) {
        // Old kubelets (the 2017 GKE fixture) report only the default
        // interface, without a name; the kubelet's default is "eth0".
        u.interfaces.push_back(MakeInterface(n, n.name().empty() ? "eth0" : n.name()));
      }
    }
    if (s.has_ephemeral_storage()) u.ephemeral_storage = MakeFs(s.ephemeral_storage());
    for (const auto& v : s.volume()) {
      VolumeUsage vu;
      vu.name = v.name();
      vu.pvc_name = v.pvc_ref().name();
      vu.pvc_namespace = v.pvc_ref().namespace_();
      vu.fs = MakeFs(v);
      u.volumes.push_back(std::move(vu));
    }
    for (const auto& c : s.containers()) {
      ContainerUsage cu;
      cu.name = c.name();
      cu.rootfs = MakeFs(c.rootfs());
      cu.logs = MakeFs(c.logs());
      u.containers.push_back(std::move(cu));
    }
    usage.push_back(std::move(u));
  }
  return usage;
}

void IndexState(const KubeletState& previous, KubeletState* state) {
  state->pod_by_uid.clear();
  state->container_by_id.clear();
  state->pod_by_uid.reserve(state->pods.size());
  for (uint32_t i = 0; i < state->pods.size(); ++i) {
    const PodMeta& p = state->pods[i];
    state->pod_by_uid.emplace(p.uid, i);
    for (uint32_t j = 0; j < p.containers.size(); ++j) {
      if (!p.containers[j].id.empty()) state->container_by_id.emplace(p.containers[j].id, std::make_pair(i, j));
    }
  }

  // Workload OOM totals: previous total + this round's per-pod increments.
  // A workload is listed while it has pods; its count restarts (a counter
  // reset, which rate() handles) if it comes back after having none.
  absl::flat_hash_map<std::string, uint64_t> before;
  for (size_t i = 0; i < previous.workload_keys.size(); ++i) {
    before[WorkloadKey(previous.workload_keys[i].second, previous.workload_keys[i].first)] =
        previous.workload_oom_kills[i];
  }
  absl::flat_hash_map<std::string, size_t> index;
  state->workload_keys.clear();
  state->workload_oom_kills.clear();
  for (const PodMeta& p : state->pods) {
    std::string key = WorkloadKey(p.namespace_name, p.workload);
    auto [it, inserted] = index.emplace(key, state->workload_keys.size());
    if (inserted) {
      state->workload_keys.emplace_back(p.workload, p.namespace_name);
      auto b = before.find(key);
      state->workload_oom_kills.push_back(b == before.end() ? 0 : b->second);
    }
    const PodMeta* prev = previous.FindPod(p.uid);
    state->workload_oom_kills[it->second] += p.oom_kills - (prev ? prev->oom_kills : 0);
  }
}

std::string LayoutSignature(const KubeletState& s) {
  std::string sig;
  sig.reserve(256 * (s.pods.size() + s.usage.size()));
  for (const PodMeta& p : s.pods) {
    absl::StrAppend(&sig, "P", p.uid, "|", p.namespace_name, "|", p.name, "|", p.owner_kind, "|",
                    p.owner_name, p.owner_is_controller ? "|c|" : "|-|", p.workload.kind, "|",
                    p.workload.name, "\n");
    for (const ContainerMeta& c : p.containers) {
      absl::StrAppend(&sig, " C", c.name, "|", c.id, "|", c.image, "|", c.init ? "i" : "-", "|",
                      c.last_terminated_reason, "|");
      AppendResourceBits(c.desired, &sig);
      AppendResourceBits(c.current, &sig);
      sig.push_back('\n');
    }
    AppendResourceBits(p.pod_desired, &sig);
    AppendResourceBits(p.pod_current, &sig);
    absl::StrAppend(&sig, "R", static_cast<int>(p.resize), "\n");
  }
  for (const PodUsage& u : s.usage) {
    absl::StrAppend(&sig, "U", u.uid, "|", u.namespace_name, "|", u.name, "|");
    AppendFsBits(u.ephemeral_storage, &sig);
    sig.push_back('\n');
    for (const InterfaceUsage& i : u.interfaces) {
      absl::StrAppend(&sig, " I", i.name, "|", i.rx_bytes.present ? "1" : "0",
                      i.rx_errors.present ? "1" : "0", i.tx_bytes.present ? "1" : "0",
                      i.tx_errors.present ? "1" : "0", "\n");
    }
    for (const VolumeUsage& v : u.volumes) {
      absl::StrAppend(&sig, " V", v.name, "|", v.pvc_namespace, "|", v.pvc_name, "|");
      AppendFsBits(v.fs, &sig);
      sig.push_back('\n');
    }
    for (const ContainerUsage& c : u.containers) {
      absl::StrAppend(&sig, " F", c.name, "|");
      AppendFsBits(c.rootfs, &sig);
      AppendFsBits(c.logs, &sig);
      sig.push_back('\n');
    }
  }
  for (const auto& [w, ns] : s.workload_keys) absl::StrAppend(&sig, "W", ns, "|", w.kind, "|", w.name, "\n");
  return sig;
}

}  // namespace nodepulse::collectors::kubelet
