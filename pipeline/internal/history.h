// History: the time-major rings of every history series, one per tier.
//
// Tier 0 (raw) keeps one value per column per slot; later tiers keep four
// parallel rows per slot (sum, count, min, max) rolled up from the tier
// before. Each slot carries a tag, the absolute slot number (timestamp /
// step) it holds, so readers can tell a slot that was never written, or was
// overwritten since they planned, from a valid one.
//
// Columns come in blocks of kBlock, one per block of SeriesIds: the
// Pipeline hands out ids in blocks of one kind (latest-only, history gauge,
// history counter), so a history block's ids are contiguous in the cycle
// row and committing it is a memcpy (gauges) or one contiguous vector pass
// (counters), never a per-value gather. Ring rows hold history blocks only.
//
// Memory: each history block adds kBlock columns to every ring, allocated
// then; nothing per sample. bytes() is exact (BytesForCapacity, tested
// against a golden formula).
//
// Thread-safety: the collection thread is the only writer. Every mutation
// takes mu exclusively; the writer reads its own state without the lock.
// Readers take mu shared, and only for bounded pieces of work: one range of
// columns over the rows of a window, sized to about one row's worth of
// values (ReadBudget), so the writer never waits on a reader for longer than
// it takes to copy a row.
#ifndef NODEPULSE_PIPELINE_INTERNAL_HISTORY_H_
#define NODEPULSE_PIPELINE_INTERNAL_HISTORY_H_

#include <cstddef>
#include <algorithm>
#include <cstdint>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "kernels.h"
#include "nodepulse/base/mutex.h"
#include "nodepulse/pipeline/retention.h"
#include "nodepulse/pipeline/snapshot.h"

namespace nodepulse::pipeline::internal {

// Memory for ring arrays: 64-byte aligned; from mmap when at least 1 MiB.
// Ring arrays are re-laid in full each time a block of columns comes or
// goes, so the process frees one big array and asks for a slightly bigger
// one, again and again. From the heap, glibc's adaptive mmap threshold
// (raised by every big free, up to 32 MB) turns that into fragmentation:
// pipeline_bench at 100k series reached 24 GB RSS for 0.6 GB of rings.
// Mapped directly, each array goes back to the kernel when freed, whatever
// the process's malloc tuning (the agent sets M_MMAP_THRESHOLD; tests and
// benchmarks do not). Out of line: inlined, gcc 12 sees the mmap branch and
// warns about memcpy bounds at the callers.
void* AllocateArray(size_t bytes);  // throws std::bad_alloc
void FreeArray(void* p, size_t bytes);

// 64-byte aligned, never-resized array (rows start on a cache line when
// the column capacity is a multiple of 16 floats / 8 doubles).
template <typename T>
class AlignedArray {
 public:
  AlignedArray() = default;
  AlignedArray(size_t n, T fill) : n_(n) {
    if (n == 0) return;
    p_.reset(static_cast<T*>(AllocateArray(n * sizeof(T))));
    p_.get_deleter().bytes = n * sizeof(T);
    std::fill(p_.get(), p_.get() + n, fill);
  }
  T* data() { return p_.get(); }
  const T* data() const { return p_.get(); }
  size_t size() const { return n_; }

 private:
  struct Free {
    size_t bytes = 0;
    void operator()(T* p) const { FreeArray(p, bytes); }
  };
  std::unique_ptr<T[], Free> p_;
  size_t n_ = 0;
};
using DoubleArray = AlignedArray<double>;
using CellArray = AlignedArray<Cell>;

class History {
 public:
  // 256: small enough that a few long-lived series left in a block after
  // container churn pin little (256 x ~3.4 KB), large enough that a block's
  // commit is one vector pass and growth re-lays the rings rarely.
  static constexpr uint32_t kBlock = 256;
  static constexpr uint32_t kNoColumn = 0xffffffffu;

  explicit History(std::vector<TierSpec> tiers);
  History(const History&) = delete;
  History& operator=(const History&) = delete;

  // Bytes held for `capacity` columns with these tiers: the golden formula.
  static size_t BytesForCapacity(const std::vector<TierSpec>& tiers, size_t capacity);

  // ---- collection thread ----
  // Adds kBlock columns for SeriesIds [first, first + kBlock); `first` is a
  // multiple of kBlock. Counter blocks store rates (kernels.h CounterRow).
  void AddBlock(SeriesId first, bool counter);
  // Gives back the columns of the block AddBlock(first) made (every series
  // in it removed): the rings shrink by kBlock columns, so a node whose
  // container count fell (churn, a drained node) returns the memory. Later
  // blocks' columns move down; readers notice through layout_version().
  void RemoveBlock(SeriesId first);
  // `series` (in a history block) starts a new life: its column is emptied
  // in every tier and tagged with `generation` for readers.
  void AddSeries(SeriesId series, uint32_t generation);
  void RemoveSeries(SeriesId series);
  // Writes the raw slot for ts_ms from `row` (the cycle row, by SeriesId,
  // covering every history block) and rolls up every coarse slot that is now
  // complete.
  void Commit(int64_t ts_ms, const double* row);
  size_t bytes() const { return BytesForCapacity(tiers_, capacity_); }
  // Block tables (not per column; left out of the golden formula).
  size_t index_bytes() const {
    return block_of_id_block_.capacity() * sizeof(uint32_t) +
           block_first_.capacity() * sizeof(SeriesId) + block_counter_.capacity() +
           roll_.size() * sizeof(double);
  }
  uint32_t live_columns() const { return live_; }
  const std::vector<TierSpec>& tiers() const { return tiers_; }

  // ---- readers (any thread) ----
  // A piece of a window: one slot of one tier, oldest first.
  struct Segment {
    uint32_t tier;
    int64_t abs;  // absolute slot number in that tier
  };
  // Plans a window of `window_ms` ending at the cycle of ts_ms: the newest
  // ceil(window/step) slots of the finest tier whose step divides the window
  // and whose span covers it; slots not rolled up yet (the one still filling)
  // come from the finer tiers. Covers more than window - step and at most
  // window. Errors: InvalidArgument for a window no tier can serve.
  // `out` is cleared and reused (no allocation once it has grown).
  // With `whole_coarse_slots`, a raw-tier window (tier 0) reads every whole
  // rolled-up slot inside it from its coarser tier instead of its raw rows:
  // the same samples, so sum/count/min/max are the same (sums rounded once
  // more, as stored), in a fraction of the rows (a 5 m window: <= 58 raw
  // rows + 9-10 coarse ones instead of 300). Not for quantiles or `last`,
  // which need the samples themselves.
  absl::Status Plan(int64_t ts_ms, int64_t window_ms, uint32_t* tier, std::vector<Segment>* out,
                    bool whole_coarse_slots = false) const;
  // r is the reader's newest raw slot (RawSlotOf its snapshot).
  void PlanSlot(uint32_t tier, int64_t abs, int64_t r, std::vector<Segment>* out) const
      ABSL_SHARED_LOCKS_REQUIRED(mu);
  // Raw slots [lo, hi], oldest first, with whole slots of tiers 1..tier
  // taken as rolled-up slots where they are.
  void PlanRange(uint32_t tier, int64_t lo, int64_t hi, int64_t r, std::vector<Segment>* out) const
      ABSL_SHARED_LOCKS_REQUIRED(mu);
  // The raw slot of a snapshot taken at ts_ms; -1 before the first commit.
  int64_t RawSlotOf(int64_t ts_ms) const ABSL_SHARED_LOCKS_REQUIRED(mu);
  // Absolute slot of tier `tier` that contains raw slot r.
  int64_t SlotOf(uint32_t tier, int64_t r) const {
    return r < 0 ? -1 : r / (tiers_[tier].step_ms / tiers_[0].step_ms);
  }

  // Shared lock for reader work; see the class comment for the budget.
  mutable absl::Mutex mu;
  // Columns a reader may fold per lock hold for a plan of these segments.
  size_t ReadBudget(const std::vector<Segment>& segs) const ABSL_SHARED_LOCKS_REQUIRED(mu);

  // Reader views (hold mu shared).
  size_t capacity() const ABSL_SHARED_LOCKS_REQUIRED(mu) { return capacity_; }
  // Bumped by RemoveBlock: a reader walking columns across several lock
  // holds starts over when it changes, since columns have moved.
  uint64_t layout_version() const ABSL_SHARED_LOCKS_REQUIRED(mu) { return layout_version_; }
  bool Valid(const Segment& s) const ABSL_SHARED_LOCKS_REQUIRED(mu);
  const Cell* RawRow(int64_t abs) const ABSL_SHARED_LOCKS_REQUIRED(mu);
  CoarseRow Coarse(uint32_t tier, int64_t abs) const ABSL_SHARED_LOCKS_REQUIRED(mu);
  // The series whose history column `column` holds, kNoSeries if none.
  SeriesId owner(uint32_t column) const ABSL_SHARED_LOCKS_REQUIRED(mu) {
    return live_col_[column] ? block_first_[column / kBlock] + column % kBlock : kNoSeries;
  }
  uint32_t owner_generation(uint32_t column) const ABSL_SHARED_LOCKS_REQUIRED(mu) {
    return owner_gen_[column];
  }
  // Column of `series` if it still belongs to that generation.
  uint32_t ColumnOf(SeriesId series, uint32_t generation) const ABSL_SHARED_LOCKS_REQUIRED(mu);

 private:
  struct Tier {
    TierSpec spec;
    int64_t ratio = 1;            // step / previous tier's step
    std::vector<int64_t> tag;     // by ring slot: absolute slot held, -1 never
    CellArray sum;              // raw tier: the values; else sums
    CellArray count, min, max;  // coarse tiers only
    int64_t next_rollup = -1;     // oldest absolute slot not rolled up yet
  };

  uint32_t Column(SeriesId series) const;
  void ClearColumn(uint32_t column) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  void Rollup(uint32_t tier, int64_t abs) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  size_t RingIndex(uint32_t tier, int64_t abs) const {
    return static_cast<size_t>(abs % tiers_state_[tier].spec.slots);
  }

  const std::vector<TierSpec> tiers_;
  // Guarded by mu for writes; the writer thread reads without it.
  std::vector<Tier> tiers_state_;
  size_t capacity_ = 0;  // columns per row: kBlock per history block
  uint64_t layout_version_ = 0;
  uint32_t live_ = 0;
  // Per history block.
  std::vector<SeriesId> block_first_;
  std::vector<uint8_t> block_counter_;
  // By SeriesId / kBlock: history block index, or kNoColumn.
  std::vector<uint32_t> block_of_id_block_;
  // Per column.
  std::vector<uint8_t> live_col_;
  std::vector<uint32_t> owner_gen_;
  DoubleArray prev_value_;  // counters: the previous cycle's raw value
  int64_t last_raw_ = -1;
  int64_t last_commit_ms_ = 0;
  // Writer-only scratch for rollups (row pointers).
  std::vector<const Cell*> raw_rows_;
  std::vector<CoarseRow> coarse_rows_;
  // Writer-only double accumulators for one block of columns: a rollup
  // folds in double, then stores cells (kernels.h Cell).
  DoubleArray roll_;
};

}  // namespace nodepulse::pipeline::internal

#endif  // NODEPULSE_PIPELINE_INTERNAL_HISTORY_H_
