// cgroup v2 facts on a live kernel, through the real nodepulse binary: cpu.max
// throttling, OOM kills counted from memory.events, PSI per container, io.stat
// per block device, and cgroups removed while the agent reads them, with
// kubepods laid out by the systemd driver (kubepods.slice/...-pod<uid>.slice/
// cri-containerd-<id>.scope, crio-, docker-) and by cgroupfs.
//
// Every test needs a pure cgroup v2 host with the cpu, memory, io and pids
// controllers and skips otherwise: the dev machines are cgroup v1 plus a
// controller-less cgroup2 mount, so these run inside tests/vm (a Debian kernel
// under qemu, see tests/vm/run-in-vm.sh), which sets NODEPULSE_IN_VM=1. There
// the kubepods trees are created at the real hierarchy root, as the kubelet
// does, and the agent runs with its default --cgroup-root. On any other pure
// v2 host they are created below a parent named nodepulse-test-v2-<random>,
// which the agent is pointed at with --cgroup-root, so nothing outside that
// parent is touched. Everything is removed at the end of each test, and only
// PIDs started by the test are killed.
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "agent_harness.h"
#include "fake_kubelet.h"
#include "gtest/gtest.h"
#include "process.h"

namespace nodepulse::testing {
namespace {

constexpr char kHierarchy[] = "/sys/fs/cgroup";
constexpr char kControllers[] = "+cpu +memory +io +pids";
constexpr char kSkipReason[] =
    "needs a pure cgroup v2 host with cpu/memory/io/pids controllers (runs inside tests/vm)";

double MonoSeconds() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

bool Exists(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0;
}

// One write(2), so the kernel's answer to a cgroup file write is seen.
bool WriteCgroupFile(const std::string& path, const std::string& value) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = ::write(fd, value.data(), value.size()) == static_cast<ssize_t>(value.size());
  ::close(fd);
  return ok;
}

// The value of `key` in a flat keyed file (memory.events, cpu.stat).
std::optional<double> KeyedValue(const std::string& path, const std::string& key) {
  for (absl::string_view line : absl::StrSplit(ReadFile(path), '\n')) {
    std::vector<absl::string_view> kv = absl::StrSplit(line, ' ', absl::SkipEmpty());
    double v;
    if (kv.size() == 2 && kv[0] == key && absl::SimpleAtod(kv[1], &v)) return v;
  }
  return std::nullopt;
}

// "" when this is a pure cgroup v2 host with the controllers the tests need
// (and we are root), else why not.
std::string V2Unavailable() {
  std::string mount_type;
  for (absl::string_view line : absl::StrSplit(ReadFile("/proc/self/mountinfo"), '\n')) {
    std::vector<absl::string_view> f = absl::StrSplit(line, ' ');
    if (f.size() < 5 || f[4] != kHierarchy) continue;
    size_t dash = line.find(" - ");
    if (dash == absl::string_view::npos) continue;
    std::vector<absl::string_view> post = absl::StrSplit(line.substr(dash + 3), ' ');
    mount_type = std::string(post[0]);  // the last mount on the path wins
  }
  if (mount_type != "cgroup2") {
    return absl::StrCat(kSkipReason, "; here ", kHierarchy, " is ",
                        mount_type.empty() ? "not a mount point" : mount_type);
  }
  std::set<std::string> have;
  const std::string controllers = ReadFile(absl::StrCat(kHierarchy, "/cgroup.controllers"));
  for (absl::string_view c : absl::StrSplit(controllers, absl::ByAnyChar(" \n"), absl::SkipEmpty())) {
    have.insert(std::string(c));
  }
  for (const char* c : {"cpu", "memory", "io", "pids"}) {
    if (!have.count(c)) {
      return absl::StrCat(kSkipReason, "; the ", c, " controller is not available in ", kHierarchy);
    }
  }
  if (geteuid() != 0) return absl::StrCat(kSkipReason, "; and root to create cgroups");
  return "";
}

bool InVm() {
  const char* v = std::getenv("NODEPULSE_IN_VM");
  return v != nullptr && std::string(v) == "1";
}

// What a forked child does inside its cgroup. Children use only raw
// syscalls (the test process has threads: FakeKubelet, the agent harness).
enum class Work { kSleep, kBusy, kAlloc, kDirectIo };

// The cgroups and processes of one test, on a pure v2 hierarchy: created
// parents-first with controllers enabled for children, removed deepest-first
// after killing (by PID) only the processes this object started.
class V2Tree {
 public:
  V2Tree() {
    if (InVm()) {
      root_ = kHierarchy;
    } else {
      std::random_device rd;
      char suffix[16];
      snprintf(suffix, sizeof(suffix), "%06x", rd() & 0xffffff);
      root_ = absl::StrCat(kHierarchy, "/nodepulse-test-v2-", suffix);
      if (::mkdir(root_.c_str(), 0755) == 0) dirs_.push_back(root_);
    }
    WriteCgroupFile(root_ + "/cgroup.subtree_control", kControllers);
  }
  ~V2Tree() { Cleanup(); }
  V2Tree(const V2Tree&) = delete;
  V2Tree& operator=(const V2Tree&) = delete;

  // The agent's flags for this tree: the default root in the VM, else our parent.
  std::vector<std::string> AgentFlags() const {
    if (root_ == kHierarchy) return {};
    return {"--cgroup-root=" + root_};
  }
  std::string Path(const std::string& rel) const { return root_ + rel; }

  // mkdir -p of `rel` ("/kubepods.slice/..."), enabling the controllers in
  // each parent's cgroup.subtree_control first (what systemd and runc do).
  bool Make(const std::string& rel) {
    std::string dir = root_;
    for (absl::string_view part : absl::StrSplit(rel, '/', absl::SkipEmpty())) {
      WriteCgroupFile(dir + "/cgroup.subtree_control", kControllers);
      dir = absl::StrCat(dir, "/", part);
      if (::mkdir(dir.c_str(), 0755) == 0) {
        dirs_.push_back(dir);
      } else if (errno != EEXIST) {
        ADD_FAILURE() << "mkdir " << dir << ": " << strerror(errno);
        return false;
      }
    }
    return true;
  }

  bool Write(const std::string& rel, const std::string& file, const std::string& value) {
    bool ok = WriteCgroupFile(absl::StrCat(root_, rel, "/", file), value);
    if (!ok) ADD_FAILURE() << "write '" << value << "' to " << root_ << rel << "/" << file << ": " << strerror(errno);
    return ok;
  }

  // Forks a child, moves it into `rel`, then lets it start `work`
  // (kAlloc/kDirectIo: `mib` MiB; kDirectIo writes then reads `device`).
  // Every child ends itself after max_seconds. Returns its PID or -1.
  pid_t Spawn(const std::string& rel, Work work, int mib = 0, const std::string& device = "",
              int max_seconds = 60) {
    int go[2];
    if (pipe2(go, O_CLOEXEC) != 0) return -1;
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) _exit(1);
      ::close(go[1]);
      char c;
      if (::read(go[0], &c, 1) != 1) _exit(1);
      alarm(static_cast<unsigned>(max_seconds));
      RunWork(work, mib, device.c_str());
    }
    ::close(go[0]);
    if (pid < 0) {
      ::close(go[1]);
      return -1;
    }
    pids_.push_back(pid);
    bool moved = WriteCgroupFile(absl::StrCat(root_, rel, "/cgroup.procs"), std::to_string(pid));
    if (!moved) ADD_FAILURE() << "moving " << pid << " into " << rel << ": " << strerror(errno);
    ssize_t w = ::write(go[1], "g", 1);
    (void)w;
    ::close(go[1]);
    return moved ? pid : -1;
  }

  // Waits up to timeout_ms for one of our children; its waitpid status, or -1.
  int WaitExit(pid_t pid, int timeout_ms) {
    int status = -1;
    bool done = WaitFor([&] { return waitpid(pid, &status, WNOHANG) == pid; }, timeout_ms, 20);
    if (!done) return -1;
    std::erase(pids_, pid);
    return status;
  }

  void Kill(pid_t pid) {
    if (std::find(pids_.begin(), pids_.end(), pid) == pids_.end()) return;
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    std::erase(pids_, pid);
  }

  // Removes `rel` and everything we created below it (processes in it must
  // be ours and already killed). A reaped task can take a moment to leave.
  bool Remove(const std::string& rel) {
    const std::string dir = root_ + rel;
    std::vector<std::string> below;
    for (const std::string& d : dirs_) {
      if (d == dir || absl::StartsWith(d, dir + "/")) below.push_back(d);
    }
    std::sort(below.begin(), below.end(), [](const std::string& a, const std::string& b) {
      return a.size() > b.size();
    });
    bool all = true;
    for (const std::string& d : below) {
      bool gone = WaitFor([&] { return ::rmdir(d.c_str()) == 0 || errno == ENOENT; }, 5000, 10);
      if (gone) {
        std::erase(dirs_, d);
      } else {
        ADD_FAILURE() << "rmdir " << d << ": " << strerror(errno);
        all = false;
      }
    }
    return all;
  }

  void Cleanup() {
    while (!pids_.empty()) Kill(pids_.back());
    std::vector<std::string> dirs = dirs_;
    std::sort(dirs.begin(), dirs.end(), [](const std::string& a, const std::string& b) {
      return a.size() > b.size();
    });
    for (const std::string& d : dirs) {
      if (!WaitFor([&] { return ::rmdir(d.c_str()) == 0 || errno == ENOENT; }, 5000, 10)) {
        ADD_FAILURE() << "could not remove " << d << ": " << strerror(errno);
      }
    }
    dirs_.clear();
  }

 private:
  [[noreturn]] static void RunWork(Work work, int mib, const char* device) {
    switch (work) {
      case Work::kSleep:
        for (;;) pause();
      case Work::kBusy: {
        volatile unsigned long x = 0;
        for (;;) x = x + 1;
      }
      case Work::kAlloc: {
        size_t n = static_cast<size_t>(mib) << 20;
        void* p = mmap(nullptr, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) _exit(2);
        char* mem = static_cast<char*>(p);
        for (size_t i = 0; i < n; i += 4096) mem[i] = 1;
        for (;;) pause();
      }
      case Work::kDirectIo: {
        // O_DIRECT: the bios are issued by (and charged to) this process's
        // cgroup, not by writeback later.
        constexpr size_t kChunk = 1 << 20;
        void* p = mmap(nullptr, kChunk, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) _exit(2);
        memset(p, 0x5a, kChunk);
        int fd = ::open(device, O_RDWR | O_DIRECT | O_CLOEXEC);
        if (fd < 0) _exit(3);
        for (int i = 0; i < mib; ++i) {
          if (::pwrite(fd, p, kChunk, static_cast<off_t>(i) * kChunk) != static_cast<ssize_t>(kChunk)) _exit(4);
        }
        if (::fsync(fd) != 0) _exit(5);
        for (int i = 0; i < mib / 2; ++i) {
          if (::pread(fd, p, kChunk, static_cast<off_t>(i) * kChunk) != static_cast<ssize_t>(kChunk)) _exit(6);
        }
        _exit(0);
      }
    }
    _exit(9);
  }

  std::string root_;
  std::vector<std::string> dirs_;  // created by us
  std::vector<pid_t> pids_;
};

std::string Id(const std::string& rel) { return "id=\"" + rel + "\""; }

// A scrape holding a sample taken just now: scrapes every 10 ms until the
// value of `name`{needles} moves (a collection cycle just ran) and sets *t to
// the middle of that scrape, on this machine's (the guest's) clock. Samples
// are otherwise up to an interval old, and under software emulation a scrape
// itself can take a good part of a second. "" if the value never moved.
std::string FreshScrape(AgentHarness& agent, const std::string& name,
                        const std::vector<std::string>& needles, double* t) {
  std::optional<double> prev = SampleValue(agent.Metrics(), name, needles);
  for (int i = 0; i < 300; ++i) {
    double before = MonoSeconds();
    std::string text = agent.Metrics();
    double after = MonoSeconds();
    std::optional<double> v = SampleValue(text, name, needles);
    if (v && prev && *v != *prev) {
      *t = (before + after) / 2;
      return text;
    }
    prev = v;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return "";
}

// Systemd-driver names: the pod UID's dashes become underscores in the slice.
std::string SystemdPodSlice(const std::string& qos, const std::string& uid) {
  std::string u = uid;
  std::replace(u.begin(), u.end(), '-', '_');
  if (qos.empty()) return "/kubepods.slice/kubepods-pod" + u + ".slice";
  return absl::StrCat("/kubepods.slice/kubepods-", qos, ".slice/kubepods-", qos, "-pod", u, ".slice");
}

std::string HexId(char c) { return std::string(64, c); }

class CgroupV2 : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::string why = V2Unavailable(); !why.empty()) GTEST_SKIP() << why;
    tree_.emplace();
  }
  void TearDown() override {
    if (tree_) tree_->Cleanup();
  }
  std::vector<std::string> Flags(std::vector<std::string> extra) const {
    std::vector<std::string> f = tree_->AgentFlags();
    f.insert(f.end(), extra.begin(), extra.end());
    return f;
  }
  std::optional<V2Tree> tree_;
};

// --- systemd driver: cpu.max throttling, PSI, kubelet join -----------------

constexpr char kBurstableUid[] = "5a1c7e2d-3b4f-4c6d-8e9f-0a1b2c3d4e01";
constexpr char kGuaranteedUid[] = "5a1c7e2d-3b4f-4c6d-8e9f-0a1b2c3d4e02";
constexpr char kBestEffortUid[] = "5a1c7e2d-3b4f-4c6d-8e9f-0a1b2c3d4e03";

std::string PodJson(const std::string& name, const std::string& uid, const std::string& qos,
                    const std::string& container, const std::string& image,
                    const std::string& container_id) {
  return absl::StrCat(
      R"({"metadata":{"name":")", name, R"(","namespace":"nodepulse-vm","uid":")", uid,
      R"("},"spec":{"nodeName":"nodepulse-vm","containers":[{"name":")", container,
      R"(","image":")", image, R"(","resources":{}}]},"status":{"phase":"Running","qosClass":")",
      qos, R"(","containerStatuses":[{"name":")", container, R"(","image":")", image,
      R"(","containerID":")", container_id, R"(","restartCount":0,"state":{"running":{"startedAt":"2025-01-01T00:00:00Z"}}}]}})");
}

TEST_F(CgroupV2, SystemdDriverCpuMaxThrottlingPsiAndKubeletJoin) {
  // Three pods, one per QoS class and runtime, as the systemd driver names them.
  const std::string busy_pod = SystemdPodSlice("burstable", kBurstableUid);
  const std::string busy = busy_pod + "/cri-containerd-" + HexId('a') + ".scope";
  const std::string crio_pod = SystemdPodSlice("", kGuaranteedUid);
  const std::string crio = crio_pod + "/crio-" + HexId('b') + ".scope";
  const std::string conmon = crio_pod + "/crio-conmon-" + HexId('b') + ".scope";
  const std::string docker_pod = SystemdPodSlice("besteffort", kBestEffortUid);
  const std::string docker = docker_pod + "/docker-" + HexId('c') + ".scope";
  for (const std::string& c : {busy, crio, conmon, docker}) ASSERT_TRUE(tree_->Make(c));
  ASSERT_TRUE(tree_->Write(busy, "cpu.max", "30000 100000"));
  ASSERT_GT(tree_->Spawn(busy, Work::kBusy), 0);
  ASSERT_GT(tree_->Spawn(crio, Work::kSleep), 0);
  ASSERT_GT(tree_->Spawn(conmon, Work::kSleep), 0);
  ASSERT_GT(tree_->Spawn(docker, Work::kSleep), 0);

  std::string dir = MakeTempDir("nodepulse-test-v2-kubelet");
  ASSERT_FALSE(dir.empty());
  TestCerts certs = MakeTestCerts(dir);
  ASSERT_TRUE(certs.error.empty()) << certs.error;
  WriteFile(dir + "/token", "v2-token\n");
  FakeKubelet kubelet(certs.server_cert, certs.server_key, "v2-token");
  ASSERT_TRUE(kubelet.ok());
  kubelet.Serve("/pods", absl::StrCat(
      R"({"kind":"PodList","apiVersion":"v1","items":[)",
      PodJson("busy-7d9f", kBurstableUid, "Burstable", "spin", "docker.io/library/busybox:1.36",
              "containerd://" + HexId('a')), ",",
      PodJson("crio-pod", kGuaranteedUid, "Guaranteed", "sleeper", "quay.io/crio/pause:3.9",
              "cri-o://" + HexId('b')), ",",
      PodJson("docker-pod", kBestEffortUid, "BestEffort", "idle", "docker.io/library/alpine:3.19",
              "docker://" + HexId('c')),
      "]}"));
  kubelet.Serve("/stats/summary", R"({"node":{"nodeName":"nodepulse-vm"},"pods":[]})");

  // 100 ms cycles, so FreshScrape finds a new sample quickly.
  AgentHarness agent(Flags({"--interval=100ms", "--rescan-interval=500ms",
                            "--kubelet-url=" + kubelet.url(), "--kubelet-ca-file=" + certs.ca,
                            "--kubelet-token-file=" + dir + "/token",
                            "--kubelet-node-name=nodepulse-vm", "--kubelet-interval=1s",
                            "--kubelet-timeout=2s"}));
  ASSERT_TRUE(agent.ok()) << agent.child().Output();

  std::string m;
  bool joined = WaitFor([&] {
    m = agent.Metrics();
    return SampleValue(m, "container_cpu_usage_seconds_total", {Id(busy), "pod=\"busy-7d9f\""}).has_value() &&
           SampleValue(m, "container_memory_usage_bytes", {Id(docker), "pod=\"docker-pod\""}).has_value();
  }, 20000, 200);
  ASSERT_TRUE(joined) << agent.child().Output() << "\n" << m.substr(0, 4000);

  // Kubelet join for each runtime's scope name, and the pod-level cgroups.
  EXPECT_TRUE(SampleValue(m, "container_cpu_usage_seconds_total",
                          {Id(busy), "container=\"spin\"", "namespace=\"nodepulse-vm\"",
                           "image=\"docker.io/library/busybox:1.36\"", "name=\"" + HexId('a') + "\""})
                  .has_value()) << m.substr(0, 4000);
  EXPECT_TRUE(SampleValue(m, "container_memory_usage_bytes",
                          {Id(crio), "container=\"sleeper\"", "pod=\"crio-pod\""}).has_value());
  EXPECT_TRUE(SampleValue(m, "container_memory_usage_bytes",
                          {Id(docker), "container=\"idle\"", "image=\"docker.io/library/alpine:3.19\""})
                  .has_value());
  EXPECT_TRUE(SampleValue(m, "container_memory_usage_bytes",
                          {Id(busy_pod), "container=\"\"", "pod=\"busy-7d9f\""}).has_value());
  // cri-o's conmon scope is not collected (a monitor, see cgroup_naming.h);
  // its usage is inside the pod cgroup's.
  EXPECT_FALSE(SampleValue(m, "container_memory_usage_bytes", {Id(conmon)}).has_value());
  EXPECT_EQ(SampleValue(m, "container_spec_cpu_quota", {Id(busy)}).value_or(-1), 30000);
  EXPECT_EQ(SampleValue(m, "container_spec_cpu_period", {Id(busy)}).value_or(-1), 100000);

  // cpu.max 30000/100000: 0.3 CPU, measured on the guest's own clock.
  const std::vector<std::string> busy_sel = {Id(busy), "cpu=\"total\""};
  double t0 = 0, t1 = 0;
  m = FreshScrape(agent, "container_cpu_usage_seconds_total", busy_sel, &t0);
  std::optional<double> cpu0 = SampleValue(m, "container_cpu_usage_seconds_total", busy_sel);
  std::optional<double> psi_busy0 = SampleValue(m, "container_pressure_cpu_waiting_seconds_total", {Id(busy)});
  std::optional<double> psi_idle0 = SampleValue(m, "container_pressure_cpu_waiting_seconds_total", {Id(docker)});
  std::optional<double> thr0 = SampleValue(m, "container_cpu_cfs_throttled_periods_total", {Id(busy)});
  ASSERT_TRUE(cpu0 && psi_busy0 && psi_idle0 && thr0) << m.substr(0, 4000);
  std::this_thread::sleep_for(std::chrono::seconds(6));
  m = FreshScrape(agent, "container_cpu_usage_seconds_total", busy_sel, &t1);
  ASSERT_FALSE(m.empty()) << "no fresh sample of the busy container";
  double rate = (SampleValue(m, "container_cpu_usage_seconds_total", busy_sel).value_or(0) - *cpu0) / (t1 - t0);
  std::cout << "cpu.max 30000 100000: " << rate << " CPU over " << (t1 - t0) << " s of guest time\n";
  EXPECT_NEAR(rate, 0.3, 0.03) << "busy loop under cpu.max 30000 100000, over " << (t1 - t0) << " s";
  double periods = SampleValue(m, "container_cpu_cfs_periods_total", {Id(busy)}).value_or(0);
  double throttled = SampleValue(m, "container_cpu_cfs_throttled_periods_total", {Id(busy)}).value_or(0);
  EXPECT_GT(throttled, *thr0) << "throttled periods must keep rising";
  EXPECT_GT(throttled, 0.5 * periods) << "a busy loop is throttled in most periods";
  EXPECT_GT(SampleValue(m, "container_cpu_cfs_throttled_seconds_total", {Id(busy)}).value_or(0), 0);
  // The agent's numbers are the kernel's (cpu.stat read directly, a moment later).
  double kernel_throttled = KeyedValue(tree_->Path(busy) + "/cpu.stat", "nr_throttled").value_or(-1);
  EXPECT_GE(kernel_throttled, throttled);
  EXPECT_LE(kernel_throttled, throttled + 10);

  // PSI per container: a throttled runnable task waits for CPU, so its
  // cgroup's cpu.pressure "some" grows; a sleeping container's does not.
  double psi_busy = SampleValue(m, "container_pressure_cpu_waiting_seconds_total", {Id(busy)}).value_or(0) - *psi_busy0;
  double psi_idle = SampleValue(m, "container_pressure_cpu_waiting_seconds_total", {Id(docker)}).value_or(0) - *psi_idle0;
  std::cout << "cpu pressure (some) over the window: throttled container " << psi_busy
            << " s, sleeping container " << psi_idle << " s\n";
  EXPECT_GT(psi_busy, 0.3 * (t1 - t0)) << "cpu pressure of the throttled container";
  EXPECT_LT(psi_idle, 0.05 * (t1 - t0)) << "cpu pressure of a sleeping container";
  EXPECT_TRUE(SampleValue(m, "container_pressure_memory_waiting_seconds_total", {Id(busy)}).has_value());
  EXPECT_TRUE(SampleValue(m, "container_pressure_io_waiting_seconds_total", {Id(busy)}).has_value());
  EXPECT_EQ(SampleValue(m, "nodepulse_read_errors_total", {"collector=\"cgroup\""}).value_or(-1), 0);
  RemoveTree(dir);
}

// --- cgroupfs driver: memory.max exceeded -> OOM kill -> counted -----------

TEST_F(CgroupV2, OomKillIsCountedForTheContainerAndItsPod) {
  const std::string pod = "/kubepods/burstable/pod5a1c7e2d-3b4f-4c6d-8e9f-0a1b2c3d4e04";
  const std::string ctr = pod + "/" + HexId('d');
  const std::string calm = pod + "/" + HexId('e');
  ASSERT_TRUE(tree_->Make(ctr));
  ASSERT_TRUE(tree_->Make(calm));
  ASSERT_TRUE(tree_->Write(ctr, "memory.max", std::to_string(32 << 20)));
  if (Exists(tree_->Path(ctr) + "/memory.swap.max")) {
    ASSERT_TRUE(tree_->Write(ctr, "memory.swap.max", "0"));
  }
  ASSERT_GT(tree_->Spawn(calm, Work::kSleep), 0);

  AgentHarness agent(Flags({"--interval=100ms", "--rescan-interval=500ms"}));
  ASSERT_TRUE(agent.ok()) << agent.child().Output();
  std::string m;
  ASSERT_TRUE(WaitFor([&] {
    m = agent.Metrics();
    return SampleValue(m, "container_oom_events_total", {Id(ctr)}).has_value();
  }, 10000, 100)) << m.substr(0, 3000);
  EXPECT_EQ(SampleValue(m, "container_oom_events_total", {Id(ctr)}).value_or(-1), 0);
  EXPECT_EQ(SampleValue(m, "container_spec_memory_limit_bytes", {Id(ctr)}).value_or(-1), 32 << 20);
  double failcnt0 = SampleValue(m, "container_memory_failcnt", {Id(ctr)}).value_or(-1);
  EXPECT_EQ(failcnt0, 0);

  // 96 MiB touched under a 32 MiB memory.max, no swap: the kernel's OOM
  // killer ends it with SIGKILL.
  pid_t hog = tree_->Spawn(ctr, Work::kAlloc, 96);
  ASSERT_GT(hog, 0);
  int st = tree_->WaitExit(hog, 60000);
  ASSERT_NE(st, -1) << "the allocating process was not killed within 60 s";
  EXPECT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL) << "wait status " << st;
  EXPECT_GE(KeyedValue(tree_->Path(ctr) + "/memory.events", "oom_kill").value_or(0), 1)
      << ReadFile(tree_->Path(ctr) + "/memory.events");

  bool counted = WaitFor([&] {
    m = agent.Metrics();
    return SampleValue(m, "container_oom_events_total", {Id(ctr)}).value_or(0) >= 1;
  }, 5000, 100);
  EXPECT_TRUE(counted) << "container_oom_events_total did not rise\n" << m.substr(0, 3000);
  // memory.events is hierarchical: the pod counts its container's kill; the
  // sibling container does not.
  EXPECT_GE(SampleValue(m, "container_oom_events_total", {Id(pod)}).value_or(0), 1);
  EXPECT_EQ(SampleValue(m, "container_oom_events_total", {Id(calm)}).value_or(-1), 0);
  // memory.events "max" (usage hit memory.max) is v2's failcnt.
  EXPECT_GT(SampleValue(m, "container_memory_failcnt", {Id(ctr)}).value_or(0), 0);
  EXPECT_EQ(HttpGet(agent.port(), "/healthz").status, 200);
  EXPECT_FALSE(agent.child().Exited());
}

// --- OOM kill, then the cgroup removed at once: the kill is still exported --

// The runtime removes a killed container's cgroup milliseconds after its last
// process dies, long before the next 1 s cycle. The agent reads memory.events
// when the kernel reports the change (inotify) and keeps a gone cgroup's event
// counters exported for a grace period, so the kill is scraped anyway.
TEST_F(CgroupV2, OomKilledContainerKeepsItsCountersAfterItsCgroupIsRemoved) {
  const std::string pod = "/kubepods/burstable/pod5a1c7e2d-3b4f-4c6d-8e9f-0a1b2c3d4e05";
  const std::string ctr = pod + "/" + HexId('f');
  ASSERT_TRUE(tree_->Make(ctr));
  ASSERT_TRUE(tree_->Write(ctr, "memory.max", std::to_string(32 << 20)));
  if (Exists(tree_->Path(ctr) + "/memory.swap.max")) {
    ASSERT_TRUE(tree_->Write(ctr, "memory.swap.max", "0"));
  }
  // The default 1 s interval and a slow interval far beyond the test: only
  // the event read can export the kill.
  AgentHarness agent(Flags({"--interval=1s", "--slow-interval=1h", "--rescan-interval=1h"}));
  ASSERT_TRUE(agent.ok()) << agent.child().Output();
  std::string m;
  ASSERT_TRUE(WaitFor([&] {
    m = agent.Metrics();
    return SampleValue(m, "container_oom_events_total", {Id(ctr)}).has_value();
  }, 20000, 100)) << m.substr(0, 3000);
  EXPECT_EQ(SampleValue(m, "container_oom_events_total", {Id(ctr)}).value_or(-1), 0);

  pid_t hog = tree_->Spawn(ctr, Work::kAlloc, 96);
  ASSERT_GT(hog, 0);
  int st = tree_->WaitExit(hog, 60000);
  ASSERT_NE(st, -1) << "the allocating process was not killed within 60 s";
  EXPECT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL) << "wait status " << st;
  const double t_removed = MonoSeconds();
  ASSERT_TRUE(tree_->Remove(ctr));
  ASSERT_FALSE(Exists(tree_->Path(ctr)));

  // Until the agent has noticed the removal (its series other than the
  // event counters are gone), then: the kill is there.
  bool retired = WaitFor([&] {
    m = agent.Metrics();
    return !SampleValue(m, "container_memory_working_set_bytes", {Id(ctr)}).has_value();
  }, 10000, 100);
  EXPECT_TRUE(retired) << "the removed cgroup's series were not dropped\n" << m.substr(0, 3000);
  EXPECT_GE(SampleValue(m, "container_oom_events_total", {Id(ctr)}).value_or(0), 1)
      << m.substr(0, 3000);
  EXPECT_GE(SampleValue(m, "container_memory_events_total", {Id(ctr), "event=\"oom_kill\""})
                .value_or(0), 1);
  EXPECT_GE(SampleValue(m, "nodepulse_event_reads_total", {"collector=\"cgroup\""}).value_or(0), 1);
  // Still there a scrape interval (15 s) later.
  while (MonoSeconds() - t_removed < 16) ::usleep(200 * 1000);
  m = agent.Metrics();
  EXPECT_GE(SampleValue(m, "container_oom_events_total", {Id(ctr)}).value_or(0), 1)
      << "the kill was dropped within a scrape interval of the removal";
  std::cout << "oom_kill of the removed cgroup exported "
            << MonoSeconds() - t_removed << " s after its removal\n";
  EXPECT_EQ(SampleValue(m, "nodepulse_read_errors_total", {"collector=\"cgroup\""}).value_or(-1), 0);
  EXPECT_FALSE(agent.child().Exited());
}

// --- io.stat per block device ---------------------------------------------

TEST_F(CgroupV2, IoStatPerDeviceForDirectIo) {
  // Only the VM's scratch disk, recognised by the serial the runner gave it:
  // the test writes to the raw device.
  const char* disk = std::getenv("NODEPULSE_VM_SCRATCH_DISK");
  std::string dev = disk ? disk : "";
  std::string name = dev.substr(dev.rfind('/') + 1);
  if (dev.empty() || !InVm() ||
      absl::StripAsciiWhitespace(ReadFile("/sys/block/" + name + "/serial")) != "nodepulse-scratch") {
    GTEST_SKIP() << "needs the scratch disk of the test VM (runs inside tests/vm)";
  }
  std::string majmin = std::string(absl::StripAsciiWhitespace(ReadFile("/sys/block/" + name + "/dev")));
  std::vector<std::string> mm = absl::StrSplit(majmin, ':');
  ASSERT_EQ(mm.size(), 2u) << majmin;

  const std::string pod = SystemdPodSlice("besteffort", "5a1c7e2d-3b4f-4c6d-8e9f-0a1b2c3d4e05");
  const std::string ctr = pod + "/cri-containerd-" + HexId('f') + ".scope";
  ASSERT_TRUE(tree_->Make(ctr));
  AgentHarness agent(Flags({"--interval=100ms", "--rescan-interval=500ms"}));
  ASSERT_TRUE(agent.ok()) << agent.child().Output();
  ASSERT_TRUE(WaitFor([&] {
    return SampleValue(agent.Metrics(), "container_memory_usage_bytes", {Id(ctr)}).has_value();
  }, 10000, 100));

  // The device shows up in io.stat only once this cgroup did I/O on it: the
  // agent must pick it up mid-run.
  pid_t io = tree_->Spawn(ctr, Work::kDirectIo, 8, dev);
  ASSERT_GT(io, 0);
  int st = tree_->WaitExit(io, 60000);
  ASSERT_TRUE(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0) << "direct I/O child: status " << st;
  std::string stat = ReadFile(tree_->Path(ctr) + "/io.stat");
  EXPECT_TRUE(absl::StrContains(stat, majmin + " ")) << stat;

  const std::string devsel = "device=\"" + dev + "\"";
  std::string m;
  bool seen = WaitFor([&] {
    m = agent.Metrics();
    return SampleValue(m, "container_fs_writes_bytes_total", {Id(ctr), devsel}).value_or(0) >= 8 << 20 &&
           SampleValue(m, "container_fs_reads_bytes_total", {Id(ctr), devsel}).value_or(0) >= 4 << 20;
  }, 5000, 100);
  EXPECT_TRUE(seen) << "io.stat:\n" << stat << "\n" << m.substr(0, 3000);
  EXPECT_GE(SampleValue(m, "container_fs_writes_total", {Id(ctr), devsel}).value_or(0), 8);
  EXPECT_GE(SampleValue(m, "container_fs_reads_total", {Id(ctr), devsel}).value_or(0), 4);
  EXPECT_GE(SampleValue(m, "container_blkio_device_usage_total",
                        {Id(ctr), devsel, "major=\"" + mm[0] + "\"", "minor=\"" + mm[1] + "\"",
                         "operation=\"Write\""}).value_or(0), 8 << 20);
  // io.stat is hierarchical: the pod slice has it too.
  EXPECT_GE(SampleValue(m, "container_fs_writes_bytes_total", {Id(pod), devsel}).value_or(0), 8 << 20);
  // Direct I/O waits on the device: io pressure is accounted to the container.
  EXPECT_TRUE(SampleValue(m, "container_pressure_io_waiting_seconds_total", {Id(ctr)}).has_value());
}

// --- cgroups removed while the agent reads them ----------------------------

TEST_F(CgroupV2, RemovalMidReadDropsSeriesWithoutErrorsOrCrash) {
  // Both drivers' names side by side, as on a node migrating between them.
  std::vector<std::string> containers, pods;
  for (int i = 0; i < 4; ++i) {
    std::string uid = absl::StrCat("5a1c7e2d-3b4f-4c6d-8e9f-0a1b2c3d4f", i, i);
    pods.push_back(SystemdPodSlice("burstable", uid));
    containers.push_back(pods.back() + "/cri-containerd-" + HexId(static_cast<char>('0' + i)) + ".scope");
    pods.push_back(absl::StrCat("/kubepods/besteffort/pod", uid));
    containers.push_back(pods.back() + "/" + HexId(static_cast<char>('a' + i)));
  }
  const std::string survivor = SystemdPodSlice("", "5a1c7e2d-3b4f-4c6d-8e9f-0a1b2c3d4f99") + "/crio-" + HexId('9') + ".scope";
  ASSERT_TRUE(tree_->Make(survivor));
  ASSERT_GT(tree_->Spawn(survivor, Work::kSleep), 0);
  std::vector<pid_t> pids;
  for (const std::string& c : containers) {
    ASSERT_TRUE(tree_->Make(c));
    pids.push_back(tree_->Spawn(c, Work::kSleep));
    ASSERT_GT(pids.back(), 0);
  }

  // 100 ms cycles; rescans at 300 ms, so most removals are met by a read of
  // an open file (ENODEV) rather than by the directory walk.
  AgentHarness agent(Flags({"--interval=100ms", "--rescan-interval=300ms"}));
  ASSERT_TRUE(agent.ok()) << agent.child().Output();
  std::string m;
  ASSERT_TRUE(WaitFor([&] {
    m = agent.Metrics();
    for (const std::string& c : containers) {
      if (!SampleValue(m, "container_memory_usage_bytes", {Id(c)})) return false;
    }
    return true;
  }, 10000, 100)) << m.substr(0, 3000);
  double read_errors0 = SampleValue(m, "nodepulse_read_errors_total", {"collector=\"cgroup\""}).value_or(-1);
  double parse_errors0 = SampleValue(m, "nodepulse_parse_errors_total", {"collector=\"cgroup\""}).value_or(-1);
  ASSERT_GE(read_errors0, 0) << m.substr(0, 3000);

  // Churn: remove one container every ~70 ms (not aligned with the 100 ms
  // cycle) and create a short-lived one in its place, for ~3 s.
  std::vector<std::string> removed;
  std::mt19937 rng(42);
  for (int round = 0; round < 40; ++round) {
    std::string extra = absl::StrCat(SystemdPodSlice("besteffort", "5a1c7e2d-3b4f-4c6d-8e9f-0a1b2c3d5000"),
                                     "/docker-", round % 10, HexId('1').substr(1), ".scope");
    ASSERT_TRUE(tree_->Make(extra));
    pid_t p = tree_->Spawn(extra, Work::kSleep);
    ASSERT_GT(p, 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(20 + rng() % 100));
    tree_->Kill(p);
    ASSERT_TRUE(tree_->Remove(extra));
    removed.push_back(extra);
    if (round % 5 == 4 && !containers.empty()) {
      size_t i = rng() % containers.size();
      tree_->Kill(pids[i]);
      ASSERT_TRUE(tree_->Remove(containers[i]));
      removed.push_back(containers[i]);
      containers.erase(containers.begin() + static_cast<long>(i));
      pids.erase(pids.begin() + static_cast<long>(i));
    }
  }
  // Remove the rest, then the pods, in one go.
  for (size_t i = 0; i < containers.size(); ++i) {
    tree_->Kill(pids[i]);
    ASSERT_TRUE(tree_->Remove(containers[i]));
    removed.push_back(containers[i]);
  }
  for (const std::string& p : pods) {
    ASSERT_TRUE(tree_->Remove(p));
    removed.push_back(p);
  }

  // Gone within a few cycles; the survivor stays; nothing counted as error.
  bool gone = WaitFor([&] {
    m = agent.Metrics();
    for (const std::string& r : removed) {
      if (absl::StrContains(m, Id(r))) return false;
    }
    return true;
  }, 2000, 50);
  EXPECT_TRUE(gone) << "series of removed cgroups still exported";
  EXPECT_TRUE(SampleValue(m, "container_memory_usage_bytes", {Id(survivor)}).has_value());
  EXPECT_EQ(SampleValue(m, "nodepulse_read_errors_total", {"collector=\"cgroup\""}).value_or(-1), read_errors0)
      << "removal is churn, not a read error";
  EXPECT_EQ(SampleValue(m, "nodepulse_parse_errors_total", {"collector=\"cgroup\""}).value_or(-1), parse_errors0);
  EXPECT_FALSE(agent.child().Exited()) << agent.child().Output();
  EXPECT_EQ(HttpGet(agent.port(), "/healthz").status, 200);
  EXPECT_GE(SampleValue(m, "nodepulse_cycles_total").value_or(0), 30);
}

}  // namespace
}  // namespace nodepulse::testing
