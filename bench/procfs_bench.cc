// The procfs collector against its floor, on this machine's real /proc.
//
//   BM_ProcfsCollect     one collection cycle: BeginCycle + Collect() (pread
//                        of the 8 files, parse, Set() of every sample).
//                        EndCycle's snapshot publication is the pipeline's
//                        cost and is benchmarked there.
//   BM_ProcfsPreadFloor  pread of the same 8 files into kept buffers, no
//                        parsing: what any collector of these files must pay.
//
// Both report items = samples one cycle writes, so their items/s compare
// directly; the program prints collect/floor at the end. Collect also reports
// allocs_per_iter (target 0), counted by replacing global operator new.
#include <fcntl.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "nodepulse/collectors/procfs.h"
#include "nodepulse/pipeline/pipeline.h"
// Replaces operator new for this binary: allocs_per_iter.
#include "tests/support/alloc_counter.h"

namespace nodepulse::collectors {
namespace {

constexpr const char* kFiles[] = {"/proc/stat",         "/proc/meminfo",
                                  "/proc/loadavg",      "/proc/pressure/cpu",
                                  "/proc/pressure/memory", "/proc/pressure/io",
                                  "/proc/diskstats",    "/proc/net/dev"};

// Samples one cycle writes on this machine (= non-NaN values in the row).
size_t SamplesPerCycle() {
  pipeline::Pipeline p{pipeline::Options{}};
  auto c = NewProcfsCollector(ProcfsOptions{}, p);
  if (!c.ok()) return 0;
  CollectStats stats;
  p.BeginCycle(0);
  (void)(*c)->Collect(stats);
  p.EndCycle();
  size_t n = 0;
  for (double v : p.snapshot()->values) n += std::isnan(v) ? 0 : 1;
  return n;
}

void BM_ProcfsCollect(benchmark::State& state) {
  pipeline::Pipeline p{pipeline::Options{}};
  auto c = NewProcfsCollector(ProcfsOptions{}, p);
  if (!c.ok()) {
    state.SkipWithError(c.status().ToString().c_str());
    return;
  }
  Collector& collector = **c;
  CollectStats stats;
  for (int i = 0; i < 2; ++i) {  // discovery and buffer growth happen here
    p.BeginCycle(i);
    (void)collector.Collect(stats);
    p.EndCycle();
  }
  const size_t samples = SamplesPerCycle();
  testing::AllocCounter allocs;
  allocs.Start();
  for (auto _ : state) {
    p.BeginCycle(0);
    absl::Status s = collector.Collect(stats);
    benchmark::DoNotOptimize(s);
  }
  const uint64_t allocations = allocs.Stop();
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * samples));
  state.counters["samples"] = static_cast<double>(samples);
  state.counters["allocs_per_iter"] = benchmark::Counter(
      static_cast<double>(allocations), benchmark::Counter::kAvgIterations);
  state.counters["parse_errors"] = static_cast<double>(stats.parse_errors);
}
BENCHMARK(BM_ProcfsCollect);

void BM_ProcfsPreadFloor(benchmark::State& state) {
  struct File {
    int fd;
    std::vector<char> buf;
  };
  std::vector<File> files;
  for (const char* path : kFiles) {
    int fd = ::open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) files.push_back({fd, std::vector<char>(256 << 10)});
  }
  const size_t samples = SamplesPerCycle();
  int64_t bytes = 0;
  for (auto _ : state) {
    for (File& f : files) {
      ssize_t n = ::pread(f.fd, f.buf.data(), f.buf.size(), 0);
      benchmark::DoNotOptimize(n);
      bytes += n > 0 ? n : 0;
    }
    benchmark::ClobberMemory();
  }
  for (File& f : files) ::close(f.fd);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * samples));
  state.SetBytesProcessed(bytes);
}
BENCHMARK(BM_ProcfsPreadFloor);

// Console output plus the collect/floor ratio, the number that compares
// across machines.
class RatioReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& r : runs) {
      if (r.run_type == Run::RT_Iteration) {
        real_ns_[r.benchmark_name()] = r.GetAdjustedRealTime();
        cpu_ns_[r.benchmark_name()] = r.GetAdjustedCPUTime();
      }
    }
    ConsoleReporter::ReportRuns(runs);
  }
  // CPU time is the fairer ratio on a shared host (waiting for the CPU is not
  // our cost); real time is printed too.
  void PrintRatio() const {
    for (const auto* m : {&cpu_ns_, &real_ns_}) {
      auto c = m->find("BM_ProcfsCollect"), f = m->find("BM_ProcfsPreadFloor");
      if (c == m->end() || f == m->end() || f->second <= 0) return;
      std::printf("procfs collect / pread floor = %.2fx %s (%.0f ns vs %.0f ns per cycle)\n",
                  c->second / f->second, m == &cpu_ns_ ? "cpu" : "real", c->second, f->second);
    }
  }

 private:
  std::map<std::string, double> real_ns_, cpu_ns_;
};

}  // namespace
}  // namespace nodepulse::collectors

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  nodepulse::collectors::RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  reporter.PrintRatio();
  benchmark::Shutdown();
  return 0;
}
