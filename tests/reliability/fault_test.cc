// Fault injection (issue #8, part 5), each against the real agent:
//  - real cgroups removed while the agent reads them every 100 ms (ENODEV,
//    ENOENT mid-read);
//  - cgroup files in a fixture-tree copy that fail on read (EINVAL from a
//    bind-mounted kernel file, EISDIR), hold garbage, or vanish with their
//    cgroup;
//  - wall-clock jumps of +-1 h (libfaketime on CLOCK_REALTIME only):
//    intervals run on CLOCK_MONOTONIC, timestamps follow the wall clock:
//    collection, rescans and the remote_write queue's fsyncs keep their
//    pace, and the kubelet's stale grace neither ends early nor lasts;
//  - kubelet faults (slow, garbage, 500, closed, oversized) while the cgroup
//    collection goes on.
// remote_write's full disk and SIGKILL-restart are in remote_write_fault_test.cc.
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "agent_harness.h"
#include "fake_kubelet.h"
#include "gtest/gtest.h"
#include "process.h"
#include "reliability_util.h"
#include "test_cgroup.h"

namespace nodepulse::testing {
namespace {

namespace fs = std::filesystem;

constexpr char kFixture[] = "/cgroup/v1-cgroupfs-debian12";
constexpr char kPod[] = "pod6f1c2a9e-0b4d-4e1f-9a57-3c2d1e0f9a01";
constexpr char kContainerA[] = "9c1e3a5b7d9f1b3d5f7a9c1e3b5d7f9a1c3e5b7d9f1a3c5e7b9d1f3a5c7e9b02";
constexpr char kContainerB[] = "4f0a1c8e2b6d9f3a5c7e1b0d2f4a6c8e0b2d4f6a8c0e2a4c6e8f0a2b4c6d8e01";

std::string CgroupSel(const std::string& id) { return "id=\"" + id + "\""; }

TEST(Faults, RealCgroupsRemovedWhileReadEvery100ms) {
  if (std::string why = TestCgroupTree::Unavailable(); !why.empty()) GTEST_SKIP() << why;
  TestCgroupTree tree("vanish");
  const std::string ours = "id=\"/" + tree.parent() + "/";
  AgentHarness agent({"--interval=100ms", "--rescan-interval=100ms"});
  ASSERT_TRUE(agent.ok()) << agent.child().Output();
  std::this_thread::sleep_for(std::chrono::seconds(1));
  std::string m = agent.Metrics();
  const double read0 = Sum(m, "nodepulse_read_errors_total");
  const double parse0 = Sum(m, "nodepulse_parse_errors_total");
  const double cycles0 = SampleValue(m, "nodepulse_cycles_total").value_or(0);
  const size_t warn0 = WarnLines(agent.child().Output());

  // Removal at random moments relative to the 100 ms cycle, so reads land
  // before, during and after the rmdir.
  std::mt19937 rng(12345);
  const double start = MonoNow();
  int removed = 0;
  while (MonoNow() - start < 10) {
    for (int i = 0; i < 20; ++i) {
      std::string c = "v" + std::to_string(i);
      tree.AddChild(c);
      ASSERT_GT(tree.StartProcess(c, "alloc:1", 60), 0);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100 + rng() % 300));
    for (int i = 0; i < 20; ++i) {
      tree.RemoveChild("v" + std::to_string(i));
      ++removed;
      if (rng() % 4 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 30));
    }
  }
  ASSERT_TRUE(WaitFor([&] { return CountLinesWith(agent.Metrics(), ours) == 0; }, 5000, 100))
      << "series of removed cgroups still exported";
  m = agent.Metrics();
  const double read_errors = Sum(m, "nodepulse_read_errors_total") - read0;
  const double parse_errors = Sum(m, "nodepulse_parse_errors_total") - parse0;
  const double cycles = SampleValue(m, "nodepulse_cycles_total").value_or(0) - cycles0;
  const size_t warns = WarnLines(agent.child().Output()) - warn0;
  Figure("vanish_cgroups_removed_mid_read", removed);
  Figure("vanish_cycles", cycles);
  Figure("vanish_read_errors", read_errors);
  Figure("vanish_parse_errors", parse_errors);
  Figure("vanish_warn_lines", static_cast<double>(warns));
  EXPECT_FALSE(agent.child().Exited()) << agent.child().Output();
  // Gone mid-read is "no data", not an error (ENODEV/ENOENT -> dropped).
  EXPECT_EQ(read_errors, 0);
  EXPECT_EQ(parse_errors, 0);
  EXPECT_LE(warns, 2u) << agent.child().Output().substr(0, 4000);
  EXPECT_GE(cycles, 50);
  EXPECT_EQ(Sum(m, "nodepulse_collector_success", {"collector=\"cgroup\""}), 1);
}

// A copy of the v1-cgroupfs-debian12 fixture tree that the test damages.
class FixtureFaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir("nodepulse-test-faults");
    ASSERT_FALSE(dir_.empty());
    const fs::path src = std::string(NODEPULSE_FIXTURES) + kFixture;
    fs::copy(src / "sys", fs::path(dir_) / "sys", fs::copy_options::recursive);
    fs::copy(src / "proc", fs::path(dir_) / "proc", fs::copy_options::recursive);
  }
  void TearDown() override {
    for (const std::string& m : mounts_) ::umount2(m.c_str(), MNT_DETACH);
    RemoveTree(dir_);
  }
  std::string Ctl(const std::string& controller, const std::string& container) const {
    return dir_ + "/sys/fs/cgroup/" + controller + "/kubepods/" + kPod + "/" + container;
  }
  // Bind-mounts a kernel file whose read fails with EINVAL over `path`.
  bool BindEinval(const std::string& path) {
    const char* src = "/sys/fs/cgroup/memory/memory.force_empty";
    if (::access(src, F_OK) != 0) return false;
    if (::mount(src, path.c_str(), nullptr, MS_BIND, nullptr) != 0) return false;
    mounts_.push_back(path);
    return true;
  }
  std::vector<std::string> Flags() const {
    return {"--interval=200ms", "--rescan-interval=200ms", "--cgroup-root=" + dir_ + "/sys/fs/cgroup",
            "--proc-root=" + dir_ + "/proc"};
  }

  std::string dir_;
  std::vector<std::string> mounts_;
};

TEST_F(FixtureFaultTest, FilesFailingOnReadAreCountedLoggedOnceAndTheRestGoesOn) {
  if (geteuid() != 0) GTEST_SKIP() << "bind mounts need root";
  const std::string id_a = std::string("/kubepods/") + kPod + "/" + kContainerA;
  const std::string id_b = std::string("/kubepods/") + kPod + "/" + kContainerB;
  // A: memory.usage_in_bytes reads EINVAL (as a kernel file that cannot be
  // read). The damaged files are ones read at every cycle (the activity
  // signals of cgroup_files.h): this copied tree never changes, so files
  // of the `active` cadence, such as memory.stat, are read only with the
  // slow files here.
  ASSERT_TRUE(BindEinval(Ctl("memory", kContainerA) + "/memory.usage_in_bytes")) << strerror(errno);
  // B: cpuacct.usage is a directory (open works, read gives EISDIR) and
  // memory.usage_in_bytes holds garbage.
  fs::remove(Ctl("cpuacct", kContainerB) + "/cpuacct.usage");
  fs::create_directory(Ctl("cpuacct", kContainerB) + "/cpuacct.usage");
  ASSERT_TRUE(WriteFile(Ctl("memory", kContainerB) + "/memory.usage_in_bytes", "12x4\n"));

  AgentHarness agent(Flags());
  ASSERT_TRUE(agent.ok()) << agent.child().Output();
  std::string m0 = agent.Metrics();
  std::this_thread::sleep_for(std::chrono::seconds(3));
  std::string m1 = agent.Metrics();
  const double cycles = SampleValue(m1, "nodepulse_cycles_total").value_or(0) -
                        SampleValue(m0, "nodepulse_cycles_total").value_or(0);
  const std::vector<std::string> cg = {"collector=\"cgroup\""};
  const double read_errors = Sum(m1, "nodepulse_read_errors_total", cg) - Sum(m0, "nodepulse_read_errors_total", cg);
  const double parse_errors = Sum(m1, "nodepulse_parse_errors_total", cg) - Sum(m0, "nodepulse_parse_errors_total", cg);
  const std::string log = agent.child().Output();
  Figure("fixture_faults_cycles", cycles);
  Figure("fixture_faults_read_errors", read_errors);
  Figure("fixture_faults_parse_errors", parse_errors);
  Figure("fixture_faults_warn_lines", static_cast<double>(WarnLines(log)));

  // Two unreadable files: two read errors per cycle; one garbage file: one
  // parse error per cycle (+-1 cycle between the two scrapes).
  EXPECT_GE(read_errors, 2 * (cycles - 1));
  EXPECT_LE(read_errors, 2 * (cycles + 1));
  EXPECT_GE(parse_errors, cycles - 1);
  EXPECT_LE(parse_errors, cycles + 1);
  // Logged once per cgroup and file, not per cycle.
  EXPECT_LE(WarnLines(log), 4u) << log;
  EXPECT_TRUE(absl::StrContains(log, "Invalid argument")) << log;
  EXPECT_TRUE(absl::StrContains(log, "Is a directory")) << log;
  // The other files of the same cgroups are still read, and the collector
  // as a whole succeeds.
  EXPECT_TRUE(SampleValue(m1, "container_cpu_usage_seconds_total", {CgroupSel(id_a)}).has_value());
  EXPECT_TRUE(SampleValue(m1, "container_memory_rss", {CgroupSel(id_a)}).has_value());
  EXPECT_FALSE(SampleValue(m1, "container_memory_usage_bytes", {CgroupSel(id_a)}).has_value());
  EXPECT_TRUE(SampleValue(m1, "container_memory_rss", {CgroupSel(id_b)}).has_value());
  EXPECT_EQ(Sum(m1, "nodepulse_collector_success", cg), 1);
  EXPECT_EQ(HttpGet(agent.port(), "/healthz").status, 200);
}

TEST_F(FixtureFaultTest, CgroupDirectoryVanishingDropsItsSeriesWithoutErrors) {
  const std::string id_b = std::string("/kubepods/") + kPod + "/" + kContainerB;
  AgentHarness agent(Flags());
  ASSERT_TRUE(agent.ok()) << agent.child().Output();
  ASSERT_TRUE(WaitFor([&] {
    return SampleValue(agent.Metrics(), "container_cpu_usage_seconds_total", {CgroupSel(id_b)}).has_value();
  }, 5000, 100));
  std::string m0 = agent.Metrics();
  // Remove the container from every hierarchy while the agent holds its
  // files open (regular files keep reading their old inode until rescan).
  for (const char* ctl : {"cpu", "cpuacct", "memory", "blkio", "pids"}) {
    fs::remove_all(Ctl(ctl, kContainerB));
  }
  EXPECT_TRUE(WaitFor([&] {
    return !SampleValue(agent.Metrics(), "container_cpu_usage_seconds_total", {CgroupSel(id_b)}).has_value();
  }, 3000, 100)) << "series of the removed cgroup still exported";
  std::string m1 = agent.Metrics();
  EXPECT_EQ(Sum(m1, "nodepulse_read_errors_total"), Sum(m0, "nodepulse_read_errors_total"));
  EXPECT_EQ(Sum(m1, "nodepulse_parse_errors_total"), Sum(m0, "nodepulse_parse_errors_total"));
  EXPECT_FALSE(agent.child().Exited());
  EXPECT_EQ(WarnLines(agent.child().Output()), 0u) << agent.child().Output();
}

// libfaketime shifts CLOCK_REALTIME for the agent only; CLOCK_MONOTONIC is
// left alone (FAKETIME_DONT_FAKE_MONOTONIC). The offset file is re-read on
// every call (FAKETIME_NO_CACHE), so the test moves the agent's wall clock
// while it runs.
constexpr char kFaketimeLib[] = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1";

// Starts the agent with its wall clock offset by the contents of
// `offset_file` ("+3600", "-3600"...), which the test rewrites to jump it.
// Not under the sanitizers: libfaketime and the ASan runtime both hook
// clock_gettime at start-up, and the ASan agent can hang there
// ("libfaketime: Unexpected recursive calls to clock_gettime()"): every time
// with one clang 14 build of it, never with another of the same source.
// These tests check clock logic, not memory; the Release suite runs them.
constexpr char kFaketimeUnderSanitizer[] =
    "libfaketime + the sanitizer runtime can hang the agent at start-up; the Release suite runs this test";

std::unique_ptr<AgentHarness> StartWithFaketime(const std::vector<std::string>& flags,
                                                const std::string& offset_file) {
  // The child inherits the environment at fork; set it only around the start.
  setenv("LD_PRELOAD", kFaketimeLib, 1);
  setenv("FAKETIME_TIMESTAMP_FILE", offset_file.c_str(), 1);
  setenv("FAKETIME_NO_CACHE", "1", 1);
  setenv("FAKETIME_DONT_FAKE_MONOTONIC", "1", 1);
  // ASan builds: the preloaded library comes before the ASan runtime.
  const char* asan = std::getenv("ASAN_OPTIONS");
  std::string saved_asan = asan ? asan : "";
  setenv("ASAN_OPTIONS", (saved_asan.empty() ? std::string("verify_asan_link_order=0")
                                             : saved_asan + ":verify_asan_link_order=0").c_str(), 1);
  auto agent = std::make_unique<AgentHarness>(flags);
  unsetenv("LD_PRELOAD");
  unsetenv("FAKETIME_TIMESTAMP_FILE");
  unsetenv("FAKETIME_NO_CACHE");
  unsetenv("FAKETIME_DONT_FAKE_MONOTONIC");
  if (saved_asan.empty()) unsetenv("ASAN_OPTIONS"); else setenv("ASAN_OPTIONS", saved_asan.c_str(), 1);
  return agent;
}

TEST(Faults, WallClockJumpsNeitherStallNorBurstCollection) {
  if (::access(kFaketimeLib, R_OK) != 0) GTEST_SKIP() << kFaketimeLib << " missing (apt-get install faketime)";
  if (kSanitized) GTEST_SKIP() << kFaketimeUnderSanitizer;
  if (std::string why = TestCgroupTree::Unavailable(); !why.empty()) GTEST_SKIP() << why;
  TestCgroupTree tree("clock");
  std::string dir = MakeTempDir("nodepulse-test-clock");
  const std::string offset_file = dir + "/offset";
  ASSERT_TRUE(WriteFile(offset_file, "+0\n"));
  // remote_write to a loopback port nobody listens on: every cycle's samples
  // go to the disk queue, whose head segment must be fsync'd about once per
  // second (the fsync interval) whatever the wall clock does.
  ASSERT_EQ(::mkdir((dir + "/state").c_str(), 0700), 0);
  const std::string dead_receiver = "http://127.0.0.1:" + std::to_string(FreeLoopbackPort()) + "/api/v1/write";
  std::unique_ptr<AgentHarness> started = StartWithFaketime(
      {"--interval=500ms", "--rescan-interval=1s", "--remote-write-url=" + dead_receiver, "--state-dir=" + dir + "/state"},
      offset_file);
  AgentHarness& agent = *started;
  ASSERT_TRUE(agent.ok()) << agent.child().Output();

  struct Phase {
    const char* offset;
    double seconds;
    const char* name;
  };
  const Phase phases[] = {{"+0", 0, "none"}, {"+3600", 3600, "forward_1h"}, {"-3600", -3600, "back_1h"}, {"+0", 0, "restored"}};
  int child = 0;
  for (const Phase& p : phases) {
    ASSERT_TRUE(WriteFile(offset_file, std::string(p.offset) + "\n"));
    // absl::Now() resamples the kernel clock within ~2 s; let the jump land.
    std::this_thread::sleep_for(std::chrono::seconds(3));
    std::string m0 = agent.Metrics();
    double t0 = MonoNow();
    // A cgroup that appears after the jump must still be discovered, i.e.
    // the rescan interval keeps running too.
    std::string id = tree.AddChild("c" + std::to_string(child++));
    ASSERT_GT(tree.StartProcess("c" + std::to_string(child - 1), "alloc:1", 60), 0);
    bool discovered = WaitFor([&] {
      return SampleValue(agent.Metrics(), "container_memory_usage_bytes", {CgroupSel(id)}).has_value();
    }, 5000, 100);
    std::this_thread::sleep_for(std::chrono::milliseconds(std::max(0, 4000 - static_cast<int>((MonoNow() - t0) * 1000))));
    std::string m1 = agent.Metrics();
    double elapsed = MonoNow() - t0;
    double cycles = SampleValue(m1, "nodepulse_cycles_total").value_or(0) -
                    SampleValue(m0, "nodepulse_cycles_total").value_or(0);
    double stamp = SampleValue(m1, "nodepulse_last_cycle_timestamp_seconds").value_or(0);
    double skew = stamp - static_cast<double>(time(nullptr));
    double fsyncs = SampleValue(m1, "nodepulse_remote_write_queue_fsyncs_total").value_or(0) -
                    SampleValue(m0, "nodepulse_remote_write_queue_fsyncs_total").value_or(0);
    Figure(std::string("clock_") + p.name + "_cycles_per_second", cycles / elapsed);
    Figure(std::string("clock_") + p.name + "_queue_fsyncs_per_second", fsyncs / elapsed);
    Figure(std::string("clock_") + p.name + "_timestamp_skew_seconds", skew);
    Figure(std::string("clock_") + p.name + "_new_cgroup_discovered", discovered);
    // 500 ms interval: 2 cycles per second of monotonic time, whatever the wall clock does.
    EXPECT_NEAR(cycles / elapsed, 2.0, 0.5) << p.name;
    // Timestamps follow the (jumped) wall clock.
    EXPECT_NEAR(skew, p.seconds, 5) << p.name;
    EXPECT_TRUE(discovered) << p.name << ": a cgroup created after the jump was not discovered";
    // Appends every cycle, fsync interval 1 s: an fsync every 1 to 2 s
    // (0.5/s measured). Timed on the wall clock, a step back stopped them
    // until the wall clock caught up (an hour) or the segment rotated.
    EXPECT_GE(fsyncs, 1) << p.name << ": the disk queue stopped fsyncing";
    EXPECT_EQ(HttpGet(agent.port(), "/healthz").status, 200) << p.name;
  }
  EXPECT_FALSE(agent.child().Exited()) << agent.child().Output();
  RemoveTree(dir);
}

// The kubelet stand-in as in tests/integration/kubelet_e2e_test.cc.
constexpr char kPodUid[] = "3ea3ef66-5f89-43b7-b88b-6ee26f5b18a4";
constexpr char kContainerId[] = "77bb57d9a0006a5ac95a6fa541b2f2a646943143fe1d906aaf70a392d9a62b83";
constexpr char kToken[] = "faults-token-0123456789";

// Gives the fixture tree's pod and container the IDs of the captured kubelet
// responses, writes the token, makes `kubelet` serve them; returns the
// agent's flags (500 ms cycles, kubelet polled every second).
std::vector<std::string> KubeletFlags(const std::string& dir, std::vector<std::string> flags,
                                      const TestCerts& certs, FakeKubelet& kubelet) {
  WriteFile(dir + "/token", std::string(kToken) + "\n");
  for (const auto& ctl : fs::directory_iterator(fs::path(dir) / "sys/fs/cgroup")) {
    fs::path pod = ctl.path() / "kubepods" / kPod;
    if (!fs::exists(pod)) continue;
    if (fs::exists(pod / kContainerA)) fs::rename(pod / kContainerA, pod / kContainerId);
    fs::rename(pod, ctl.path() / "kubepods" / (std::string("pod") + kPodUid));
  }
  kubelet.Serve("/pods", ReadFile(std::string(NODEPULSE_FIXTURES) + "/kubelet/pods.nri-k8s-1.35.json"));
  kubelet.Serve("/stats/summary",
                ReadFile(std::string(NODEPULSE_FIXTURES) + "/kubelet/stats-summary.nri-k8s-1.35.json"));
  flags[0] = "--interval=500ms";
  flags.insert(flags.end(), {"--kubelet-url=" + kubelet.url(), "--kubelet-ca-file=" + certs.ca,
                             "--kubelet-token-file=" + dir + "/token", "--kubelet-node-name=datagen-1-35",
                             "--kubelet-interval=1s", "--kubelet-timeout=1s",
                             "--kubelet-max-response-bytes=1048576"});
  return flags;
}

TEST_F(FixtureFaultTest, KubeletFaultsNeverDelayCgroupCollection) {
  TestCerts certs = MakeTestCerts(dir_);
  ASSERT_TRUE(certs.error.empty()) << certs.error;
  FakeKubelet kubelet(certs.server_cert, certs.server_key, kToken);
  ASSERT_TRUE(kubelet.ok());
  AgentHarness agent(KubeletFlags(dir_, Flags(), certs, kubelet));
  ASSERT_TRUE(agent.ok()) << agent.child().Output();
  const std::string sel = std::string("id=\"/kubepods/pod") + kPodUid + "/" + kContainerId + "\"";
  const std::string labelled = "pod=\"e2e-hpa-6cd8d99884-tggnr\"";
  ASSERT_TRUE(WaitFor([&] {
    return SampleValue(agent.Metrics(), "container_cpu_usage_seconds_total", {sel, labelled}).has_value();
  }, 10000, 100)) << agent.child().Output();

  struct Phase {
    FakeKubelet::Fault fault;
    int arg;
    const char* name;
  };
  const Phase phases[] = {{FakeKubelet::Fault::kSlow, 5000, "slow"},
                          {FakeKubelet::Fault::kGarbage, 0, "garbage"},
                          {FakeKubelet::Fault::kStatus, 500, "status_500"},
                          {FakeKubelet::Fault::kClose, 0, "closed"},
                          {FakeKubelet::Fault::kHugeNoLength, 4 << 20, "oversized"}};
  // Each fault until the client has reported it, then healthy again until it
  // recovers (so its exponential backoff starts from 1 s for the next one).
  for (const Phase& p : phases) {
    kubelet.SetFault(p.fault, p.arg);
    std::string m0 = agent.Metrics();
    double t0 = MonoNow();
    double errors = 0;
    std::string m1;
    bool failed = WaitFor([&] {
      m1 = agent.Metrics();
      errors = Sum(m1, "nodepulse_kubelet_errors_total") - Sum(m0, "nodepulse_kubelet_errors_total");
      return errors >= 1 && SampleValue(m1, "nodepulse_kubelet_up").value_or(-1) == 0 && MonoNow() - t0 > 2;
    }, 20000, 100);
    double elapsed = MonoNow() - t0;
    double cycles = SampleValue(m1, "nodepulse_cycles_total").value_or(0) -
                    SampleValue(m0, "nodepulse_cycles_total").value_or(0);
    Figure(std::string("kubelet_") + p.name + "_cycles_per_second", cycles / elapsed);
    Figure(std::string("kubelet_") + p.name + "_errors", errors);
    EXPECT_TRUE(failed) << p.name << ": the client never reported the fault";
    // Cgroup collection runs at its interval whatever the kubelet does.
    EXPECT_NEAR(cycles / elapsed, 2.0, 0.5) << p.name;
    // Pod labels stay (last good metadata, --kubelet-stale-grace).
    EXPECT_TRUE(SampleValue(m1, "container_cpu_usage_seconds_total", {sel, labelled}).has_value()) << p.name;

    kubelet.SetFault(FakeKubelet::Fault::kNone);
    t0 = MonoNow();
    bool recovered = WaitFor([&] { return SampleValue(agent.Metrics(), "nodepulse_kubelet_up").value_or(-1) == 1; },
                             20000, 100);
    Figure(std::string("kubelet_") + p.name + "_recovery_seconds", MonoNow() - t0);
    EXPECT_TRUE(recovered) << p.name << ": no recovery once the kubelet was healthy";
  }
  EXPECT_FALSE(agent.child().Exited()) << agent.child().Output();
  if (HasFailure()) {
    ADD_FAILURE() << "agent log:\n" << agent.child().Output() << "\nkubelet series:\n"
                  << [&] {
                       std::string out;
                       for (const auto& [line, v] : Samples(agent.Metrics(), "nodepulse_kubelet_errors_total")) {
                         if (v > 0) out += line + "\n";
                       }
                       return out;
                     }();
  }
}

// The kubelet's stale grace is an interval: while the kubelet fails, the
// last good pod labels are kept for --kubelet-stale-grace of CLOCK_MONOTONIC
// time. On the wall clock, a jump forward dropped them at once and a jump
// back kept them until the wall clock caught up.
TEST_F(FixtureFaultTest, WallClockJumpsNeitherEndNorStretchTheKubeletStaleGrace) {
  if (::access(kFaketimeLib, R_OK) != 0) GTEST_SKIP() << kFaketimeLib << " missing (apt-get install faketime)";
  if (kSanitized) GTEST_SKIP() << kFaketimeUnderSanitizer;
  TestCerts certs = MakeTestCerts(dir_);
  ASSERT_TRUE(certs.error.empty()) << certs.error;
  FakeKubelet kubelet(certs.server_cert, certs.server_key, kToken);
  ASSERT_TRUE(kubelet.ok());
  const std::string offset_file = dir_ + "/offset";
  ASSERT_TRUE(WriteFile(offset_file, "+0\n"));
  std::vector<std::string> flags = KubeletFlags(dir_, Flags(), certs, kubelet);
  constexpr int kGraceS = 15;
  flags.push_back("--kubelet-stale-grace=" + std::to_string(kGraceS) + "s");
  std::unique_ptr<AgentHarness> started = StartWithFaketime(flags, offset_file);
  AgentHarness& agent = *started;
  ASSERT_TRUE(agent.ok()) << agent.child().Output();
  const std::string sel = std::string("id=\"/kubepods/pod") + kPodUid + "/" + kContainerId + "\"";
  const std::string labelled = "pod=\"e2e-hpa-6cd8d99884-tggnr\"";
  auto has_labels = [&] {
    return SampleValue(agent.Metrics(), "container_cpu_usage_seconds_total", {sel, labelled}).has_value();
  };
  constexpr char kExpired[] = "kubelet pods metadata older than";
  ASSERT_TRUE(WaitFor(has_labels, 10000, 100)) << agent.child().Output();

  // The kubelet fails from now on; the labels are at most ~1 s old.
  kubelet.SetFault(FakeKubelet::Fault::kStatus, 500);
  const double fault_at = MonoNow();
  ASSERT_TRUE(WaitFor([&] { return SampleValue(agent.Metrics(), "nodepulse_kubelet_up").value_or(-1) == 0; },
                      10000, 100));
  // Wall clock +1 h; absl::Now() picks a step up within ~2 s.
  ASSERT_TRUE(WriteFile(offset_file, "+3600\n"));
  std::this_thread::sleep_for(std::chrono::seconds(3));
  const double checked_after = MonoNow() - fault_at;
  const bool kept_after_forward_jump = has_labels();
  Figure("kubelet_grace_forward_1h_checked_after_seconds", checked_after);
  Figure("kubelet_grace_forward_1h_labels_kept", kept_after_forward_jump);
  if (checked_after < kGraceS - 3) {
    EXPECT_TRUE(kept_after_forward_jump) << "pod labels dropped " << checked_after
                                         << " s into a " << kGraceS << " s grace, after a +1 h wall-clock jump";
    EXPECT_FALSE(absl::StrContains(agent.child().Output(), kExpired)) << agent.child().Output();
  }

  // Wall clock -1 h from the start (2 h back): the grace must still end
  // once kGraceS seconds have really passed since the last good /pods
  // (plus the client's backoff between failed polls: 1, 2, 4, 8, 16 s...).
  ASSERT_TRUE(WriteFile(offset_file, "-3600\n"));
  const bool expired = WaitFor([&] { return absl::StrContains(agent.child().Output(), kExpired); }, 70000, 200);
  const double expired_after = MonoNow() - fault_at;
  Figure("kubelet_grace_expired_after_seconds", expired_after);
  EXPECT_TRUE(expired) << "pod labels still kept " << expired_after << " s into a " << kGraceS
                       << " s grace, after a -2 h wall-clock jump";
  EXPECT_GE(expired_after, kGraceS - 2) << "the grace ended early";
  EXPECT_TRUE(WaitFor([&] { return !has_labels(); }, 10000, 100)) << "labels still exported after the grace";

  // And the kubelet's return brings them back (with the wall clock back in
  // the test certificates' validity).
  ASSERT_TRUE(WriteFile(offset_file, "+0\n"));
  kubelet.SetFault(FakeKubelet::Fault::kNone);
  EXPECT_TRUE(WaitFor(has_labels, 70000, 200)) << "labels not back after the kubelet recovered";
  EXPECT_FALSE(agent.child().Exited()) << agent.child().Output();
}

}  // namespace
}  // namespace nodepulse::testing
