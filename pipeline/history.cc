#include "internal/history.h"

#include <sys/mman.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <new>
#include <type_traits>
#include <utility>

#include "absl/strings/str_cat.h"

namespace nodepulse::pipeline::internal {

namespace {
constexpr size_t kMapAtLeast = size_t{1} << 20;
}  // namespace

void* AllocateArray(size_t bytes) {
  if (bytes >= kMapAtLeast) {
    void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
    return p;
  }
  return ::operator new(bytes, std::align_val_t(64));
}

void FreeArray(void* p, size_t bytes) {
  if (p == nullptr) return;
  if (bytes >= kMapAtLeast) {
    ::munmap(p, bytes);
  } else {
    ::operator delete(p, std::align_val_t(64));
  }
}

namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr Cell kCellNaN = std::numeric_limits<Cell>::quiet_NaN();
constexpr Cell kCellInf = std::numeric_limits<Cell>::infinity();
// Bytes of per-column bookkeeping: live flag, owner generation, previous
// counter value.
constexpr size_t kColumnStateBytes = sizeof(uint8_t) + sizeof(uint32_t) + sizeof(double);

int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}
}  // namespace

size_t History::BytesForCapacity(const std::vector<TierSpec>& tiers, size_t capacity) {
  size_t per_column = kColumnStateBytes;
  size_t tags = 0;
  for (size_t i = 0; i < tiers.size(); ++i) {
    per_column += (i == 0 ? 1 : 4) * sizeof(Cell) * tiers[i].slots;
    tags += sizeof(int64_t) * tiers[i].slots;
  }
  return capacity * per_column + tags;
}

History::History(std::vector<TierSpec> tiers)
    : tiers_(std::move(tiers)), roll_(tiers_.size() > 1 ? 4 * kBlock : 0, 0.0) {
  tiers_state_.resize(tiers_.size());
  for (size_t i = 0; i < tiers_.size(); ++i) {
    Tier& t = tiers_state_[i];
    t.spec = tiers_[i];
    t.ratio = i == 0 ? 1 : tiers_[i].step_ms / tiers_[i - 1].step_ms;
    t.tag.assign(t.spec.slots, -1);
    // Rollup scratch sized once, so the first rollups do not allocate.
    raw_rows_.reserve(std::max<size_t>(raw_rows_.capacity(), t.ratio));
    coarse_rows_.reserve(std::max<size_t>(coarse_rows_.capacity(), t.ratio));
  }
}

void History::AddBlock(SeriesId first, bool counter) {
  base::WriterLock lock(&mu);
  const size_t old_cap = capacity_;
  const size_t cap = old_cap + kBlock;
  for (size_t i = 0; i < tiers_state_.size(); ++i) {
    Tier& t = tiers_state_[i];
    const size_t slots = t.spec.slots;
    // Copy row by row into the wider layout; new columns start empty with
    // each array's fold identity (see kernels.h).
    auto widen = [&](CellArray& a, Cell fill) {
      CellArray b(slots * cap, fill);
      for (size_t s = 0; s < slots && old_cap > 0; ++s) {
        std::memcpy(b.data() + s * cap, a.data() + s * old_cap, old_cap * sizeof(Cell));
      }
      a = std::move(b);
    };
    if (i == 0) {
      widen(t.sum, kCellNaN);
    } else {
      widen(t.sum, 0.0f);
      widen(t.count, 0.0f);
      widen(t.min, kCellInf);
      widen(t.max, -kCellInf);
    }
  }
  DoubleArray prev(cap, kNaN);
  std::copy_n(prev_value_.data(), old_cap, prev.data());
  prev_value_ = std::move(prev);
  // reserve() first so each vector holds exactly `cap` (bytes() is exact).
  live_col_.reserve(cap);
  live_col_.resize(cap, 0);
  owner_gen_.reserve(cap);
  owner_gen_.resize(cap, 0);
  const uint32_t id_block = first / kBlock;
  if (block_of_id_block_.size() <= id_block) block_of_id_block_.resize(id_block + 1, kNoColumn);
  block_of_id_block_[id_block] = static_cast<uint32_t>(block_first_.size());
  block_first_.push_back(first);
  block_counter_.push_back(counter ? 1 : 0);
  capacity_ = cap;
}

void History::RemoveBlock(SeriesId first) {
  const uint32_t id_block = first / kBlock;
  if (id_block >= block_of_id_block_.size() || block_of_id_block_[id_block] == kNoColumn) return;
  const uint32_t b = block_of_id_block_[id_block];
  base::WriterLock lock(&mu);
  const size_t old_cap = capacity_;
  const size_t cap = old_cap - kBlock;
  const size_t cut = static_cast<size_t>(b) * kBlock;  // first column removed
  const size_t tail = old_cap - cut - kBlock;          // columns after the block
  // Row by row into the narrower layout, leaving the block's columns out.
  auto narrow = [&](auto& a, size_t rows) {
    std::remove_reference_t<decltype(a)> n(rows * cap, {});
    using T = std::remove_reference_t<decltype(*a.data())>;
    for (size_t s = 0; s < rows && cap > 0; ++s) {
      std::memcpy(n.data() + s * cap, a.data() + s * old_cap, cut * sizeof(T));
      std::memcpy(n.data() + s * cap + cut, a.data() + s * old_cap + cut + kBlock,
                  tail * sizeof(T));
    }
    a = std::move(n);
  };
  for (size_t i = 0; i < tiers_state_.size(); ++i) {
    Tier& t = tiers_state_[i];
    narrow(t.sum, t.spec.slots);
    if (i > 0) {
      narrow(t.count, t.spec.slots);
      narrow(t.min, t.spec.slots);
      narrow(t.max, t.spec.slots);
    }
  }
  narrow(prev_value_, 1);
  for (size_t c = cut; c < cut + kBlock; ++c) live_ -= live_col_[c];
  auto drop = [&](auto& v) {
    v.erase(v.begin() + static_cast<ptrdiff_t>(cut), v.begin() + static_cast<ptrdiff_t>(cut + kBlock));
    v.shrink_to_fit();  // bytes() counts exactly `cap` of each
  };
  drop(live_col_);
  drop(owner_gen_);
  block_first_.erase(block_first_.begin() + b);
  block_counter_.erase(block_counter_.begin() + b);
  block_of_id_block_[id_block] = kNoColumn;
  for (uint32_t& x : block_of_id_block_) {
    if (x != kNoColumn && x > b) --x;
  }
  capacity_ = cap;
  ++layout_version_;
}

uint32_t History::Column(SeriesId series) const {
  const uint32_t id_block = series / kBlock;
  if (id_block >= block_of_id_block_.size() || block_of_id_block_[id_block] == kNoColumn) {
    return kNoColumn;
  }
  return block_of_id_block_[id_block] * kBlock + series % kBlock;
}

void History::ClearColumn(uint32_t c) {
  for (size_t i = 0; i < tiers_state_.size(); ++i) {
    Tier& t = tiers_state_[i];
    for (size_t s = 0; s < t.spec.slots; ++s) {
      const size_t at = s * capacity_ + c;
      if (i == 0) {
        t.sum.data()[at] = kCellNaN;
      } else {
        t.sum.data()[at] = 0.0f;
        t.count.data()[at] = 0.0f;
        t.min.data()[at] = kCellInf;
        t.max.data()[at] = -kCellInf;
      }
    }
  }
  prev_value_.data()[c] = kNaN;
}

void History::AddSeries(SeriesId series, uint32_t generation) {
  const uint32_t c = Column(series);
  if (c == kNoColumn) return;
  base::WriterLock lock(&mu);
  // A recycled id's column still holds its previous owner's history.
  ClearColumn(c);
  owner_gen_[c] = generation;
  if (!live_col_[c]) ++live_;
  live_col_[c] = 1;
}

void History::RemoveSeries(SeriesId series) {
  const uint32_t c = Column(series);
  if (c == kNoColumn || !live_col_[c]) return;
  base::WriterLock lock(&mu);
  live_col_[c] = 0;
  --live_;
}

uint32_t History::ColumnOf(SeriesId series, uint32_t generation) const {
  const uint32_t c = Column(series);
  if (c == kNoColumn || !live_col_[c] || owner_gen_[c] != generation) return kNoColumn;
  return c;
}

void History::Commit(int64_t ts_ms, const double* row) {
  int64_t r = FloorDiv(ts_ms, tiers_[0].step_ms);
  // Two cycles in one raw slot, or a clock that stepped back: the later
  // cycle overwrites the newest slot rather than rewriting older history.
  const bool same_slot = last_raw_ >= 0 && r <= last_raw_;
  if (same_slot) r = last_raw_;
  // One interval for every counter: the rate is from the previous cycle.
  const double per_ms = last_raw_ >= 0 && ts_ms > last_commit_ms_
                            ? 1000.0 / static_cast<double>(ts_ms - last_commit_ms_)
                            : kNaN;
  base::WriterLock lock(&mu);
  // Rollups happen in time order, finest tier first, and before the raw
  // write: after a pause the slots that ended during it are rolled while
  // their raw rows are still in the ring (the write of r may overwrite one).
  // Only slots that can hold data (up to the one containing the previous
  // commit) are rolled; the empty ones of a pause are skipped, since a slot
  // without its tag reads as empty anyway, and rolling them would overwrite
  // ring positions a coarser tier may still need.
  for (uint32_t i = 1; i < tiers_state_.size(); ++i) {
    Tier& t = tiers_state_[i];
    const int64_t raw_per = t.spec.step_ms / tiers_[0].step_ms;
    if (t.next_rollup < 0) t.next_rollup = FloorDiv(r, raw_per);
    const int64_t ended = FloorDiv(r, raw_per) - 1;
    const int64_t has_data = last_raw_ >= 0 ? FloorDiv(last_raw_, raw_per) : -1;
    for (; t.next_rollup <= std::min(ended, has_data); ++t.next_rollup) Rollup(i, t.next_rollup);
    t.next_rollup = std::max(t.next_rollup, ended + 1);
  }

  Tier& raw = tiers_state_[0];
  const size_t slot = RingIndex(0, r);
  Cell* dst = raw.sum.data() + slot * capacity_;
  for (size_t b = 0; b < block_first_.size(); ++b) {
    const double* src = row + block_first_[b];
    Cell* out = dst + b * kBlock;
    if (block_counter_[b]) {
      CounterRow(out, src, prev_value_.data() + b * kBlock, per_ms, kBlock);
    } else {
      GaugeRow(out, src, kBlock);
    }
  }
  raw.tag[slot] = r;
  last_raw_ = r;
  last_commit_ms_ = ts_ms;

  // Slots whose last raw slot is r are complete now: rolling them eagerly
  // (not at the next slot's first cycle) makes them visible a cycle sooner.
  for (uint32_t i = 1; i < tiers_state_.size(); ++i) {
    Tier& t = tiers_state_[i];
    const int64_t raw_per = t.spec.step_ms / tiers_[0].step_ms;
    const int64_t complete = FloorDiv(r + 1, raw_per) - 1;
    // A rewrite of a slot-ending raw slot re-rolls the slot it ends.
    if (same_slot && (r + 1) % raw_per == 0) t.next_rollup = std::min(t.next_rollup, complete);
    for (; t.next_rollup <= complete; ++t.next_rollup) Rollup(i, t.next_rollup);
  }
}

void History::Rollup(uint32_t i, int64_t a) {
  Tier& t = tiers_state_[i];
  const Tier& src = tiers_state_[i - 1];
  const size_t slot = RingIndex(i, a);
  const size_t at = slot * capacity_;
  // Folded in double one block of columns at a time (roll_ stays in L1/L2),
  // then stored as cells; capacity_ is a whole number of blocks.
  Acc acc{roll_.data(), roll_.data() + kBlock, roll_.data() + 2 * kBlock,
          roll_.data() + 3 * kBlock, nullptr};
  for (size_t c0 = 0; c0 < capacity_; c0 += kBlock) {
    ResetAcc(acc, kBlock);
    if (i == 1) {
      raw_rows_.clear();
      for (int64_t b = a * t.ratio; b < (a + 1) * t.ratio; ++b) {
        const size_t s = RingIndex(0, b);
        if (src.tag[s] == b) raw_rows_.push_back(src.sum.data() + s * capacity_ + c0);
      }
      FoldRaw(raw_rows_.data(), raw_rows_.size(), kBlock, acc);
    } else {
      coarse_rows_.clear();
      for (int64_t b = a * t.ratio; b < (a + 1) * t.ratio; ++b) {
        const size_t s = RingIndex(i - 1, b);
        if (src.tag[s] != b) continue;
        const size_t o = s * capacity_ + c0;
        coarse_rows_.push_back(
            {src.sum.data() + o, src.count.data() + o, src.min.data() + o, src.max.data() + o});
      }
      FoldCoarse(coarse_rows_.data(), coarse_rows_.size(), kBlock, acc);
    }
    const size_t o = at + c0;
    StoreCoarse(acc, {t.sum.data() + o, t.count.data() + o, t.min.data() + o, t.max.data() + o},
                kBlock);
  }
  t.tag[slot] = a;
}

bool History::Valid(const Segment& s) const {
  return tiers_state_[s.tier].tag[RingIndex(s.tier, s.abs)] == s.abs;
}

const Cell* History::RawRow(int64_t abs) const {
  return tiers_state_[0].sum.data() + RingIndex(0, abs) * capacity_;
}

CoarseRow History::Coarse(uint32_t tier, int64_t abs) const {
  const Tier& t = tiers_state_[tier];
  const size_t o = RingIndex(tier, abs) * capacity_;
  return {t.sum.data() + o, t.count.data() + o, t.min.data() + o, t.max.data() + o};
}

void History::PlanSlot(uint32_t tier, int64_t abs, int64_t r, std::vector<Segment>* out) const {
  if (abs < 0) return;
  const Tier& t = tiers_state_[tier];
  const int64_t raw_per = t.spec.step_ms / tiers_[0].step_ms;
  // A slot reaching past r (the reader's snapshot) would mix in samples the
  // snapshot does not have yet; split it like a slot not rolled up.
  const bool complete_at_r = (abs + 1) * raw_per - 1 <= r;
  if (complete_at_r && t.tag[RingIndex(tier, abs)] == abs) {
    out->push_back({tier, abs});
    return;
  }
  if (tier == 0) return;
  // Not rolled up (still filling, or the writer skipped it): ask the finer
  // tier, but only for slots it can still hold and that are not newer than r.
  const Tier& f = tiers_state_[tier - 1];
  const int64_t raw_per_fine = f.spec.step_ms / tiers_[0].step_ms;
  const int64_t newest_fine = FloorDiv(r, raw_per_fine);
  const int64_t oldest_fine =
      FloorDiv(last_raw_, raw_per_fine) - static_cast<int64_t>(f.spec.slots) + 1;
  for (int64_t b = abs * t.ratio; b < (abs + 1) * t.ratio; ++b) {
    if (b < oldest_fine) continue;
    if (b > newest_fine) break;
    PlanSlot(tier - 1, b, r, out);
  }
}

int64_t History::RawSlotOf(int64_t ts_ms) const {
  if (last_raw_ < 0) return -1;
  return std::min(FloorDiv(ts_ms, tiers_[0].step_ms), last_raw_);
}

void History::PlanRange(uint32_t tier, int64_t lo, int64_t hi, int64_t r,
                        std::vector<Segment>* out) const {
  if (lo > hi) return;
  if (tier == 0) {
    for (int64_t a = lo; a <= hi; ++a) PlanSlot(0, a, r, out);
    return;
  }
  const int64_t per = tiers_[tier].step_ms / tiers_[0].step_ms;
  const int64_t first = -FloorDiv(-lo, per);      // first slot starting at or after lo
  const int64_t last = FloorDiv(hi + 1, per) - 1;  // last slot ending at or before hi
  if (first > last) {
    PlanRange(tier - 1, lo, hi, r, out);
    return;
  }
  PlanRange(tier - 1, lo, first * per - 1, r, out);
  // PlanSlot falls back to the finer tiers for a slot not rolled up yet.
  for (int64_t a = first; a <= last; ++a) PlanSlot(tier, a, r, out);
  PlanRange(tier - 1, (last + 1) * per, hi, r, out);
}

absl::Status History::Plan(int64_t ts_ms, int64_t window_ms, uint32_t* tier_out,
                           std::vector<Segment>* out, bool whole_coarse_slots) const {
  out->clear();
  uint32_t j = 0;
  for (; j < tiers_.size(); ++j) {
    if (window_ms > 0 && window_ms % tiers_[j].step_ms == 0 && window_ms <= tiers_[j].span_ms()) {
      break;
    }
  }
  if (j == tiers_.size()) {
    std::string allowed;
    for (const TierSpec& t : tiers_) {
      absl::StrAppend(&allowed, allowed.empty() ? "" : ", ", "multiples of ",
                      FormatDurationExact(t.step_ms), " up to ", FormatDurationExact(t.span_ms()));
    }
    return absl::InvalidArgumentError(absl::StrCat("window ", FormatDurationExact(window_ms),
                                                   " not served by any tier; allowed: ", allowed));
  }
  if (tier_out != nullptr) *tier_out = j;
  base::ReaderLock lock(&mu);
  // The snapshot's raw slot, never newer than what was committed.
  const int64_t r = RawSlotOf(ts_ms);
  if (r < 0) return absl::OkStatus();
  const int64_t raw_per = tiers_[j].step_ms / tiers_[0].step_ms;
  const int64_t newest = FloorDiv(r, raw_per);
  const int64_t k = window_ms / tiers_[j].step_ms;
  if (j == 0 && whole_coarse_slots && tiers_.size() > 1) {
    PlanRange(static_cast<uint32_t>(tiers_.size() - 1), newest - k + 1, newest, r, out);
    return absl::OkStatus();
  }
  for (int64_t a = newest - k + 1; a <= newest; ++a) PlanSlot(j, a, r, out);
  return absl::OkStatus();
}

size_t History::ReadBudget(const std::vector<Segment>& segs) const {
  size_t units = 0;
  for (const Segment& s : segs) units += s.tier == 0 ? 1 : 4;
  size_t cols = capacity_ / std::max<size_t>(units, 1);
  cols -= cols % kFoldBlock;
  return std::max(cols, kFoldBlock);
}

}  // namespace nodepulse::pipeline::internal
