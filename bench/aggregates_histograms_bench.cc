// Cost per cycle of the per-workload native histograms (#19) at 1,000 pods /
// 100 workloads, next to the aggregates engine's own per-cycle Update on the
// same pipeline, and a memcpy floor of the encoded bytes:
//   BM_AggregatesUpdate       the existing engine: windows, pods, workloads
//   BM_BuildHistograms        WorkloadHistograms(view): buckets of every pod
//   BM_EncodeProtobuf         the scrape's io.prometheus.client encoding
//   BM_EncodeRemoteWrite      remote-write Histogram runs (snappy included)
// Items are histograms (workloads x metrics x windows).
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "remote_write_encoder.h"
#include "nodepulse/exporters/aggregates/aggregates.h"
#include "nodepulse/exporters/prometheus/protobuf_exposition.h"
#include "nodepulse/exporters/aggregates/workload_histograms.h"
#include "nodepulse/pipeline/pipeline.h"

namespace nodepulse::exporters {
namespace {

constexpr int kPods = 1000;
constexpr int kWorkloads = 100;

struct Fixture {
  pipeline::Pipeline pipeline{{}};
  std::unique_ptr<AggregatesEngine> engine;

  Fixture() {
    auto cpu = pipeline.RegisterMetric(
        {"container_cpu_usage_seconds_total", "cpu", pipeline::MetricKind::kCounter, true});
    auto mem = pipeline.RegisterMetric(
        {"container_memory_working_set_bytes", "ws", pipeline::MetricKind::kGauge, true});
    std::vector<pipeline::SeriesId> cpus, mems;
    for (int i = 0; i < kPods; ++i) {
      const std::string pod = absl::StrCat("w", i % kWorkloads, "-abcde-", i);
      auto e = pipeline.AddEntity({{"container", "app"}, {"id", "/kubepods/pod" + pod + "/c"},
                                   {"image", "registry.example/app:1"}, {"name", "c"},
                                   {"namespace", "shop"}, {"pod", pod}});
      cpus.push_back(pipeline.Intern(*cpu, e, {{"cpu", "total"}}));
      mems.push_back(pipeline.Intern(*mem, e));
    }
    AggregatesOptions opts;
    opts.metrics = {"cpu", "memory"};
    opts.owner_lookup = [](absl::string_view, absl::string_view pod) -> std::optional<PodOwnerInfo> {
      return PodOwnerInfo{std::string(pod.substr(0, pod.find('-'))), "Deployment"};
    };
    engine = std::make_unique<AggregatesEngine>(pipeline, opts);
    // 70 cycles: the 1m window is full.
    for (int t = 0; t < 70; ++t) {
      pipeline.BeginCycle(1'700'000'000'000 + t * 1000);
      for (int i = 0; i < kPods; ++i) {
        pipeline.Set(cpus[i], t * 0.001 * (1 + i % 97));
        pipeline.Set(mems[i], 1e6 * (1 + i % 389));
      }
      pipeline.EndCycle();
    }
    engine->Update(pipeline.snapshot());
  }
};

Fixture& F() {
  static Fixture* f = new Fixture();
  return *f;
}

void BM_AggregatesUpdate(benchmark::State& state) {
  Fixture& f = F();
  auto snap = f.pipeline.snapshot();
  for (auto _ : state) f.engine->Update(snap);
  state.SetItemsProcessed(state.iterations() * kPods);
}

void BM_BuildHistograms(benchmark::State& state) {
  auto view = F().engine->view();
  size_t n = 0;
  for (auto _ : state) {
    std::vector<WorkloadHistogram> hs = WorkloadHistograms(*view);
    n = hs.size();
    benchmark::DoNotOptimize(hs.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * n));
  state.counters["histograms"] = static_cast<double>(n);
}

void BM_EncodeProtobuf(benchmark::State& state) {
  const std::vector<WorkloadHistogram> hs = WorkloadHistograms(*F().engine->view());
  std::string out;
  for (auto _ : state) {
    out.clear();
    AppendProtobufHistograms(hs, &out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * hs.size()));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * out.size()));
}

void BM_EncodeRemoteWrite(benchmark::State& state) {
  const std::vector<WorkloadHistogram> hs = WorkloadHistograms(*F().engine->view());
  HistogramEncoder enc(EncoderOptions{});
  size_t bytes = 0;
  for (auto _ : state) {
    bytes = 0;
    absl::Status st = enc.Encode(hs, 1, [&](absl::string_view run, uint32_t) {
      bytes += run.size();
      return absl::OkStatus();
    });
    benchmark::DoNotOptimize(st);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * hs.size()));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
}

// Floor: copying the protobuf bytes the encoder produced.
void BM_MemcpyFloor(benchmark::State& state) {
  const std::vector<WorkloadHistogram> hs = WorkloadHistograms(*F().engine->view());
  std::string src;
  AppendProtobufHistograms(hs, &src);
  std::string dst(src.size(), '\0');
  for (auto _ : state) {
    std::memcpy(dst.data(), src.data(), src.size());
    benchmark::DoNotOptimize(dst.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * hs.size()));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * src.size()));
}

BENCHMARK(BM_AggregatesUpdate)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_BuildHistograms)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_EncodeProtobuf)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_EncodeRemoteWrite)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_MemcpyFloor)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace nodepulse::exporters

BENCHMARK_MAIN();
