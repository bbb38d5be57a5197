// The aggregates API as an autoscaler sees it, through a client that does
// what KEDA's metrics-api scaler does (kedacore/keda
// pkg/scalers/metrics_api_scaler.go: GET the URL; any status but 200 is an
// error; the value is the number at the GJSON path valueLocation, anything
// else there is an error) with a ScaledObject's fallback (after
// failureThreshold consecutive errors, the fallback replica count).
//
// One agent on real cgroups (busy processes under a CFS quota, laid out as
// the kubelet's cgroupfs driver does) joined to an HTTPS fake kubelet,
// through four scenarios: a pod just started (coverage too low: errors,
// fallback), steady load (utilization == cpu / current request, exactly),
// an in-place resize (in progress: still the applied request; applied, with
// the real quota changed: the new one, within one cycle), and a collection
// stall (the collection thread frozen by the v1 freezer: stale, errors).
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include <cmath>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "agent_harness.h"
#include "fake_kubelet.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "process.h"
#include "test_cgroup.h"

namespace nodepulse::testing {
namespace {

namespace fs = std::filesystem;

constexpr char kToken[] = "autoscaler-token";

// ---- a KEDA metrics-api scaler, as far as the answer is concerned ----

struct ScalerReading {
  bool error = false;
  double value = 0;
  std::string why;  // the error
};

class KedaMetricsApiScaler {
 public:
  KedaMetricsApiScaler(int port, std::string path_and_query, std::string value_location,
                       double target_average_value, int failure_threshold, int fallback_replicas)
      : port_(port),
        path_(std::move(path_and_query)),
        location_(std::move(value_location)),
        target_(target_average_value),
        failure_threshold_(failure_threshold),
        fallback_replicas_(fallback_replicas) {}

  // One GetMetrics() call.
  ScalerReading Read() const {
    HttpResult r = HttpGet(port_, path_);
    if (r.status != 200) return {true, 0, absl::StrCat("api returned ", r.status)};
    google::protobuf::Value doc;
    if (!google::protobuf::util::JsonStringToMessage(r.body, &doc).ok()) return {true, 0, "not JSON"};
    const google::protobuf::Value* v = &doc;
    for (absl::string_view key : absl::StrSplit(location_, '.')) {  // GJSON's plain dotted path
      if (v->kind_case() != google::protobuf::Value::kStructValue) return {true, 0, "no such path"};
      auto it = v->struct_value().fields().find(std::string(key));
      if (it == v->struct_value().fields().end()) return {true, 0, "no such path"};
      v = &it->second;
    }
    if (v->kind_case() != google::protobuf::Value::kNumberValue) {
      return {true, 0, "valueLocation must point to value of type number"};
    }
    return {false, v->number_value(), ""};
  }

  // What the HPA KEDA manages is told: ceil(value / averageValue) replicas
  // (External metric, AverageValue target), or the fallback once
  // failureThreshold reads in a row have failed.
  int DesiredReplicas(const ScalerReading& r) {
    if (r.error) {
      ++failures_;
      return failures_ >= failure_threshold_ ? fallback_replicas_ : -1;  // -1: keeps the last
    }
    failures_ = 0;
    return static_cast<int>(std::ceil(r.value / target_));
  }

 private:
  int port_;
  std::string path_, location_;
  double target_;
  int failure_threshold_, fallback_replicas_;
  int failures_ = 0;
};

// ---- a pod on real cgroups, where the kubelet's cgroupfs driver puts it ----

struct TestPod {
  std::string name, uid, container_id;
  bool started = false;  // its cgroup and process exist
  double spec_cpu = 0.2, applied_cpu = 0.2;  // requests; limits are twice
  bool resize_in_progress = false;
  std::string resize_pending = "";  // PodResizePending's reason: Deferred, Infeasible
  std::string CgroupPath() const { return absl::StrCat("kubepods/burstable/pod", uid, "/", container_id); }
};

std::string Cpu(double cores) { return absl::StrCat(static_cast<int>(std::lround(cores * 1000)), "m"); }

std::string Resources(double cpu) {
  return absl::StrCat(R"({"requests":{"cpu":")", Cpu(cpu), R"("},"limits":{"cpu":")", Cpu(2 * cpu), R"("}})");
}

// A 1.35 kubelet's /pods for the pods (shapes as in pods.resize-1.35.json).
std::string PodsJson(const std::vector<TestPod>& pods) {
  std::string items;
  for (const TestPod& p : pods) {
    if (!items.empty()) items += ",";
    absl::StrAppend(
        &items, R"({"metadata":{"name":")", p.name, R"(","namespace":"shop","uid":")", p.uid,
        R"(","labels":{"app":"web","pod-template-hash":"7d4b9c5f8"},)",
        R"("ownerReferences":[{"apiVersion":"apps/v1","kind":"ReplicaSet","name":"web-7d4b9c5f8",)",
        R"("uid":"0b1c2d3e","controller":true}]},)",
        R"("spec":{"containers":[{"name":"app","image":"busybox:1.36","resources":)", Resources(p.spec_cpu),
        R"(}]},"status":{"phase":"Running","conditions":[{"type":"Ready","status":"True"})",
        p.resize_in_progress ? R"(,{"type":"PodResizeInProgress","status":"True"})" : "",
        p.resize_pending.empty() ? ""
                                 : absl::StrCat(R"(,{"type":"PodResizePending","status":"True","reason":")",
                                                p.resize_pending, R"(","message":"Node didn't have enough capacity"})"),
        R"(],"containerStatuses":[{"name":"app","containerID":"containerd://)", p.container_id,
        R"(","image":"docker.io/library/busybox:1.36","restartCount":0,"state":{"running":{}},)",
        R"("allocatedResources":{"cpu":")", Cpu(p.spec_cpu), R"("},"resources":)", Resources(p.applied_cpu),
        "}]}}");
  }
  return absl::StrCat(R"({"kind":"PodList","apiVersion":"v1","items":[)", items, "]}");
}

// The named top-level number of a JSON answer.
std::optional<double> JsonNumber(const std::string& body, const std::string& key) {
  google::protobuf::Value doc;
  if (!google::protobuf::util::JsonStringToMessage(body, &doc).ok()) return std::nullopt;
  auto it = doc.struct_value().fields().find(key);
  if (it == doc.struct_value().fields().end() || !it->second.has_number_value()) return std::nullopt;
  return it->second.number_value();
}

// Freezes one thread with the v1 freezer (a thread can sit in its own
// freezer cgroup); thaws it and removes the cgroup when destroyed, also
// when an assertion ends the test early.
class FrozenThread {
 public:
  FrozenThread(const std::string& name, pid_t tid) : dir_("/sys/fs/cgroup/freezer/" + name), tid_(tid) {
    ok_ = tid > 0 && ::mkdir(dir_.c_str(), 0755) == 0 && WriteFile(dir_ + "/tasks", std::to_string(tid)) &&
          WriteFile(dir_ + "/freezer.state", "FROZEN");
  }
  ~FrozenThread() {
    WriteFile(dir_ + "/freezer.state", "THAWED");
    WriteFile("/sys/fs/cgroup/freezer/tasks", std::to_string(tid_));
    WaitFor([&] { return ::rmdir(dir_.c_str()) == 0 || errno == ENOENT; }, 5000, 50);
  }
  bool ok() const { return ok_; }

 private:
  std::string dir_;
  pid_t tid_;
  bool ok_ = false;
};

// The thread named `comm` of process `pid`; -1 when none.
pid_t ThreadNamed(pid_t pid, const std::string& comm) {
  const std::string dir = absl::StrCat("/proc/", pid, "/task");
  for (const auto& e : fs::directory_iterator(dir)) {
    std::string name = ReadFile(e.path().string() + "/comm");
    if (absl::StripTrailingAsciiWhitespace(name) == comm) return std::stoi(e.path().filename().string());
  }
  return -1;
}

class AutoscalerSignalsE2E : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::string why = TestCgroupTree::Unavailable(); !why.empty()) GTEST_SKIP() << why;
    dir_ = MakeTempDir("nodepulse-test-autoscaler");
    certs_ = MakeTestCerts(dir_);
    ASSERT_TRUE(certs_.error.empty()) << certs_.error;
    WriteFile(dir_ + "/token", std::string(kToken) + "\n");
    tree_ = std::make_unique<TestCgroupTree>("autoscaler");
    // The agent's cgroup root: one entry per hierarchy, leading into the
    // test's parent, so "/kubepods/..." below it is a real cgroup that no
    // kubelet on this machine owns.
    fs::create_directory(dir_ + "/cgroup");
    for (const std::string& h : tree_->hierarchies()) {
      fs::create_directory_symlink(h + "/" + tree_->parent(),
                                   dir_ + "/cgroup/" + fs::path(h).filename().string());
    }
    for (const char* level : {"kubepods", "kubepods/burstable"}) Add(level);
    kubelet_ = std::make_unique<FakeKubelet>(certs_.server_cert, certs_.server_key, kToken);
    ASSERT_TRUE(kubelet_->ok());
    kubelet_->Serve("/stats/summary", R"({"node":{"nodeName":"autoscaler"},"pods":[]})");
  }
  void TearDown() override {
    // Deepest first: a cgroup with children cannot go.
    if (tree_) {
      for (auto it = added_.rbegin(); it != added_.rend(); ++it) tree_->RemoveChild(*it);
    }
    tree_.reset();
    kubelet_.reset();
    if (!dir_.empty()) RemoveTree(dir_);
  }
  void Add(const std::string& child) {
    tree_->AddChild(child);
    added_.push_back(child);
  }
  // The pod's cgroups with a busy process held to twice its request by
  // the CFS quota, as the kubelet sets a limit.
  void Start(TestPod& p) {
    Add(absl::StrCat("kubepods/burstable/pod", p.uid));
    Add(p.CgroupPath());
    ASSERT_TRUE(tree_->SetCpuLimit(p.CgroupPath(), std::lround(2 * p.applied_cpu * 100000), 100000));
    ASSERT_GT(tree_->StartProcess(p.CgroupPath(), "busy", 60), 0);
    p.started = true;
  }
  std::vector<std::string> AgentFlags() const {
    return {"--interval=500ms",
            "--cgroup-root=" + dir_ + "/cgroup",
            "--kubelet-url=" + kubelet_->url(),
            "--kubelet-ca-file=" + certs_.ca,
            "--kubelet-token-file=" + dir_ + "/token",
            "--kubelet-node-name=autoscaler",
            "--kubelet-interval=1s",
            "--kubelet-timeout=1s",
            "--rescan-interval=300ms"};
  }

  std::string dir_;
  TestCerts certs_;
  std::unique_ptr<TestCgroupTree> tree_;
  std::vector<std::string> added_;
  std::unique_ptr<FakeKubelet> kubelet_;
};

TEST_F(AutoscalerSignalsE2E, KedaSeesErrorsNotNumbersUntilCoveredFreshAndResizeAware) {
  std::vector<TestPod> pods = {
      {"web-7d4b9c5f8-a1b2c", "5d7e9f01-2a3b-4c5d-8e9f-0a1b2c3d4e5f",
       "a1c3e5a7c9e1b3d5f7a9c1e3b5d7f9a1c3e5b7d9f1a3c5e7b9d1f3a5c7e9b0a1"},
      {"web-7d4b9c5f8-d3e4f", "6e8f0a12-3b4c-4d5e-9f0a-1b2c3d4e5f60",
       "b2d4f6b8d0f2c4e6a8c0e2a4c6e8f0a2b4c6d8e0a2c4e6b8d0f2a4c6e8f0b2c3"}};
  Start(pods[0]);
  // Pod 2 is Running per the kubelet but its container is not there yet.
  kubelet_->Serve("/pods", PodsJson(pods));
  AgentHarness agent(AgentFlags());
  ASSERT_TRUE(agent.ok()) << agent.child().Output();

  // A ScaledObject's trigger: averageValue 0.7 of cpu_utilization (70% of
  // requests per replica), fallback 6 replicas after 3 failures. 5% of a
  // minute is 3 s of samples: the test need not wait for a real 80%.
  const std::string query =
      "/api/v1/aggregates?namespace=shop&workload=web&metric=cpu_utilization&window=1m&stat=avg"
      "&min_coverage=0.05&max_age=2s";
  KedaMetricsApiScaler keda(agent.port(), query, "value", 0.7, 3, 6);

  // 1. Just started: one of two pods has samples, and little of the window
  // (until the kubelet join, no workload at all: 404, also an error).
  HttpResult low;
  ASSERT_TRUE(WaitFor([&] {
    low = HttpGet(agent.port(), query);
    return absl::StrContains(low.body, "\"reason\":\"low_coverage\"");
  }, 10000, 100)) << low.status << " " << low.body;
  EXPECT_EQ(low.status, 503);
  EXPECT_TRUE(absl::StrContains(low.body, "\"pods\":1,\"pods_expected\":2")) << low.body;
  for (int i = 0; i < 2; ++i) {
    ScalerReading early = keda.Read();
    EXPECT_TRUE(early.error) << "a number before the window is covered: " << early.value;
    EXPECT_EQ(keda.DesiredReplicas(early), -1);
  }
  EXPECT_EQ(keda.DesiredReplicas(keda.Read()), 6) << "the fallback, not a scale-down to 0";

  // The second pod's container starts; both gather samples.
  Start(pods[1]);
  ASSERT_TRUE(WaitFor([&] { return !keda.Read().error; }, 20000, 250)) << HttpGet(agent.port(), query).body;

  // 2. Steady load: utilization is the cpu aggregate over the applied
  // request, in the same view (same timestamp_ms). Equal requests, so the
  // average of ratios is the ratio of the average.
  // cpu_utilization and cpu of one view (one cycle), newer than after_ms.
  double util = 0, cpu = 0, view_ms = 0;
  auto same_view = [&](double after_ms = 0) {
    return WaitFor([&] {
      const std::string base = "/api/v1/aggregates?namespace=shop&workload=web&window=1m&stat=avg"
                               "&min_coverage=0&max_age=inf&metric=";
      HttpResult x = HttpGet(agent.port(), base + "cpu_utilization"), y = HttpGet(agent.port(), base + "cpu");
      auto tx = JsonNumber(x.body, "timestamp_ms"), ty = JsonNumber(y.body, "timestamp_ms");
      auto vx = JsonNumber(x.body, "value"), vy = JsonNumber(y.body, "value");
      if (!tx || !ty || *tx != *ty || *tx <= after_ms || !vx || !vy) return false;
      util = *vx;
      cpu = *vy;
      view_ms = *tx;
      return true;
    }, 10000, 20);
  };
  ASSERT_TRUE(same_view());
  EXPECT_GT(cpu, 0.01) << "busy processes";
  EXPECT_LE(cpu, 2 * 0.4 * 1.05) << "two pods held to 0.4 cores each";
  EXPECT_NEAR(util, cpu / 0.2, 1e-12 * util);
  ScalerReading r = keda.Read();
  ASSERT_FALSE(r.error) << r.why;
  EXPECT_EQ(keda.DesiredReplicas(r), static_cast<int>(std::ceil(r.value / 0.7)));

  // 3a. Resize requested (spec 0.2 -> 0.4), allocated, not yet applied: the
  // kernel still enforces the old quota, so the old request still counts.
  // The second pod's is infeasible for now: a finding for SREs.
  for (TestPod& p : pods) p.spec_cpu = 0.4;
  pods[0].resize_in_progress = true;
  pods[1].resize_pending = "Infeasible";
  kubelet_->Serve("/pods", PodsJson(pods));
  std::string m;
  ASSERT_TRUE(WaitFor([&] {
    m = agent.Metrics();
    return SampleValue(m, "nodepulse_pod_resize_status", {"status=\"in_progress\""}).has_value();
  }, 10000, 100)) << m.substr(0, 2000);
  EXPECT_EQ(SampleValue(m, "nodepulse_container_resource_requests",
                        {"pod=\"web-7d4b9c5f8-a1b2c\"", "state=\"desired\""}).value_or(-1), 0.4);
  EXPECT_EQ(SampleValue(m, "nodepulse_container_resource_requests",
                        {"pod=\"web-7d4b9c5f8-a1b2c\"", "state=\"current\""}).value_or(-1), 0.2);
  ASSERT_TRUE(same_view());
  EXPECT_NEAR(util, cpu / 0.2, 1e-12 * util) << "the desired size is not in force yet";
  HttpResult health = HttpGet(agent.port(), "/api/v1/health");
  EXPECT_TRUE(absl::StrContains(health.body, "\"kind\":\"resize_pending\"")) << health.body.substr(0, 3000);
  EXPECT_TRUE(absl::StrContains(health.body, "in-place resize infeasible: Node didn't have enough capacity; "
                                             "requests desired cpu 0.4, applied cpu 0.2"))
      << health.body.substr(0, 3000);

  // 3b. Applied: the runtime raises the real quota and the kubelet reports
  // the new size. The first cycle after the agent has that /pods must use it.
  for (TestPod& p : pods) {
    ASSERT_TRUE(tree_->SetCpuLimit(p.CgroupPath(), 80000, 100000));
    p.applied_cpu = 0.4;
    p.resize_in_progress = false;
    p.resize_pending.clear();
  }
  const double changed_s = absl::ToDoubleSeconds(absl::Now() - absl::UnixEpoch());
  kubelet_->Serve("/pods", PodsJson(pods));
  ASSERT_TRUE(WaitFor([&] {
    m = agent.Metrics();
    return SampleValue(m, "nodepulse_kubelet_last_success_timestamp_seconds", {"endpoint=\"pods\""})
               .value_or(0) > changed_s;
  }, 10000, 50));
  EXPECT_EQ(SampleValue(m, "container_spec_cpu_quota", {"pod=\"web-7d4b9c5f8-a1b2c\"", "container=\"app\""}).value_or(-1), 80000)
      << "the agent reads the kernel's new quota";
  // Any view of a cycle that began after the agent had the new /pods.
  ASSERT_TRUE(same_view(absl::ToUnixMillis(absl::Now())));
  EXPECT_NEAR(util, cpu / 0.4, 1e-12 * util) << "the first cycle after the new /pods uses the applied size";
  EXPECT_FALSE(SampleValue(agent.Metrics(), "nodepulse_pod_resize_status").has_value());

  // 4. Collection stalls (the collection thread frozen; HTTP still answers):
  // samples age past max_age=2s, the answer becomes an error, KEDA falls back.
  if (!fs::exists("/sys/fs/cgroup/freezer/tasks")) GTEST_SKIP() << "no v1 freezer to stall collection with";
  {
    FrozenThread frozen(tree_->parent() + "-stall", ThreadNamed(agent.child().pid(), "np-collect"));
    ASSERT_TRUE(frozen.ok());
    ASSERT_TRUE(WaitFor([&] { return keda.Read().error; }, 10000, 250)) << "a number while collection is frozen";
    HttpResult stalled = HttpGet(agent.port(), query);
    EXPECT_EQ(stalled.status, 503);
    EXPECT_TRUE(absl::StrContains(stalled.body, "\"reason\":\"stale\"")) << stalled.body;
    EXPECT_FALSE(absl::StrContains(stalled.body, "\"value\"")) << stalled.body;
    for (int i = 0; i < 2; ++i) EXPECT_EQ(keda.DesiredReplicas(keda.Read()), -1);
    EXPECT_EQ(keda.DesiredReplicas(keda.Read()), 6) << "the fallback";
  }
  // Thawed: fresh again within a few cycles.
  EXPECT_TRUE(WaitFor([&] { return !keda.Read().error; }, 10000, 250)) << HttpGet(agent.port(), query).body;
}

}  // namespace
}  // namespace nodepulse::testing
