#include "disk_queue.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <array>
#include <cerrno>
#include <cstring>
#include <map>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "nodepulse/base/clock.h"
#include "nodepulse/base/crc32c.h"
#include "nodepulse/base/log.h"
#include "nodepulse/base/mutex.h"

namespace nodepulse::exporters {

using base::Crc32c;
using base::MonotonicNow;


// ---------------------------------------------------------------------------

namespace {

// [u32 payload length][u32 samples][u32 CRC32C over samples+payload]
constexpr size_t kHeaderBytes = 12;

// A record larger than this is treated as corruption on read and recovery.
constexpr uint32_t kMaxRecordBytes = 64u << 20;

void PutU32(char* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<char>((v >> (8 * i)) & 0xff);
}
uint32_t GetU32(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  return v;
}

absl::Status Errno(absl::string_view what, const std::string& path) {
  int e = errno;
  std::string msg = absl::StrCat(what, " ", path, ": ", strerror(e));
  if (e == ENOENT) return absl::NotFoundError(msg);
  if (e == ENOSPC || e == EDQUOT) return absl::ResourceExhaustedError(msg);
  return absl::InternalError(msg);
}

bool PreadFull(int fd, char* buf, size_t n, uint64_t off) {
  while (n > 0) {
    ssize_t r = ::pread(fd, buf, n, static_cast<off_t>(off));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    buf += r;
    n -= static_cast<size_t>(r);
    off += static_cast<uint64_t>(r);
  }
  return true;
}

bool WriteFull(int fd, const char* buf, size_t n) {
  while (n > 0) {
    ssize_t r = ::write(fd, buf, n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    buf += r;
    n -= static_cast<size_t>(r);
  }
  return true;
}

absl::Status SyncDir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Errno("open dir", dir);
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return Errno("fsync dir", dir);
  return absl::OkStatus();
}

absl::Status MakeDirs(const std::string& path) {
  std::string cur;
  for (absl::string_view part : absl::StrSplit(path, '/')) {
    if (part.empty()) {
      if (cur.empty()) cur = "/";
      continue;
    }
    if (!cur.empty() && cur.back() != '/') cur += '/';
    absl::StrAppend(&cur, part);
    if (::mkdir(cur.c_str(), 0700) != 0 && errno != EEXIST) return Errno("mkdir", cur);
  }
  return absl::OkStatus();
}

// One recovered record boundary: offset after the record, samples up to it.
struct Boundary {
  uint64_t end;
  uint64_t samples;
};

// The segment seqs in `dir`, oldest first. Removes the *.tmp files an
// interrupted cursor write left behind.
absl::StatusOr<std::vector<uint64_t>> ListSegments(const std::string& dir) {
  std::vector<uint64_t> seqs;
  std::vector<std::string> stale_tmp;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return Errno("opendir", dir);
  while (dirent* e = ::readdir(d)) {
    absl::string_view name(e->d_name);
    uint64_t seq;
    if (name.size() == 24 && name.substr(20) == ".seg" && absl::SimpleAtoi(name.substr(0, 20), &seq)) {
      seqs.push_back(seq);
    } else if (name.size() > 4 && name.substr(name.size() - 4) == ".tmp") {
      stale_tmp.push_back(absl::StrCat(dir, "/", name));
    }
  }
  ::closedir(d);
  for (const std::string& p : stale_tmp) ::unlink(p.c_str());
  std::sort(seqs.begin(), seqs.end());
  return seqs;
}

// The valid bytes of one open segment file: walks its records, appending
// each boundary to `bounds` and adding their samples to `*samples`, up to the
// first record that fails its length or CRC check. `buf` is scratch.
uint64_t ScanRecords(int fd, uint64_t file_size, std::string* buf, std::vector<Boundary>* bounds,
                     uint64_t* samples) {
  uint64_t off = 0;
  while (off + kHeaderBytes <= file_size) {
    char h[kHeaderBytes];
    if (!PreadFull(fd, h, kHeaderBytes, off)) break;
    const uint32_t len = GetU32(h), n = GetU32(h + 4), crc = GetU32(h + 8);
    if (len > kMaxRecordBytes || off + kHeaderBytes + len > file_size) break;
    buf->resize(len);
    if (!PreadFull(fd, buf->data(), len, off + kHeaderBytes)) break;
    if (Crc32c(buf->data(), len, Crc32c(h + 4, 4)) != crc) break;
    off += kHeaderBytes + len;
    *samples += n;
    bounds->push_back({off, *samples});
  }
  return off;
}

// Scans the segment at `path` (ScanRecords) and cuts it after its last good
// record. Returns the size it keeps.
absl::StatusOr<uint64_t> RecoverSegmentFile(const std::string& path, std::string* buf,
                                            std::vector<Boundary>* bounds, uint64_t* samples) {
  int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return Errno("open", path);
  struct stat sb;
  if (::fstat(fd, &sb) != 0) {
    ::close(fd);
    return Errno("stat", path);
  }
  const uint64_t file_size = static_cast<uint64_t>(sb.st_size);
  const uint64_t off = ScanRecords(fd, file_size, buf, bounds, samples);
  if (off < file_size) {
    // Only the last segment can have a torn tail from a crash; anywhere
    // else it is media corruption. Either way the rest is unreadable.
    LogWarn("remote_write queue: truncating ", path, " at byte ", off, " of ", file_size,
            " (torn or corrupt record)");
    if (::ftruncate(fd, static_cast<off_t>(off)) != 0 || ::fsync(fd) != 0) {
      absl::Status st = Errno("truncate", path);
      ::close(fd);
      return st;
    }
  }
  ::close(fd);
  return off;
}

// A consumer's saved cursor as read at start-up.
struct SavedCursor {
  std::string name;
  bool valid = false;
  QueuePosition pos;
};

// Reads the cursor file at `path` ("v1 <seq> <offset> <crc>"). A missing file
// is not valid and says nothing; an unreadable one is not valid and is logged.
SavedCursor ReadCursor(std::string name, const std::string& path) {
  SavedCursor sv;
  sv.name = std::move(name);
  std::string text;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    char b[256];
    ssize_t n = ::read(fd, b, sizeof(b));
    if (n > 0) text.assign(b, static_cast<size_t>(n));
    ::close(fd);
  }
  if (text.empty()) return sv;
  std::vector<absl::string_view> f =
      absl::StrSplit(absl::string_view(text), absl::ByAnyChar(" \n"), absl::SkipEmpty());
  uint32_t crc;
  if (f.size() >= 4 && f[0] == "v1" && absl::SimpleAtoi(f[1], &sv.pos.segment) &&
      absl::SimpleAtoi(f[2], &sv.pos.offset) && absl::SimpleAtoi(f[3], &crc)) {
    std::string body = absl::StrCat(sv.pos.segment, " ", sv.pos.offset);
    sv.valid = Crc32c(body.data(), body.size()) == crc;
  }
  if (!sv.valid) LogWarn("remote_write queue: ignoring unreadable cursor ", path);
  return sv;
}

}  // namespace

DiskQueue::DiskQueue(DiskQueueOptions options) : options_(std::move(options)) {}

DiskQueue::~DiskQueue() {
  Shutdown();
  if (head_fd_ >= 0) {
    if (head_dirty_) ::fsync(head_fd_);
    ::close(head_fd_);
  }
  for (ReaderFile& r : readers_) {
    if (r.fd >= 0) ::close(r.fd);
  }
}

std::string DiskQueue::SegmentPath(uint64_t seq) const {
  return absl::StrFormat("%s/%020u.seg", options_.dir, seq);
}
std::string DiskQueue::CursorPath(const std::string& name) const {
  return absl::StrCat(options_.dir, "/cursor-", name);
}

absl::StatusOr<std::unique_ptr<DiskQueue>> DiskQueue::Open(DiskQueueOptions options,
                                                           std::vector<std::string> consumers) {
  if (options.dir.empty()) return absl::InvalidArgumentError("disk queue: empty directory");
  if (options.max_bytes < (64u << 10)) {
    return absl::InvalidArgumentError(
        absl::StrCat("disk queue: max_bytes ", options.max_bytes, " is below 64 KiB"));
  }
  options.segment_bytes = std::clamp<uint64_t>(options.segment_bytes, 4096, options.max_bytes / 4);
  for (const std::string& c : consumers) {
    if (c.empty() || c.find('/') != std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat("disk queue: bad consumer name '", c, "'"));
    }
  }
  std::unique_ptr<DiskQueue> q(new DiskQueue(std::move(options)));
  absl::Status st = q->Recover(std::move(consumers));
  if (!st.ok()) return st;
  return q;
}

absl::Status DiskQueue::Recover(std::vector<std::string> consumer_names) {
  if (absl::Status st = MakeDirs(options_.dir); !st.ok()) return st;
  absl::StatusOr<std::vector<uint64_t>> seqs = ListSegments(options_.dir);
  if (!seqs.ok()) return seqs.status();

  // Scan every segment: count samples, remember record boundaries (to place
  // cursors) and cut at the first record that fails its length or CRC check.
  std::map<uint64_t, std::vector<Boundary>> boundaries;
  std::vector<Segment> recovered;
  std::vector<std::string> empty_files;
  uint64_t index = 0;
  std::string buf;
  for (uint64_t seq : *seqs) {
    Segment seg;
    seg.seq = seq;
    seg.first_index = index;
    const std::string path = SegmentPath(seq);
    absl::StatusOr<uint64_t> size = RecoverSegmentFile(path, &buf, &boundaries[seq], &seg.samples);
    if (!size.ok()) return size.status();
    seg.size = *size;
    if (seg.size == 0) {
      empty_files.push_back(path);
      continue;
    }
    index += seg.samples;
    recovered.push_back(seg);
  }
  UnlinkAll(empty_files);

  // Cursors: parse all first, since a saved cursor past every file moves
  // the next head's seq beyond it.
  std::vector<SavedCursor> saved;
  for (std::string& name : consumer_names) {
    const std::string path = CursorPath(name);
    saved.push_back(ReadCursor(std::move(name), path));
  }

  std::vector<std::string> unlink;
  {
    base::MutexLock lock(&mu_);
    segments_.assign(recovered.begin(), recovered.end());
    for (const Segment& s : segments_) total_bytes_ += s.size;
    next_index_ = index;
    appended_ = index;
    next_seq_ = seqs->empty() ? 1 : seqs->back() + 1;
    for (const SavedCursor& sv : saved) {
      if (sv.valid) next_seq_ = std::max(next_seq_, sv.pos.segment + 1);
    }
    for (const SavedCursor& sv : saved) {
      Consumer c;
      c.name = sv.name;
      // Place the cursor on a record boundary of a live segment. A cursor
      // into a deleted segment means everything before the oldest live one
      // was delivered or dropped, so it starts there; no cursor starts at the
      // oldest record.
      const Segment* seg = FindLocked(sv.valid ? sv.pos.segment : 0);
      if (seg == nullptr) {
        c.pos = {next_seq_, 0};
        c.index = next_index_;
      } else {
        c.pos = {seg->seq, 0};
        c.index = seg->first_index;
        if (sv.valid && seg->seq == sv.pos.segment) {
          for (const Boundary& b : boundaries[seg->seq]) {
            if (b.end > sv.pos.offset) break;
            c.pos.offset = b.end;
            c.index = seg->first_index + b.samples;
          }
        }
      }
      consumers_.push_back(std::move(c));
    }
    readers_.resize(consumers_.size());
    CollectConsumedLocked(&unlink);
  }
  UnlinkAll(unlink);
  return absl::OkStatus();
}

const DiskQueue::Segment* DiskQueue::FindLocked(uint64_t seq) const {
  for (const Segment& s : segments_) {
    if (s.seq >= seq) return &s;
  }
  return nullptr;
}

void DiskQueue::UnlinkAll(const std::vector<std::string>& paths) {
  if (paths.empty()) return;
  for (const std::string& p : paths) {
    if (::unlink(p.c_str()) != 0 && errno != ENOENT) LogWarn("remote_write queue: unlink ", p, ": ", strerror(errno));
  }
  (void)SyncDir(options_.dir);
}

absl::Status DiskQueue::Rotate() {
  if (head_fd_ >= 0) {
    // Everything before the head is durable: recovery only ever has to
    // repair the last segment.
    if (head_dirty_ && ::fsync(head_fd_) != 0) LogWarn("remote_write queue: fsync: ", strerror(errno));
    ::close(head_fd_);
    head_fd_ = -1;
    head_dirty_ = false;
    first_unsynced_ = absl::InfiniteDuration();
  }
  uint64_t seq;
  {
    base::MutexLock lock(&mu_);
    seq = next_seq_;
  }
  const std::string path = SegmentPath(seq);
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return Errno("create", path);
  if (absl::Status st = SyncDir(options_.dir); !st.ok()) {
    ::close(fd);
    return st;
  }
  head_fd_ = fd;
  head_seq_ = seq;
  head_written_ = 0;
  base::MutexLock lock(&mu_);
  Segment s;
  s.seq = seq;
  s.first_index = next_index_;
  segments_.push_back(s);
  next_seq_ = seq + 1;
  return absl::OkStatus();
}

absl::Status DiskQueue::Append(absl::string_view payload, uint32_t samples) {
  if (payload.size() > kMaxRecordBytes) {
    return absl::InvalidArgumentError(absl::StrCat("disk queue: record of ", payload.size(), " bytes is too large"));
  }
  const size_t n = kHeaderBytes + payload.size();
  if (head_fd_ < 0 || (head_written_ > 0 && head_written_ + n > options_.segment_bytes)) {
    if (absl::Status st = Rotate(); !st.ok()) return st;
  }
  std::vector<std::string> unlink;
  {
    base::MutexLock lock(&mu_);
    EnforceBoundLocked(n, &unlink);
  }
  UnlinkAll(unlink);

  frame_.resize(n);
  PutU32(frame_.data(), static_cast<uint32_t>(payload.size()));
  PutU32(frame_.data() + 4, samples);
  std::memcpy(frame_.data() + kHeaderBytes, payload.data(), payload.size());
  PutU32(frame_.data() + 8, Crc32c(payload.data(), payload.size(), Crc32c(frame_.data() + 4, 4)));
  if (!WriteFull(head_fd_, frame_.data(), n)) {
    absl::Status st = Errno("write", SegmentPath(head_seq_));
    // Cut the partial record so readers and recovery see a clean end.
    if (::ftruncate(head_fd_, static_cast<off_t>(head_written_)) != 0) {
      LogWarn("remote_write queue: ftruncate after failed write: ", strerror(errno));
    }
    return st;
  }
  head_written_ += n;
  if (!head_dirty_) first_unsynced_ = MonotonicNow();
  head_dirty_ = true;
  {
    base::MutexLock lock(&mu_);
    Segment& head = segments_.back();
    head.size += n;
    head.samples += samples;
    total_bytes_ += n;
    next_index_ += samples;
    appended_ += samples;
  }
  data_bell_.Ring();
  return SyncIfDue(options_.fsync_interval <= absl::ZeroDuration());
}

absl::Status DiskQueue::SyncIfDue(bool force) {
  if (head_fd_ < 0 || !head_dirty_) return absl::OkStatus();
  if (!force && MonotonicNow() - first_unsynced_ < options_.fsync_interval) return absl::OkStatus();
  if (::fdatasync(head_fd_) != 0) return Errno("fdatasync", options_.dir);
  syncs_.fetch_add(1, std::memory_order_relaxed);
  head_dirty_ = false;
  first_unsynced_ = absl::InfiniteDuration();
  return absl::OkStatus();
}

void DiskQueue::EnforceBoundLocked(uint64_t incoming, std::vector<std::string>* unlink) {
  // Never the head: it is where `incoming` goes.
  while (segments_.size() > 1 && total_bytes_ + incoming > options_.max_bytes) DropFrontLocked(unlink);
}

void DiskQueue::DropFrontLocked(std::vector<std::string>* unlink) {
  const Segment seg = segments_.front();
  segments_.pop_front();
  total_bytes_ -= seg.size;
  const uint64_t end_index = seg.first_index + seg.samples;
  const QueuePosition next{segments_.empty() ? next_seq_ : segments_.front().seq, 0};
  uint64_t lost_max = 0;
  for (Consumer& c : consumers_) {
    if (c.pos.segment > seg.seq) continue;
    const uint64_t from = std::max(c.index, c.inflight_end_index);
    if (from < end_index) {
      c.dropped += end_index - from;
      lost_max = std::max(lost_max, end_index - from);
    }
    c.index = std::max(c.index, end_index);
    c.pos = next;
  }
  if (lost_max > 0) {
    LogWarn("remote_write queue: over ", options_.max_bytes, " bytes, dropped segment ", seg.seq, " with ",
            lost_max, " undelivered samples");
  }
  unlink->push_back(SegmentPath(seg.seq));
}

void DiskQueue::CollectConsumedLocked(std::vector<std::string>* unlink) {
  // A segment goes once every consumer is past it. The back segment always
  // stays: it is (or, right after recovery, was) the head and may grow.
  while (segments_.size() > 1) {
    const Segment& s = segments_.front();
    for (const Consumer& c : consumers_) {
      if (c.pos.segment < s.seq || (c.pos.segment == s.seq && c.pos.offset < s.size)) return;
    }
    total_bytes_ -= s.size;
    unlink->push_back(SegmentPath(s.seq));
    const QueuePosition next{segments_[1].seq, 0};
    for (Consumer& c : consumers_) {
      if (c.pos.segment <= s.seq) c.pos = next;
    }
    segments_.pop_front();
  }
}

absl::Status DiskQueue::Read(size_t consumer, uint64_t max_samples, QueueBatch* batch) {
  batch->Clear();
  ReaderFile& rf = readers_[consumer];
  QueuePosition p;
  uint64_t idx;  // global index of the sample at p
  {
    base::MutexLock lock(&mu_);
    p = consumers_[consumer].pos;
    idx = consumers_[consumer].index;
  }
  batch->end = p;
  batch->end_index = idx;
  for (;;) {
    uint64_t limit = 0;
    bool have_next = false;
    uint64_t next_seq = 0;
    {
      base::MutexLock lock(&mu_);
      const Segment* seg = FindLocked(p.segment);
      if (seg == nullptr) break;
      if (seg->seq != p.segment) {
        // Deleted under us (bound) or never existed (fresh cursor).
        if (!batch->records.empty()) break;
        p = consumers_[consumer].pos;
        idx = consumers_[consumer].index;
        batch->end = p;
        batch->end_index = idx;
        continue;
      }
      limit = seg->size;
      const Segment* next = FindLocked(seg->seq + 1);
      if (next != nullptr) {
        have_next = true;
        next_seq = next->seq;
      }
    }
    if (p.offset >= limit) {
      if (!have_next) break;
      p = {next_seq, 0};
      continue;
    }
    if (rf.fd < 0 || rf.seq != p.segment) {
      if (rf.fd >= 0) ::close(rf.fd);
      rf.fd = ::open(SegmentPath(p.segment).c_str(), O_RDONLY | O_CLOEXEC);
      rf.seq = p.segment;
      if (rf.fd < 0) {
        if (errno == ENOENT) {
          // Dropped by the bound between the lookup and the open.
          if (!batch->records.empty()) break;
          base::MutexLock lock(&mu_);
          p = consumers_[consumer].pos;
          idx = consumers_[consumer].index;
          batch->end = p;
          batch->end_index = idx;
          continue;
        }
        return Errno("open", SegmentPath(p.segment));
      }
    }
    char h[kHeaderBytes];
    bool corrupt = !PreadFull(rf.fd, h, kHeaderBytes, p.offset);
    uint32_t len = 0, samples = 0, crc = 0;
    if (!corrupt) {
      len = GetU32(h);
      samples = GetU32(h + 4);
      crc = GetU32(h + 8);
      corrupt = len > kMaxRecordBytes || p.offset + kHeaderBytes + len > limit;
    }
    if (!corrupt && !batch->records.empty() && batch->samples + samples > max_samples) break;
    size_t at = batch->data.size();
    if (!corrupt) {
      batch->data.resize(at + len);
      corrupt = !PreadFull(rf.fd, batch->data.data() + at, len, p.offset + kHeaderBytes) ||
                Crc32c(batch->data.data() + at, len, Crc32c(h + 4, 4)) != crc;
    }
    if (corrupt) {
      batch->data.resize(at);
      if (!batch->records.empty()) break;  // deliver what is good first
      // Media corruption inside data we wrote and read back before: skip the
      // rest of this segment, counting it as dropped.
      base::MutexLock lock(&mu_);
      Consumer& c = consumers_[consumer];
      const Segment* seg = FindLocked(p.segment);
      if (seg != nullptr && seg->seq == p.segment && c.pos == p) {
        const uint64_t end_index = seg->first_index + seg->samples;
        LogError("remote_write queue: corrupt record in ", SegmentPath(p.segment), " at byte ", p.offset,
                 "; skipping ", end_index - c.index, " samples");
        c.dropped += end_index - c.index;
        c.index = end_index;
        c.pos = {p.segment, seg->size};
        p = c.pos;
        idx = c.index;
        batch->end = p;
        batch->end_index = idx;
        continue;
      }
      break;
    }
    batch->records.push_back({at, len, samples});
    batch->samples += samples;
    p.offset += kHeaderBytes + len;
    idx += samples;
    batch->end = p;
    batch->end_index = idx;
    if (batch->samples >= max_samples) break;
  }
  if (!batch->records.empty()) {
    base::MutexLock lock(&mu_);
    consumers_[consumer].inflight_end_index = batch->end_index;
  }
  return absl::OkStatus();
}

absl::Status DiskQueue::PersistCursor(const std::string& name, QueuePosition pos) const {
  const std::string path = CursorPath(name);
  const std::string tmp = path + ".tmp";
  std::string body = absl::StrCat(pos.segment, " ", pos.offset);
  std::string text = absl::StrCat("v1 ", body, " ", Crc32c(body.data(), body.size()), "\n");
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Errno("create", tmp);
  bool ok = WriteFull(fd, text.data(), text.size()) && ::fdatasync(fd) == 0;
  ::close(fd);
  if (!ok) return Errno("write", tmp);
  if (::rename(tmp.c_str(), path.c_str()) != 0) return Errno("rename", tmp);
  return SyncDir(options_.dir);
}

absl::Status DiskQueue::Commit(size_t consumer, const QueueBatch& batch) {
  std::string name;
  {
    base::MutexLock lock(&mu_);
    name = consumers_[consumer].name;
  }
  // Persist before moving the in-memory cursor: segment deletion follows the
  // in-memory cursors, so it can never run ahead of what is on disk.
  absl::Status st = PersistCursor(name, batch.end);
  std::vector<std::string> unlink;
  {
    base::MutexLock lock(&mu_);
    Consumer& c = consumers_[consumer];
    // If the bound dropped this batch's segment while it was in flight, the
    // cursor is already past it (and did not count it as dropped).
    if (c.pos < batch.end) c.pos = batch.end;
    c.index = std::max(c.index, batch.end_index);
    CollectConsumedLocked(&unlink);
  }
  UnlinkAll(unlink);
  return st;
}

bool DiskQueue::WaitForData(size_t consumer, absl::Duration timeout) {
  const auto deadline = std::chrono::steady_clock::now() + absl::ToChronoNanoseconds(timeout);
  for (;;) {
    const uint64_t seen = data_bell_.Epoch();
    {
      base::MutexLock lock(&mu_);
      if (consumers_[consumer].index < next_index_) return true;
      if (shutdown_) return false;
    }
    if (!data_bell_.WaitUntil(seen, deadline)) {
      base::MutexLock lock(&mu_);
      return consumers_[consumer].index < next_index_;
    }
  }
}

void DiskQueue::Shutdown() {
  {
    base::MutexLock lock(&mu_);
    shutdown_ = true;
  }
  data_bell_.Ring();
}

DiskQueue::ConsumerStats DiskQueue::consumer_stats(size_t consumer) const {
  base::MutexLock lock(&mu_);
  const Consumer& c = consumers_[consumer];
  return {next_index_ - c.index, c.dropped};
}
uint64_t DiskQueue::bytes() const {
  base::MutexLock lock(&mu_);
  return total_bytes_;
}
uint64_t DiskQueue::segments() const {
  base::MutexLock lock(&mu_);
  return segments_.size();
}
uint64_t DiskQueue::appended_samples() const {
  base::MutexLock lock(&mu_);
  return appended_;
}
uint64_t DiskQueue::syncs() const { return syncs_.load(std::memory_order_relaxed); }

}  // namespace nodepulse::exporters
