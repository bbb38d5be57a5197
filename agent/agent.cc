#include "agent.h"

#include <malloc.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <mutex>
#include <optional>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "nodepulse/collectors/cgroup.h"
#include "nodepulse/collectors/procfs.h"
#include "nodepulse/exporters/prometheus/prometheus.h"
#include "nodepulse/exporters/aggregates/workload_histograms.h"
#include "nodepulse/base/clock.h"
#include "nodepulse/base/log.h"

namespace nodepulse::agent {

namespace {

// Intervals use the monotonic clock (base/clock.h) so a wall-clock jump
// neither stalls nor bursts collection; wall time is only for timestamps.
int64_t MonoNanos() { return absl::ToInt64Nanoseconds(base::MonotonicNow()); }

// The kubelet collector's owner lookup in the aggregates engine's terms.
// Called on the aggregates thread.
exporters::OwnerLookup OwnerLookupFromKubelet(std::shared_ptr<collectors::KubeletClient> kubelet) {
  return [lookup = collectors::MakePodOwnerLookup(std::move(kubelet))](
             absl::string_view ns, absl::string_view pod) -> std::optional<exporters::PodOwnerInfo> {
    std::optional<collectors::PodOwner> owner =
        lookup(std::string_view(ns.data(), ns.size()), std::string_view(pod.data(), pod.size()));
    if (!owner) return std::nullopt;
    return exporters::PodOwnerInfo{std::move(owner->workload), std::move(owner->workload_kind)};
  };
}

// Every pod of the kubelet's latest /pods with its workload and current
// (applied) requests, for utilization and coverage; rebuilt only when the
// kubelet publishes a new state. Called on the aggregates thread.
exporters::PodsLookup PodsFromKubelet(std::shared_ptr<collectors::KubeletClient> kubelet) {
  struct Cache {
    std::mutex mu;
    std::shared_ptr<const collectors::KubeletState> state;
    std::shared_ptr<const std::vector<exporters::PodInfo>> pods;
  };
  auto cache = std::make_shared<Cache>();
  return [kubelet, cache]() -> std::shared_ptr<const std::vector<exporters::PodInfo>> {
    std::shared_ptr<const collectors::KubeletState> state = kubelet->state();
    std::lock_guard<std::mutex> lock(cache->mu);
    if (cache->state == state) return cache->pods;
    auto pods = std::make_shared<std::vector<exporters::PodInfo>>();
    pods->reserve(state->pods.size());
    for (const collectors::PodMeta& p : state->pods) {
      pods->push_back({p.namespace_name, p.name, p.workload.name, p.workload.kind, p.phase == "Running",
                       p.pod_current.cpu_request_cores, p.pod_current.memory_request_bytes});
    }
    cache->state = std::move(state);
    cache->pods = std::move(pods);
    return cache->pods;
  };
}

// "cpu 2, memory 4.4 GiB" of a pod's requests; "none" when neither is set.
std::string Requests(const collectors::ResourceQuantities& q) {
  std::vector<std::string> parts;
  if (!std::isnan(q.cpu_request_cores)) parts.push_back(absl::StrCat("cpu ", q.cpu_request_cores));
  if (!std::isnan(q.memory_request_bytes)) {
    parts.push_back(absl::StrCat("memory ", exporters::FormatBytes(q.memory_request_bytes)));
  }
  return parts.empty() ? "none" : absl::StrJoin(parts, ", ");
}

}  // namespace

std::vector<exporters::Finding> Agent::ResizeFindings() const {
  std::vector<exporters::Finding> out;
  if (!kubelet_) return out;
  std::shared_ptr<const collectors::KubeletState> k = kubelet_->state();
  for (const collectors::PodMeta& p : k->pods) {
    // In progress is the normal way of a resize; only a stuck one is news.
    if (p.resize == collectors::ResizeState::kNone || p.resize == collectors::ResizeState::kInProgress) continue;
    exporters::Finding f;
    f.kind = "resize_pending";
    f.resource = std::string(collectors::ResizeStateName(p.resize));
    // Deferred may still happen; infeasible and error will not without a change.
    f.severity = p.resize == collectors::ResizeState::kDeferred ? exporters::Severity::kWarning
                                                                : exporters::Severity::kCritical;
    f.ref.namespace_name = p.namespace_name;
    f.ref.pod = p.name;
    f.ref.workload = p.workload.name;
    f.ref.workload_kind = p.workload.kind;
    f.summary = absl::StrCat("in-place resize ", f.resource, p.resize_message.empty() ? "" : ": ",
                             p.resize_message, "; requests desired ", Requests(p.pod_desired),
                             ", applied ", Requests(p.pod_current));
    out.push_back(std::move(f));
  }
  return out;
}

Agent::Agent(Config config) : config_(std::move(config)) {}

Agent::~Agent() { Stop(); }

absl::Status Agent::Start() {
  start_mono_ns_ = MonoNanos();
  pipeline::Options popts;
  popts.max_series = config_.max_series;
  popts.tiers = config_.tiers;
  pipeline_ = std::make_unique<pipeline::Pipeline>(popts);

  absl::StatusOr<std::shared_ptr<SelfMetrics>> self = SelfMetrics::Create(config_.proc_root);
  if (!self.ok()) return self.status();
  self_ = *std::move(self);

  if (config_.remote_write) {
    auto rw = exporters::RemoteWriter::Create(*config_.remote_write, self_->registry());
    if (!rw.ok()) return rw.status();
    remote_writer_ = *std::move(rw);
    LogInfo("remote_write: ", config_.remote_write->urls.size(), " receiver(s), queue in ",
            config_.remote_write->state_dir);
  }

  // The kubelet client starts first so the cgroup labeler has pod metadata
  // as early as possible; it polls on its own thread.
  if (absl::Status s = StartKubelet(); !s.ok()) return s;
  StartCollectors();
  if (collectors_.empty()) {
    return absl::FailedPreconditionError(
        "no collector could start; check --cgroup-root and --proc-root");
  }
  StartAggregates();
  StartHealth();
  if (absl::Status s = StartHttp(); !s.ok()) return s;

  collection_thread_ = std::thread([this] {
    NameThisThread("np-collect");
    CollectionLoop();
  });
  LogInfo("nodepulse ", NODEPULSE_VERSION, " listening on ", config_.listen, " (port ",
          server_->port(), "), interval ", absl::FormatDuration(config_.interval), ", cgroup root ",
          config_.cgroup_root, ", proc root ", config_.proc_root);
  return absl::OkStatus();
}

absl::Status Agent::StartKubelet() {
  if (config_.kubelet) {
    kubelet_ = std::make_shared<collectors::KubeletClient>(*config_.kubelet);
    if (absl::Status s = kubelet_->Start(); !s.ok()) return s;
    LogInfo("kubelet: polling ", config_.kubelet->url, " every ",
            absl::FormatDuration(config_.kubelet->interval));
  } else {
    LogInfo("kubelet: not configured (no --kubelet-url and not running in a pod); collecting "
            "cgroup and node metrics only (no namespace/pod/container labels, no network or "
            "volume stats)");
  }
  return absl::OkStatus();
}

// A collector that cannot start is reported and skipped: the agent keeps
// collecting what it can (e.g. node metrics without cgroups).
void Agent::StartCollectors() {
  collectors::CgroupOptions copts;
  copts.cgroup_root = config_.cgroup_root;
  copts.proc_root = config_.proc_root;
  copts.max_depth = config_.cgroup_max_depth;
  copts.rescan_interval = config_.rescan_interval;
  copts.interval = config_.interval;
  copts.slow_interval = config_.slow_interval;
  if (kubelet_) {
    copts.labeler = collectors::MakeKubeletLabeler(kubelet_);
    copts.label_generation = collectors::MakeKubeletLabelGeneration(kubelet_);
  }
  if (auto c = collectors::NewCgroupCollector(copts, *pipeline_); c.ok()) {
    cgroup_ = c->get();
    collectors_.push_back({*std::move(c), {}, true});
  } else {
    LogError("cgroup collector disabled: ", c.status().ToString());
  }
  collectors::ProcfsOptions nopts;
  nopts.proc_root = config_.proc_root;
  if (auto c = collectors::NewProcfsCollector(nopts, *pipeline_); c.ok()) {
    collectors_.push_back({*std::move(c), {}, true});
  } else {
    LogError("procfs collector disabled: ", c.status().ToString());
  }
  if (kubelet_) {
    collectors::KubeletCollectorOptions kopts;
    kopts.mixin_series = config_.mixin_series;
    // Runs on the collection thread (when pods change), like the cgroup
    // collector, so reading its identities needs no lock.
    // A pod's cgroup path never changes, so the map is rebuilt from one copy
    // of Identities() only when a pod is not in it yet, not once per pod.
    kopts.pod_cgroup_id = [this, ids = std::map<std::string, std::string, std::less<>>()](
                              std::string_view pod_uid) mutable -> std::string {
      if (cgroup_ == nullptr) return "";
      auto it = ids.find(pod_uid);
      if (it == ids.end()) {
        ids.clear();
        for (const auto& [entity, ident] : cgroup_->Identities()) {
          if (ident.pod_level) ids.emplace(ident.pod_uid, ident.id);
        }
        it = ids.find(pod_uid);
      }
      return it == ids.end() ? std::string() : it->second;
    };
    if (auto c = collectors::NewKubeletCollector(kubelet_, *pipeline_, kopts); c.ok()) {
      collectors_.push_back({*std::move(c), {}, true});
    } else {
      LogError("kubelet collector disabled: ", c.status().ToString());
    }
  }
}

void Agent::StartAggregates() {
  exporters::AggregatesOptions aopts;
  aopts.mixin_series = config_.mixin_series;
  aopts.metrics = config_.aggregates;
  if (config_.kubelet) aopts.node_name = config_.kubelet->node_name;
  aopts.interval_ms = absl::ToInt64Milliseconds(config_.interval);
  if (kubelet_) {
    aopts.owner_lookup = OwnerLookupFromKubelet(kubelet_);
    aopts.pods = PodsFromKubelet(kubelet_);
  }
  aggregates_ = std::make_shared<exporters::AggregatesEngine>(*pipeline_, std::move(aopts));
  aggregates_->Start();
}

void Agent::StartHealth() {
  exporters::HealthOptions health_opts;
  health_opts.self_metrics = {self_->registry()};
  health_opts.start_time_ms = absl::ToUnixMillis(absl::Now());
  health_opts.external_findings = [this] {
    std::vector<exporters::Finding> out;
    if (std::optional<exporters::Finding> f = KubeletJoinProblem()) out.push_back(*std::move(f));
    for (exporters::Finding& f : ResizeFindings()) out.push_back(std::move(f));
    return out;
  };
  if (config_.kubelet) health_opts.node_name = config_.kubelet->node_name;
  health_ = std::make_unique<exporters::HealthReporter>(*pipeline_, std::move(health_opts));
  health_->Start();
}

absl::Status Agent::StartHttp() {
  exporters::HttpServerOptions hopts;
  hopts.listen = config_.listen;
  hopts.num_threads = config_.http_threads;
  hopts.max_request_bytes = config_.max_request_bytes;
  hopts.max_header_bytes = config_.max_header_bytes;
  hopts.max_connections = config_.max_connections;
  hopts.max_requests_per_second = config_.max_requests_per_second;
  hopts.request_timeout_ms = static_cast<int>(absl::ToInt64Milliseconds(config_.http_request_timeout));
  hopts.idle_timeout_ms = static_cast<int>(absl::ToInt64Milliseconds(config_.http_idle_timeout));
  hopts.tls_cert_file = config_.tls_cert_file;
  hopts.tls_key_file = config_.tls_key_file;
  hopts.client_ca_file = config_.tls_client_ca_file;
  hopts.auth_token_file = config_.auth_token_file;
  hopts.probe_listen = config_.probe_listen;
  server_ = std::make_unique<exporters::HttpServer>(hopts);
  RegisterHandlers();
  return server_->Start();
}

void Agent::RegisterHandlers() {
  std::weak_ptr<exporters::AggregatesEngine> engine = aggregates_;
  server_->Handle("/metrics", exporters::CachedMetricsHandler(
                                  *pipeline_, {self_->registry(), server_->MetricsCollectable()},
                                  [engine]() -> std::string {
                                    auto e = engine.lock();
                                    auto v = e ? e->view() : nullptr;
                                    return v ? v->exposition : std::string();
                                  },
                                  [engine]() -> exporters::ProtobufExtra {
                                    auto e = engine.lock();
                                    auto v = e ? e->view() : nullptr;
                                    if (!v) return {};
                                    return {v->exposition, exporters::WorkloadHistograms(*v)};
                                  }));
  server_->Handle("/api/v1/aggregates", exporters::AggregatesHandler(aggregates_));
  server_->Handle("/healthz", [this](const exporters::HttpRequest&) {
    std::string reason;
    bool ok = Healthy(&reason);
    return exporters::HttpResponse{ok ? 200 : 503, "text/plain; charset=utf-8",
                                   ok ? "ok\n" : reason + "\n", {}, nullptr};
  });
  server_->Handle("/readyz", [this](const exporters::HttpRequest&) {
    std::string reason;
    bool ok = Ready(&reason);
    std::string body = ok ? "ready\n" : "";
    if (!reason.empty()) absl::StrAppend(&body, reason, "\n");
    return exporters::HttpResponse{ok ? 200 : 503, "text/plain; charset=utf-8", std::move(body), {},
                                   nullptr};
  });
  server_->Handle("/api/v1/health", health_->ApiHandler());
  server_->Handle("/", health_->PageHandler());
}

void Agent::Stop() {
  {
    std::lock_guard<std::mutex> lock(stop_mu_);
    stop_ = true;
  }
  stop_cv_.notify_all();
  // Producers before consumers, not the reverse of Start(): the collection
  // thread first (no new snapshot after it), then the threads that read
  // snapshots (aggregates, the health tracker), then remote_write, which
  // drains its queue to disk and sends what it can for up to 10 s while the
  // HTTP server still answers probes and scrapes; then HTTP, and the
  // kubelet poller last, since nothing reads its state once the threads
  // above have stopped.
  if (collection_thread_.joinable()) collection_thread_.join();
  if (aggregates_) aggregates_->Stop();
  if (health_) health_->Stop();
  if (remote_writer_) remote_writer_->Stop(absl::Seconds(10));
  if (server_) server_->Stop();
  if (kubelet_) kubelet_->Stop();
}

bool Agent::Healthy(std::string* reason) const {
  int64_t last = last_cycle_mono_ns_.load();
  int64_t limit = 3 * absl::ToInt64Nanoseconds(config_.interval);
  if (last == 0) {
    *reason = "no collection cycle completed yet";
    return false;
  }
  int64_t age = MonoNanos() - last;
  if (age > limit) {
    *reason = absl::StrCat("last collection cycle completed ", age / 1'000'000,
                           " ms ago (limit 3 intervals = ", limit / 1'000'000, " ms)");
    return false;
  }
  return true;
}

bool Agent::Ready(std::string* reason) const {
  reason->clear();
  if (cycles_.load() == 0) {
    *reason = "first collection cycle not done yet";
    return false;
  }
  std::optional<exporters::Finding> join = KubeletJoinProblem();
  if (!join) return true;
  // The grace lets the first scrape carry pod labels when the kubelet only
  // needs a moment; a join that stays broken must not hold a rollout.
  const int64_t grace = absl::ToInt64Nanoseconds(config_.kubelet_ready_grace);
  if (MonoNanos() - start_mono_ns_ < grace) {
    *reason = absl::StrCat("waiting up to ", absl::FormatDuration(config_.kubelet_ready_grace),
                           " after start for the kubelet join: ", join->summary);
    return false;
  }
  *reason = absl::StrCat("degraded: ", join->summary);
  return true;
}

std::optional<exporters::Finding> Agent::KubeletJoinProblem() const {
  if (!kubelet_) return std::nullopt;
  std::shared_ptr<const collectors::KubeletState> k = kubelet_->state();
  if (k->up) return std::nullopt;
  exporters::Finding f;
  f.kind = "kubelet_degraded";
  f.severity = exporters::Severity::kWarning;
  f.value = 0;
  if (k->polls == 0) {
    f.resource = "pending";
    f.summary = absl::StrCat("kubelet ", config_.kubelet->url, " not polled yet");
  } else {
    f.resource = std::string(collectors::KubeletErrorName(k->problem_reason));
    f.summary = absl::StrCat("kubelet ", config_.kubelet->url, " join missing, pods unlabelled (reason=",
                             f.resource, "): ", k->problem);
  }
  return f;
}

void Agent::RunCycle() {
  int64_t start = MonoNanos();
  pipeline_->BeginCycle(absl::ToUnixMillis(absl::Now()));
  for (CollectorSlot& slot : collectors_) {
    int64_t t0 = MonoNanos();
    absl::Status s = slot.collector->Collect(slot.stats);
    double secs = static_cast<double>(MonoNanos() - t0) / 1e9;
    std::string name(slot.collector->name());
    if (!s.ok() && slot.last_ok) {
      LogWarn("collector ", name, " failed: ", s.ToString(), " (will keep retrying)");
    } else if (s.ok() && !slot.last_ok) {
      LogInfo("collector ", name, " recovered");
    }
    slot.last_ok = s.ok();
    self_->ObserveCollector(name, s.ok(), secs, slot.stats);
  }
  pipeline_->EndCycle();
  // A pointer hand-off; encoding and disk I/O happen on the writer's thread.
  if (remote_writer_) remote_writer_->OnSnapshot(pipeline_->snapshot());
  aggregates_->Notify(pipeline_->snapshot());
  if (remote_writer_) {
    // The engine publishes a cycle's view a moment after Notify, so this
    // hands over the previous cycle's view, each one once.
    if (auto view = aggregates_->view(); view && view->cycle != remote_written_view_cycle_) {
      remote_written_view_cycle_ = view->cycle;
      remote_writer_->OnAggregates(std::move(view));
    }
  }
  const pipeline::Pipeline::Stats pstats = pipeline_->stats();
  self_->ObservePipeline(pstats);
  MaybeTrimHeap(pstats);
  self_->ObserveProcess();
  int64_t end = MonoNanos();
  bool overrun = end - start > absl::ToInt64Nanoseconds(config_.interval);
  self_->ObserveCycle(static_cast<double>(end - start) / 1e9, overrun);
  last_cycle_mono_ns_.store(end);
  cycles_.fetch_add(1);
}

namespace {
constexpr uint64_t kWarmTrimCycle = 30;
// Trims are at least this many cycles apart; a trim for shrinkage is
// followed by one more this many cycles later (see MaybeTrimHeap).
constexpr uint64_t kTrimGapCycles = 16;
}  // namespace

void Agent::MaybeTrimHeap(const pipeline::Pipeline::Stats& st) {
  // After containers go away (churn, a drained node), what their series
  // held - catalog copies, label strings, per-thread arenas' scraps - stays
  // resident in glibc's heap: measured +35 MB RSS after 10,800 churned
  // cgroups on a 28 MB agent. malloc_trim(0) hands free pages back. It walks
  // every arena (about a millisecond here), so only when the series count
  // fell by 5% from its high-water mark or the pipeline gave ring blocks
  // back, and at most once per 16 cycles. Once, too, after start-up (the
  // first discovery and kubelet merge leave the most garbage behind).
  //
  // Such a trim runs right after EndCycle, while the other threads still
  // hold the previous snapshot and its catalog (the aggregates engine until
  // its next update, the health tracker for up to its 5 s period, pooled
  // snapshots, the cached /metrics text): what they free afterwards was
  // left resident, since nothing shrinks any more to trigger another trim.
  // Seen in a churn run: with the rings and the pipeline's bytes already
  // back, a malloc_trim from gdb still returned 8 MB. So every trim for
  // shrinkage is followed by one more, kTrimGapCycles later, when those
  // holders have moved on.
  series_high_ = std::max(series_high_, st.series_live);
  const uint64_t cycle = cycles_.load();
  const bool shrank = st.series_live + st.series_live / 20 < series_high_ ||
                      st.history_blocks_released != blocks_released_seen_ ||
                      (last_trim_cycle_ == 0 && cycle >= kWarmTrimCycle);
  const bool follow_up = follow_up_trim_cycle_ != 0 && cycle >= follow_up_trim_cycle_;
  if (!(shrank || follow_up) || cycle < last_trim_cycle_ + kTrimGapCycles) return;
  malloc_trim(0);
  last_trim_cycle_ = cycle;
  follow_up_trim_cycle_ = shrank ? cycle + kTrimGapCycles : 0;
  series_high_ = st.series_live;
  blocks_released_seen_ = st.history_blocks_released;
}

void Agent::CollectionLoop() {
  const int64_t step = absl::ToInt64Nanoseconds(config_.interval);
  int64_t next = MonoNanos();
  std::unique_lock<std::mutex> lock(stop_mu_);
  while (!stop_) {
    lock.unlock();
    RunCycle();
    lock.lock();
    next += step;
    int64_t now = MonoNanos();
    if (next <= now) {
      // Overran: skip the missed ticks instead of bursting to catch up.
      next += ((now - next) / step + 1) * step;
    }
    // steady_clock is CLOCK_MONOTONIC on Linux/libstdc++.
    auto deadline = std::chrono::steady_clock::time_point(std::chrono::nanoseconds(next));
    stop_cv_.wait_until(lock, deadline, [this] { return stop_; });
  }
}

}  // namespace nodepulse::agent
