// Kubelet response parsing: a 500-pod /pods and /stats/summary, built by
// replicating the 1.35 fixture's pods with unique UIDs and names, parsed by
// the hand parser (what the client uses) and by protobuf's
// JsonStringToMessage (the reference), against two floors in the same run:
// memcpy of the same bytes and a plain read(2) of them from a file.
//
// The per_pod counter is time per pod; x100 gives the issue's "ms per 100
// pods" (budget: 5 ms). Run: build/bench/kubelet_bench
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "collectors/kubelet/parse_entry.h"
#include "kubelet_json_baseline.h"

namespace {


constexpr int kPods = 500;

std::string ReadAll(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// The top-level elements of the JSON array that follows `"<key>":`, as text.
std::vector<std::string> ArrayElements(const std::string& json, const std::string& key) {
  std::vector<std::string> out;
  // The key, not an equal string value ("name": "pods" in systemContainers).
  size_t pos = 0;
  while ((pos = json.find("\"" + key + "\"", pos)) != std::string::npos) {
    pos += key.size() + 2;
    size_t colon = json.find_first_not_of(" \n\r\t", pos);
    if (colon != std::string::npos && json[colon] == ':') break;
  }
  pos = json.find('[', pos);
  int depth = 0;
  size_t start = 0;
  bool in_string = false;
  for (size_t i = pos; i < json.size(); ++i) {
    char c = json[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') in_string = true;
    else if (c == '[' || c == '{') {
      if (depth++ == 1) start = i;
    } else if (c == ']' || c == '}') {
      if (--depth == 1) out.push_back(json.substr(start, i + 1 - start));
      if (depth == 0) break;
    }
  }
  return out;
}

// The string value of the first `"<field>":` in `text`.
std::string FirstString(const std::string& text, const std::string& field) {
  size_t p = text.find("\"" + field + "\"");
  p = text.find('"', text.find(':', p) + 1);
  return text.substr(p + 1, text.find('"', p + 1) - p - 1);
}

std::string Replicate(const std::string& json, const std::string& key, const std::string& head,
                      const std::string& tail) {
  std::vector<std::string> items = ArrayElements(json, key);
  std::string out = head;
  for (int i = 0; i < kPods; ++i) {
    const std::string& item = items[i % items.size()];
    std::string uid = FirstString(item, "uid");
    std::string name = FirstString(item, "name");
    char suffix[16];
    std::snprintf(suffix, sizeof(suffix), "%04x", i);
    std::string new_uid = uid.substr(0, uid.size() - 4) + suffix;
    if (i > 0) out += ",";
    out += absl::StrReplaceAll(item, {{uid, new_uid}, {"\"" + name + "\"", absl::StrCat("\"", name, "-", i, "\"")}});
  }
  return out + tail;
}

// bench/CMakeLists.txt passes no fixture path, so: $NODEPULSE_FIXTURES, else
// ../shared/fixtures next to the source tree, as tests/CMakeLists.txt does.
std::string FixturesDir() {
  if (const char* env = std::getenv("NODEPULSE_FIXTURES")) return env;
  std::string src = __FILE__;
  return src.substr(0, src.rfind("/bench/")) + "/../shared/fixtures";
}

struct Inputs {
  std::string pods, summary, pods_file, summary_file;
  Inputs() {
    const std::string dir = FixturesDir() + "/kubelet/";
    pods = Replicate(ReadAll(dir + "pods.nri-k8s-1.35.json"), "items",
                     "{\"kind\":\"PodList\",\"apiVersion\":\"v1\",\"metadata\":{},\"items\":[", "]}");
    summary = Replicate(ReadAll(dir + "stats-summary.nri-k8s-1.35.json"), "pods",
                        "{\"node\":{\"nodeName\":\"bench\"},\"pods\":[", "]}");
    pods_file = "/tmp/nodepulse-kubelet-bench-pods.json";
    summary_file = "/tmp/nodepulse-kubelet-bench-summary.json";
    std::ofstream(pods_file, std::ios::binary) << pods;
    std::ofstream(summary_file, std::ios::binary) << summary;
  }
};

const Inputs& In() {
  static const Inputs* in = new Inputs();
  return *in;
}

const std::string& Body(int which) { return which == 0 ? In().pods : In().summary; }

void Report(benchmark::State& state, size_t bytes) {
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
  state.SetItemsProcessed(state.iterations() * kPods);
  state.counters["per_pod"] = benchmark::Counter(
      kPods, benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
  state.counters["bytes"] = static_cast<double>(bytes);
}

// Arg 0: /pods, 1: /stats/summary.
void BM_ParseHand(benchmark::State& state) {
  const std::string& body = Body(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    auto n = state.range(0) == 0
                 ? nodepulse::collectors::kubelet::ParsePodListOnly(body)
                 : nodepulse::collectors::kubelet::ParseSummaryOnly(body);
    if (!n.ok()) state.SkipWithError("parse failed");
    benchmark::DoNotOptimize(n);
  }
  Report(state, body.size());
}
BENCHMARK(BM_ParseHand)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

void BM_ParseProtobufJson(benchmark::State& state) {
  const std::string& body = Body(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    auto n = state.range(0) == 0
                 ? nodepulse::bench::ProtobufPodListContainers(body)
                 : nodepulse::bench::ProtobufSummaryPods(body);
    if (!n.ok()) state.SkipWithError("parse failed");
    benchmark::DoNotOptimize(n);
  }
  Report(state, body.size());
}
BENCHMARK(BM_ParseProtobufJson)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

// Both bodies parsed and turned into the published state: one client poll
// minus the network.
void BM_ParseAndBuildState(benchmark::State& state) {
  for (auto _ : state) {
    auto n = nodepulse::collectors::kubelet::ParseAndBuildState(In().pods, In().summary);
    if (!n.ok()) state.SkipWithError("parse failed");
    benchmark::DoNotOptimize(n);
  }
  Report(state, In().pods.size() + In().summary.size());
}
BENCHMARK(BM_ParseAndBuildState)->Unit(benchmark::kMillisecond);

// Floor: read(2) of the same bytes from a file (page cache).
void BM_ReadFloor(benchmark::State& state) {
  const std::string& path = state.range(0) == 0 ? In().pods_file : In().summary_file;
  std::string buf(Body(static_cast<int>(state.range(0))).size(), '\0');
  for (auto _ : state) {
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    size_t off = 0;
    ssize_t n;
    while (off < buf.size() && (n = read(fd, buf.data() + off, buf.size() - off)) > 0) off += static_cast<size_t>(n);
    close(fd);
    benchmark::DoNotOptimize(buf.data());
  }
  Report(state, buf.size());
}
BENCHMARK(BM_ReadFloor)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

// Floor: memcpy of the same bytes.
void BM_MemcpyFloor(benchmark::State& state) {
  const std::string& body = Body(static_cast<int>(state.range(0)));
  std::string dst(body.size(), '\0');
  for (auto _ : state) {
    std::memcpy(dst.data(), body.data(), body.size());
    benchmark::DoNotOptimize(dst.data());
    benchmark::ClobberMemory();
  }
  Report(state, body.size());
}
BENCHMARK(BM_MemcpyFloor)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
