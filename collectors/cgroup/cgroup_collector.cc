// The cgroup collector: discovery (rescan) and the per-cycle read loop.
//
// Per cycle and cgroup the work is: one pread per open file into a reused
// buffer, a string_view parse and a Pipeline::Set per value. Series ids are
// interned at discovery (or when a new block device shows up), so the steady
// state allocates nothing.
#include <errno.h>
#include <string.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <functional>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "cgroup_discovery.h"
#include "cgroup_events.h"
#include "cgroup_file.h"
#include "cgroup_files.h"
#include "cgroup_watch.h"
#include "cgroup_identity.h"
#include "cgroup_layout.h"
#include "cgroup_metrics.h"
#include "cgroup_parsers.h"
#include "nodepulse/collectors/cgroup.h"
#include "nodepulse/base/log.h"

namespace nodepulse::collectors {

pipeline::Labels DefaultCgroupLabels(const CgroupIdentity& identity) {
  return {{"container", ""}, {"id", identity.id}, {"image", ""},
          {"name", ""},      {"namespace", ""},   {"pod", ""}};
}

namespace {

using cgroup_internal::Cadence;
using cgroup_internal::Controller;
using cgroup_internal::FileKind;
using enum cgroup_internal::FileKind;
using cgroup_internal::MetricMask;
using cgroup_internal::Layout;
using cgroup_internal::Metric;
using pipeline::EntityId;
using pipeline::kNoSeries;
using pipeline::Labels;
using pipeline::SeriesId;

namespace ci = cgroup_internal;

// Kernel time units.
// A cgroup's spec files are re-read at every rescan for kSpecFreshFor after
// it is found (the runtime and kubelet write limits around container start),
// then once per kSpecRefresh (see Rescan).
constexpr std::chrono::seconds kSpecFreshFor{10};
constexpr std::chrono::seconds kSpecRefresh{30};
// With a DirWatch, discovery still walks this often: a safety net should a
// change go unreported (a hierarchy mounted later). Lost events
// (IN_Q_OVERFLOW) and a watch limit hit make a walk anyway (cgroup_watch.h).
// A walk of 1,250 cgroups is ~2% of the agent's CPU at 60 s (perf).
constexpr std::chrono::minutes kFullWalkEvery{5};
constexpr double kNsToS = 1e-9;
constexpr double kUsToS = 1e-6;
// cpuacct.stat is in USER_HZ ticks, which is 100 on every Linux ABI
// (sysconf(_SC_CLK_TCK)); only used when cpuacct.usage_user/_sys are missing
// (kernels before 4.7).
constexpr double kTickToS = 1.0 / 100;
// v1 reports "no limit" as PAGE_COUNTER_MAX * PAGE_SIZE rounded down to a
// page: 9223372036854771712 with 4 KiB pages (fixture v1-cgroupfs-debian12,
// kernel 6.18). Anything from there up is unlimited; cAdvisor exports 0.
constexpr uint64_t kV1Unlimited = 0x7FFFFFFFFFFFF000ull;

constexpr std::string_view kCpuStatV1Keys[] = {"nr_periods", "nr_throttled", "throttled_time"};
constexpr std::string_view kCpuStatV2Keys[] = {"usage_usec",   "user_usec",    "system_usec",
                                               "nr_periods",   "nr_throttled", "throttled_usec",
                                               "nr_bursts",    "burst_usec"};
constexpr std::string_view kCpuacctStatKeys[] = {"user", "system"};
// total_* are hierarchical (include children), which is what cAdvisor uses
// on v1; the plain ones are the fallback if a kernel lacks total_*.
constexpr std::string_view kMemStatV1Keys[] = {
    "total_rss", "total_cache", "total_swap", "total_mapped_file", "total_inactive_file",
    "rss",       "cache",       "swap",       "mapped_file",       "inactive_file"};
// The first four feed cAdvisor's memory families, the rest the v2 reclaim
// and refault counters. Kernels before 5.9 have workingset_refault/
// _activate/_restore without the _anon/_file split: file pages only then.
constexpr std::string_view kMemStatV2Keys[] = {
    "anon",                    "file",                     "file_mapped",
    "inactive_file",           "pgfault",                  "pgmajfault",
    "workingset_refault_anon", "workingset_refault_file",  "workingset_activate_anon",
    "workingset_activate_file", "workingset_restore_anon", "workingset_restore_file",
    "workingset_nodereclaim",  "pgscan",                   "pgsteal",
    "workingset_refault",      "workingset_activate",      "workingset_restore"};
constexpr std::string_view kOomControlKeys[] = {"oom_kill"};
// In the order of the kMemEvents* slots. v2 has no failcnt; "max" (times
// usage hit memory.max) is its counterpart.
constexpr std::string_view kMemEventsKeys[] = {"low", "high", "max",
                                               "oom", "oom_kill", "oom_group_kill"};
constexpr std::string_view kSwapEventsKeys[] = {"high", "max", "fail"};

// Blkio candidates in order: the throttle files are the ones kernels >= 4.x
// account on every queue (CFQ's io_service_bytes is gone since 5.0); the
// _recursive variant includes children, as cAdvisor's pod-level values do.
constexpr const char* kBlkioBytesFiles[] = {"blkio.throttle.io_service_bytes_recursive",
                                            "blkio.throttle.io_service_bytes",
                                            "blkio.io_service_bytes_recursive"};
constexpr const char* kBlkioOpsFiles[] = {"blkio.throttle.io_serviced_recursive",
                                          "blkio.throttle.io_serviced",
                                          "blkio.io_serviced_recursive"};

struct OpenFile {
  ci::Fd fd;
  FileKind kind;
};

struct DeviceSeries {
  uint32_t major = 0;
  uint32_t minor = 0;
  SeriesId reads_bytes = kNoSeries;
  SeriesId writes_bytes = kNoSeries;
  SeriesId reads = kNoSeries;
  SeriesId writes = kNoSeries;
  SeriesId blkio_read = kNoSeries;
  SeriesId blkio_write = kNoSeries;
  // v1 blkio io_serviced is a slow file and io_service_bytes skipped while
  // the cgroup is idle: their last values, re-set in cycles that skip them.
  double reads_v = std::nan("");
  double writes_v = std::nan("");
  double reads_bytes_v = std::nan("");
  double writes_bytes_v = std::nan("");
};

using TimePoint = std::chrono::steady_clock::time_point;

struct Cgroup {
  CgroupIdentity identity;
  EntityId entity = 0;
  std::vector<OpenFile> files;  // sorted by kind
  std::array<SeriesId, ci::kNumScalarMetrics> series;
  // The last value written to each slot (NaN: none yet). Slots in `reemit`
  // (spec values, and those of slow files, see cgroup_files.h) are written
  // from here every cycle, as the pipeline only exports what a cycle sets.
  std::array<double, ci::kNumScalarMetrics> last;
  MetricMask reemit = 0;
  // Slow files are read at the first cycle at or after this time.
  TimePoint slow_due{};
  bool slow_read_once = false;
  // EventsWatch: this cgroup's key (serial << 8 | FileKind) and its watches.
  uint64_t serial = 0;
  uint32_t watched = 0;  // bit per FileKind
  std::vector<int> event_wds;
  // Set when the cgroup is gone but its kept values (cgroup_files.h) stay
  // exported until gone_at + CgroupOptions::gone_grace.
  std::optional<TimePoint> gone_at;
  std::vector<DeviceSeries> devices;
  uint32_t logged_errors = 0;  // bit per FileKind: warned once already
  // Controller directories can appear a moment after the first one (runc
  // creates them one by one), so missing files are retried at a few rescans.
  int reopen_rescans_left = 2;
  // ReadSpec times (CLOCK_MONOTONIC): when the cgroup was found and when its
  // spec files were last read.
  TimePoint found_at{}, spec_read_at{};
  bool v2_cpu_usage = false;  // v2 cpu.stat feeds usage/user/system
  bool v2_cfs = false;        // v2 cpu.stat feeds nr_periods/throttling
  bool gone = false;
  double mem_usage = 0;  // this cycle's usage, for the working set
  bool have_mem_usage = false;

  Cgroup() {
    series.fill(kNoSeries);
    last.fill(std::nan(""));
  }
  bool Has(FileKind k) const {
    for (const OpenFile& f : files) {
      if (f.kind == k) return true;
    }
    return false;
  }
};

class CgroupCollectorImpl final : public CgroupCollector {
 public:
  CgroupCollectorImpl(CgroupOptions options, Layout layout, ci::MetricIds metrics,
                      pipeline::Pipeline& pipeline)
      : options_(std::move(options)),
        layout_(std::move(layout)),
        metrics_(metrics),
        pipeline_(pipeline) {
    buf_.resize(64 * 1024);
    absl::StatusOr<ci::DirWatch> watch = ci::DirWatch::Create();
    if (watch.ok()) {
      watch_.emplace(*std::move(watch));
    } else {
      LogWarn("cgroup: ", watch.status().message(),
              "; walking the hierarchies at every rescan instead");
    }
    absl::StatusOr<std::unique_ptr<ci::EventsWatch>> events = ci::EventsWatch::Start();
    if (events.ok()) {
      events_ = *std::move(events);
    } else {
      LogWarn("cgroup: ", events.status().message(),
              "; memory.events is read at its cadence only (an OOM kill just before a "
              "container's removal can be missed)");
    }
  }

  ~CgroupCollectorImpl() override {
    // Entities belong to the pipeline, which may outlive us; leave no series
    // behind for cgroups nobody samples any more.
    for (auto& cg : cgroups_) pipeline_.RemoveEntity(cg->entity);
  }

  std::string_view name() const override { return "cgroup"; }

  absl::Status Collect(CollectStats& stats) override;

  std::vector<std::pair<EntityId, CgroupIdentity>> Identities() const override {
    std::vector<std::pair<EntityId, CgroupIdentity>> out;
    out.reserve(cgroups_.size());
    for (const auto& cg : cgroups_) {
      if (!cg->gone_at) out.emplace_back(cg->entity, cg->identity);
    }
    return out;
  }

  // `changed`: the caller already drained a change from the DirWatch.
  void Rescan(bool changed = false);

 private:
  void RefreshCgroups(TimePoint now, bool all);
  void Relabel();
  std::string DirOf(const std::string& base, const std::string& id) const {
    return id == "/" ? base : base + id;
  }
  std::string V1Dir(Controller c, const std::string& id) const {
    return layout_.v1[c].empty() ? std::string() : DirOf(layout_.v1[c], id);
  }
  std::string V2Dir(const std::string& id) const {
    return layout_.v2.empty() ? std::string() : DirOf(layout_.v2, id);
  }

  Labels LabelsFor(const CgroupIdentity& identity) const {
    return options_.labeler ? options_.labeler(identity) : DefaultCgroupLabels(identity);
  }

  bool TryOpen(Cgroup& cg, FileKind kind, const std::string& dir, const char* file);
  void OpenFiles(Cgroup& cg);
  void InternScalarSeries(Cgroup& cg);
  void ReadSpec(Cgroup& cg);
  void SetSpec(Cgroup& cg, Metric m, bool known, double value);
  void LoadDeviceNames();
  DeviceSeries& DeviceFor(Cgroup& cg, uint32_t major, uint32_t minor);
  void ReadCgroup(Cgroup& cg, TimePoint now, CollectStats& stats);
  void ParseFile(Cgroup& cg, FileKind kind, std::string_view text, CollectStats& stats);
  // One step of ParseFile per controller: each returns false on a parse
  // error, after setting what it could read.
  bool SetU64(Cgroup& cg, Metric m, std::string_view text, double scale);
  bool ParseCpuFile(Cgroup& cg, FileKind kind, std::string_view text);
  bool ParseCpuStatV2(Cgroup& cg, std::string_view text);
  bool ParseMemoryFile(Cgroup& cg, FileKind kind, std::string_view text);
  bool ParseMemStatV1(Cgroup& cg, std::string_view text);
  bool ParseMemEventFile(Cgroup& cg, FileKind kind, std::string_view text);
  bool ParseBlockIoFile(Cgroup& cg, FileKind kind, std::string_view text);
  bool ParsePressureFile(Cgroup& cg, FileKind kind, std::string_view text);
  void ParseMemStatV2(Cgroup& cg, std::string_view text, bool* ok);
  void Reemit(const Cgroup& cg, MetricMask mask);
  void SetDeviceBytes(const DeviceSeries& d) {
    pipeline_.Set(d.reads_bytes, d.reads_bytes_v);
    pipeline_.Set(d.writes_bytes, d.writes_bytes_v);
    pipeline_.Set(d.blkio_read, d.reads_bytes_v);
    pipeline_.Set(d.blkio_write, d.writes_bytes_v);
  }
  TimePoint NextSlowRead(Cgroup& cg, TimePoint now);
  void WatchEvents(Cgroup& cg);
  void ApplyEvents(CollectStats& stats);
  // The cgroup's directory is gone: true when it is to be erased now, false
  // when its kept values stay exported for the grace period.
  bool Retire(Cgroup& cg, TimePoint now);
  void ReadAll(TimePoint now, CollectStats& stats);
  void Drop(Cgroup& cg);

  TimePoint Now() const {
    return options_.clock ? options_.clock() : std::chrono::steady_clock::now();
  }

  void Set(Cgroup& cg, Metric m, double v) {
    cg.last[m] = v;
    pipeline_.Set(cg.series[m], v);
  }

  CgroupOptions options_;
  Layout layout_;
  ci::MetricIds metrics_;
  pipeline::Pipeline& pipeline_;
  std::vector<std::unique_ptr<Cgroup>> cgroups_;
  absl::flat_hash_map<uint64_t, std::string> device_names_;  // (major<<32|minor) -> /dev/x
  std::vector<char> buf_;
  // CLOCK_MONOTONIC: a wall-clock step back (NTP, date) must not stop
  // discovery until the wall clock catches up.
  std::chrono::steady_clock::time_point last_rescan_{};
  bool rescanned_ = false;
  // Discovery walks: only when the watch saw a change (see Rescan).
  std::optional<ci::DirWatch> watch_;
  bool watch_warned_ = false;
  std::chrono::steady_clock::time_point last_walk_{};
  uint64_t walks_ = 0;           // total, reported as CollectStats::discovery_walks
  uint64_t walks_reported_ = 0;  // part of walks_ already added to a CollectStats
  uint64_t open_errors_ = 0;  // since the last Collect()
  // Reads of notify files on change (see cgroup_events.h); null when
  // inotify is unavailable.
  std::unique_ptr<ci::EventsWatch> events_;
  bool events_warned_ = false;
  uint64_t next_serial_ = 1;
  std::vector<ci::EventsWatch::Capture> captures_;  // reused
  // options_.label_generation when every cgroup was last relabelled; none
  // before the first cycle (the first discovery may have raced the first
  // kubelet poll).
  std::optional<uint64_t> labelled_generation_;
};

bool CgroupCollectorImpl::TryOpen(Cgroup& cg, FileKind kind, const std::string& dir,
                                  const char* file) {
  if (dir.empty()) return false;
  if (cg.Has(kind)) return true;
  std::string path = absl::StrCat(dir, "/", file);
  ci::Fd fd = ci::OpenReadOnly(path);
  if (!fd.valid()) {
    // ENOENT: this kernel, controller or cgroup level has no such file
    // (amzn2's empty parent slices, a v2 root without memory.current).
    if (errno != ENOENT && errno != ENODEV) {
      // EACCES/EMFILE...: counted as a read error at the next Collect().
      ++open_errors_;
      LogWarn("cgroup: open ", path, ": ", strerror(errno));
    }
    return false;
  }
  cg.files.push_back(OpenFile{std::move(fd), kind});
  return true;
}

// Picks a source per value: the v1 controller when it is mounted and has the
// file, else the cgroup2 directory (pure v2, or hybrid's unified mount, which
// on hybrid hosts has PSI and a base cpu.stat but no controllers).
void CgroupCollectorImpl::OpenFiles(Cgroup& cg) {
  const std::string& id = cg.identity.id;
  const std::string v2 = V2Dir(id);

  const std::string cpuacct = V1Dir(ci::kCpuacct, id);
  bool v1_usage = TryOpen(cg, kFCpuacctUsage, cpuacct, "cpuacct.usage");
  if (v1_usage) {
    bool split = TryOpen(cg, kFCpuacctUsageUser, cpuacct, "cpuacct.usage_user") &&
                 TryOpen(cg, kFCpuacctUsageSys, cpuacct, "cpuacct.usage_sys");
    if (!split) TryOpen(cg, kFCpuacctStat, cpuacct, "cpuacct.stat");
  }
  bool v1_cfs = TryOpen(cg, kFCpuStatV1, V1Dir(ci::kCpu, id), "cpu.stat");
  if (!v2.empty()) {
    cg.v2_cpu_usage = !v1_usage;
    // nr_periods/throttling exist in v2 cpu.stat only with the cpu
    // controller enabled for this cgroup, which is when cpu.max exists.
    cg.v2_cfs = !v1_cfs && ci::FileExists(v2 + "/cpu.max");
    if (cg.v2_cpu_usage || cg.v2_cfs) TryOpen(cg, kFCpuStatV2, v2, "cpu.stat");
  }

  const std::string memory = V1Dir(ci::kMemory, id);
  if (TryOpen(cg, kFMemStatV1, memory, "memory.stat")) {
    TryOpen(cg, kFMemUsageV1, memory, "memory.usage_in_bytes");
    TryOpen(cg, kFMemFailcntV1, memory, "memory.failcnt");
    TryOpen(cg, kFOomControlV1, memory, "memory.oom_control");
  } else if (TryOpen(cg, kFMemStatV2, v2, "memory.stat")) {
    TryOpen(cg, kFMemCurrentV2, v2, "memory.current");
    TryOpen(cg, kFMemEventsV2, v2, "memory.events");
    TryOpen(cg, kFSwapCurrentV2, v2, "memory.swap.current");
    // Absent without swap accounting (swapaccount=0) and, for memory.peak,
    // before kernel 5.19: no series then.
    TryOpen(cg, kFSwapEventsV2, v2, "memory.swap.events");
    TryOpen(cg, kFMemPeakV2, v2, "memory.peak");
  }

  const std::string blkio = V1Dir(ci::kBlkio, id);
  bool v1_io = false;
  for (const char* f : kBlkioBytesFiles) {
    if ((v1_io = TryOpen(cg, kFBlkioBytesV1, blkio, f))) break;
  }
  for (const char* f : kBlkioOpsFiles) {
    if (TryOpen(cg, kFBlkioOpsV1, blkio, f)) break;
  }
  if (!v1_io) TryOpen(cg, kFIoStatV2, v2, "io.stat");

  const std::string pids = V1Dir(ci::kPids, id);
  if (!TryOpen(cg, kFPidsCurrent, pids, "pids.current")) {
    TryOpen(cg, kFPidsCurrent, v2, "pids.current");
  }
  // The process list is the same in every hierarchy; take the first one.
  for (Controller c : {ci::kPids, ci::kCpu, ci::kCpuacct, ci::kMemory}) {
    if (TryOpen(cg, kFProcs, V1Dir(c, id), "cgroup.procs")) break;
  }
  TryOpen(cg, kFProcs, v2, "cgroup.procs");

  TryOpen(cg, kFCpuPressure, v2, "cpu.pressure");
  TryOpen(cg, kFMemPressure, v2, "memory.pressure");
  TryOpen(cg, kFIoPressure, v2, "io.pressure");

  std::sort(cg.files.begin(), cg.files.end(),
            [](const OpenFile& a, const OpenFile& b) { return a.kind < b.kind; });
  cg.reemit = 0;
  for (int m = ci::kFirstSpecMetric; m < ci::kNumScalarMetrics; ++m) cg.reemit |= MetricMask{1} << m;
  for (const OpenFile& f : cg.files) {
    if (ci::CadenceOf(f.kind) == Cadence::kSlow) cg.reemit |= ci::kFiles[f.kind].feeds;
  }
}

void CgroupCollectorImpl::InternScalarSeries(Cgroup& cg) {
  auto want = [&](Metric m, bool have) {
    if (!have || cg.series[m] != kNoSeries) return;
    cg.series[m] = pipeline_.Intern(metrics_[m], cg.entity, ci::ExtraLabelsOf(m));
  };
  bool v2_cpu = cg.Has(kFCpuStatV2);
  bool v2_usage = v2_cpu && cg.v2_cpu_usage;
  bool cfs = cg.Has(kFCpuStatV1) || (v2_cpu && cg.v2_cfs);
  want(ci::kCpuUsage, cg.Has(kFCpuacctUsage) || v2_usage);
  bool split = cg.Has(kFCpuacctUsageUser) || cg.Has(kFCpuacctStat) || v2_usage;
  want(ci::kCpuUser, split);
  want(ci::kCpuSystem, split);
  want(ci::kCfsPeriods, cfs);
  want(ci::kCfsThrottledPeriods, cfs);
  want(ci::kCfsThrottledSeconds, cfs);
  bool usage = cg.Has(kFMemUsageV1) || cg.Has(kFMemCurrentV2);
  bool stat = cg.Has(kFMemStatV1) || cg.Has(kFMemStatV2);
  want(ci::kMemUsage, usage);
  want(ci::kWorkingSet, usage && stat);
  want(ci::kRss, stat);
  want(ci::kCache, stat);
  want(ci::kMappedFile, stat);
  want(ci::kSwap, cg.Has(kFMemStatV1) || cg.Has(kFSwapCurrentV2));
  want(ci::kFailcnt, cg.Has(kFMemFailcntV1) || cg.Has(kFMemEventsV2));
  want(ci::kOomEvents, cg.Has(kFOomControlV1) || cg.Has(kFMemEventsV2));
  want(ci::kThreads, cg.Has(kFPidsCurrent));
  want(ci::kProcesses, cg.Has(kFProcs));
  want(ci::kPsiCpuWaiting, cg.Has(kFCpuPressure));
  want(ci::kPsiCpuStalled, cg.Has(kFCpuPressure));
  want(ci::kPsiMemWaiting, cg.Has(kFMemPressure));
  want(ci::kPsiMemStalled, cg.Has(kFMemPressure));
  want(ci::kPsiIoWaiting, cg.Has(kFIoPressure));
  want(ci::kPsiIoStalled, cg.Has(kFIoPressure));
  // v2 only; a key this kernel lacks leaves its slot NaN, which is no series.
  auto want_range = [&](Metric first, Metric last, bool have) {
    for (int m = first; m <= last; ++m) want(static_cast<Metric>(m), have);
  };
  want_range(ci::kMemEventsLow, ci::kMemEventsOomGroupKill, cg.Has(kFMemEventsV2));
  want_range(ci::kSwapEventsHigh, ci::kSwapEventsFail, cg.Has(kFSwapEventsV2));
  want(ci::kMemMaxUsage, cg.Has(kFMemPeakV2));
  want_range(ci::kPgfaultContainer, ci::kPagesReclaimed, cg.Has(kFMemStatV2));
  want_range(ci::kCpuBursts, ci::kCpuBurstSeconds, v2_cpu && cg.v2_cfs);
}

void CgroupCollectorImpl::SetSpec(Cgroup& cg, Metric m, bool known, double value) {
  if (!known) {
    if (cg.series[m] != kNoSeries) {
      pipeline_.Release(cg.series[m]);
      cg.series[m] = kNoSeries;
    }
    return;
  }
  if (cg.series[m] == kNoSeries) cg.series[m] = pipeline_.Intern(metrics_[m], cg.entity);
  cg.last[m] = value;
}

// Spec files change only when the kubelet resizes a pod, so they are read at
// rescan (open, read, close) rather than kept open.
void CgroupCollectorImpl::ReadSpec(Cgroup& cg) {
  const std::string& id = cg.identity.id;
  const std::string v2 = V2Dir(id);
  auto read = [](const std::string& dir, const char* file) -> std::string {
    if (dir.empty()) return {};
    absl::StatusOr<std::string> s = ci::ReadFileToString(absl::StrCat(dir, "/", file));
    return s.ok() ? *std::move(s) : std::string();
  };

  // CPU: cAdvisor exports quota only when set, period and shares always.
  bool quota_known = false, period_known = false, shares_known = false;
  double quota = 0, period = 0, shares = 0;
  const std::string cpu = V1Dir(ci::kCpu, id);
  std::string text;
  if (!cpu.empty() && !(text = read(cpu, "cpu.cfs_quota_us")).empty()) {
    int64_t q;
    if (ci::ParseI64(text, &q) && q > 0) {
      quota_known = true;
      quota = static_cast<double>(q);
    }
    uint64_t v;
    if (ci::ParseU64(read(cpu, "cpu.cfs_period_us"), &v)) {
      period_known = true;
      period = static_cast<double>(v);
    }
    if (ci::ParseU64(read(cpu, "cpu.shares"), &v)) {
      shares_known = true;
      shares = static_cast<double>(v);
    }
  } else if (!v2.empty() && !(text = read(v2, "cpu.max")).empty()) {
    ci::CpuMax cm;
    if (ci::ParseCpuMax(text, &cm)) {
      period_known = true;
      period = static_cast<double>(cm.period_us);
      quota_known = !cm.unlimited;
      quota = static_cast<double>(cm.quota_us);
    }
    uint64_t w;
    if (ci::ParseU64(read(v2, "cpu.weight"), &w) && w >= 1) {
      // cAdvisor's inverse of runc's shares->weight mapping
      // (weight = 1 + (shares-2)*9999/262142), so v2 shares match v1 ones.
      shares_known = true;
      shares = static_cast<double>(2 + ((w - 1) * 262142) / 9999);
    }
  }
  SetSpec(cg, ci::kSpecCpuQuota, quota_known, quota);
  SetSpec(cg, ci::kSpecCpuPeriod, period_known, period);
  SetSpec(cg, ci::kSpecCpuShares, shares_known, shares);

  // Memory limit: 0 when unlimited, as cAdvisor exports it.
  bool limit_known = false;
  double limit = 0;
  const std::string memory = V1Dir(ci::kMemory, id);
  uint64_t v;
  bool is_max = false;
  if (!memory.empty() && ci::ParseU64(read(memory, "memory.limit_in_bytes"), &v)) {
    limit_known = true;
    limit = v >= kV1Unlimited ? 0 : static_cast<double>(v);
  } else if (!v2.empty() && ci::ParseU64OrMax(read(v2, "memory.max"), &v, &is_max)) {
    limit_known = true;
    limit = is_max ? 0 : static_cast<double>(v);
  }
  SetSpec(cg, ci::kSpecMemLimit, limit_known, limit);

  // pids.max: "max" is 0 ("infinity if value is zero" in cAdvisor's help).
  bool tmax_known = false;
  double tmax = 0;
  const std::string pids = V1Dir(ci::kPids, id);
  for (const std::string& dir : {pids, v2}) {
    if (dir.empty()) continue;
    if (ci::ParseU64OrMax(read(dir, "pids.max"), &v, &is_max)) {
      tmax_known = true;
      tmax = is_max ? 0 : static_cast<double>(v);
      break;
    }
  }
  SetSpec(cg, ci::kThreadsMax, tmax_known, tmax);
}

void CgroupCollectorImpl::LoadDeviceNames() {
  absl::StatusOr<std::string> text = ci::ReadFileToString(options_.proc_root + "/diskstats");
  if (!text.ok()) return;  // names fall back to MAJ:MIN
  device_names_.clear();
  std::string_view rest = *text;
  while (!rest.empty()) {
    size_t nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    uint32_t major, minor;
    std::string_view name;
    if (ci::ParseDiskstatsLine(line, &major, &minor, &name)) {
      device_names_[(uint64_t{major} << 32) | minor] =
          absl::StrCat("/dev/", absl::string_view(name.data(), name.size()));
    }
  }
}

// Linear search: a container sees a handful of devices. Interning happens
// only the first time a device shows up in this cgroup.
DeviceSeries& CgroupCollectorImpl::DeviceFor(Cgroup& cg, uint32_t major, uint32_t minor) {
  for (DeviceSeries& d : cg.devices) {
    if (d.major == major && d.minor == minor) return d;
  }
  DeviceSeries d;
  d.major = major;
  d.minor = minor;
  std::string name;
  if (auto it = device_names_.find((uint64_t{major} << 32) | minor); it != device_names_.end()) {
    name = it->second;
  } else {
    name = absl::StrCat(major, ":", minor);
  }
  auto intern = [&](Metric m, Labels extra) {
    return pipeline_.Intern(metrics_[m], cg.entity, std::move(extra));
  };
  d.reads_bytes = intern(ci::kFsReadsBytes, {{"device", name}});
  d.writes_bytes = intern(ci::kFsWritesBytes, {{"device", name}});
  d.reads = intern(ci::kFsReads, {{"device", name}});
  d.writes = intern(ci::kFsWrites, {{"device", name}});
  std::string maj = absl::StrCat(major), min = absl::StrCat(minor);
  d.blkio_read = intern(ci::kBlkioDeviceUsage,
                        {{"device", name}, {"major", maj}, {"minor", min}, {"operation", "Read"}});
  d.blkio_write = intern(ci::kBlkioDeviceUsage, {{"device", name},
                                                 {"major", maj},
                                                 {"minor", min},
                                                 {"operation", "Write"}});
  cg.devices.push_back(d);
  return cg.devices.back();
}

namespace {

// The values of one keyed file (ci::ParseKeyedU64) and which keys it had;
// on the stack, sized for the longest key table.
struct KeyedValues {
  uint64_t vals[std::size(kMemStatV2Keys)];
  uint64_t found = 0;
  bool Parse(std::string_view text, absl::Span<const std::string_view> keys) {
    return ci::ParseKeyedU64(text, keys, vals, &found);
  }
  bool has(int i) const { return (found >> i) & 1; }
  double at(int i) const { return static_cast<double>(vals[i]); }
};

double AsDouble(uint64_t x) { return static_cast<double>(x); }

}  // namespace

// A single-number file: `m` = value * scale.
bool CgroupCollectorImpl::SetU64(Cgroup& cg, Metric m, std::string_view text, double scale) {
  uint64_t v = 0;
  if (!ci::ParseU64(text, &v)) return false;
  Set(cg, m, AsDouble(v) * scale);
  return true;
}

bool CgroupCollectorImpl::ParseCpuFile(Cgroup& cg, FileKind kind, std::string_view text) {
  KeyedValues k;
  bool ok = true;
  switch (kind) {
    case kFCpuacctUsage: return SetU64(cg, ci::kCpuUsage, text, kNsToS);
    case kFCpuacctUsageUser: return SetU64(cg, ci::kCpuUser, text, kNsToS);
    case kFCpuacctUsageSys: return SetU64(cg, ci::kCpuSystem, text, kNsToS);
    case kFCpuacctStat:
      ok = k.Parse(text, kCpuacctStatKeys);
      if (k.has(0)) Set(cg, ci::kCpuUser, k.at(0) * kTickToS);
      if (k.has(1)) Set(cg, ci::kCpuSystem, k.at(1) * kTickToS);
      return ok;
    case kFCpuStatV1:
      ok = k.Parse(text, kCpuStatV1Keys);
      if (k.has(0)) Set(cg, ci::kCfsPeriods, k.at(0));
      if (k.has(1)) Set(cg, ci::kCfsThrottledPeriods, k.at(1));
      if (k.has(2)) Set(cg, ci::kCfsThrottledSeconds, k.at(2) * kNsToS);
      return ok;
    case kFCpuStatV2: return ParseCpuStatV2(cg, text);
    default: return true;
  }
}

bool CgroupCollectorImpl::ParseCpuStatV2(Cgroup& cg, std::string_view text) {
  KeyedValues k;
  const bool ok = k.Parse(text, kCpuStatV2Keys);
  if (cg.v2_cpu_usage) {
    if (k.has(0)) Set(cg, ci::kCpuUsage, k.at(0) * kUsToS);
    if (k.has(1)) Set(cg, ci::kCpuUser, k.at(1) * kUsToS);
    if (k.has(2)) Set(cg, ci::kCpuSystem, k.at(2) * kUsToS);
  }
  if (cg.v2_cfs) {
    if (k.has(3)) Set(cg, ci::kCfsPeriods, k.at(3));
    if (k.has(4)) Set(cg, ci::kCfsThrottledPeriods, k.at(4));
    if (k.has(5)) Set(cg, ci::kCfsThrottledSeconds, k.at(5) * kUsToS);
    if (k.has(6)) Set(cg, ci::kCpuBursts, k.at(6));
    if (k.has(7)) Set(cg, ci::kCpuBurstSeconds, k.at(7) * kUsToS);
  }
  return ok;
}

bool CgroupCollectorImpl::ParseMemoryFile(Cgroup& cg, FileKind kind, std::string_view text) {
  uint64_t v = 0;
  bool ok = true;
  switch (kind) {
    case kFMemUsageV1:
    case kFMemCurrentV2:
      if (!ci::ParseU64(text, &v)) return false;
      Set(cg, ci::kMemUsage, AsDouble(v));
      cg.mem_usage = AsDouble(v);
      cg.have_mem_usage = true;
      return true;
    case kFMemFailcntV1: return SetU64(cg, ci::kFailcnt, text, 1);
    case kFMemStatV1: return ParseMemStatV1(cg, text);
    case kFMemStatV2:
      ParseMemStatV2(cg, text, &ok);
      return ok;
    case kFSwapCurrentV2: return SetU64(cg, ci::kSwap, text, 1);
    case kFMemPeakV2: return SetU64(cg, ci::kMemMaxUsage, text, 1);
    case kFOomControlV1:
    case kFMemEventsV2:
    case kFSwapEventsV2: return ParseMemEventFile(cg, kind, text);
    default: return true;
  }
}

bool CgroupCollectorImpl::ParseMemStatV1(Cgroup& cg, std::string_view text) {
  KeyedValues k;
  const bool ok = k.Parse(text, kMemStatV1Keys);
  // Index i is the hierarchical total_* value, i + 5 the local fallback.
  auto pick = [&](int i) { return k.has(i) ? i : k.has(i + 5) ? i + 5 : -1; };
  constexpr Metric kTargets[] = {ci::kRss, ci::kCache, ci::kSwap, ci::kMappedFile};
  for (int i = 0; i < 4; ++i) {
    if (int at = pick(i); at >= 0) Set(cg, kTargets[i], k.at(at));
  }
  if (int at = pick(4); at >= 0 && cg.have_mem_usage) {
    // cAdvisor: working set = usage - inactive_file, floored at 0.
    double inactive = k.at(at);
    Set(cg, ci::kWorkingSet, cg.mem_usage > inactive ? cg.mem_usage - inactive : 0);
  }
  return ok;
}

// The event-count files: v1 memory.oom_control, v2 memory.events and
// memory.swap.events.
bool CgroupCollectorImpl::ParseMemEventFile(Cgroup& cg, FileKind kind, std::string_view text) {
  KeyedValues k;
  bool ok = true;
  switch (kind) {
    case kFOomControlV1:
      ok = k.Parse(text, kOomControlKeys);
      if (k.has(0)) Set(cg, ci::kOomEvents, k.at(0));
      return ok;
    case kFMemEventsV2:
      ok = k.Parse(text, kMemEventsKeys);
      for (int i = 0; i < static_cast<int>(std::size(kMemEventsKeys)); ++i) {
        if (k.has(i)) Set(cg, static_cast<Metric>(ci::kMemEventsLow + i), k.at(i));
      }
      if (k.has(2)) Set(cg, ci::kFailcnt, k.at(2));
      if (k.has(4)) Set(cg, ci::kOomEvents, k.at(4));
      return ok;
    case kFSwapEventsV2:
      ok = k.Parse(text, kSwapEventsKeys);
      for (int i = 0; i < static_cast<int>(std::size(kSwapEventsKeys)); ++i) {
        if (k.has(i)) Set(cg, static_cast<Metric>(ci::kSwapEventsHigh + i), k.at(i));
      }
      return ok;
    default: return true;
  }
}

bool CgroupCollectorImpl::ParseBlockIoFile(Cgroup& cg, FileKind kind, std::string_view text) {
  switch (kind) {
    case kFBlkioBytesV1:
      return ci::ParseBlkio(text, [&](const ci::BlkioDevice& dev) {
        DeviceSeries& s = DeviceFor(cg, dev.major, dev.minor);
        s.reads_bytes_v = AsDouble(dev.read);
        s.writes_bytes_v = AsDouble(dev.write);
        SetDeviceBytes(s);
      });
    case kFBlkioOpsV1:
      return ci::ParseBlkio(text, [&](const ci::BlkioDevice& dev) {
        DeviceSeries& s = DeviceFor(cg, dev.major, dev.minor);
        s.reads_v = AsDouble(dev.read);
        s.writes_v = AsDouble(dev.write);
        pipeline_.Set(s.reads, s.reads_v);
        pipeline_.Set(s.writes, s.writes_v);
      });
    case kFIoStatV2:
      return ci::ParseIoStat(text, [&](const ci::IoStatDevice& dev) {
        DeviceSeries& s = DeviceFor(cg, dev.major, dev.minor);
        pipeline_.Set(s.reads_bytes, AsDouble(dev.rbytes));
        pipeline_.Set(s.writes_bytes, AsDouble(dev.wbytes));
        pipeline_.Set(s.reads, AsDouble(dev.rios));
        pipeline_.Set(s.writes, AsDouble(dev.wios));
        pipeline_.Set(s.blkio_read, AsDouble(dev.rbytes));
        pipeline_.Set(s.blkio_write, AsDouble(dev.wbytes));
      });
    default: return true;
  }
}

// cpu.pressure, memory.pressure, io.pressure: the "some" and "full" totals,
// at consecutive metrics in that order.
bool CgroupCollectorImpl::ParsePressureFile(Cgroup& cg, FileKind kind, std::string_view text) {
  ci::Pressure p;
  const bool ok = ci::ParsePressure(text, &p);
  const int base = ci::kPsiCpuWaiting + 2 * (kind - kFCpuPressure);
  if (p.has_some) Set(cg, static_cast<Metric>(base), AsDouble(p.some_total_us) * kUsToS);
  if (p.has_full) Set(cg, static_cast<Metric>(base + 1), AsDouble(p.full_total_us) * kUsToS);
  return ok;
}

// Dispatches one file's text to the step for its controller; the steps are
// non-virtual members in this file, so this stays one inlinable call chain
// with its scratch on the stack.
void CgroupCollectorImpl::ParseFile(Cgroup& cg, FileKind kind, std::string_view text,
                                    CollectStats& stats) {
  bool ok = true;
  switch (kind) {
    case kFCpuacctUsage:
    case kFCpuacctUsageUser:
    case kFCpuacctUsageSys:
    case kFCpuacctStat:
    case kFCpuStatV1:
    case kFCpuStatV2:
      ok = ParseCpuFile(cg, kind, text);
      break;
    case kFMemUsageV1:
    case kFMemCurrentV2:
    case kFMemFailcntV1:
    case kFMemStatV1:
    case kFMemStatV2:
    case kFOomControlV1:
    case kFMemEventsV2:
    case kFSwapCurrentV2:
    case kFSwapEventsV2:
    case kFMemPeakV2:
      ok = ParseMemoryFile(cg, kind, text);
      break;
    case kFBlkioBytesV1:
    case kFBlkioOpsV1:
    case kFIoStatV2:
      ok = ParseBlockIoFile(cg, kind, text);
      break;
    case kFPidsCurrent:
      ok = SetU64(cg, ci::kThreads, text, 1);
      break;
    case kFProcs:
      Set(cg, ci::kProcesses, AsDouble(ci::CountLines(text)));
      break;
    case kFCpuPressure:
    case kFMemPressure:
    case kFIoPressure:
      ok = ParsePressureFile(cg, kind, text);
      break;
    case kNumFileKinds:
      break;
  }
  if (!ok) ++stats.parse_errors;
}

void CgroupCollectorImpl::ParseMemStatV2(Cgroup& cg, std::string_view text, bool* ok) {
  uint64_t vals[std::size(kMemStatV2Keys)];
  uint64_t found = 0;
  *ok = ci::ParseKeyedU64(text, kMemStatV2Keys, vals, &found);
  auto has = [&](int i) { return (found >> i) & 1; };
  auto d = [](uint64_t x) { return static_cast<double>(x); };
  if (has(0)) Set(cg, ci::kRss, d(vals[0]));
  if (has(1)) Set(cg, ci::kCache, d(vals[1]));
  if (has(2)) Set(cg, ci::kMappedFile, d(vals[2]));
  if (has(3) && cg.have_mem_usage) {
    double inactive = d(vals[3]);
    Set(cg, ci::kWorkingSet, cg.mem_usage > inactive ? cg.mem_usage - inactive : 0);
  }
  // v2 memory.stat counts the cgroup with its descendants only; cAdvisor
  // exports that as both scopes.
  if (has(4)) {
    Set(cg, ci::kPgfaultContainer, d(vals[4]));
    Set(cg, ci::kPgfaultHierarchy, d(vals[4]));
  }
  if (has(5)) {
    Set(cg, ci::kPgmajfaultContainer, d(vals[5]));
    Set(cg, ci::kPgmajfaultHierarchy, d(vals[5]));
  }
  // Indexes 6..14 map to the slots kRefaultsAnon..kPagesReclaimed in order;
  // 15..17 are the pre-5.9 names of the _file counters.
  static_assert(ci::kPagesReclaimed - ci::kRefaultsAnon == 8);
  for (int i = 6; i <= 14; ++i) {
    if (has(i)) Set(cg, static_cast<Metric>(ci::kRefaultsAnon + i - 6), d(vals[i]));
  }
  constexpr Metric kOldNames[] = {ci::kRefaultsFile, ci::kActivationsFile, ci::kRestoresFile};
  for (int i = 0; i < 3; ++i) {
    if (has(15 + i) && !has(7 + 2 * i)) Set(cg, kOldNames[i], d(vals[15 + i]));
  }
}

// One cycle of one cgroup: the files due by their cadence (cgroup_files.h).
// An `active` file is read when a signal read before it this cycle (CPU
// usage, memory usage) moved; NaN (never read) counts as moved.
void CgroupCollectorImpl::ReadCgroup(Cgroup& cg, TimePoint now, CollectStats& stats) {
  cg.have_mem_usage = false;
  const bool slow_due = now >= cg.slow_due;
  const double cpu_before = cg.last[ci::kCpuUsage], mem_before = cg.last[ci::kMemUsage];
  MetricMask skipped = 0;
  for (OpenFile& f : cg.files) {
    const Cadence cadence = ci::CadenceOf(f.kind);
    const bool slow = cadence == Cadence::kSlow;
    if (slow && !slow_due) continue;
    if (cadence == Cadence::kActive && !slow_due && cg.last[ci::kCpuUsage] == cpu_before &&
        cg.last[ci::kMemUsage] == mem_before) {
      skipped |= ci::kFiles[f.kind].feeds;
      ++stats.idle_files_skipped;
      continue;
    }
    ssize_t n = ci::PreadAll(f.fd.get(), &buf_);
    if (n < 0) {
      int err = static_cast<int>(-n);
      if (ci::IsGoneErrno(err)) {
        // rmdir'ed under us (pod deleted): normal churn, not an error.
        LogDebug("cgroup ", cg.identity.id, " removed (", ci::kFiles[f.kind].name, ": ",
                 strerror(err), ")");
        cg.gone = true;
        return;
      }
      ++stats.read_errors;
      uint32_t bit = uint32_t{1} << f.kind;
      if (!(cg.logged_errors & bit)) {
        cg.logged_errors |= bit;
        LogWarn("cgroup ", cg.identity.id, ": read ", ci::kFiles[f.kind].name, ": ",
                strerror(err), " (logged once per cgroup and file)");
      }
      continue;
    }
    ++stats.files_read;
    if (slow) ++stats.slow_files_read;
    ParseFile(cg, f.kind, std::string_view(buf_.data(), static_cast<size_t>(n)), stats);
  }
  if (slow_due) cg.slow_due = NextSlowRead(cg, now);
  Reemit(cg, cg.reemit | skipped);
}

void CgroupCollectorImpl::Reemit(const Cgroup& cg, MetricMask mask) {
  for (MetricMask rest = mask & ((MetricMask{1} << ci::kNumScalarMetrics) - 1); rest != 0;
       rest &= rest - 1) {
    const int m = std::countr_zero(rest);
    pipeline_.Set(cg.series[m], cg.last[m]);
  }
  const bool reads = (mask >> ci::kFsReads) & 1, writes = (mask >> ci::kFsWrites) & 1;
  // Only v1 files skip per-device values: io_service_bytes feeds all four
  // byte series at once.
  const bool bytes = (mask >> ci::kFsReadsBytes) & 1;
  if (!reads && !writes && !bytes) return;
  for (const DeviceSeries& d : cg.devices) {
    if (reads) pipeline_.Set(d.reads, d.reads_v);
    if (writes) pipeline_.Set(d.writes, d.writes_v);
    if (bytes) SetDeviceBytes(d);
  }
}

// A slow value read at `now` is exported until the next read, and a scrape
// may come up to one interval after the last cycle: reading again after
// slow_interval - interval keeps every value a scrape sees younger than
// slow_interval. The first period is shortened by a per-cgroup offset, so
// containers found in one walk (all of them, at start-up) do not read their
// slow files in the same cycle ever after.
TimePoint CgroupCollectorImpl::NextSlowRead(Cgroup& cg, TimePoint now) {
  const auto period = std::max(std::chrono::nanoseconds(0),
                               absl::ToChronoNanoseconds(options_.slow_interval) -
                                   absl::ToChronoNanoseconds(options_.interval));
  if (cg.slow_read_once || period.count() == 0) return now + period;
  cg.slow_read_once = true;
  const auto offset = std::hash<std::string>()(cg.identity.id) % static_cast<uint64_t>(period.count());
  return now + period - std::chrono::nanoseconds(offset);
}

// Adds an inotify watch on each notify file (memory.events, memory.swap.events)
// the cgroup has and is not watched yet.
void CgroupCollectorImpl::WatchEvents(Cgroup& cg) {
  if (!events_) return;
  for (const OpenFile& f : cg.files) {
    const uint32_t bit = uint32_t{1} << f.kind;
    if (!ci::kFiles[f.kind].notify || (cg.watched & bit) != 0) continue;
    const std::string path = absl::StrCat(V2Dir(cg.identity.id), "/", ci::kFiles[f.kind].name);
    const int wd = events_->Add(path, (cg.serial << 8) | f.kind);
    if (wd >= 0) {
      cg.watched |= bit;
      cg.event_wds.push_back(wd);
    } else if (-wd != ENOENT && !events_warned_) {
      events_warned_ = true;
      LogWarn("cgroup: inotify_add_watch ", path, ": ", strerror(-wd),
              "; some memory.events are read at their cadence only (logged once)");
    }
  }
}

// Captured notify files (see cgroup_events.h), parsed like a read: also for
// a cgroup already gone, whose kept values they update.
void CgroupCollectorImpl::ApplyEvents(CollectStats& stats) {
  if (!events_) return;
  captures_.clear();
  events_->Take(&captures_);
  for (const ci::EventsWatch::Capture& c : captures_) {
    const uint64_t serial = c.key >> 8;
    for (auto& cg : cgroups_) {
      if (cg->serial != serial) continue;
      ++stats.event_reads;
      ParseFile(*cg, static_cast<FileKind>(c.key & 0xff), c.text, stats);
      break;
    }
  }
}

bool CgroupCollectorImpl::Retire(Cgroup& cg, TimePoint now) {
  cg.files.clear();  // closes the fds
  if (events_) {
    for (int wd : cg.event_wds) events_->Remove(wd);
  }
  cg.event_wds.clear();
  // Only a cgroup with an event to lose is kept (an OOM kill, limit hits):
  // counters that are all 0 say nothing that their absence does not.
  const MetricMask kept_metrics = ci::KeptMetrics();
  bool kept = false;
  for (MetricMask rest = kept_metrics; rest != 0; rest &= rest - 1) {
    const int m = std::countr_zero(rest);
    kept = kept || (cg.series[m] != kNoSeries && cg.last[m] > 0);
  }
  if (!kept || options_.gone_grace <= absl::ZeroDuration()) {
    Drop(cg);
    return true;
  }
  LogDebug("cgroup ", cg.identity.id, " gone; its event counters stay exported for ",
           absl::FormatDuration(options_.gone_grace));
  // Everything else goes now, as for any removed cgroup.
  for (int m = 0; m < ci::kNumScalarMetrics; ++m) {
    if ((kept_metrics >> m) & 1 || cg.series[m] == kNoSeries) continue;
    pipeline_.Release(cg.series[m]);
    cg.series[m] = kNoSeries;
  }
  for (const DeviceSeries& d : cg.devices) {
    for (SeriesId s : {d.reads_bytes, d.writes_bytes, d.reads, d.writes, d.blkio_read,
                       d.blkio_write}) {
      pipeline_.Release(s);
    }
  }
  cg.devices.clear();
  cg.gone_at = now;
  cg.gone = false;
  return false;
}

// One cycle's reads. A cgroup found gone is retired; a retired one only
// re-exports its kept values until its grace period ends.
void CgroupCollectorImpl::ReadAll(TimePoint now, CollectStats& stats) {
  bool erase = false;
  for (auto& cgp : cgroups_) {
    Cgroup& cg = *cgp;
    if (cg.gone_at) {
      if (now - *cg.gone_at < absl::ToChronoNanoseconds(options_.gone_grace)) {
        Reemit(cg, ci::KeptMetrics());
        continue;
      }
      Drop(cg);
      cg.gone = true;
    } else {
      ReadCgroup(cg, now, stats);
      if (cg.gone) cg.gone = Retire(cg, now);
    }
    erase = erase || cg.gone;
  }
  if (erase) {
    std::erase_if(cgroups_, [](const std::unique_ptr<Cgroup>& cg) { return cg->gone; });
  }
}

void CgroupCollectorImpl::Drop(Cgroup& cg) {
  pipeline_.RemoveEntity(cg.entity);
  cg.files.clear();  // closes the fds
  if (events_) {
    for (int wd : cg.event_wds) events_->Remove(wd);
  }
  cg.event_wds.clear();
}

void CgroupCollectorImpl::Rescan(bool changed) {
  // A rescan for a directory change only adds and drops cgroups: the
  // periodic one (limits, and labels without a label generation) keeps its
  // schedule, or continuous churn would postpone it for ever.
  const TimePoint now = Now();
  if (!changed) {
    last_rescan_ = now;
    rescanned_ = true;
  }
  // Walk only when a watched directory changed (DirWatch), the watch is not
  // usable, or kFullWalkEvery passed (a safety net for a hierarchy changed
  // in a way inotify did not report). Otherwise the set of cgroups is the
  // one we have: removals were already seen by the reads (ENODEV).
  const bool walk = changed || !watch_ || !watch_->usable() || walks_ == 0 ||
                    watch_->Changed() || now - last_walk_ >= kFullWalkEvery;
  if (!walk) {
    RefreshCgroups(now, /*all=*/true);
    return;
  }
  ++walks_;
  last_walk_ = now;
  ci::Discovery found = ci::DiscoverCgroups(layout_, options_.max_depth, watch_ ? &*watch_ : nullptr);
  if (watch_ && !watch_->usable() && !watch_warned_) {
    watch_warned_ = true;
    LogWarn("cgroup: ", watch_->error(), "; walking the hierarchies at every rescan instead");
  }
  LoadDeviceNames();
  // Index of the current set by id, rebuilt here so the per-cycle path keeps
  // a plain vector. Retired cgroups (gone, kept values still exported) are
  // not in it: a new cgroup of the same path replaces them below.
  absl::flat_hash_map<std::string_view, size_t> have;
  have.reserve(cgroups_.size());
  for (size_t i = 0; i < cgroups_.size(); ++i) {
    if (!cgroups_[i]->gone_at) have[cgroups_[i]->identity.id] = i;
  }
  std::vector<bool> seen(cgroups_.size(), false);
  std::vector<std::unique_ptr<Cgroup>> added;
  for (const std::string& id : found.ids) {
    if (auto it = have.find(id); it != have.end()) {
      seen[it->second] = true;
      continue;
    }
    const ci::ContainerNaming* naming = nullptr;
    CgroupIdentity identity = ci::IdentifyCgroup(id, &naming);
    // Monitors (conmon) are not collected: see ci::Role. Found again at
    // every walk, which parses one path and opens nothing.
    if (naming != nullptr && naming->role == ci::Role::kMonitor) continue;
    auto cg = std::make_unique<Cgroup>();
    cg->identity = std::move(identity);
    cg->serial = next_serial_++;
    cg->entity = pipeline_.AddEntity(LabelsFor(cg->identity));
    OpenFiles(*cg);
    WatchEvents(*cg);
    InternScalarSeries(*cg);
    ReadSpec(*cg);
    cg->found_at = cg->spec_read_at = now;
    added.push_back(std::move(cg));
  }
  for (size_t i = 0; i < cgroups_.size(); ++i) {
    if (!seen[i] && !cgroups_[i]->gone_at) {
      LogDebug("cgroup ", cgroups_[i]->identity.id, " no longer present; dropping");
      cgroups_[i]->gone = true;
    }
  }
  RefreshCgroups(now, /*all=*/!changed);
  absl::flat_hash_set<std::string_view> added_ids;
  for (const auto& cg : added) added_ids.insert(cg->identity.id);
  for (auto& cg : cgroups_) {
    if (cg->gone) {
      cg->gone = Retire(*cg, now);
    } else if (cg->gone_at && added_ids.contains(cg->identity.id)) {
      Drop(*cg);  // one entity per path: the new cgroup's
      cg->gone = true;
    }
  }
  std::erase_if(cgroups_, [](const std::unique_ptr<Cgroup>& cg) { return cg->gone; });
  for (auto& cg : added) cgroups_.push_back(std::move(cg));
}

// At every rescan, walk or not: late controller files and spec files. After
// a directory change (`all` false) only what concerns new cgroups: late
// controller files (runc creates one hierarchy's directory after the other)
// and the spec of young cgroups. (Labels: Relabel, from Collect.)
void CgroupCollectorImpl::RefreshCgroups(TimePoint now, bool all) {
  for (auto& cgp : cgroups_) {
    Cgroup& cg = *cgp;
    if (cg.gone || cg.gone_at) continue;
    if (cg.reopen_rescans_left > 0) {
      --cg.reopen_rescans_left;
      OpenFiles(cg);
      WatchEvents(cg);
      InternScalarSeries(cg);
    }
    const bool young = now - cg.found_at < kSpecFreshFor;
    if (!all && !young) continue;
    // Spec files (limits, shares) are open+read+close each: at 1,000
    // containers re-reading all of them at every rescan was ~7% of the
    // agent's CPU (perf, bench/e2e). Limits are set right after a container
    // starts and rarely change later (an in-place resize), so a cgroup's
    // spec is re-read at every rescan in its first kSpecFreshFor, then once
    // per kSpecRefresh.
    if (young || now - cg.spec_read_at >= kSpecRefresh) {
      ReadSpec(cg);
      cg.spec_read_at = now;
    }
  }
}

// Every tracked cgroup's labels, from the labeler's current answers. Called
// when the labeler's generation changed or, without one, at every periodic
// rescan; never for a directory change alone, which would cost a labeler
// call per container per cycle of churn (new cgroups are labelled when
// added).
void CgroupCollectorImpl::Relabel() {
  for (auto& cg : cgroups_) {
    if (!cg->gone && !cg->gone_at) pipeline_.SetEntityLabels(cg->entity, LabelsFor(cg->identity));
  }
}

absl::Status CgroupCollectorImpl::Collect(CollectStats& stats) {
  const TimePoint now = Now();
  // Read before any label is computed this cycle: metadata published while
  // they are computed shows up as a new number at the next cycle, which
  // relabels again, so no cgroup keeps labels older than the others.
  const std::optional<uint64_t> generation =
      options_.label_generation ? std::optional<uint64_t>(options_.label_generation())
                                : std::nullopt;
  // Captured notify files first: a cgroup removed since is retired below
  // with the values they hold (an OOM kill), not with older ones.
  ApplyEvents(stats);
  // A directory created or removed below a watched one is seen here, at the
  // next cycle, not at the next --rescan-interval: a new container's first
  // sample is at most one interval after its cgroup appears. Changed() is
  // one read(2) that returns EAGAIN when nothing happened.
  const bool due = !rescanned_ || now - last_rescan_ >=
                                      absl::ToChronoNanoseconds(options_.rescan_interval);
  if (due) {
    Rescan();
  } else if (watch_ && watch_->usable() && watch_->Changed()) {
    ++stats.discovery_events;
    Rescan(/*changed=*/true);
  }
  if (generation ? generation != labelled_generation_ : due) {
    Relabel();
    labelled_generation_ = generation;
  }
  ReadAll(now, stats);
  stats.read_errors += open_errors_;
  open_errors_ = 0;
  stats.discovery_walks += walks_ - walks_reported_;
  walks_reported_ = walks_;
  stats.containers = static_cast<uint64_t>(std::count_if(
      cgroups_.begin(), cgroups_.end(), [](const auto& cg) { return !cg->gone_at; }));
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<CgroupCollector>> NewCgroupCollector(
    const CgroupOptions& options, pipeline::Pipeline& pipeline) {
  absl::StatusOr<Layout> layout = ci::DetectLayout(options.cgroup_root, options.proc_root);
  if (!layout.ok()) return layout.status();
  absl::StatusOr<ci::MetricIds> metrics = ci::RegisterCgroupMetrics(pipeline);
  if (!metrics.ok()) return metrics.status();
  LogInfo("cgroup: ", ci::ModeName(layout->mode), " hierarchy under ", options.cgroup_root);
  auto collector = std::make_unique<CgroupCollectorImpl>(options, *std::move(layout),
                                                         *metrics, pipeline);
  collector->Rescan();
  return std::unique_ptr<CgroupCollector>(std::move(collector));
}

}  // namespace nodepulse::collectors
