// Cluster-wide workload quantiles from native histograms, proven with real
// Prometheus 2.42 (Debian): two agents on this machine play two nodes, each
// running part of one Deployment's pods as real cgroups (kubelet cgroupfs
// layout) with different known loads, each joined by its own HTTPS fake
// kubelet. Prometheus "scrape" scrapes both agents with native histograms
// on (protobuf exposition); Prometheus "rw" gets only their remote_write.
// In both, histogram_quantile(q, sum by (namespace, workload) (...)) must
// equal the exact nearest-rank quantile over the union of both agents' own
// per-pod values (pod:... series, scraped at the same evaluation) within
// 1%, and histogram_count the pod count; then one pod goes and two come.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "agent_harness.h"
#include "fake_kubelet.h"
#include "gtest/gtest.h"
#include "process.h"
#include "test_cgroup.h"

namespace nodepulse::testing {
namespace {

namespace fs = std::filesystem;

constexpr char kToken[] = "nh-token";
constexpr char kNs[] = "nh";
constexpr char kHash[] = "5d9f7c6b8";  // pod-template-hash: ReplicaSet web-<hash> -> Deployment web

struct Pod {
  std::string node;  // "a" or "b"
  int n = 0;
  int mib = 0;      // working set the pod's process allocates
  int cpu_pct = 0;  // its CFS quota, percent of one CPU
  std::string Name() const { return absl::StrCat("web-", kHash, "-p", n); }
  std::string Uid() const { return absl::StrFormat("7e57a11d-0000-4000-8000-%012d", n); }
  std::string ContainerId() const { return absl::StrFormat("%064x", 0xc0ffee00 + n); }
  std::string PodDir() const { return absl::StrCat(node, "/kubepods/pod", Uid()); }
  std::string ContainerDir() const { return PodDir() + "/" + ContainerId(); }
};

std::string PodsJson(const std::vector<Pod>& pods, const std::string& node) {
  std::string out = R"({"kind":"PodList","apiVersion":"v1","items":[)";
  bool first = true;
  for (const Pod& p : pods) {
    if (p.node != node) continue;
    absl::StrAppend(&out, first ? "" : ",", R"({"metadata":{"name":")", p.Name(),
                    R"(","namespace":")", kNs, R"(","uid":")", p.Uid(),
                    R"(","labels":{"app":"web","pod-template-hash":")", kHash,
                    R"("},"ownerReferences":[{"apiVersion":"apps/v1","kind":"ReplicaSet","name":"web-)",
                    kHash, R"(","uid":"x","controller":true}]},"spec":{"containers":[{"name":"app",)",
                    R"("image":"registry.example/web:1","resources":{}}]},"status":{"phase":"Running",)",
                    R"("containerStatuses":[{"name":"app","image":"registry.example/web:1","containerID":)",
                    R"("containerd://)", p.ContainerId(),
                    R"(","restartCount":0,"state":{"running":{"startedAt":"2026-01-01T00:00:00Z"}}}]}})");
    first = false;
  }
  return out + "]}";
}

// Prometheus instant query at `time` (seconds): every result's value.
std::vector<double> Query(int port, const std::string& promql, double time) {
  std::string q;
  for (unsigned char c : promql) {
    if (std::isalnum(c) || c == '_' || c == '.') {
      q += static_cast<char>(c);
    } else {
      q += absl::StrFormat("%%%02X", c);
    }
  }
  HttpResult r = HttpGet(port, absl::StrFormat("/api/v1/query?query=%s&time=%.3f", q, time));
  std::vector<double> out;
  if (r.status != 200) return out;
  for (size_t at = r.body.find("\"value\":["); at != std::string::npos;
       at = r.body.find("\"value\":[", at + 1)) {
    size_t q1 = r.body.find(",\"", at);
    size_t q2 = r.body.find('"', q1 + 2);
    double v;
    if (absl::SimpleAtod(r.body.substr(q1 + 2, q2 - q1 - 2), &v)) out.push_back(v);
  }
  return out;
}

double NearestRank(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  size_t r = static_cast<size_t>(std::ceil(q * static_cast<double>(v.size())));
  return v[std::max<size_t>(r, 1) - 1];
}

class NativeHistogramsE2E : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::string why = TestCgroupTree::Unavailable(); !why.empty()) GTEST_SKIP() << why;
    if (::access("/usr/bin/prometheus", X_OK) != 0) GTEST_SKIP() << "no /usr/bin/prometheus";
    dir_ = MakeTempDir("nodepulse-test-nh");
    certs_ = MakeTestCerts(dir_);
    ASSERT_TRUE(certs_.error.empty()) << certs_.error;
    WriteFile(dir_ + "/token", std::string(kToken) + "\n");
    tree_ = std::make_unique<TestCgroupTree>("nh");
  }
  void TearDown() override {
    agents_.clear();
    proms_.clear();
    kubelets_.clear();
    // Deepest first: TestCgroupTree removes in creation order, and a parent
    // that still has children costs it a 5 s retry per hierarchy.
    if (tree_ != nullptr) {
      for (const Pod& p : pods_) StopPod(p);
      for (const char* node : {"b", "a"}) {
        tree_->RemoveChild(std::string(node) + "/kubepods");
        tree_->RemoveChild(node);
      }
    }
    tree_.reset();
    if (!dir_.empty()) RemoveTree(dir_);
  }

  // A node: <parent>/<node>/kubepods in every hierarchy, seen by its agent
  // as <dir>/<node>/sys/fs/cgroup/<hierarchy> (symlinks), so the agent finds
  // kubepods at its cgroup root as on a kubelet's node.
  std::string MakeNode(const std::string& node) {
    tree_->AddChild(node);
    tree_->AddChild(node + "/kubepods");
    const std::string root = absl::StrCat(dir_, "/", node, "/sys/fs/cgroup");
    fs::create_directories(root);
    for (const std::string& h : tree_->hierarchies()) {
      fs::create_directory_symlink(absl::StrCat(h, "/", tree_->parent(), "/", node),
                                   absl::StrCat(root, "/", fs::path(h).filename().string()));
    }
    return root;
  }
  void StartPod(const Pod& p) {
    tree_->AddChild(p.PodDir());
    tree_->AddChild(p.ContainerDir());
    ASSERT_TRUE(tree_->SetCpuLimit(p.ContainerDir(), p.cpu_pct * 1000, 100000));
    ASSERT_GT(tree_->StartProcess(p.ContainerDir(), "busy", 170), 0);
    ASSERT_GT(tree_->StartProcess(p.ContainerDir(), absl::StrCat("alloc:", p.mib), 170), 0);
  }
  void StopPod(const Pod& p) {
    tree_->RemoveChild(p.ContainerDir());
    tree_->RemoveChild(p.PodDir());
  }
  void ServePods() {
    for (const char* node : {"a", "b"}) kubelets_[node]->Serve("/pods", PodsJson(pods_, node));
  }
  std::unique_ptr<ChildProcess> StartPrometheus(const std::string& name, const std::string& config,
                                                std::vector<std::string> extra, int* port) {
    *port = FreeLoopbackPort();
    WriteFile(absl::StrCat(dir_, "/", name, ".yml"), config);
    std::vector<std::string> argv = {
        "/usr/bin/prometheus", absl::StrCat("--config.file=", dir_, "/", name, ".yml"),
        absl::StrCat("--storage.tsdb.path=", dir_, "/", name, "-data"),
        absl::StrCat("--web.listen-address=127.0.0.1:", *port), "--enable-feature=native-histograms"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    auto p = std::make_unique<ChildProcess>(argv);
    EXPECT_TRUE(WaitFor([&] { return HttpGet(*port, "/-/ready").status == 200; }, 30000, 100))
        << p->Output().substr(0, 2000);
    return p;
  }

  // At one evaluation time, each q's cluster-wide estimate against the exact
  // quantile over the union of the agents' per-pod values; "" when all hold.
  std::string Mismatches(int prom, const std::string& histogram, const std::string& pod_series,
                         double t) {
    const std::vector<double> exact_values = Query(scrape_port_, pod_series + "{namespace=\"nh\"}", t);
    if (exact_values.size() != pods_.size()) {
      return absl::StrCat(pod_series, ": ", exact_values.size(), " pods, want ", pods_.size());
    }
    const std::string sum =
        absl::StrCat("sum by (namespace, workload) (", histogram, "{namespace=\"nh\"})");
    std::vector<double> count = Query(prom, "histogram_count(" + sum + ")", t);
    if (count.size() != 1 || count[0] != static_cast<double>(pods_.size())) {
      return absl::StrCat(histogram, ": histogram_count ", absl::StrJoin(count, ","), ", want ",
                          pods_.size());
    }
    std::string bad;
    for (double q : {0.5, 0.9, 0.95, 0.99}) {
      std::vector<double> est = Query(prom, absl::StrCat("histogram_quantile(", q, ",", sum, ")"), t);
      const double exact = NearestRank(exact_values, q);
      if (est.size() != 1 || !(std::abs(est[0] - exact) <= 0.01 * exact)) {
        absl::StrAppend(&bad, histogram, " q=", q, ": ", absl::StrJoin(est, ","), " vs exact ",
                        exact, "; ");
      } else {
        worst_ = std::max(worst_, std::abs(est[0] - exact) / exact);
      }
    }
    return bad;
  }

  // Waits (up to 40 s) until both Prometheus servers agree with the exact
  // quantiles at one common evaluation time; returns the last mismatch.
  std::string WaitUntilExact() {
    std::string last;
    WaitFor([&] {
      // A second back: both agents' scrapes and their remote writes at or
      // before it have landed.
      const double t = absl::ToUnixMillis(absl::Now()) / 1000.0 - 2;
      last = Mismatches(scrape_port_, "workload:container_memory_working_set_bytes:max1m",
                        "pod:container_memory_working_set_bytes:max1m", t) +
             Mismatches(scrape_port_, "workload:container_cpu_usage:rate1m",
                        "pod:container_cpu_usage:rate1m", t) +
             // Working sets hold still once allocated, so the remote-written
             // view (a cycle apart from the scraped one) has the same values.
             Mismatches(rw_port_, "workload:container_memory_working_set_bytes:max1m",
                        "pod:container_memory_working_set_bytes:max1m", t);
      return last.empty();
    }, 40000, 1000);
    return last;
  }

  std::string dir_;
  TestCerts certs_;
  std::unique_ptr<TestCgroupTree> tree_;
  std::map<std::string, std::unique_ptr<FakeKubelet>> kubelets_;
  std::vector<std::unique_ptr<AgentHarness>> agents_;
  std::vector<std::unique_ptr<ChildProcess>> proms_;
  std::vector<Pod> pods_;
  int scrape_port_ = 0, rw_port_ = 0;
  double worst_ = 0;
};

TEST_F(NativeHistogramsE2E, ClusterWideQuantilesFromTwoNodesByScrapeAndRemoteWrite) {
  // Different loads, interleaved over the nodes so neither holds the tail.
  pods_ = {{"a", 1, 8, 2}, {"b", 2, 12, 3}, {"a", 3, 20, 5},
           {"b", 4, 28, 4}, {"a", 5, 40, 6}, {"b", 6, 56, 8}};
  std::map<std::string, std::string> roots;
  for (const char* node : {"a", "b"}) {
    roots[node] = MakeNode(node);
    kubelets_[node] = std::make_unique<FakeKubelet>(certs_.server_cert, certs_.server_key, kToken);
    ASSERT_TRUE(kubelets_[node]->ok());
    kubelets_[node]->Serve("/stats/summary",
                           absl::StrCat(R"({"node":{"nodeName":")", node, R"("},"pods":[]})"));
  }
  for (const Pod& p : pods_) ASSERT_NO_FATAL_FAILURE(StartPod(p));
  ServePods();

  proms_.push_back(StartPrometheus("rw", "global:\n  scrape_interval: 1s\n",
                                   {"--web.enable-remote-write-receiver"}, &rw_port_));
  std::vector<int> agent_ports;
  for (const char* node : {"a", "b"}) {
    fs::create_directories(absl::StrCat(dir_, "/state-", node));
    agents_.push_back(std::make_unique<AgentHarness>(std::vector<std::string>{
        "--interval=500ms", "--cgroup-root=" + roots[node], "--proc-root=/proc",
        "--kubelet-url=" + kubelets_[node]->url(), "--kubelet-ca-file=" + certs_.ca,
        "--kubelet-token-file=" + dir_ + "/token", absl::StrCat("--kubelet-node-name=", node),
        "--kubelet-interval=1s", "--kubelet-timeout=1s", "--rescan-interval=300ms",
        "--aggregates=cpu,memory",
        absl::StrCat("--remote-write-url=http://127.0.0.1:", rw_port_, "/api/v1/write"),
        absl::StrCat("--state-dir=", dir_, "/state-", node),
        absl::StrCat("--remote-write-external-label=node=", node)}));
    ASSERT_TRUE(agents_.back()->ok()) << agents_.back()->child().Output();
    agent_ports.push_back(agents_.back()->port());
  }
  proms_.push_back(StartPrometheus(
      "scrape",
      absl::StrCat("global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: np\n"
                   "    static_configs:\n      - targets: ['127.0.0.1:", agent_ports[0],
                   "', '127.0.0.1:", agent_ports[1], "']\n"),
      {}, &scrape_port_));

  std::string why = WaitUntilExact();
  ASSERT_TRUE(why.empty()) << why << "\n" << agents_[0]->child().Output().substr(0, 3000);

  // A pod of node a goes; node b gains two (one idle-ish, one the new max).
  const Pod gone = pods_[0];
  pods_.erase(pods_.begin());
  ServePods();
  StopPod(gone);
  for (Pod p : {Pod{"b", 7, 16, 1}, Pod{"b", 8, 72, 10}}) {
    ASSERT_NO_FATAL_FAILURE(StartPod(p));
    pods_.push_back(p);
  }
  ServePods();
  why = WaitUntilExact();
  EXPECT_TRUE(why.empty()) << why;
  std::printf("native histograms e2e: worst relative quantile error %.4f%%\n", worst_ * 100);
  RecordProperty("worst_relative_error", std::to_string(worst_));
}

}  // namespace
}  // namespace nodepulse::testing
