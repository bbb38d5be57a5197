// SelfMetrics: the agent's own nodepulse_* and process_* metrics, kept in a
// prometheus::Registry (Family<T> is right here: a fixed, small label set).
//
// Thread-safety: updates come from the collection thread; the registry is
// collected concurrently by HTTP threads (prometheus-cpp metrics are atomic).
#ifndef NODEPULSE_AGENT_SELF_METRICS_H_
#define NODEPULSE_AGENT_SELF_METRICS_H_

#include <chrono>
#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "nodepulse/collectors/collector.h"
#include "nodepulse/pipeline/pipeline.h"
#include "prometheus/counter.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace nodepulse::agent {

class SelfMetrics {
 public:
  // prometheus-cpp throws on invalid names; this converts that to a Status at
  // start-up, the one place it can happen.
  static absl::StatusOr<std::shared_ptr<SelfMetrics>> Create(const std::string& proc_root);

  std::shared_ptr<prometheus::Registry> registry() const { return registry_; }

  void ObserveCycle(double seconds, bool overrun);
  void ObserveCollector(const std::string& name, bool ok, double seconds,
                        const collectors::CollectStats& stats);
  void ObservePipeline(const pipeline::Pipeline::Stats& stats);
  // process_cpu_seconds_total, process_resident_memory_bytes, process_open_fds.
  void ObserveProcess();

 private:
  SelfMetrics() = default;
  // Create()'s steps; prometheus-cpp throws on an invalid name.
  void RegisterCycleMetrics(prometheus::Registry& r);
  void RegisterCollectorMetrics(prometheus::Registry& r);
  void RegisterPipelineMetrics(prometheus::Registry& r);
  void RegisterProcessMetrics(prometheus::Registry& r);
  struct PerCollector {
    prometheus::Gauge* success;
    prometheus::Gauge* duration;
    prometheus::Counter* files_read;
    prometheus::Counter* read_errors;
    prometheus::Counter* parse_errors;
    prometheus::Gauge* containers;
    prometheus::Counter* discovery_walks;
    prometheus::Counter* slow_files_read;
    prometheus::Counter* idle_files_skipped;
    prometheus::Counter* discovery_events;
    prometheus::Counter* event_reads;
    collectors::CollectStats last;  // to turn cumulative stats into increments
  };
  PerCollector& For(const std::string& name);
  static void Advance(prometheus::Counter* c, uint64_t now, uint64_t before);

  std::shared_ptr<prometheus::Registry> registry_;
  std::string proc_root_;
  prometheus::Family<prometheus::Gauge>* collector_success_ = nullptr;
  prometheus::Family<prometheus::Gauge>* collector_duration_ = nullptr;
  prometheus::Family<prometheus::Counter>* files_read_ = nullptr;
  prometheus::Family<prometheus::Counter>* read_errors_ = nullptr;
  prometheus::Family<prometheus::Counter>* parse_errors_ = nullptr;
  prometheus::Family<prometheus::Counter>* discovery_walks_ = nullptr;
  prometheus::Family<prometheus::Counter>* slow_files_read_ = nullptr;
  prometheus::Family<prometheus::Counter>* idle_files_skipped_ = nullptr;
  prometheus::Family<prometheus::Counter>* discovery_events_ = nullptr;
  prometheus::Family<prometheus::Counter>* event_reads_ = nullptr;
  prometheus::Family<prometheus::Gauge>* containers_ = nullptr;
  std::map<std::string, PerCollector> per_collector_;
  prometheus::Counter* cycles_ = nullptr;
  prometheus::Counter* overruns_ = nullptr;
  prometheus::Histogram* cycle_duration_ = nullptr;
  prometheus::Gauge* last_cycle_ = nullptr;
  prometheus::Gauge* series_ = nullptr;
  prometheus::Counter* series_dropped_ = nullptr;
  prometheus::Counter* series_created_ = nullptr;
  prometheus::Gauge* entities_ = nullptr;
  prometheus::Gauge* pipeline_bytes_ = nullptr;
  prometheus::Gauge* history_bytes_ = nullptr;
  prometheus::Gauge* history_series_ = nullptr;
  prometheus::Counter* blocks_released_ = nullptr;
  prometheus::Gauge* rss_bytes_ = nullptr;
  prometheus::Gauge* open_fds_ = nullptr;
  bool fds_counted_ = false;
  std::chrono::steady_clock::time_point fds_counted_at_;
  pipeline::Pipeline::Stats last_pipeline_;
  double last_cpu_seconds_ = 0;
  prometheus::Counter* process_cpu_ = nullptr;
};

}  // namespace nodepulse::agent

#endif  // NODEPULSE_AGENT_SELF_METRICS_H_
