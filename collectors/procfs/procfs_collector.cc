// The node collector: reads each /proc file (proc_file.h), parses it
// (proc_parsers.h) and writes values through SeriesIds interned the first
// time a CPU, device or field is seen (series_rows.h). Families and units are
// node_exporter's (node_metrics.h).
#include <algorithm>
#include <array>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "node_metrics.h"
#include "nodepulse/collectors/procfs.h"
#include "nodepulse/base/log.h"
#include "nodepulse/pipeline/metric_names.h"
#include "proc_file.h"
#include "proc_parsers.h"
#include "series_rows.h"

namespace nodepulse::collectors {
namespace procfs {
namespace {

using pipeline::kNodeEntity;
using pipeline::kNoSeries;
using pipeline::Labels;
using pipeline::MetricId;
using pipeline::MetricSpec;
using pipeline::Pipeline;
using pipeline::SeriesId;

enum Source {
  kStat, kMeminfo, kLoadavg, kPressureCpu, kPressureMemory, kPressureIo, kDiskstats, kNetDev,
  kSourceCount
};
constexpr const char* kSourcePaths[kSourceCount] = {
    "stat", "meminfo", "loadavg", "pressure/cpu", "pressure/memory", "pressure/io",
    "diskstats", "net/dev"};

// The scalar families of /proc/stat and /proc/loadavg.
enum Scalar {
  kIntr, kCtxt, kForks, kBootTime, kProcsRunning, kProcsBlocked, kLoad1, kLoad5, kLoad15,
  kScalarCount
};
constexpr ColumnSpec kScalarSpecs[kScalarCount] = {
    {"node_intr_total", "Total number of interrupts serviced.", kCounter, 1, false},
    {"node_context_switches_total", "Total number of context switches.", kCounter, 1, false},
    {"node_forks_total", "Total number of forks.", kCounter, 1, false},
    {"node_boot_time_seconds", "Node boot time, in unixtime.", kGauge, 1, false},
    {"node_procs_running", "Number of processes in runnable state.", kGauge, 1, false},
    {"node_procs_blocked", "Number of processes blocked waiting for I/O to complete.", kGauge, 1,
     false},
    {metric::kNodeLoad1, "1m load average.", kGauge, 1, true},
    {metric::kNodeLoad5, "5m load average.", kGauge, 1, false},
    {metric::kNodeLoad15, "15m load average.", kGauge, 1, false},
};

// A series interned the first cycle its value exists, so a kernel without,
// say, a cpu "full" PSI line never shows an always-empty series. If the
// --max-series cap refuses it, it stays refused (visible as series_dropped)
// rather than retrying, which would allocate every cycle.
struct LazySeries {
  SeriesId id = kNoSeries;
  bool interned = false;
};

// /proc/net is a link to self/net: it shows the network namespace of the
// process that reads it. An agent in a pod without hostNetwork would report
// its own eth0 as the node's. PID 1 of the host's /proc (--proc-root) is the
// node's init, in the node's network namespace, and its net/dev is readable
// without privileges, so that is read instead. A proc root without a PID 1
// (a fixture tree, or a /proc of a single namespace) keeps net/dev.
absl::StatusOr<ProcFile> OpenNodeNetDev(const std::string& root) {
  absl::StatusOr<ProcFile> node = ProcFile::Open(absl::StrCat(root, "/1/net/dev"));
  if (node.ok()) return node;
  if (!absl::IsNotFound(node.status())) {
    LogWarn("procfs: ", node.status().message(), "; node network metrics come from ", root,
            "/net/dev, the agent's own network namespace unless it runs with hostNetwork");
  }
  return ProcFile::Open(absl::StrCat(root, "/", kSourcePaths[kNetDev]));
}

absl::StatusOr<MetricId> Register(Pipeline& pipeline, const ColumnSpec& spec) {
  return pipeline.RegisterMetric(MetricSpec{spec.name, spec.help, spec.kind, spec.history});
}

class ProcfsCollector final : public Collector {
 public:
  ProcfsCollector(const ProcfsOptions& options, Pipeline& pipeline) : options_(options), pipeline_(pipeline) {}

  absl::Status Init(Pipeline& pipeline);

  std::string_view name() const override { return "procfs"; }
  absl::Status Collect(CollectStats& stats) override;

 private:
  std::optional<std::string_view> Read(Source source, CollectStats& stats);

  void EmitStat(Pipeline& p, std::string_view text, CollectStats& stats);
  void EmitMeminfo(Pipeline& p, std::string_view text, CollectStats& stats);
  void EmitLoadavg(Pipeline& p, std::string_view text, CollectStats& stats);
  void EmitPressure(Pipeline& p, int resource, std::string_view text, CollectStats& stats);
  void EmitDiskstats(Pipeline& p, std::string_view text, CollectStats& stats);
  void EmitNetDev(Pipeline& p, std::string_view text, CollectStats& stats);

  void SetScalar(Pipeline& p, Scalar s, double value) {
    LazySeries& l = scalar_series_[s];
    if (!l.interned) {
      l.id = p.Intern(scalar_metric_[s], kNodeEntity);
      l.interned = true;
    }
    p.Set(l.id, value * kScalarSpecs[s].scale);
  }

  // `labels` is only called the first time, so steady state builds no Labels.
  template <typename LabelsFn>
  static SeriesId Get(Pipeline& p, LazySeries& l, MetricId metric, LabelsFn labels) {
    if (!l.interned) {
      l.id = p.Intern(metric, kNodeEntity, labels());
      l.interned = true;
    }
    return l.id;
  }

  ProcfsOptions options_;
  Pipeline& pipeline_;  // where Init() registered the families
  std::array<std::optional<ProcFile>, kSourceCount> files_;
  std::array<bool, kSourceCount> failing_{};  // to log read errors once per outage

  // Parse results, reused every cycle so their vectors keep capacity.
  StatData stat_;
  std::vector<MeminfoField> meminfo_;
  LoadavgData loadavg_;
  PressureData psi_;
  std::vector<DiskLine> disks_;
  std::vector<NetDevLine> netdevs_;
  std::vector<std::string_view> names_;  // scratch for Rebuild()

  MetricId cpu_metric_ = 0;
  std::array<MetricId, kScalarCount> scalar_metric_{};
  std::array<MetricId, kDiskColumns> disk_metric_{};
  std::array<MetricId, kNetColumns> net_metric_{};
  std::array<std::array<MetricId, 2>, kPsiResources> psi_total_metric_{};  // [res][some|full]
  MetricId psi_avg_metric_ = 0;

  std::array<LazySeries, kScalarCount> scalar_series_;
  // [resource][some|full] and [resource][some|full][window].
  std::array<std::array<LazySeries, 2>, kPsiResources> psi_total_series_;
  std::array<std::array<std::array<LazySeries, kPsiWindows>, 2>, kPsiResources> psi_avg_series_;

  SeriesRows cpu_rows_{kCpuModes};
  SeriesRows mem_rows_{1};
  SeriesRows disk_rows_{kDiskColumns};
  SeriesRows net_rows_{kNetColumns};
};

absl::Status ProcfsCollector::Init(Pipeline& pipeline) {
  // Families first: a clash with another collector's family is a programming
  // error worth failing start-up for.
  std::vector<std::pair<const ColumnSpec*, MetricId*>> families;
  static constexpr ColumnSpec kCpuSpec = {metric::kNodeCpuSeconds,
                                          "Seconds the CPUs spent in each mode.", kCounter,
                                          1 / kUserHz, true};
  families.emplace_back(&kCpuSpec, &cpu_metric_);
  for (int i = 0; i < kScalarCount; ++i) families.emplace_back(&kScalarSpecs[i], &scalar_metric_[i]);
  for (int i = 0; i < kDiskColumns; ++i) families.emplace_back(&kDiskSpecs[i], &disk_metric_[i]);
  for (int i = 0; i < kNetColumns; ++i) families.emplace_back(&kNetSpecs[i], &net_metric_[i]);
  for (int r = 0; r < kPsiResources; ++r) {
    families.emplace_back(&kPsiSomeSpecs[r], &psi_total_metric_[r][0]);
    families.emplace_back(&kPsiFullSpecs[r], &psi_total_metric_[r][1]);
  }
  families.emplace_back(&kPsiAvgSpec, &psi_avg_metric_);
  for (auto& [spec, out] : families) {
    absl::StatusOr<MetricId> id = Register(pipeline, *spec);
    if (!id.ok()) return id.status();
    *out = *id;
  }

  std::string root = options_.proc_root;
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  std::vector<std::string> missing;
  for (int s = 0; s < kSourceCount; ++s) {
    absl::StatusOr<ProcFile> f = s == kNetDev ? OpenNodeNetDev(root)
                                              : ProcFile::Open(absl::StrCat(root, "/", kSourcePaths[s]));
    if (f.ok()) {
      files_[s].emplace(*std::move(f));
    } else {
      missing.push_back(std::string(f.status().message()));
    }
  }
  if (missing.size() == kSourceCount) {
    return absl::NotFoundError(absl::StrCat("procfs: no node file readable under '", root,
                                            "': ", absl::StrJoin(missing, "; ")));
  }
  if (!missing.empty()) {
    // Once, at start-up: e.g. /proc/pressure is absent before Linux 4.20 or
    // with psi=0, which is a fact about the node, not an error.
    LogInfo("procfs: no data from ", absl::StrJoin(missing, "; "),
            "; the metrics from these files are skipped");
  }
  return absl::OkStatus();
}

std::optional<std::string_view> ProcfsCollector::Read(Source source, CollectStats& stats) {
  ProcFile& file = *files_[source];
  absl::StatusOr<std::string_view> text = file.Read();
  if (text.ok()) {
    ++stats.files_read;
    if (failing_[source]) {
      LogInfo("procfs: ", file.path(), " is readable again");
      failing_[source] = false;
    }
    return *text;
  }
  if (absl::IsUnimplemented(text.status())) {
    // EOPNOTSUPP: PSI compiled in but disabled at boot. Permanent, so it is
    // "no data" like a missing file; close it and say so once.
    LogInfo("procfs: no data from ", text.status().message(), "; skipped from now on");
    files_[source].reset();
    return std::nullopt;
  }
  ++stats.read_errors;
  if (!failing_[source]) {
    LogWarn("procfs: ", text.status().ToString());
    failing_[source] = true;
  }
  return std::nullopt;
}

absl::Status ProcfsCollector::Collect(CollectStats& stats) {
  Pipeline& pipeline = pipeline_;
  int open = 0, read = 0;
  for (int s = 0; s < kSourceCount; ++s) {
    if (!files_[s].has_value()) continue;
    ++open;
    std::optional<std::string_view> text = Read(static_cast<Source>(s), stats);
    if (!text.has_value()) continue;
    ++read;
    switch (s) {
      case kStat: EmitStat(pipeline, *text, stats); break;
      case kMeminfo: EmitMeminfo(pipeline, *text, stats); break;
      case kLoadavg: EmitLoadavg(pipeline, *text, stats); break;
      case kPressureCpu:
      case kPressureMemory:
      case kPressureIo: EmitPressure(pipeline, s - kPressureCpu, *text, stats); break;
      case kDiskstats: EmitDiskstats(pipeline, *text, stats); break;
      case kNetDev: EmitNetDev(pipeline, *text, stats); break;
    }
  }
  if (open > 0 && read == 0) {
    return absl::UnavailableError(
        absl::StrCat("procfs: no file under ", options_.proc_root, " could be read"));
  }
  return absl::OkStatus();
}

void ProcfsCollector::EmitStat(Pipeline& p, std::string_view text, CollectStats& stats) {
  stats.parse_errors += ParseStat(text, &stat_);
  if (!cpu_rows_.MatchesAll(stat_.cpus)) {
    names_.clear();
    for (const CpuLine& c : stat_.cpus) names_.push_back(c.name);
    cpu_rows_.Rebuild(names_, p, [&](size_t i, SeriesId* ids) {
      std::string cpu(stat_.cpus[i].id);
      // Modes this kernel prints (steal only since 2.6.11): no series that
      // could never get a sample.
      int modes = std::min(stat_.cpus[i].columns, kCpuModes);
      for (int m = 0; m < modes; ++m) {
        ids[m] = p.Intern(cpu_metric_, kNodeEntity, {{"cpu", cpu}, {"mode", kCpuModeNames[m]}});
      }
      return true;
    });
  }
  for (size_t i = 0; i < stat_.cpus.size(); ++i) {
    const CpuLine& c = stat_.cpus[i];
    const SeriesId* ids = cpu_rows_.ids(i);
    int n = std::min(c.columns, kCpuModes);
    // Divide rather than multiply by 0.01 so the seconds are the nearest
    // double to ticks/100, as node_exporter's are.
    for (int m = 0; m < n; ++m) p.Set(ids[m], static_cast<double>(c.ticks[m]) / kUserHz);
  }
  if (stat_.intr) SetScalar(p, kIntr, static_cast<double>(*stat_.intr));
  if (stat_.ctxt) SetScalar(p, kCtxt, static_cast<double>(*stat_.ctxt));
  if (stat_.processes) SetScalar(p, kForks, static_cast<double>(*stat_.processes));
  if (stat_.btime) SetScalar(p, kBootTime, static_cast<double>(*stat_.btime));
  if (stat_.procs_running) SetScalar(p, kProcsRunning, static_cast<double>(*stat_.procs_running));
  if (stat_.procs_blocked) SetScalar(p, kProcsBlocked, static_cast<double>(*stat_.procs_blocked));
}

void ProcfsCollector::EmitMeminfo(Pipeline& p, std::string_view text, CollectStats& stats) {
  stats.parse_errors += ParseMeminfo(text, &meminfo_);
  if (!mem_rows_.MatchesAll(meminfo_)) {
    names_.clear();
    for (const MeminfoField& f : meminfo_) names_.push_back(f.name);
    mem_rows_.Rebuild(names_, p, [&](size_t i, SeriesId* ids) {
      const MeminfoField& f = meminfo_[i];
      std::string name = MeminfoMetricName(f.name, f.kb);
      // Debian's abseil has its own string_view type, so std::string here.
      std::string field = name.substr(sizeof("node_memory_") - 1);
      // node_exporter's rule: a key ending in "_total" is a counter (none does
      // today; HugePages_Total is a gauge because of the capital T).
      MetricSpec spec{name, absl::StrCat("Memory information field ", field, "."),
                      absl::EndsWith(field, "_total") ? kCounter : kGauge,
                      name == metric::kNodeMemoryMemAvailable};
      absl::StatusOr<MetricId> metric = p.RegisterMetric(spec);
      if (!metric.ok()) {
        LogWarn("procfs: meminfo field ", std::string(f.name), " skipped: ", metric.status().ToString());
        return false;
      }
      ids[0] = p.Intern(*metric, kNodeEntity);
      return true;
    });
  }
  for (size_t i = 0; i < meminfo_.size(); ++i) {
    const MeminfoField& f = meminfo_[i];
    // "kB" in meminfo means KiB (fs/proc/meminfo.c shifts pages by PAGE_SHIFT - 10).
    double v = f.kb ? static_cast<double>(f.value) * 1024.0 : static_cast<double>(f.value);
    p.Set(mem_rows_.ids(i)[0], v);
  }
}

void ProcfsCollector::EmitLoadavg(Pipeline& p, std::string_view text, CollectStats& stats) {
  stats.parse_errors += ParseLoadavg(text, &loadavg_);
  if (!loadavg_.valid) return;
  SetScalar(p, kLoad1, loadavg_.load1);
  SetScalar(p, kLoad5, loadavg_.load5);
  SetScalar(p, kLoad15, loadavg_.load15);
}

void ProcfsCollector::EmitPressure(Pipeline& p, int r, std::string_view text,
                                   CollectStats& stats) {
  stats.parse_errors += ParsePressure(text, &psi_);
  const PsiLine* lines[2] = {&psi_.some, &psi_.full};
  for (int k = 0; k < 2; ++k) {
    const PsiLine& l = *lines[k];
    if (!l.present) continue;
    p.Set(Get(p, psi_total_series_[r][k], psi_total_metric_[r][k], [] { return Labels{}; }),
          static_cast<double>(l.total_us) / 1e6);
    const double avgs[kPsiWindows] = {l.avg10, l.avg60, l.avg300};
    for (int w = 0; w < kPsiWindows; ++w) {
      SeriesId id = Get(p, psi_avg_series_[r][k][w], psi_avg_metric_, [&] {
        return Labels{{"kind", kPsiKindNames[k]},
                      {"resource", kPsiResourceNames[r]},
                      {"window", kPsiWindowNames[w]}};
      });
      // Divide: 0.10 / 100 is the nearest double to the printed ratio,
      // 0.10 * 0.01 is not.
      p.Set(id, avgs[w] / 100.0);
    }
  }
}

void ProcfsCollector::EmitDiskstats(Pipeline& p, std::string_view text, CollectStats& stats) {
  stats.parse_errors += ParseDiskstats(text, &disks_);
  if (!disk_rows_.MatchesAll(disks_)) {
    names_.clear();
    for (const DiskLine& d : disks_) names_.push_back(d.name);
    disk_rows_.Rebuild(names_, p, [&](size_t i, SeriesId* ids) {
      const DiskLine& d = disks_[i];
      // The filter runs here, when a device first appears, not per cycle.
      if (options_.diskstats_default_exclude && DefaultDiskExcluded(d.name)) return false;
      std::string device(d.name);
      // Only the columns this kernel prints: no forever-empty discard/flush
      // series on kernels before 4.18/5.5.
      for (int c = 0; c < d.columns; ++c) {
        ids[c] = p.Intern(disk_metric_[c], kNodeEntity, {{"device", device}});
      }
      return true;
    });
  }
  for (size_t i = 0; i < disks_.size(); ++i) {
    if (!disk_rows_.active(i)) continue;
    const DiskLine& d = disks_[i];
    const SeriesId* ids = disk_rows_.ids(i);
    for (int c = 0; c < d.columns; ++c) {
      p.Set(ids[c], static_cast<double>(d.stats[c]) * kDiskSpecs[c].scale);
    }
  }
}

void ProcfsCollector::EmitNetDev(Pipeline& p, std::string_view text, CollectStats& stats) {
  stats.parse_errors += ParseNetDev(text, &netdevs_);
  if (!net_rows_.MatchesAll(netdevs_)) {
    names_.clear();
    for (const NetDevLine& d : netdevs_) names_.push_back(d.name);
    net_rows_.Rebuild(names_, p, [&](size_t i, SeriesId* ids) {
      std::string device(netdevs_[i].name);
      for (int c = 0; c < kNetColumns; ++c) {
        ids[c] = p.Intern(net_metric_[c], kNodeEntity, {{"device", device}});
      }
      return true;
    });
  }
  for (size_t i = 0; i < netdevs_.size(); ++i) {
    if (!net_rows_.active(i)) continue;
    const NetDevLine& d = netdevs_[i];
    const SeriesId* ids = net_rows_.ids(i);
    for (int c = 0; c < kNetColumns; ++c) p.Set(ids[c], static_cast<double>(d.stats[c]));
  }
}

}  // namespace
}  // namespace procfs

absl::StatusOr<std::unique_ptr<Collector>> NewProcfsCollector(const ProcfsOptions& options,
                                                              pipeline::Pipeline& pipeline) {
  auto collector = std::make_unique<procfs::ProcfsCollector>(options, pipeline);
  if (absl::Status s = collector->Init(pipeline); !s.ok()) return s;
  return std::unique_ptr<Collector>(std::move(collector));
}

}  // namespace nodepulse::collectors
