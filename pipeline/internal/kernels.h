// The pipeline's hot loops, kept apart so -fopt-info-vec output for this one
// file is the vectorization report (see CMakeLists.txt) and so the benchmark
// can call each loop directly.
//
// Conventions that make the loops branch-free and vectorizable:
//  * raw rows hold NaN for "no sample"; `v == v` is the validity mask.
//  * coarse (rolled-up) rows never hold NaN: an empty slot is sum 0,
//    count 0, min +inf, max -inf, the identities of each fold, so folding
//    coarse rows is plain add/min/max.
//  * accumulators are caller-owned arrays indexed by column; kernels load a
//    block of them into locals, fold every row into the block, store back.
//    Folding many rows into a block that stays in L1 reads each row byte
//    once (a row-at-a-time loop would re-read 4-5 accumulator arrays per row).
//
// Pure functions on caller memory: thread-safe as long as callers do not
// share output arrays.
#ifndef NODEPULSE_PIPELINE_INTERNAL_KERNELS_H_
#define NODEPULSE_PIPELINE_INTERNAL_KERNELS_H_

#include <cstddef>
#include <cstdint>

namespace nodepulse::pipeline::internal {

// Ring cells (the values history keeps, in every tier) are float32; the
// cycle row, counter state and every accumulator are double. Why: rings are
// nearly all of the agent's memory (slots x tiers x history series), and a
// float's 24-bit mantissa (relative error 6e-8) is far finer than anything
// a CPU rate, a byte count or a PSI share is read to. Counters are turned
// into rates *before* the cast (CounterRow keeps the previous raw value in
// double), so a large cumulative counter loses nothing. Folds widen each
// cell to double before adding, so window sums accumulate in double.
using Cell = float;

// Columns folded per inner block: 5 accumulators x 64 doubles = 2.5 KiB, far
// inside L1, and 512-byte runs per row keep the hardware prefetcher happy
// even when a window reads hundreds of rows (measured: 16 and 256 were both
// slower in BM_WindowAggregate).
inline constexpr size_t kFoldBlock = 64;

// Per-column accumulators. `last` may be null (rollups do not keep it).
struct Acc {
  double* sum;
  double* count;
  double* min;
  double* max;
  double* last;
};
// One rolled-up slot: four parallel rows.
struct CoarseRow {
  const Cell* sum;
  const Cell* count;
  const Cell* min;
  const Cell* max;
};
// The same slot, for the writer that fills it.
struct CoarseOut {
  Cell* sum;
  Cell* count;
  Cell* min;
  Cell* max;
};

// Empties accumulators: sum 0, count 0, min +inf, max -inf, last NaN.
void ResetAcc(Acc acc, size_t n);

// Counter columns of one cycle: dst[c] = per-second rate from prev[c] (the
// previous cycle's value) to v = src[c]; then prev[c] = v. A decrease means
// a restart and the increase is v itself. A rate needs samples in two
// consecutive cycles: if the previous cycle had none (NaN), this interval
// has no rate, rather than charging a multi-cycle increase to one slot.
// `per_ms` is 1000 / (now - previous cycle), the same for every column, so
// there is no per-column division or timestamp.
void CounterRow(Cell* dst, const double* src, double* prev, double per_ms, size_t n);
// Gauge columns of one cycle: dst[c] = src[c], rounded to a Cell.
void GaugeRow(Cell* dst, const double* src, size_t n);

// Folds `nrows` raw rows (each already offset to the first column) into
// columns [0, n) of acc.
void FoldRaw(const Cell* const* rows, size_t nrows, size_t n, Acc acc);
// Folds rolled-up rows into acc (acc.last is left alone: coarse slots do not
// know their last sample).
void FoldCoarse(const CoarseRow* rows, size_t nrows, size_t n, Acc acc);

// last[j] = the newest non-NaN value of column j over rows (oldest first).
void FoldLast(const Cell* const* rows, size_t nrows, size_t n, double* last);

// Expiry bookkeeping, by SeriesId: last_seen[i] = now where row[i] has a
// sample or last_seen[i] is +inf (interned, first cycle); unchanged else.
void MarkSeen(double* last_seen, const double* row, double now, size_t n);

// Stores accumulators (a rollup's result) into a coarse slot's cells.
void StoreCoarse(Acc acc, CoarseOut out, size_t n);

// Turns accumulators into presentation values in place: min/max of an empty
// column (count 0) become NaN.
void FinishAcc(Acc acc, size_t n);

}  // namespace nodepulse::pipeline::internal

#endif  // NODEPULSE_PIPELINE_INTERNAL_KERNELS_H_
