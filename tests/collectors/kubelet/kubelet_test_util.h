// Shared helpers for the kubelet tests: fixture paths and series lookup in a
// pipeline snapshot.
#ifndef NODEPULSE_TESTS_COLLECTORS_KUBELET_TEST_UTIL_H_
#define NODEPULSE_TESTS_COLLECTORS_KUBELET_TEST_UTIL_H_

#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "nodepulse/pipeline/pipeline.h"
#include "process.h"

namespace nodepulse::testing {

inline std::string KubeletFixture(const std::string& name) {
  return std::string(NODEPULSE_FIXTURES) + "/kubelet/" + name;
}
inline std::string KubeletTestdata(const std::string& name) {
  return std::string(NODEPULSE_TESTDATA) + "/kubelet/" + name;
}

// Every live series of `metric` whose labels include all of `want`.
struct FoundSeries {
  std::map<std::string, std::string> labels;
  double value;
};
inline std::vector<FoundSeries> FindSeries(const pipeline::Snapshot& snap, const std::string& metric,
                                           const std::map<std::string, std::string>& want = {}) {
  std::vector<FoundSeries> out;
  const pipeline::Catalog& cat = *snap.catalog;
  for (size_t m = 0; m < cat.metrics.size(); ++m) {
    if (cat.metrics[m].name != metric) continue;
    for (pipeline::SeriesId id : cat.by_metric[m]) {
      FoundSeries f;
      for (const auto& l : cat.LabelsOf(id)) f.labels[l.name] = l.value;
      bool match = true;
      for (const auto& [k, v] : want) {
        auto it = f.labels.find(k);
        match = match && it != f.labels.end() && it->second == v;
      }
      if (!match) continue;
      f.value = snap.value(id);
      out.push_back(std::move(f));
    }
  }
  return out;
}

// The single matching series' value; NaN when none, -1e300 when several.
inline double SeriesValue(const pipeline::Snapshot& snap, const std::string& metric,
                          const std::map<std::string, std::string>& want) {
  auto found = FindSeries(snap, metric, want);
  if (found.empty()) return std::nan("");
  if (found.size() > 1) return -1e300;
  return found[0].value;
}

}  // namespace nodepulse::testing

#endif  // NODEPULSE_TESTS_COLLECTORS_KUBELET_TEST_UTIL_H_
