// Helpers for the procfs collector tests: run one pipeline cycle and look
// series up in the published snapshot by metric name and labels, the way an
// exporter would (Catalog::by_metric, LabelsOf, rendered_labels).
#ifndef NODEPULSE_TESTS_COLLECTORS_PROCFS_PROCFS_TEST_UTIL_H_
#define NODEPULSE_TESTS_COLLECTORS_PROCFS_PROCFS_TEST_UTIL_H_

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "nodepulse/collectors/collector.h"
#include "nodepulse/pipeline/pipeline.h"

namespace nodepulse::collectors::procfs_test {

using pipeline::Catalog;
using pipeline::Labels;
using pipeline::MetricId;
using pipeline::Pipeline;
using pipeline::SeriesId;
using pipeline::Snapshot;

inline std::string FixtureProc(const std::string& tree) {
  return std::string(NODEPULSE_FIXTURES) + "/cgroup/" + tree + "/proc";
}

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void WriteFile(const std::string& path, const std::string& text) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  // Truncate in place (same inode) so an fd the collector holds sees it.
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

struct Cycle {
  std::shared_ptr<const Snapshot> snap;
  CollectStats stats;
  absl::Status status;
};

inline Cycle RunCycle(Pipeline& p, Collector& c, int64_t ts_ms = 1000) {
  Cycle out;
  p.BeginCycle(ts_ms);
  out.status = c.Collect(out.stats);
  p.EndCycle();
  out.snap = p.snapshot();
  return out;
}

inline std::optional<MetricId> FindMetric(const Snapshot& s, const std::string& name) {
  const Catalog& c = *s.catalog;
  for (size_t i = 0; i < c.metrics.size(); ++i) {
    if (c.metrics[i].name == name) return static_cast<MetricId>(i);
  }
  return std::nullopt;
}

// The live series of `metric`, empty if the family is unknown.
inline std::vector<SeriesId> SeriesOf(const Snapshot& s, const std::string& metric) {
  std::optional<MetricId> m = FindMetric(s, metric);
  if (!m) return {};
  return s.catalog->by_metric[*m];
}

// `labels` sorted by name, as LabelsOf returns them.
inline std::optional<SeriesId> FindSeries(const Snapshot& s, const std::string& metric,
                                          const Labels& labels = {}) {
  for (SeriesId id : SeriesOf(s, metric)) {
    if (s.catalog->LabelsOf(id) == labels) return id;
  }
  return std::nullopt;
}

// NaN when the series does not exist or has no sample.
inline double Value(const Snapshot& s, const std::string& metric, const Labels& labels = {}) {
  std::optional<SeriesId> id = FindSeries(s, metric, labels);
  return id ? s.value(*id) : std::nan("");
}

// Label values of `label` across the live series of `metric`, sorted.
inline std::vector<std::string> LabelValues(const Snapshot& s, const std::string& metric,
                                            const std::string& label) {
  std::vector<std::string> out;
  for (SeriesId id : SeriesOf(s, metric)) {
    for (const auto& l : s.catalog->LabelsOf(id)) {
      if (l.name == label) out.push_back(l.value);
    }
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace nodepulse::collectors::procfs_test

#endif  // NODEPULSE_TESTS_COLLECTORS_PROCFS_PROCFS_TEST_UTIL_H_
