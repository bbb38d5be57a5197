// Hot loops. Built at -O3 (see CMakeLists.txt): g++ 12 at -O2 does not
// vectorize these (no if-conversion of the min/max selects at -O2).
//
// Rounding: every reduction here runs along rows (time) for one column, and
// vector lanes are different columns, so each column's sum is accumulated in
// exactly the order a scalar loop would use. No -ffast-math, no partial sums
// needed, and results are bit-identical to the naive reference in the tests.
//
// NaN and min/max: `v < m ? v : m` is false for NaN, so a missing sample
// keeps the old minimum; it is also exactly x86 MINPD(v, m) semantics, which
// is why gcc can emit minpd/maxpd instead of a blend. std::fmin would do the
// same for NaN but is a libm call gcc will not vectorize without
// -ffinite-math-only.
#include "internal/kernels.h"

#include <limits>

// Runtime dispatch for the loops where it measured faster (bench/
// pipeline_bench.cc): one binary for any x86-64, AVX2 / AVX-512 bodies
// picked at load time through an ifunc. Sanitizer builds get the baseline
// body only: the ifunc resolver runs before the TSan/ASan runtime is up and
// crashes (gcc 12, reproduced with a 3-line program).
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__) || !defined(__x86_64__)
#define NODEPULSE_CLONES(...)
#else
#define NODEPULSE_CLONES(...) __attribute__((target_clones(__VA_ARGS__)))
#endif

namespace nodepulse::pipeline::internal {

namespace {
constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// kLen == 0: runtime length `len` (the tail block); otherwise a compile-time
// length so gcc unrolls the column loop without an epilogue.
template <size_t kLen, bool kLast>
// always_inline: each target_clones copy must get its own (AVX2/AVX-512)
// body; an out-of-line template would be compiled once, for the baseline.
__attribute__((always_inline)) inline void FoldRawBlock(const Cell* const* rows, size_t nrows,
                                                        size_t off, size_t len, Acc acc) {
  if constexpr (kLen != 0) len = kLen;
  // Local accumulators: with the class/array members in memory behind
  // pointers gcc must assume aliasing with the rows and will not vectorize.
  alignas(64) double s[kFoldBlock], c[kFoldBlock], mn[kFoldBlock], mx[kFoldBlock], l[kFoldBlock];
  for (size_t j = 0; j < len; ++j) {
    s[j] = acc.sum[off + j];
    c[j] = acc.count[off + j];
    mn[j] = acc.min[off + j];
    mx[j] = acc.max[off + j];
    if constexpr (kLast) l[j] = acc.last[off + j];
  }
  for (size_t k = 0; k < nrows; ++k) {
    const Cell* __restrict r = rows[k] + off;
    for (size_t j = 0; j < len; ++j) {
      // Every select is computed into a local before any store: written as
      // `s[j] += ok ? v : 0; c[j] += ok ? 1 : 0;` gcc 12 turns the shared
      // condition into a branch ("control flow in loop") and gives up.
      const double v = static_cast<double>(r[j]);
      const bool ok = v == v;
      const double add = ok ? v : 0.0;
      const double one = ok ? 1.0 : 0.0;
      const double m0 = mn[j];
      const double m1 = mx[j];
      const double new_min = v < m0 ? v : m0;
      const double new_max = v > m1 ? v : m1;
      s[j] += add;
      c[j] += one;
      mn[j] = new_min;
      mx[j] = new_max;
      if constexpr (kLast) {
        const double l0 = l[j];
        l[j] = ok ? v : l0;
      }
    }
  }
  for (size_t j = 0; j < len; ++j) {
    acc.sum[off + j] = s[j];
    acc.count[off + j] = c[j];
    acc.min[off + j] = mn[j];
    acc.max[off + j] = mx[j];
    if constexpr (kLast) acc.last[off + j] = l[j];
  }
}

template <size_t kLen>
__attribute__((always_inline)) inline void FoldCoarseBlock(const CoarseRow* rows, size_t nrows,
                                                           size_t off, size_t len, Acc acc) {
  if constexpr (kLen != 0) len = kLen;
  alignas(64) double s[kFoldBlock], c[kFoldBlock], mn[kFoldBlock], mx[kFoldBlock];
  for (size_t j = 0; j < len; ++j) {
    s[j] = acc.sum[off + j];
    c[j] = acc.count[off + j];
    mn[j] = acc.min[off + j];
    mx[j] = acc.max[off + j];
  }
  for (size_t k = 0; k < nrows; ++k) {
    const Cell* __restrict rs = rows[k].sum + off;
    const Cell* __restrict rc = rows[k].count + off;
    const Cell* __restrict rmn = rows[k].min + off;
    const Cell* __restrict rmx = rows[k].max + off;
    for (size_t j = 0; j < len; ++j) {
      const double vmn = static_cast<double>(rmn[j]);
      const double vmx = static_cast<double>(rmx[j]);
      s[j] += static_cast<double>(rs[j]);
      c[j] += static_cast<double>(rc[j]);
      mn[j] = vmn < mn[j] ? vmn : mn[j];
      mx[j] = vmx > mx[j] ? vmx : mx[j];
    }
  }
  for (size_t j = 0; j < len; ++j) {
    acc.sum[off + j] = s[j];
    acc.count[off + j] = c[j];
    acc.min[off + j] = mn[j];
    acc.max[off + j] = mx[j];
  }
}
}  // namespace

void ResetAcc(Acc acc, size_t n) {
  for (size_t j = 0; j < n; ++j) {
    acc.sum[j] = 0.0;
    acc.count[j] = 0.0;
    acc.min[j] = kInf;
    acc.max[j] = -kInf;
  }
  if (acc.last != nullptr) {
    for (size_t j = 0; j < n; ++j) acc.last[j] = kNaN;
  }
}

NODEPULSE_CLONES("avx2", "default") void CounterRow(Cell* __restrict dst,
                                                                  const double* __restrict src,
                                                                  double* __restrict prev,
                                                                  double per_ms, size_t n) {
  for (size_t c = 0; c < n; ++c) {
    const double v = src[c];
    const double p = prev[c];
    // NaN v: every arm is NaN. NaN p: the compare is false, so the second
    // select is what keeps a missing previous sample from reading as a reset.
    const double increase = v >= p ? v - p : v;
    const double checked = p == p ? increase : kNaN;
    const double rate = checked * per_ms;
    // Selects into locals first, stores last: see FoldRawBlock.
    dst[c] = static_cast<Cell>(rate);
    prev[c] = v;
  }
}

NODEPULSE_CLONES("avx2", "default") void GaugeRow(Cell* __restrict dst,
                                                const double* __restrict src, size_t n) {
  for (size_t c = 0; c < n; ++c) dst[c] = static_cast<Cell>(src[c]);
}

NODEPULSE_CLONES("arch=x86-64-v4", "avx2", "default") void FoldRaw(
    const Cell* const* rows, size_t nrows, size_t n, Acc acc) {
  size_t off = 0;
  if (acc.last != nullptr) {
    for (; off + kFoldBlock <= n; off += kFoldBlock) {
      FoldRawBlock<kFoldBlock, true>(rows, nrows, off, kFoldBlock, acc);
    }
    if (off < n) FoldRawBlock<0, true>(rows, nrows, off, n - off, acc);
  } else {
    for (; off + kFoldBlock <= n; off += kFoldBlock) {
      FoldRawBlock<kFoldBlock, false>(rows, nrows, off, kFoldBlock, acc);
    }
    if (off < n) FoldRawBlock<0, false>(rows, nrows, off, n - off, acc);
  }
}

NODEPULSE_CLONES("arch=x86-64-v4", "avx2", "default") void FoldCoarse(
    const CoarseRow* rows, size_t nrows, size_t n, Acc acc) {
  size_t off = 0;
  for (; off + kFoldBlock <= n; off += kFoldBlock) {
    FoldCoarseBlock<kFoldBlock>(rows, nrows, off, kFoldBlock, acc);
  }
  if (off < n) FoldCoarseBlock<0>(rows, nrows, off, n - off, acc);
}

NODEPULSE_CLONES("avx2", "default") void FoldLast(const Cell* const* rows,
                                                                size_t nrows, size_t n,
                                                                double* __restrict last) {
  for (size_t k = 0; k < nrows; ++k) {
    const Cell* __restrict r = rows[k];
    for (size_t j = 0; j < n; ++j) {
      const double v = static_cast<double>(r[j]);
      const double l = last[j];
      last[j] = v == v ? v : l;
    }
  }
}

void MarkSeen(double* __restrict last_seen, const double* __restrict row, double now, size_t n) {
  constexpr double kPending = kInf;
  for (size_t i = 0; i < n; ++i) {
    const double v = row[i];
    const double l = last_seen[i];
    last_seen[i] = (v == v || l == kPending) ? now : l;
  }
}

void StoreCoarse(Acc acc, CoarseOut out, size_t n) {
  for (size_t j = 0; j < n; ++j) {
    out.sum[j] = static_cast<Cell>(acc.sum[j]);
    out.count[j] = static_cast<Cell>(acc.count[j]);
    out.min[j] = static_cast<Cell>(acc.min[j]);
    out.max[j] = static_cast<Cell>(acc.max[j]);
  }
}

void FinishAcc(Acc acc, size_t n) {
  for (size_t j = 0; j < n; ++j) {
    const bool empty = acc.count[j] == 0.0;
    const double mn = acc.min[j];
    const double mx = acc.max[j];
    const double new_min = empty ? kNaN : mn;
    const double new_max = empty ? kNaN : mx;
    acc.min[j] = new_min;
    acc.max[j] = new_max;
  }
}

}  // namespace nodepulse::pipeline::internal
