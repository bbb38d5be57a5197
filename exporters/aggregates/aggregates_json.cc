#include "aggregates_json.h"

#include <string>

#include "nodepulse/base/json_writer.h"

namespace nodepulse::exporters {

using base::JsonWriter;

namespace {

void WriteSketch(const nodepulse::api::v1::Sketch& s, JsonWriter& j) {
  j.BeginObject();
  j.Key("relative_accuracy");
  j.Number(s.relative_accuracy());
  j.Key("zero_count");
  j.Number(static_cast<double>(s.zero_count()));
  j.Key("positive_offset");
  j.Number(s.positive_offset());
  j.Key("positive_counts");
  j.BeginArray();
  for (uint64_t c : s.positive_counts()) j.Number(static_cast<double>(c));
  j.EndArray();
  j.Key("negative_offset");
  j.Number(s.negative_offset());
  j.Key("negative_counts");
  j.BeginArray();
  for (uint64_t c : s.negative_counts()) j.Number(static_cast<double>(c));
  j.EndArray();
  j.EndObject();
}

void Field(JsonWriter& j, const char* key, const std::string& v) { j.Key(key).String(v); }
void Field(JsonWriter& j, const char* key, double v) { j.Key(key).Number(v); }

}  // namespace

std::string ResponseJson(const nodepulse::api::v1::AggregatesResponse& resp) {
  JsonWriter j;
  j.BeginObject();
  // An error answer has no `value` anywhere: KEDA must not find a number.
  const bool error = resp.has_status();
  if (error) {
    Field(j, "error", resp.status().message());
    Field(j, "code", resp.status().code() == 14 ? std::string("UNAVAILABLE") : std::to_string(resp.status().code()));
    Field(j, "reason", resp.status().reason());
  }
  if (resp.has_value()) Field(j, "value", resp.value());
  Field(j, "timestamp_ms", static_cast<double>(resp.timestamp_ms()));
  if (resp.agents() > 0) Field(j, "agents", static_cast<double>(resp.agents()));
  j.Key("results");
  j.BeginArray();
  for (const auto& a : resp.results()) {
    j.BeginObject();
    Field(j, "namespace", a.namespace_());
    Field(j, "workload", a.workload());
    Field(j, "workload_kind", a.workload_kind());
    Field(j, "metric", a.metric());
    Field(j, "unit", a.unit());
    Field(j, "window", a.window());
    Field(j, "stat", a.stat());
    if (!error) {
      Field(j, "value", a.value());
      Field(j, "sum", a.sum());
      Field(j, "count", a.count());
      Field(j, "min", a.min());
      Field(j, "max", a.max());
    }
    Field(j, "pods", static_cast<double>(a.pods()));
    Field(j, "pods_expected", static_cast<double>(a.pods_expected()));
    Field(j, "pods_without_request", static_cast<double>(a.pods_without_request()));
    Field(j, "coverage", a.coverage());
    Field(j, "newest_sample_ms", static_cast<double>(a.newest_sample_ms()));
    Field(j, "oldest_sample_age_ms", static_cast<double>(a.oldest_sample_age_ms()));
    if (!error) {
      j.Key("sketch");
      WriteSketch(a.sketch(), j);
    }
    j.EndObject();
  }
  j.EndArray();
  if (resp.errors_size() > 0) {
    j.Key("errors");
    j.BeginArray();
    for (const auto& e : resp.errors()) {
      j.BeginObject();
      Field(j, "url", e.url());
      Field(j, "error", e.error());
      j.EndObject();
    }
    j.EndArray();
  }
  j.EndObject();
  return j.Take() + "\n";
}

void SketchToProto(const pipeline::QuantileSketch& sketch, nodepulse::api::v1::Sketch* out) {
  out->Clear();
  out->set_relative_accuracy(pipeline::QuantileSketch::kRelativeAccuracy);
  out->set_zero_count(sketch.zero_count());
  out->set_positive_offset(sketch.positive().offset);
  for (uint64_t c : sketch.positive().counts) out->add_positive_counts(c);
  out->set_negative_offset(sketch.negative().offset);
  for (uint64_t c : sketch.negative().counts) out->add_negative_counts(c);
}

pipeline::QuantileSketch SketchFromProto(const nodepulse::api::v1::Sketch& proto) {
  pipeline::QuantileSketch s;
  if (proto.zero_count() > 0) s.Add(0.0, proto.zero_count());
  for (int i = 0; i < proto.positive_counts_size(); ++i) {
    if (proto.positive_counts(i) > 0) {
      s.Add(pipeline::QuantileSketch::Value(proto.positive_offset() + i), proto.positive_counts(i));
    }
  }
  for (int i = 0; i < proto.negative_counts_size(); ++i) {
    if (proto.negative_counts(i) > 0) {
      s.Add(-pipeline::QuantileSketch::Value(proto.negative_offset() + i), proto.negative_counts(i));
    }
  }
  return s;
}

}  // namespace nodepulse::exporters
