#include "nodepulse/exporters/aggregates/native_histogram.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace nodepulse::exporters {
namespace {

// Prometheus 2.42's histogram_quantile over a native histogram
// (promql/quantile.go): rank = q * count, the first bucket whose cumulative
// count reaches the rank, then linear interpolation inside it; in the zero
// bucket of a histogram with only positive buckets the lower bound is 0.
double PrometheusQuantile(const NativeHistogram& h, double q) {
  const double rank = q * static_cast<double>(h.count);
  double cum = static_cast<double>(h.zero_count);
  if (cum >= rank && h.zero_count > 0) {
    return h.zero_threshold * (rank / static_cast<double>(h.zero_count));
  }
  int32_t index = 0;
  int64_t count = 0;
  size_t d = 0;
  for (const BucketSpan& s : h.positive_spans) {
    index += s.offset;
    for (uint32_t k = 0; k < s.length; ++k, ++index) {
      count += h.positive_deltas[d++];
      const double before = cum;
      cum += static_cast<double>(count);
      if (cum >= rank) {
        const double lo = BucketUpperBound(index - 1, h.schema);
        const double hi = BucketUpperBound(index, h.schema);
        return lo + (hi - lo) * ((rank - before) / static_cast<double>(count));
      }
    }
  }
  return NAN;
}

// The exact value the estimate targets: nearest rank, x_ceil(q*n).
double NearestRank(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  size_t r = static_cast<size_t>(std::ceil(q * static_cast<double>(v.size())));
  return v[std::max<size_t>(r, 1) - 1];
}

TEST(NativeHistogram, BucketIndexIsUpperInclusive) {
  EXPECT_EQ(BucketIndex(1.0, 7), 0);
  EXPECT_EQ(BucketIndex(2.0, 7), 128);
  EXPECT_EQ(BucketIndex(std::nextafter(2.0, 3.0), 7), 129);
  EXPECT_EQ(BucketIndex(0.5, 7), -128);
  for (double v : {1e-6, 0.013, 0.7, 3.3, 1e9, 6.2e10}) {
    const int32_t i = BucketIndex(v, 7);
    EXPECT_LT(BucketUpperBound(i - 1, 7), v);
    EXPECT_GE(BucketUpperBound(i, 7), v);
  }
}

TEST(NativeHistogram, CountsSumZeroBucketAndDeltas) {
  NativeHistogram h;
  std::vector<int32_t> scratch;
  // Two idle pods, two pods in one bucket, one far away, one NaN (skipped).
  BuildNativeHistogram({0.0, 1e-9, 1.0, 1.0, 8.0, NAN}, &scratch, &h);
  EXPECT_EQ(h.schema, kHistogramSchema);
  EXPECT_EQ(h.count, 5u);
  EXPECT_EQ(h.zero_count, 2u);
  EXPECT_DOUBLE_EQ(h.sum, 10.0 + 1e-9);
  ASSERT_EQ(h.positive_spans.size(), 2u);
  EXPECT_EQ(h.positive_spans[0].offset, 0);
  EXPECT_EQ(h.positive_spans[0].length, 1u);
  EXPECT_EQ(h.positive_spans[1].offset, 3 * 128 - 1);  // index 384, after a gap
  EXPECT_EQ(h.positive_deltas, (std::vector<int64_t>{2, -1}));
}

TEST(NativeHistogram, AdjacentBucketsShareASpan) {
  NativeHistogram h;
  std::vector<int32_t> scratch;
  BuildNativeHistogram({1.0, 1.005, 1.005, 1.0105}, &scratch, &h);
  ASSERT_EQ(h.positive_spans.size(), 1u);
  EXPECT_EQ(h.positive_spans[0].length, 3u);
  EXPECT_EQ(h.positive_deltas, (std::vector<int64_t>{1, 1, -1}));
}

TEST(NativeHistogram, BucketCountIsBoundedByLoweringTheSchema) {
  std::vector<double> v;
  for (int i = 0; i < 5000; ++i) v.push_back(0.001 * std::pow(1.003, i));  // ~6.5 decades
  NativeHistogram h;
  std::vector<int32_t> scratch;
  BuildNativeHistogram(v, &scratch, &h);
  size_t buckets = 0;
  for (const BucketSpan& s : h.positive_spans) buckets += s.length;
  EXPECT_LE(buckets, kMaxHistogramBuckets);
  EXPECT_LT(h.schema, kHistogramSchema);
  EXPECT_EQ(h.count, 5000u);
}

// The README's "measured worst error": random per-pod values over six
// decades (a microcore to 64 cores), workloads of 1 to 160 pods, every
// percentile. Fails if any estimate is more than 1% off.
TEST(NativeHistogram, EveryQuantileWithinOnePercentOfTheExactValue) {
  std::mt19937_64 rng(19);
  std::uniform_real_distribution<double> exponent(-6, std::log10(64.0));
  std::uniform_int_distribution<int> pods(1, 160);
  double worst = 0;
  std::vector<int32_t> scratch;
  NativeHistogram h;
  for (int trial = 0; trial < 2000; ++trial) {
    std::vector<double> v(static_cast<size_t>(pods(rng)));
    for (double& x : v) x = std::pow(10.0, exponent(rng));
    BuildNativeHistogram(v, &scratch, &h);
    ASSERT_EQ(h.schema, kHistogramSchema);
    for (int p = 1; p <= 99; ++p) {
      const double q = p / 100.0;
      const double exact = NearestRank(v, q);
      const double rel = std::abs(PrometheusQuantile(h, q) - exact) / exact;
      worst = std::max(worst, rel);
    }
  }
  RecordProperty("worst_relative_error", std::to_string(worst));
  std::printf("schema %d: worst relative quantile error %.4f%%\n", kHistogramSchema, worst * 100);
  EXPECT_LT(worst, 0.01);
  // The bound of the header: one bucket's width.
  EXPECT_LE(worst, std::exp2(std::exp2(-kHistogramSchema)) - 1 + 1e-12);
}

TEST(NativeHistogram, IdlePodsLandInTheZeroBucket) {
  NativeHistogram h;
  std::vector<int32_t> scratch;
  BuildNativeHistogram({0.0, 0.0, 0.0, 0.5}, &scratch, &h);
  EXPECT_EQ(h.zero_count, 3u);
  EXPECT_LE(PrometheusQuantile(h, 0.5), kHistogramZeroThreshold);
  EXPECT_NEAR(PrometheusQuantile(h, 0.99), 0.5, 0.5 * 0.01);
}

}  // namespace
}  // namespace nodepulse::exporters
