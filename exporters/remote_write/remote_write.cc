#include "nodepulse/exporters/remote_write/remote_write.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <exception>
#include <map>
#include <mutex>
#include <thread>
#include <utility>

#include "absl/functional/function_ref.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "disk_queue.h"
#include "nodepulse/base/doorbell.h"
#include "nodepulse/exporters/aggregates/workload_histograms.h"
#include "nodepulse/base/log.h"
#include "nodepulse/base/mutex.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/registry.h"
#include "remote_write_client.h"
#include "remote_write_encoder.h"

namespace nodepulse::exporters {

namespace {

// A cursor file name per URL that survives restarts and needs no escaping.
std::string ConsumerName(const std::string& url) {
  uint64_t h = 1469598103934665603ull;  // FNV-1a 64
  for (unsigned char c : url) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return absl::StrFormat("url-%016x", h);
}

uint64_t CountSamples(const pipeline::Snapshot& s) {
  uint64_t n = 0;
  for (double v : s.values) n += std::isnan(v) ? 0 : 1;
  return n;
}

struct Metrics {
  prometheus::Counter* enqueued = nullptr;
  prometheus::Gauge* queue_bytes = nullptr;
  prometheus::Counter* fsyncs = nullptr;
  uint64_t fsyncs_reported = 0;
};
struct UrlMetrics {
  prometheus::Counter* sent = nullptr;
  prometheus::Counter* failed = nullptr;
  prometheus::Counter* retried = nullptr;
  prometheus::Counter* dropped = nullptr;
  prometheus::Gauge* pending = nullptr;
};

}  // namespace

class RemoteWriter::Impl {
 public:
  struct Sender {
    std::string url;  // redacted
    std::unique_ptr<RemoteWriteClient> client;
    std::thread thread;
    std::atomic<uint64_t> sent{0}, failed{0}, retried{0}, requests_ok{0};
    std::atomic<int> last_code{0};
    UrlMetrics metrics;
    uint64_t dropped_reported = 0;  // guarded by Impl::metrics_mu_
  };

  Impl(RemoteWriteOptions options, std::unique_ptr<DiskQueue> queue)
      : options_(std::move(options)),
        queue_(std::move(queue)),
        encoder_(EncoderOptions{options_.send_raw, options_.send_aggregates, options_.external_labels,
                                options_.max_batch_samples}),
        histogram_encoder_(EncoderOptions{options_.send_raw, options_.send_aggregates,
                                          options_.external_labels, options_.max_batch_samples}) {}

  absl::Status RegisterMetrics(prometheus::Registry& registry);
  void Start();
  void OnSnapshot(std::shared_ptr<const pipeline::Snapshot> snapshot);
  void OnAggregates(std::shared_ptr<const AggregatesView> view);
  void Stop(absl::Duration drain_deadline);
  Stats stats() const;

  RemoteWriteOptions options_;
  std::unique_ptr<DiskQueue> queue_;
  std::vector<std::unique_ptr<Sender>> senders_;
  uint64_t recovered_ = 0;

 private:
  void WriterLoop();
  void SenderLoop(size_t i);
  void Send(size_t i);
  void PublishQueueMetrics();

  // Appends runs to the queue; false (and counted, logged once) on failure.
  // Appends `item` to `queue` (a handoff guarded by mu_) and rings the
  // writer; returns the oldest entry pushed out past max_pending_snapshots.
  // Null when none was, or when stopping (then `item` is not taken).
  template <typename T>
  std::shared_ptr<const T> Hand(std::deque<std::shared_ptr<const T>>* queue,
                                std::shared_ptr<const T> item);
  using Emit = absl::FunctionRef<absl::Status(absl::string_view, uint32_t)>;
  bool EnqueueRuns(absl::FunctionRef<absl::Status(Emit)> encode,
                   absl::FunctionRef<uint64_t()> total, bool* append_ok);

  WriteRequestEncoder encoder_;  // writer thread only
  HistogramEncoder histogram_encoder_;  // writer thread only
  std::thread writer_;

  mutable absl::Mutex mu_;
  std::deque<std::shared_ptr<const pipeline::Snapshot>> handoff_ ABSL_GUARDED_BY(mu_);
  // Aggregates views whose workload histograms are still to be queued; the
  // same bound and the same drop accounting as snapshots.
  std::deque<std::shared_ptr<const AggregatesView>> view_handoff_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  base::Doorbell handoff_bell_;  // rung by Notify() and Stop(); see doorbell.h

  std::atomic<bool> writer_done_{false};
  std::atomic<bool> abort_{false};  // read by curl's progress callback
  // Wakes backoff sleeps at Stop(). A std::condition_variable, not an
  // absl::Notification: Debian's abseil turns a timeout into a CLOCK_REALTIME
  // deadline, so a wall-clock step back would stretch a retry backoff by the
  // size of the step; libstdc++'s wait_for waits on CLOCK_MONOTONIC.
  std::mutex abort_mu_;
  std::condition_variable abort_cv_;
  bool abort_requested_ = false;  // guarded by abort_mu_
  // Sleeps for `d` unless Stop() aborts; true if it did.
  bool SleepUnlessAborted(absl::Duration d) {
    std::unique_lock<std::mutex> lock(abort_mu_);
    return abort_cv_.wait_for(lock, absl::ToChronoNanoseconds(d), [this] { return abort_requested_; });
  }

  absl::Mutex done_mu_;
  size_t senders_done_ ABSL_GUARDED_BY(done_mu_) = 0;
  base::Doorbell done_bell_;  // rung as each sender ends

  std::atomic<uint64_t> snapshots_enqueued_{0}, samples_enqueued_{0}, snapshots_dropped_{0};
  std::atomic<uint64_t> handoff_dropped_samples_{0};

  absl::Mutex metrics_mu_;
  Metrics metrics_;
};

absl::Status RemoteWriter::Impl::RegisterMetrics(prometheus::Registry& registry) {
  // prometheus-cpp reports bad or conflicting families by throwing; this is
  // the one place that can happen, at start-up.
  try {
    auto& enqueued = prometheus::BuildCounter()
                         .Name("nodepulse_remote_write_samples_enqueued_total")
                         .Help("Samples written to the remote_write disk queue.")
                         .Register(registry);
    auto& bytes = prometheus::BuildGauge()
                      .Name("nodepulse_remote_write_queue_bytes")
                      .Help("Bytes held by the remote_write disk queue.")
                      .Register(registry);
    auto& sent = prometheus::BuildCounter()
                     .Name("nodepulse_remote_write_samples_sent_total")
                     .Help("Samples accepted by the receiver (2xx).")
                     .Register(registry);
    auto& failed = prometheus::BuildCounter()
                       .Name("nodepulse_remote_write_samples_failed_total")
                       .Help("Samples rejected with a non-retryable 4xx and skipped.")
                       .Register(registry);
    auto& retried = prometheus::BuildCounter()
                        .Name("nodepulse_remote_write_samples_retried_total")
                        .Help("Samples in requests that failed with 5xx, 429 or a transport error and were retried.")
                        .Register(registry);
    auto& dropped = prometheus::BuildCounter()
                        .Name("nodepulse_remote_write_samples_dropped_total")
                        .Help("Samples that will never be sent: queue bound exceeded, handoff overflow or corruption.")
                        .Register(registry);
    auto& pending = prometheus::BuildGauge()
                        .Name("nodepulse_remote_write_samples_pending")
                        .Help("Samples on disk not yet delivered.")
                        .Register(registry);
    auto& fsyncs = prometheus::BuildCounter()
                       .Name("nodepulse_remote_write_queue_fsyncs_total")
                       .Help("fdatasyncs of the disk queue's head segment: due (unsynced appends older than "
                             "the fsync interval, on the monotonic clock) or at shutdown.")
                       .Register(registry);
    metrics_.enqueued = &enqueued.Add({});
    metrics_.fsyncs = &fsyncs.Add({});
    metrics_.queue_bytes = &bytes.Add({});
    for (auto& s : senders_) {
      std::map<std::string, std::string> l{{"url", s->url}};
      s->metrics = UrlMetrics{&sent.Add(l), &failed.Add(l), &retried.Add(l), &dropped.Add(l), &pending.Add(l)};
    }
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("remote_write: self-metrics: ", e.what()));
  }
  return absl::OkStatus();
}

void RemoteWriter::Impl::Start() {
  writer_ = std::thread([this] {
    NameThisThread("np-rw-writer");
    WriterLoop();
  });
  for (size_t i = 0; i < senders_.size(); ++i) {
    senders_[i]->thread = std::thread([this, i] {
      NameThisThread("np-rw-send");
      SenderLoop(i);
    });
  }
}

template <typename T>
std::shared_ptr<const T> RemoteWriter::Impl::Hand(std::deque<std::shared_ptr<const T>>* queue,
                                                  std::shared_ptr<const T> item) {
  std::shared_ptr<const T> evicted;
  {
    base::MutexLock lock(&mu_);
    if (stopping_) return nullptr;
    if (queue->size() >= options_.max_pending_snapshots) {
      evicted = std::move(queue->front());
      queue->pop_front();
    }
    queue->push_back(std::move(item));
  }
  handoff_bell_.Ring();
  return evicted;
}

void RemoteWriter::Impl::OnSnapshot(std::shared_ptr<const pipeline::Snapshot> snapshot) {
  if (snapshot == nullptr) return;
  if (auto evicted = Hand(&handoff_, std::move(snapshot))) {
    // Only when the writer has been stuck for max_pending_snapshots cycles.
    snapshots_dropped_.fetch_add(1, std::memory_order_relaxed);
    handoff_dropped_samples_.fetch_add(CountSamples(*evicted), std::memory_order_relaxed);
  }
}

void RemoteWriter::Impl::OnAggregates(std::shared_ptr<const AggregatesView> view) {
  if (view == nullptr || !options_.send_aggregates) return;
  if (auto evicted = Hand(&view_handoff_, std::move(view))) {
    handoff_dropped_samples_.fetch_add(WorkloadHistograms(*evicted).size(), std::memory_order_relaxed);
  }
}

bool RemoteWriter::Impl::EnqueueRuns(absl::FunctionRef<absl::Status(Emit)> encode,
                                     absl::FunctionRef<uint64_t()> total, bool* append_ok) {
  try {
    uint64_t appended = 0;
    absl::Status st = encode([&](absl::string_view run, uint32_t samples) {
      absl::Status s = queue_->Append(run, samples);
      if (s.ok()) appended += samples;
      return s;
    });
    samples_enqueued_.fetch_add(appended, std::memory_order_relaxed);
    if (metrics_.enqueued != nullptr) metrics_.enqueued->Increment(static_cast<double>(appended));
    if (st.ok()) {
      // Only a write proves the disk writable again: an encode with nothing
      // to append (no workload histograms this cycle) says nothing about it,
      // and flipping the state there logged the full-disk error every cycle.
      if (appended > 0) {
        if (!*append_ok) LogInfo("remote_write: disk queue writable again");
        *append_ok = true;
      }
      return true;
    }
    const uint64_t n = total();
    handoff_dropped_samples_.fetch_add(n > appended ? n - appended : 0, std::memory_order_relaxed);
    if (*append_ok) LogError("remote_write: cannot append to disk queue, dropping samples: ", st.message());
    *append_ok = false;
  } catch (const std::exception& e) {
    LogError("remote_write: encoding failed: ", e.what());
  }
  return false;
}

void RemoteWriter::Impl::WriterLoop() {
  bool append_ok = true;  // logs a state change once
  const absl::Duration tick =
      options_.fsync_interval > absl::ZeroDuration() ? options_.fsync_interval : absl::Seconds(1);
  std::deque<std::shared_ptr<const pipeline::Snapshot>> batch;
  std::deque<std::shared_ptr<const AggregatesView>> views;
  for (;;) {
    bool stop;
    const uint64_t seen = handoff_bell_.Epoch();
    bool idle;
    {
      base::MutexLock lock(&mu_);
      idle = handoff_.empty() && view_handoff_.empty() && !stopping_;
    }
    if (idle) handoff_bell_.WaitFor(seen, tick);  // tick: the due fsync below
    {
      base::MutexLock lock(&mu_);
      batch.swap(handoff_);
      views.swap(view_handoff_);
      stop = stopping_;
    }
    for (auto& snap : batch) {
      const bool ok = EnqueueRuns([&](Emit emit) { return encoder_.Encode(*snap, emit); },
                                  [&] { return CountSamples(*snap); }, &append_ok);
      (ok ? snapshots_enqueued_ : snapshots_dropped_).fetch_add(1, std::memory_order_relaxed);
    }
    for (auto& view : views) {
      const std::vector<WorkloadHistogram> hs = WorkloadHistograms(*view);
      EnqueueRuns([&](Emit emit) { return histogram_encoder_.Encode(hs, view->timestamp_ms, emit); },
                  [&] { return static_cast<uint64_t>(hs.size()); }, &append_ok);
    }
    views.clear();
    batch.clear();  // release snapshots before sleeping
    if (absl::Status st = queue_->SyncIfDue(stop); !st.ok()) LogWarn("remote_write: ", st.message());
    PublishQueueMetrics();
    if (stop) break;
  }
}

void RemoteWriter::Impl::PublishQueueMetrics() {
  base::MutexLock lock(&metrics_mu_);
  if (metrics_.queue_bytes != nullptr) metrics_.queue_bytes->Set(static_cast<double>(queue_->bytes()));
  if (const uint64_t syncs = queue_->syncs(); metrics_.fsyncs != nullptr && syncs > metrics_.fsyncs_reported) {
    metrics_.fsyncs->Increment(static_cast<double>(syncs - metrics_.fsyncs_reported));
    metrics_.fsyncs_reported = syncs;
  }
  const uint64_t handoff_dropped = handoff_dropped_samples_.load(std::memory_order_relaxed);
  for (size_t i = 0; i < senders_.size(); ++i) {
    Sender& s = *senders_[i];
    const DiskQueue::ConsumerStats cs = queue_->consumer_stats(i);
    const uint64_t dropped = cs.dropped_samples + handoff_dropped;
    if (s.metrics.pending != nullptr) s.metrics.pending->Set(static_cast<double>(cs.pending_samples));
    // A counter cannot go down; the queue's count can (a batch dropped by the
    // bound while in flight that was delivered after all), so only rises show.
    if (dropped > s.dropped_reported) {
      if (s.metrics.dropped != nullptr) s.metrics.dropped->Increment(static_cast<double>(dropped - s.dropped_reported));
      s.dropped_reported = dropped;
    }
  }
}

void RemoteWriter::Impl::SenderLoop(size_t i) {
  try {
    Send(i);
  } catch (const std::exception& e) {
    LogError("remote_write ", senders_[i]->url, ": sender stopped: ", e.what());
  } catch (...) {
    LogError("remote_write ", senders_[i]->url, ": sender stopped by an unknown exception");
  }
  {
    base::MutexLock lock(&done_mu_);
    ++senders_done_;
  }
  done_bell_.Ring();
}

void RemoteWriter::Impl::Send(size_t i) {
  Sender& s = *senders_[i];
  QueueBatch batch;
  std::string body;
  std::vector<absl::string_view> runs;
  absl::Duration backoff = options_.min_backoff;
  bool down = false;
  std::map<int, bool> rejected_logged;
  while (!abort_.load()) {
    if (!queue_->WaitForData(i, absl::Milliseconds(100))) {
      // Drained: Stop() has flushed the writer and nothing is left for us.
      if (writer_done_.load()) return;
      continue;
    }
    if (absl::Status st = queue_->Read(i, options_.max_batch_samples, &batch); !st.ok()) {
      LogError("remote_write ", s.url, ": reading queue: ", st.message());
      SleepUnlessAborted(absl::Seconds(1));
      continue;
    }
    if (batch.records.empty()) {
      SleepUnlessAborted(absl::Milliseconds(50));
      continue;
    }
    runs.clear();
    for (size_t r = 0; r < batch.records.size(); ++r) runs.push_back(batch.payload(r));
    if (absl::Status st = AssembleRequestBody(runs, &body); !st.ok()) {
      // CRC-checked data that is not snappy: a bug, not an outage. Skip it.
      LogError("remote_write ", s.url, ": ", st.message(), "; skipping ", batch.samples, " samples");
      s.failed.fetch_add(batch.samples);
      if (s.metrics.failed != nullptr) s.metrics.failed->Increment(static_cast<double>(batch.samples));
      (void)queue_->Commit(i, batch);
      continue;
    }
    for (;;) {
      PostResult r = s.client->Post(body, &abort_);
      if (r.aborted || abort_.load()) return;  // batch stays queued
      s.last_code.store(r.http_code);
      const double n = static_cast<double>(batch.samples);
      if (r.http_code >= 200 && r.http_code < 300) {
        // Cursor first: after this returns a restart will not resend.
        if (absl::Status st = queue_->Commit(i, batch); !st.ok()) {
          LogError("remote_write ", s.url, ": persisting cursor: ", st.message());
        }
        s.sent.fetch_add(batch.samples);
        s.requests_ok.fetch_add(1);
        if (s.metrics.sent != nullptr) s.metrics.sent->Increment(n);
        if (down) LogInfo("remote_write ", s.url, ": delivering again");
        down = false;
        backoff = options_.min_backoff;
        break;
      }
      if (r.http_code >= 400 && r.http_code < 500 && r.http_code != 429) {
        // The receiver will never take this batch (bad labels, too old,
        // out of order...): resending would block everything behind it.
        if (!rejected_logged[r.http_code]) {
          LogError("remote_write ", s.url, ": HTTP ", r.http_code, ": ", r.error, "; dropped ", batch.samples,
                   " samples without retry (further HTTP ", r.http_code,
                   " rejections are only counted in nodepulse_remote_write_samples_failed_total)");
          rejected_logged[r.http_code] = true;
        } else {
          LogDebug("remote_write ", s.url, ": HTTP ", r.http_code, ": ", r.error);
        }
        s.failed.fetch_add(batch.samples);
        if (s.metrics.failed != nullptr) s.metrics.failed->Increment(n);
        if (absl::Status st = queue_->Commit(i, batch); !st.ok()) {
          LogError("remote_write ", s.url, ": persisting cursor: ", st.message());
        }
        break;
      }
      // 5xx, 429 or no response: the receiver may take it later.
      s.retried.fetch_add(batch.samples);
      if (s.metrics.retried != nullptr) s.metrics.retried->Increment(n);
      absl::Duration wait = backoff;
      if (r.retry_after >= absl::ZeroDuration()) {
        wait = std::clamp(r.retry_after, options_.min_backoff, options_.max_retry_after);
      }
      backoff = std::min(backoff * 2, options_.max_backoff);
      if (!down) {
        LogWarn("remote_write ", s.url, ": ",
                r.http_code != 0 ? absl::StrCat("HTTP ", r.http_code, ": ", r.error) : r.error,
                "; retrying with backoff (samples stay queued on disk)");
        down = true;
      }
      PublishQueueMetrics();
      if (SleepUnlessAborted(wait)) return;
    }
    PublishQueueMetrics();
  }
}

void RemoteWriter::Impl::Stop(absl::Duration drain_deadline) {
  // CLOCK_MONOTONIC: a wall-clock step must not cut or stretch the drain.
  const auto deadline =
      std::chrono::steady_clock::now() + absl::ToChronoNanoseconds(drain_deadline);
  {
    base::MutexLock lock(&mu_);
    if (stopped_) return;
    stopped_ = true;
    stopping_ = true;
  }
  handoff_bell_.Ring();
  if (writer_.joinable()) writer_.join();
  writer_done_.store(true);
  for (;;) {
    const uint64_t seen = done_bell_.Epoch();
    {
      base::MutexLock lock(&done_mu_);
      if (senders_done_ >= senders_.size()) break;
    }
    if (!done_bell_.WaitUntil(seen, deadline)) break;
  }
  abort_.store(true);
  {
    std::lock_guard<std::mutex> lock(abort_mu_);
    abort_requested_ = true;
  }
  abort_cv_.notify_all();
  queue_->Shutdown();
  for (auto& s : senders_) {
    if (s->thread.joinable()) s->thread.join();
  }
  PublishQueueMetrics();
  uint64_t pending = 0;
  for (size_t i = 0; i < senders_.size(); ++i) pending = std::max(pending, queue_->consumer_stats(i).pending_samples);
  if (pending > 0) LogInfo("remote_write: stopped with ", pending, " samples queued on disk for the next start");
}

RemoteWriter::Stats RemoteWriter::Impl::stats() const {
  Stats st;
  st.snapshots_enqueued = snapshots_enqueued_.load();
  st.samples_enqueued = samples_enqueued_.load();
  st.samples_recovered = recovered_;
  st.snapshots_dropped = snapshots_dropped_.load();
  st.queue_bytes = queue_->bytes();
  const uint64_t handoff_dropped = handoff_dropped_samples_.load();
  for (size_t i = 0; i < senders_.size(); ++i) {
    const Sender& s = *senders_[i];
    const DiskQueue::ConsumerStats cs = queue_->consumer_stats(i);
    UrlStats u;
    u.url = s.url;
    u.samples_sent = s.sent.load();
    u.samples_failed = s.failed.load();
    u.samples_retried = s.retried.load();
    u.samples_dropped = cs.dropped_samples + handoff_dropped;
    u.samples_pending = cs.pending_samples;
    u.requests_ok = s.requests_ok.load();
    u.last_http_code = s.last_code.load();
    st.urls.push_back(std::move(u));
  }
  return st;
}

// ---------------------------------------------------------------------------

RemoteWriter::RemoteWriter(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

RemoteWriter::~RemoteWriter() {
  if (impl_ != nullptr) impl_->Stop(absl::ZeroDuration());
}

absl::StatusOr<std::unique_ptr<RemoteWriter>> RemoteWriter::Create(
    RemoteWriteOptions options, std::shared_ptr<prometheus::Registry> self_metrics) {
  if (options.urls.empty()) return absl::InvalidArgumentError("remote_write: no URL");
  if (options.state_dir.empty()) {
    return absl::InvalidArgumentError("remote_write: a state directory is required for the on-disk queue");
  }
  if (options.max_batch_samples == 0) return absl::InvalidArgumentError("remote_write: max_batch_samples must be > 0");
  if (options.min_backoff <= absl::ZeroDuration() || options.max_backoff < options.min_backoff) {
    return absl::InvalidArgumentError("remote_write: need 0 < min_backoff <= max_backoff");
  }
  if (options.timeout <= absl::ZeroDuration()) return absl::InvalidArgumentError("remote_write: timeout must be > 0");
  if (options.max_pending_snapshots == 0) options.max_pending_snapshots = 1;

  std::vector<std::unique_ptr<Impl::Sender>> senders;
  std::vector<std::string> consumers;
  for (const std::string& url : options.urls) {
    if (std::count(options.urls.begin(), options.urls.end(), url) > 1) {
      return absl::InvalidArgumentError(absl::StrCat("remote_write: URL ", RedactUrl(url), " given twice"));
    }
    RemoteWriteClient::Options co;
    co.url = url;
    co.bearer_token_file = options.bearer_token_file;
    co.ca_file = options.ca_file;
    co.timeout = options.timeout;
    auto client = RemoteWriteClient::Create(std::move(co));
    if (!client.ok()) return client.status();
    auto s = std::make_unique<Impl::Sender>();
    s->url = RedactUrl(url);
    s->client = std::move(*client);
    senders.push_back(std::move(s));
    consumers.push_back(ConsumerName(url));
  }

  DiskQueueOptions qo;
  qo.dir = absl::StrCat(options.state_dir, "/remote_write");
  qo.max_bytes = options.max_queue_bytes;
  qo.segment_bytes = options.segment_bytes;
  qo.fsync_interval = options.fsync_interval;
  auto queue = DiskQueue::Open(std::move(qo), std::move(consumers));
  if (!queue.ok()) return queue.status();

  auto impl = std::make_unique<Impl>(std::move(options), std::move(*queue));
  impl->senders_ = std::move(senders);
  for (size_t i = 0; i < impl->senders_.size(); ++i) {
    impl->recovered_ = std::max(impl->recovered_, impl->queue_->consumer_stats(i).pending_samples);
  }
  if (self_metrics != nullptr) {
    if (absl::Status st = impl->RegisterMetrics(*self_metrics); !st.ok()) return st;
  }
  if (impl->recovered_ > 0) {
    LogInfo("remote_write: ", impl->recovered_, " samples recovered from the disk queue");
  }
  impl->Start();
  return std::unique_ptr<RemoteWriter>(new RemoteWriter(std::move(impl)));
}

void RemoteWriter::OnSnapshot(std::shared_ptr<const pipeline::Snapshot> snapshot) {
  impl_->OnSnapshot(std::move(snapshot));
}

void RemoteWriter::OnAggregates(std::shared_ptr<const AggregatesView> view) {
  impl_->OnAggregates(std::move(view));
}

void RemoteWriter::Stop(absl::Duration drain_deadline) { impl_->Stop(drain_deadline); }

RemoteWriter::Stats RemoteWriter::stats() const { return impl_->stats(); }

}  // namespace nodepulse::exporters
