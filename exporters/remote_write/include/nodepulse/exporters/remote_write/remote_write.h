// RemoteWriter: sends pipeline snapshots to Prometheus remote-write 1.0
// receivers (prometheus.WriteRequest protobuf, snappy block format, over
// libcurl with keep-alive), through a bounded on-disk queue under
// <state_dir>/remote_write so a receiver outage or an agent restart loses no
// sample until the queue's byte bound.
//
// Flow: OnSnapshot() (collection thread) only pushes the shared_ptr onto an
// in-memory handoff. A writer thread encodes each snapshot's samples (series
// with a non-NaN value; labels __name__ + Catalog::LabelsOf(id) + external
// labels; timestamp = snapshot.timestamp_ms) into snappy-compressed runs and
// appends them to the disk queue. One sender thread per URL reads batches of
// whole runs (up to max_batch_samples) from its own persisted cursor, POSTs
// them, and moves the cursor only after a 2xx, so one slow receiver never
// holds back another. 5xx, 429 and transport errors are retried forever with
// capped exponential backoff, honouring Retry-After; the data is safe on disk
// meanwhile, and the queue bound decides what is dropped. Other 4xx are
// never retried: the batch is counted as failed, logged once, and skipped.
// Delivery is at-least-once: a duplicate is only possible if the process
// dies between a 2xx and the cursor's atomic rename right after it.
// (Prometheus also ignores an identical (series, timestamp, value) sample,
// but correctness here does not rely on that.)
//
// The "raw and/or aggregated" choice follows the recording-rule naming: a
// metric whose name contains ':' (level:metric:operation) is an aggregate.
//
// Ownership: the agent owns the RemoteWriter (construct after the pipeline,
// Stop() before destroying it). Create() starts the writer and sender
// threads; Stop() joins them. curl_global_init() must have been called once
// in main before Create().
//
// Thread-safety: OnSnapshot() from the collection thread (never blocks on
// I/O); stats() from any thread; Stop() once, from the thread that owns the
// writer. Self-metrics in the registry are updated from the writer's threads.
#ifndef NODEPULSE_EXPORTERS_REMOTE_WRITE_H_
#define NODEPULSE_EXPORTERS_REMOTE_WRITE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "nodepulse/pipeline/snapshot.h"

namespace prometheus {
class Registry;
}  // namespace prometheus

namespace nodepulse::exporters {

struct AggregatesView;

struct RemoteWriteOptions {
  std::vector<std::string> urls;  // --remote-write-url, repeatable
  std::string bearer_token_file;  // re-read when it changes; never logged
  std::string ca_file;            // PEM bundle for https receivers
  std::string state_dir;          // queue lives in <state_dir>/remote_write

  // Bound of the on-disk queue; past it the oldest segment is deleted and its
  // undelivered samples counted in nodepulse_remote_write_samples_dropped_total.
  uint64_t max_queue_bytes = 256ull << 20;
  uint64_t segment_bytes = 8ull << 20;
  // fsync policy: a segment is fsync'd on rotation and when its unsynced
  // bytes are older than this (0: on every append); cursors on every commit.
  // A crash of the process loses nothing either way; this bounds what a power
  // loss can take.
  absl::Duration fsync_interval = absl::Seconds(1);

  // Samples per request, as Prometheus' own queue_config.max_samples_per_send.
  uint32_t max_batch_samples = 2000;
  absl::Duration min_backoff = absl::Milliseconds(30);
  absl::Duration max_backoff = absl::Seconds(5);
  // Retry-After longer than this is cut to it.
  absl::Duration max_retry_after = absl::Minutes(5);
  absl::Duration timeout = absl::Seconds(30);  // per request

  bool send_raw = true;         // cAdvisor/node series
  bool send_aggregates = true;  // level:metric:op series
  pipeline::Labels external_labels;  // e.g. {node="…"}; series labels win

  // Snapshots waiting for the writer thread. Each is a shared_ptr the
  // pipeline already built, so this costs pointers, not copies; past it the
  // oldest is dropped and counted (only if the disk stalls for this many
  // cycles).
  size_t max_pending_snapshots = 1024;
};

class RemoteWriter {
 public:
  // Validates options, opens (and recovers) the queue, starts the threads.
  // `self_metrics` may be null; otherwise the nodepulse_remote_write_*
  // families are added to it.
  static absl::StatusOr<std::unique_ptr<RemoteWriter>> Create(
      RemoteWriteOptions options, std::shared_ptr<prometheus::Registry> self_metrics);
  ~RemoteWriter();  // Stop(absl::ZeroDuration()) if Stop() was not called
  RemoteWriter(const RemoteWriter&) = delete;
  RemoteWriter& operator=(const RemoteWriter&) = delete;

  // Hands a snapshot to the writer thread; never blocks on I/O.
  void OnSnapshot(std::shared_ptr<const pipeline::Snapshot> snapshot);
  // Hands an aggregates view to the writer thread, which queues its
  // workloads' native histograms (workload_histograms.h) as remote-write
  // Histogram messages at view.timestamp_ms, through the same disk queue and
  // bounds as samples (a histogram counts as one sample). Ignored unless
  // aggregates are sent. Never blocks on I/O; call once per new view.
  void OnAggregates(std::shared_ptr<const AggregatesView> view);

  // Stops accepting snapshots, writes those already handed over to disk
  // (fsync'd), then lets senders deliver what is queued until the deadline
  // passes; in-flight requests are then aborted. What is left stays on disk
  // for the next start. Idempotent.
  void Stop(absl::Duration drain_deadline);

  struct UrlStats {
    std::string url;  // redacted: no userinfo, no query
    uint64_t samples_sent = 0;
    uint64_t samples_failed = 0;   // rejected with a non-retryable 4xx
    uint64_t samples_retried = 0;  // sample-sends that were retried
    uint64_t samples_dropped = 0;  // never delivered: queue bound, handoff overflow, corruption
    uint64_t samples_pending = 0;  // on disk, not yet delivered
    uint64_t requests_ok = 0;
    int last_http_code = 0;
  };
  struct Stats {
    uint64_t snapshots_enqueued = 0;  // written to disk
    uint64_t samples_enqueued = 0;    // written to disk since Create
    uint64_t samples_recovered = 0;   // pending on disk at Create (restart)
    uint64_t snapshots_dropped = 0;   // handoff overflow or disk write error
    uint64_t queue_bytes = 0;
    std::vector<UrlStats> urls;       // in options.urls order
  };
  Stats stats() const;

 private:
  class Impl;
  explicit RemoteWriter(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace nodepulse::exporters

#endif  // NODEPULSE_EXPORTERS_REMOTE_WRITE_H_
