// HistogramEncoder's bytes decoded with the classes protoc generates from
// types.proto: the schema is the contract, not our encoder.
#include <snappy.h>

#include <string>
#include <vector>

#include "remote_write_encoder.h"
#include "gtest/gtest.h"
#include "remote.pb.h"

namespace nodepulse::exporters {
namespace {

WorkloadHistogram Workload(const std::string& name, const std::string& workload,
                           std::vector<double> values) {
  WorkloadHistogram w;
  w.name = name;
  w.namespace_name = "shop";
  w.workload = workload;
  w.workload_kind = "Deployment";
  std::vector<int32_t> scratch;
  BuildNativeHistogram(values, &scratch, &w.histogram);
  return w;
}

prometheus::WriteRequest Decode(const std::vector<std::string>& runs) {
  std::vector<absl::string_view> views(runs.begin(), runs.end());
  std::string body, raw;
  EXPECT_TRUE(AssembleRequestBody(views, &body).ok());
  EXPECT_TRUE(snappy::Uncompress(body.data(), body.size(), &raw));
  prometheus::WriteRequest req;
  EXPECT_TRUE(req.ParseFromString(raw));
  return req;
}

TEST(HistogramEncoder, RoundTripsSpansDeltasLabelsAndTimestamp) {
  EncoderOptions opts;
  opts.external_labels = {{"node", "n1"}, {"workload", "ignored: the series' own wins"}};
  opts.max_samples_per_run = 1;  // one run per histogram: runs concatenate
  HistogramEncoder enc(opts);
  std::vector<WorkloadHistogram> hs = {
      Workload("workload:container_cpu_usage:rate1m", "web", {0.0, 0.25, 0.25, 0.5, 3.0}),
      Workload("workload:container_cpu_usage:rate1m", "api", {1e-3})};
  std::vector<std::string> runs;
  ASSERT_TRUE(enc.Encode(hs, 1'700'000'000'123, [&](absl::string_view run, uint32_t n) {
                   EXPECT_EQ(n, 1u);
                   runs.emplace_back(run);
                   return absl::OkStatus();
                 }).ok());
  ASSERT_EQ(runs.size(), 2u);
  prometheus::WriteRequest req = Decode(runs);
  ASSERT_EQ(req.timeseries_size(), 2);
  const prometheus::TimeSeries& ts = req.timeseries(0);
  std::vector<std::string> labels;
  for (const auto& l : ts.labels()) labels.push_back(l.name() + "=" + l.value());
  EXPECT_EQ(labels, (std::vector<std::string>{"__name__=workload:container_cpu_usage:rate1m",
                                              "namespace=shop", "node=n1", "workload=web",
                                              "workload_kind=Deployment"}));
  EXPECT_EQ(ts.samples_size(), 0);
  ASSERT_EQ(ts.histograms_size(), 1);
  const prometheus::Histogram& h = ts.histograms(0);
  const NativeHistogram& want = hs[0].histogram;
  EXPECT_EQ(h.count_int(), 5u);
  EXPECT_DOUBLE_EQ(h.sum(), 4.0);
  EXPECT_EQ(h.schema(), want.schema);
  EXPECT_EQ(h.zero_threshold(), kHistogramZeroThreshold);
  EXPECT_EQ(h.zero_count_int(), 1u);
  ASSERT_EQ(h.positive_spans_size(), static_cast<int>(want.positive_spans.size()));
  for (int i = 0; i < h.positive_spans_size(); ++i) {
    EXPECT_EQ(h.positive_spans(i).offset(), want.positive_spans[i].offset);
    EXPECT_EQ(h.positive_spans(i).length(), want.positive_spans[i].length);
  }
  EXPECT_EQ(std::vector<int64_t>(h.positive_deltas().begin(), h.positive_deltas().end()),
            want.positive_deltas);
  EXPECT_EQ(h.positive_spans(0).offset(), BucketIndex(0.25, kHistogramSchema));  // negative index
  EXPECT_EQ(h.reset_hint(), prometheus::Histogram::GAUGE);
  EXPECT_EQ(h.timestamp(), 1'700'000'000'123);
  EXPECT_EQ(req.timeseries(1).histograms(0).count_int(), 1u);
}

TEST(HistogramEncoder, StopsAtTheFirstEmitError) {
  HistogramEncoder enc(EncoderOptions{});
  std::vector<WorkloadHistogram> hs = {Workload("workload:x:rate1m", "a", {1}),
                                       Workload("workload:x:rate1m", "b", {2})};
  int calls = 0;
  absl::Status st = enc.Encode(hs, 1, [&](absl::string_view, uint32_t n) {
    ++calls;
    EXPECT_EQ(n, 2u);  // both in one run by default
    return absl::ResourceExhaustedError("queue full");
  });
  EXPECT_EQ(st.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(calls, 1);
}

}  // namespace
}  // namespace nodepulse::exporters
