#include "workload.h"

#include <gtest/gtest.h>

#include "json_parsers.h"
#include "kubelet_test_util.h"

namespace nodepulse::collectors::kubelet {
namespace {

api::ObjectMeta Meta(const std::string& name, const std::string& kind, const std::string& owner,
                     const std::string& hash = "") {
  api::ObjectMeta m;
  m.set_name(name);
  if (!kind.empty()) {
    auto* o = m.add_owner_references();
    o->set_kind(kind);
    o->set_name(owner);
    o->set_controller(true);
  }
  if (!hash.empty()) (*m.mutable_labels())["pod-template-hash"] = hash;
  return m;
}

TEST(WorkloadTest, Rules) {
  auto w = ResolveWorkload(Meta("web-7d9f8-abcde", "ReplicaSet", "web-7d9f8", "7d9f8"));
  EXPECT_EQ(w.kind, "Deployment");
  EXPECT_EQ(w.name, "web");
  // No hash label, or a name that does not end in it: the ReplicaSet itself.
  EXPECT_EQ(ResolveWorkload(Meta("p", "ReplicaSet", "web-7d9f8")).kind, "ReplicaSet");
  EXPECT_EQ(ResolveWorkload(Meta("p", "ReplicaSet", "web-abc", "7d9f8")).name, "web-abc");
  EXPECT_EQ(ResolveWorkload(Meta("p", "ReplicaSet", "7d9f8", "7d9f8")).kind, "ReplicaSet");
  w = ResolveWorkload(Meta("e2e-cronjob-29707813-dhlr2", "Job", "e2e-cronjob-29707813"));
  EXPECT_EQ(w.kind, "CronJob");
  EXPECT_EQ(w.name, "e2e-cronjob");
  EXPECT_EQ(ResolveWorkload(Meta("x", "Job", "e2e-failjob")).kind, "Job");
  EXPECT_EQ(ResolveWorkload(Meta("x", "Job", "migrate-1234567")).kind, "Job");  // 7 digits
  EXPECT_EQ(ResolveWorkload(Meta("x", "Job", "12345678")).kind, "Job");         // no prefix
  EXPECT_EQ(ResolveWorkload(Meta("x", "StatefulSet", "db")).kind, "StatefulSet");
  EXPECT_EQ(ResolveWorkload(Meta("x", "DaemonSet", "agent")).name, "agent");
  EXPECT_EQ(ResolveWorkload(Meta("x", "Node", "node-1")).kind, "Node");
  w = ResolveWorkload(Meta("etcd-node-1", "", ""));
  EXPECT_EQ(w.kind, "Pod");
  EXPECT_EQ(w.name, "etcd-node-1");
}

TEST(WorkloadTest, ControllerOwnerWinsOverFirst) {
  api::ObjectMeta m;
  m.set_name("p");
  auto* a = m.add_owner_references();
  a->set_kind("ConfigMap");
  a->set_name("cm");
  auto* b = m.add_owner_references();
  b->set_kind("StatefulSet");
  b->set_name("db");
  b->set_controller(true);
  EXPECT_EQ(ResolveWorkload(m).kind, "StatefulSet");
}

TEST(WorkloadTest, EveryFixturePod) {
  api::PodList l;
  ASSERT_TRUE(ParsePodList(testing::ReadFile(testing::KubeletFixture("pods.nri-k8s-1.35.json")), &l).ok());
  std::map<std::string, std::pair<std::string, std::string>> want = {
      {"e2e-hpa-6cd8d99884-tggnr", {"Deployment", "e2e-hpa"}},
      {"e2e-failjob-64h4g", {"Job", "e2e-failjob"}},
      {"e2e-statefulset-0", {"StatefulSet", "e2e-statefulset"}},
      {"kindnet-zkpn8", {"DaemonSet", "kindnet"}},
      {"e2e-cronjob-29707814-h2f28", {"CronJob", "e2e-cronjob"}},
      {"etcd-datagen-1-35", {"Pod", "etcd-datagen-1-35"}},
      {"coredns-7d764666f9-qdcxt", {"Deployment", "coredns"}},
      {"storage-provisioner", {"Pod", "storage-provisioner"}},
  };
  int seen = 0;
  for (const auto& pod : l.items()) {
    auto it = want.find(pod.metadata().name());
    if (it == want.end()) continue;
    Workload w = ResolveWorkload(pod.metadata());
    EXPECT_EQ(w.kind, it->second.first) << pod.metadata().name();
    EXPECT_EQ(w.name, it->second.second) << pod.metadata().name();
    ++seen;
  }
  EXPECT_EQ(seen, static_cast<int>(want.size()));
}

}  // namespace
}  // namespace nodepulse::collectors::kubelet
