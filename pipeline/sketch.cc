#include "nodepulse/pipeline/sketch.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace nodepulse::pipeline {

namespace {
// gamma = (1 + a) / (1 - a): bucket i covers (gamma^(i-1), gamma^i], and
// reporting 2 * gamma^i / (gamma + 1) is within a of every value in it.
constexpr double kGamma =
    (1.0 + QuantileSketch::kRelativeAccuracy) / (1.0 - QuantileSketch::kRelativeAccuracy);
const double kLogGamma = std::log(kGamma);
}  // namespace

int32_t QuantileSketch::Index(double abs_x) {
  return static_cast<int32_t>(std::ceil(std::log(abs_x) / kLogGamma));
}

double QuantileSketch::Value(int32_t index) {
  return 2.0 * std::exp(index * kLogGamma) / (kGamma + 1.0);
}

void QuantileSketch::AddTo(Store& s, int32_t index, uint64_t n) {
  if (s.counts.empty()) {
    s.offset = index;
    s.counts.assign(1, 0);
  } else if (index < s.offset) {
    s.counts.insert(s.counts.begin(), static_cast<size_t>(s.offset - index), 0);
    s.offset = index;
  } else if (index >= s.offset + static_cast<int32_t>(s.counts.size())) {
    s.counts.resize(static_cast<size_t>(index - s.offset) + 1, 0);
  }
  s.counts[static_cast<size_t>(index - s.offset)] += n;
}

void QuantileSketch::Add(double x, uint64_t n) {
  if (std::isnan(x) || n == 0) return;
  const double a = std::fabs(x);
  if (a < kMinIndexable) {
    zero_ += n;
  } else {
    // Clamp infinities to the largest finite double's bucket.
    AddTo(x > 0 ? positive_ : negative_, Index(std::min(a, std::numeric_limits<double>::max())), n);
  }
  count_ += n;
}

void QuantileSketch::Merge(const QuantileSketch& o) {
  for (const auto* pair : {&o.positive_, &o.negative_}) {
    Store& dst = pair == &o.positive_ ? positive_ : negative_;
    for (size_t i = 0; i < pair->counts.size(); ++i) {
      if (pair->counts[i] != 0) AddTo(dst, pair->offset + static_cast<int32_t>(i), pair->counts[i]);
    }
  }
  zero_ += o.zero_;
  count_ += o.count_;
}

double QuantileSketch::Quantile(double q) const {
  if (count_ == 0) return std::numeric_limits<double>::quiet_NaN();
  q = std::clamp(q, 0.0, 1.0);
  const uint64_t rank = static_cast<uint64_t>(q * static_cast<double>(count_ - 1));
  uint64_t seen = 0;
  // Ascending order: most negative first (largest |x| index), then zero,
  // then positives.
  for (size_t i = negative_.counts.size(); i-- > 0;) {
    seen += negative_.counts[i];
    if (seen > rank) return -Value(negative_.offset + static_cast<int32_t>(i));
  }
  seen += zero_;
  if (seen > rank) return 0.0;
  for (size_t i = 0; i < positive_.counts.size(); ++i) {
    seen += positive_.counts[i];
    if (seen > rank) return Value(positive_.offset + static_cast<int32_t>(i));
  }
  return Value(positive_.offset + static_cast<int32_t>(positive_.counts.size()) - 1);
}

void QuantileSketch::Clear() {
  positive_ = {};
  negative_ = {};
  zero_ = 0;
  count_ = 0;
}

}  // namespace nodepulse::pipeline
