// Cluster-wide merge: per-node aggregates served by real HTTP servers on
// loopback, merged, must equal aggregating the union of the pods (sum, count,
// min, max exactly; quantiles within the sketch's 1%); an unreachable agent
// is reported, not dropped, and past max_missing_agents it refuses the
// answer; coverage merges pod-weighted.
#include "nodepulse/exporters/aggregates/merge.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "aggregates.pb.h"
#include "gtest/gtest.h"
#include "nodepulse/exporters/aggregates/aggregates.h"
#include "process.h"

namespace nodepulse::exporters {
namespace {

using pipeline::MetricKind;

struct Node {
  std::unique_ptr<pipeline::Pipeline> pipeline;
  std::shared_ptr<AggregatesEngine> engine;
  std::unique_ptr<HttpServer> server;
};

// A node whose workload "web" has one pod per value, each pod one container
// whose working set is that value.
Node MakeNode(const std::string& name, const std::vector<double>& values, uint32_t running = 0) {
  Node n;
  n.pipeline = std::make_unique<pipeline::Pipeline>(pipeline::Options{});
  auto mem = n.pipeline->RegisterMetric(
      {"container_memory_working_set_bytes", "ws", MetricKind::kGauge, true});
  std::vector<pipeline::SeriesId> ids;
  for (size_t i = 0; i < values.size(); ++i) {
    std::string pod = absl::StrCat("web-", name, "-", i);
    auto e = n.pipeline->AddEntity({{"container", "app"}, {"id", "/" + pod}, {"image", "img"},
                                    {"name", "c"}, {"namespace", "shop"}, {"pod", pod}});
    ids.push_back(n.pipeline->Intern(*mem, e));
  }
  n.pipeline->BeginCycle(1'700'000'000'000);
  for (size_t i = 0; i < values.size(); ++i) n.pipeline->Set(ids[i], values[i]);
  n.pipeline->EndCycle();
  AggregatesOptions o;
  o.owner_lookup = [](absl::string_view, absl::string_view) -> std::optional<PodOwnerInfo> {
    return PodOwnerInfo{"web", "Deployment"};
  };
  o.now_ms = [] { return int64_t{1'700'000'000'000}; };
  if (running > 0) {  // the kubelet runs this many web pods here
    auto pods = std::make_shared<std::vector<PodInfo>>();
    for (uint32_t i = 0; i < running; ++i) {
      pods->push_back({"shop", absl::StrCat("web-", name, "-", i), "web", "Deployment", true, 1, 1});
    }
    o.pods = [pods] { return pods; };
  }
  n.engine = std::make_shared<AggregatesEngine>(*n.pipeline, o);
  n.engine->Update(n.pipeline->snapshot());
  HttpServerOptions ho;
  ho.listen = "127.0.0.1:0";
  n.server = std::make_unique<HttpServer>(ho);
  n.server->Handle("/api/v1/aggregates", AggregatesHandler(n.engine));
  EXPECT_TRUE(n.server->Start().ok());
  return n;
}

TEST(ClusterMerge, EqualsAggregatingTheUnion) {
  const std::vector<double> a = {120e6, 340e6, 95e6, 410e6}, b = {220e6, 180e6, 505e6};
  Node na = MakeNode("a", a), nb = MakeNode("b", b);
  int dead = testing::FreeLoopbackPort();  // nothing listens there
  std::vector<std::string> agents = {absl::StrCat("http://127.0.0.1:", na.server->port()),
                                     absl::StrCat("http://127.0.0.1:", nb.server->port()),
                                     absl::StrCat("http://127.0.0.1:", dead)};
  Handler cluster = ClusterAggregatesHandler(agents, absl::Seconds(2));

  std::vector<double> all = a;
  all.insert(all.end(), b.begin(), b.end());
  std::sort(all.begin(), all.end());
  double sum = 0;
  for (double v : all) sum += v;

  for (const char* stat : {"sum", "count", "min", "max", "avg", "p50", "p95"}) {
    HttpRequest req;
    // One sample (coverage 1/60) and one agent of three down: allowed here.
    req.query = absl::StrCat("namespace=shop&workload=web&metric=memory&window=1m&min_coverage=0",
                             "&max_missing_agents=0.34&stat=", stat);
    req.headers["accept"] = "application/x-protobuf";
    HttpResponse r = cluster(req);
    ASSERT_EQ(r.status, 200);
    nodepulse::api::v1::AggregatesResponse resp;
    ASSERT_TRUE(resp.ParseFromString(r.body));
    ASSERT_EQ(resp.results_size(), 1) << stat;
    ASSERT_TRUE(resp.has_value());
    const auto& res = resp.results(0);
    EXPECT_EQ(res.pods(), all.size());
    EXPECT_DOUBLE_EQ(res.sum(), sum);
    EXPECT_DOUBLE_EQ(res.min(), all.front());
    EXPECT_DOUBLE_EQ(res.max(), all.back());
    const std::string s = stat;
    double want = s == "sum" ? sum
                : s == "count" ? static_cast<double>(all.size())
                : s == "min" ? all.front()
                : s == "max" ? all.back()
                : s == "avg" ? sum / static_cast<double>(all.size())
                : all[static_cast<size_t>(std::floor((s == "p50" ? 0.5 : 0.95) * (all.size() - 1)))];
    if (absl::StartsWith(s, "p")) {
      EXPECT_NEAR(resp.value(), want, 0.01 * want) << stat << ": within the sketch's 1%";
    } else {
      EXPECT_DOUBLE_EQ(resp.value(), want) << stat;
    }
    ASSERT_EQ(resp.errors_size(), 1) << "the unreachable agent is reported";
    EXPECT_EQ(resp.errors(0).url(), agents[2]);
  }
  // JSON form, as KEDA reads it.
  HttpRequest req;
  req.query = "namespace=shop&workload=web&metric=memory&window=1m&stat=max&min_coverage=0&max_missing_agents=0.34";
  HttpResponse j = cluster(req);
  EXPECT_TRUE(absl::StartsWith(j.body, "{\"value\":505000000,")) << j.body;
  EXPECT_TRUE(absl::StrContains(j.body, "\"errors\":[{\"url\":\"" + agents[2])) << j.body;
  // By default no agent may be missing: an error, not a partial number.
  req.query = "namespace=shop&workload=web&metric=memory&window=1m&stat=max&min_coverage=0";
  HttpResponse partial = cluster(req);
  EXPECT_EQ(partial.status, 503);
  EXPECT_TRUE(absl::StrContains(partial.body, "\"reason\":\"agents_missing\"")) << partial.body;
  EXPECT_FALSE(absl::StrContains(partial.body, "\"value\"")) << partial.body;
}

TEST(ClusterMerge, CoverageIsPodWeightedAndThresholdsApplyToTheMerge) {
  // Node a: 2 pods with samples of 3 the kubelet runs; node b: 1 of 1. Each
  // has one sample of a 1m window, so a pod's coverage is 1/60.
  Node na = MakeNode("a", {1e6, 2e6}, 3), nb = MakeNode("b", {3e6}, 1);
  Handler cluster = ClusterAggregatesHandler(
      std::vector<std::string>{absl::StrCat("http://127.0.0.1:", na.server->port()),
                               absl::StrCat("http://127.0.0.1:", nb.server->port())},
      absl::Seconds(2));
  HttpRequest req;
  req.headers["accept"] = "application/x-protobuf";
  req.query = "namespace=shop&workload=web&metric=memory&window=1m&min_coverage=0";
  HttpResponse r = cluster(req);
  ASSERT_EQ(r.status, 200) << r.body;
  nodepulse::api::v1::AggregatesResponse resp;
  ASSERT_TRUE(resp.ParseFromString(r.body));
  ASSERT_EQ(resp.results_size(), 1);
  EXPECT_EQ(resp.agents(), 2u);
  EXPECT_EQ(resp.results(0).pods(), 3u);
  EXPECT_EQ(resp.results(0).pods_expected(), 4u);
  EXPECT_DOUBLE_EQ(resp.results(0).coverage(), 3.0 / 60 / 4);
  // The agents were asked without thresholds; the merge applies the client's.
  req.query = "namespace=shop&workload=web&metric=memory&window=1m&min_coverage=0.05";
  HttpResponse low = cluster(req);
  EXPECT_EQ(low.status, 503);
  ASSERT_TRUE(resp.ParseFromString(low.body));
  EXPECT_EQ(resp.status().reason(), "low_coverage");
  EXPECT_EQ(resp.status().code(), 14);
  EXPECT_EQ(AgentQuery("metric=cpu&min_coverage=0.9&max_age=5s&window=1m"),
            "metric=cpu&window=1m&min_coverage=0&max_age=inf");
}

}  // namespace
}  // namespace nodepulse::exporters
