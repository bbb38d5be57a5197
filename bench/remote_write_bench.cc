// remote_write encoding cost, next to its floor in the same run.
//
//   BM_EncodeWriteRequest  snapshot -> WriteRequest protobuf (hand-encoded,
//                          cached label blocks) -> snappy runs: the writer
//                          thread's whole per-cycle work before disk.
//   BM_EncodeProtobufOnly  the same protobuf bytes without snappy.
//   BM_SnappyFloor         snappy::RawCompress of the very same protobuf
//                          bytes, run by run: encoding can't beat this.
//   BM_AssembleRequest     the sender's side: 2000-sample runs read back from
//                          the queue concatenated into one request body.
//
// Input: N series (default sweep 1k/10k/50k) shaped like cAdvisor's
// container metrics on a Kubernetes node (namespace, pod, container, image,
// id=/kubepods/...). Allocations per iteration come from the counting
// operator new of tests/support/alloc_counter.h (target: 0 on the protobuf path; snappy's RawCompress
// allocates its own hash table per call, i.e. per 2000-sample run).
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "benchmark/benchmark.h"
#include "remote_write_encoder.h"
#include "nodepulse/pipeline/pipeline.h"
// Replaces operator new for this binary: allocs_per_iter.
#include "tests/support/alloc_counter.h"

namespace nodepulse::exporters {
namespace {

constexpr uint32_t kRun = 2000;  // samples per run, as max_batch_samples

// One pipeline with `series` series: 10 cAdvisor metrics per container.
struct Fixture {
  std::unique_ptr<pipeline::Pipeline> p;
  std::shared_ptr<const pipeline::Snapshot> snap;
  std::vector<std::string> raw_runs;  // uncompressed protobuf of each run
  std::vector<std::string> compressed_runs;
  size_t raw_bytes = 0;
  size_t samples = 0;
};

Fixture& Get(int series) {
  static std::map<int, std::unique_ptr<Fixture>> cache;
  auto& f = cache[series];
  if (f) return *f;
  f = std::make_unique<Fixture>();
  pipeline::Options po;
  po.max_series = 1000000;
  f->p = std::make_unique<pipeline::Pipeline>(po);
  const char* names[] = {"container_cpu_usage_seconds_total",     "container_cpu_cfs_periods_total",
                         "container_cpu_cfs_throttled_periods_total", "container_cpu_cfs_throttled_seconds_total",
                         "container_memory_usage_bytes",          "container_memory_working_set_bytes",
                         "container_memory_rss",                  "container_memory_cache",
                         "container_fs_reads_bytes_total",        "container_network_receive_bytes_total"};
  std::vector<pipeline::MetricId> metrics;
  for (const char* n : names) metrics.push_back(*f->p->RegisterMetric({n, "h", pipeline::MetricKind::kCounter, false}));
  std::vector<pipeline::SeriesId> ids;
  const int containers = series / 10;
  for (int c = 0; c < containers; ++c) {
    const std::string ns = absl::StrFormat("team-%d", c % 37);
    const std::string pod = absl::StrFormat("checkout-api-7d9f8b6c4-%05d", c);
    const std::string uid = absl::StrFormat("3f2a9c1e-8b7d-4e6f-a5c3-%012d", c);
    const std::string cid = absl::StrFormat("%064x", static_cast<uint64_t>(c) * 0x9e3779b97f4a7c15ull);
    auto e = f->p->AddEntity({{"container", "app"},
                              {"id", "/kubepods/burstable/pod" + uid + "/" + cid},
                              {"image", "registry.example.com/shop/checkout-api:v1.42.7"},
                              {"name", cid},
                              {"namespace", ns},
                              {"pod", pod}});
    for (size_t m = 0; m < metrics.size(); ++m) {
      ids.push_back(f->p->Intern(metrics[m], e, m == 0 ? pipeline::Labels{{"cpu", "total"}} : pipeline::Labels{}));
    }
  }
  f->p->BeginCycle(1700000000123);
  for (size_t i = 0; i < ids.size(); ++i) f->p->Set(ids[i], 1234567.0 + static_cast<double>(i) * 3.5);
  f->p->EndCycle();
  f->snap = f->p->snapshot();
  WriteRequestEncoder enc(EncoderOptions{true, true, {{"node", "worker-17"}}, kRun});
  (void)enc.Encode(*f->snap, [&](absl::string_view run, uint32_t n) {
    f->raw_runs.emplace_back(enc.last_raw());
    f->compressed_runs.emplace_back(run);
    f->raw_bytes += enc.last_raw().size();
    f->samples += n;
    return absl::OkStatus();
  });
  return *f;
}

void Report(benchmark::State& state, const Fixture& f, uint64_t allocs) {
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * f.samples));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * f.raw_bytes));
  state.counters["allocs_per_iter"] =
      benchmark::Counter(static_cast<double>(allocs) / static_cast<double>(state.iterations()));
  state.counters["raw_bytes_per_sample"] = static_cast<double>(f.raw_bytes) / static_cast<double>(f.samples);
}

void BM_EncodeWriteRequest(benchmark::State& state) {
  Fixture& f = Get(static_cast<int>(state.range(0)));
  WriteRequestEncoder enc(EncoderOptions{true, true, {{"node", "worker-17"}}, kRun});
  size_t out = 0;
  auto emit = [&](absl::string_view run, uint32_t) {
    out += run.size();
    return absl::OkStatus();
  };
  (void)enc.Encode(*f.snap, emit);  // warm: label cache, buffers
  testing::AllocCounter allocs;
  allocs.Start();
  for (auto _ : state) {
    (void)enc.Encode(*f.snap, emit);
    benchmark::DoNotOptimize(out);
  }
  Report(state, f, allocs.Stop());
  state.counters["compressed_bytes_per_sample"] =
      static_cast<double>(out) / static_cast<double>(f.samples * (state.iterations() + 1));
}

void BM_EncodeProtobufOnly(benchmark::State& state) {
  Fixture& f = Get(static_cast<int>(state.range(0)));
  // The encoder's inner loop without snappy: cached label blocks, ~20 bytes
  // of sample framing each.
  std::vector<std::string> labels;
  const auto& cat = *f.snap->catalog;
  for (pipeline::SeriesId id = 0; id < cat.series.size(); ++id) {
    std::string b;
    AppendEncodedLabel("__name__", cat.metrics[cat.series[id].metric].name, &b);
    for (const auto& l : cat.LabelsOf(id)) AppendEncodedLabel(l.name, l.value, &b);
    AppendEncodedLabel("node", "worker-17", &b);
    labels.push_back(std::move(b));
  }
  ByteBuffer buf;
  testing::AllocCounter allocs;
  allocs.Start();
  for (auto _ : state) {
    buf.Clear();
    const double* v = f.snap->values.data();
    for (size_t i = 0; i < labels.size(); ++i) AppendTimeSeries(labels[i], v[i], f.snap->timestamp_ms, &buf);
    benchmark::DoNotOptimize(buf.data());
  }
  Report(state, f, allocs.Stop() - (testing::kAllocCountingAvailable ? 1 : 0) /* first growth */);
}

void BM_SnappyFloor(benchmark::State& state) {
  Fixture& f = Get(static_cast<int>(state.range(0)));
  std::string out;
  SnappyCompress(f.raw_runs[0], &out);
  testing::AllocCounter allocs;
  allocs.Start();
  for (auto _ : state) {
    for (const std::string& run : f.raw_runs) {
      SnappyCompress(run, &out);
      benchmark::DoNotOptimize(out.data());
    }
  }
  Report(state, f, allocs.Stop());
}

void BM_AssembleRequest(benchmark::State& state) {
  Fixture& f = Get(static_cast<int>(state.range(0)));
  std::vector<absl::string_view> runs(f.compressed_runs.begin(), f.compressed_runs.end());
  std::string body;
  (void)AssembleRequestBody(runs, &body);
  testing::AllocCounter allocs;
  allocs.Start();
  for (auto _ : state) {
    (void)AssembleRequestBody(runs, &body);
    benchmark::DoNotOptimize(body.data());
  }
  Report(state, f, allocs.Stop());
}

BENCHMARK(BM_EncodeWriteRequest)->Arg(1000)->Arg(10000)->Arg(50000)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_EncodeProtobufOnly)->Arg(1000)->Arg(10000)->Arg(50000)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_SnappyFloor)->Arg(1000)->Arg(10000)->Arg(50000)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_AssembleRequest)->Arg(10000)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace nodepulse::exporters

BENCHMARK_MAIN();
