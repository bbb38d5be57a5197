// Agent: wires collectors -> pipeline -> exporters and owns every thread.
//
// Start() builds the pipeline and collectors, starts the HTTP server and the
// collection thread; Stop() stops the producers of snapshots before their
// consumers, and HTTP only after remote_write's final drain (see Stop()). One collection thread
// owns the pipeline and all collectors; HTTP handlers read only published
// snapshots and atomics, so a slow scrape never delays a cycle.
//
// Thread-safety: Start()/Stop() from one thread (main); Healthy()/Ready() from
// any thread.
#ifndef NODEPULSE_AGENT_AGENT_H_
#define NODEPULSE_AGENT_AGENT_H_

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "config.h"
#include "nodepulse/collectors/cgroup.h"
#include "nodepulse/collectors/collector.h"
#include "nodepulse/collectors/kubelet.h"
#include "nodepulse/exporters/aggregates/aggregates.h"
#include "nodepulse/exporters/health/health.h"
#include "nodepulse/exporters/http/http_server.h"
#include "nodepulse/exporters/remote_write/remote_write.h"
#include "nodepulse/pipeline/pipeline.h"
#include "self_metrics.h"

namespace nodepulse::agent {

class Agent {
 public:
  explicit Agent(Config config);
  ~Agent();
  Agent(const Agent&) = delete;
  Agent& operator=(const Agent&) = delete;

  absl::Status Start();
  void Stop();

  // The collection loop completed a cycle within the last 3 intervals.
  bool Healthy(std::string* reason) const;
  // The first full cycle is done, and the kubelet join works or
  // --kubelet-ready-grace has passed since Start(). *reason says why not
  // ready, or (ready) what is degraded; empty when all is well.
  bool Ready(std::string* reason) const;
  int port() const { return server_ ? server_->port() : 0; }

 private:
  struct CollectorSlot {
    std::unique_ptr<collectors::Collector> collector;
    collectors::CollectStats stats;
    bool last_ok = true;  // logs a state change once, not every cycle
  };

  // Why pods are not joined to kubelet metadata right now, as a health
  // finding (kind kubelet_degraded, resource = the error reason); nullopt
  // when joined or when no kubelet is configured. Any thread.
  std::optional<exporters::Finding> KubeletJoinProblem() const;
  // resize_pending findings: pods whose in-place resize is deferred,
  // infeasible or failed (status resource: deferred|infeasible|error).
  std::vector<exporters::Finding> ResizeFindings() const;
  // Start()'s steps, in order.
  absl::Status StartKubelet();  // no-op without a kubelet
  void StartCollectors();       // those that cannot start are logged and skipped
  void StartAggregates();
  void StartHealth();
  absl::Status StartHttp();
  void RegisterHandlers();
  void CollectionLoop();
  void RunCycle();
  void MaybeTrimHeap(const pipeline::Pipeline::Stats& st);

  Config config_;
  std::unique_ptr<pipeline::Pipeline> pipeline_;
  std::shared_ptr<collectors::KubeletClient> kubelet_;  // null without a kubelet
  collectors::CgroupCollector* cgroup_ = nullptr;       // owned by collectors_
  std::vector<CollectorSlot> collectors_;
  std::shared_ptr<SelfMetrics> self_;
  std::unique_ptr<exporters::HttpServer> server_;
  std::unique_ptr<exporters::RemoteWriter> remote_writer_;  // null without receivers
  std::shared_ptr<exporters::AggregatesEngine> aggregates_;
  // /api/v1/health and the status page; reads snapshots on HTTP threads and
  // its own tracker thread, never on the collection thread.
  std::unique_ptr<exporters::HealthReporter> health_;

  std::thread collection_thread_;
  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  bool stop_ = false;  // guarded by stop_mu_

  std::atomic<int64_t> last_cycle_mono_ns_{0};
  std::atomic<uint64_t> cycles_{0};
  int64_t start_mono_ns_ = 0;  // set in Start() before any thread exists
  // MaybeTrimHeap's state (collection thread only).
  uint64_t series_high_ = 0;
  uint64_t blocks_released_seen_ = 0;
  uint64_t last_trim_cycle_ = 0;
  uint64_t remote_written_view_cycle_ = 0;  // aggregates view last sent (collection thread)
  uint64_t follow_up_trim_cycle_ = 0;  // 0: none due
};

}  // namespace nodepulse::agent

#endif  // NODEPULSE_AGENT_AGENT_H_
