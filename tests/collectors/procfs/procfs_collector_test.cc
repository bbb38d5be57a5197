// Collector behaviour on writable copies of a fixture tree: missing files,
// malformed lines, devices and CPUs that come and go, files that outgrow the
// initial buffer, and a wrong --proc-root.
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "nodepulse/collectors/procfs.h"
#include "nodepulse/pipeline/pipeline.h"
#include "procfs_test_util.h"

namespace nodepulse::collectors::procfs_test {
namespace {

namespace fs = std::filesystem;

// A private copy of a fixture proc tree that tests may edit.
class ProcCopy : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    root_ = (fs::temp_directory_path() /
             absl::StrCat("procfs_test_", getpid(), "_", info->name()))
                .string();
    fs::remove_all(root_);
    fs::copy(FixtureProc("v1-cgroupfs-debian12"), root_, fs::copy_options::recursive);
  }
  void TearDown() override { fs::remove_all(root_); }

  std::unique_ptr<Collector> Make(Pipeline& p) {
    ProcfsOptions options;
    options.proc_root = root_;
    auto c = NewProcfsCollector(options, p);
    EXPECT_TRUE(c.ok()) << c.status();
    return c.ok() ? *std::move(c) : nullptr;
  }
  void Write(const std::string& rel, const std::string& text) { WriteFile(root_ + "/" + rel, text); }

  std::string root_;
  Pipeline pipeline_{pipeline::Options{}};
};

TEST_F(ProcCopy, MissingPressureIsNoDataNotAnError) {
  fs::remove_all(root_ + "/pressure");
  auto c = Make(pipeline_);
  ASSERT_NE(c, nullptr);
  Cycle cy = RunCycle(pipeline_, *c);
  EXPECT_TRUE(cy.status.ok());
  EXPECT_EQ(cy.stats.files_read, 5u);
  EXPECT_EQ(cy.stats.read_errors, 0u);
  EXPECT_EQ(cy.stats.parse_errors, 0u);
  EXPECT_TRUE(SeriesOf(*cy.snap, "node_pressure_cpu_waiting_seconds_total").empty());
  EXPECT_TRUE(SeriesOf(*cy.snap, "nodepulse_node_pressure_avg_ratio").empty());
  EXPECT_DOUBLE_EQ(Value(*cy.snap, "node_load1"), 2.21);
}

TEST_F(ProcCopy, WrongRootFailsAtStartup) {
  ProcfsOptions options;
  options.proc_root = root_ + "/does-not-exist";
  auto c = NewProcfsCollector(options, pipeline_);
  ASSERT_FALSE(c.ok());
  EXPECT_TRUE(absl::IsNotFound(c.status())) << c.status();
}

TEST_F(ProcCopy, FileVanishingAfterOpenIsStillRead) {
  // The fd stays valid after unlink, as with a held /proc file; nothing to
  // re-open every cycle.
  auto c = Make(pipeline_);
  ASSERT_NE(c, nullptr);
  fs::remove(root_ + "/loadavg");
  Cycle cy = RunCycle(pipeline_, *c);
  EXPECT_EQ(cy.stats.read_errors, 0u);
  EXPECT_DOUBLE_EQ(Value(*cy.snap, "node_load1"), 2.21);
}

TEST_F(ProcCopy, MalformedLinesAreCountedAndSkipped) {
  Write("diskstats",
        " 254       0 vda 31105 6853 2923162 11703 5427 7391 2121064 5530 0 6920 18719\n"
        " 254       1 vdb 1 2 3\n"
        "garbage\n"
        " 254      16 vdc 1 2 3 4 5 6 7 8 9 10 11\n");
  Write("loadavg", "not a number\n");
  Write("net/dev", "Inter-|\n face |\n  eth0: 1 2\n    lo: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n");
  auto c = Make(pipeline_);
  ASSERT_NE(c, nullptr);
  Cycle cy = RunCycle(pipeline_, *c);
  EXPECT_TRUE(cy.status.ok());
  EXPECT_EQ(cy.stats.parse_errors, 4u);  // vdb, garbage, loadavg, eth0
  EXPECT_EQ(LabelValues(*cy.snap, "node_disk_reads_completed_total", "device"),
            (std::vector<std::string>{"vda", "vdc"}));
  EXPECT_TRUE(std::isnan(Value(*cy.snap, "node_load1")));
  EXPECT_DOUBLE_EQ(Value(*cy.snap, "node_network_transmit_compressed_total", {{"device", "lo"}}),
                   16);
  EXPECT_DOUBLE_EQ(Value(*cy.snap, "node_memory_MemTotal_bytes"), 24683620.0 * 1024);
}

// In a pod without hostNetwork, <proc-root>/net/dev (a link through `self`)
// is the pod's own namespace; the node's is PID 1's. Both files exist here
// with different devices: the node's must win.
TEST_F(ProcCopy, NetworkIsReadFromPid1NotFromSelf) {
  Write("net/dev",
        "Inter-|\n face |\n"
        "  eth0: 1660 0 0 0 0 0 0 0 2 0 0 0 0 0 0 0\n");
  fs::create_directories(root_ + "/1/net");
  Write("1/net/dev",
        "Inter-|\n face |\n"
        "  ens5: 576000000 0 0 0 0 0 0 0 2 0 0 0 0 0 0 0\n"
        "podman0: 7 0 0 0 0 0 0 0 2 0 0 0 0 0 0 0\n");
  auto c = Make(pipeline_);
  ASSERT_NE(c, nullptr);
  Cycle cy = RunCycle(pipeline_, *c);
  EXPECT_EQ(LabelValues(*cy.snap, "node_network_receive_bytes_total", "device"),
            (std::vector<std::string>{"ens5", "podman0"}));
  EXPECT_DOUBLE_EQ(Value(*cy.snap, "node_network_receive_bytes_total", {{"device", "ens5"}}),
                   576000000);
}

TEST_F(ProcCopy, DevicesComingAndGoingKeepIdsOfTheOthers) {
  auto c = Make(pipeline_);
  ASSERT_NE(c, nullptr);
  Write("net/dev",
        "Inter-|\n face |\n"
        "    lo: 1 0 0 0 0 0 0 0 1 0 0 0 0 0 0 0\n"
        "  eth0: 2 0 0 0 0 0 0 0 2 0 0 0 0 0 0 0\n"
        " veth1: 3 0 0 0 0 0 0 0 3 0 0 0 0 0 0 0\n");
  Cycle a = RunCycle(pipeline_, *c);
  auto eth0 = FindSeries(*a.snap, "node_network_receive_bytes_total", {{"device", "eth0"}});
  ASSERT_TRUE(eth0.has_value());
  ASSERT_TRUE(FindSeries(*a.snap, "node_network_receive_bytes_total", {{"device", "veth1"}}));

  // veth1 goes (pod deleted), veth2 comes, eth0 moves up a position.
  Write("net/dev",
        "Inter-|\n face |\n"
        "  eth0: 20 0 0 0 0 0 0 0 2 0 0 0 0 0 0 0\n"
        " veth2: 4 0 0 0 0 0 0 0 4 0 0 0 0 0 0 0\n"
        "    lo: 10 0 0 0 0 0 0 0 1 0 0 0 0 0 0 0\n");
  Cycle b = RunCycle(pipeline_, *c, 2000);
  EXPECT_EQ(FindSeries(*b.snap, "node_network_receive_bytes_total", {{"device", "eth0"}}), eth0)
      << "a device that stays keeps its series, so its history continues";
  EXPECT_DOUBLE_EQ(b.snap->value(*eth0), 20);
  EXPECT_DOUBLE_EQ(Value(*b.snap, "node_network_receive_bytes_total", {{"device", "lo"}}), 10);
  EXPECT_DOUBLE_EQ(Value(*b.snap, "node_network_receive_bytes_total", {{"device", "veth2"}}), 4);
  EXPECT_EQ(LabelValues(*b.snap, "node_network_receive_bytes_total", "device"),
            (std::vector<std::string>{"eth0", "lo", "veth2"}));
  // All 16 series of veth1 were released.
  for (const auto& l : b.snap->catalog->series) {
    if (l.alive) {
      EXPECT_EQ(l.rendered_labels().find("veth1"), std::string::npos);
    }
  }
}

TEST_F(ProcCopy, CpuHotplug) {
  auto c = Make(pipeline_);
  ASSERT_NE(c, nullptr);
  Cycle a = RunCycle(pipeline_, *c);
  EXPECT_EQ(LabelValues(*a.snap, "node_cpu_seconds_total", "cpu"),
            (std::vector<std::string>{"0", "1"}));
  Write("stat", "cpu  1 1 1 1 1 1 1 1 0 0\ncpu0 100 0 0 0 0 0 0 0 0 0\n"
                "cpu2 200 0 0 0 0 0 0 0 0 0\nctxt 5\n");
  Cycle b = RunCycle(pipeline_, *c, 2000);
  EXPECT_EQ(LabelValues(*b.snap, "node_cpu_seconds_total", "cpu"),
            (std::vector<std::string>{"0", "2"}));
  EXPECT_DOUBLE_EQ(Value(*b.snap, "node_cpu_seconds_total", {{"cpu", "2"}, {"mode", "user"}}), 2);
  EXPECT_EQ(SeriesOf(*b.snap, "node_cpu_seconds_total").size(), 16u);
  // Scalars missing from the new file have no sample this cycle.
  EXPECT_TRUE(std::isnan(Value(*b.snap, "node_forks_total")));
  EXPECT_DOUBLE_EQ(Value(*b.snap, "node_context_switches_total"), 5);
}

TEST_F(ProcCopy, OldKernelCpuLineWithoutStealHasNoStealSeries) {
  // 2.6.0-2.6.10 printed 7 columns: no steal, guest or guest_nice.
  Write("stat", "cpu  1 2 3 4 5 6 7\ncpu0 100 200 300 400 500 600 700\n");
  auto c = Make(pipeline_);
  ASSERT_NE(c, nullptr);
  Cycle cy = RunCycle(pipeline_, *c);
  EXPECT_EQ(cy.stats.parse_errors, 0u);
  EXPECT_EQ(LabelValues(*cy.snap, "node_cpu_seconds_total", "mode"),
            (std::vector<std::string>{"idle", "iowait", "irq", "nice", "softirq", "system",
                                      "user"}));
  EXPECT_DOUBLE_EQ(Value(*cy.snap, "node_cpu_seconds_total", {{"cpu", "0"}, {"mode", "softirq"}}),
                   7);
}

TEST_F(ProcCopy, FileOutgrowingTheBufferIsReadWhole) {
  auto c = Make(pipeline_);
  ASSERT_NE(c, nullptr);
  RunCycle(pipeline_, *c);
  // 512 CPUs make /proc/stat ~20 KB, past the 4 KiB first buffer.
  std::string stat = "cpu  1 2 3 4 5 6 7 8 0 0\n";
  for (int i = 0; i < 512; ++i) absl::StrAppend(&stat, "cpu", i, " ", i, " 0 0 0 0 0 0 0 0 0\n");
  stat += "ctxt 42\n";
  Write("stat", stat);
  Cycle b = RunCycle(pipeline_, *c, 2000);
  EXPECT_EQ(b.stats.parse_errors, 0u);
  EXPECT_EQ(SeriesOf(*b.snap, "node_cpu_seconds_total").size(), 512u * 8);
  EXPECT_DOUBLE_EQ(Value(*b.snap, "node_cpu_seconds_total", {{"cpu", "511"}, {"mode", "user"}}),
                   5.11);
  EXPECT_DOUBLE_EQ(Value(*b.snap, "node_context_switches_total"), 42);
}

TEST_F(ProcCopy, UnreadableFileIsAReadErrorAndOthersContinue) {
  // A directory opens fine with O_RDONLY but every pread fails (EISDIR): a
  // file that exists yet cannot be read.
  fs::remove(root_ + "/meminfo");
  fs::create_directory(root_ + "/meminfo");
  auto c = Make(pipeline_);
  ASSERT_NE(c, nullptr);
  Cycle cy = RunCycle(pipeline_, *c);
  EXPECT_TRUE(cy.status.ok());
  EXPECT_EQ(cy.stats.read_errors, 1u);
  EXPECT_EQ(cy.stats.files_read, 7u);
  EXPECT_TRUE(SeriesOf(*cy.snap, "node_memory_MemTotal_bytes").empty());
  EXPECT_DOUBLE_EQ(Value(*cy.snap, "node_load1"), 2.21);
  // Logged once per outage, counted every cycle.
  EXPECT_EQ(RunCycle(pipeline_, *c, 2000).stats.read_errors, 1u);
}

TEST_F(ProcCopy, NothingReadableIsUnavailable) {
  for (const char* f : {"stat", "meminfo", "loadavg", "diskstats", "net/dev", "pressure/cpu",
                        "pressure/memory", "pressure/io"}) {
    fs::remove(root_ + "/" + f);
    fs::create_directory(root_ + "/" + f);
  }
  auto c = Make(pipeline_);
  ASSERT_NE(c, nullptr);
  Cycle cy = RunCycle(pipeline_, *c);
  EXPECT_TRUE(absl::IsUnavailable(cy.status)) << cy.status;
  EXPECT_EQ(cy.stats.read_errors, 8u);
}

}  // namespace
}  // namespace nodepulse::collectors::procfs_test
