// DiskQueue on a real temp directory: append/read/commit, whole-record
// batches, rotation and deletion, cursor persistence across reopen, torn and
// corrupt tails, the byte bound with exact drop counts, independent consumers.
#include "disk_queue.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "process.h"

namespace nodepulse::exporters {
namespace {

using ::nodepulse::testing::MakeTempDir;
using ::nodepulse::testing::ReadFile;
using ::nodepulse::testing::RemoveTree;
using ::nodepulse::testing::WriteFile;

std::string Payload(int i, size_t size = 100) {
  std::string p = absl::StrCat("record-", i, "-");
  p.resize(size, static_cast<char>('a' + i % 26));
  return p;
}

std::vector<std::string> SegmentFiles(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return out;
  while (dirent* e = readdir(d)) {
    std::string n = e->d_name;
    if (n.size() > 4 && n.substr(n.size() - 4) == ".seg") out.push_back(dir + "/" + n);
  }
  closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

class DiskQueueTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = MakeTempDir("disk-queue-test"); }
  void TearDown() override { RemoveTree(dir_); }

  std::unique_ptr<DiskQueue> Open(std::vector<std::string> consumers = {"a"}, uint64_t max_bytes = 1 << 20,
                                  uint64_t segment_bytes = 4096) {
    DiskQueueOptions o;
    o.dir = dir_ + "/q";
    o.max_bytes = max_bytes;
    o.segment_bytes = segment_bytes;
    auto q = DiskQueue::Open(o, std::move(consumers));
    EXPECT_TRUE(q.ok()) << q.status();
    return q.ok() ? std::move(*q) : nullptr;
  }

  // Reads everything pending for consumer c and commits it; returns payloads.
  std::vector<std::string> Drain(DiskQueue& q, size_t c, uint64_t max_samples = 1000) {
    std::vector<std::string> out;
    QueueBatch b;
    for (;;) {
      EXPECT_TRUE(q.Read(c, max_samples, &b).ok());
      if (b.records.empty()) break;
      for (size_t i = 0; i < b.records.size(); ++i) out.emplace_back(b.payload(i));
      EXPECT_TRUE(q.Commit(c, b).ok());
    }
    return out;
  }

  std::string dir_;
};

TEST_F(DiskQueueTest, AppendReadCommitInOrder) {
  auto q = Open();
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(q->Append(Payload(i), 3).ok());
  EXPECT_EQ(q->consumer_stats(0).pending_samples, 30u);
  QueueBatch b;
  ASSERT_TRUE(q->Read(0, 7, &b).ok());
  // Whole records only: 3+3 fit in 7, a third would not.
  ASSERT_EQ(b.records.size(), 2u);
  EXPECT_EQ(b.samples, 6u);
  EXPECT_EQ(b.payload(0), Payload(0));
  EXPECT_EQ(b.payload(1), Payload(1));
  // Reading again without commit returns the same records (retry path).
  ASSERT_TRUE(q->Read(0, 7, &b).ok());
  EXPECT_EQ(b.payload(0), Payload(0));
  ASSERT_TRUE(q->Commit(0, b).ok());
  EXPECT_EQ(q->consumer_stats(0).pending_samples, 24u);
  // A record larger than the limit is still returned alone.
  ASSERT_TRUE(q->Read(0, 1, &b).ok());
  ASSERT_EQ(b.records.size(), 1u);
  EXPECT_EQ(b.payload(0), Payload(2));
  ASSERT_TRUE(q->Commit(0, b).ok());
  auto rest = Drain(*q, 0);
  ASSERT_EQ(rest.size(), 7u);
  for (int i = 0; i < 7; ++i) EXPECT_EQ(rest[i], Payload(i + 3));
  EXPECT_EQ(q->consumer_stats(0).pending_samples, 0u);
  ASSERT_TRUE(q->Read(0, 100, &b).ok());
  EXPECT_TRUE(b.records.empty());
}

TEST_F(DiskQueueTest, RotatesAndDeletesConsumedSegments) {
  auto q = Open({"a"}, 1 << 20, 4096);
  for (int i = 0; i < 200; ++i) ASSERT_TRUE(q->Append(Payload(i, 200), 1).ok());
  EXPECT_GT(q->segments(), 5u);
  EXPECT_EQ(SegmentFiles(dir_ + "/q").size(), q->segments());
  auto all = Drain(*q, 0, 17);
  ASSERT_EQ(all.size(), 200u);
  for (int i = 0; i < 200; ++i) ASSERT_EQ(all[i], Payload(i, 200)) << i;
  // Only the head segment is left, since it may still grow.
  EXPECT_EQ(q->segments(), 1u);
  EXPECT_EQ(SegmentFiles(dir_ + "/q").size(), 1u);
}

TEST_F(DiskQueueTest, CursorSurvivesReopen) {
  {
    auto q = Open();
    for (int i = 0; i < 50; ++i) ASSERT_TRUE(q->Append(Payload(i, 300), 2).ok());
    QueueBatch b;
    for (int k = 0; k < 3; ++k) {
      ASSERT_TRUE(q->Read(0, 10, &b).ok());
      ASSERT_TRUE(q->Commit(0, b).ok());
    }
    // Read but not committed: must come back after the restart.
    ASSERT_TRUE(q->Read(0, 10, &b).ok());
  }
  auto q = Open();
  EXPECT_EQ(q->consumer_stats(0).pending_samples, 100u - 30u);
  auto rest = Drain(*q, 0);
  ASSERT_EQ(rest.size(), 35u);
  EXPECT_EQ(rest.front(), Payload(15, 300));
  EXPECT_EQ(rest.back(), Payload(49, 300));
  // New appends after a restart go to a new segment and are read in order.
  ASSERT_TRUE(q->Append(Payload(50, 300), 2).ok());
  auto more = Drain(*q, 0);
  ASSERT_EQ(more.size(), 1u);
  EXPECT_EQ(more[0], Payload(50, 300));
}

TEST_F(DiskQueueTest, TornTailIsTruncatedOnRecovery) {
  {
    auto q = Open({"a"}, 1 << 20, 1 << 16);
    for (int i = 0; i < 5; ++i) ASSERT_TRUE(q->Append(Payload(i), 1).ok());
  }
  auto files = SegmentFiles(dir_ + "/q");
  ASSERT_EQ(files.size(), 1u);
  const std::string intact = ReadFile(files[0]);
  // A SIGKILL mid-write: the last record's header and half its payload.
  std::string torn = intact + intact.substr(0, 12 + 40);
  ASSERT_TRUE(WriteFile(files[0], torn));
  {
    auto q = Open({"a"}, 1 << 20, 1 << 16);
    EXPECT_EQ(q->consumer_stats(0).pending_samples, 5u);
    EXPECT_EQ(ReadFile(files[0]).size(), intact.size());
    ASSERT_TRUE(q->Append(Payload(5), 1).ok());
    auto all = Drain(*q, 0);
    ASSERT_EQ(all.size(), 6u);
    for (int i = 0; i < 6; ++i) EXPECT_EQ(all[i], Payload(i));
  }
}

TEST_F(DiskQueueTest, CorruptRecordCutsTheRestOfItsSegment) {
  {
    auto q = Open({"a"}, 1 << 20, 1 << 16);
    for (int i = 0; i < 5; ++i) ASSERT_TRUE(q->Append(Payload(i), 1).ok());
  }
  auto files = SegmentFiles(dir_ + "/q");
  ASSERT_EQ(files.size(), 1u);
  std::string bytes = ReadFile(files[0]);
  const size_t record = 12 + 100;
  bytes[2 * record + 12 + 50] ^= 0x40;  // a bit flip inside record 2's payload
  ASSERT_TRUE(WriteFile(files[0], bytes));
  auto q = Open({"a"}, 1 << 20, 1 << 16);
  auto all = Drain(*q, 0);
  ASSERT_EQ(all.size(), 2u);  // garbage is never handed out
  EXPECT_EQ(all[0], Payload(0));
  EXPECT_EQ(all[1], Payload(1));
}

TEST_F(DiskQueueTest, GarbageCursorStartsAtOldestRecord) {
  {
    auto q = Open();
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(q->Append(Payload(i), 1).ok());
  }
  ASSERT_TRUE(WriteFile(dir_ + "/q/cursor-a", "v1 1 224 12345\n"));  // bad CRC
  auto q = Open();
  EXPECT_EQ(Drain(*q, 0).size(), 3u);
}

TEST_F(DiskQueueTest, BoundDropsOldestSegmentsAndCountsExactly) {
  // 64 KiB bound, 16 KiB segments: about 4 segments fit.
  auto q = Open({"a", "b"}, 64 << 10, 16 << 10);
  const int kRecords = 400;  // 400 * (12+500) bytes = ~200 KiB
  for (int i = 0; i < kRecords; ++i) {
    ASSERT_TRUE(q->Append(Payload(i, 500), 4).ok());
    EXPECT_LE(q->bytes(), 64u << 10);
  }
  auto stats_a = q->consumer_stats(0);
  auto stats_b = q->consumer_stats(1);
  EXPECT_EQ(stats_a.pending_samples + stats_a.dropped_samples, kRecords * 4u);
  EXPECT_EQ(stats_b.pending_samples + stats_b.dropped_samples, kRecords * 4u);
  EXPECT_GT(stats_a.dropped_samples, 0u);
  auto rest = Drain(*q, 0);
  ASSERT_FALSE(rest.empty());
  // What survives is the newest records, contiguous, ending with the last.
  EXPECT_EQ(rest.back(), Payload(kRecords - 1, 500));
  EXPECT_EQ(rest.size() * 4 + q->consumer_stats(0).dropped_samples, kRecords * 4u);
  const int first = kRecords - static_cast<int>(rest.size());
  for (size_t i = 0; i < rest.size(); ++i) ASSERT_EQ(rest[i], Payload(first + static_cast<int>(i), 500));
  // Drops survive in the counters but not across restart (they are counts of
  // this process's losses); pending survives.
  EXPECT_EQ(q->consumer_stats(0).pending_samples, 0u);
  EXPECT_GT(q->consumer_stats(1).pending_samples, 0u);
}

TEST_F(DiskQueueTest, ConsumersAreIndependent) {
  auto q = Open({"fast", "slow"}, 1 << 20, 4096);
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(q->Append(Payload(i, 200), 1).ok());
  EXPECT_EQ(Drain(*q, 0).size(), 100u);
  // The slow consumer still holds every segment.
  const uint64_t segs = q->segments();
  EXPECT_GT(segs, 2u);
  EXPECT_EQ(q->consumer_stats(1).pending_samples, 100u);
  auto slow = Drain(*q, 1, 5);
  ASSERT_EQ(slow.size(), 100u);
  EXPECT_EQ(slow[99], Payload(99, 200));
  EXPECT_EQ(q->segments(), 1u);
}

TEST_F(DiskQueueTest, NewConsumerStartsAtOldestRetainedRecord) {
  {
    auto q = Open({"a"});
    for (int i = 0; i < 10; ++i) ASSERT_TRUE(q->Append(Payload(i), 1).ok());
    Drain(*q, 0);
  }
  auto q = Open({"a", "b"});
  EXPECT_EQ(q->consumer_stats(0).pending_samples, 0u);
  // Everything not yet deleted (the head segment was kept) is there for b.
  EXPECT_EQ(Drain(*q, 1).size(), 10u);
}

TEST_F(DiskQueueTest, WaitForDataWakesOnAppendAndShutdown) {
  auto q = Open();
  EXPECT_FALSE(q->WaitForData(0, absl::Milliseconds(20)));
  std::thread t([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    ASSERT_TRUE(q->Append(Payload(0), 1).ok());
  });
  EXPECT_TRUE(q->WaitForData(0, absl::Seconds(10)));
  t.join();
  Drain(*q, 0);
  std::thread s([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    q->Shutdown();
  });
  const absl::Time start = absl::Now();
  EXPECT_FALSE(q->WaitForData(0, absl::Seconds(10)));
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  s.join();
}

// The fsync policy, without clocks: an interval no test outlives never
// comes due; force always syncs dirty data and never clean data; a zero
// interval syncs every append. syncs() counts what SyncIfDue() did.
TEST_F(DiskQueueTest, SyncsWhenDueOrForcedAndCountsThem) {
  DiskQueueOptions o;
  o.dir = dir_ + "/q";
  o.fsync_interval = absl::Hours(1);
  auto q = DiskQueue::Open(o, {"a"});
  ASSERT_TRUE(q.ok()) << q.status();
  ASSERT_TRUE((*q)->Append(Payload(0), 1).ok());
  ASSERT_TRUE((*q)->SyncIfDue().ok());
  EXPECT_EQ((*q)->syncs(), 0u);
  ASSERT_TRUE((*q)->SyncIfDue(/*force=*/true).ok());
  EXPECT_EQ((*q)->syncs(), 1u);
  ASSERT_TRUE((*q)->SyncIfDue(/*force=*/true).ok());
  EXPECT_EQ((*q)->syncs(), 1u) << "nothing was dirty";
  q->reset();

  o.fsync_interval = absl::ZeroDuration();
  auto every = DiskQueue::Open(o, {"a"});
  ASSERT_TRUE(every.ok()) << every.status();
  for (int i = 1; i <= 3; ++i) ASSERT_TRUE((*every)->Append(Payload(i), 1).ok());
  EXPECT_EQ((*every)->syncs(), 3u);
  EXPECT_EQ(Drain(**every, 0).size(), 4u);
}

TEST_F(DiskQueueTest, RejectsBadOptions) {
  DiskQueueOptions o;
  o.dir = dir_ + "/q";
  o.max_bytes = 1000;
  EXPECT_EQ(DiskQueue::Open(o, {"a"}).status().code(), absl::StatusCode::kInvalidArgument);
  o.max_bytes = 1 << 20;
  EXPECT_EQ(DiskQueue::Open(o, {"a/b"}).status().code(), absl::StatusCode::kInvalidArgument);
  o.dir = "";
  EXPECT_EQ(DiskQueue::Open(o, {"a"}).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace nodepulse::exporters
