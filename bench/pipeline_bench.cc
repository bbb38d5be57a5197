// Pipeline hot paths against their floor, memcpy of the same bytes, in one
// run. Series are Kubernetes-shaped: each container has history series (CPU
// counter, memory gauges...) interleaved with latest-only ones, so the
// SeriesId -> column gather is realistic. N = history series.
//
// Allocations per iteration come from the counting operator new of
// tests/support/alloc_counter.h (target 0 for every hot path).
//
// Tiers: 1s:6m,10s:10m,60s:1h rather than the default 24 h, so N = 100k
// fits in memory next to other engineers' builds; the measured loops touch
// only the raw ring (the 1m window) and one rollup, whose sizes do not
// depend on how many coarse slots are kept.
#include <cmath>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "nodepulse/pipeline/aggregate.h"
#include "nodepulse/pipeline/pipeline.h"
#include "nodepulse/exporters/aggregates/rollup.h"
#include "pipeline/internal/history.h"
#include "pipeline/internal/kernels.h"
// Replaces operator new for this binary: allocs_per_iter.
#include "tests/support/alloc_counter.h"

namespace np = nodepulse::pipeline;

namespace {

constexpr int64_t kStepMs = 1000;

// Counts from construction to the end of the benchmark function.
class AllocsPerIter {
 public:
  explicit AllocsPerIter(benchmark::State& s) : state_(s) { counter_.Start(); }
  ~AllocsPerIter() {
    state_.counters["allocs_per_iter"] = benchmark::Counter(
        static_cast<double>(counter_.Stop()) / static_cast<double>(state_.iterations()));
  }

 private:
  benchmark::State& state_;
  nodepulse::testing::AllocCounter counter_;
};

np::Options BenchOptions() {
  np::Options o;
  o.max_series = 1 << 22;
  o.tiers = {{1000, 360}, {10'000, 60}, {60'000, 60}};
  return o;
}

// A pipeline with n history series (1 in 3 a counter) and n latest-only
// series, interleaved per container, plus the row values to feed it.
struct Fixture {
  std::unique_ptr<np::Pipeline> p;
  std::vector<np::SeriesId> ids;  // every series, in intern order
  std::vector<bool> counter;
  int64_t ts = 1'700'000'000'000;
  std::vector<double> values;  // by SeriesId, next cycle
  uint64_t cycle = 0;

  explicit Fixture(size_t n) : p(std::make_unique<np::Pipeline>(BenchOptions())) {
    auto cpu = p->RegisterMetric(
        {"container_cpu_usage_seconds_total", "", np::MetricKind::kCounter, true});
    auto ws =
        p->RegisterMetric({"container_memory_working_set_bytes", "", np::MetricKind::kGauge, true});
    auto rss = p->RegisterMetric({"container_memory_rss", "", np::MetricKind::kGauge, true});
    auto lim =
        p->RegisterMetric({"container_spec_memory_limit_bytes", "", np::MetricKind::kGauge, false});
    const size_t containers = (n + 2) / 3;
    for (size_t c = 0; c < containers && ids.size() < 2 * n; ++c) {
      std::string pod = "pod-" + std::to_string(c / 2);
      np::EntityId e = p->AddEntity({{"container", "app" + std::to_string(c % 2)},
                                     {"namespace", "ns-" + std::to_string(c % 20)},
                                     {"pod", pod},
                                     {"workload", "deploy-" + std::to_string(c / 8)},
                                     {"workload_kind", "Deployment"}});
      for (auto [m, is_counter] : {std::pair{*cpu, true},
                                   {*lim, false},
                                   {*ws, false},
                                   {*lim, false},
                                   {*rss, false},
                                   {*lim, false}}) {
        if (ids.size() >= 2 * n) break;
        // Distinct extra label per latest-only series of the same metric.
        np::SeriesId id = p->Intern(m, e, {{"i", std::to_string(ids.size() % 3)}});
        ids.push_back(id);
        counter.push_back(is_counter);
      }
    }
    values.assign(ids.size() + 1024, 0.0);
  }

  void NextValues() {
    ++cycle;
    for (size_t i = 0; i < ids.size(); ++i) {
      values[ids[i]] = counter[i] ? static_cast<double>(cycle * (i % 7 + 1))
                                  : static_cast<double>((i * 2654435761u + cycle) % 100000);
    }
  }

  void Cycle() {
    NextValues();
    p->BeginCycle(ts);
    for (np::SeriesId id : ids) p->Set(id, values[id]);
    p->EndCycle();
    ts += kStepMs;
  }
};

// memcpy of rows x N values of `bytes` each (8: the double cycle row; 4: a
// ring row of float cells): the floor for any loop that reads that much.
void BM_MemcpyFloor(benchmark::State& state) {
  const size_t n = state.range(0) * state.range(1);
  const size_t bytes = n * static_cast<size_t>(state.range(2));
  std::vector<char> src(bytes, 1), dst(bytes);
  AllocsPerIter allocs(state);
  for (auto _ : state) {
    std::memcpy(dst.data(), src.data(), bytes);
    benchmark::DoNotOptimize(dst.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * bytes);
  state.SetItemsProcessed(state.iterations() * n);
}

// One cycle into the rings (History::Commit, what EndCycle does with the
// row): per history block a memcpy (gauges) or the counter-rate pass (one
// block in three is counters) into the raw slot. rollups:0 is the ring
// append alone (each commit lands in the same raw slot, a few ms apart, so
// no 10 s / 60 s slot completes); rollups:1 advances 1 s per iteration and so includes the
// 10 s and 60 s rollups amortized (every 10th and 60th iteration; the
// rollup loop alone is BM_Downsample). Bytes: the N history values.
void BM_Ingest(benchmark::State& state) {
  const size_t blocks =
      (state.range(0) + np::internal::History::kBlock - 1) / np::internal::History::kBlock;
  const size_t n = blocks * np::internal::History::kBlock;
  const bool rollups = state.range(1) != 0;
  np::internal::History h(BenchOptions().tiers);
  // Row layout as the Pipeline makes it: a latest-only block after each
  // history block.
  std::vector<double> row(2 * n);
  for (size_t b = 0; b < blocks; ++b) {
    const np::SeriesId first = static_cast<np::SeriesId>(2 * b * np::internal::History::kBlock);
    h.AddBlock(first, b % 3 == 0);
    for (uint32_t i = 0; i < np::internal::History::kBlock; ++i) h.AddSeries(first + i, 1);
  }
  for (size_t i = 0; i < row.size(); ++i) row[i] = static_cast<double>(i % 977);
  // Raw slot 1,700,000,001: not the last of a 10 s or 60 s slot, so
  // rewriting it (rollups:0) never re-rolls a coarse slot.
  const int64_t base = 1'700'000'001'000;
  int64_t ts = base;
  h.Commit(ts, row.data());
  AllocsPerIter allocs(state);
  uint64_t i = 0;
  for (auto _ : state) {
    ts = rollups ? ts + kStepMs : base + static_cast<int64_t>(++i % 999);
    h.Commit(ts, row.data());
    row[0] += 1;
  }
  state.SetBytesProcessed(state.iterations() * n * sizeof(double));
  state.SetItemsProcessed(state.iterations() * n);
}

// The whole public cycle for context: BeginCycle (NaN-fill the 2N row),
// 2N Set() calls, EndCycle (commit + snapshot publish). Bytes: the 2N row.
void BM_Cycle(benchmark::State& state) {
  const size_t n = state.range(0);
  Fixture f(n);
  for (int i = 0; i < 3; ++i) f.Cycle();
  AllocsPerIter allocs(state);
  for (auto _ : state) f.Cycle();
  state.SetBytesProcessed(state.iterations() * f.ids.size() * sizeof(double));
  state.SetItemsProcessed(state.iterations() * f.ids.size());
}

// avg/min/max/last/sum/count over a raw-tier window (1m or 5m) for every
// history series through the public Aggregator (locking per block, scatter
// by SeriesId), as the aggregates engine asks every second: without
// quantiles, so whole 30 s slots inside the window are read rolled up
// (History::Plan). Items and bytes: the window's samples (window x N float
// cells), as if every raw row were read - a 5m window costing about what 1m
// does shows the rolled-up slots at work.
void BM_WindowAggregate(benchmark::State& state) {
  const size_t n = state.range(0);
  const int64_t window_s = state.range(1);
  Fixture f(n);
  for (int i = 0; i < 400; ++i) f.Cycle();
  np::Aggregator agg(*f.p);
  auto snap = f.p->snapshot();
  np::WindowStats w;
  if (!agg.Compute(*snap, window_s * 1000, false, &w).ok()) state.SkipWithError("compute");
  AllocsPerIter allocs(state);
  for (auto _ : state) {
    benchmark::DoNotOptimize(agg.Compute(*snap, window_s * 1000, false, &w));
  }
  state.SetBytesProcessed(state.iterations() * window_s * n * sizeof(np::internal::Cell));
  state.SetItemsProcessed(state.iterations() * window_s * n);
}

// The fold kernel alone (60 rows into 5 accumulators), to separate the
// loop from the Aggregator's locking and scatter.
void BM_WindowFold(benchmark::State& state) {
  const size_t n = state.range(0);
  const size_t rows = 60;
  std::vector<np::internal::Cell> data(rows * n);
  std::mt19937_64 rng(1);
  for (auto& d : data) d = (rng() % 16 == 0) ? NAN : static_cast<np::internal::Cell>(rng() % 1000);
  std::vector<const np::internal::Cell*> ptrs;
  for (size_t r = 0; r < rows; ++r) ptrs.push_back(data.data() + r * n);
  std::vector<double> s(n), c(n), mn(n), mx(n), l(n);
  np::internal::Acc acc{s.data(), c.data(), mn.data(), mx.data(), l.data()};
  AllocsPerIter allocs(state);
  for (auto _ : state) {
    np::internal::ResetAcc(acc, n);
    np::internal::FoldRaw(ptrs.data(), rows, n, acc);
    benchmark::DoNotOptimize(s.data());
  }
  state.SetBytesProcessed(state.iterations() * rows * n * sizeof(np::internal::Cell));
}

// Rolling 10 raw rows into one 10 s slot (sum/count/min/max rows), the
// rollup Commit runs every 10th cycle. Bytes: 10 rows x N read.
void BM_Downsample(benchmark::State& state) {
  const size_t n = state.range(0);
  const size_t rows = 10;
  std::vector<np::internal::Cell> data(rows * n);
  std::mt19937_64 rng(2);
  for (auto& d : data) d = (rng() % 16 == 0) ? NAN : static_cast<np::internal::Cell>(rng() % 1000);
  std::vector<const np::internal::Cell*> ptrs;
  for (size_t r = 0; r < rows; ++r) ptrs.push_back(data.data() + r * n);
  std::vector<double> s(n), c(n), mn(n), mx(n);
  np::internal::Acc acc{s.data(), c.data(), mn.data(), mx.data(), nullptr};
  AllocsPerIter allocs(state);
  for (auto _ : state) {
    np::internal::ResetAcc(acc, n);
    np::internal::FoldRaw(ptrs.data(), rows, n, acc);
    benchmark::DoNotOptimize(s.data());
  }
  state.SetBytesProcessed(state.iterations() * rows * n * sizeof(np::internal::Cell));
}

// EndCycle's publish for N latest-only series: copy the row into a pooled
// snapshot and swap the pointer. Bytes: the N-value row.
void BM_SnapshotBuild(benchmark::State& state) {
  const size_t n = state.range(0);
  np::Pipeline p(BenchOptions());
  auto m = p.RegisterMetric({"container_memory_usage_bytes", "", np::MetricKind::kGauge, false});
  np::EntityId e = p.AddEntity({{"container", "c"}, {"namespace", "ns"}, {"pod", "p"}});
  for (size_t i = 0; i < n; ++i) p.Intern(*m, e, {{"i", std::to_string(i)}});
  int64_t ts = 1'700'000'000'000;
  p.BeginCycle(ts);
  p.EndCycle();
  AllocsPerIter allocs(state);
  for (auto _ : state) {
    p.EndCycle();
  }
  state.SetBytesProcessed(state.iterations() * n * sizeof(double));
}

// Per-pod rollup of a 1m CPU rate as the aggregates engine does it: the
// grouping once per catalog, then only the sums per call (reader side).
void BM_Rollup(benchmark::State& state) {
  const size_t n = state.range(0);
  Fixture f(n);
  for (int i = 0; i < 70; ++i) f.Cycle();
  np::Aggregator agg(*f.p);
  auto snap = f.p->snapshot();
  np::WindowStats w;
  (void)agg.Compute(*snap, 60'000, false, &w);
  const nodepulse::exporters::PodGrouping grouping(*snap->catalog, 0);
  std::vector<nodepulse::exporters::PodGrouping::PodValue> values;
  for (auto _ : state) {
    grouping.Values(*snap, &w, np::Stat::kAvg, &values);
    benchmark::DoNotOptimize(values.data());
  }
}

void Sizes(benchmark::internal::Benchmark* b) {
  for (int n : {1000, 10000, 100000}) b->Arg(n);
}

}  // namespace

// rows:1 bytes:8 is the floor of BM_Ingest and BM_Cycle (the double row);
// rows:60 bytes:4 of BM_WindowAggregate and BM_WindowFold (60 ring rows).
BENCHMARK(BM_MemcpyFloor)
    ->ArgNames({"n", "rows", "bytes"})
    ->Args({1000, 1, 8})
    ->Args({10000, 1, 8})
    ->Args({100000, 1, 8})
    ->Args({1000, 60, 4})
    ->Args({10000, 60, 4})
    ->Args({100000, 60, 4});
BENCHMARK(BM_Ingest)
    ->ArgNames({"n", "rollups"})
    ->Args({1000, 0})
    ->Args({10000, 0})
    ->Args({100000, 0})
    ->Args({1000, 1})
    ->Args({10000, 1})
    ->Args({100000, 1});
BENCHMARK(BM_Cycle)->Apply(Sizes);
BENCHMARK(BM_WindowAggregate)
    ->ArgNames({"n", "window_s"})
    ->Args({1000, 60})
    ->Args({10000, 60})
    ->Args({100000, 60})
    ->Args({1000, 300})
    ->Args({10000, 300})
    ->Args({100000, 300});
BENCHMARK(BM_WindowFold)->Apply(Sizes);
BENCHMARK(BM_Downsample)->Apply(Sizes);
BENCHMARK(BM_SnapshotBuild)->Apply(Sizes);
BENCHMARK(BM_Rollup)->Apply(Sizes);
BENCHMARK_MAIN();
