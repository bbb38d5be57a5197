// Cluster-wide merge: per-node aggregates served by real HTTP servers on
// loopback, merged, must equal aggregating the union of the pods (sum, count,
// min, max exactly; quantiles within the sketch's 1%); an unreachable agent
// is reported, not dropped.
#include "nodepulse/exporters/merge.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "aggregates.pb.h"
#include "gtest/gtest.h"
#include "nodepulse/exporters/aggregates.h"
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
Node MakeNode(const std::string& name, const std::vector<double>& values) {
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
    req.query = absl::StrCat("namespace=shop&workload=web&metric=memory&window=1m&stat=", stat);
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
  req.query = "namespace=shop&workload=web&metric=memory&window=1m&stat=max";
  HttpResponse j = cluster(req);
  EXPECT_TRUE(absl::StartsWith(j.body, "{\"value\":505000000,")) << j.body;
  EXPECT_TRUE(absl::StrContains(j.body, "\"errors\":[{\"url\":\"" + agents[2])) << j.body;
}

}  // namespace
}  // namespace nodepulse::exporters
