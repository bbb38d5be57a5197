#include "nodepulse/exporters/prometheus/protobuf_exposition.h"

#include <cmath>
#include <limits>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "metrics.pb.h"

namespace nodepulse::exporters {

namespace client = ::io::prometheus::client;

// ------------------------------------------------------------ negotiation --

namespace {
// The q-value of one media range ("type/sub; a=b; q=0.5"); 1 without one,
// 0 when it does not parse (RFC 9110: a bad q means "not acceptable").
double QValue(absl::string_view range) {
  for (absl::string_view param : absl::StrSplit(range, ';')) {
    param = absl::StripAsciiWhitespace(param);
    if (!absl::StartsWith(param, "q=")) continue;
    double q;
    return absl::SimpleAtod(param.substr(2), &q) && q >= 0 && q <= 1 ? q : 0;
  }
  return 1;
}
}  // namespace

bool PrefersProtobufExposition(absl::string_view accept) {
  double proto = 0, other = 0;
  for (absl::string_view range : absl::StrSplit(accept, ',')) {
    range = absl::StripAsciiWhitespace(range);
    const absl::string_view type = absl::StripAsciiWhitespace(range.substr(0, range.find(';')));
    const double q = QValue(range);
    if (absl::EqualsIgnoreCase(type, "application/vnd.google.protobuf")) {
      // Only the delimited MetricFamily stream; other protobufs are not ours.
      if (absl::StrContains(range, "proto=io.prometheus.client.MetricFamily") &&
          absl::StrContains(range, "encoding=delimited")) {
        proto = std::max(proto, q);
      }
    } else {
      other = std::max(other, q);  // text, OpenMetrics, */*: all get text
    }
  }
  return proto > 0 && proto >= other;
}

// ---------------------------------------------------------- text parsing --

namespace {

absl::Status LineError(absl::string_view line, absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("text exposition: ", why, ": '", line.substr(0, 200), "'"));
}

bool ParseValue(absl::string_view s, double* v) {
  if (s == "+Inf" || s == "Inf") {
    *v = std::numeric_limits<double>::infinity();
  } else if (s == "-Inf") {
    *v = -std::numeric_limits<double>::infinity();
  } else if (s == "NaN") {
    *v = std::numeric_limits<double>::quiet_NaN();
  } else {
    return absl::SimpleAtod(s, v);
  }
  return true;
}

// `{a="x",b="y\"z"}` at the start of `rest`; advances past the brace.
absl::Status ParseLabels(absl::string_view line, absl::string_view* rest,
                         std::vector<prometheus::ClientMetric::Label>* out) {
  absl::string_view s = *rest;
  s.remove_prefix(1);  // '{'
  while (!s.empty() && s.front() != '}') {
    const size_t eq = s.find("=\"");
    if (eq == absl::string_view::npos || eq == 0) return LineError(line, "bad label");
    prometheus::ClientMetric::Label label;
    label.name = std::string(s.substr(0, eq));
    s.remove_prefix(eq + 2);
    for (;;) {
      if (s.empty()) return LineError(line, "unterminated label value");
      const char c = s.front();
      s.remove_prefix(1);
      if (c == '"') break;
      if (c != '\\') {
        label.value.push_back(c);
        continue;
      }
      if (s.empty()) return LineError(line, "dangling escape");
      const char e = s.front();
      s.remove_prefix(1);
      label.value.push_back(e == 'n' ? '\n' : e);  // \\ and \" stand for themselves
    }
    out->push_back(std::move(label));
    if (!s.empty() && s.front() == ',') s.remove_prefix(1);
  }
  if (s.empty()) return LineError(line, "unterminated label set");
  s.remove_prefix(1);  // '}'
  *rest = s;
  return absl::OkStatus();
}

std::string UnescapeHelp(absl::string_view help) {
  std::string out;
  for (size_t i = 0; i < help.size(); ++i) {
    if (help[i] == '\\' && i + 1 < help.size()) {
      ++i;
      out.push_back(help[i] == 'n' ? '\n' : help[i]);
    } else {
      out.push_back(help[i]);
    }
  }
  return out;
}

// The family `name` at the back of `out`, started (untyped) if it is not.
prometheus::MetricFamily& FamilyFor(absl::string_view name,
                                    std::vector<prometheus::MetricFamily>* out) {
  if (out->empty() || out->back().name != name) {
    out->emplace_back();
    out->back().name = std::string(name);
    out->back().type = prometheus::MetricType::Untyped;
  }
  return out->back();
}

absl::Status ParseComment(absl::string_view line, std::vector<prometheus::MetricFamily>* out) {
  std::vector<absl::string_view> f = absl::StrSplit(line, absl::MaxSplits(' ', 3));
  if (f.size() < 3 || (f[1] != "HELP" && f[1] != "TYPE")) return absl::OkStatus();  // a remark
  prometheus::MetricFamily& fam = FamilyFor(f[2], out);
  const absl::string_view arg = f.size() > 3 ? f[3] : absl::string_view();
  if (f[1] == "HELP") {
    fam.help = UnescapeHelp(arg);
  } else if (arg == "counter") {
    fam.type = prometheus::MetricType::Counter;
  } else if (arg == "gauge") {
    fam.type = prometheus::MetricType::Gauge;
  } else if (arg != "untyped") {
    return LineError(line, "only counter, gauge and untyped families are parsed");
  }
  return absl::OkStatus();
}

absl::Status ParseSample(absl::string_view line, std::vector<prometheus::MetricFamily>* out) {
  const size_t name_end = line.find_first_of("{ ");
  if (name_end == 0 || name_end == absl::string_view::npos) return LineError(line, "no value");
  prometheus::ClientMetric m;
  absl::string_view rest = line.substr(name_end);
  if (rest.front() == '{') {
    if (absl::Status s = ParseLabels(line, &rest, &m.label); !s.ok()) return s;
  }
  std::vector<absl::string_view> f = absl::StrSplit(rest, ' ', absl::SkipEmpty());
  double v;
  if (f.empty() || f.size() > 2 || !ParseValue(f[0], &v)) return LineError(line, "bad value");
  if (f.size() == 2 && !absl::SimpleAtoi(f[1], &m.timestamp_ms)) {
    return LineError(line, "bad timestamp");
  }
  prometheus::MetricFamily& fam = FamilyFor(line.substr(0, name_end), out);
  if (fam.type == prometheus::MetricType::Counter) {
    m.counter.value = v;
  } else if (fam.type == prometheus::MetricType::Gauge) {
    m.gauge.value = v;
  } else {
    m.untyped.value = v;
  }
  fam.metric.push_back(std::move(m));
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::vector<prometheus::MetricFamily>> ParseTextExposition(absl::string_view text) {
  std::vector<prometheus::MetricFamily> out;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    absl::Status s = line.front() == '#' ? ParseComment(line, &out) : ParseSample(line, &out);
    if (!s.ok()) return s;
  }
  return out;
}

// -------------------------------------------------------------- encoding --

namespace {

void AppendDelimited(const client::MetricFamily& fam, std::string* out) {
  const size_t n = fam.ByteSizeLong();
  char len[10];
  size_t k = 0;
  for (uint64_t v = n; ; v >>= 7) {
    len[k++] = static_cast<char>((v & 0x7f) | (v >= 0x80 ? 0x80 : 0));
    if (v < 0x80) break;
  }
  out->append(len, k);
  const size_t at = out->size();
  out->resize(at + n);
  fam.SerializeWithCachedSizesToArray(reinterpret_cast<uint8_t*>(out->data() + at));
}

client::MetricType TypeOf(prometheus::MetricType t) {
  switch (t) {
    case prometheus::MetricType::Counter:
      return client::COUNTER;
    case prometheus::MetricType::Gauge:
      return client::GAUGE;
    case prometheus::MetricType::Summary:
      return client::SUMMARY;
    case prometheus::MetricType::Histogram:
      return client::HISTOGRAM;
    case prometheus::MetricType::Untyped:
      break;
  }
  return client::UNTYPED;
}

void FillMetric(prometheus::MetricType type, const prometheus::ClientMetric& in, client::Metric* m) {
  for (const auto& l : in.label) {
    client::LabelPair* p = m->add_label();
    p->set_name(l.name);
    p->set_value(l.value);
  }
  if (in.timestamp_ms != 0) m->set_timestamp_ms(in.timestamp_ms);
  switch (type) {
    case prometheus::MetricType::Counter:
      m->mutable_counter()->set_value(in.counter.value);
      break;
    case prometheus::MetricType::Gauge:
      m->mutable_gauge()->set_value(in.gauge.value);
      break;
    case prometheus::MetricType::Untyped:
      m->mutable_untyped()->set_value(in.untyped.value);
      break;
    case prometheus::MetricType::Summary: {
      client::Summary* s = m->mutable_summary();
      s->set_sample_count(in.summary.sample_count);
      s->set_sample_sum(in.summary.sample_sum);
      for (const auto& q : in.summary.quantile) {
        client::Quantile* o = s->add_quantile();
        o->set_quantile(q.quantile);
        o->set_value(q.value);
      }
      break;
    }
    case prometheus::MetricType::Histogram: {
      client::Histogram* h = m->mutable_histogram();
      h->set_sample_count(in.histogram.sample_count);
      h->set_sample_sum(in.histogram.sample_sum);
      for (const auto& b : in.histogram.bucket) {
        client::Bucket* o = h->add_bucket();
        o->set_cumulative_count(b.cumulative_count);
        o->set_upper_bound(b.upper_bound);
      }
      break;
    }
  }
}

void AddLabel(absl::string_view name, absl::string_view value, client::Metric* m) {
  if (value.empty()) return;  // as the text renderer: an empty label is no label
  client::LabelPair* p = m->add_label();
  p->set_name(std::string(name));
  p->set_value(std::string(value));
}

}  // namespace

void AppendProtobufFamilies(const std::vector<prometheus::MetricFamily>& families, std::string* out) {
  client::MetricFamily fam;  // reused: its repeated fields keep their capacity
  for (const prometheus::MetricFamily& f : families) {
    fam.Clear();
    fam.set_name(f.name);
    if (!f.help.empty()) fam.set_help(f.help);
    fam.set_type(TypeOf(f.type));
    for (const prometheus::ClientMetric& cm : f.metric) FillMetric(f.type, cm, fam.add_metric());
    AppendDelimited(fam, out);
  }
}

void AppendProtobufHistograms(absl::Span<const WorkloadHistogram> histograms, std::string* out) {
  client::MetricFamily fam;
  for (size_t i = 0; i < histograms.size();) {
    fam.Clear();
    fam.set_name(histograms[i].name);
    fam.set_help(histograms[i].help);
    fam.set_type(client::GAUGE_HISTOGRAM);
    size_t end = i;
    for (; end < histograms.size() && histograms[end].name == histograms[i].name; ++end) {
      const WorkloadHistogram& w = histograms[end];
      client::Metric* m = fam.add_metric();
      AddLabel("namespace", w.namespace_name, m);
      AddLabel("workload", w.workload, m);
      AddLabel("workload_kind", w.workload_kind, m);
      const NativeHistogram& nh = w.histogram;
      client::Histogram* h = m->mutable_histogram();
      h->set_sample_count(nh.count);
      h->set_sample_sum(nh.sum);
      h->set_schema(nh.schema);
      h->set_zero_threshold(nh.zero_threshold);
      h->set_zero_count(nh.zero_count);
      for (const BucketSpan& s : nh.positive_spans) {
        client::BucketSpan* o = h->add_positive_span();
        o->set_offset(s.offset);
        o->set_length(s.length);
      }
      for (int64_t d : nh.positive_deltas) h->add_positive_delta(d);
    }
    AppendDelimited(fam, out);
    i = end;
  }
}

}  // namespace nodepulse::exporters
