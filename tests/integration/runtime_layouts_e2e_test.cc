// Every container runtime's cgroup naming (collectors/cgroup/cgroup_naming.h)
// on v1, hybrid and v2 trees: real fixture cgroup directories copied into
// each runtime x driver x QoS layout, the agent joined to an HTTPS kubelet
// whose /pods names each container with a containerd://, cri-o:// or
// docker:// ID. Every container must carry namespace/pod/container/image;
// monitor (conmon) cgroups must not be collected; the sandbox is a pod member
// with container="" and, like the pod cgroup, outside pod and workload sums.
// Then a restart: a new ID and restartCount, the series move to the new ID,
// the old ID's leave /metrics, and no rate goes negative.
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <memory>
#include <mutex>
#include <ostream>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "agent_harness.h"
#include "cgroup_naming.h"
#include "fake_kubelet.h"
#include "gtest/gtest.h"
#include "process.h"

namespace nodepulse::testing {
namespace {

namespace fs = std::filesystem;
namespace ci = collectors::cgroup_internal;

constexpr char kToken[] = "layouts-token";
constexpr const char* kSchemes[] = {"containerd", "cri-o", "docker"};

// A fixture tree and the real cgroups (relative to each hierarchy root) whose
// files every layout's pod, container and sandbox cgroups are copied from.
struct Donor {
  const char* version;
  const char* fixture;
  const char* pod;
  const char* container;
  const char* sandbox;
};
constexpr Donor kDonors[] = {
    {"v1", "v1-cgroupfs-debian12", "/kubepods/pod6f1c2a9e-0b4d-4e1f-9a57-3c2d1e0f9a01",
     "/kubepods/pod6f1c2a9e-0b4d-4e1f-9a57-3c2d1e0f9a01/"
     "9c1e3a5b7d9f1b3d5f7a9c1e3b5d7f9a1c3e5b7d9f1a3c5e7b9d1f3a5c7e9b02",
     "/kubepods/pod6f1c2a9e-0b4d-4e1f-9a57-3c2d1e0f9a01/"
     "4f0a1c8e2b6d9f3a5c7e1b0d2f4a6c8e0b2d4f6a8c0e2a4c6e8f0a2b4c6d8e01"},
    {"hybrid", "hybrid-ubuntu1804-elastic", "/system.slice",
     "/system.slice/networkd-dispatcher.service", "/system.slice/networkd-dispatcher.service"},
    {"v2", "v2-systemd-kubepods-debian-6.1-vm",
     "/kubepods.slice/kubepods-pod7c1e3a5b_9d2f_4b6a_8c0e_1f3a5c7e9b20.slice",
     "/kubepods.slice/kubepods-pod7c1e3a5b_9d2f_4b6a_8c0e_1f3a5c7e9b20.slice/"
     "cri-containerd-2b4d6f8a0c2e4a6c8e0b2d4f6a8c0e2a4c6e8b0d2f4a6c8e0a2c4e6b8d0f2a4c.scope",
     "/kubepods.slice/kubepods-besteffort.slice/"
     "kubepods-besteffort-pod5e7a9c1b_3d5f_4a7c_9e1b_2c4e6a8c0d30.slice/"
     "crio-6e8a0c2e4b6d8f0a2c4e6a8c0e2b4d6f8a0c2e4a6c8e0b2d4f6a8c0e2a4c6e8b.scope"},
};

// gtest prints a parameter's bytes otherwise, which would put addresses in
// the CTest names.
void PrintTo(const Donor& donor, std::ostream* os) { *os << donor.version; }

// One pod of the plan: a container-naming row under one QoS placement.
struct PodPlan {
  const ci::ContainerNaming* naming = nullptr;
  const ci::ContainerNaming* monitor = nullptr;  // the runtime has none
  const ci::PodPlacement* placement = nullptr;
  std::string uid, name, container, image, scheme;
  std::string pod_path, container_id, sandbox_id;
  uint32_t restarts = 0;

  std::string Dir(const std::string& id) const {
    return pod_path + "/" + ci::ContainerDirName(*naming, id);
  }
  std::string ContainerPath() const { return Dir(container_id); }
  std::string SandboxPath() const { return Dir(sandbox_id); }
  std::string MonitorPath() const {
    return monitor ? pod_path + "/" + ci::ContainerDirName(*monitor, container_id) : "";
  }
  std::string Workload() const { return "w-" + name; }
};

std::string HexId(uint32_t n, char kind) { return absl::StrFormat("%c%063x", kind, n); }

// Every container row of the table under every QoS placement of its driver;
// the kubelet scheme rotates so each row is joined under all three.
std::vector<PodPlan> PlanAllLayouts() {
  std::vector<PodPlan> plans;
  for (const ci::ContainerNaming& n : ci::kContainerNamings) {
    if (n.role != ci::Role::kContainer) continue;
    for (const ci::PodPlacement& p : ci::kPodPlacements) {
      if (p.driver != n.driver) continue;
      const uint32_t i = static_cast<uint32_t>(plans.size());
      PodPlan plan;
      plan.naming = &n;
      plan.monitor = ci::MonitorOf(n);
      plan.placement = &p;
      plan.uid = absl::StrFormat("0d1e2f3a-4b5c-4d6e-8f70-%012d", i);
      plan.name = absl::AsciiStrToLower(absl::StrCat(std::string(n.runtime), "-",
                                                     std::string(ci::DriverName(n.driver)),
                                                     "-", std::string(p.qos), "-", i));
      plan.container = absl::StrCat("app", i);
      plan.image = absl::StrCat("registry.example/app:", i);
      plan.scheme = kSchemes[i % 3];
      plan.pod_path = ci::PodCgroupPath(p, plan.uid);
      plan.container_id = HexId(i, 'c');
      plan.sandbox_id = HexId(i, 'a');
      plans.push_back(std::move(plan));
    }
  }
  return plans;
}

std::string PodJson(const PodPlan& p, const std::string& ns) {
  return absl::StrCat(
      R"({"metadata":{"name":")", p.name, R"(","namespace":")", ns, R"(","uid":")", p.uid,
      R"(","ownerReferences":[{"apiVersion":"apps/v1","kind":"StatefulSet","name":")",
      p.Workload(), R"(","uid":"x","controller":true}]},"spec":{"containers":[{"name":")",
      p.container, R"(","image":")", p.image,
      R"(","resources":{}}]},"status":{"phase":"Running","containerStatuses":[{"name":")",
      p.container, R"(","image":")", p.image, R"(","containerID":")", p.scheme, "://",
      p.container_id, R"(","restartCount":)", p.restarts,
      R"(,"state":{"running":{"startedAt":"2026-01-01T00:00:00Z"}}}]}})");
}

std::string PodsJson(const std::vector<PodPlan>& plans, const std::string& ns) {
  std::string out = R"({"kind":"PodList","apiVersion":"v1","items":[)";
  for (size_t i = 0; i < plans.size(); ++i) {
    absl::StrAppend(&out, i ? "," : "", PodJson(plans[i], ns));
  }
  return out + "]}";
}

void CopyFiles(const fs::path& from, const fs::path& to) {
  fs::create_directories(to);
  if (!fs::is_directory(from)) return;
  for (const auto& e : fs::directory_iterator(from)) {
    if (e.is_regular_file()) fs::copy_file(e.path(), to / e.path().filename());
  }
}

// A fixture's proc/ and hierarchy roots (those holding the donor container:
// sys/fs/cgroup itself on v2, its controller directories on v1 and hybrid),
// with every plan's cgroups copied from the donor's and nothing else.
class LayoutTree {
 public:
  LayoutTree(const Donor& donor, std::string dir) : donor_(donor), dir_(std::move(dir)) {
    const fs::path src = fs::path(NODEPULSE_FIXTURES) / "cgroup" / donor.fixture;
    fs::copy(src / "proc", fs::path(dir_) / "proc", fs::copy_options::recursive);
    src_ = src / "sys/fs/cgroup";
    std::vector<fs::path> candidates = {src_};
    for (const auto& e : fs::directory_iterator(src_)) candidates.push_back(e.path());
    for (const fs::path& c : candidates) {
      if (!fs::is_directory(c.string() + donor.container)) continue;
      roots_.push_back(fs::relative(c, src_).string());
      CopyFiles(c, Root(roots_.back()));
    }
  }
  bool ok() const { return !roots_.empty(); }
  std::string cgroup_root() const { return dir_ + "/sys/fs/cgroup"; }
  std::string proc_root() const { return dir_ + "/proc"; }

  // `rel` from the donor cgroup `from` in every hierarchy.
  void Copy(const char* from, const std::string& rel) {
    for (const std::string& r : roots_) CopyFiles(src_ / r / (from + 1), Root(r) / rel.substr(1));
  }
  void Remove(const std::string& rel) {
    for (const std::string& r : roots_) fs::remove_all(Root(r) / rel.substr(1));
  }
  void AddPod(const PodPlan& p) {
    Copy(donor_.pod, p.pod_path);
    Copy(donor_.container, p.ContainerPath());
    Copy(donor_.sandbox, p.SandboxPath());
    // A monitor with the container's own files: counted anywhere, it would
    // double the container's values.
    if (p.monitor) Copy(donor_.container, p.MonitorPath());
  }
  // The first hierarchy's copy of `file` in `rel` ("" when no hierarchy has it).
  std::string FileIn(const std::string& rel, const std::string& file) const {
    for (const std::string& r : roots_) {
      fs::path f = Root(r) / rel.substr(1) / file;
      if (fs::exists(f)) return f.string();
    }
    return "";
  }

 private:
  fs::path Root(const std::string& r) const { return fs::path(cgroup_root()) / r; }

  const Donor donor_;
  const std::string dir_;
  fs::path src_;
  std::vector<std::string> roots_;  // relative to sys/fs/cgroup; "." on v2
};

// The derived-rate lines of an exposition, for failure messages.
std::string RateLines(const std::string& exposition) {
  std::string out;
  for (absl::string_view line : absl::StrSplit(exposition, '\n')) {
    if (absl::StrContains(line, "rate") && !absl::StartsWith(line, "#")) {
      absl::StrAppend(&out, line, "\n");
    }
  }
  return out;
}

std::string Id(const std::string& path) { return "id=\"" + path + "\""; }
std::string Label(const char* name, const std::string& value) {
  return absl::StrCat(name, "=\"", value, "\"");
}

// The trees are ~4,000-8,000 small files each: on tmpfs they take a few
// ms to make, while on this machine's loaded ext4 each create took ~460 us
// (strace -c), seconds per tree.
std::string TreeTempDir() {
  std::string tmpl = "/dev/shm/nodepulse-test-layouts-XXXXXX";
  if (fs::is_directory("/dev/shm") && ::mkdtemp(tmpl.data()) != nullptr) return tmpl;
  return MakeTempDir("nodepulse-test-layouts");
}

class LayoutsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = TreeTempDir();
    ASSERT_FALSE(dir_.empty());
    certs_ = MakeTestCerts(dir_);
    ASSERT_TRUE(certs_.error.empty()) << certs_.error;
    WriteFile(dir_ + "/token", std::string(kToken) + "\n");
    kubelet_ = std::make_unique<FakeKubelet>(certs_.server_cert, certs_.server_key, kToken);
    ASSERT_TRUE(kubelet_->ok());
    kubelet_->Serve("/stats/summary", R"({"node":{"nodeName":"layouts"},"pods":[]})");
  }
  void TearDown() override {
    kubelet_.reset();
    RemoveTree(dir_);
  }
  std::vector<std::string> AgentFlags(const LayoutTree& tree) const {
    return {"--interval=500ms",
            "--cgroup-root=" + tree.cgroup_root(),
            "--proc-root=" + tree.proc_root(),
            "--kubelet-url=" + kubelet_->url(),
            "--kubelet-ca-file=" + certs_.ca,
            "--kubelet-token-file=" + dir_ + "/token",
            "--kubelet-node-name=layouts",
            "--kubelet-interval=1s",
            "--kubelet-timeout=1s",
            "--rescan-interval=300ms"};
  }

  std::string dir_;
  TestCerts certs_;
  std::unique_ptr<FakeKubelet> kubelet_;
};

class RuntimeLayoutsE2E : public LayoutsTest, public ::testing::WithParamInterface<Donor> {};

// Labels of one container's series, as cAdvisor in the kubelet gives them.
std::vector<std::string> ContainerNeedles(const PodPlan& p, const std::string& ns) {
  return {Id(p.ContainerPath()), Label("container", p.container), Label("image", p.image),
          Label("name", p.container_id), Label("namespace", ns), Label("pod", p.name)};
}

TEST_P(RuntimeLayoutsE2E, EveryLayoutJoinedMonitorsLeftOutSandboxNotSummed) {
  const Donor& donor = GetParam();
  const std::string ns = absl::StrCat("layouts-", donor.version);
  LayoutTree tree(donor, dir_);
  ASSERT_TRUE(tree.ok()) << donor.fixture;
  const std::vector<PodPlan> plans = PlanAllLayouts();
  ASSERT_EQ(plans.size(), 24u);  // 8 container rows x 3 QoS classes
  for (const PodPlan& p : plans) tree.AddPod(p);

  kubelet_->Serve("/pods", PodsJson(plans, ns));
  AgentHarness agent(AgentFlags(tree));
  ASSERT_TRUE(agent.ok()) << agent.child().Output();

  std::string m;
  auto all_joined = [&] {
    m = agent.Metrics();
    return std::all_of(plans.begin(), plans.end(), [&](const PodPlan& p) {
      return SampleValue(m, "container_memory_usage_bytes", ContainerNeedles(p, ns)).has_value();
    });
  };
  ASSERT_TRUE(WaitFor(all_joined, 15000, 200)) << agent.child().Output() << m.substr(0, 3000);
  // Pod rollups come from a 1m window: wait until every pod has one.
  ASSERT_TRUE(WaitFor([&] {
    m = agent.Metrics();
    return std::all_of(plans.begin(), plans.end(), [&](const PodPlan& p) {
      return SampleValue(m, "pod:container_memory_working_set_bytes:max1m",
                         {Label("namespace", ns), Label("pod", p.name)})
          .has_value();
    });
  }, 5000, 100)) << m.substr(0, 3000);

  for (const PodPlan& p : plans) {
    SCOPED_TRACE(p.ContainerPath() + " via " + p.scheme + "://");
    for (const char* metric : {"container_memory_usage_bytes", "container_memory_working_set_bytes"}) {
      EXPECT_TRUE(SampleValue(m, metric, ContainerNeedles(p, ns)).has_value()) << metric;
    }
    // The sandbox: in the pod, no container.
    EXPECT_TRUE(SampleValue(m, "container_memory_usage_bytes",
                            {Id(p.SandboxPath()), Label("container", ""), Label("pod", p.name),
                             Label("namespace", ns), Label("name", p.sandbox_id)})
                    .has_value());
    if (p.monitor) {
      EXPECT_FALSE(absl::StrContains(m, Id(p.MonitorPath())));
    }
    // Pod and workload sums hold the container alone: not the pod cgroup,
    // the sandbox or the monitor, whose own working sets (non-zero, as the
    // sandbox's shows; the monitor's equals the container's) would change
    // the sum. Rings hold float32, hence the cast.
    const double ws = static_cast<float>(
        SampleValue(m, "container_memory_working_set_bytes", {Id(p.ContainerPath())}).value_or(-1));
    ASSERT_GT(ws, 0);
    ASSERT_GT(SampleValue(m, "container_memory_working_set_bytes", {Id(p.SandboxPath())}).value_or(0), 0);
    EXPECT_EQ(SampleValue(m, "pod:container_memory_working_set_bytes:max1m",
                          {Label("namespace", ns), Label("pod", p.name)})
                  .value_or(-1),
              ws);
    HttpResult api = HttpGet(agent.port(),
                             absl::StrCat("/api/v1/aggregates?namespace=", ns, "&workload=",
                                          p.Workload(), "&metric=memory&window=1m&stat=max&min_coverage=0"));
    ASSERT_EQ(api.status, 200) << api.body;
    EXPECT_TRUE(absl::StartsWith(api.body, "{\"value\":")) << api.body;
    EXPECT_DOUBLE_EQ(std::stod(api.body.substr(9)), ws) << api.body;
    EXPECT_TRUE(absl::StrContains(api.body, "\"pods\":1")) << api.body;
  }
  // Nothing anywhere names a monitor: no series, no container label.
  EXPECT_FALSE(absl::StrContains(m, "conmon")) << m.substr(0, 2000);
}

INSTANTIATE_TEST_SUITE_P(CgroupVersions, RuntimeLayoutsE2E, ::testing::ValuesIn(kDonors),
                         [](const ::testing::TestParamInfo<Donor>& info) {
                           return std::string(info.param.version);
                         });

// --- restart -----------------------------------------------------------------

// Writes a growing cpuacct.usage into one cgroup's file, as the kernel would
// for a container using `cores`: rewritten in place with the same width (no
// truncation, so a concurrent pread never sees an empty file).
class CpuWriter {
 public:
  explicit CpuWriter(double cores) : step_ns_(static_cast<uint64_t>(cores * 1e8)) {
    thread_ = std::thread([this] {
      while (!stop_.load()) {
        Tick();
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    });
  }
  ~CpuWriter() {
    stop_ = true;
    thread_.join();
  }
  // From now on write `path`, starting at `start_ns` (12 digits).
  void Switch(const std::string& path, uint64_t start_ns) {
    std::lock_guard<std::mutex> l(mu_);
    path_ = path;
    value_ = start_ns;
  }

 private:
  void Tick() {
    std::lock_guard<std::mutex> l(mu_);
    if (path_.empty()) return;
    value_ += step_ns_;
    std::string text = absl::StrCat(value_, "\n");
    int fd = ::open(path_.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) return;
    (void)!::pwrite(fd, text.data(), text.size(), 0);
    ::close(fd);
  }

  const uint64_t step_ns_;
  std::mutex mu_;
  std::string path_;
  uint64_t value_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

TEST_F(LayoutsTest, RestartMovesSeriesToTheNewIdAndNoRateGoesNegative) {
  const std::string ns = "restart";

  // CRI-O on cgroupfs, burstable: a prefixed name and a conmon beside it.
  std::vector<PodPlan> plans;
  for (PodPlan& p : PlanAllLayouts()) {
    if (p.naming->runtime == "CRI-O" && p.naming->driver == ci::Driver::kCgroupfs &&
        p.placement->qos == "burstable") {
      plans.push_back(std::move(p));
    }
  }
  ASSERT_EQ(plans.size(), 1u);
  PodPlan& pod = plans[0];
  LayoutTree tree(kDonors[0], dir_);
  ASSERT_TRUE(tree.ok());
  tree.AddPod(pod);
  const std::string old_path = pod.ContainerPath(), old_id = pod.container_id;

  kubelet_->Serve("/pods", PodsJson(plans, ns));
  CpuWriter cpu(0.5);
  cpu.Switch(tree.FileIn(old_path, "cpuacct.usage"), 900'000'000'000);
  AgentHarness agent(AgentFlags(tree));
  ASSERT_TRUE(agent.ok()) << agent.child().Output();

  // Every rate the pipeline derives from the container's CPU, for this pod.
  const std::vector<std::pair<std::string, std::vector<std::string>>> rates = {
      {"pod:container_cpu_usage:rate1m", {Label("pod", pod.name)}},
      {"workload:container_cpu_usage:rate1m_sum", {Label("workload", pod.Workload())}},
      {"workload:container_cpu_usage:rate1m_p95", {Label("workload", pod.Workload())}},
  };
  double min_rate = std::numeric_limits<double>::infinity();
  int rate_samples = 0;
  std::string m;
  auto scrape = [&] {
    m = agent.Metrics();
    for (const auto& [name, needles] : rates) {
      if (auto v = SampleValue(m, name, needles)) {
        min_rate = std::min(min_rate, *v);
        ++rate_samples;
      }
    }
  };
  // Scrapes for `ms` more, so the rates are seen on both sides of the switch
  // and over the next kubelet polls, not only at the moment a wait ends.
  auto observe = [&](int ms) { WaitFor([&] { scrape(); return false; }, ms, 100); };
  auto has_container = [&](const std::string& path) {
    return SampleValue(m, "container_cpu_usage_seconds_total",
                       {Id(path), Label("container", pod.container), Label("pod", pod.name)})
        .has_value();
  };
  ASSERT_TRUE(WaitFor([&] {
    scrape();
    return has_container(old_path) &&
           SampleValue(m, "pod:container_cpu_usage:rate1m", {Label("pod", pod.name)}).value_or(0) > 0.2;
  }, 15000, 100)) << agent.child().Output() << m.substr(0, 3000);
  observe(1000);

  // The restart: the kubelet's new ID and count, the runtime's new cgroup
  // (and monitor) with a lower counter, the old ones gone.
  pod.container_id = HexId(1, 'e');
  pod.restarts = 1;
  const std::string new_path = pod.ContainerPath();
  tree.Copy(kDonors[0].container, new_path);
  tree.Copy(kDonors[0].container, pod.MonitorPath());
  cpu.Switch(tree.FileIn(new_path, "cpuacct.usage"), 100'000'000'000);
  tree.Remove(old_path);
  tree.Remove(pod.pod_path + "/" + ci::ContainerDirName(*pod.monitor, old_id));
  kubelet_->Serve("/pods", PodsJson(plans, ns));
  const auto switched = std::chrono::steady_clock::now();

  ASSERT_TRUE(WaitFor([&] {
    scrape();
    return has_container(new_path) && !absl::StrContains(m, old_id);
  }, 10000, 100)) << m.substr(0, 3000);
  const double join_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - switched).count();
  // One kubelet poll (1 s) plus one rescan (300 ms), with slack.
  EXPECT_LT(join_s, 4.0);
  // The series go on under the new ID: with the old one gone, the pod's
  // rate can only come from the new container (0.5 cores written).
  ASSERT_TRUE(WaitFor([&] {
    scrape();
    return SampleValue(m, "pod:container_cpu_usage:rate1m", {Label("pod", pod.name)}).value_or(0) > 0.2;
  }, 5000, 100)) << RateLines(m);
  observe(2000);
  EXPECT_FALSE(absl::StrContains(m, "conmon"));
  EXPECT_FALSE(absl::StrContains(m, old_id));
  EXPECT_GT(rate_samples, 60);
  EXPECT_GE(min_rate, 0) << "a rate went negative across the restart";
  std::printf("restart: joined %.2f s after the switch; %d rate samples, min %.4f\n", join_s,
              rate_samples, min_rate);
}

}  // namespace
}  // namespace nodepulse::testing
