// RemoteWriter against a loopback receiver (civetweb, plain HTTP) that
// decodes every request with the generated protobuf classes and answers from
// a script: remote-write headers, keep-alive, 5xx/429 retried (Retry-After
// honoured), other 4xx never retried, outage and restart with every sample
// delivered exactly once (counted by timestamp at the receiver), the queue
// bound, independent URLs, drain on Stop.
#include <civetweb.h>
#include <curl/curl.h>
#include <snappy.h>

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "remote_write_client.h"
#include "nodepulse/exporters/remote_write/remote_write.h"
#include "nodepulse/pipeline/pipeline.h"
#include "process.h"
#include "prometheus/registry.h"
#include "remote.pb.h"

namespace nodepulse::exporters {
namespace {

using ::nodepulse::testing::MakeTempDir;
using ::nodepulse::testing::RemoveTree;
using ::nodepulse::testing::WaitFor;
using ::nodepulse::testing::WriteFile;

// libcurl's global init, once per test process, as main() does in the agent.
class CurlEnvironment : public ::testing::Environment {
 public:
  void SetUp() override { curl_global_init(CURL_GLOBAL_DEFAULT); }
  void TearDown() override { curl_global_cleanup(); }
};
[[maybe_unused]] ::testing::Environment* const kCurlEnv =
    ::testing::AddGlobalTestEnvironment(new CurlEnvironment);

struct Reply {
  int status = 204;
  std::string headers;  // extra header lines, each ending in \r\n
  std::string body;
};

struct Request {
  absl::Time at;
  int remote_port = 0;
  std::map<std::string, std::string> headers;
  int status = 0;
  size_t samples = 0;
};

struct Sample {
  std::string labels;  // name=value,... in wire order
  int64_t ts;
  double value;
};

class FakeReceiver {
 public:
  FakeReceiver() {
    static std::once_flag once;
    std::call_once(once, [] { mg_init_library(0); });
    const char* opts[] = {"listening_ports", "127.0.0.1:0", "num_threads", "4",
                          "enable_keep_alive", "yes", "keep_alive_timeout_ms", "2000", nullptr};
    ctx_ = mg_start(nullptr, nullptr, opts);
    EXPECT_NE(ctx_, nullptr);
    mg_set_request_handler(ctx_, "/api/v1/write", &FakeReceiver::Handle, this);
    mg_server_port ports[2];
    if (mg_get_server_ports(ctx_, 2, ports) > 0) port_ = ports[0].port;
  }
  ~FakeReceiver() {
    if (ctx_ != nullptr) mg_stop(ctx_);
  }

  std::string url() const { return absl::StrCat("http://127.0.0.1:", port_, "/api/v1/write"); }
  void SetResponder(std::function<Reply(int request_number)> r) {
    std::lock_guard<std::mutex> l(mu_);
    responder_ = std::move(r);
  }
  std::vector<Sample> samples() const {
    std::lock_guard<std::mutex> l(mu_);
    return samples_;
  }
  std::vector<Request> requests() const {
    std::lock_guard<std::mutex> l(mu_);
    return requests_;
  }
  size_t sample_count() const {
    std::lock_guard<std::mutex> l(mu_);
    return samples_.size();
  }

 private:
  static int Handle(mg_connection* conn, void* self_ptr) {
    auto* self = static_cast<FakeReceiver*>(self_ptr);
    const mg_request_info* ri = mg_get_request_info(conn);
    std::string body;
    char buf[65536];
    for (;;) {
      int n = mg_read(conn, buf, sizeof(buf));
      if (n <= 0) break;
      body.append(buf, static_cast<size_t>(n));
    }
    Request req;
    req.at = absl::Now();
    req.remote_port = ri->remote_port;
    for (int i = 0; i < ri->num_headers; ++i) req.headers[ri->http_headers[i].name] = ri->http_headers[i].value;

    Reply reply;
    std::vector<Sample> decoded;
    std::string raw;
    prometheus::WriteRequest wr;
    if (!snappy::Uncompress(body.data(), body.size(), &raw) || !wr.ParseFromString(raw)) {
      reply = {400, "", "undecodable body"};
    } else {
      for (const auto& ts : wr.timeseries()) {
        std::string labels;
        for (const auto& l : ts.labels()) absl::StrAppend(&labels, l.name(), "=", l.value(), ",");
        for (const auto& s : ts.samples()) decoded.push_back({labels, s.timestamp(), s.value()});
      }
    }
    {
      std::lock_guard<std::mutex> l(self->mu_);
      const int n = static_cast<int>(self->requests_.size()) + 1;
      if (reply.status == 204 && self->responder_) reply = self->responder_(n);
      req.status = reply.status;
      req.samples = decoded.size();
      self->requests_.push_back(req);
      if (reply.status / 100 == 2) self->samples_.insert(self->samples_.end(), decoded.begin(), decoded.end());
    }
    std::string head = absl::StrCat("HTTP/1.1 ", reply.status, " X\r\nContent-Length: ", reply.body.size(),
                                    "\r\nContent-Type: text/plain\r\n", reply.headers, "\r\n");
    mg_write(conn, head.data(), head.size());
    mg_write(conn, reply.body.data(), reply.body.size());
    return reply.status;
  }

  mg_context* ctx_ = nullptr;
  int port_ = 0;
  mutable std::mutex mu_;
  std::function<Reply(int)> responder_;
  std::vector<Request> requests_;
  std::vector<Sample> samples_;
};

// A real Pipeline with one series whose value is the cycle number and whose
// timestamps are synthetic and strictly increasing.
class Source {
 public:
  explicit Source(int series = 1) {
    auto m = p_.RegisterMetric({"np_rw_test_value", "test", pipeline::MetricKind::kGauge, false});
    EXPECT_TRUE(m.ok());
    auto e = p_.AddEntity({{"namespace", "rw"}, {"pod", "p-0"}, {"container", "c"}});
    for (int i = 0; i < series; ++i) ids_.push_back(p_.Intern(*m, e, {{"i", std::to_string(i)}}));
  }
  std::shared_ptr<const pipeline::Snapshot> Cycle() {
    ++cycle_;
    p_.BeginCycle(ts(cycle_));
    for (pipeline::SeriesId id : ids_) p_.Set(id, static_cast<double>(cycle_));
    p_.EndCycle();
    return p_.snapshot();
  }
  static int64_t ts(int64_t cycle) { return 1700000000000 + cycle * 1000; }
  int64_t cycle() const { return cycle_; }

 private:
  pipeline::Pipeline p_{pipeline::Options{}};
  std::vector<pipeline::SeriesId> ids_;
  int64_t cycle_ = 0;
};

class RemoteWriteHttpTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = MakeTempDir("rw-http-test"); }
  void TearDown() override { RemoveTree(dir_); }

  RemoteWriteOptions Options(std::vector<std::string> urls) {
    RemoteWriteOptions o;
    o.urls = std::move(urls);
    o.state_dir = dir_;
    o.min_backoff = absl::Milliseconds(20);
    o.max_backoff = absl::Milliseconds(200);
    o.timeout = absl::Seconds(5);
    return o;
  }
  std::unique_ptr<RemoteWriter> Make(RemoteWriteOptions o,
                                     std::shared_ptr<prometheus::Registry> registry = nullptr) {
    auto w = RemoteWriter::Create(std::move(o), std::move(registry));
    EXPECT_TRUE(w.ok()) << w.status();
    return w.ok() ? std::move(*w) : nullptr;
  }

  std::string dir_;
};

// Per timestamp, how often the receiver accepted it; checks 1..n exactly once.
void ExpectEachCycleOnce(const std::vector<Sample>& samples, int64_t first, int64_t last) {
  std::map<int64_t, int> seen;
  for (const Sample& s : samples) {
    ++seen[s.ts];
    EXPECT_EQ(s.value, static_cast<double>((s.ts - Source::ts(0)) / 1000));
  }
  int missing = 0, duplicated = 0;
  for (int64_t c = first; c <= last; ++c) {
    auto it = seen.find(Source::ts(c));
    if (it == seen.end()) {
      ++missing;
    } else if (it->second > 1) {
      duplicated += it->second - 1;
    }
  }
  EXPECT_EQ(missing, 0);
  EXPECT_EQ(duplicated, 0);
  EXPECT_EQ(seen.size(), static_cast<size_t>(last - first + 1));
}

TEST_F(RemoteWriteHttpTest, SendsRemoteWriteHeadersLabelsAndKeepsAlive) {
  FakeReceiver rx;
  ASSERT_TRUE(WriteFile(dir_ + "/token", "s3cret-token\n"));
  RemoteWriteOptions o = Options({rx.url()});
  o.bearer_token_file = dir_ + "/token";
  o.external_labels = {{"node", "n1"}};
  auto w = Make(o);
  Source src;
  for (int i = 1; i <= 5; ++i) {
    w->OnSnapshot(src.Cycle());
    ASSERT_TRUE(WaitFor([&] { return rx.sample_count() == static_cast<size_t>(i); }, 10000));
  }
  auto reqs = rx.requests();
  ASSERT_EQ(reqs.size(), 5u);
  for (const Request& r : reqs) {
    EXPECT_EQ(r.headers.at("Content-Encoding"), "snappy");
    EXPECT_EQ(r.headers.at("Content-Type"), "application/x-protobuf");
    EXPECT_EQ(r.headers.at("X-Prometheus-Remote-Write-Version"), "0.1.0");
    EXPECT_EQ(r.headers.at("Authorization"), "Bearer s3cret-token");
    // One connection for all: keep-alive.
    EXPECT_EQ(r.remote_port, reqs[0].remote_port);
  }
  auto samples = rx.samples();
  EXPECT_EQ(samples[0].labels, "__name__=np_rw_test_value,container=c,i=0,namespace=rw,node=n1,pod=p-0,");
  ExpectEachCycleOnce(samples, 1, 5);
  w->Stop(absl::Seconds(1));
  auto st = w->stats();
  EXPECT_EQ(st.urls[0].samples_sent, 5u);
  EXPECT_EQ(st.urls[0].samples_pending, 0u);
  EXPECT_EQ(st.urls[0].requests_ok, 5u);
}

TEST_F(RemoteWriteHttpTest, Retries5xxAnd429HonouringRetryAfter) {
  FakeReceiver rx;
  rx.SetResponder([](int n) -> Reply {
    if (n == 1) return {500, "", "boom"};
    if (n == 2) return {503, "", "unavailable"};
    if (n == 3) return {429, "Retry-After: 1\r\n", "slow down"};
    return {204, "", ""};
  });
  auto w = Make(Options({rx.url()}));
  Source src;
  w->OnSnapshot(src.Cycle());
  ASSERT_TRUE(WaitFor([&] { return rx.sample_count() == 1; }, 15000));
  auto reqs = rx.requests();
  ASSERT_EQ(reqs.size(), 4u);
  // Backoff (20 ms, then 40 ms) before the retries, then Retry-After: 1 s,
  // well above the 200 ms max backoff.
  EXPECT_GE(reqs[1].at - reqs[0].at, absl::Milliseconds(15));
  EXPECT_GE(reqs[3].at - reqs[2].at, absl::Milliseconds(950));
  ExpectEachCycleOnce(rx.samples(), 1, 1);
  // The receiver has the sample before the sender has read the 204 and
  // counted it: wait for the count (it was read too early under load).
  EXPECT_TRUE(WaitFor([&] { return w->stats().urls[0].samples_sent == 1; }, 15000));
  auto st = w->stats();
  EXPECT_EQ(st.urls[0].samples_retried, 3u);
  EXPECT_EQ(st.urls[0].samples_sent, 1u);
  EXPECT_EQ(st.urls[0].samples_failed, 0u);
}

TEST_F(RemoteWriteHttpTest, NeverRetriesOther4xx) {
  FakeReceiver rx;
  rx.SetResponder([](int n) -> Reply {
    if (n == 1) return {400, "", "out of order sample"};
    if (n == 2) return {413, "", "too large"};
    return {200, "", ""};
  });
  auto w = Make(Options({rx.url()}));
  Source src;
  w->OnSnapshot(src.Cycle());
  ASSERT_TRUE(WaitFor([&] { return w->stats().urls[0].samples_failed == 1; }, 10000));
  w->OnSnapshot(src.Cycle());
  ASSERT_TRUE(WaitFor([&] { return w->stats().urls[0].samples_failed == 2; }, 10000));
  w->OnSnapshot(src.Cycle());
  ASSERT_TRUE(WaitFor([&] { return rx.sample_count() == 1; }, 10000));
  // Give a wrongly retried batch time to show up.
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_EQ(rx.requests().size(), 3u);
  ExpectEachCycleOnce(rx.samples(), 3, 3);
  auto st = w->stats();
  EXPECT_EQ(st.urls[0].samples_retried, 0u);
  EXPECT_EQ(st.urls[0].samples_pending, 0u);
  EXPECT_EQ(st.urls[0].last_http_code, 200);
}

TEST_F(RemoteWriteHttpTest, OutageLosesAndDuplicatesNothing) {
  FakeReceiver rx;
  std::atomic<bool> down{false};
  rx.SetResponder([&](int) -> Reply { return down.load() ? Reply{503, "", "down"} : Reply{204, "", ""}; });
  auto w = Make(Options({rx.url()}));
  Source src(3);
  for (int i = 0; i < 10; ++i) w->OnSnapshot(src.Cycle());
  ASSERT_TRUE(WaitFor([&] { return rx.sample_count() == 30; }, 10000));
  down = true;
  for (int i = 0; i < 40; ++i) {
    w->OnSnapshot(src.Cycle());
    absl::SleepFor(absl::Milliseconds(10));
  }
  ASSERT_TRUE(WaitFor([&] { return w->stats().samples_enqueued == 150; }, 10000));
  EXPECT_GT(w->stats().urls[0].samples_retried, 0u);
  EXPECT_EQ(rx.sample_count(), 30u);
  down = false;
  for (int i = 0; i < 10; ++i) w->OnSnapshot(src.Cycle());
  ASSERT_TRUE(WaitFor([&] { return rx.sample_count() >= 180; }, 20000));
  w->Stop(absl::Seconds(5));
  auto samples = rx.samples();
  EXPECT_EQ(samples.size(), 180u);
  std::vector<Sample> first_series;
  for (const Sample& s : samples) {
    if (s.labels.find(",i=0,") != std::string::npos) first_series.push_back(s);
  }
  ExpectEachCycleOnce(first_series, 1, 60);
  auto st = w->stats();
  EXPECT_EQ(st.urls[0].samples_sent, st.samples_enqueued);
  EXPECT_EQ(st.urls[0].samples_dropped, 0u);
}

TEST_F(RemoteWriteHttpTest, RestartDeliversQueuedSamplesExactlyOnce) {
  FakeReceiver rx;
  std::atomic<bool> down{false};
  rx.SetResponder([&](int) -> Reply { return down.load() ? Reply{503, "", "down"} : Reply{204, "", ""}; });
  Source src;
  {
    auto w = Make(Options({rx.url()}));
    for (int i = 0; i < 10; ++i) w->OnSnapshot(src.Cycle());
    ASSERT_TRUE(WaitFor([&] { return rx.sample_count() == 10; }, 10000));
    down = true;
    for (int i = 0; i < 30; ++i) w->OnSnapshot(src.Cycle());
    ASSERT_TRUE(WaitFor([&] { return w->stats().samples_enqueued == 40; }, 10000));
    w->Stop(absl::ZeroDuration());
    EXPECT_EQ(w->stats().urls[0].samples_pending, 30u);
  }
  down = false;
  auto w = Make(Options({rx.url()}));
  EXPECT_EQ(w->stats().samples_recovered, 30u);
  for (int i = 0; i < 10; ++i) w->OnSnapshot(src.Cycle());
  ASSERT_TRUE(WaitFor([&] { return rx.sample_count() >= 50; }, 20000));
  w->Stop(absl::Seconds(5));
  ExpectEachCycleOnce(rx.samples(), 1, 50);
  EXPECT_EQ(w->stats().urls[0].samples_sent, 40u);
}

TEST_F(RemoteWriteHttpTest, QueueBoundDropsOldestAndCountsThem) {
  FakeReceiver rx;
  std::atomic<bool> down{true};
  rx.SetResponder([&](int) -> Reply { return down.load() ? Reply{503, "", "down"} : Reply{204, "", ""}; });
  RemoteWriteOptions o = Options({rx.url()});
  o.max_queue_bytes = 64 << 10;
  o.segment_bytes = 8 << 10;
  o.max_batch_samples = 100;
  auto reg = std::make_shared<prometheus::Registry>();
  auto w = Make(o, reg);
  Source src(100);
  const int kCycles = 300;  // ~100 samples of ~90 bytes per cycle: far over 64 KiB
  for (int i = 0; i < kCycles; ++i) {
    w->OnSnapshot(src.Cycle());
    if (i % 50 == 49) {
      ASSERT_TRUE(WaitFor([&] { return w->stats().snapshots_enqueued == static_cast<uint64_t>(i + 1); }, 10000));
    }
  }
  ASSERT_TRUE(WaitFor([&] { return w->stats().snapshots_enqueued == kCycles; }, 10000));
  auto st = w->stats();
  EXPECT_LE(st.queue_bytes, 64u << 10);
  EXPECT_GT(st.urls[0].samples_dropped, 0u);
  // Every sample is dropped, pending, or in the one batch (cycle 1, 100
  // samples) the sender holds in memory while it retries.
  EXPECT_EQ(st.urls[0].samples_dropped + st.urls[0].samples_pending + 100, 100u * kCycles);
  down = false;
  ASSERT_TRUE(WaitFor([&] { return w->stats().urls[0].samples_pending == 0; }, 20000));
  w->Stop(absl::Seconds(5));
  st = w->stats();
  EXPECT_EQ(st.urls[0].samples_sent + st.urls[0].samples_dropped, st.samples_enqueued);
  // What arrived is the newest data, without gaps, up to the last cycle,
  // plus the one batch (cycle 1) the sender held in memory, retrying, when
  // the bound deleted its segment: that batch was never counted as dropped.
  std::set<int64_t> ts;
  for (const Sample& s : rx.samples()) ts.insert(s.ts);
  EXPECT_EQ(ts.count(Source::ts(1)), 1u);
  ts.erase(Source::ts(1));
  ASSERT_FALSE(ts.empty());
  EXPECT_EQ(*ts.rbegin(), Source::ts(kCycles));
  EXPECT_EQ(static_cast<int64_t>(ts.size()), (*ts.rbegin() - *ts.begin()) / 1000 + 1);
  // The drop is visible as the documented self-metric.
  double dropped_metric = -1;
  for (const auto& fam : reg->Collect()) {
    if (fam.name == "nodepulse_remote_write_samples_dropped_total") {
      dropped_metric = fam.metric.at(0).counter.value;
    }
  }
  EXPECT_EQ(dropped_metric, static_cast<double>(st.urls[0].samples_dropped));
}

TEST_F(RemoteWriteHttpTest, OneDownReceiverDoesNotHoldBackAnother) {
  FakeReceiver up, down_rx;
  std::atomic<bool> down{true};
  down_rx.SetResponder([&](int) -> Reply { return down.load() ? Reply{503, "", ""} : Reply{204, "", ""}; });
  auto w = Make(Options({down_rx.url(), up.url()}));
  Source src;
  for (int i = 0; i < 20; ++i) w->OnSnapshot(src.Cycle());
  ASSERT_TRUE(WaitFor([&] { return up.sample_count() == 20; }, 10000));
  EXPECT_EQ(down_rx.sample_count(), 0u);
  EXPECT_EQ(w->stats().urls[0].samples_pending, 20u);
  down = false;
  ASSERT_TRUE(WaitFor([&] { return down_rx.sample_count() == 20; }, 10000));
  w->Stop(absl::Seconds(2));
  ExpectEachCycleOnce(up.samples(), 1, 20);
  ExpectEachCycleOnce(down_rx.samples(), 1, 20);
}

TEST_F(RemoteWriteHttpTest, StopDrainsWhatWasHandedOver) {
  FakeReceiver rx;
  auto w = Make(Options({rx.url()}));
  Source src;
  for (int i = 0; i < 100; ++i) w->OnSnapshot(src.Cycle());
  w->Stop(absl::Seconds(10));
  ExpectEachCycleOnce(rx.samples(), 1, 100);
  // After Stop, snapshots are ignored and nothing is left behind.
  w->OnSnapshot(src.Cycle());
  EXPECT_EQ(w->stats().urls[0].samples_pending, 0u);
}

TEST_F(RemoteWriteHttpTest, UnreachableReceiverIsRetriedWithoutLoss) {
  // Nothing listens on this port until the receiver is started.
  const int port = ::nodepulse::testing::FreeLoopbackPort();
  const std::string url = absl::StrCat("http://127.0.0.1:", port, "/api/v1/write");
  auto w = Make(Options({url}));
  Source src;
  for (int i = 0; i < 5; ++i) w->OnSnapshot(src.Cycle());
  ASSERT_TRUE(WaitFor([&] { return w->stats().urls[0].samples_retried > 0; }, 10000));
  EXPECT_EQ(w->stats().urls[0].last_http_code, 0);
  w->Stop(absl::Milliseconds(100));
  EXPECT_EQ(w->stats().urls[0].samples_pending, 5u);
}

TEST_F(RemoteWriteHttpTest, CreateRejectsBadOptions) {
  auto code = [](RemoteWriteOptions o) { return RemoteWriter::Create(std::move(o), nullptr).status().code(); };
  EXPECT_EQ(code(Options({})), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(code(Options({"ftp://x/"})), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(code(Options({"http://a/w", "http://a/w"})), absl::StatusCode::kInvalidArgument);
  RemoteWriteOptions o = Options({"http://127.0.0.1:1/w"});
  o.state_dir = "";
  EXPECT_EQ(code(o), absl::StatusCode::kInvalidArgument);
  o = Options({"http://127.0.0.1:1/w"});
  o.bearer_token_file = dir_ + "/missing-token";
  auto st = RemoteWriter::Create(o, nullptr).status();
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("missing-token"), absl::string_view::npos);
  o = Options({"http://user:pw@127.0.0.1:1/w?k=secret"});
  o.ca_file = dir_ + "/no-ca.pem";
  st = RemoteWriter::Create(o, nullptr).status();
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(st.message().find("pw"), absl::string_view::npos);
}

TEST(RemoteWriteClient, RedactsCredentialsFromUrls) {
  EXPECT_EQ(RedactUrl("https://user:pw@host:9090/api/v1/write?token=x"), "https://host:9090/api/v1/write");
  EXPECT_EQ(RedactUrl("http://host/api/v1/write"), "http://host/api/v1/write");
  EXPECT_EQ(RedactUrl("http://u@host"), "http://host");
  EXPECT_EQ(RedactUrl("http://host:1/p#frag"), "http://host:1/p");
}

TEST(RemoteWriteClient, ParsesRetryAfterSecondsAndDates) {
  const absl::Time now = absl::FromUnixSeconds(1700000000);
  EXPECT_EQ(ParseRetryAfter("7", now), absl::Seconds(7));
  EXPECT_EQ(ParseRetryAfter(" 0 ", now), absl::ZeroDuration());
  // 1700000000 is Tue, 14 Nov 2023 22:13:20 GMT.
  EXPECT_EQ(ParseRetryAfter("Tue, 14 Nov 2023 22:13:50 GMT", now), absl::Seconds(30));
  EXPECT_EQ(ParseRetryAfter("Tue, 14 Nov 2023 22:00:00 GMT", now), absl::ZeroDuration());
  EXPECT_LT(ParseRetryAfter("", now), absl::ZeroDuration());
  EXPECT_LT(ParseRetryAfter("-3", now), absl::ZeroDuration());
  EXPECT_LT(ParseRetryAfter("soon", now), absl::ZeroDuration());
}

}  // namespace
}  // namespace nodepulse::exporters
