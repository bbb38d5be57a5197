// Golden /metrics: a fixture tree in, the exposition text out, byte for byte.
//
// The agent's /metrics is assembled here from the same parts Agent wires
// (agent.cc: Start() and RegisterHandlers()): the cgroup, procfs and kubelet
// collectors on the v1-cgroupfs-debian12 capture (one pod renamed after a pod
// of the 1.35 /pods fixture, see kubelet_fixture.h), a real HTTPS fake
// kubelet serving pods.nri-k8s-1.35.json and stats-summary.nri-k8s-1.35.json,
// the aggregates engine with --mixin-series, the self-metrics registry and
// the HTTP server's counters, rendered by CachedMetricsHandler. The test is
// the clock: cycles run at fixed timestamps one second apart, the
// php-apache container's cpuacct.usage grows by a quarter CPU-second per
// cycle (so rates and the recording rules built on them are not all 0), and
// collector and cycle durations are fixed numbers, so the text is the same on every run and a
// rename, a reordering or a formatting change shows up as a diff.
//
// What still varies between runs, and is masked (its value replaced by
// `<masked>`; the line and its labels stay):
//   - nodepulse_kubelet_last_success_timestamp_seconds: the wall time of the
//     kubelet poll (the client stamps it with absl::Now()).
//   - process_cpu_seconds_total, process_resident_memory_bytes,
//     process_open_fds: the test process's own /proc/self (CPU time, RSS and
//     fds of the gtest binary, which differ with every run and machine).
//   - nodepulse_last_cycle_timestamp_seconds: SelfMetrics stamps the cycle
//     with the wall clock, not with the cycle's timestamp.
// Nothing else is masked; PIDs do not appear in the exposition.
//
// Regenerate after an intended change with
//   NODEPULSE_UPDATE_GOLDEN=1 build/tests/agent/agent_test --gtest_filter='MetricsGolden.*'
// which rewrites tests/testdata/golden/metrics.txt in the source tree; review
// the diff like code.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "fake_kubelet.h"
#include "gtest/gtest.h"
#include "kubelet_fixture.h"
#include "nodepulse/collectors/cgroup.h"
#include "nodepulse/collectors/kubelet.h"
#include "nodepulse/collectors/procfs.h"
#include "nodepulse/exporters/aggregates/aggregates.h"
#include "nodepulse/exporters/http/http_server.h"
#include "nodepulse/exporters/prometheus/prometheus.h"
#include "nodepulse/pipeline/pipeline.h"
#include "process.h"
#include "self_metrics.h"

namespace nodepulse::agent {
namespace {

constexpr char kToken[] = "golden-token";
// The container of the guaranteed pod that becomes php-apache (as in
// kubelet_join_test.cc); its busy sibling stays the pod's sandbox.
constexpr char kFixtureContainer[] = "4f0a1c8e2b6d9f3a5c7e1b0d2f4a6c8e0b2d4f6a8c0e2a4c6e8f0a2b4c6d8e01";
constexpr int64_t kStartMs = 1'700'000'000'000;  // 2023-11-14T22:13:20Z
constexpr int kCycles = 3;
constexpr double kCollectorSeconds = 0.002;
constexpr double kCycleSeconds = 0.005;
constexpr uint64_t kUsageStepNs = 250'000'000;  // per 1 s cycle: 0.25 cores

// Metrics whose value depends on when or in which process the test runs.
const std::vector<std::string>& MaskedMetrics() {
  static const std::vector<std::string> names = {
      "nodepulse_kubelet_last_success_timestamp_seconds",
      "nodepulse_last_cycle_timestamp_seconds",
      "process_cpu_seconds_total",
      "process_resident_memory_bytes",
      "process_open_fds",
  };
  return names;
}

// Replaces the value (and timestamp, if any) of every sample of a masked
// metric (or of its _bucket/_sum/_count series) with "<masked>".
std::string Mask(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    std::string l(line);
    if (!l.empty() && l[0] != '#') {
      for (const std::string& name : MaskedMetrics()) {
        if (l.compare(0, name.size(), name) != 0) continue;
        size_t close = l.rfind('}');
        size_t value_at = l.find(' ', close == std::string::npos ? 0 : close);
        if (value_at != std::string::npos) l = l.substr(0, value_at) + " <masked>";
        break;
      }
    }
    absl::StrAppend(&out, l, "\n");
  }
  if (!out.empty()) out.pop_back();  // StrSplit yields one more piece than newlines
  return out;
}

std::string GoldenPath() { return std::string(NODEPULSE_TESTDATA) + "/golden/metrics.txt"; }

// (namespace, pod) -> workload through the kubelet collector's lookup, as
// the agent wires it.
exporters::OwnerLookup OwnersOf(std::shared_ptr<const collectors::KubeletClient> client) {
  return [lookup = collectors::MakePodOwnerLookup(std::move(client))](
             absl::string_view ns, absl::string_view pod) -> std::optional<exporters::PodOwnerInfo> {
    std::optional<collectors::PodOwner> owner =
        lookup(std::string_view(ns.data(), ns.size()), std::string_view(pod.data(), pod.size()));
    if (!owner) return std::nullopt;
    return exporters::PodOwnerInfo{owner->workload, owner->workload_kind};
  };
}

exporters::PodsLookup PodsOf(std::shared_ptr<const collectors::KubeletState> state) {
  auto pods = std::make_shared<std::vector<exporters::PodInfo>>();
  for (const collectors::PodMeta& p : state->pods) {
    pods->push_back({p.namespace_name, p.name, p.workload.name, p.workload.kind, p.phase == "Running",
                     p.pod_current.cpu_request_cores, p.pod_current.memory_request_bytes});
  }
  return [pods] { return std::shared_ptr<const std::vector<exporters::PodInfo>>(pods); };
}

class MetricsGolden : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::MakeTempDir("metrics-golden");
    std::filesystem::create_directories(dir_ + "/root");
    testing::CopyKubeletFixtureTree(dir_ + "/root", kFixtureContainer);
    certs_ = testing::MakeTestCerts(dir_);
    ASSERT_TRUE(certs_.error.empty()) << certs_.error;
    ASSERT_TRUE(testing::WriteFile(dir_ + "/token", std::string(kToken) + "\n"));
    kubelet_ = std::make_unique<testing::FakeKubelet>(certs_.server_cert, certs_.server_key, kToken);
    ASSERT_TRUE(kubelet_->ok());
    const std::string fixtures = std::string(NODEPULSE_FIXTURES) + "/kubelet/";
    kubelet_->Serve("/pods", testing::ReadFile(fixtures + "pods.nri-k8s-1.35.json"));
    kubelet_->Serve("/stats/summary", testing::ReadFile(fixtures + "stats-summary.nri-k8s-1.35.json"));
  }
  void TearDown() override { testing::RemoveTree(dir_); }

  // The exposition after kCycles cycles, as a text-format scrape sees it.
  std::string Scrape();

  std::string dir_;
  testing::TestCerts certs_;
  std::unique_ptr<testing::FakeKubelet> kubelet_;
};

std::string MetricsGolden::Scrape() {
  const std::string root = dir_ + "/root";
  collectors::KubeletOptions kopts;
  kopts.url = kubelet_->url();
  kopts.token_file = dir_ + "/token";
  kopts.ca_file = certs_.ca;
  kopts.node_name = "datagen-1-35";
  auto client = std::make_shared<collectors::KubeletClient>(kopts);
  client->PollOnce();
  EXPECT_TRUE(client->state()->up) << client->state()->problem;

  pipeline::Pipeline pipeline{pipeline::Options{}};
  collectors::CgroupOptions copts;
  copts.cgroup_root = root + "/sys/fs/cgroup";
  copts.proc_root = root + "/proc";
  copts.labeler = collectors::MakeKubeletLabeler(client);
  auto cgroups = collectors::NewCgroupCollector(copts, pipeline);
  EXPECT_TRUE(cgroups.ok()) << cgroups.status();
  if (!cgroups.ok()) return "";
  collectors::CgroupCollector* cgroup = cgroups->get();
  collectors::ProcfsOptions popts;
  popts.proc_root = root + "/proc";
  auto procfs = collectors::NewProcfsCollector(popts, pipeline);
  EXPECT_TRUE(procfs.ok()) << procfs.status();
  if (!procfs.ok()) return "";
  collectors::KubeletCollectorOptions kcopts;
  kcopts.mixin_series = true;
  kcopts.pod_cgroup_id = [cgroup](std::string_view uid) -> std::string {
    for (const auto& [entity, ident] : cgroup->Identities()) {
      if (ident.pod_level && ident.pod_uid == uid) return ident.id;
    }
    return "";
  };
  auto kubelet = collectors::NewKubeletCollector(client, pipeline, kcopts);
  EXPECT_TRUE(kubelet.ok()) << kubelet.status();
  if (!kubelet.ok()) return "";
  std::vector<std::unique_ptr<collectors::Collector>> all;
  all.push_back(*std::move(cgroups));
  all.push_back(*std::move(procfs));
  all.push_back(*std::move(kubelet));

  auto self = SelfMetrics::Create(root + "/proc");
  EXPECT_TRUE(self.ok()) << self.status();
  if (!self.ok()) return "";

  exporters::AggregatesOptions aopts;
  aopts.mixin_series = true;
  aopts.node_name = kopts.node_name;
  aopts.interval_ms = 1000;
  aopts.owner_lookup = OwnersOf(client);
  aopts.pods = PodsOf(client->state());
  int64_t now_ms = kStartMs;
  aopts.now_ms = [&now_ms] { return now_ms; };
  auto engine = std::make_shared<exporters::AggregatesEngine>(pipeline, std::move(aopts));

  const std::string usage_file = absl::StrCat(root, "/sys/fs/cgroup/cpuacct/kubepods/pod", testing::kPodUid,
                                              "/", testing::kContainerId, "/cpuacct.usage");
  uint64_t usage_ns = 0;
  EXPECT_TRUE(absl::SimpleAtoi(absl::StripAsciiWhitespace(testing::ReadFile(usage_file)), &usage_ns))
      << usage_file;
  std::map<std::string, collectors::CollectStats> stats;
  for (int i = 0; i < kCycles; ++i) {
    now_ms = kStartMs + i * 1000;
    // Rewritten in place: the collector keeps the file open and preads it.
    EXPECT_TRUE(testing::WriteFile(usage_file, absl::StrCat(usage_ns + i * kUsageStepNs, "\n")));
    pipeline.BeginCycle(now_ms);
    for (auto& c : all) {
      collectors::CollectStats& s = stats[std::string(c->name())];
      absl::Status st = c->Collect(s);
      EXPECT_TRUE(st.ok()) << c->name() << ": " << st;
      (*self)->ObserveCollector(std::string(c->name()), st.ok(), kCollectorSeconds, s);
    }
    pipeline.EndCycle();
    engine->Update(pipeline.snapshot());
    (*self)->ObservePipeline(pipeline.stats());
    (*self)->ObserveProcess();
    (*self)->ObserveCycle(kCycleSeconds, false);
  }

  exporters::HttpServerOptions hopts;
  hopts.listen = "127.0.0.1:0";
  exporters::HttpServer server(hopts);  // never started: its counters stay 0
  std::shared_ptr<prometheus::Collectable> http = server.MetricsCollectable();
  std::weak_ptr<exporters::AggregatesEngine> weak = engine;
  exporters::Handler handler = exporters::CachedMetricsHandler(
      pipeline, {(*self)->registry(), http}, [weak]() -> std::string {
        auto e = weak.lock();
        auto v = e ? e->view() : nullptr;
        return v ? v->exposition : std::string();
      });
  exporters::HttpRequest req;
  req.method = "GET";
  req.path = "/metrics";
  exporters::HttpResponse resp = handler(req);
  EXPECT_EQ(resp.status, 200);
  return (resp.shared_body ? *resp.shared_body : std::string()) + resp.body;
}

TEST_F(MetricsGolden, FixtureTreeExpositionIsByteExact) {
  const std::string got = Mask(Scrape());
  ASSERT_FALSE(got.empty());
  // The test covers what it says: container, node, recording-rule and self
  // series are all in the text (a golden file of an empty scrape would pass).
  for (const char* must : {"container_cpu_usage_seconds_total{", "node_cpu_seconds_total{",
                           "node_namespace_pod_container:container_cpu_usage_seconds_total:",
                           "kube_pod_container_resource_requests{", "nodepulse_series "}) {
    EXPECT_NE(got.find(must), std::string::npos) << "no " << must << " in the exposition";
  }
  const char* update = std::getenv("NODEPULSE_UPDATE_GOLDEN");
  if (update != nullptr && std::string(update) == "1") {
    std::filesystem::create_directories(std::filesystem::path(GoldenPath()).parent_path());
    ASSERT_TRUE(testing::WriteFile(GoldenPath(), got)) << GoldenPath();
    GTEST_SKIP() << "rewrote " << GoldenPath();
  }
  const std::string want = testing::ReadFile(GoldenPath());
  ASSERT_FALSE(want.empty()) << GoldenPath() << " missing: run with NODEPULSE_UPDATE_GOLDEN=1";
  if (got == want) return;
  // The first differing line, with its neighbours, says more than two
  // multi-kilobyte strings.
  std::vector<std::string> g = absl::StrSplit(got, '\n'), w = absl::StrSplit(want, '\n');
  size_t i = 0;
  while (i < g.size() && i < w.size() && g[i] == w[i]) ++i;
  ADD_FAILURE() << "exposition differs from " << GoldenPath() << " at line " << i + 1 << ":\n  want: "
                << (i < w.size() ? w[i] : "<end>") << "\n  got:  " << (i < g.size() ? g[i] : "<end>")
                << "\n(" << w.size() << " lines wanted, " << g.size()
                << " got; NODEPULSE_UPDATE_GOLDEN=1 rewrites the file after an intended change)";
}

}  // namespace
}  // namespace nodepulse::agent
