// The aggregates engine against a reference computed here from the raw
// samples: per-pod sums of per-container window rates, workload
// distributions across pods, ratios, and the API's JSON/protobuf forms.
#include "nodepulse/exporters/aggregates/aggregates.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "aggregates.pb.h"
#include "gtest/gtest.h"

namespace nodepulse::exporters {
namespace {

using pipeline::Labels;
using pipeline::MetricKind;
using pipeline::Pipeline;
using pipeline::SeriesId;

struct Container {
  std::string ns, pod, name;
  SeriesId cpu, thr, per, mem;
  double cpu_total = 0, thr_total = 0, per_total = 0;
  std::vector<double> cpu_rates, mem_values, thr_rates, per_rates;
};

class AggregatesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto cpu = p_.RegisterMetric({"container_cpu_usage_seconds_total", "cpu", MetricKind::kCounter, true});
    auto thr = p_.RegisterMetric(
        {"container_cpu_cfs_throttled_periods_total", "thr", MetricKind::kCounter, true});
    auto per = p_.RegisterMetric({"container_cpu_cfs_periods_total", "per", MetricKind::kCounter, true});
    auto mem = p_.RegisterMetric({"container_memory_working_set_bytes", "ws", MetricKind::kGauge, true});
    ASSERT_TRUE(cpu.ok() && thr.ok() && per.ok() && mem.ok());
    // web: 3 pods x 2 containers; db: 1 pod x 1 container; plus a pod cgroup
    // (container="") that must not be counted twice.
    const std::vector<std::tuple<std::string, std::string, std::string>> layout = {
        {"shop", "web-aaaa1-x1", "app"}, {"shop", "web-aaaa1-x1", "proxy"},
        {"shop", "web-aaaa1-x2", "app"}, {"shop", "web-aaaa1-x2", "proxy"},
        {"shop", "web-aaaa1-x3", "app"}, {"shop", "web-aaaa1-x3", "proxy"},
        {"data", "db-0", "postgres"}};
    for (const auto& [ns, pod, name] : layout) {
      Labels l = {{"container", name}, {"id", "/kubepods/" + pod + "/" + name}, {"image", "img"},
                  {"name", name}, {"namespace", ns}, {"pod", pod}};
      auto e = p_.AddEntity(l);
      Container c;
      c.ns = ns;
      c.pod = pod;
      c.name = name;
      c.cpu = p_.Intern(*cpu, e, {{"cpu", "total"}});
      c.thr = p_.Intern(*thr, e);
      c.per = p_.Intern(*per, e);
      c.mem = p_.Intern(*mem, e);
      containers_.push_back(std::move(c));
    }
    auto pod_cgroup = p_.AddEntity({{"container", ""}, {"id", "/kubepods/web-aaaa1-x1"}, {"image", ""},
                                    {"name", ""}, {"namespace", "shop"}, {"pod", "web-aaaa1-x1"}});
    pod_cpu_ = p_.Intern(*cpu, pod_cgroup, {{"cpu", "total"}});
  }

  // Runs `n` cycles 1 s apart with random per-second increments.
  void Run(int n) {
    std::mt19937 rng(42);
    std::uniform_real_distribution<double> cpu(0.0, 2.0), mem(1e6, 5e8);
    std::uniform_int_distribution<int> periods(5, 10);
    for (int i = 0; i < n; ++i) {
      p_.BeginCycle(t_ms_);
      double pod_total = 0;
      for (Container& c : containers_) {
        if (silent_pods_.count(c.pod) > 0) continue;  // its cgroup unreadable: no sample
        if (cycles_ > 0) {
          double r = cpu(rng);
          int per = periods(rng);
          int thr = periods(rng) % (per + 1);
          c.cpu_total += r;
          c.per_total += per;
          c.thr_total += thr;
          c.cpu_rates.push_back(Cell(r));
          c.per_rates.push_back(per);
          c.thr_rates.push_back(thr);
        }
        double m = mem(rng);
        c.mem_values.push_back(Cell(m));
        p_.Set(c.cpu, c.cpu_total);
        p_.Set(c.per, c.per_total);
        p_.Set(c.thr, c.thr_total);
        p_.Set(c.mem, m);
        pod_total += c.cpu_total;
      }
      p_.Set(pod_cpu_, pod_total);
      p_.EndCycle();
      t_ms_ += 1000;
      ++cycles_;
    }
  }

  // What the rings keep of a rate or gauge: a float32 cell (pipeline
  // kernels.h); the reference folds those, in double, as the pipeline does.
  static double Cell(double v) { return static_cast<double>(static_cast<float>(v)); }

  static double Mean(const std::vector<double>& v, size_t last) {
    size_t n = std::min(last, v.size());
    double s = 0;
    for (size_t i = v.size() - n; i < v.size(); ++i) s += v[i];
    return s / static_cast<double>(n);
  }
  static double MaxOf(const std::vector<double>& v, size_t last) {
    size_t n = std::min(last, v.size());
    return *std::max_element(v.end() - static_cast<long>(n), v.end());
  }

  AggregatesOptions Options() {
    AggregatesOptions o;
    // Answers are given as of the newest cycle unless a test moves `now_`.
    o.now_ms = [this] { return now_ms_ != 0 ? now_ms_ : t_ms_ - 1000; };
    o.owner_lookup = [](absl::string_view ns, absl::string_view pod) -> std::optional<PodOwnerInfo> {
      if (absl::StartsWith(pod, "web-")) return PodOwnerInfo{"web", "Deployment"};
      if (pod == "db-0") return PodOwnerInfo{"db", "StatefulSet"};
      return std::nullopt;
    };
    return o;
  }

  Pipeline p_{pipeline::Options{}};
  std::vector<Container> containers_;
  SeriesId pod_cpu_;
  std::set<std::string> silent_pods_;
  int64_t now_ms_ = 0;
  int64_t t_ms_ = 1'700'000'000'000;
  int cycles_ = 0;
};

TEST_F(AggregatesTest, PodAndWorkloadValuesMatchReference) {
  Run(40);  // all 39 rates fit in the 1m window
  // The engine computes without quantiles, so a whole 30 s slot inside the
  // window is read rolled up, whose sum is stored as a float32 (pipeline
  // aggregate.h): a few 2^-24 of relative error, not 1e-9.
  constexpr double kRel = 4.0 / (1 << 24);
  AggregatesEngine engine(p_, Options());
  engine.Update(p_.snapshot());
  auto view = engine.view();
  ASSERT_NE(view, nullptr);

  // Reference: per pod, sum of containers' mean rate / max memory.
  std::map<std::string, double> ref_cpu, ref_mem, ref_thr, ref_per;
  for (const Container& c : containers_) {
    ref_cpu[c.pod] += Mean(c.cpu_rates, 60);
    ref_mem[c.pod] += MaxOf(c.mem_values, 60);
    ref_thr[c.pod] += Mean(c.thr_rates, 60);
    ref_per[c.pod] += Mean(c.per_rates, 60);
  }
  // Per-pod values are served as Prometheus text only: read them from it.
  int checked = 0;
  for (absl::string_view line : absl::StrSplit(view->exposition, '\n')) {
    if (!absl::StartsWith(line, "pod:")) continue;
    const size_t brace = line.find('{'), pod_at = line.find(",pod=\""), end = line.find("\"} ");
    ASSERT_TRUE(brace != line.npos && pod_at != line.npos && end != line.npos) << line;
    const std::string series(line.substr(0, brace));
    const std::string pod(line.substr(pod_at + 6, end - pod_at - 6));
    double value = 0;
    ASSERT_TRUE(absl::SimpleAtod(line.substr(end + 3), &value)) << line;
    double want = series == "pod:container_cpu_usage:rate1m"                ? ref_cpu[pod]
                  : series == "pod:container_memory_working_set_bytes:max1m" ? ref_mem[pod]
                  : series == "pod:container_cpu_cfs_throttled:ratio1m"     ? ref_thr[pod] / ref_per[pod]
                                                                             : NAN;
    if (std::isnan(want)) continue;
    EXPECT_NEAR(value, want, kRel * std::max(1.0, std::abs(want))) << line;
    ++checked;
  }
  EXPECT_EQ(checked, 4 * 3);  // 4 pods x cpu, memory, throttling

  // Workload web: distribution of its 3 pods' cpu.
  std::vector<double> web = {ref_cpu["web-aaaa1-x1"], ref_cpu["web-aaaa1-x2"], ref_cpu["web-aaaa1-x3"]};
  std::sort(web.begin(), web.end());
  bool found = false;
  for (const WorkloadAggregate& w : view->workloads) {
    if (w.workload != "web" || w.metric != "cpu" || w.window_ms != 60'000) continue;
    found = true;
    EXPECT_EQ(w.workload_kind, "Deployment");
    EXPECT_NEAR(w.pods.Value(pipeline::Stat::kSum), web[0] + web[1] + web[2], kRel * (web[0] + web[1] + web[2]));
    EXPECT_NEAR(w.pods.Value(pipeline::Stat::kMax), web[2], kRel * web[2]);
    EXPECT_NEAR(w.pods.Value(pipeline::Stat::kMin), web[0], kRel * web[0]);
    EXPECT_EQ(w.pods.Value(pipeline::Stat::kCount), 3);
    // Exact lower-rank quantile over 3 samples: rank floor(0.95 * 2) = 1.
    EXPECT_NEAR(w.pods.Value(pipeline::Stat::kP95), web[1], kRel * web[1]);
    // The sketch agrees within its stated 1% relative error.
    EXPECT_NEAR(w.pods.sketch.Quantile(0.5), web[1], 0.01 * web[1]);
  }
  EXPECT_TRUE(found);

  // The exposition carries the recording-rule names.
  const std::string& t = view->exposition;
  EXPECT_TRUE(absl::StrContains(t, "# TYPE pod:container_cpu_usage:rate1m gauge")) << t.substr(0, 500);
  EXPECT_TRUE(absl::StrContains(t, "pod:container_cpu_usage:rate1m{namespace=\"shop\",pod=\"web-aaaa1-x1\"} "));
  EXPECT_TRUE(absl::StrContains(
      t, "workload:container_cpu_usage:rate1m_p95{namespace=\"shop\",workload=\"web\",workload_kind=\"Deployment\"} "));
  EXPECT_TRUE(absl::StrContains(t, "pod:container_memory_working_set_bytes:max5m{"));
  EXPECT_TRUE(absl::StrContains(t, "pod:container_cpu_cfs_throttled:ratio1m{"));
  EXPECT_FALSE(absl::StrContains(t, "node_namespace_pod_container:")) << "mixin series are opt-in";
}

TEST_F(AggregatesTest, MixinSeriesWhenEnabled) {
  Run(10);
  AggregatesOptions o = Options();
  o.mixin_series = true;
  o.node_name = "node-1";
  AggregatesEngine engine(p_, o);
  engine.Update(p_.snapshot());
  const std::string& t = engine.view()->exposition;
  EXPECT_TRUE(absl::StrContains(
      t, "node_namespace_pod_container:container_cpu_usage_seconds_total:sum_irate{container=\"app\","
         "namespace=\"shop\",node=\"node-1\",pod=\"web-aaaa1-x1\"} "))
      << t;
  EXPECT_TRUE(absl::StrContains(t, "node_namespace_pod_container:container_memory_working_set_bytes{"));
  // irate is the newest 1 s rate.
  const Container& c = containers_[0];
  std::string line = absl::StrCat(
      "node_namespace_pod_container:container_cpu_usage_seconds_total:sum_irate{container=\"app\","
      "namespace=\"shop\",node=\"node-1\",pod=\"web-aaaa1-x1\"} ");
  size_t at = t.find(line);
  ASSERT_NE(at, std::string::npos);
  double v = std::stod(t.substr(at + line.size()));
  EXPECT_NEAR(v, c.cpu_rates.back(), 1e-9);
}

TEST_F(AggregatesTest, ApiJsonProtobufAndErrors) {
  Run(61);  // a full 1m window: coverage 1
  auto engine = std::make_shared<AggregatesEngine>(p_, Options());
  engine->Update(p_.snapshot());
  Handler h = AggregatesHandler(engine);
  auto get = [&](const std::string& q, const std::string& accept = "") {
    HttpRequest r;
    r.method = "GET";
    r.path = "/api/v1/aggregates";
    r.query = q;
    if (!accept.empty()) r.headers["accept"] = accept;
    return h(r);
  };
  // KEDA's metrics-api scaler reads valueLocation "value" from the body.
  HttpResponse one = get("namespace=shop&workload=web&metric=cpu&window=1m&stat=p95");
  ASSERT_EQ(one.status, 200) << one.body;
  EXPECT_EQ(one.content_type, "application/json");
  ASSERT_TRUE(absl::StartsWith(one.body, "{\"value\":")) << one.body;
  double value = std::stod(one.body.substr(9));
  auto view = engine->view();
  double want = NAN;
  for (const auto& w : view->workloads) {
    if (w.workload == "web" && w.metric == "cpu" && w.window_ms == 60'000) want = w.pods.Value(pipeline::Stat::kP95);
  }
  EXPECT_NEAR(value, want, 1e-9 * want);
  EXPECT_TRUE(absl::StrContains(one.body, "\"pods\":3"));

  // Protobuf: same numbers.
  HttpResponse pb = get("namespace=shop&workload=web&metric=cpu&window=1m&stat=p95", "application/x-protobuf");
  ASSERT_EQ(pb.status, 200);
  nodepulse::api::v1::AggregatesResponse resp;
  ASSERT_TRUE(resp.ParseFromString(pb.body));
  ASSERT_EQ(resp.results_size(), 1);
  EXPECT_TRUE(resp.has_value());
  EXPECT_NEAR(resp.value(), want, 1e-9 * want);
  EXPECT_EQ(resp.results(0).pods(), 3u);
  EXPECT_GT(resp.results(0).sketch().positive_counts_size(), 0);

  // Lists everything without filters (5m and 15m are far from covered, so
  // the thresholds go); no top-level value then.
  HttpResponse all = get("min_coverage=0");
  EXPECT_EQ(all.status, 200);
  EXPECT_FALSE(absl::StartsWith(all.body, "{\"value\""));
  EXPECT_TRUE(absl::StrContains(all.body, "\"workload\":\"db\""));

  EXPECT_EQ(get("metric=gpu").status, 400);
  EXPECT_TRUE(absl::StrContains(get("metric=gpu").body, "valid metrics: cpu"));
  EXPECT_EQ(get("window=7m").status, 400);
  EXPECT_TRUE(absl::StrContains(get("window=7m").body, "1m, 5m, 15m"));
  EXPECT_EQ(get("stat=last").status, 400);
  EXPECT_EQ(get("namespace=shop&workload=nope").status, 404);
}

TEST_F(AggregatesTest, OnlyConfiguredMetricsAreComputedAndServed) {
  Run(10);
  AggregatesOptions o = Options();
  o.metrics = {"cpu"};
  auto engine = std::make_shared<AggregatesEngine>(p_, o);
  engine->Update(p_.snapshot());
  const std::string& t = engine->view()->exposition;
  EXPECT_TRUE(absl::StrContains(t, "pod:container_cpu_usage:rate1m{"));
  EXPECT_FALSE(absl::StrContains(t, "container_memory_working_set_bytes:max")) << t;
  HttpRequest r;
  r.query = "metric=memory";
  HttpResponse resp = AggregatesHandler(engine)(r);
  EXPECT_EQ(resp.status, 400);
  EXPECT_TRUE(absl::StrContains(resp.body, "not enabled")) << resp.body;
}

// A window configured on the engine is one the API accepts (the handler
// once checked window= against the default windows only), and the default
// ones the engine does not compute are refused.
TEST_F(AggregatesTest, ConfiguredNonDefaultWindowIsQueryable) {
  Run(10);
  AggregatesOptions o = Options();
  o.windows_ms = {10'000, 120'000};
  auto engine = std::make_shared<AggregatesEngine>(p_, o);
  engine->Update(p_.snapshot());
  HttpRequest r;
  r.query = "namespace=shop&workload=web&metric=cpu&window=2m&min_coverage=0";
  HttpResponse resp = AggregatesHandler(engine)(r);
  ASSERT_EQ(resp.status, 200) << resp.body;
  EXPECT_TRUE(absl::StrContains(resp.body, "\"window\":\"2m\"")) << resp.body;
  r.query = "namespace=shop&workload=web&metric=cpu&window=10s&min_coverage=0";
  EXPECT_EQ(AggregatesHandler(engine)(r).status, 200);
  r.query = "namespace=shop&workload=web&metric=cpu&window=1m";
  resp = AggregatesHandler(engine)(r);
  EXPECT_EQ(resp.status, 400);
  EXPECT_TRUE(absl::StrContains(resp.body, "10s, 2m")) << resp.body;
  EXPECT_TRUE(absl::StrContains(engine->view()->exposition, "pod:container_cpu_usage:rate2m{"));
}

TEST(AggregatesConfig, ParseAggregateMetrics) {
  auto ok = ParseAggregateMetrics("cpu,memory");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->size(), 2u);
  auto bad = ParseAggregateMetrics("cpu,gpu");
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(absl::StrContains(bad.status().message(), "valid: cpu,memory,throttling"));
  EXPECT_FALSE(ParseAggregateMetrics("").ok());
}

TEST(AggregatesWindows, ParseAndName) {
  std::vector<int64_t> w = {60'000, 300'000, 3'600'000};
  EXPECT_EQ(*ParseWindow("5m", w), 300'000);
  EXPECT_EQ(*ParseWindow("1h", w), 3'600'000);
  EXPECT_FALSE(ParseWindow("60s", w).ok());
  EXPECT_FALSE(ParseWindow("", w).ok());
  EXPECT_EQ(WindowName(15'000), "15s");
}

// A window that is not a whole number of seconds keeps its milliseconds
// (1500 ms was once named "1s", as if it were the 1 s window), and the name
// parses back to the window.
TEST(AggregatesWindows, SubSecondRemainderIsNamedInMilliseconds) {
  EXPECT_EQ(WindowName(1'500), "1500ms");
  EXPECT_EQ(WindowName(1'000), "1s");
  EXPECT_EQ(WindowName(90'000), "90s");
  EXPECT_EQ(WindowName(7'200'000), "2h");
  std::vector<int64_t> w = {1'000, 1'500};
  EXPECT_EQ(*ParseWindow("1500ms", w), 1'500);
  EXPECT_EQ(*ParseWindow("1s", w), 1'000);
}

}  // namespace
}  // namespace nodepulse::exporters

namespace nodepulse::exporters {
namespace {

class UtilizationTest : public AggregatesTest {
 protected:
  // Requests in force per pod, as the kubelet's status resources say.
  void SetRequests(std::vector<PodInfo> pods) {
    pods_ = std::make_shared<const std::vector<PodInfo>>(std::move(pods));
  }
  AggregatesOptions WithPods() {
    AggregatesOptions o = Options();
    o.pods = [this] { return pods_; };
    return o;
  }
  static const WorkloadAggregate* Find(const AggregatesView& v, const std::string& workload,
                                       const std::string& metric, int64_t window_ms = 60'000) {
    for (const WorkloadAggregate& w : v.workloads) {
      if (w.workload == workload && w.metric == metric && w.window_ms == window_ms) return &w;
    }
    return nullptr;
  }
  // pod:<series>{...pod="<pod>"} from the exposition; NaN when absent.
  static double PodSeries(const std::string& text, const std::string& series, const std::string& pod) {
    const std::string head = absl::StrCat(series, "{namespace=\"shop\",pod=\"", pod, "\"} ");
    size_t at = text.find(head);
    return at == std::string::npos ? NAN : std::stod(text.substr(at + head.size()));
  }
  std::shared_ptr<const std::vector<PodInfo>> pods_;
};

constexpr double kRel = 4.0 / (1 << 24);  // float32 cells, as above

TEST_F(UtilizationTest, UsageOverTheCurrentRequestExactlyAndPodsWithoutOneLeftOut) {
  Run(40);
  // x3 has a container without a request: HPA leaves it undefined, so do we.
  SetRequests({{"shop", "web-aaaa1-x1", "web", "Deployment", true, 1.5, 1e9},
               {"shop", "web-aaaa1-x2", "web", "Deployment", true, 0.5, 2e9},
               {"shop", "web-aaaa1-x3", "web", "Deployment", true, NAN, NAN},
               {"data", "db-0", "db", "StatefulSet", true, 2.0, 4e9}});
  AggregatesEngine engine(p_, WithPods());
  engine.Update(p_.snapshot());
  std::map<std::string, double> cpu, mem;
  for (const Container& c : containers_) {
    cpu[c.pod] += Mean(c.cpu_rates, 60);
    mem[c.pod] += MaxOf(c.mem_values, 60);
  }
  const std::string& t = engine.view()->exposition;
  const double x1 = cpu["web-aaaa1-x1"] / 1.5, x2 = cpu["web-aaaa1-x2"] / 0.5;
  EXPECT_NEAR(PodSeries(t, "pod:container_cpu_utilization:ratio1m", "web-aaaa1-x1"), x1, kRel * x1);
  EXPECT_NEAR(PodSeries(t, "pod:container_cpu_utilization:ratio1m", "web-aaaa1-x2"), x2, kRel * x2);
  EXPECT_TRUE(std::isnan(PodSeries(t, "pod:container_cpu_utilization:ratio1m", "web-aaaa1-x3"))) << "no request";
  EXPECT_NEAR(PodSeries(t, "pod:container_memory_utilization:ratio1m", "web-aaaa1-x1"), mem["web-aaaa1-x1"] / 1e9,
              kRel * mem["web-aaaa1-x1"] / 1e9);
  EXPECT_TRUE(absl::StrContains(
      t, "workload:container_cpu_utilization:ratio1m_p95{namespace=\"shop\",workload=\"web\",workload_kind=\"Deployment\"} "));

  const WorkloadAggregate* web = Find(*engine.view(), "web", "cpu_utilization");
  ASSERT_NE(web, nullptr);
  EXPECT_EQ(web->pods.Value(pipeline::Stat::kCount), 2);
  EXPECT_NEAR(web->pods.Value(pipeline::Stat::kSum), x1 + x2, kRel * (x1 + x2));
  EXPECT_NEAR(web->pods.Value(pipeline::Stat::kMax), std::max(x1, x2), kRel * std::max(x1, x2));
  EXPECT_EQ(web->pods_without_request, 1u);
  EXPECT_EQ(web->pods_expected, 2u) << "3 running, one without a request";
  // The plain cpu aggregate still counts all three pods.
  EXPECT_EQ(Find(*engine.view(), "web", "cpu")->pods.Value(pipeline::Stat::kCount), 3);

  // A resize of x2 applied (status resources 0.5 -> 1.0): the next update
  // divides by the new request.
  SetRequests({{"shop", "web-aaaa1-x1", "web", "Deployment", true, 1.5, 1e9},
               {"shop", "web-aaaa1-x2", "web", "Deployment", true, 1.0, 2e9},
               {"shop", "web-aaaa1-x3", "web", "Deployment", true, NAN, NAN},
               {"data", "db-0", "db", "StatefulSet", true, 2.0, 4e9}});
  engine.Update(p_.snapshot());
  const double x2_resized = cpu["web-aaaa1-x2"] / 1.0;
  EXPECT_NEAR(PodSeries(engine.view()->exposition, "pod:container_cpu_utilization:ratio1m", "web-aaaa1-x2"),
              x2_resized, kRel * x2_resized);
  web = Find(*engine.view(), "web", "cpu_utilization");
  EXPECT_NEAR(web->pods.Value(pipeline::Stat::kSum), x1 + x2_resized, kRel * (x1 + x2_resized));
}

TEST_F(UtilizationTest, CoverageWeighsMissingPodsAndThresholdsAnswerWithErrors) {
  Run(31);  // 30 rates of the counters, 31 working-set samples: half a 1m window
  // The kubelet runs a fourth web pod that has no samples (its cgroup is
  // not there yet): it counts 0.
  SetRequests({{"shop", "web-aaaa1-x1", "web", "Deployment", true, 1, 1e9},
               {"shop", "web-aaaa1-x2", "web", "Deployment", true, 1, 1e9},
               {"shop", "web-aaaa1-x3", "web", "Deployment", true, 1, 1e9},
               {"shop", "web-aaaa1-x4", "web", "Deployment", true, 1, 1e9},
               {"shop", "web-aaaa1-x5", "web", "Deployment", false, 1, 1e9},  // Pending: not expected
               {"data", "db-0", "db", "StatefulSet", true, 1, 1e9}});
  auto engine = std::make_shared<AggregatesEngine>(p_, WithPods());
  engine->Update(p_.snapshot());
  const WorkloadAggregate* cpu = Find(*engine->view(), "web", "cpu");
  ASSERT_NE(cpu, nullptr);
  EXPECT_EQ(cpu->pods_expected, 4u);
  EXPECT_DOUBLE_EQ(cpu->coverage, 3 * (30.0 / 60) / 4);
  EXPECT_DOUBLE_EQ(Find(*engine->view(), "web", "memory")->coverage, 3 * (31.0 / 60) / 4);
  EXPECT_DOUBLE_EQ(Find(*engine->view(), "db", "cpu", 300'000)->coverage, 30.0 / 300);
  EXPECT_EQ(cpu->newest_sample_ms, t_ms_ - 1000);

  Handler h = AggregatesHandler(engine);
  auto get = [&](const std::string& q, const std::string& accept = "") {
    HttpRequest r;
    r.query = q;
    if (!accept.empty()) r.headers["accept"] = accept;
    return h(r);
  };
  const std::string q = "namespace=shop&workload=web&metric=cpu_utilization&window=1m&stat=avg";
  // Default min_coverage 0.8: an error, and no number anywhere in it.
  HttpResponse low = get(q);
  EXPECT_EQ(low.status, 503);
  EXPECT_TRUE(absl::StrContains(low.body, "\"reason\":\"low_coverage\"")) << low.body;
  EXPECT_TRUE(absl::StrContains(low.body, "\"code\":\"UNAVAILABLE\"")) << low.body;
  EXPECT_TRUE(absl::StrContains(low.body, "\"pods\":3,\"pods_expected\":4")) << low.body;
  EXPECT_FALSE(absl::StrContains(low.body, "\"value\"")) << low.body;
  HttpResponse low_pb = get(q, "application/x-protobuf");
  EXPECT_EQ(low_pb.status, 503);
  nodepulse::api::v1::AggregatesResponse pb;
  ASSERT_TRUE(pb.ParseFromString(low_pb.body));
  EXPECT_EQ(pb.status().code(), 14);
  EXPECT_FALSE(pb.has_value());
  ASSERT_EQ(pb.results_size(), 1);
  EXPECT_DOUBLE_EQ(pb.results(0).coverage(), 0.375);

  HttpResponse ok = get(q + "&min_coverage=0.3");
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_TRUE(absl::StartsWith(ok.body, "{\"value\":")) << ok.body;
  EXPECT_TRUE(absl::StrContains(ok.body, "\"coverage\":0.375")) << ok.body;
  EXPECT_TRUE(absl::StrContains(ok.body, "\"oldest_sample_age_ms\":0")) << ok.body;

  // Collection stalls: no new cycle, the clock goes on.
  now_ms_ = t_ms_ - 1000 + 15'000;
  HttpResponse stale = get(q + "&min_coverage=0.3");
  EXPECT_EQ(stale.status, 503);
  EXPECT_TRUE(absl::StrContains(stale.body, "\"reason\":\"stale\"")) << stale.body;
  EXPECT_TRUE(absl::StrContains(stale.body, "\"oldest_sample_age_ms\":15000")) << stale.body;
  EXPECT_EQ(get(q + "&min_coverage=0.3&max_age=20s").status, 200);
  EXPECT_EQ(get(q + "&min_coverage=0.3&max_age=inf").status, 200);
  now_ms_ = 0;

  // One pod's cgroup stops answering while the others go on: the workload
  // is as fresh as its least fresh pod.
  silent_pods_ = {"web-aaaa1-x1"};
  Run(3);
  engine->Update(p_.snapshot());
  HttpResponse one_stale = get(q + "&min_coverage=0.3&max_age=2s");
  EXPECT_EQ(one_stale.status, 503) << one_stale.body;
  EXPECT_TRUE(absl::StrContains(one_stale.body, "\"oldest_sample_age_ms\":3000")) << one_stale.body;
  EXPECT_EQ(get(q + "&min_coverage=0.3&max_age=3s").status, 200);

  EXPECT_EQ(get(q + "&min_coverage=2").status, 400);
  EXPECT_TRUE(absl::StrContains(get(q + "&max_age=soon").body, "max_age=soon")) << get(q + "&max_age=soon").body;
}

}  // namespace
}  // namespace nodepulse::exporters
