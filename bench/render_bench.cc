// /metrics rendering of the pipeline's series next to its floor, snprintf of
// the same exposition text into a preallocated buffer:
//   BM_RenderDirect      AppendExposition, what CachedMetricsHandler does once
//                        per cycle (pre-rendered labels, to_chars values)
//   BM_RenderExposition  prometheus-cpp's TextSerializer over
//                        FamiliesFromSnapshot, what it did before
// and the memcpy of the finished text as the hard floor.
// Items = series; bytes = exposition bytes.
#include <cstdio>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "nodepulse/exporters/prometheus/prometheus.h"
#include "nodepulse/pipeline/pipeline.h"
#include "prometheus/text_serializer.h"

namespace {

using nodepulse::pipeline::MetricKind;
using nodepulse::pipeline::Pipeline;

// N series shaped like cAdvisor's: 10 metrics per container, Kubernetes-style
// labels (64-hex container ids, pod names with hashes).
std::unique_ptr<Pipeline> MakePipeline(int series) {
  auto p = std::make_unique<Pipeline>(nodepulse::pipeline::Options{});
  const char* names[] = {"container_cpu_usage_seconds_total", "container_cpu_user_seconds_total",
                         "container_cpu_system_seconds_total", "container_memory_usage_bytes",
                         "container_memory_working_set_bytes", "container_memory_rss",
                         "container_memory_cache", "container_memory_swap",
                         "container_cpu_cfs_periods_total", "container_processes"};
  std::vector<nodepulse::pipeline::MetricId> ids;
  for (const char* n : names) {
    ids.push_back(*p->RegisterMetric({n, "help text", MetricKind::kGauge, false}));
  }
  std::vector<nodepulse::pipeline::SeriesId> sids;
  for (int c = 0; c * 10 < series; ++c) {
    std::string cid = absl::StrCat("3f1c", c, std::string(56, 'a'));
    std::string pod = absl::StrCat("web-7d9c8b6f5d-", c);
    auto e = p->AddEntity({{"container", "app"},
                           {"id", absl::StrCat("/kubepods/burstable/pod", c, "/", cid)},
                           {"image", "registry.example.com/shop/web:1.2.3"},
                           {"name", cid},
                           {"namespace", "shop"},
                           {"pod", pod}});
    for (auto m : ids) sids.push_back(p->Intern(m, e));
  }
  p->BeginCycle(1'700'000'000'000);
  double v = 1;
  for (auto s : sids) p->Set(s, v += 1234.5);
  p->EndCycle();
  return p;
}

void BM_RenderExposition(benchmark::State& state) {
  auto p = MakePipeline(static_cast<int>(state.range(0)));
  auto snap = p->snapshot();
  size_t bytes = 0;
  for (auto _ : state) {
    std::ostringstream os;
    prometheus::TextSerializer().Serialize(os, nodepulse::exporters::FamiliesFromSnapshot(*snap));
    std::string text = std::move(os).str();
    bytes = text.size();
    benchmark::DoNotOptimize(text.data());
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
}

void BM_RenderDirect(benchmark::State& state) {
  auto p = MakePipeline(static_cast<int>(state.range(0)));
  auto snap = p->snapshot();
  std::string text;
  for (auto _ : state) {
    text.clear();  // keeps capacity, as the handler's reserve() does
    nodepulse::exporters::AppendExposition(*snap, &text);
    benchmark::DoNotOptimize(text.data());
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
}

// The hard floor under any renderer: copying the finished exposition bytes.
void BM_MemcpyFloor(benchmark::State& state) {
  auto p = MakePipeline(static_cast<int>(state.range(0)));
  std::string text;
  nodepulse::exporters::AppendExposition(*p->snapshot(), &text);
  std::string copy(text.size(), '\0');
  for (auto _ : state) {
    std::memcpy(copy.data(), text.data(), text.size());
    benchmark::DoNotOptimize(copy.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
}

void BM_SnprintfFloor(benchmark::State& state) {
  auto p = MakePipeline(static_cast<int>(state.range(0)));
  auto snap = p->snapshot();
  const auto& cat = *snap->catalog;
  std::vector<char> buf(64 << 20);
  size_t bytes = 0;
  for (auto _ : state) {
    char* out = buf.data();
    char* end = buf.data() + buf.size();
    for (size_t m = 0; m < cat.metrics.size(); ++m) {
      out += std::snprintf(out, end - out, "# HELP %s %s\n# TYPE %s gauge\n", cat.metrics[m].name.c_str(),
                           cat.metrics[m].help.c_str(), cat.metrics[m].name.c_str());
      for (auto id : cat.by_metric[m]) {
        out += std::snprintf(out, end - out, "%s{%s} %.17g\n", cat.metrics[m].name.c_str(),
                             cat.series[id].rendered_labels().c_str(), snap->value(id));
      }
    }
    bytes = static_cast<size_t>(out - buf.data());
    benchmark::DoNotOptimize(buf.data());
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
}

BENCHMARK(BM_RenderDirect)->Arg(50000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_RenderExposition)->Arg(50000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_SnprintfFloor)->Arg(50000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_MemcpyFloor)->Arg(50000)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
