// DiskQueue: a bounded, segmented, crash-safe FIFO of records on local disk,
// with one persisted read cursor per consumer. remote_write keeps encoded
// samples here between collection and sending, so a receiver outage or an
// agent restart loses nothing until the byte bound.
//
// Layout under `dir`:
//   <seq:020>.seg    segments, appended in order; each record is a 12-byte
//                    header [u32 payload length][u32 samples][u32 CRC32C of
//                    the samples field and the payload], then the payload,
//                    little-endian (kHeaderBytes in disk_queue.cc). A torn
//                    tail (SIGKILL mid-write, power loss) fails the length or
//                    CRC check and is truncated on Open(), never handed to a
//                    consumer.
//   cursor-<name>    one per consumer: "v1 <seq> <offset> <crc>\n" (v1: the
//                    format's version; crc: CRC32C of "<seq> <offset>"; a
//                    cursor that fails to parse or check is ignored), replaced
//                    atomically (write tmp, fsync, rename, fsync dir).
//
// Durability (the fsync policy): a segment is fsync'd when it is rotated
// out and whenever unsynced bytes are older than `fsync_interval` (checked on
// each Append() and by SyncIfDue(), on CLOCK_MONOTONIC, so a wall-clock step
// back cannot stall fsyncs); the directory is fsync'd after creating
// or deleting files. A process crash (SIGKILL) loses nothing that Append()
// returned for, since written bytes live in the page cache; a power loss or
// kernel crash loses at most the last `fsync_interval` of appends. Cursors are
// fsync'd on every Commit(), so a delivered batch is never resent after a
// restart (at-least-once, with duplicates only if the process dies between
// the receiver's 2xx and the cursor rename).
//
// Bound: when the segments' total size would exceed `max_bytes`, the oldest
// segments are deleted, and the samples they held that a consumer had not
// read yet are counted in that consumer's `dropped`. (A batch already read is
// held by its sender and still delivered; it is not counted.) Segments every
// consumer has passed are deleted as soon as they are passed.
//
// Thread-safety: Append()/SyncIfDue() from one writer thread; Read()/Commit()
// for a given consumer from one thread at a time (different consumers may run
// concurrently); everything else from any thread. mu_ guards only in-memory
// bookkeeping and is never held across file I/O (unlinks happen after it is
// released).
#ifndef NODEPULSE_EXPORTERS_DISK_QUEUE_H_
#define NODEPULSE_EXPORTERS_DISK_QUEUE_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "nodepulse/base/doorbell.h"

namespace nodepulse::exporters {


struct DiskQueueOptions {
  std::string dir;
  uint64_t max_bytes = 256ull << 20;
  // A segment is rotated once it reaches this size. Clamped to max_bytes/4 so
  // the bound can always be kept by deleting whole segments.
  uint64_t segment_bytes = 8ull << 20;
  absl::Duration fsync_interval = absl::Seconds(1);
};

struct QueuePosition {
  uint64_t segment = 0;
  uint64_t offset = 0;
  friend bool operator<(const QueuePosition& a, const QueuePosition& b) {
    return a.segment != b.segment ? a.segment < b.segment : a.offset < b.offset;
  }
  friend bool operator==(const QueuePosition&, const QueuePosition&) = default;
};

// Records read for one consumer. Reused across reads so steady-state reading
// allocates nothing: `data` holds the payloads back to back.
struct QueueBatch {
  std::string data;
  struct Record {
    size_t offset;  // into data
    size_t size;
    uint32_t samples;
  };
  std::vector<Record> records;
  uint64_t samples = 0;
  QueuePosition end;  // where the consumer's cursor moves on Commit()
  uint64_t end_index = 0;  // global index of the sample after the batch
  absl::string_view payload(size_t i) const {
    return absl::string_view(data.data() + records[i].offset, records[i].size);
  }
  void Clear() {
    data.clear();
    records.clear();
    samples = 0;
  }
};

class DiskQueue {
 public:
  // Creates `dir` if needed, recovers segments (truncating a torn tail) and
  // the cursors of `consumers` (names safe for a file name). A consumer
  // without a cursor file starts at the oldest retained record.
  static absl::StatusOr<std::unique_ptr<DiskQueue>> Open(DiskQueueOptions options,
                                                         std::vector<std::string> consumers);
  ~DiskQueue();
  DiskQueue(const DiskQueue&) = delete;
  DiskQueue& operator=(const DiskQueue&) = delete;

  // Appends one record holding `samples` samples. Writer thread only.
  absl::Status Append(absl::string_view payload, uint32_t samples);
  // fsyncs the head segment if it has bytes older than fsync_interval (or
  // unconditionally with force). Writer thread only.
  absl::Status SyncIfDue(bool force = false);

  // Reads whole records from `consumer`'s cursor until at least one record
  // and then until adding the next would exceed max_samples. An empty batch
  // means nothing is pending.
  absl::Status Read(size_t consumer, uint64_t max_samples, QueueBatch* batch);
  // Moves the consumer's cursor to batch.end and persists it before returning;
  // then deletes segments no consumer needs any more.
  absl::Status Commit(size_t consumer, const QueueBatch& batch);

  // Blocks until `consumer` has something to read, Shutdown(), or `timeout`
  // (on CLOCK_MONOTONIC: a wall-clock step does not stretch it). Returns
  // true if there is something to read.
  bool WaitForData(size_t consumer, absl::Duration timeout);
  // Wakes every waiter for good.
  void Shutdown();

  struct ConsumerStats {
    uint64_t pending_samples = 0;  // appended, not yet committed
    uint64_t dropped_samples = 0;  // deleted by the bound or corruption before commit
  };
  ConsumerStats consumer_stats(size_t consumer) const;
  uint64_t bytes() const;         // total size of all segments
  uint64_t segments() const;
  uint64_t appended_samples() const;  // since Open (plus recovered)
  // fdatasyncs of the head segment made by SyncIfDue() (due or forced), since
  // Open: a self-metric, and how a test sees that fsyncs keep coming.
  uint64_t syncs() const;

 private:
  struct Segment {
    uint64_t seq = 0;
    uint64_t size = 0;         // bytes of complete records (readable)
    uint64_t first_index = 0;  // global index of its first sample
    uint64_t samples = 0;
  };
  struct Consumer {
    std::string name;
    QueuePosition pos;
    uint64_t index = 0;  // global index of the next sample to deliver
    uint64_t dropped = 0;
    // End of the last batch Read() handed out: those samples are in the
    // sender's memory, so dropping their segment does not lose them.
    uint64_t inflight_end_index = 0;
  };
  // Read()'s open segment file per consumer, touched only by that consumer's
  // thread (hence outside mu_), so it reads a segment through one fd.
  struct ReaderFile {
    int fd = -1;
    uint64_t seq = 0;
  };

  explicit DiskQueue(DiskQueueOptions options);
  absl::Status Recover(std::vector<std::string> consumers);
  absl::Status Rotate();
  absl::Status PersistCursor(const std::string& name, QueuePosition pos) const;
  // Drops segments so that `incoming` more bytes fit; returns paths to unlink.
  void EnforceBoundLocked(uint64_t incoming, std::vector<std::string>* unlink)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void CollectConsumedLocked(std::vector<std::string>* unlink) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void DropFrontLocked(std::vector<std::string>* unlink) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The first live segment with seq >= `seq`, or null.
  const Segment* FindLocked(uint64_t seq) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void UnlinkAll(const std::vector<std::string>& paths);
  std::string SegmentPath(uint64_t seq) const;
  std::string CursorPath(const std::string& name) const;

  const DiskQueueOptions options_;

  // Writer-thread state (no lock: only the writer touches it).
  int head_fd_ = -1;
  uint64_t head_seq_ = 0;
  uint64_t head_written_ = 0;
  bool head_dirty_ = false;
  // CLOCK_MONOTONIC (time since boot) of the oldest unsynced append.
  absl::Duration first_unsynced_ = absl::InfiniteDuration();
  std::atomic<uint64_t> syncs_{0};
  std::string frame_;  // reused header+payload buffer

  mutable absl::Mutex mu_;
  std::deque<Segment> segments_ ABSL_GUARDED_BY(mu_);  // oldest first; back() is the head
  uint64_t total_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t next_index_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t appended_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<Consumer> consumers_ ABSL_GUARDED_BY(mu_);
  bool shutdown_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t next_seq_ ABSL_GUARDED_BY(mu_) = 1;  // of the next head segment
  std::vector<ReaderFile> readers_;  // by consumer; sized once in Open()
  base::Doorbell data_bell_;  // rung by Append() and Shutdown()
};

}  // namespace nodepulse::exporters

#endif  // NODEPULSE_EXPORTERS_DISK_QUEUE_H_
