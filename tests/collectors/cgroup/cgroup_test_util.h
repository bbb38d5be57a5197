// Helpers for the cgroup collector tests: run a collector over a tree and
// read values back from the published snapshot by metric name and labels.
#ifndef NODEPULSE_TESTS_COLLECTORS_CGROUP_CGROUP_TEST_UTIL_H_
#define NODEPULSE_TESTS_COLLECTORS_CGROUP_CGROUP_TEST_UTIL_H_

#include <stdlib.h>

#include <cmath>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "nodepulse/collectors/cgroup.h"
#include "nodepulse/pipeline/pipeline.h"

namespace nodepulse::collectors::testing {

inline std::string FixtureRoot(std::string_view tree) {
  return std::string(NODEPULSE_FIXTURES) + "/cgroup/" + std::string(tree);
}

// A private, writable copy of a fixture tree under /tmp (fixture files are
// read-only), for tests that change it; "" when /tmp refuses. The caller
// removes it.
inline std::string CopyFixtureTree(std::string_view tree) {
  namespace fs = std::filesystem;
  char tmpl[] = "/tmp/nodepulse-cgroup-test-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) return "";
  fs::copy(FixtureRoot(tree), tmpl, fs::copy_options::recursive);
  for (auto& e : fs::recursive_directory_iterator(tmpl)) {
    fs::permissions(e.path(), fs::perms::owner_write, fs::perm_options::add);
  }
  return tmpl;
}

inline CgroupOptions FixtureOptions(const std::string& root) {
  CgroupOptions o;
  o.cgroup_root = root + "/sys/fs/cgroup";
  o.proc_root = root + "/proc";
  o.rescan_interval = absl::Hours(1);
  return o;
}

// One pipeline cycle around Collect().
inline absl::Status Cycle(pipeline::Pipeline& p, Collector& c, CollectStats& stats,
                          int64_t ts_ms = 1000) {
  p.BeginCycle(ts_ms);
  absl::Status s = c.Collect(stats);
  p.EndCycle();
  return s;
}

inline pipeline::MetricId MetricIdOf(const pipeline::Catalog& cat, std::string_view name) {
  for (size_t i = 0; i < cat.metrics.size(); ++i) {
    if (cat.metrics[i].name == name) return static_cast<pipeline::MetricId>(i);
  }
  return 0xffff;
}

// Live series of `metric` whose labels include id=`id` and every `extra`.
inline std::vector<pipeline::SeriesId> Find(const pipeline::Snapshot& snap,
                                            std::string_view metric, std::string_view id,
                                            const pipeline::Labels& extra = {}) {
  std::vector<pipeline::SeriesId> out;
  const pipeline::Catalog& cat = *snap.catalog;
  pipeline::MetricId m = MetricIdOf(cat, metric);
  if (m >= cat.by_metric.size()) return out;
  for (pipeline::SeriesId s : cat.by_metric[m]) {
    pipeline::Labels labels = cat.LabelsOf(s);
    auto has = [&](std::string_view n, std::string_view v) {
      for (const pipeline::Label& l : labels) {
        if (l.name == n && l.value == v) return true;
      }
      return false;
    };
    if (!has("id", id)) continue;
    bool all = true;
    for (const pipeline::Label& l : extra) all = all && has(l.name, l.value);
    if (all) out.push_back(s);
  }
  return out;
}

// The value of the single matching series; NaN when there is none (or more
// than one, which a test should never set up).
inline double Value(const pipeline::Snapshot& snap, std::string_view metric,
                    std::string_view id, const pipeline::Labels& extra = {}) {
  std::vector<pipeline::SeriesId> s = Find(snap, metric, id, extra);
  return s.size() == 1 ? snap.value(s[0]) : std::nan("");
}

// Every entity id label in the snapshot.
inline std::vector<std::string> EntityIds(const pipeline::Snapshot& snap) {
  std::vector<std::string> ids;
  for (const auto& e : snap.catalog->entities) {
    if (!e.alive) continue;
    for (const pipeline::Label& l : e.labels) {
      if (l.name == "id") ids.push_back(l.value);
    }
  }
  return ids;
}

}  // namespace nodepulse::collectors::testing

#endif  // NODEPULSE_TESTS_COLLECTORS_CGROUP_CGROUP_TEST_UTIL_H_
