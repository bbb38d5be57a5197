// Encoder round trips: our hand-written WriteRequest bytes are decoded with
// the classes generated from exporters/proto and compared field by field;
// runs concatenate into one snappy block that snappy itself decodes.
#include "remote_write_encoder.h"

#include <snappy.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "remote.pb.h"

namespace nodepulse::exporters {
namespace {

using pipeline::Catalog;
using pipeline::Label;
using pipeline::Labels;
using pipeline::Snapshot;

// A hand-built catalog: metric i has series with the given labels.
struct Fixture {
  std::shared_ptr<Catalog> catalog = std::make_shared<Catalog>();
  pipeline::SeriesId Add(const std::string& metric, Labels entity_labels, Labels extra = {}) {
    pipeline::MetricId m = 0;
    for (; m < catalog->metrics.size(); ++m) {
      if (catalog->metrics[m].name == metric) break;
    }
    if (m == catalog->metrics.size()) {
      catalog->metrics.push_back({metric, "help", pipeline::MetricKind::kGauge, false});
      catalog->by_metric.emplace_back();
    }
    Catalog::Entity e;
    e.labels = std::move(entity_labels);
    e.alive = true;
    catalog->entities.push_back(e);
    Catalog::Series s;
    s.metric = m;
    s.entity = static_cast<pipeline::EntityId>(catalog->entities.size() - 1);
    s.extra = std::move(extra);
    s.alive = true;
    catalog->series.push_back(s);
    const auto id = static_cast<pipeline::SeriesId>(catalog->series.size() - 1);
    catalog->by_metric[m].push_back(id);
    return id;
  }
  Snapshot Snap(int64_t ts, std::vector<double> values) const {
    Snapshot s;
    s.timestamp_ms = ts;
    s.catalog = catalog;
    s.values = std::move(values);
    return s;
  }
};

prometheus::WriteRequest Decode(absl::string_view compressed) {
  std::string raw;
  EXPECT_TRUE(snappy::Uncompress(compressed.data(), compressed.size(), &raw));
  prometheus::WriteRequest req;
  EXPECT_TRUE(req.ParseFromString(raw));
  return req;
}

std::vector<std::pair<std::string, std::string>> LabelsOf(const prometheus::TimeSeries& ts) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& l : ts.labels()) out.emplace_back(l.name(), l.value());
  return out;
}

struct EncodedRun {
  std::string bytes;
  uint32_t samples;
};

std::vector<EncodedRun> EncodeAll(WriteRequestEncoder& enc, const Snapshot& snap) {
  std::vector<EncodedRun> runs;
  absl::Status st = enc.Encode(snap, [&](absl::string_view run, uint32_t n) {
    runs.push_back({std::string(run), n});
    return absl::OkStatus();
  });
  EXPECT_TRUE(st.ok()) << st;
  return runs;
}

TEST(RemoteWriteEncoder, RoundTripsLabelsValuesAndTimestamps) {
  Fixture f;
  f.Add("container_cpu_usage_seconds_total",
        {{"container", "app"}, {"id", "/kubepods/pod1/abc"}, {"image", ""}, {"namespace", "prod"}, {"pod", "web-0"}},
        {{"cpu", "total"}});
  f.Add("node_load1", {});
  EncoderOptions o;
  o.external_labels = {{"node", "n1"}, {"pod", "must-not-override"}, {"Zone", "eu"}};
  WriteRequestEncoder enc(o);
  auto runs = EncodeAll(enc, f.Snap(1700000000123, {12.5, -0.25}));
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].samples, 2u);
  prometheus::WriteRequest req = Decode(runs[0].bytes);
  ASSERT_EQ(req.timeseries_size(), 2);

  const auto& a = req.timeseries(0);
  // Sorted bytewise: upper-case "Zone" before "__name__"; empty image gone;
  // the series' own pod wins over the external one.
  std::vector<std::pair<std::string, std::string>> want = {
      {"Zone", "eu"},           {"__name__", "container_cpu_usage_seconds_total"},
      {"container", "app"},     {"cpu", "total"},
      {"id", "/kubepods/pod1/abc"}, {"namespace", "prod"},
      {"node", "n1"},           {"pod", "web-0"}};
  EXPECT_EQ(LabelsOf(a), want);
  ASSERT_EQ(a.samples_size(), 1);
  EXPECT_EQ(a.samples(0).value(), 12.5);
  EXPECT_EQ(a.samples(0).timestamp(), 1700000000123);

  const auto& b = req.timeseries(1);
  std::vector<std::pair<std::string, std::string>> want_b = {
      {"Zone", "eu"}, {"__name__", "node_load1"}, {"node", "n1"}, {"pod", "must-not-override"}};
  EXPECT_EQ(LabelsOf(b), want_b);
  EXPECT_EQ(b.samples(0).value(), -0.25);
}

TEST(RemoteWriteEncoder, SkipsNaNAndDeadSeriesAndSplitsRuns) {
  Fixture f;
  std::vector<double> values;
  for (int i = 0; i < 25; ++i) {
    f.Add("m", {{"i", std::to_string(i)}});
    values.push_back(i % 5 == 0 ? std::nan("") : i);
  }
  f.catalog->series[1].alive = false;
  EncoderOptions o;
  o.max_samples_per_run = 7;
  WriteRequestEncoder enc(o);
  auto runs = EncodeAll(enc, f.Snap(1000, values));
  // 25 - 5 NaN - 1 dead = 19 samples: runs of 7, 7, 5.
  ASSERT_EQ(runs.size(), 3u);
  EXPECT_EQ(runs[0].samples, 7u);
  EXPECT_EQ(runs[2].samples, 5u);
  std::vector<double> got;
  for (const EncodedRun& r : runs) {
    auto req = Decode(r.bytes);
    EXPECT_EQ(static_cast<uint32_t>(req.timeseries_size()), r.samples);
    for (const auto& ts : req.timeseries()) got.push_back(ts.samples(0).value());
  }
  std::vector<double> want;
  for (int i = 0; i < 25; ++i) {
    if (i % 5 != 0 && i != 1) want.push_back(i);
  }
  EXPECT_EQ(got, want);
}

TEST(RemoteWriteEncoder, ConcatenatedRunsDecodeAsOneRequest) {
  Fixture f;
  std::vector<double> values;
  for (int i = 0; i < 5000; ++i) {
    f.Add("container_memory_working_set_bytes",
          {{"namespace", "ns" + std::to_string(i % 13)}, {"pod", "pod-" + std::to_string(i)}});
    values.push_back(i * 1.5);
  }
  EncoderOptions o;
  o.max_samples_per_run = 1000;
  WriteRequestEncoder enc(o);
  auto runs = EncodeAll(enc, f.Snap(42, values));
  ASSERT_EQ(runs.size(), 5u);
  std::vector<absl::string_view> views;
  for (const EncodedRun& r : runs) views.push_back(r.bytes);
  std::string body;
  ASSERT_TRUE(AssembleRequestBody(views, &body).ok());
  auto req = Decode(body);
  ASSERT_EQ(req.timeseries_size(), 5000);
  for (int i = 0; i < 5000; ++i) {
    ASSERT_EQ(req.timeseries(i).samples(0).value(), i * 1.5);
    ASSERT_EQ(req.timeseries(i).labels(2).value(), "pod-" + std::to_string(i));
  }
  // Not a snappy block: refused, not sent.
  std::string bad(1, '\xff');
  EXPECT_FALSE(AssembleRequestBody({bad}, &body).ok());
}

TEST(RemoteWriteEncoder, SelectsRawOrAggregatedByRecordingRuleName) {
  Fixture f;
  f.Add("container_cpu_usage_seconds_total", {{"pod", "a"}});
  f.Add("pod:container_cpu_usage:rate1m", {{"pod", "a"}});
  auto names = [&](bool raw, bool agg) {
    EncoderOptions o;
    o.send_raw = raw;
    o.send_aggregates = agg;
    WriteRequestEncoder enc(o);
    std::vector<std::string> out;
    for (const EncodedRun& r : EncodeAll(enc, f.Snap(1, {1, 2}))) {
      const prometheus::WriteRequest req = Decode(r.bytes);
      for (const auto& ts : req.timeseries()) out.push_back(ts.labels(0).value());
    }
    return out;
  };
  EXPECT_EQ(names(true, true), (std::vector<std::string>{"container_cpu_usage_seconds_total",
                                                          "pod:container_cpu_usage:rate1m"}));
  EXPECT_EQ(names(true, false), (std::vector<std::string>{"container_cpu_usage_seconds_total"}));
  EXPECT_EQ(names(false, true), (std::vector<std::string>{"pod:container_cpu_usage:rate1m"}));
}

TEST(RemoteWriteEncoder, RebuildsLabelCacheWhenTheCatalogChanges) {
  Fixture f;
  f.Add("m", {{"pod", "old"}});
  WriteRequestEncoder enc({});
  auto r1 = EncodeAll(enc, f.Snap(1, {1}));
  EXPECT_EQ(Decode(r1[0].bytes).timeseries(0).labels(1).value(), "old");
  // The pipeline publishes a new Catalog when labels change (kubelet join).
  auto next = std::make_shared<Catalog>(*f.catalog);
  next->entities[0].labels = {{"pod", "new"}};
  f.catalog = next;
  auto r2 = EncodeAll(enc, f.Snap(2, {2}));
  EXPECT_EQ(Decode(r2[0].bytes).timeseries(0).labels(1).value(), "new");
}

TEST(RemoteWriteEncoder, EncodesExtremeValuesAndTimestamps) {
  Fixture f;
  f.Add("m", {});
  f.Add("m2", {});
  f.Add("m3", {});
  WriteRequestEncoder enc({});
  const double inf = std::numeric_limits<double>::infinity();
  auto runs = EncodeAll(enc, f.Snap(-5, {inf, 0.0, -1e300}));
  auto req = Decode(runs[0].bytes);
  ASSERT_EQ(req.timeseries_size(), 3);
  EXPECT_EQ(req.timeseries(0).samples(0).value(), inf);
  EXPECT_EQ(req.timeseries(0).samples(0).timestamp(), -5);
  EXPECT_EQ(req.timeseries(1).samples(0).value(), 0.0);
  EXPECT_EQ(req.timeseries(2).samples(0).value(), -1e300);
}

TEST(RemoteWriteEncoder, VarintMatchesProtobuf) {
  for (uint64_t v : {0ull, 1ull, 127ull, 128ull, 300ull, 16383ull, 16384ull, (1ull << 35) + 7, ~0ull}) {
    char buf[10];
    char* end = PutVarint(buf, v);
    EXPECT_EQ(static_cast<size_t>(end - buf), VarintLength(v)) << v;
    prometheus::Sample s;
    s.set_timestamp(static_cast<int64_t>(v));
    std::string wire = s.SerializeAsString();  // tag 0x10, then the varint
    if (v != 0) {
      EXPECT_EQ(wire.substr(1), std::string(buf, end)) << v;
    }
  }
}

}  // namespace
}  // namespace nodepulse::exporters
