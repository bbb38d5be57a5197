// QuantileSketch: a mergeable quantile sketch with a relative error bound
// (the DDSketch construction: logarithmic buckets, Masson et al., VLDB 2019).
//
// Guarantee (tested in sketch_test.cc): for the lower-rank quantile
//   x = the item at rank floor(q * (n - 1)) of the sorted input,
// Quantile(q) returns v with |v - x| <= kRelativeAccuracy * |x| whenever
// |x| >= kMinIndexable; items smaller in magnitude are counted as 0.
// Merging two sketches is exact (bucket counts add), so a merged sketch keeps
// the same bound: that is what lets the autoscaler combine nodes.
//
// Memory: 8 bytes per bucket between the smallest and largest index in use;
// values spanning 1e-9..1e12 need about 2,400 buckets (about 19 KiB). Not
// for the per-sample path: built on demand by readers.
//
// Thread-safety: a value type; const methods may run concurrently, others
// need external synchronization.
#ifndef NODEPULSE_PIPELINE_SKETCH_H_
#define NODEPULSE_PIPELINE_SKETCH_H_

#include <cstdint>
#include <vector>

namespace nodepulse::pipeline {

class QuantileSketch {
 public:
  static constexpr double kRelativeAccuracy = 0.01;
  static constexpr double kMinIndexable = 1e-9;

  // One side's buckets: counts[i] is bucket index offset + i.
  struct Store {
    int32_t offset = 0;
    std::vector<uint64_t> counts;
  };

  void Add(double x, uint64_t n = 1);  // NaN is ignored
  void Merge(const QuantileSketch& other);
  // NaN when empty; q is clamped to [0, 1].
  double Quantile(double q) const;
  uint64_t count() const { return count_; }
  void Clear();

  // For serialization (the aggregates API ships buckets to the autoscaler).
  const Store& positive() const { return positive_; }
  const Store& negative() const { return negative_; }  // by index of |x|
  uint64_t zero_count() const { return zero_; }
  // Bucket index of |x| (x >= kMinIndexable) and the value reported for it.
  static int32_t Index(double abs_x);
  static double Value(int32_t index);

 private:
  static void AddTo(Store& s, int32_t index, uint64_t n);
  Store positive_, negative_;
  uint64_t zero_ = 0;
  uint64_t count_ = 0;
};

}  // namespace nodepulse::pipeline

#endif  // NODEPULSE_PIPELINE_SKETCH_H_
