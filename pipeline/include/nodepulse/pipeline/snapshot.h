// Snapshot: an immutable view of the pipeline after one collection cycle.
//
// Built by the collection thread in Pipeline::EndCycle() and shared with
// readers through std::shared_ptr<const Snapshot>; nothing in it changes after
// publication, so any number of threads may read it without locks.
//
// The catalog (names, labels) changes only when series come or go, so
// consecutive snapshots share one Catalog; only the value row is copied per
// cycle.
#ifndef NODEPULSE_PIPELINE_SNAPSHOT_H_
#define NODEPULSE_PIPELINE_SNAPSHOT_H_

#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace nodepulse::pipeline {

using MetricId = uint16_t;
using EntityId = uint32_t;
using SeriesId = uint32_t;
inline constexpr SeriesId kNoSeries = 0xffffffffu;
// The node itself: no entity labels (node_* metrics).
inline constexpr EntityId kNodeEntity = 0xfffffffeu;

enum class MetricKind : uint8_t { kCounter, kGauge };

struct MetricSpec {
  std::string name;  // Prometheus name, e.g. container_cpu_usage_seconds_total
  std::string help;
  MetricKind kind = MetricKind::kGauge;
  // Keep downsampled history (rings); otherwise only the latest value.
  bool history = false;
};

struct Label {
  std::string name;
  std::string value;
  bool operator==(const Label&) const = default;
};
using Labels = std::vector<Label>;

// The label named `name` in `labels`, or null. Entities have a handful of
// labels, so a scan beats any index.
inline const Label* FindLabel(const Labels& labels, std::string_view name) {
  for (const Label& l : labels) {
    if (l.name == name) return &l;
  }
  return nullptr;
}
// Its value; empty when absent (as Prometheus treats a missing label).
inline std::string_view LabelValue(const Labels& labels, std::string_view name) {
  const Label* l = FindLabel(labels, name);
  return l != nullptr ? std::string_view(l->value) : std::string_view();
}

struct Catalog {
  struct Entity {
    Labels labels;
    bool alive = false;
  };
  struct Series {
    MetricId metric = 0;
    EntityId entity = kNodeEntity;
    Labels extra;
    // Entity labels + extra, sorted by name, as one Prometheus label block
    // without braces: container="",id="/x",image="". Rendered once so
    // exposition does not rebuild it per scrape, and immutable so every
    // published copy of the catalog shares it (at 1,000 containers the
    // blocks are ~10 MB; a copy per publish doubled that).
    std::shared_ptr<const std::string> rendered;
    uint32_t generation = 0;  // bumped each time the id is recycled
    bool alive = false;

    const std::string& rendered_labels() const {
      static const std::string kNone;
      return rendered ? *rendered : kNone;
    }
  };
  std::vector<MetricSpec> metrics;     // by MetricId
  std::vector<Entity> entities;        // by EntityId
  std::vector<Series> series;          // by SeriesId
  std::vector<std::vector<SeriesId>> by_metric;  // live series per metric

  // All labels of a series (entity's then extra), sorted by name.
  Labels LabelsOf(SeriesId id) const;
};

struct Snapshot {
  int64_t timestamp_ms = 0;  // wall clock of the cycle that produced it
  uint64_t cycle = 0;        // count of completed cycles
  std::shared_ptr<const Catalog> catalog;
  std::vector<double> values;  // by SeriesId; NaN = no sample this cycle

  double value(SeriesId id) const {
    return id < values.size() ? values[id] : std::nan("");
  }
};

}  // namespace nodepulse::pipeline

#endif  // NODEPULSE_PIPELINE_SNAPSHOT_H_
