#include "nodepulse/pipeline/sketch.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace nodepulse::pipeline {
namespace {

double LowerRank(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  return v[static_cast<size_t>(q * static_cast<double>(v.size() - 1))];
}

// The documented bound: |estimate - x| <= 1% |x| for the lower-rank
// quantile x (values below kMinIndexable read as 0).
void ExpectWithinBound(const QuantileSketch& s, const std::vector<double>& values) {
  for (double q : {0.0, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 1.0}) {
    const double x = LowerRank(values, q);
    const double est = s.Quantile(q);
    if (std::fabs(x) < QuantileSketch::kMinIndexable) {
      EXPECT_EQ(est, 0.0) << q;
    } else {
      // 1e-12: log/exp rounding at a bucket edge.
      EXPECT_LE(std::fabs(est - x), QuantileSketch::kRelativeAccuracy * std::fabs(x) * (1 + 1e-12))
          << "q=" << q << " x=" << x << " est=" << est;
    }
  }
}

TEST(QuantileSketch, RelativeErrorBoundRandomized) {
  std::mt19937_64 rng(42);
  for (int round = 0; round < 50; ++round) {
    std::vector<double> values;
    QuantileSketch s;
    const size_t n = 1 + rng() % 3000;
    std::lognormal_distribution<double> lognormal(0.0, 1.0 + round % 5);
    for (size_t i = 0; i < n; ++i) {
      double x = lognormal(rng) * std::pow(10.0, static_cast<int>(rng() % 12) - 3);
      switch (rng() % 10) {
        case 0:
          x = -x;
          break;
        case 1:
          x = 0;
          break;
        default:
          break;
      }
      values.push_back(x);
      s.Add(x);
    }
    ASSERT_EQ(s.count(), n);
    ExpectWithinBound(s, values);
  }
}

TEST(QuantileSketch, MergeIsExact) {
  std::mt19937_64 rng(7);
  std::exponential_distribution<double> exp(0.01);
  QuantileSketch a, b, all;
  std::vector<double> values;
  for (int i = 0; i < 5000; ++i) {
    const double x = exp(rng);
    values.push_back(x);
    all.Add(x);
    (i % 3 == 0 ? a : b).Add(x);
  }
  a.Merge(b);
  EXPECT_EQ(a.count(), all.count());
  for (double q : {0.5, 0.9, 0.95, 0.99}) EXPECT_EQ(a.Quantile(q), all.Quantile(q)) << q;
  ExpectWithinBound(a, values);
}

TEST(QuantileSketch, EmptyAndNaN) {
  QuantileSketch s;
  EXPECT_TRUE(std::isnan(s.Quantile(0.5)));
  s.Add(std::nan(""));
  EXPECT_EQ(s.count(), 0u);
  s.Add(5.0);
  EXPECT_NEAR(s.Quantile(0.5), 5.0, 0.05);
}

}  // namespace
}  // namespace nodepulse::pipeline
