// remote_write's disk queue read back after a crash (exporters/disk_queue.h).
// Rather than guessing the segment format, each input drives the real queue
// and then damages what it wrote, so the target follows format changes:
//   1. ops: append records (pattern-filled payloads), read and commit, read
//      without commit, for two consumers;
//   2. damage: truncate, overwrite bytes, append garbage to or delete any of
//      the files (segments and cursors), or replace a cursor with junk;
//   3. recovery: Open() again, which must not crash; every record it then
//      hands out must be one the ops wrote (payload pattern intact: a damaged
//      record is never delivered), and the queue must accept a new record
//      that a further reopen delivers.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "disk_queue.h"
#include "fuzz_util.h"

namespace ex = nodepulse::exporters;

namespace {

std::string g_dir;

class Bytes {
 public:
  Bytes(const uint8_t* d, size_t n) : d_(d), n_(n) {}
  bool empty() const { return i_ >= n_; }
  uint8_t Next() { return i_ < n_ ? d_[i_++] : 0; }
  uint32_t Next16() { return static_cast<uint32_t>(Next()) | static_cast<uint32_t>(Next()) << 8; }

 private:
  const uint8_t* d_;
  size_t n_;
  size_t i_ = 0;
};

std::vector<std::string> Files() {
  std::vector<std::string> out;
  if (DIR* d = opendir(g_dir.c_str())) {
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] != '.') out.push_back(g_dir + "/" + e->d_name);
    }
    closedir(d);
  }
  std::sort(out.begin(), out.end());
  return out;
}

void Clear() {
  for (const std::string& f : Files()) unlink(f.c_str());
}

ex::DiskQueueOptions Options() {
  ex::DiskQueueOptions o;
  o.dir = g_dir;
  o.max_bytes = 64 << 10;
  o.segment_bytes = 4096;
  o.fsync_interval = absl::ZeroDuration();
  return o;
}

// Payloads are filled with one byte derived from their size, so a record
// that was damaged but still handed out is detected.
char Pattern(size_t size) { return static_cast<char>(size % 251); }

void CheckBatch(const ex::QueueBatch& batch) {
  for (size_t i = 0; i < batch.records.size(); ++i) {
    absl::string_view p = batch.payload(i);
    for (char c : p) FUZZ_CHECK(c == Pattern(p.size()));
  }
}

// Reads everything pending for `consumer`, committing as it goes.
void Drain(ex::DiskQueue& q, size_t consumer, size_t* records) {
  ex::QueueBatch batch;
  for (int i = 0; i < 1000; ++i) {
    batch.Clear();
    if (!q.Read(consumer, 64, &batch).ok() || batch.records.empty()) return;
    CheckBatch(batch);
    *records += batch.records.size();
    if (!q.Commit(consumer, batch).ok()) return;
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  const char* base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
  std::string tmpl = std::string(base) + "/nodepulse-fuzz-queue-XXXXXX";
  if (mkdtemp(tmpl.data()) == nullptr) std::abort();
  g_dir = tmpl;
  std::atexit([] {
    Clear();
    rmdir(g_dir.c_str());
  });
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 4096) return 0;
  Bytes in(data, size);
  Clear();
  const std::vector<std::string> consumers = {"a", "b"};

  {  // 1. ops on a healthy queue
    auto q = ex::DiskQueue::Open(Options(), consumers);
    FUZZ_CHECK(q.ok());
    ex::QueueBatch batch;
    for (int op = 0; op < 48 && !in.empty(); ++op) {
      uint8_t kind = in.Next();
      if (kind == 0xff) break;
      switch (kind % 3) {
        case 0: {
          size_t len = in.Next16() % 3000;
          std::string payload(len, Pattern(len));
          (void)(*q)->Append(payload, in.Next() % 50 + 1);
          break;
        }
        case 1:
        case 2: {
          batch.Clear();
          size_t c = in.Next() & 1;
          if ((*q)->Read(c, in.Next() % 100 + 1, &batch).ok()) {
            CheckBatch(batch);
            if (kind % 3 == 1) (void)(*q)->Commit(c, batch);
          }
          break;
        }
      }
    }
    (void)(*q)->SyncIfDue(true);
  }

  // 2. damage, as a crash or a bad disk could
  for (int op = 0; op < 8 && !in.empty(); ++op) {
    std::vector<std::string> files = Files();
    if (files.empty()) break;
    const std::string& f = files[in.Next() % files.size()];
    struct stat st;
    if (stat(f.c_str(), &st) != 0) continue;
    const off_t fsize = st.st_size;
    switch (in.Next() % 5) {
      case 0:
        if (truncate(f.c_str(), fsize > 0 ? static_cast<off_t>(in.Next16()) % fsize : 0) != 0) {}
        break;
      case 1: {
        int fd = open(f.c_str(), O_WRONLY);
        if (fd >= 0 && fsize > 0) {
          char b = static_cast<char>(in.Next());
          if (pwrite(fd, &b, 1, static_cast<off_t>(in.Next16()) % fsize) != 1) {}
        }
        if (fd >= 0) close(fd);
        break;
      }
      case 2: {
        int fd = open(f.c_str(), O_WRONLY | O_APPEND);
        if (fd >= 0) {
          std::string junk(in.Next() % 40, static_cast<char>(in.Next()));
          if (write(fd, junk.data(), junk.size()) < 0) {}
          close(fd);
        }
        break;
      }
      case 3:
        unlink(f.c_str());
        break;
      case 4: {  // a cursor (or anything) rewritten with bytes from the input
        std::string text;
        for (int n = in.Next() % 48; n > 0 && !in.empty(); --n) text += static_cast<char>(in.Next());
        int fd = open((g_dir + "/cursor-" + consumers[in.Next() & 1]).c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
          if (write(fd, text.data(), text.size()) < 0) {}
          close(fd);
        }
        break;
      }
    }
  }

  // 3. recovery
  size_t records = 0;
  {
    auto q = ex::DiskQueue::Open(Options(), consumers);
    if (!q.ok()) return 0;  // an error status is a fine answer to a damaged dir
    Drain(**q, 0, &records);
    Drain(**q, 1, &records);
    std::string payload(100, Pattern(100));
    if (!(*q)->Append(payload, 7).ok()) return 0;
    (void)(*q)->SyncIfDue(true);
  }
  {
    auto q = ex::DiskQueue::Open(Options(), consumers);
    FUZZ_CHECK(q.ok());
    for (size_t c = 0; c < 2; ++c) {
      ex::QueueBatch batch;
      FUZZ_CHECK((*q)->Read(c, 1000, &batch).ok());
      CheckBatch(batch);
      // Both consumers had read everything before the append.
      FUZZ_CHECK(batch.records.size() == 1 && batch.samples == 7);
    }
  }
  return 0;
}
