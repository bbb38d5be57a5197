#include "nodepulse/pipeline/aggregate.h"

#include <algorithm>
#include <array>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "internal/history.h"
#include "internal/kernels.h"

namespace nodepulse::pipeline {

namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr std::array<std::string_view, 10> kStatNames = {"avg",   "min", "max", "last", "sum",
                                                         "count", "p50", "p90", "p95",  "p99"};
constexpr std::array<double, 4> kQuantiles = {0.5, 0.9, 0.95, 0.99};

// Lower-rank quantile of sorted values (see aggregate.h): an actual sample,
// so the sketch's relative bound applies to the same definition.
double SortedQuantile(const double* sorted, size_t n, double q) {
  if (n == 0) return kNaN;
  return sorted[static_cast<size_t>(q * static_cast<double>(n - 1))];
}

}  // namespace

struct WindowStats::Scratch {
  std::vector<internal::History::Segment> plan;
  std::vector<double> sum, count, mn, mx, last, qbuf;
  std::vector<SeriesId> owner;
  std::vector<uint32_t> gen;
  std::vector<const internal::Cell*> raw_rows, last_rows;
  std::vector<internal::CoarseRow> coarse_rows;

  // Sizes `out` for n series, every value unset.
  static void Reset(WindowStats& out, size_t n, bool quantiles);
  // Room for a block of `len` columns.
  void Fit(size_t len, size_t c0);
  // The rows of columns [c0, c0 + len) that `plan` reads, and (rolled-up
  // windows) the raw rows [last_from, r) `last` comes from. Under h.mu.
  void CollectRows(const internal::History& h, int64_t last_from, int64_t r, bool need_last, size_t c0)
      ABSL_SHARED_LOCKS_REQUIRED(h.mu);
  // Column-major copy of the raw rows of `len` columns for quantiles (each
  // column sorts in place after the lock is released); returns the rows.
  size_t TransposeForQuantiles(size_t len);
  // Finishes the block's accumulators and writes its series into `out`.
  void Publish(const Catalog& cat, size_t len, size_t k, bool quantiles, WindowStats& out);
};

namespace {
bool SeriesMatches(const Catalog& cat, SeriesId id, uint32_t generation) {
  return id < cat.series.size() && cat.series[id].alive && cat.series[id].generation == generation;
}
}  // namespace

absl::StatusOr<Stat> ParseStat(std::string_view name) {
  for (size_t i = 0; i < kStatNames.size(); ++i) {
    if (kStatNames[i] == name) return static_cast<Stat>(i);
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown stat '", absl::string_view(name.data(), name.size()),
                   "': want avg, min, max, last, sum, count, p50, p90, p95 or p99"));
}

std::string_view StatName(Stat stat) { return kStatNames[static_cast<size_t>(stat)]; }

double QuantileOf(Stat s) {
  return IsQuantile(s) ? kQuantiles[static_cast<size_t>(s) - static_cast<size_t>(Stat::kP50)]
                       : kNaN;
}

void Summary::Add(double x) {
  if (std::isnan(x)) return;
  sum += x;
  count += 1;
  min = std::isnan(min) || x < min ? x : min;
  max = std::isnan(max) || x > max ? x : max;
  last = x;
  samples.push_back(x);
  sketch.Add(x);
}

void Summary::AddAggregate(double s, double c, double mn, double mx) {
  if (c == 0) return;
  sum += s;
  count += c;
  min = std::isnan(min) || mn < min ? mn : min;
  max = std::isnan(max) || mx > max ? mx : max;
}

void Summary::Merge(const Summary& o) {
  if (o.count == 0) return;
  AddAggregate(o.sum, o.count, o.min, o.max);
  if (!std::isnan(o.last)) last = o.last;
  samples.insert(samples.end(), o.samples.begin(), o.samples.end());
  sketch.Merge(o.sketch);
}

double Summary::Value(Stat stat) const {
  switch (stat) {
    case Stat::kAvg:
      return count > 0 ? sum / count : kNaN;
    case Stat::kMin:
      return count > 0 ? min : kNaN;
    case Stat::kMax:
      return count > 0 ? max : kNaN;
    case Stat::kLast:
      return last;
    case Stat::kSum:
      return count > 0 ? sum : kNaN;
    case Stat::kCount:
      return count;
    default:
      break;
  }
  const double q = QuantileOf(stat);
  if (!samples.empty() && static_cast<double>(samples.size()) == count) {
    std::vector<double> sorted = samples;
    std::sort(sorted.begin(), sorted.end());
    return SortedQuantile(sorted.data(), sorted.size(), q);
  }
  return sketch.count() > 0 ? sketch.Quantile(q) : kNaN;
}

double WindowStats::Get(SeriesId id, Stat stat) const {
  if (id >= sum_.size()) return kNaN;
  switch (stat) {
    case Stat::kAvg:
      return count_[id] > 0 ? sum_[id] / count_[id] : kNaN;
    case Stat::kMin:
      return min_[id];
    case Stat::kMax:
      return max_[id];
    case Stat::kLast:
      return last_[id];
    case Stat::kSum:
      return count_[id] > 0 ? sum_[id] : kNaN;
    case Stat::kCount:
      return count_[id];
    default:
      break;
  }
  if (!quantiles_) return kNaN;
  return q_[static_cast<size_t>(stat) - static_cast<size_t>(Stat::kP50)][id];
}

// assign() keeps capacity: a reused WindowStats allocates nothing. But n
// follows the pipeline's id space, which grows with container churn and is
// cut back afterwards (Pipeline::ReleaseEmptyBlocks): a capacity far above n
// is the churn's peak, kept resident for good (measured: ~0.86 MB over the
// aggregates engine's and the health reporter's WindowStats after
// 200-cgroup churn on a 20 MB agent), so it is given back.
void WindowStats::Scratch::Reset(WindowStats& out, size_t n, bool quantiles) {
  auto fit = [](std::vector<double>& v, size_t want, double fill) {
    v.assign(want, fill);
    if (v.capacity() > 2 * want + 1024) v.shrink_to_fit();
  };
  for (auto* v : {&out.sum_, &out.min_, &out.max_, &out.last_}) fit(*v, n, kNaN);
  fit(out.count_, n, 0.0);
  for (auto& q : out.q_) fit(q, quantiles ? n : 0, kNaN);
}

void WindowStats::Scratch::Fit(size_t len, size_t c0) {
  if (sum.size() < len) {
    for (auto* v : {&sum, &count, &mn, &mx, &last}) v->resize(len);
    owner.resize(len);
    gen.resize(len);
  } else if (c0 == 0 && sum.size() > 2 * len + 1024) {
    // The read budget follows the rings' width, which shrinks back after
    // churn: so does the scratch sized by it.
    for (auto* v : {&sum, &count, &mn, &mx, &last}) {
      v->resize(len);
      v->shrink_to_fit();
    }
    owner.resize(len);
    owner.shrink_to_fit();
    gen.resize(len);
    gen.shrink_to_fit();
  }
}

void WindowStats::Scratch::CollectRows(const internal::History& h, int64_t last_from, int64_t r,
                                       bool need_last, size_t c0) {
  raw_rows.clear();
  coarse_rows.clear();
  last_rows.clear();
  if (need_last) {
    // Coarse slots do not know their last sample: take it from the window's
    // newest raw slots (one tier-1 step, see aggregate.h).
    for (int64_t a = last_from; a <= r; ++a) {
      if (h.Valid({0, a})) last_rows.push_back(h.RawRow(a) + c0);
    }
  }
  for (const internal::History::Segment& seg : plan) {
    // A slot overwritten since planning (a very slow reader on a window as
    // long as its ring) is skipped rather than read from the future.
    if (!h.Valid(seg)) continue;
    if (seg.tier == 0) {
      raw_rows.push_back(h.RawRow(seg.abs) + c0);
    } else {
      internal::CoarseRow row = h.Coarse(seg.tier, seg.abs);
      coarse_rows.push_back({row.sum + c0, row.count + c0, row.min + c0, row.max + c0});
    }
  }
}

size_t WindowStats::Scratch::TransposeForQuantiles(size_t len) {
  const size_t k = raw_rows.size();
  if (qbuf.size() < len * k) qbuf.resize(len * k);
  for (size_t r = 0; r < k; ++r) {
    const internal::Cell* row = raw_rows[r];
    for (size_t j = 0; j < len; ++j) qbuf[j * k + r] = static_cast<double>(row[j]);
  }
  return k;
}

void WindowStats::Scratch::Publish(const Catalog& cat, size_t len, size_t k, bool quantiles, WindowStats& out) {
  internal::FinishAcc({sum.data(), count.data(), mn.data(), mx.data(), last.data()}, len);
  const size_t n = out.sum_.size();
  for (size_t j = 0; j < len; ++j) {
    const SeriesId id = owner[j];
    if (id >= n || !SeriesMatches(cat, id, gen[j])) continue;
    out.sum_[id] = sum[j];
    out.count_[id] = count[j];
    out.min_[id] = mn[j];
    out.max_[id] = mx[j];
    out.last_[id] = last[j];
    if (!quantiles) continue;
    double* col = qbuf.data() + j * k;
    double* end = std::remove_if(col, col + k, [](double v) { return std::isnan(v); });
    std::sort(col, end);
    for (size_t q = 0; q < kQuantiles.size(); ++q) {
      out.q_[q][id] = SortedQuantile(col, static_cast<size_t>(end - col), kQuantiles[q]);
    }
  }
}

absl::Status Aggregator::Compute(const Snapshot& at, int64_t window_ms, bool quantiles,
                                 WindowStats* out) const {
  const internal::History& h = pipeline_.history();
  if (!out->scratch_) out->scratch_ = std::make_shared<WindowStats::Scratch>();
  WindowStats::Scratch& sc = *out->scratch_;
  uint32_t tier = 0;
  // Without quantiles, whole coarse slots inside a raw-tier window are read
  // rolled up (History::Plan): the aggregates engine folds its 1m/5m/15m
  // windows every second, and a 5 m window was 300 raw rows of every series.
  if (absl::Status st = h.Plan(at.timestamp_ms, window_ms, &tier, &sc.plan,
                               /*whole_coarse_slots=*/!quantiles);
      !st.ok()) {
    return st;
  }
  const std::vector<internal::History::Segment>* plan = &sc.plan;
  const bool mixed = tier == 0 && std::any_of(plan->begin(), plan->end(), [](const auto& seg) {
                       return seg.tier != 0;
                     });
  if (quantiles && tier != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("quantiles over time need a window within the raw tier (",
                     FormatDurationExact(h.tiers()[0].span_ms()), "); ", FormatDurationExact(window_ms),
                     " is served by a rolled-up tier"));
  }
  const size_t n = at.values.size();
  out->window_ms_ = window_ms;
  out->timestamp_ms_ = at.timestamp_ms;
  out->tier_ = tier;
  out->quantiles_ = quantiles;
  WindowStats::Scratch::Reset(*out, n, quantiles);
  if (!at.catalog) return absl::OkStatus();
  const Catalog& cat = *at.catalog;

  std::vector<double>& count = sc.count;
  std::vector<double>& last = sc.last;
  std::vector<const internal::Cell*>& raw_rows = sc.raw_rows;
  std::vector<const internal::Cell*>& last_rows = sc.last_rows;
  std::vector<internal::CoarseRow>& coarse_rows = sc.coarse_rows;
  int64_t r = -1;
  {
    base::ReaderLock lock(&h.mu);
    r = h.RawSlotOf(at.timestamp_ms);
  }
  const TierSpec& t0 = h.tiers()[0];
  const int64_t window_start_raw = (h.SlotOf(tier, r) - window_ms / h.tiers()[tier].step_ms + 1) *
                                   (h.tiers()[tier].step_ms / t0.step_ms);
  const int64_t last_from =
      h.tiers().size() > 1 ? std::max(window_start_raw, r - h.tiers()[1].step_ms / t0.step_ms + 1)
                           : window_start_raw;
  size_t c0 = 0;
  uint64_t layout = 0;
  bool have_layout = false;
  for (;;) {
    size_t len = 0;
    size_t k = 0;
    {
      // One lock hold per block of columns, sized so the work is about one
      // row (ReadBudget): the writer never waits longer than that.
      base::ReaderLock lock(&h.mu);
      if (have_layout && h.layout_version() != layout) {
        // A block was given back between holds and columns moved: start
        // over (what was written is rewritten with the same values).
        c0 = 0;
      }
      layout = h.layout_version();
      have_layout = true;
      const size_t hw = h.capacity();
      if (c0 >= hw) break;
      len = std::min(h.ReadBudget(*plan), hw - c0);
      sc.CollectRows(h, last_from, r, tier != 0 || mixed, c0);
      sc.Fit(len, c0);
      internal::Acc acc{sc.sum.data(), count.data(), sc.mn.data(), sc.mx.data(), last.data()};
      internal::ResetAcc(acc, len);
      internal::FoldCoarse(coarse_rows.data(), coarse_rows.size(), len, acc);
      if (tier == 0 && !mixed) {
        internal::FoldRaw(raw_rows.data(), raw_rows.size(), len, acc);
      } else {
        internal::FoldRaw(raw_rows.data(), raw_rows.size(), len,
                          {acc.sum, acc.count, acc.min, acc.max, nullptr});
        internal::FoldLast(last_rows.data(), last_rows.size(), len, acc.last);
      }
      if (mixed) {
        // A raw-tier window keeps its exact `last`: for any series sampled
        // in the final tier-1 step it came from those raw rows (the raw ring
        // holds them, rolled up or not). Only a block holding a series that
        // went quiet earlier in the window pays for a walk of all the
        // window's raw rows.
        bool quiet = false;
        for (size_t j = 0; j < len && !quiet; ++j) quiet = count[j] > 0 && std::isnan(last[j]);
        if (quiet) {
          last_rows.clear();
          for (int64_t a = window_start_raw; a <= r; ++a) {
            if (h.Valid({0, a})) last_rows.push_back(h.RawRow(a) + c0);
          }
          internal::FoldLast(last_rows.data(), last_rows.size(), len, acc.last);
        }
      }
      // The budget keeps the copy near one row.
      if (quantiles) k = sc.TransposeForQuantiles(len);
      for (size_t j = 0; j < len; ++j) {
        sc.owner[j] = h.owner(static_cast<uint32_t>(c0 + j));
        sc.gen[j] = h.owner_generation(static_cast<uint32_t>(c0 + j));
      }
    }
    sc.Publish(cat, len, k, quantiles, *out);
    c0 += len;
  }
  return absl::OkStatus();
}

absl::Status Aggregator::History(const Snapshot& at, SeriesId id, uint32_t tier,
                                 Sparkline* out) const {
  const internal::History& h = pipeline_.history();
  if (tier >= h.tiers().size()) {
    return absl::InvalidArgumentError(absl::StrCat("tier ", tier, ": only ", h.tiers().size()));
  }
  if (!at.catalog || id >= at.catalog->series.size() || !at.catalog->series[id].alive) {
    return absl::NotFoundError(absl::StrCat("series ", id, " not in snapshot"));
  }
  const TierSpec spec = h.tiers()[tier];
  out->step_ms = spec.step_ms;
  out->avg.assign(spec.slots, kNaN);
  out->min.assign(spec.slots, kNaN);
  out->max.assign(spec.slots, kNaN);
  std::vector<internal::History::Segment> segs;
  base::ReaderLock lock(&h.mu);
  const uint32_t col = h.ColumnOf(id, at.catalog->series[id].generation);
  if (col == internal::History::kNoColumn) {
    return absl::NotFoundError(absl::StrCat("series ", id, " has no history"));
  }
  const int64_t r = h.RawSlotOf(at.timestamp_ms);
  const int64_t newest = h.SlotOf(tier, r);
  const int64_t first = newest - static_cast<int64_t>(spec.slots) + 1;
  out->first_slot_ms = first * spec.step_ms;
  if (r < 0) return absl::OkStatus();
  for (uint32_t i = 0; i < spec.slots; ++i) {
    segs.clear();
    h.PlanSlot(tier, first + i, r, &segs);
    Summary s;
    for (const internal::History::Segment& seg : segs) {
      if (seg.tier == 0) {
        const double v = h.RawRow(seg.abs)[col];
        if (!std::isnan(v)) s.AddAggregate(v, 1, v, v);
      } else {
        internal::CoarseRow c = h.Coarse(seg.tier, seg.abs);
        s.AddAggregate(c.sum[col], c.count[col], c.min[col], c.max[col]);
      }
    }
    out->avg[i] = s.Value(Stat::kAvg);
    out->min[i] = s.Value(Stat::kMin);
    out->max[i] = s.Value(Stat::kMax);
  }
  return absl::OkStatus();
}

}  // namespace nodepulse::pipeline
