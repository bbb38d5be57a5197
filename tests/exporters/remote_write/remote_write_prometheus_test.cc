// remote_write into a real Prometheus (Debian's `prometheus` package) on
// loopback, started with --web.enable-remote-write-receiver and a temp data
// dir. The tests read back raw samples through the HTTP API (an instant
// query of a range selector returns every stored sample) and compare them,
// timestamp by timestamp, with what the pipeline produced:
//   * ingest: labels and values arrive as produced;
//   * outage: Prometheus is stopped for 20+ s while collection goes on, then
//     restarted on the same data dir and port; nothing missing or duplicated;
//   * SIGKILL: remote_write_driver (a tiny agent) is killed during an outage
//     and restarted on the same state dir; its queued samples arrive once.
// Prometheus ignores a resent identical sample, so "duplicated" is also
// checked on our side: samples sent == samples enqueued (+ recovered).
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "nodepulse/exporters/remote_write/remote_write.h"
#include "nodepulse/pipeline/pipeline.h"
#include "process.h"

namespace nodepulse::exporters {
namespace {

using ::nodepulse::testing::ChildProcess;
using ::nodepulse::testing::FreeLoopbackPort;
using ::nodepulse::testing::HttpGet;
using ::nodepulse::testing::MakeTempDir;
using ::nodepulse::testing::RemoveTree;
using ::nodepulse::testing::WaitFor;
using ::nodepulse::testing::WriteFile;

std::string PrometheusBinary();
bool HavePrometheus() { return ::access(PrometheusBinary().c_str(), X_OK) == 0; }
std::string PrometheusBinary() {
  const char* env = std::getenv("PROMETHEUS");
  return env != nullptr ? env : "/usr/bin/prometheus";
}

std::string UrlEncode(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (isalnum(c) || c == '_' || c == '-' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      char b[4];
      snprintf(b, sizeof(b), "%%%02X", c);
      out += b;
    }
  }
  return out;
}

// A Prometheus we own: one data dir and port across restarts.
class Prometheus {
 public:
  explicit Prometheus(const std::string& dir) : dir_(dir), port_(FreeLoopbackPort()) {
    WriteFile(dir_ + "/prometheus.yml", "global:\n  scrape_interval: 15s\n");
  }
  ~Prometheus() { Stop(); }

  bool Start() {
    child_ = std::make_unique<ChildProcess>(std::vector<std::string>{
        PrometheusBinary(), "--config.file=" + dir_ + "/prometheus.yml", "--storage.tsdb.path=" + dir_ + "/data",
        absl::StrCat("--web.listen-address=127.0.0.1:", port_), "--web.enable-remote-write-receiver",
        "--storage.tsdb.retention.time=2h", "--log.level=warn"});
    return WaitFor([&] { return HttpGet(port_, "/-/ready").status == 200 || child_->Exited(); }, 60000, 100) &&
           !child_->Exited();
  }
  void Stop() {
    if (child_ != nullptr) {
      child_->Stop(SIGTERM, 30000);
      log_ += child_->Output();
      child_.reset();
    }
  }
  std::string url() const { return absl::StrCat("http://127.0.0.1:", port_, "/api/v1/write"); }
  std::string log() const { return log_ + (child_ ? child_->Output() : ""); }

  // Every stored sample of `selector` in the last 30 minutes: ts_ms -> value,
  // plus how many (ts) entries came back, so a duplicate would show.
  struct Result {
    std::map<int64_t, double> samples;
    size_t entries = 0;
    int series = 0;
    bool ok = false;
    std::string body;
  };
  Result Query(const std::string& selector) const {
    const int64_t now_s = absl::ToUnixSeconds(absl::Now()) + 5;
    auto r = HttpGet(port_, absl::StrCat("/api/v1/query?query=", UrlEncode(selector + "[30m]"), "&time=", now_s));
    Result out;
    out.body = r.body;
    if (r.status != 200 || r.body.find("\"status\":\"success\"") == std::string::npos) return out;
    out.ok = true;
    size_t pos = 0;
    while ((pos = r.body.find("\"values\":[", pos)) != std::string::npos) {
      ++out.series;
      pos += 10;
      // [[1700000000.123,"5"],[...]]
      while (pos < r.body.size() && r.body[pos] == '[') {
        size_t comma = r.body.find(',', pos);
        size_t q1 = r.body.find('"', comma);
        size_t q2 = r.body.find('"', q1 + 1);
        if (comma == std::string::npos || q2 == std::string::npos) return out;
        std::string ts = r.body.substr(pos + 1, comma - pos - 1);
        std::string val = r.body.substr(q1 + 1, q2 - q1 - 1);
        std::vector<std::string> parts = absl::StrSplit(ts, '.');
        int64_t sec = 0, ms = 0;
        (void)absl::SimpleAtoi(parts[0], &sec);  // 0 on garbage, as before
        if (parts.size() > 1) {
          std::string frac = (parts[1] + "000").substr(0, 3);
          (void)absl::SimpleAtoi(frac, &ms);
        }
        double v = 0;
        (void)absl::SimpleAtod(val, &v);
        out.samples[sec * 1000 + ms] = v;
        ++out.entries;
        pos = q2 + 2;  // past "]
        if (pos < r.body.size() && r.body[pos] == ',') ++pos;
      }
    }
    return out;
  }
  std::string Series(const std::string& match) const {
    return HttpGet(port_, absl::StrCat("/api/v1/series?match[]=", UrlEncode(match))).body;
  }

 private:
  std::string dir_;
  int port_;
  std::unique_ptr<ChildProcess> child_;
  std::string log_;
};

// A real Pipeline at a real period: value = cycle number, wall-clock ts.
class Collector {
 public:
  Collector() {
    auto g = p_.RegisterMetric({"np_rw_e2e_value", "test gauge", pipeline::MetricKind::kGauge, false});
    auto c = p_.RegisterMetric({"np_rw_e2e_bytes_total", "test counter", pipeline::MetricKind::kCounter, false});
    auto n = p_.RegisterMetric({"np_rw_e2e_node_load", "node-level", pipeline::MetricKind::kGauge, false});
    EXPECT_TRUE(g.ok() && c.ok() && n.ok());
    auto e = p_.AddEntity({{"container", "app"},
                           {"id", "/kubepods/burstable/pod1234/abcd"},
                           {"image", "registry/app:1.2"},
                           {"namespace", "shop"},
                           {"pod", "cart-7d9f-x2"}});
    gauge_ = p_.Intern(*g, e, {{"cpu", "total"}});
    counter_ = p_.Intern(*c, e, {{"device", "sda"}});
    node_ = p_.Intern(*n, pipeline::kNodeEntity);
  }
  void Cycle(RemoteWriter& w) {
    ++cycle_;
    const int64_t ts = absl::ToUnixMillis(absl::Now());
    p_.BeginCycle(ts);
    p_.Set(gauge_, static_cast<double>(cycle_));
    p_.Set(counter_, cycle_ * 1024.0);
    p_.Set(node_, cycle_ / 4.0);
    p_.EndCycle();
    w.OnSnapshot(p_.snapshot());
    produced_[ts] = static_cast<double>(cycle_);
  }
  // Cycles every `period` for `duration`.
  void Run(RemoteWriter& w, absl::Duration duration, absl::Duration period = absl::Milliseconds(250)) {
    const absl::Time end = absl::Now() + duration;
    while (absl::Now() < end) {
      Cycle(w);
      absl::SleepFor(period);
    }
  }
  const std::map<int64_t, double>& produced() const { return produced_; }

 private:
  pipeline::Pipeline p_{pipeline::Options{}};
  pipeline::SeriesId gauge_, counter_, node_;
  int64_t cycle_ = 0;
  std::map<int64_t, double> produced_;  // gauge: ts -> value
};

struct Diff {
  int missing = 0, duplicated = 0, wrong_value = 0, unexpected = 0;
};
Diff Compare(const std::map<int64_t, double>& want, const Prometheus::Result& got) {
  Diff d;
  d.duplicated = static_cast<int>(got.entries - got.samples.size());
  for (const auto& [ts, v] : want) {
    auto it = got.samples.find(ts);
    if (it == got.samples.end()) {
      ++d.missing;
    } else if (it->second != v) {
      ++d.wrong_value;
    }
  }
  for (const auto& [ts, v] : got.samples) d.unexpected += want.count(ts) ? 0 : 1;
  return d;
}

class RemoteWritePrometheusTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!HavePrometheus()) {
      GTEST_FAIL() << "the real-Prometheus remote_write tests need /usr/bin/prometheus: "
                      "install Debian's prometheus package (apt-get install prometheus)";
    }
    dir_ = MakeTempDir("rw-prom-test");
  }
  void TearDown() override {
    if (!dir_.empty()) RemoveTree(dir_);
  }
  RemoteWriteOptions Options(const std::string& url) {
    RemoteWriteOptions o;
    o.urls = {url};
    o.state_dir = dir_ + "/state";
    o.min_backoff = absl::Milliseconds(50);
    o.max_backoff = absl::Seconds(1);
    o.timeout = absl::Seconds(10);
    o.external_labels = {{"node", "test-node"}};
    return o;
  }
  std::string dir_;
};

TEST_F(RemoteWritePrometheusTest, PrometheusIngestsLabelsAndValues) {
  Prometheus prom(dir_);
  ASSERT_TRUE(prom.Start()) << prom.log();
  auto w = RemoteWriter::Create(Options(prom.url()), nullptr);
  ASSERT_TRUE(w.ok()) << w.status();
  Collector col;
  col.Run(**w, absl::Seconds(3));
  ASSERT_TRUE(WaitFor([&] { return (*w)->stats().urls[0].samples_pending == 0; }, 30000));
  (*w)->Stop(absl::Seconds(5));
  const auto st = (*w)->stats();
  EXPECT_EQ(st.urls[0].samples_sent, st.samples_enqueued);
  EXPECT_EQ(st.urls[0].samples_failed, 0u);

  auto got = prom.Query(
      R"(np_rw_e2e_value{namespace="shop",pod="cart-7d9f-x2",container="app",cpu="total",node="test-node"})");
  ASSERT_TRUE(got.ok) << got.body;
  EXPECT_EQ(got.series, 1);
  Diff d = Compare(col.produced(), got);
  std::cout << "[ingest] produced=" << col.produced().size() << " stored=" << got.entries
            << " missing=" << d.missing << " duplicated=" << d.duplicated << "\n";
  EXPECT_EQ(d.missing, 0);
  EXPECT_EQ(d.duplicated, 0);
  EXPECT_EQ(d.wrong_value, 0);
  EXPECT_EQ(d.unexpected, 0);

  // The counter and the node series, with their own values.
  auto counter = prom.Query(R"(np_rw_e2e_bytes_total{device="sda"})");
  ASSERT_EQ(counter.samples.size(), col.produced().size()) << counter.body;
  EXPECT_EQ(counter.samples.rbegin()->second, col.produced().rbegin()->second * 1024.0);
  auto node = prom.Query(R"(np_rw_e2e_node_load{node="test-node"})");
  ASSERT_EQ(node.samples.size(), col.produced().size()) << node.body;
  EXPECT_EQ(node.samples.rbegin()->second, col.produced().rbegin()->second / 4.0);

  // Every label as the pipeline has it; empty ones never sent.
  const std::string series = prom.Series("np_rw_e2e_value");
  for (const char* want : {R"("__name__":"np_rw_e2e_value")", R"("container":"app")",
                           R"("id":"/kubepods/burstable/pod1234/abcd")", R"("image":"registry/app:1.2")",
                           R"("namespace":"shop")", R"("pod":"cart-7d9f-x2")", R"("cpu":"total")",
                           R"("node":"test-node")"}) {
    EXPECT_NE(series.find(want), std::string::npos) << want << " in " << series;
  }
}

TEST_F(RemoteWritePrometheusTest, OutageOfTwentySecondsLosesAndDuplicatesNothing) {
  Prometheus prom(dir_);
  ASSERT_TRUE(prom.Start()) << prom.log();
  auto w = RemoteWriter::Create(Options(prom.url()), nullptr);
  ASSERT_TRUE(w.ok()) << w.status();
  Collector col;
  col.Run(**w, absl::Seconds(3));
  ASSERT_TRUE(WaitFor([&] { return (*w)->stats().urls[0].samples_pending == 0; }, 30000));

  prom.Stop();  // SIGTERM; the data dir stays
  const size_t before = col.produced().size();
  col.Run(**w, absl::Seconds(21));
  const size_t during = col.produced().size() - before;
  EXPECT_GT((*w)->stats().urls[0].samples_pending, 0u);
  EXPECT_GT((*w)->stats().urls[0].samples_retried, 0u);

  ASSERT_TRUE(prom.Start()) << prom.log();
  col.Run(**w, absl::Seconds(2));
  ASSERT_TRUE(WaitFor([&] { return (*w)->stats().urls[0].samples_pending == 0; }, 60000));
  (*w)->Stop(absl::Seconds(5));
  const auto st = (*w)->stats();
  EXPECT_EQ(st.urls[0].samples_sent, st.samples_enqueued);  // nothing sent twice
  EXPECT_EQ(st.urls[0].samples_dropped, 0u);
  EXPECT_EQ(st.urls[0].samples_failed, 0u);

  auto got = prom.Query(R"(np_rw_e2e_value{pod="cart-7d9f-x2"})");
  ASSERT_TRUE(got.ok) << got.body;
  Diff d = Compare(col.produced(), got);
  std::cout << "[outage] produced=" << col.produced().size() << " (during outage: " << during
            << ") stored=" << got.entries << " missing=" << d.missing << " duplicated=" << d.duplicated
            << " sent=" << st.urls[0].samples_sent << " enqueued=" << st.samples_enqueued << "\n";
  EXPECT_GE(during, 60u);
  EXPECT_EQ(d.missing, 0);
  EXPECT_EQ(d.duplicated, 0);
  EXPECT_EQ(d.wrong_value, 0);
  EXPECT_EQ(d.unexpected, 0);
}

struct DriverOutput {
  std::map<int64_t, double> samples;  // ts -> value of series kind=a
  uint64_t recovered = 0;
  int64_t last_pending = -1;
  bool has_final = false;
  std::map<std::string, uint64_t> final;
};
DriverOutput ParseDriver(const std::string& out) {
  DriverOutput d;
  for (absl::string_view line : absl::StrSplit(out, '\n')) {
    std::vector<std::string> f = absl::StrSplit(line, ' ', absl::SkipEmpty());
    if (f.size() == 3 && f[0] == "sample") {
      int64_t ts;
      double v;
      if (absl::SimpleAtoi(f[1], &ts) && absl::SimpleAtod(f[2], &v)) d.samples[ts] = v;
    } else if (f.size() == 2 && f[0] == "recovered") {
      (void)absl::SimpleAtoi(f[1], &d.recovered);
    } else if (f.size() >= 2 && f[0] == "stats") {
      (void)absl::SimpleAtoi(absl::string_view(f[1]).substr(8), &d.last_pending);  // pending=
    } else if (!f.empty() && f[0] == "final") {
      d.has_final = true;
      for (size_t i = 1; i < f.size(); ++i) {
        std::vector<std::string> kv = absl::StrSplit(f[i], '=');
        if (kv.size() == 2) (void)absl::SimpleAtoi(kv[1], &d.final[kv[0]]);
      }
    }
  }
  return d;
}

TEST_F(RemoteWritePrometheusTest, SigkillDuringOutageThenRestartDeliversQueuedSamples) {
  Prometheus prom(dir_);
  ASSERT_TRUE(prom.Start()) << prom.log();
  const std::string state = dir_ + "/driver-state";
  auto driver_argv = [&](int start) {
    return std::vector<std::string>{NODEPULSE_RW_DRIVER, prom.url(), state, "200", std::to_string(start),
                                    "np_rw_driver_value"};
  };

  auto run1 = std::make_unique<ChildProcess>(driver_argv(0));
  ASSERT_TRUE(WaitFor([&] { return ParseDriver(run1->Output()).samples.size() >= 10; }, 30000)) << run1->Output();
  prom.Stop();
  // Collect into the queue during the outage, then kill without any warning.
  const size_t at_outage = ParseDriver(run1->Output()).samples.size();
  ASSERT_TRUE(WaitFor([&] { return ParseDriver(run1->Output()).samples.size() >= at_outage + 15; }, 30000));
  run1->Stop(SIGKILL, 5000);
  const DriverOutput out1 = ParseDriver(run1->Output());
  ASSERT_FALSE(out1.has_final);

  auto run2 = std::make_unique<ChildProcess>(driver_argv(100000));
  ASSERT_TRUE(WaitFor([&] { return ParseDriver(run2->Output()).samples.size() >= 5; }, 30000)) << run2->Output();
  ASSERT_TRUE(prom.Start()) << prom.log();
  ASSERT_TRUE(WaitFor(
      [&] {
        auto d = ParseDriver(run2->Output());
        return d.samples.size() >= 15 && d.last_pending == 0;
      },
      60000))
      << run2->Output();
  ASSERT_GT(run2->Stop(SIGTERM, 30000), -1);
  const DriverOutput out2 = ParseDriver(run2->Output());
  ASSERT_TRUE(out2.has_final) << run2->Output();

  std::map<int64_t, double> want = out1.samples;
  want.insert(out2.samples.begin(), out2.samples.end());
  auto got = prom.Query(R"(np_rw_driver_value{kind="a",pod="driver-0"})");
  ASSERT_TRUE(got.ok) << got.body;
  Diff d = Compare(want, got);
  std::cout << "[sigkill] run1 printed=" << out1.samples.size() << " (during outage: "
            << out1.samples.size() - at_outage << ") run2 recovered=" << out2.recovered
            << " run2 printed=" << out2.samples.size() << " stored=" << got.entries << " missing=" << d.missing
            << " duplicated=" << d.duplicated << " unexpected=" << d.unexpected
            << " run2 sent=" << out2.final.at("sent") << " enqueued=" << out2.final.at("enqueued") << "\n";
  // Both series of each killed cycle were queued: 2 samples per cycle.
  EXPECT_GE(out2.recovered, 2 * (out1.samples.size() - at_outage));
  EXPECT_EQ(d.missing, 0);
  EXPECT_EQ(d.duplicated, 0);
  EXPECT_EQ(d.wrong_value, 0);
  // A cycle run 1 enqueued but was killed before printing is delivered too;
  // allow that one, nothing more.
  EXPECT_LE(d.unexpected, 1);
  // Nothing resent: run 2 sent exactly what it recovered plus what it made.
  EXPECT_EQ(out2.final.at("sent"), out2.recovered + out2.final.at("enqueued"));
  EXPECT_EQ(out2.final.at("dropped"), 0u);
  EXPECT_EQ(out2.final.at("failed"), 0u);
  EXPECT_EQ(out2.final.at("pending"), 0u);
}

}  // namespace
}  // namespace nodepulse::exporters
