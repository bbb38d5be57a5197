#include "cgroup_files.h"

#include <array>

namespace nodepulse::collectors::cgroup_internal {

namespace {

MetricMask HistoryMetrics() {
  MetricMask mask = 0;
  for (int m = 0; m < kNumMetrics; ++m) {
    if (MetricSpecOf(static_cast<Metric>(m)).history) mask |= MetricMask{1} << m;
  }
  return mask;
}

}  // namespace

Cadence CadenceOf(FileKind kind) {
  static const std::array<Cadence, kNumFileKinds> cadence = [] {
    std::array<Cadence, kNumFileKinds> c{};
    const MetricMask history = HistoryMetrics();
    for (int k = 0; k < kNumFileKinds; ++k) {
      if ((kFiles[k].feeds & history) == 0) {
        c[k] = Cadence::kSlow;
      } else {
        c[k] = kFiles[k].follows_activity ? Cadence::kActive : Cadence::kFast;
      }
    }
    return c;
  }();
  return cadence[kind];
}

MetricMask KeptMetrics() {
  static const MetricMask kept = [] {
    MetricMask mask = 0;
    for (const FileInfo& f : kFiles) {
      if (f.kept) mask |= f.feeds;
    }
    return mask;
  }();
  return kept;
}

}  // namespace nodepulse::collectors::cgroup_internal
