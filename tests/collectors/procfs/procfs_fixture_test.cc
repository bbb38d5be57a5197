// The collector on every captured proc tree under NODEPULSE_FIXTURES.
//
// Two kinds of checks: FixtureTree.* recomputes every expected value from the
// fixture files with an independent, deliberately naive reader (istringstream
// and std::stod, fine in a test) so nothing in a file goes unchecked; the
// per-tree tests quote values from the files and pin the quirks that
// SOURCES.md describes (14/18/20-field diskstats, cpu PSI with and without
// "full", no MemAvailable on the old procfs capture, empty diskstats).
#include <cmath>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "nodepulse/collectors/procfs.h"
#include "nodepulse/pipeline/pipeline.h"
#include "procfs_test_util.h"

namespace nodepulse::collectors::procfs_test {
namespace {

using pipeline::kNodeEntity;
using pipeline::MetricKind;

constexpr const char* kTrees[] = {
    "proc-prometheus-procfs",
    "v1-cgroupfs-debian12",
    "v2-systemd-kubepods-debian-6.1-vm",
};

std::vector<std::vector<std::string>> Lines(const std::string& text) {
  std::vector<std::vector<std::string>> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::vector<std::string> f;
    std::string w;
    while (ls >> w) f.push_back(w);
    if (!f.empty()) out.push_back(f);
  }
  return out;
}

double D(const std::string& s) { return std::stod(s); }

class FixtureTree : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override {
    root_ = FixtureProc(GetParam());
    ProcfsOptions options;
    options.proc_root = root_;
    auto c = NewProcfsCollector(options, pipeline_);
    ASSERT_TRUE(c.ok()) << c.status();
    collector_ = *std::move(c);
    cycle_ = RunCycle(pipeline_, *collector_);
  }
  std::string File(const std::string& rel) { return ReadFile(root_ + "/" + rel); }
  const Snapshot& snap() { return *cycle_.snap; }

  std::string root_;
  Pipeline pipeline_{pipeline::Options{}};
  std::unique_ptr<Collector> collector_;
  Cycle cycle_;
};

TEST_P(FixtureTree, ReadsEveryFileWithoutErrors) {
  EXPECT_TRUE(cycle_.status.ok()) << cycle_.status;
  EXPECT_EQ(cycle_.stats.files_read, 8u);
  EXPECT_EQ(cycle_.stats.read_errors, 0u);
  EXPECT_EQ(cycle_.stats.parse_errors, 0u);
}

TEST_P(FixtureTree, CpuSecondsMatchStat) {
  const char* modes[] = {"user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal"};
  size_t cpus = 0;
  for (const auto& f : Lines(File("stat"))) {
    if (f[0].rfind("cpu", 0) != 0 || f[0] == "cpu") continue;
    ++cpus;
    std::string id = f[0].substr(3);
    for (int m = 0; m < 8; ++m) {
      EXPECT_DOUBLE_EQ(Value(snap(), "node_cpu_seconds_total", {{"cpu", id}, {"mode", modes[m]}}),
                       D(f[1 + m]) / 100)
          << f[0] << " " << modes[m];
    }
  }
  ASSERT_GT(cpus, 0u);
  // The aggregate "cpu" line is not exported, as in node_exporter.
  EXPECT_EQ(SeriesOf(snap(), "node_cpu_seconds_total").size(), cpus * 8);
}

TEST_P(FixtureTree, StatScalarsMatchStat) {
  std::map<std::string, std::string> metric_of = {
      {"intr", "node_intr_total"},          {"ctxt", "node_context_switches_total"},
      {"btime", "node_boot_time_seconds"},  {"processes", "node_forks_total"},
      {"procs_running", "node_procs_running"}, {"procs_blocked", "node_procs_blocked"}};
  int seen = 0;
  for (const auto& f : Lines(File("stat"))) {
    auto it = metric_of.find(f[0]);
    if (it == metric_of.end()) continue;
    ++seen;
    EXPECT_DOUBLE_EQ(Value(snap(), it->second), D(f[1])) << f[0];
  }
  EXPECT_EQ(seen, 6);
}

TEST_P(FixtureTree, EveryMeminfoField) {
  size_t fields = 0;
  for (const auto& f : Lines(File("meminfo"))) {
    // node_exporter's rewrite \((.*)\) -> _$1, spelled out (std::regex trips
    // a GCC 12 -Wmaybe-uninitialized false positive under ASan + -Werror).
    std::string key = f[0].substr(0, f[0].size() - 1);
    size_t open = key.find('('), close = key.rfind(')');
    if (open != std::string::npos && close != std::string::npos && close > open) {
      key = key.substr(0, open) + "_" + key.substr(open + 1, close - open - 1) +
            key.substr(close + 1);
    }
    bool kb = f.size() == 3;
    std::string name = "node_memory_" + key + (kb ? "_bytes" : "");
    ++fields;
    EXPECT_DOUBLE_EQ(Value(snap(), name), D(f[1]) * (kb ? 1024 : 1)) << name;
  }
  EXPECT_GT(fields, 40u);
}

TEST_P(FixtureTree, LoadMatchesLoadavg) {
  auto f = Lines(File("loadavg"))[0];
  EXPECT_DOUBLE_EQ(Value(snap(), "node_load1"), D(f[0]));
  EXPECT_DOUBLE_EQ(Value(snap(), "node_load5"), D(f[1]));
  EXPECT_DOUBLE_EQ(Value(snap(), "node_load15"), D(f[2]));
}

TEST_P(FixtureTree, PressureMatchesFiles) {
  for (std::string res : {"cpu", "memory", "io"}) {
    std::set<std::string> kinds;
    for (const auto& f : Lines(File("pressure/" + res))) {
      const std::string& kind = f[0];
      kinds.insert(kind);
      std::map<std::string, std::string> kv;
      for (size_t i = 1; i < f.size(); ++i) {
        size_t eq = f[i].find('=');
        kv[f[i].substr(0, eq)] = f[i].substr(eq + 1);
      }
      std::string total = "node_pressure_" + res +
                          (kind == "some" ? "_waiting_seconds_total" : "_stalled_seconds_total");
      EXPECT_DOUBLE_EQ(Value(snap(), total), D(kv["total"]) / 1e6) << total;
      for (std::string w : {"10", "60", "300"}) {
        EXPECT_DOUBLE_EQ(Value(snap(), "nodepulse_node_pressure_avg_ratio",
                               {{"kind", kind}, {"resource", res}, {"window", w + "s"}}),
                         D(kv["avg" + w]) / 100)
            << res << " " << kind << " " << w;
      }
    }
    if (!kinds.count("full")) {
      EXPECT_FALSE(FindSeries(snap(), "node_pressure_" + res + "_stalled_seconds_total"));
    }
  }
}

TEST_P(FixtureTree, DiskstatsMatchFileWithDefaultExclude) {
  // What node_exporter's default ^(z?ram|loop|fd|(h|s|v|xv)d[a-z]|nvme\d+n\d+p)\d+$
  // keeps, worked out by hand from each file (ram*, loop*, zram0, fd0 and
  // sd/vd/nvme partitions go; mmcblk partitions, dm-*, sr0 stay).
  const std::map<std::string, std::set<std::string>> kKept = {
      {"proc-prometheus-procfs",
       {"sda", "dm-0", "dm-1", "dm-2", "dm-3", "dm-4", "dm-5", "mmcblk0", "mmcblk0p1",
        "mmcblk0p2", "vda", "sr0", "nvme0n1", "sdb", "sdc"}},
      {"v1-cgroupfs-debian12", {"vda"}},
      {"v2-systemd-kubepods-debian-6.1-vm", {}},
  };
  const std::set<std::string>& kept = kKept.at(GetParam());
  const char* names[] = {
      "node_disk_reads_completed_total", "node_disk_reads_merged_total",
      "node_disk_read_bytes_total", "node_disk_read_time_seconds_total",
      "node_disk_writes_completed_total", "node_disk_writes_merged_total",
      "node_disk_written_bytes_total", "node_disk_write_time_seconds_total",
      "node_disk_io_now", "node_disk_io_time_seconds_total",
      "node_disk_io_time_weighted_seconds_total", "node_disk_discards_completed_total",
      "node_disk_discards_merged_total", "node_disk_discarded_sectors_total",
      "node_disk_discard_time_seconds_total", "node_disk_flush_requests_total",
      "node_disk_flush_requests_time_seconds_total"};
  const double scale[] = {1, 1, 512, 1e-3, 1, 1, 512, 1e-3, 1, 1e-3, 1e-3, 1, 1, 1, 1e-3, 1, 1e-3};
  std::vector<std::string> expected_devices;
  for (const auto& f : Lines(File("diskstats"))) {
    const std::string& dev = f[2];
    if (!kept.count(dev)) {
      EXPECT_FALSE(FindSeries(snap(), names[0], {{"device", dev}})) << dev;
      continue;
    }
    expected_devices.push_back(dev);
    size_t columns = f.size() - 3;
    for (size_t c = 0; c < 17; ++c) {
      double v = Value(snap(), names[c], {{"device", dev}});
      if (c < columns) {
        EXPECT_DOUBLE_EQ(v, D(f[3 + c]) * scale[c]) << dev << " " << names[c];
      } else {
        EXPECT_TRUE(std::isnan(v)) << dev << " " << names[c] << " should not exist";
      }
    }
  }
  std::sort(expected_devices.begin(), expected_devices.end());
  EXPECT_EQ(LabelValues(snap(), names[0], "device"), expected_devices);
}

TEST_P(FixtureTree, NetDevMatchesFile) {
  const char* names[] = {
      "receive_bytes", "receive_packets", "receive_errs", "receive_drop",
      "receive_fifo", "receive_frame", "receive_compressed", "receive_multicast",
      "transmit_bytes", "transmit_packets", "transmit_errs", "transmit_drop",
      "transmit_fifo", "transmit_colls", "transmit_carrier", "transmit_compressed"};
  std::vector<std::string> expected_devices;
  auto lines = Lines(File("net/dev"));
  for (size_t i = 2; i < lines.size(); ++i) {
    auto f = lines[i];
    std::string dev = f[0].substr(0, f[0].size() - 1);
    expected_devices.push_back(dev);
    for (int c = 0; c < 16; ++c) {
      std::string metric = std::string("node_network_") + names[c] + "_total";
      EXPECT_DOUBLE_EQ(Value(snap(), metric, {{"device", dev}}), D(f[1 + c])) << dev << metric;
    }
  }
  std::sort(expected_devices.begin(), expected_devices.end());
  EXPECT_EQ(LabelValues(snap(), "node_network_receive_bytes_total", "device"), expected_devices);
}

TEST_P(FixtureTree, SeriesAreNodeLevelWithOnlyTheirOwnLabels) {
  const Catalog& c = *snap().catalog;
  size_t checked = 0;
  for (size_t m = 0; m < c.metrics.size(); ++m) {
    const std::string& name = c.metrics[m].name;
    std::set<std::string> allowed;
    if (name == "node_cpu_seconds_total") allowed = {"cpu", "mode"};
    else if (name.rfind("node_disk_", 0) == 0 || name.rfind("node_network_", 0) == 0)
      allowed = {"device"};
    else if (name == "nodepulse_node_pressure_avg_ratio") allowed = {"kind", "resource", "window"};
    for (SeriesId id : c.by_metric[m]) {
      ++checked;
      EXPECT_EQ(c.series[id].entity, kNodeEntity) << name;
      std::set<std::string> got;
      for (const auto& l : c.LabelsOf(id)) got.insert(l.name);
      EXPECT_EQ(got, allowed) << name << "{" << c.series[id].rendered_labels() << "}";
      EXPECT_FALSE(std::isnan(snap().value(id))) << name << "{" << c.series[id].rendered_labels()
                                                  << "} has no sample";
    }
  }
  EXPECT_GT(checked, 60u);
}

TEST_P(FixtureTree, NodeExporterHelpTypeAndHistory) {
  const Catalog& c = *snap().catalog;
  auto spec = [&](const std::string& name) -> const pipeline::MetricSpec& {
    auto m = FindMetric(snap(), name);
    EXPECT_TRUE(m.has_value()) << name;
    return c.metrics[m.value_or(0)];
  };
  EXPECT_EQ(spec("node_cpu_seconds_total").help, "Seconds the CPUs spent in each mode.");
  EXPECT_EQ(spec("node_cpu_seconds_total").kind, MetricKind::kCounter);
  EXPECT_TRUE(spec("node_cpu_seconds_total").history);
  EXPECT_EQ(spec("node_context_switches_total").help, "Total number of context switches.");
  EXPECT_EQ(spec("node_boot_time_seconds").kind, MetricKind::kGauge);
  EXPECT_EQ(spec("node_procs_blocked").help,
            "Number of processes blocked waiting for I/O to complete.");
  EXPECT_EQ(spec("node_load1").help, "1m load average.");
  EXPECT_EQ(spec("node_load1").kind, MetricKind::kGauge);
  EXPECT_TRUE(spec("node_load1").history);
  EXPECT_FALSE(spec("node_load5").history);
  EXPECT_EQ(spec("node_memory_MemTotal_bytes").help, "Memory information field MemTotal_bytes.");
  EXPECT_EQ(spec("node_memory_MemTotal_bytes").kind, MetricKind::kGauge);
  EXPECT_FALSE(spec("node_memory_MemTotal_bytes").history);
  EXPECT_EQ(spec("node_memory_HugePages_Total").kind, MetricKind::kGauge);
  EXPECT_EQ(spec("node_pressure_io_stalled_seconds_total").help,
            "Total time in seconds no process could make progress due to IO congestion");
  EXPECT_TRUE(spec("node_pressure_cpu_waiting_seconds_total").history);
  EXPECT_EQ(spec("node_disk_io_now").kind, MetricKind::kGauge);
  EXPECT_EQ(spec("node_disk_written_bytes_total").help,
            "The total number of bytes written successfully.");
  EXPECT_TRUE(spec("node_disk_read_bytes_total").history);
  EXPECT_FALSE(spec("node_disk_reads_completed_total").history);
  EXPECT_EQ(spec("node_network_receive_errs_total").help,
            "Network device statistic receive_errs.");
  EXPECT_EQ(spec("node_network_transmit_bytes_total").kind, MetricKind::kCounter);
  EXPECT_TRUE(spec("node_network_transmit_bytes_total").history);
  EXPECT_FALSE(spec("node_network_transmit_packets_total").history);
  EXPECT_EQ(spec("nodepulse_node_pressure_avg_ratio").kind, MetricKind::kGauge);
}

TEST_P(FixtureTree, SecondCycleCreatesNoSeriesAndSameValues) {
  uint64_t created = pipeline_.stats().series_created;
  Cycle again = RunCycle(pipeline_, *collector_, 2000);
  EXPECT_EQ(pipeline_.stats().series_created, created);
  EXPECT_EQ(again.snap->catalog, cycle_.snap->catalog);  // catalog not even re-published
  EXPECT_EQ(again.stats.parse_errors, 0u);
  for (size_t i = 0; i < cycle_.snap->values.size(); ++i) {
    double a = cycle_.snap->values[i], b = again.snap->values[i];
    EXPECT_TRUE(a == b || (std::isnan(a) && std::isnan(b))) << i;
  }
}

INSTANTIATE_TEST_SUITE_P(Trees, FixtureTree, ::testing::ValuesIn(kTrees),
                         [](const auto& info) {
                           std::string n = info.param;
                           for (char& c : n) if (!isalnum(static_cast<unsigned char>(c))) c = '_';
                           return n;
                         });

// ---- Quoted values and per-tree quirks ----

struct OneCycle {
  explicit OneCycle(const std::string& tree, bool default_exclude = true) {
    ProcfsOptions options;
    options.proc_root = FixtureProc(tree);
    options.diskstats_default_exclude = default_exclude;
    auto c = NewProcfsCollector(options, pipeline);
    EXPECT_TRUE(c.ok()) << c.status();
    collector = *std::move(c);
    cycle = RunCycle(pipeline, *collector);
  }
  const Snapshot& snap() const { return *cycle.snap; }
  Pipeline pipeline{pipeline::Options{}};
  std::unique_ptr<Collector> collector;
  Cycle cycle;
};

TEST(PrometheusProcfsTree, QuotedValues) {
  OneCycle t("proc-prometheus-procfs");
  const Snapshot& s = t.snap();
  // cpu0 44490 19 21045 1087069 220 1 3410 0 0 0
  EXPECT_DOUBLE_EQ(Value(s, "node_cpu_seconds_total", {{"cpu", "0"}, {"mode", "user"}}), 444.90);
  EXPECT_DOUBLE_EQ(Value(s, "node_cpu_seconds_total", {{"cpu", "0"}, {"mode", "idle"}}),
                   10870.69);
  EXPECT_DOUBLE_EQ(Value(s, "node_cpu_seconds_total", {{"cpu", "7"}, {"mode", "nice"}}), 2.68);
  EXPECT_EQ(LabelValues(s, "node_cpu_seconds_total", "cpu"),
            (std::vector<std::string>{"0", "1", "2", "3", "4", "5", "6", "7"}));
  EXPECT_DOUBLE_EQ(Value(s, "node_intr_total"), 73777505);  // 132 KB intr line
  EXPECT_DOUBLE_EQ(Value(s, "node_boot_time_seconds"), 1418183276);
  EXPECT_DOUBLE_EQ(Value(s, "node_memory_MemTotal_bytes"), 15666184.0 * 1024);
  EXPECT_DOUBLE_EQ(Value(s, "node_memory_Active_anon_bytes"), 267256.0 * 1024);
  EXPECT_DOUBLE_EQ(Value(s, "node_memory_HugePages_Total"), 0);
  EXPECT_DOUBLE_EQ(Value(s, "node_memory_Hugepagesize_bytes"), 2048.0 * 1024);
  // A pre-3.14 meminfo: no MemAvailable, so no series (not a zero).
  EXPECT_FALSE(FindMetric(s, "node_memory_MemAvailable_bytes").has_value());
  EXPECT_DOUBLE_EQ(Value(s, "node_load15"), 0.05);
  // cpu PSI has only "some" (pre-5.13): no cpu stalled series.
  EXPECT_DOUBLE_EQ(Value(s, "node_pressure_cpu_waiting_seconds_total"), 15e-6);
  EXPECT_FALSE(FindSeries(s, "node_pressure_cpu_stalled_seconds_total"));
  EXPECT_FALSE(FindSeries(s, "nodepulse_node_pressure_avg_ratio",
                          {{"kind", "full"}, {"resource", "cpu"}, {"window", "10s"}}));
  EXPECT_DOUBLE_EQ(Value(s, "node_pressure_io_stalled_seconds_total"), 25e-6);
  EXPECT_DOUBLE_EQ(Value(s, "nodepulse_node_pressure_avg_ratio",
                         {{"kind", "full"}, {"resource", "memory"}, {"window", "300s"}}),
                   0.0495);
  // ram*, loop*, fd0 and partitions (sda1, vda1, nvme0n1p1, sdb1...) are
  // excluded; mmcblk partitions are not (node_exporter's regex misses them).
  EXPECT_EQ(LabelValues(s, "node_disk_reads_completed_total", "device"),
            (std::vector<std::string>{"dm-0", "dm-1", "dm-2", "dm-3", "dm-4", "dm-5",
                                      "mmcblk0", "mmcblk0p1", "mmcblk0p2", "nvme0n1", "sda",
                                      "sdb", "sdc", "sr0", "vda"}));
  // 14 fields: sda 25354637 34367663 1003346126 18492372 ... 9653880 82621804
  EXPECT_DOUBLE_EQ(Value(s, "node_disk_read_bytes_total", {{"device", "sda"}}),
                   1003346126.0 * 512);
  EXPECT_DOUBLE_EQ(Value(s, "node_disk_read_time_seconds_total", {{"device", "sda"}}),
                   18492.372);
  EXPECT_DOUBLE_EQ(Value(s, "node_disk_io_time_weighted_seconds_total", {{"device", "sda"}}),
                   82621.804);
  EXPECT_FALSE(FindSeries(s, "node_disk_discards_completed_total", {{"device", "sda"}}));
  // 18 fields: sdb ... 68851 0 1925173784 11130
  EXPECT_DOUBLE_EQ(Value(s, "node_disk_discards_completed_total", {{"device", "sdb"}}), 68851);
  EXPECT_DOUBLE_EQ(Value(s, "node_disk_discarded_sectors_total", {{"device", "sdb"}}),
                   1925173784);
  EXPECT_DOUBLE_EQ(Value(s, "node_disk_discard_time_seconds_total", {{"device", "sdb"}}),
                   11.130);
  EXPECT_FALSE(FindSeries(s, "node_disk_flush_requests_total", {{"device", "sdb"}}));
  // 20 fields: sdc ... 0 0 0 0 127 182
  EXPECT_DOUBLE_EQ(Value(s, "node_disk_flush_requests_total", {{"device", "sdc"}}), 127);
  EXPECT_DOUBLE_EQ(Value(s, "node_disk_flush_requests_time_seconds_total", {{"device", "sdc"}}),
                   0.182);
  EXPECT_DOUBLE_EQ(Value(s, "node_network_receive_bytes_total", {{"device", "eth0"}}),
                   874354587);
  EXPECT_DOUBLE_EQ(Value(s, "node_network_transmit_packets_total", {{"device", "eth0"}}),
                   732147);
  EXPECT_EQ(LabelValues(s, "node_network_receive_bytes_total", "device"),
            (std::vector<std::string>{"docker0", "eth0", "lo", "vethf345468"}));
}

TEST(PrometheusProcfsTree, ExcludeOffReportsEveryDiskLine) {
  OneCycle t("proc-prometheus-procfs", /*default_exclude=*/false);
  // 52 lines in the file, all distinct names.
  EXPECT_EQ(SeriesOf(t.snap(), "node_disk_reads_completed_total").size(), 52u);
  EXPECT_DOUBLE_EQ(Value(t.snap(), "node_disk_reads_completed_total", {{"device", "sda1"}}), 250);
}

TEST(V1CgroupfsDebian12Tree, QuotedValues) {
  OneCycle t("v1-cgroupfs-debian12");
  const Snapshot& s = t.snap();
  // cpu0 9125 0 14023 27797 79 0 104 0 0 0
  EXPECT_DOUBLE_EQ(Value(s, "node_cpu_seconds_total", {{"cpu", "0"}, {"mode", "system"}}),
                   140.23);
  EXPECT_DOUBLE_EQ(Value(s, "node_cpu_seconds_total", {{"cpu", "1"}, {"mode", "user"}}), 113.55);
  EXPECT_DOUBLE_EQ(Value(s, "node_context_switches_total"), 653627);
  EXPECT_DOUBLE_EQ(Value(s, "node_forks_total"), 32149);
  EXPECT_DOUBLE_EQ(Value(s, "node_memory_MemAvailable_bytes"), 23746712.0 * 1024);
  EXPECT_TRUE(t.pipeline.snapshot()->catalog->metrics[*FindMetric(s, "node_memory_MemAvailable_bytes")]
                  .history);
  EXPECT_DOUBLE_EQ(Value(s, "node_load1"), 2.21);
  // "some avg10=42.30 ... total=92048105" and an all-zero "full" line.
  EXPECT_DOUBLE_EQ(Value(s, "node_pressure_cpu_waiting_seconds_total"), 92.048105);
  EXPECT_DOUBLE_EQ(Value(s, "node_pressure_cpu_stalled_seconds_total"), 0);
  EXPECT_DOUBLE_EQ(Value(s, "nodepulse_node_pressure_avg_ratio",
                         {{"kind", "some"}, {"resource", "cpu"}, {"window", "10s"}}),
                   0.423);
  EXPECT_DOUBLE_EQ(Value(s, "node_pressure_io_stalled_seconds_total"), 2.452442);
  // loop0-7 and zram0 excluded; vda has 20 fields:
  // vda 31105 6853 2923162 11703 5427 7391 2121064 5530 0 6920 18719 5385 28 145952 808 608 675
  EXPECT_EQ(LabelValues(s, "node_disk_reads_completed_total", "device"),
            (std::vector<std::string>{"vda"}));
  EXPECT_DOUBLE_EQ(Value(s, "node_disk_written_bytes_total", {{"device", "vda"}}),
                   2121064.0 * 512);
  EXPECT_DOUBLE_EQ(Value(s, "node_disk_discarded_sectors_total", {{"device", "vda"}}), 145952);
  EXPECT_DOUBLE_EQ(Value(s, "node_disk_flush_requests_time_seconds_total", {{"device", "vda"}}),
                   0.675);
  EXPECT_EQ(LabelValues(s, "node_network_receive_bytes_total", "device"),
            (std::vector<std::string>{"eth0", "ifb0", "ifb1", "lo"}));
  EXPECT_DOUBLE_EQ(Value(s, "node_network_receive_bytes_total", {{"device", "eth0"}}), 55770457);
}

TEST(V2DebianVmTree, QuotedValues) {
  OneCycle t("v2-systemd-kubepods-debian-6.1-vm");
  const Snapshot& s = t.snap();
  EXPECT_DOUBLE_EQ(Value(s, "node_cpu_seconds_total", {{"cpu", "0"}, {"mode", "user"}}), 61.51);
  EXPECT_DOUBLE_EQ(Value(s, "node_procs_running"), 1);
  EXPECT_DOUBLE_EQ(Value(s, "node_memory_MemTotal_bytes"), 2014152.0 * 1024);
  EXPECT_DOUBLE_EQ(Value(s, "node_load5"), 0.71);
  EXPECT_DOUBLE_EQ(Value(s, "node_pressure_memory_stalled_seconds_total"), 0.042855);
  // diskstats is empty in this capture: no disk series and no error.
  EXPECT_TRUE(SeriesOf(s, "node_disk_reads_completed_total").empty());
  EXPECT_EQ(t.cycle.stats.parse_errors, 0u);
  EXPECT_EQ(LabelValues(s, "node_network_receive_bytes_total", "device"),
            (std::vector<std::string>{"lo"}));
}

}  // namespace
}  // namespace nodepulse::collectors::procfs_test
