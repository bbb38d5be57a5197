// HealthReporter on a real Pipeline fed by hand: findings and their "since",
// top lists, leaf-cgroup selection, OOM/restart counting over the last hour,
// and the renderers (JSON escaping, text, top, status page, sparklines).
#include "nodepulse/exporters/health/health.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "nodepulse/base/json_writer.h"
#include "status_page.h"
#include "nodepulse/pipeline/pipeline.h"

namespace nodepulse::exporters {

using base::JsonWriter;
namespace {

using pipeline::EntityId;
using pipeline::Labels;
using pipeline::MetricKind;
using pipeline::MetricSpec;
using pipeline::Pipeline;
using pipeline::SeriesId;

constexpr int64_t kT0 = 1'700'000'000'000;  // ms
constexpr double kMiB = 1024.0 * 1024.0;

Labels Cadvisor(const std::string& id, const std::string& ns = "", const std::string& pod = "",
                const std::string& container = "") {
  return {{"container", container}, {"id", id}, {"image", ""}, {"name", ""}, {"namespace", ns}, {"pod", pod}};
}

// A node with two CPUs and a few cgroups, written cycle by cycle at 1 s.
class Fixture {
 public:
  Fixture() : p_(Options()) {
    cpu_ = Reg("container_cpu_usage_seconds_total", MetricKind::kCounter, true);
    periods_ = Reg("container_cpu_cfs_periods_total", MetricKind::kCounter, true);
    throttled_ = Reg("container_cpu_cfs_throttled_periods_total", MetricKind::kCounter, true);
    ws_ = Reg("container_memory_working_set_bytes", MetricKind::kGauge, true);
    limit_ = Reg("container_spec_memory_limit_bytes", MetricKind::kGauge, false);
    oom_ = Reg("container_oom_events_total", MetricKind::kCounter, false);
    node_cpu_ = Reg("node_cpu_seconds_total", MetricKind::kCounter, true);
    mem_total_ = Reg("node_memory_MemTotal_bytes", MetricKind::kGauge, false);
    mem_avail_ = Reg("node_memory_MemAvailable_bytes", MetricKind::kGauge, true);
    psi_ = Reg("nodepulse_node_pressure_avg_ratio", MetricKind::kGauge, false);
  }
  static pipeline::Options Options() {
    pipeline::Options o;
    return o;
  }
  pipeline::MetricId Reg(const std::string& name, MetricKind kind, bool history) {
    auto id = p_.RegisterMetric(MetricSpec{name, "help", kind, history});
    EXPECT_TRUE(id.ok()) << id.status();
    return *id;
  }
  struct Cg {
    EntityId e;
    SeriesId cpu, periods, throttled, ws, limit, oom;
  };
  Cg AddCgroup(Labels labels) {
    Cg c;
    c.e = p_.AddEntity(std::move(labels));
    c.cpu = p_.Intern(cpu_, c.e, {{"cpu", "total"}});
    c.periods = p_.Intern(periods_, c.e);
    c.throttled = p_.Intern(throttled_, c.e);
    c.ws = p_.Intern(ws_, c.e);
    c.limit = p_.Intern(limit_, c.e);
    c.oom = p_.Intern(oom_, c.e);
    return c;
  }
  Pipeline& p() { return p_; }

  // Node series, set every cycle by Cycle().
  void SetupNode() {
    for (int cpu = 0; cpu < 2; ++cpu) {
      for (const char* mode : {"user", "idle"}) {
        node_cpu_series_.push_back(
            p_.Intern(node_cpu_, pipeline::kNodeEntity, {{"cpu", std::to_string(cpu)}, {"mode", mode}}));
      }
    }
    total_ = p_.Intern(mem_total_, pipeline::kNodeEntity);
    avail_ = p_.Intern(mem_avail_, pipeline::kNodeEntity);
    psi_cpu_some60_ = p_.Intern(psi_, pipeline::kNodeEntity,
                                {{"kind", "some"}, {"resource", "cpu"}, {"window", "60s"}});
  }
  // One collection cycle at kT0 + i s. `fn` sets the cgroup values.
  template <typename Fn>
  void Cycle(int i, Fn fn) {
    p_.BeginCycle(kT0 + int64_t{i} * 1000);
    // Node: CPU user 0.5 s/s per CPU (25% of 2 CPUs... i.e. 1 core busy), 16 GiB of which 8 available.
    for (size_t k = 0; k < node_cpu_series_.size(); ++k) p_.Set(node_cpu_series_[k], i * 0.5);
    p_.Set(total_, 16 * 1024 * kMiB);
    p_.Set(avail_, node_avail_);
    p_.Set(psi_cpu_some60_, psi_cpu_);
    fn();
    p_.EndCycle();
  }
  double node_avail_ = 8 * 1024 * kMiB;
  double psi_cpu_ = 0.02;

 private:
  Pipeline p_;
  pipeline::MetricId cpu_, periods_, throttled_, ws_, limit_, oom_, node_cpu_, mem_total_, mem_avail_, psi_;
  std::vector<SeriesId> node_cpu_series_;
  SeriesId total_ = 0, avail_ = 0, psi_cpu_some60_ = 0;
};

HealthOptions Opts() {
  HealthOptions o;
  o.node_name = "node-a";
  o.track_interval_ms = 0;  // no thread: the test drives Report()
  o.start_time_ms = kT0;
  return o;
}

const Finding* FindingOf(const HealthReport& r, const std::string& kind, const std::string& id = "") {
  for (const Finding& f : r.findings) {
    if (f.kind == kind && (id.empty() || f.ref.id == id)) return &f;
  }
  return nullptr;
}

TEST(HealthReporter, NullBeforeTheFirstCycle) {
  Fixture fx;
  HealthReporter h(fx.p(), Opts());
  // The pipeline publishes an empty snapshot at construction or none at all;
  // either way there is nothing to report on.
  auto r = h.Report();
  if (r) {
    EXPECT_TRUE(r->containers.empty());
  }
}

TEST(HealthReporter, NearLimitAndThrottledWithSinceFromTheRings) {
  Fixture fx;
  fx.SetupNode();
  auto parent = fx.AddCgroup(Cadvisor("/kubepods/pod1"));  // pod cgroup: a parent, not a row
  auto app = fx.AddCgroup(Cadvisor("/kubepods/pod1/c1", "shop", "web-7d9f-x2", "app"));
  auto idle = fx.AddCgroup(Cadvisor("/kubepods/pod1/c2", "shop", "web-7d9f-x2", "sidecar"));
  HealthReporter h(fx.p(), Opts());
  // 120 s: app's working set reaches 95% of its limit at t=40 and stays; it is
  // throttled in 50% of its periods throughout.
  for (int i = 0; i <= 120; ++i) {
    fx.Cycle(i, [&] {
      fx.p().Set(parent.cpu, i * 1.0);
      fx.p().Set(parent.ws, 200 * kMiB);
      fx.p().Set(app.cpu, i * 0.8);
      fx.p().Set(app.periods, i * 10.0);
      fx.p().Set(app.throttled, i * 5.0);
      fx.p().Set(app.ws, (i < 40 ? 50 : 95) * kMiB);
      fx.p().Set(app.limit, 100 * kMiB);
      fx.p().Set(idle.cpu, i * 0.01);
      fx.p().Set(idle.ws, 10 * kMiB);
      fx.p().Set(idle.limit, 0);  // unlimited
    });
  }
  auto r = h.Report();
  ASSERT_TRUE(r);
  EXPECT_STREQ(r->Status(), "warning");
  ASSERT_EQ(r->containers.size(), 2u) << "the pod cgroup is a parent and must not be a row";
  ASSERT_FALSE(r->top_cpu.empty());
  const ContainerHealth& top = r->containers[r->top_cpu[0]];
  EXPECT_EQ(top.ref.container, "app");
  EXPECT_NEAR(top.cpu_cores, 0.8, 1e-6);
  EXPECT_NEAR(top.throttled_ratio, 0.5, 1e-6);
  EXPECT_NEAR(top.memory_limit_ratio, 0.95, 1e-9);
  EXPECT_TRUE(std::isnan(r->containers[r->top_memory[1]].memory_limit_bytes)) << "0 = unlimited";
  EXPECT_TRUE(r->kubernetes);
  EXPECT_NEAR(r->node.cpu_busy_cores, 1.0, 1e-6);
  EXPECT_EQ(r->node.cpu_count, 2);

  const Finding* mem = FindingOf(*r, "memory_near_limit");
  ASSERT_NE(mem, nullptr);
  EXPECT_EQ(mem->ref.pod, "web-7d9f-x2");
  EXPECT_EQ(mem->severity, Severity::kWarning);
  // Back-dated from the 10 s tier: the condition began at t=40 s.
  EXPECT_GE(mem->since_ms, kT0 + 40'000);
  EXPECT_LE(mem->since_ms, kT0 + 50'000);
  const Finding* thr = FindingOf(*r, "cpu_throttled");
  ASSERT_NE(thr, nullptr);
  EXPECT_EQ(thr->ref.container, "app");
  EXPECT_LE(thr->since_ms, kT0 + 10'000) << "throttled since the start";
  EXPECT_EQ(FindingOf(*r, "node_cpu"), nullptr) << "1 of 2 cores is not saturated";

  // Still holding later: since is kept; once it stops, the finding goes.
  for (int i = 121; i <= 125; ++i) {
    fx.Cycle(i, [&] {
      fx.p().Set(app.cpu, i * 0.8);
      fx.p().Set(app.periods, i * 10.0);
      fx.p().Set(app.throttled, i * 5.0);
      fx.p().Set(app.ws, 95 * kMiB);
      fx.p().Set(app.limit, 100 * kMiB);
    });
  }
  auto r2 = h.Report();
  ASSERT_NE(FindingOf(*r2, "memory_near_limit"), nullptr);
  EXPECT_EQ(FindingOf(*r2, "memory_near_limit")->since_ms, mem->since_ms);
  fx.Cycle(126, [&] {
    fx.p().Set(app.ws, 20 * kMiB);
    fx.p().Set(app.limit, 100 * kMiB);
  });
  auto r3 = h.Report();
  EXPECT_EQ(FindingOf(*r3, "memory_near_limit"), nullptr);
  EXPECT_TRUE(r3->near_limit.empty());
}

TEST(HealthReporter, ReportIsBuiltOncePerCycle) {
  Fixture fx;
  fx.SetupNode();
  fx.AddCgroup(Cadvisor("/a"));
  HealthReporter h(fx.p(), Opts());
  fx.Cycle(0, [] {});
  auto a = h.Report();
  auto b = h.Report();
  EXPECT_EQ(a.get(), b.get()) << "same cycle, same report";
  fx.Cycle(1, [] {});
  EXPECT_NE(h.Report().get(), a.get());
}

TEST(HealthReporter, OomKillsCountedOverTheLastHourNotBefore) {
  Fixture fx;
  fx.SetupNode();
  auto c = fx.AddCgroup(Cadvisor("/jobs/batch"));
  HealthOptions o = Opts();
  o.events_window_ms = 60'000;  // a 1-minute "hour" keeps the test short
  HealthReporter h(fx.p(), o);
  // 2 kills happened before the reporter first looked: history of unknown age.
  fx.Cycle(0, [&] { fx.p().Set(c.oom, 2); });
  auto r0 = h.Report();
  ASSERT_EQ(r0->oom_kills.size(), 1u);
  EXPECT_EQ(r0->oom_kills[0].recent, 0);
  EXPECT_EQ(r0->oom_kills[0].total, 2);
  EXPECT_EQ(FindingOf(*r0, "oom_killed"), nullptr);
  // One more at t=10 s.
  for (int i = 1; i <= 10; ++i) fx.Cycle(i, [&] { fx.p().Set(c.oom, i < 10 ? 2 : 3); });
  auto r1 = h.Report();
  const Finding* f = FindingOf(*r1, "oom_killed", "/jobs/batch");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->severity, Severity::kCritical);
  EXPECT_EQ(f->since_ms, kT0 + 10'000);
  EXPECT_EQ(r1->oom_kills[0].recent, 1);
  EXPECT_STREQ(r1->Status(), "critical");
  // The cgroup is replaced (counter resets to 0, then 1): a reset counts the new value.
  fx.Cycle(11, [&] { fx.p().Set(c.oom, 1); });
  EXPECT_EQ(h.Report()->oom_kills[0].recent, 2);
  // A window later the kills have aged out (sampled every 10 s as the tracker would).
  for (int i = 12; i <= 80; ++i) {
    fx.Cycle(i, [&] { fx.p().Set(c.oom, 1); });
    if (i % 10 == 0) h.Report();
  }
  auto r2 = h.Report();
  EXPECT_EQ(FindingOf(*r2, "oom_killed"), nullptr);
  ASSERT_EQ(r2->oom_kills.size(), 1u);
  EXPECT_EQ(r2->oom_kills[0].recent, 0);
}

TEST(HealthReporter, NodeMemoryAndPressure) {
  Fixture fx;
  fx.SetupNode();
  fx.node_avail_ = 0.5 * 1024 * kMiB;  // 0.5 of 16 GiB: 3%
  fx.psi_cpu_ = 0.7;
  HealthReporter h(fx.p(), Opts());
  for (int i = 0; i < 5; ++i) fx.Cycle(i, [] {});
  auto r = h.Report();
  const Finding* m = FindingOf(*r, "node_memory");
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->severity, Severity::kCritical);
  const Finding* p = FindingOf(*r, "node_pressure");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->resource, "cpu");
  EXPECT_EQ(r->findings[0].severity, Severity::kCritical) << "critical first";
}

TEST(HealthRender, JsonTextTopAndPage) {
  Fixture fx;
  fx.SetupNode();
  auto c = fx.AddCgroup(Cadvisor("/kubepods/pod1/c", "ns", "pod-1", "c"));
  auto weird = fx.AddCgroup(Cadvisor("/weird/\"quoted\"\\<b>\n"));
  HealthReporter h(fx.p(), Opts());
  for (int i = 0; i <= 30; ++i) {
    fx.Cycle(i, [&] {
      fx.p().Set(weird.cpu, i * 0.25);
      fx.p().Set(weird.ws, 1 * kMiB);
      fx.p().Set(c.cpu, i * 0.5);
      fx.p().Set(c.ws, 99 * kMiB);
      fx.p().Set(c.limit, 100 * kMiB);
    });
  }
  auto r = h.Report();
  std::string json = RenderHealthJson(*r);
  EXPECT_TRUE(absl::StrContains(json, R"("id":"/weird/\"quoted\"\\<b>\n")")) << json;
  EXPECT_TRUE(absl::StrContains(json, R"("status":"critical")"));
  EXPECT_TRUE(absl::StrContains(json, R"("kind":"memory_near_limit")"));
  EXPECT_TRUE(absl::StrContains(json, R"("since":")"));
  EXPECT_TRUE(absl::StrContains(json, R"("pressure":{"cpu":{"some":{"avg10":null,"avg60":0.02)")) << json;
  EXPECT_FALSE(absl::StrContains(json, "nan"));
  // Balanced braces outside strings: a cheap well-formedness check.
  int depth = 0;
  bool in_str = false;
  for (size_t i = 0; i < json.size(); ++i) {
    char ch = json[i];
    if (in_str) {
      if (ch == '\\') ++i;
      else if (ch == '"') in_str = false;
    } else if (ch == '"') {
      in_str = true;
    } else if (ch == '{' || ch == '[') {
      ++depth;
    } else if (ch == '}' || ch == ']') {
      --depth;
      ASSERT_GE(depth, 0);
    }
  }
  EXPECT_EQ(depth, 0);
  EXPECT_FALSE(in_str);

  std::string text = RenderHealthText(*r);
  EXPECT_TRUE(absl::StartsWith(text, "nodepulse health: CRITICAL - node-a - 1 finding")) << text;
  EXPECT_TRUE(absl::StrContains(text, "ns/pod-1/c")) << text;
  EXPECT_TRUE(absl::StrContains(text, "99 MiB = 99% of its 100 MiB limit")) << text;

  TopOptions t;
  t.sort = "memory";
  std::string top = RenderHealthTop(*r, t);
  EXPECT_TRUE(absl::StrContains(top, "NAMESPACE/POD/CONTAINER")) << top;
  EXPECT_TRUE(absl::StrContains(top, "ns/pod-1/c")) << top;
  EXPECT_TRUE(absl::StrContains(top, "0.50")) << top;

  auto hist = h.History(*r);
  ASSERT_TRUE(hist);
  EXPECT_EQ(hist->step_ms, 1000) << "a young agent charts the 1 s tier";
  EXPECT_GE(hist->slots, 25u);
  std::string page = RenderStatusPage(*r, *hist);
  EXPECT_TRUE(absl::StrContains(page, "&quot;quoted&quot;\\&lt;b&gt;")) << "escaped";
  EXPECT_FALSE(absl::StrContains(page, "<b>\n"));
  EXPECT_TRUE(absl::StrContains(page, "pod-1"));
  EXPECT_TRUE(absl::StrContains(page, "<svg class=\"spark"));
  EXPECT_FALSE(absl::StrContains(page, "http://")) << "self-contained: no external URLs";
  EXPECT_FALSE(absl::StrContains(page, "https://"));
}

TEST(HealthRender, SparklineGapsAndFormatting) {
  std::string svg = SparklineSvg({1, 2, NAN, NAN, 3, NAN}, 4, 100, 20, "spark");
  // Two segments: two "M" in the line path, and the lone "3" gets a tick.
  size_t l = svg.find("class=\"l\" d=\"");
  ASSERT_NE(l, std::string::npos);
  std::string d = svg.substr(l, svg.find('"', l + 13) - l);
  EXPECT_EQ(std::count(d.begin(), d.end(), 'M'), 2) << d;
  EXPECT_NE(d.find('h'), std::string::npos) << d;
  EXPECT_EQ(SparklineSvg({}, 1, 10, 10, "s").find("class=\"l\""), std::string::npos);
  EXPECT_EQ(FormatBytes(70 * kMiB), "70 MiB");
  EXPECT_EQ(FormatBytes(1.5 * 1024 * kMiB), "1.5 GiB");
  EXPECT_EQ(FormatPercent(0.934), "93%");
  EXPECT_EQ(FormatPercent(0.012), "1.2%");
  EXPECT_EQ(FormatDurationRounded(60'000), "1m");
  EXPECT_EQ(FormatDurationRounded(252'000), "4m12s");
  EXPECT_EQ(FormatDurationRounded(3'600'000), "1h");
  EXPECT_EQ(HtmlEscape("<a href='x'>&"), "&lt;a href=&#39;x&#39;&gt;&amp;");
  JsonWriter j;
  j.BeginObject().Field("a", std::string("\x01\t")).Field("n", 1.5).Field("i", 3.0).Field("x", NAN).EndObject();
  EXPECT_EQ(j.str(), R"({"a":"\u0001\t","n":1.5,"i":3,"x":null})");
}

}  // namespace
}  // namespace nodepulse::exporters
