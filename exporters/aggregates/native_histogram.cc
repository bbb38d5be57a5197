#include "nodepulse/exporters/aggregates/native_histogram.h"

#include <algorithm>
#include <cmath>

namespace nodepulse::exporters {

double BucketUpperBound(int32_t index, int32_t schema) {
  // 2^(index / 2^schema), split into integer and fractional exponents so the
  // integer part is exact (ldexp) and exp2 only sees [0, 1).
  const int32_t per_octave = 1 << schema;
  int32_t whole = index >> schema;  // floor division, also for negative index
  const int32_t rest = index - whole * per_octave;
  return std::ldexp(std::exp2(static_cast<double>(rest) / per_octave), whole);
}

int32_t BucketIndex(double v, int32_t schema) {
  int32_t i = static_cast<int32_t>(std::ceil(std::log2(v) * (1 << schema)));
  // log2 may be an ulp off next to a boundary; the bounds decide.
  while (BucketUpperBound(i, schema) < v) ++i;
  while (BucketUpperBound(i - 1, schema) >= v) --i;
  return i;
}

void BuildNativeHistogram(absl::Span<const double> values, std::vector<int32_t>* scratch,
                          NativeHistogram* out) {
  *out = NativeHistogram{};
  std::vector<int32_t>& idx = *scratch;
  idx.clear();
  for (double v : values) {
    if (std::isnan(v)) continue;
    ++out->count;
    out->sum += v;
    // Negative values cannot come from rates, bytes or ratios; should one
    // appear it is counted as idle rather than lost.
    if (v <= out->zero_threshold) {
      ++out->zero_count;
    } else {
      idx.push_back(BucketIndex(v, out->schema));
    }
  }
  std::sort(idx.begin(), idx.end());
  // Lower the schema while too many buckets are populated: bucket i at
  // schema s lies inside bucket ceil(i/2) at schema s-1.
  for (;;) {
    size_t buckets = 0;
    for (size_t k = 0; k < idx.size(); ++k) buckets += k == 0 || idx[k] != idx[k - 1];
    if (buckets <= kMaxHistogramBuckets || out->schema <= -4) break;
    for (int32_t& i : idx) i = (i + 1) >> 1;
    --out->schema;
  }
  int64_t prev_count = 0;
  for (size_t k = 0; k < idx.size();) {
    size_t end = k;
    while (end < idx.size() && idx[end] == idx[k]) ++end;
    const int64_t n = static_cast<int64_t>(end - k);
    const bool extends = !out->positive_spans.empty() && idx[k] == idx[k - 1] + 1;
    if (extends) {
      ++out->positive_spans.back().length;
    } else {
      const int32_t offset = out->positive_spans.empty() ? idx[k] : idx[k] - idx[k - 1] - 1;
      out->positive_spans.push_back({offset, 1});
    }
    out->positive_deltas.push_back(n - prev_count);
    prev_count = n;
    k = end;
  }
}

}  // namespace nodepulse::exporters
