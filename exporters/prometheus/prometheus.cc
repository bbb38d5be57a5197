#include "nodepulse/exporters/prometheus/prometheus.h"

#include <charconv>
#include <cmath>
#include <limits>
#include <mutex>
#include <sstream>
#include <string_view>
#include <utility>

#include "nodepulse/exporters/prometheus/protobuf_exposition.h"
#include "nodepulse/base/log.h"
#include "nodepulse/base/text_format.h"
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

void AppendExposition(const pipeline::Snapshot& snap, std::string* out) {
  if (!snap.catalog) return;
  const pipeline::Catalog& cat = *snap.catalog;
  for (size_t m = 0; m < cat.metrics.size(); ++m) {
    const pipeline::MetricSpec& spec = cat.metrics[m];
    bool header = false;
    for (pipeline::SeriesId id : cat.by_metric[m]) {
      const double v = snap.value(id);
      if (std::isnan(v)) continue;  // no sample this cycle (e.g. cgroup vanished mid-read)
      // A family with no samples is left out, as FamiliesFromSnapshot does.
      if (!header) {
        header = true;
        out->append("# HELP ").append(spec.name).push_back(' ');
        base::AppendEscapedHelp(spec.help, out);
        out->append("\n# TYPE ").append(spec.name);
        out->append(spec.kind == pipeline::MetricKind::kCounter ? " counter\n" : " gauge\n");
      }
      out->append(spec.name);
      // Labels were sorted, escaped and joined once, when the series (or
      // its entity's labels) changed: the per-scrape work is copying them.
      const std::string& labels = cat.series[id].rendered_labels();
      if (!labels.empty()) out->append("{").append(labels).push_back('}');
      out->push_back(' ');
      base::AppendSampleValue(v, out);  // TextSerializer's digits (text_format.h)
      out->push_back('\n');
    }
  }
}

namespace {
void CollectInto(const std::vector<std::weak_ptr<prometheus::Collectable>>& collectables,
                 std::vector<prometheus::MetricFamily>* all) {
  for (const auto& weak : collectables) {
    if (auto c = weak.lock()) {
      auto fams = c->Collect();
      all->insert(all->end(), std::make_move_iterator(fams.begin()),
                  std::make_move_iterator(fams.end()));
    }
  }
}

// The protobuf body: the text body's families in the same order, then the
// histograms. Parsing our own text fails only on a bug; the caller then
// serves text (always valid for Prometheus) and logs it.
absl::StatusOr<std::string> ProtobufBody(
    const pipeline::Pipeline& pipeline,
    const std::vector<std::weak_ptr<prometheus::Collectable>>& per_scrape,
    const std::function<std::string()>& extra,
    const std::function<ProtobufExtra()>& protobuf_extra) {
  std::vector<prometheus::MetricFamily> fams;
  if (std::shared_ptr<const pipeline::Snapshot> snap = pipeline.snapshot()) {
    fams = FamiliesFromSnapshot(*snap);
  }
  CollectInto(per_scrape, &fams);
  ProtobufExtra more;
  if (protobuf_extra) {
    more = protobuf_extra();
  } else if (extra) {
    more.text = extra();
  }
  absl::StatusOr<std::vector<prometheus::MetricFamily>> parsed = ParseTextExposition(more.text);
  if (!parsed.ok()) return parsed.status();
  fams.insert(fams.end(), std::make_move_iterator(parsed->begin()),
              std::make_move_iterator(parsed->end()));
  std::string body;
  AppendProtobufFamilies(fams, &body);
  AppendProtobufHistograms(more.histograms, &body);
  return body;
}
}  // namespace

Handler MetricsHandler(std::vector<std::weak_ptr<prometheus::Collectable>> collectables) {
  return [collectables = std::move(collectables)](const HttpRequest&) {
    std::vector<prometheus::MetricFamily> all;
    CollectInto(collectables, &all);
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
                             std::function<std::string()> extra,
                             std::function<ProtobufExtra()> protobuf_extra) {
  // The text lives only while a response still holds it: scrapes of one
  // cycle that overlap (load, several Prometheus replicas) share one render,
  // and between Prometheus' scrapes nothing is kept (at 1,000 containers the
  // text is ~10 MB; rendering it is ~5 ms, bench/render_bench.cc).
  struct Cache {
    std::mutex mu;
    uint64_t cycle = 0;
    std::weak_ptr<const std::string> text;
    size_t last_size = 0;
  };
  auto cache = std::make_shared<Cache>();
  Handler rest = MetricsHandler(per_scrape);
  return [&pipeline, cache, rest, per_scrape = std::move(per_scrape), extra = std::move(extra),
          protobuf_extra = std::move(protobuf_extra)](const HttpRequest& req) {
    if (PrefersProtobufExposition(req.Header("accept"))) {
      absl::StatusOr<std::string> body = ProtobufBody(pipeline, per_scrape, extra, protobuf_extra);
      if (body.ok()) return HttpResponse{200, kProtobufExpositionType, *std::move(body), {}, nullptr};
      LogError("metrics: protobuf exposition failed, serving text: ", body.status().ToString());
    }
    std::shared_ptr<const std::string> raw;
    if (std::shared_ptr<const pipeline::Snapshot> snap = pipeline.snapshot()) {
      // Rendering under the lock is deliberate: concurrent scrapes of a new
      // cycle wait for one render instead of each doing it.
      std::lock_guard<std::mutex> lock(cache->mu);
      raw = cache->text.lock();
      if (!raw || cache->cycle != snap->cycle) {
        auto text = std::make_shared<std::string>();
        // The last render's size: one allocation, no regrowth.
        text->reserve(cache->last_size ? cache->last_size + cache->last_size / 8 : 1 << 16);
        AppendExposition(*snap, text.get());
        cache->last_size = text->size();
        cache->cycle = snap->cycle;
        raw = std::move(text);
        cache->text = raw;
      }
    }
    HttpResponse resp = rest(req);
    // Sent without a copy (HttpResponse::shared_body), then the per-scrape
    // self-metrics and the pre-rendered extra series.
    resp.shared_body = std::move(raw);
    if (extra) resp.body += extra();
    return resp;
  };
}

}  // namespace nodepulse::exporters
