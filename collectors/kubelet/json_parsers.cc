#include "json_parsers.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "json_reader.h"

namespace nodepulse::collectors::kubelet {
namespace {

using Reader = JsonReader;

// Reads an optional uint64 JSON field into a proto3 `optional uint64`.
#define NP_READ_U64(reader, msg, setter)             \
  do {                                               \
    uint64_t v_ = 0;                                 \
    bool present_ = false;                           \
    if (!(reader).ReadUint64(&v_, &present_)) break; \
    if (present_) (msg)->setter(v_);                 \
  } while (0)

void ReadStringMap(Reader& r, google::protobuf::Map<std::string, std::string>* map) {
  std::string_view key;
  if (!r.BeginObject()) return;
  while (r.NextKey(&key)) {
    std::string value;
    bool present = false;
    std::string k(key);  // key view dies at the next reader call
    if (r.ReadString(&value, &present) && present) (*map)[k] = std::move(value);
  }
}

void ReadOwnerReference(Reader& r, api::OwnerReference* o) {
  std::string_view key;
  if (!r.BeginObject()) return;
  while (r.NextKey(&key)) {
    if (key == "kind") r.ReadString(o->mutable_kind());
    else if (key == "name") r.ReadString(o->mutable_name());
    else if (key == "uid") r.ReadString(o->mutable_uid());
    else if (key == "controller") {
      bool v = false, present = false;
      if (r.ReadBool(&v, &present) && present) o->set_controller(v);
    } else r.Skip();
  }
}

void ReadObjectMeta(Reader& r, api::ObjectMeta* m) {
  std::string_view key;
  if (!r.BeginObject()) return;
  while (r.NextKey(&key)) {
    if (key == "name") r.ReadString(m->mutable_name());
    else if (key == "namespace") r.ReadString(m->mutable_namespace_());
    else if (key == "uid") r.ReadString(m->mutable_uid());
    else if (key == "labels") ReadStringMap(r, m->mutable_labels());
    else if (key == "ownerReferences") {
      if (r.BeginArray()) {
        while (r.NextElement()) ReadOwnerReference(r, m->add_owner_references());
      }
    } else r.Skip();  // managedFields, annotations, ...: most of the bytes
  }
}

// Spec and status share ResourceRequirements; null leaves it unset (as
// protobuf's JSON parser does), {} sets it empty.
template <typename Msg>
void ReadResources(Reader& r, Msg* owner) {
  std::string_view key;
  if (!r.BeginObject()) return;
  auto* res = owner->mutable_resources();
  while (r.NextKey(&key)) {
    if (key == "requests") ReadStringMap(r, res->mutable_requests());
    else if (key == "limits") ReadStringMap(r, res->mutable_limits());
    else r.Skip();
  }
}

void ReadContainer(Reader& r, api::Container* c) {
  std::string_view key;
  if (!r.BeginObject()) return;
  while (r.NextKey(&key)) {
    if (key == "name") r.ReadString(c->mutable_name());
    else if (key == "image") r.ReadString(c->mutable_image());
    else if (key == "resources") ReadResources(r, c);
    else r.Skip();
  }
}

void ReadContainers(Reader& r, google::protobuf::RepeatedPtrField<api::Container>* out) {
  if (!r.BeginArray()) return;
  while (r.NextElement()) ReadContainer(r, out->Add());
}

void ReadPodSpec(Reader& r, api::PodSpec* s) {
  std::string_view key;
  if (!r.BeginObject()) return;
  while (r.NextKey(&key)) {
    if (key == "containers") ReadContainers(r, s->mutable_containers());
    else if (key == "initContainers") ReadContainers(r, s->mutable_init_containers());
    else if (key == "nodeName") r.ReadString(s->mutable_node_name());
    else r.Skip();
  }
}

void ReadReason(Reader& r, std::string* reason, int32_t* exit_code) {
  std::string_view key;
  while (r.NextKey(&key)) {
    if (key == "reason") r.ReadString(reason);
    else if (exit_code != nullptr && key == "exitCode") r.ReadInt32(exit_code);
    else r.Skip();
  }
}

void ReadContainerState(Reader& r, api::ContainerState* s) {
  std::string_view key;
  if (!r.BeginObject()) return;
  while (r.NextKey(&key)) {
    if (key == "terminated") {
      if (!r.BeginObject()) continue;
      auto* t = s->mutable_terminated();
      int32_t code = 0;
      ReadReason(r, t->mutable_reason(), &code);
      t->set_exit_code(code);
    } else if (key == "waiting") {
      if (!r.BeginObject()) continue;
      ReadReason(r, s->mutable_waiting()->mutable_reason(), nullptr);
    } else if (key == "running") {
      if (!r.BeginObject()) continue;
      auto* run = s->mutable_running();
      while (r.NextKey(&key)) {
        if (key == "startedAt") r.ReadString(run->mutable_started_at());
        else r.Skip();
      }
    } else r.Skip();
  }
}

void ReadContainerStatus(Reader& r, api::ContainerStatus* c) {
  std::string_view key;
  if (!r.BeginObject()) return;
  while (r.NextKey(&key)) {
    if (key == "name") r.ReadString(c->mutable_name());
    else if (key == "containerID") r.ReadString(c->mutable_container_id());
    else if (key == "image") r.ReadString(c->mutable_image());
    else if (key == "restartCount") {
      int32_t v = 0;
      r.ReadInt32(&v);
      c->set_restart_count(v);
    } else if (key == "state") ReadContainerState(r, c->mutable_state());
    else if (key == "lastState") ReadContainerState(r, c->mutable_last_state());
    else if (key == "resources") ReadResources(r, c);
    else if (key == "allocatedResources") ReadStringMap(r, c->mutable_allocated_resources());
    else r.Skip();
  }
}

void ReadStatuses(Reader& r, google::protobuf::RepeatedPtrField<api::ContainerStatus>* out) {
  if (!r.BeginArray()) return;
  while (r.NextElement()) ReadContainerStatus(r, out->Add());
}

void ReadPodCondition(Reader& r, api::PodCondition* c) {
  std::string_view key;
  if (!r.BeginObject()) return;
  while (r.NextKey(&key)) {
    if (key == "type") r.ReadString(c->mutable_type());
    else if (key == "status") r.ReadString(c->mutable_status());
    else if (key == "reason") r.ReadString(c->mutable_reason());
    else if (key == "message") r.ReadString(c->mutable_message());
    else r.Skip();
  }
}

void ReadPodStatus(Reader& r, api::PodStatus* s) {
  std::string_view key;
  if (!r.BeginObject()) return;
  while (r.NextKey(&key)) {
    if (key == "phase") r.ReadString(s->mutable_phase());
    else if (key == "qosClass") r.ReadString(s->mutable_qos_class());
    else if (key == "containerStatuses") ReadStatuses(r, s->mutable_container_statuses());
    else if (key == "initContainerStatuses") ReadStatuses(r, s->mutable_init_container_statuses());
    else if (key == "resize") r.ReadString(s->mutable_resize());
    else if (key == "conditions") {
      if (!r.BeginArray()) continue;
      while (r.NextElement()) ReadPodCondition(r, s->add_conditions());
    } else r.Skip();
  }
}

void ReadPod(Reader& r, api::Pod* pod) {
  std::string_view key;
  if (!r.BeginObject()) return;
  while (r.NextKey(&key)) {
    if (key == "metadata") ReadObjectMeta(r, pod->mutable_metadata());
    else if (key == "spec") ReadPodSpec(r, pod->mutable_spec());
    else if (key == "status") ReadPodStatus(r, pod->mutable_status());
    else r.Skip();
  }
}

// ---- summary ----

void ReadCpu(Reader& r, api::CpuStats* c) {
  std::string_view key;
  if (!r.BeginObject()) return;
  while (r.NextKey(&key)) {
    if (key == "usageNanoCores") NP_READ_U64(r, c, set_usage_nano_cores);
    else if (key == "usageCoreNanoSeconds") NP_READ_U64(r, c, set_usage_core_nano_seconds);
    else r.Skip();
  }
}

void ReadMemory(Reader& r, api::MemoryStats* m) {
  std::string_view key;
  if (!r.BeginObject()) return;
  while (r.NextKey(&key)) {
    if (key == "usageBytes") NP_READ_U64(r, m, set_usage_bytes);
    else if (key == "workingSetBytes") NP_READ_U64(r, m, set_working_set_bytes);
    else if (key == "rssBytes") NP_READ_U64(r, m, set_rss_bytes);
    else r.Skip();
  }
}

// FsStats and VolumeStats share these six keys (Go embedding).
template <typename Msg>
bool ReadFsField(Reader& r, std::string_view key, Msg* f) {
  if (key == "availableBytes") NP_READ_U64(r, f, set_available_bytes);
  else if (key == "capacityBytes") NP_READ_U64(r, f, set_capacity_bytes);
  else if (key == "usedBytes") NP_READ_U64(r, f, set_used_bytes);
  else if (key == "inodesFree") NP_READ_U64(r, f, set_inodes_free);
  else if (key == "inodes") NP_READ_U64(r, f, set_inodes);
  else if (key == "inodesUsed") NP_READ_U64(r, f, set_inodes_used);
  else return false;
  return true;
}

void ReadFs(Reader& r, api::FsStats* f) {
  std::string_view key;
  if (!r.BeginObject()) return;
  while (r.NextKey(&key)) {
    if (!ReadFsField(r, key, f)) r.Skip();
  }
}

// InterfaceStats and NetworkStats share these keys (Go embedding).
template <typename Msg>
bool ReadInterfaceField(Reader& r, std::string_view key, Msg* i) {
  if (key == "name") r.ReadString(i->mutable_name());
  else if (key == "rxBytes") NP_READ_U64(r, i, set_rx_bytes);
  else if (key == "rxErrors") NP_READ_U64(r, i, set_rx_errors);
  else if (key == "txBytes") NP_READ_U64(r, i, set_tx_bytes);
  else if (key == "txErrors") NP_READ_U64(r, i, set_tx_errors);
  else return false;
  return true;
}

void ReadNetwork(Reader& r, api::NetworkStats* n) {
  std::string_view key;
  if (!r.BeginObject()) return;
  while (r.NextKey(&key)) {
    if (ReadInterfaceField(r, key, n)) continue;
    if (key == "interfaces") {
      if (!r.BeginArray()) continue;
      while (r.NextElement()) {
        if (!r.BeginObject()) continue;
        auto* i = n->add_interfaces();
        while (r.NextKey(&key)) {
          if (!ReadInterfaceField(r, key, i)) r.Skip();
        }
      }
    } else r.Skip();
  }
}

void ReadVolume(Reader& r, api::VolumeStats* v) {
  std::string_view key;
  if (!r.BeginObject()) return;
  while (r.NextKey(&key)) {
    if (ReadFsField(r, key, v)) continue;
    if (key == "name") r.ReadString(v->mutable_name());
    else if (key == "pvcRef") {
      if (!r.BeginObject()) continue;
      auto* ref = v->mutable_pvc_ref();
      while (r.NextKey(&key)) {
        if (key == "name") r.ReadString(ref->mutable_name());
        else if (key == "namespace") r.ReadString(ref->mutable_namespace_());
        else r.Skip();
      }
    } else r.Skip();
  }
}

void ReadContainerStats(Reader& r, api::ContainerStats* c) {
  std::string_view key;
  if (!r.BeginObject()) return;
  while (r.NextKey(&key)) {
    if (key == "name") r.ReadString(c->mutable_name());
    else if (key == "cpu") ReadCpu(r, c->mutable_cpu());
    else if (key == "memory") ReadMemory(r, c->mutable_memory());
    else if (key == "rootfs") ReadFs(r, c->mutable_rootfs());
    else if (key == "logs") ReadFs(r, c->mutable_logs());
    else r.Skip();
  }
}

void ReadPodStats(Reader& r, api::PodStats* p) {
  std::string_view key;
  if (!r.BeginObject()) return;
  while (r.NextKey(&key)) {
    if (key == "podRef") {
      if (!r.BeginObject()) continue;
      auto* ref = p->mutable_pod_ref();
      while (r.NextKey(&key)) {
        if (key == "name") r.ReadString(ref->mutable_name());
        else if (key == "namespace") r.ReadString(ref->mutable_namespace_());
        else if (key == "uid") r.ReadString(ref->mutable_uid());
        else r.Skip();
      }
    } else if (key == "containers") {
      if (!r.BeginArray()) continue;
      while (r.NextElement()) ReadContainerStats(r, p->add_containers());
    } else if (key == "cpu") ReadCpu(r, p->mutable_cpu());
    else if (key == "memory") ReadMemory(r, p->mutable_memory());
    else if (key == "network") ReadNetwork(r, p->mutable_network());
    else if (key == "volume") {
      if (!r.BeginArray()) continue;
      while (r.NextElement()) ReadVolume(r, p->add_volume());
    } else if (key == "ephemeral-storage") ReadFs(r, p->mutable_ephemeral_storage());
    else r.Skip();
  }
}

absl::Status Done(Reader& r, std::string_view what) {
  if (r.ok()) r.Finish();
  if (r.ok()) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat("parsing ", absl::string_view(what.data(), what.size()), ": ", r.error()));
}

absl::Status NotObject(Reader& r, std::string_view what) {
  if (!r.ok()) return Done(r, what);
  return absl::InvalidArgumentError(absl::StrCat("parsing ", absl::string_view(what.data(), what.size()), ": null document"));
}

}  // namespace

absl::Status ParsePodList(std::string_view json, api::PodList* out) {
  out->Clear();
  Reader r(json);
  std::string_view key;
  if (!r.BeginObject()) return NotObject(r, "PodList");
  while (r.NextKey(&key)) {
    if (key == "items") {
      if (!r.BeginArray()) continue;
      while (r.NextElement()) ReadPod(r, out->add_items());
    } else {
      r.Skip();
    }
  }
  return Done(r, "PodList");
}

absl::Status ParseSummary(std::string_view json, api::Summary* out) {
  out->Clear();
  Reader r(json);
  std::string_view key;
  if (!r.BeginObject()) return NotObject(r, "Summary");
  while (r.NextKey(&key)) {
    if (key == "node") {
      if (!r.BeginObject()) continue;
      while (r.NextKey(&key)) {
        if (key == "nodeName") r.ReadString(out->mutable_node()->mutable_node_name());
        else if (key == "fs") ReadFs(r, out->mutable_node()->mutable_fs());
        else r.Skip();
      }
    } else if (key == "pods") {
      if (!r.BeginArray()) continue;
      while (r.NextElement()) ReadPodStats(r, out->add_pods());
    } else {
      r.Skip();
    }
  }
  return Done(r, "Summary");
}

}  // namespace nodepulse::collectors::kubelet
