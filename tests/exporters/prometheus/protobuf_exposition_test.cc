#include "nodepulse/exporters/prometheus/protobuf_exposition.h"

#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "gtest/gtest.h"
#include "metrics.pb.h"
#include "nodepulse/exporters/prometheus/prometheus.h"
#include "prometheus/counter.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace nodepulse::exporters {
namespace {

namespace client = ::io::prometheus::client;
using pipeline::MetricKind;
using pipeline::Pipeline;

// Prometheus 2.42 with --enable-feature=native-histograms sends this.
constexpr char kPrometheusAccept[] =
    "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;"
    "q=0.7,text/plain;version=0.0.4;q=0.3,*/*;q=0.2";

TEST(ProtobufNegotiation, OnlyWhenPreferred) {
  EXPECT_TRUE(PrefersProtobufExposition(kPrometheusAccept));
  EXPECT_TRUE(PrefersProtobufExposition(kProtobufExpositionType));
  EXPECT_FALSE(PrefersProtobufExposition(""));
  EXPECT_FALSE(PrefersProtobufExposition("*/*"));
  EXPECT_FALSE(PrefersProtobufExposition("text/plain;version=0.0.4"));
  // Prometheus without the feature: OpenMetrics and text only.
  EXPECT_FALSE(PrefersProtobufExposition(
      "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;"
      "q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"));
  EXPECT_FALSE(PrefersProtobufExposition(
      "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;"
      "q=0.2,text/plain;q=0.9"));
  EXPECT_FALSE(PrefersProtobufExposition(
      "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=text"));
  EXPECT_FALSE(PrefersProtobufExposition(
      "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;"
      "q=zero"));
}

TEST(ParseTextExposition, FamiliesLabelsEscapesAndValues) {
  auto fams = ParseTextExposition(
      "# HELP a_total Help with \\\\ and \\n.\n# TYPE a_total counter\n"
      "a_total{x=\"1\",y=\"q\\\"u\\\\o\\nte\"} 12.5\na_total 3 1700000000000\n"
      "# TYPE g gauge\ng{z=\"\"} +Inf\ng -Inf\nu NaN\n# a remark\n");
  ASSERT_TRUE(fams.ok()) << fams.status();
  ASSERT_EQ(fams->size(), 3u);
  const prometheus::MetricFamily& a = (*fams)[0];
  EXPECT_EQ(a.name, "a_total");
  EXPECT_EQ(a.help, "Help with \\ and \n.");
  EXPECT_EQ(a.type, prometheus::MetricType::Counter);
  ASSERT_EQ(a.metric.size(), 2u);
  EXPECT_EQ(a.metric[0].label[1].value, "q\"u\\o\nte");
  EXPECT_EQ(a.metric[0].counter.value, 12.5);
  EXPECT_EQ(a.metric[1].timestamp_ms, 1700000000000);
  EXPECT_TRUE(std::isinf((*fams)[1].metric[0].gauge.value));
  EXPECT_EQ((*fams)[2].type, prometheus::MetricType::Untyped);
  EXPECT_TRUE(std::isnan((*fams)[2].metric[0].untyped.value));
}

TEST(ParseTextExposition, RejectsMalformedLines) {
  for (const char* bad : {"x{a=\"1\" 1\n", "x{a=1} 1\n", "x\n", "x 1 2 3\n", "x one\n",
                          "x{a=\"1\\", "# TYPE h histogram\n", "{a=\"b\"} 1\n"}) {
    EXPECT_FALSE(ParseTextExposition(bad).ok()) << bad;
  }
}

// Splits a delimited stream into MetricFamily messages.
std::vector<client::MetricFamily> Decode(const std::string& body) {
  std::vector<client::MetricFamily> out;
  google::protobuf::io::ArrayInputStream raw(body.data(), static_cast<int>(body.size()));
  google::protobuf::io::CodedInputStream in(&raw);
  uint32_t len;
  while (in.ReadVarint32(&len)) {
    auto limit = in.PushLimit(static_cast<int>(len));
    out.emplace_back();
    EXPECT_TRUE(out.back().ParseFromCodedStream(&in));
    in.PopLimit(limit);
  }
  EXPECT_EQ(in.CurrentPosition(), static_cast<int>(body.size()));
  return out;
}

TEST(CachedMetricsHandler, ProtobufCarriesEveryTextSeriesWithIdenticalValues) {
  Pipeline p({});
  auto cpu = p.RegisterMetric({"container_cpu_usage_seconds_total", "CPU.", MetricKind::kCounter});
  auto mem = p.RegisterMetric({"container_memory_working_set_bytes", "WS.", MetricKind::kGauge});
  ASSERT_TRUE(cpu.ok() && mem.ok());
  auto e = p.AddEntity({{"id", "/kubepods/pod1/c"}, {"namespace", "ns"}, {"pod", "web-1"}});
  auto s_cpu = p.Intern(*cpu, e, {{"cpu", "total"}});
  auto s_mem = p.Intern(*mem, e);
  p.BeginCycle(1000);
  p.Set(s_cpu, 0.1 + 0.2);  // a value whose shortest text form has 17 digits
  p.Set(s_mem, 123456789);
  p.EndCycle();
  auto registry = std::make_shared<prometheus::Registry>();
  prometheus::BuildCounter().Name("nodepulse_x_total").Help("x").Register(*registry).Add({}).Increment(3);
  prometheus::BuildHistogram().Name("nodepulse_cycle_seconds").Help("c").Register(*registry)
      .Add({}, prometheus::Histogram::BucketBoundaries{0.1, 1}).Observe(0.5);
  const std::string extra =
      "# HELP pod:container_cpu_usage:rate1m p.\n# TYPE pod:container_cpu_usage:rate1m gauge\n"
      "pod:container_cpu_usage:rate1m{namespace=\"ns\",pod=\"web-1\"} 0.25\n";
  WorkloadHistogram wh;
  wh.name = "workload:container_cpu_usage:rate1m";
  wh.help = "h";
  wh.namespace_name = "ns";
  wh.workload = "web";
  wh.workload_kind = "Deployment";
  std::vector<int32_t> scratch;
  BuildNativeHistogram({0.0, 0.25, 0.5}, &scratch, &wh.histogram);
  Handler h = CachedMetricsHandler(p, {registry}, [&] { return extra; },
                                   [&] { return ProtobufExtra{extra, {wh}}; });

  HttpRequest text_req;
  HttpResponse text = h(text_req);
  EXPECT_EQ(text.content_type, "text/plain; version=0.0.4; charset=utf-8");
  const std::string text_body = (text.shared_body ? *text.shared_body : "") + text.body;
  HttpRequest pb_req;
  pb_req.headers["accept"] = kPrometheusAccept;
  HttpResponse pb = h(pb_req);
  ASSERT_EQ(pb.content_type, kProtobufExpositionType);

  // Every text sample (histogram series as _bucket/_sum/_count) by key.
  std::map<std::string, std::string> text_samples;
  for (absl::string_view line : absl::StrSplit(text_body, '\n', absl::SkipEmpty())) {
    if (line.front() == '#') continue;
    const size_t sp = line.rfind(' ');
    text_samples[std::string(line.substr(0, sp))] = std::string(line.substr(sp + 1));
  }
  // The protobuf's, rendered the way the text renderer prints values.
  std::map<std::string, double> pb_samples;
  bool saw_histogram = false;
  for (const client::MetricFamily& f : Decode(pb.body)) {
    for (const client::Metric& m : f.metric()) {
      std::string labels;
      for (const client::LabelPair& l : m.label()) {
        absl::StrAppend(&labels, labels.empty() ? "" : ",", l.name(), "=\"", l.value(), "\"");
      }
      auto key = [&](const std::string& name, const std::string& more) {
        std::string all = labels;
        if (!more.empty()) absl::StrAppend(&all, all.empty() ? "" : ",", more);
        return all.empty() ? name : absl::StrCat(name, "{", all, "}");
      };
      switch (f.type()) {
        case client::COUNTER:
          pb_samples[key(f.name(), "")] = m.counter().value();
          break;
        case client::GAUGE:
          pb_samples[key(f.name(), "")] = m.gauge().value();
          break;
        case client::HISTOGRAM:
          for (const client::Bucket& b : m.histogram().bucket()) {
            std::string le = std::isinf(b.upper_bound()) ? "+Inf" : absl::StrCat(b.upper_bound());
            pb_samples[key(f.name() + "_bucket", "le=\"" + le + "\"")] =
                static_cast<double>(b.cumulative_count());
          }
          pb_samples[key(f.name() + "_sum", "")] = m.histogram().sample_sum();
          pb_samples[key(f.name() + "_count", "")] = static_cast<double>(m.histogram().sample_count());
          break;
        case client::GAUGE_HISTOGRAM: {
          saw_histogram = true;
          const client::Histogram& hh = m.histogram();
          EXPECT_EQ(hh.schema(), kHistogramSchema);
          EXPECT_EQ(hh.sample_count(), 3u);
          EXPECT_EQ(hh.zero_count(), 1u);
          EXPECT_DOUBLE_EQ(hh.sample_sum(), 0.75);
          EXPECT_EQ(hh.zero_threshold(), kHistogramZeroThreshold);
          EXPECT_EQ(hh.positive_span_size(), 2);
          EXPECT_EQ(hh.positive_delta_size(), 2);
          EXPECT_EQ(key(f.name(), ""),
                    "workload:container_cpu_usage:rate1m{namespace=\"ns\",workload=\"web\","
                    "workload_kind=\"Deployment\"}");
          break;
        }
        default:
          ADD_FAILURE() << "unexpected type in " << f.name();
      }
    }
  }
  EXPECT_TRUE(saw_histogram);
  ASSERT_EQ(pb_samples.size(), text_samples.size());
  for (const auto& [k, printed] : text_samples) {
    auto it = pb_samples.find(k);
    ASSERT_NE(it, pb_samples.end()) << k;
    double text_value;
    ASSERT_TRUE(absl::SimpleAtod(printed, &text_value)) << printed;
    // Text prints 15-16 significant digits; the protobuf carries the double
    // they were printed from.
    EXPECT_NEAR(it->second, text_value, std::abs(text_value) * 1e-15) << k;
  }
  EXPECT_EQ(pb_samples.count(
                "container_cpu_usage_seconds_total{cpu=\"total\",id=\"/kubepods/pod1/c\","
                "namespace=\"ns\",pod=\"web-1\"}"),
            1u);
}

}  // namespace
}  // namespace nodepulse::exporters
