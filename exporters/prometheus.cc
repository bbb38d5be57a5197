#include "nodepulse/exporters/prometheus.h"

#include <cmath>
#include <mutex>
#include <sstream>
#include <utility>

#include "prometheus/text_serializer.h"

namespace nodepulse::exporters {

std::vector<prometheus::MetricFamily> FamiliesFromSnapshot(const pipeline::Snapshot& snap) {
  std::vector<prometheus::MetricFamily> out;
  if (!snap.catalog) return out;
  const pipeline::Catalog& cat = *snap.catalog;
  out.reserve(cat.metrics.size());
  for (size_t m = 0; m < cat.metrics.size(); ++m) {
    const pipeline::MetricSpec& spec = cat.metrics[m];
    prometheus::MetricFamily fam;
    fam.name = spec.name;
    fam.help = spec.help;
    const bool counter = spec.kind == pipeline::MetricKind::kCounter;
    fam.type = counter ? prometheus::MetricType::Counter : prometheus::MetricType::Gauge;
    for (pipeline::SeriesId id : cat.by_metric[m]) {
      double v = snap.value(id);
      if (std::isnan(v)) continue;  // no sample this cycle (e.g. cgroup vanished mid-read)
      prometheus::ClientMetric cm;
      for (pipeline::Label& l : cat.LabelsOf(id)) {
        cm.label.push_back({std::move(l.name), std::move(l.value)});
      }
      if (counter) {
        cm.counter.value = v;
      } else {
        cm.gauge.value = v;
      }
      fam.metric.push_back(std::move(cm));
    }
    // A family with no samples is left out: `promtool check metrics` and
    // Prometheus accept it, but it only adds noise.
    if (!fam.metric.empty()) out.push_back(std::move(fam));
  }
  return out;
}

std::vector<prometheus::MetricFamily> SnapshotCollectable::Collect() const {
  std::shared_ptr<const pipeline::Snapshot> snap = pipeline_.snapshot();
  if (!snap) return {};
  return FamiliesFromSnapshot(*snap);
}

Handler MetricsHandler(std::vector<std::weak_ptr<prometheus::Collectable>> collectables) {
  return [collectables = std::move(collectables)](const HttpRequest&) {
    std::vector<prometheus::MetricFamily> all;
    for (const auto& weak : collectables) {
      if (auto c = weak.lock()) {
        auto fams = c->Collect();
        all.insert(all.end(), std::make_move_iterator(fams.begin()),
                   std::make_move_iterator(fams.end()));
      }
    }
    HttpResponse resp;
    resp.content_type = "text/plain; version=0.0.4; charset=utf-8";
    std::ostringstream os;
    prometheus::TextSerializer().Serialize(os, all);
    resp.body = std::move(os).str();
    return resp;
  };
}

Handler CachedMetricsHandler(const pipeline::Pipeline& pipeline,
                             std::vector<std::weak_ptr<prometheus::Collectable>> per_scrape,
                             std::function<std::string()> extra) {
  struct Cache {
    std::mutex mu;
    uint64_t cycle = 0;
    std::shared_ptr<const std::string> text;
  };
  auto cache = std::make_shared<Cache>();
  Handler rest = MetricsHandler(std::move(per_scrape));
  return [&pipeline, cache, rest, extra = std::move(extra)](const HttpRequest& req) {
    std::shared_ptr<const std::string> raw;
    if (std::shared_ptr<const pipeline::Snapshot> snap = pipeline.snapshot()) {
      // Rendering under the lock is deliberate: concurrent scrapes of a new
      // cycle wait for one render instead of each doing it.
      std::lock_guard<std::mutex> lock(cache->mu);
      if (!cache->text || cache->cycle != snap->cycle) {
        std::ostringstream os;
        prometheus::TextSerializer().Serialize(os, FamiliesFromSnapshot(*snap));
        cache->text = std::make_shared<const std::string>(std::move(os).str());
        cache->cycle = snap->cycle;
      }
      raw = cache->text;
    }
    HttpResponse resp = rest(req);
    std::string body;
    body.reserve((raw ? raw->size() : 0) + resp.body.size() + 4096);
    if (raw) body += *raw;
    body += resp.body;
    if (extra) body += extra();
    resp.body = std::move(body);
    return resp;
  };
}

}  // namespace nodepulse::exporters
