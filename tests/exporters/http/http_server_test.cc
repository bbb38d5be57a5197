#include "nodepulse/exporters/http/http_server.h"

#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "http_server_test_util.h"
#include "process.h"
#include "prometheus/text_serializer.h"

namespace nodepulse::exporters {
namespace {

using ::nodepulse::testing::HttpGet;
using ::nodepulse::testing::RawRequest;
using ::nodepulse::testing::TestClient;

TEST(ValidateListenAddress, AcceptsHostPortAndRejectsTheRest) {
  EXPECT_TRUE(ValidateListenAddress("127.0.0.1:9779").ok());
  EXPECT_TRUE(ValidateListenAddress("0.0.0.0:0").ok());
  EXPECT_TRUE(ValidateListenAddress("[::1]:80").ok());
  EXPECT_TRUE(ValidateListenAddress("localhost:80").ok());
  EXPECT_FALSE(ValidateListenAddress("9779").ok());
  EXPECT_FALSE(ValidateListenAddress(":9779").ok());
  EXPECT_FALSE(ValidateListenAddress("127.0.0.1:65536").ok());
  EXPECT_FALSE(ValidateListenAddress("127.0.0.1:-1").ok());
  EXPECT_FALSE(ValidateListenAddress("example.com:80").ok());
}

TEST(HttpRequest, ParamDecodesAndFindsExactNames) {
  HttpRequest r;
  r.query = "metric=cpu%5Fusage&window=1m&ns=a+b&empty=&flag";
  EXPECT_EQ(r.Param("metric"), "cpu_usage");
  EXPECT_EQ(r.Param("window"), "1m");
  EXPECT_EQ(r.Param("ns"), "a b");
  EXPECT_EQ(r.Param("empty"), "");
  EXPECT_EQ(r.Param("flag"), "");
  EXPECT_EQ(r.Param("missing"), "");
  EXPECT_EQ(r.Param("win"), "");
  r.query = "bad=%zz%4";
  EXPECT_EQ(r.Param("bad"), "%zz%4");
}

class HttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    HttpServerOptions o;
    o.listen = "127.0.0.1:0";
    o.max_request_bytes = 4096;
    server_ = std::make_unique<HttpServer>(o);
    server_->Handle("/hello", [](const HttpRequest& req) {
      return HttpResponse{200, "text/plain", "hi " + req.Param("name") + " " + req.Header("x-test"), {}, nullptr};
    });
    // A shared (cached) text followed by a per-request tail, as /metrics
    // serves; the shared part is big enough to need several writes.
    auto shared = std::make_shared<const std::string>(3 << 20, 'x');
    server_->Handle("/shared", [shared](const HttpRequest&) {
      return HttpResponse{200, "text/plain", "<tail>", {}, shared};
    });
    server_->Handle("/boom", [](const HttpRequest&) -> HttpResponse {
      throw std::runtime_error("handler bug");
    });
    ASSERT_TRUE(server_->Start().ok());
    ASSERT_GT(server_->port(), 0);
  }
  std::unique_ptr<HttpServer> server_;
};

TEST_F(HttpServerTest, ServesRegisteredPathWithQueryAndHeaders) {
  auto r = HttpGet(server_->port(), "/hello?name=pod%2D1", {"X-Test: yes"});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "hi pod-1 yes");
  EXPECT_TRUE(absl::StrContains(r.headers, "Content-Length: 12"));
}

TEST_F(HttpServerTest, SharedBodyIsSentBeforeTheBodyAndCounted) {
  auto r = HttpGet(server_->port(), "/shared");
  EXPECT_EQ(r.status, 200);
  ASSERT_EQ(r.body.size(), (3u << 20) + 6);
  EXPECT_EQ(r.body.find_first_not_of('x'), 3u << 20);
  EXPECT_EQ(r.body.substr(3 << 20), "<tail>");
  EXPECT_TRUE(absl::StrContains(r.headers, absl::StrCat("Content-Length: ", (3 << 20) + 6)));
  // HEAD: the same length, no body at all (neither part).
  std::string head = ::nodepulse::testing::RawRequest(
      server_->port(), "HEAD /shared HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_TRUE(absl::StrContains(head, absl::StrCat("Content-Length: ", (3 << 20) + 6))) << head;
  EXPECT_TRUE(absl::EndsWith(head, "\r\n\r\n")) << head.size();
}

TEST_F(HttpServerTest, UnknownPathIs404AndPostIs405) {
  EXPECT_EQ(HttpGet(server_->port(), "/nope").status, 404);
  EXPECT_EQ(HttpGet(server_->port(), "/").status, 404);
  std::string r = RawRequest(server_->port(),
                             "POST /hello HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
                             "Connection: close\r\n\r\nabc");
  EXPECT_TRUE(absl::StartsWith(r, "HTTP/1.1 405")) << r;
}

TEST_F(HttpServerTest, HandlerExceptionBecomes500AndServerSurvives) {
  EXPECT_EQ(HttpGet(server_->port(), "/boom").status, 500);
  EXPECT_EQ(HttpGet(server_->port(), "/hello").status, 200);
}

TEST_F(HttpServerTest, OversizedAndMalformedRequestsAreRefused) {
  std::string big = "GET /hello HTTP/1.1\r\nHost: x\r\nX-Pad: " + std::string(32 * 1024, 'a') +
                    "\r\nConnection: close\r\n\r\n";
  std::string r = RawRequest(server_->port(), big);
  EXPECT_FALSE(absl::StartsWith(r, "HTTP/1.1 200")) << r.substr(0, 60);
  std::string garbage = RawRequest(server_->port(), "\x01\x02 garbage\r\n\r\n");
  EXPECT_FALSE(absl::StartsWith(garbage, "HTTP/1.1 200")) << garbage.substr(0, 60);
  EXPECT_EQ(HttpGet(server_->port(), "/hello").status, 200);
}

TEST(HttpServer, BusyPortIsAnError) {
  HttpServerOptions o;
  o.listen = "127.0.0.1:0";
  HttpServer a(o);
  ASSERT_TRUE(a.Start().ok());
  o.listen = "127.0.0.1:" + std::to_string(a.port());
  HttpServer b(o);
  absl::Status s = b.Start();
  EXPECT_FALSE(s.ok());
  EXPECT_TRUE(absl::StrContains(s.message(), std::to_string(a.port()))) << s;
}


// A server with small limits so each one is cheap to hit.
class HttpServerLimitsTest : public ::testing::Test {
 protected:
  void StartServer(HttpServerOptions o) {
    o.listen = "127.0.0.1:0";
    server_ = std::make_unique<HttpServer>(o);
    server_->Handle("/hello", [](const HttpRequest& req) {
      return HttpResponse{200, "text/plain", "hi" + req.Param("n"), {}, nullptr};
    });
    server_->Handle("/slow", [](const HttpRequest&) {
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
      return HttpResponse{200, "text/plain", "slow", {}, nullptr};
    });
    ASSERT_TRUE(server_->Start().ok());
  }
  uint64_t Rejected(const std::string& reason) { return server_->stats().rejected[reason]; }
  std::unique_ptr<HttpServer> server_;
};

TEST_F(HttpServerLimitsTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  StartServer({});
  TestClient c(server_->port());
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(c.Send("GET /hello?n=" + std::to_string(i) + " HTTP/1.1\r\nHost: x\r\n\r\n"));
    TestClient::Response r = c.Read();
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "hi" + std::to_string(i));
    EXPECT_FALSE(absl::StrContains(r.headers, "Connection: close"));
  }
}

TEST_F(HttpServerLimitsTest, PipelinedRequestsAreAnsweredInOrder) {
  StartServer({});
  TestClient c(server_->port());
  // A slow handler first: the fast ones behind it must still come after it.
  ASSERT_TRUE(c.Send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"
                     "GET /hello?n=1 HTTP/1.1\r\nHost: x\r\n\r\n"
                     "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n"
                     "GET /hello?n=2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  EXPECT_EQ(c.Read().body, "slow");
  EXPECT_EQ(c.Read().body, "hi1");
  EXPECT_EQ(c.Read().status, 404);
  TestClient::Response last = c.Read();
  EXPECT_EQ(last.body, "hi2");
  EXPECT_TRUE(absl::StrContains(last.headers, "Connection: close"));
  EXPECT_TRUE(c.Closed());
}

TEST_F(HttpServerLimitsTest, HeadHasLengthButNoBody) {
  StartServer({});
  TestClient c(server_->port());
  ASSERT_TRUE(c.Send("HEAD /hello?n=abc HTTP/1.1\r\nHost: x\r\n\r\n"
                     "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"));
  TestClient::Response h = c.Read(/*head_only=*/true);
  EXPECT_EQ(h.status, 200);
  EXPECT_TRUE(absl::StrContains(h.headers, "Content-Length: 5")) << h.headers;
  // If HEAD had sent a body, it would be read as the next status line.
  TestClient::Response g = c.Read();
  EXPECT_EQ(g.status, 200);
  EXPECT_EQ(g.body, "hi");
}

TEST_F(HttpServerLimitsTest, Http10ClosesAfterOneResponse) {
  StartServer({});
  TestClient c(server_->port());
  ASSERT_TRUE(c.Send("GET /hello HTTP/1.0\r\n\r\n"));
  EXPECT_EQ(c.Read().status, 200);
  EXPECT_TRUE(c.Closed());
}

TEST_F(HttpServerLimitsTest, MethodsOtherThanGetAndHeadAre405WithAllow) {
  StartServer({});
  TestClient c(server_->port());
  ASSERT_TRUE(c.Send("DELETE /hello HTTP/1.1\r\nHost: x\r\n\r\n"));
  TestClient::Response r = c.Read();
  EXPECT_EQ(r.status, 405);
  EXPECT_TRUE(absl::StrContains(r.headers, "Allow: GET, HEAD"));
  // The connection stays usable: a 405 is not a protocol error.
  ASSERT_TRUE(c.Send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_EQ(c.Read().status, 200);
}

TEST_F(HttpServerLimitsTest, MalformedRequestLineIs400AndCloses) {
  StartServer({});
  for (const char* bad : {"GET /hello\r\n\r\n", "GET /hello HTTP/1.1\r\n\r\n",
                          "GET /hello HTTP/1.1\r\nHost : x\r\n\r\n"}) {
    TestClient c(server_->port());
    ASSERT_TRUE(c.Send(bad));
    EXPECT_EQ(c.Read().status, 400) << bad;
    EXPECT_TRUE(c.Closed()) << bad;
  }
  TestClient v(server_->port());
  ASSERT_TRUE(v.Send("GET /hello HTTP/3.0\r\nHost: x\r\n\r\n"));
  EXPECT_EQ(v.Read().status, 505);
  TestClient te(server_->port());
  ASSERT_TRUE(te.Send("GET /hello HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"));
  EXPECT_EQ(te.Read().status, 501);
  EXPECT_GE(Rejected("malformed"), 5u);
}

TEST_F(HttpServerLimitsTest, OversizedHeadIs431AndOversizedBodyIs413) {
  HttpServerOptions o;
  o.max_header_bytes = 1024;
  o.max_request_bytes = 2048;
  StartServer(o);
  TestClient h(server_->port());
  ASSERT_TRUE(h.Send("GET /hello HTTP/1.1\r\nHost: x\r\nX-Pad: " + std::string(4000, 'a') + "\r\n\r\n"));
  EXPECT_EQ(h.Read().status, 431);
  EXPECT_TRUE(h.Closed());
  TestClient b(server_->port());
  // Announced too large: refused on the head, before the body is read.
  ASSERT_TRUE(b.Send("POST /hello HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n" +
                     std::string(3000, 'b')));
  EXPECT_EQ(b.Read().status, 413);
  EXPECT_TRUE(b.Closed());
  EXPECT_EQ(Rejected("header_too_large"), 1u);
  EXPECT_EQ(Rejected("request_too_large"), 1u);
  EXPECT_EQ(HttpGet(server_->port(), "/hello").status, 200);
}

TEST_F(HttpServerLimitsTest, SlowlorisGets408AndIdleConnectionsAreClosed) {
  HttpServerOptions o;
  o.request_timeout_ms = 300;
  o.idle_timeout_ms = 400;
  StartServer(o);
  TestClient slow(server_->port());
  ASSERT_TRUE(slow.Send("GET /hello HTTP/1.1\r\nHost: x\r\n"));  // never finishes
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(slow.Read(false, 3000).status, 408);
  EXPECT_TRUE(slow.Closed(3000));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(2));
  EXPECT_EQ(Rejected("timeout"), 1u);

  TestClient silent(server_->port());  // connects and never sends
  EXPECT_TRUE(silent.Closed(3000));

  TestClient idle(server_->port());
  ASSERT_TRUE(idle.Send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_EQ(idle.Read().status, 200);
  EXPECT_TRUE(idle.Closed(3000));  // keep-alive idle timeout
  // The 408'd connection lingers (draining) for up to a second, then goes.
  EXPECT_TRUE(::nodepulse::testing::WaitFor([&] { return server_->stats().open_connections == 0; }, 3000));
}

TEST_F(HttpServerLimitsTest, RequestFloodOnOneConnectionGets429AndClose) {
  HttpServerOptions o;
  o.max_requests_per_second = 5;
  StartServer(o);
  TestClient c(server_->port());
  std::string burst;
  for (int i = 0; i < 20; ++i) burst += "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n";
  ASSERT_TRUE(c.Send(burst));
  int ok = 0;
  int last = 0;
  while (true) {
    TestClient::Response r = c.Read();
    if (r.status < 0) break;
    last = r.status;
    if (r.status == 200) ++ok;
    if (r.status == 429) {
      EXPECT_TRUE(absl::StrContains(r.headers, "Retry-After: 1"));
      break;
    }
  }
  EXPECT_EQ(last, 429);
  EXPECT_EQ(ok, 5);  // the burst allowance
  EXPECT_TRUE(c.Closed());
  EXPECT_EQ(Rejected("rate_limited"), 1u);
  // Other connections are unaffected.
  EXPECT_EQ(HttpGet(server_->port(), "/hello").status, 200);
}

TEST_F(HttpServerLimitsTest, ConnectionsBeyondTheLimitAreRefusedWith503) {
  HttpServerOptions o;
  o.max_connections = 2;
  StartServer(o);
  TestClient a(server_->port()), b(server_->port());
  ASSERT_TRUE(a.Send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(b.Send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_EQ(a.Read().status, 200);
  ASSERT_EQ(b.Read().status, 200);
  TestClient c(server_->port());
  EXPECT_EQ(c.Read().status, 503);
  EXPECT_TRUE(c.Closed());
  EXPECT_EQ(Rejected("max_connections"), 1u);
  // Still serving the connections it holds.
  ASSERT_TRUE(a.Send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_EQ(a.Read().status, 200);
}

TEST_F(HttpServerLimitsTest, ManyConcurrentClientsAllGetAnswers) {
  HttpServerOptions o;
  o.num_threads = 2;
  StartServer(o);
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 16; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10; ++i) ok += HttpGet(server_->port(), "/hello").status == 200;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 160);
}

TEST_F(HttpServerLimitsTest, StopIsQuickAndClosesConnections) {
  StartServer({});
  TestClient c(server_->port());
  ASSERT_TRUE(c.Send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_EQ(c.Read().status, 200);
  auto t0 = std::chrono::steady_clock::now();
  server_->Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(500));
  EXPECT_TRUE(c.Closed(1000));
  server_->Stop();  // idempotent
}

TEST_F(HttpServerLimitsTest, MetricsCollectableCountsCodesAndRejections) {
  StartServer({});
  EXPECT_EQ(HttpGet(server_->port(), "/hello").status, 200);
  EXPECT_EQ(HttpGet(server_->port(), "/nope").status, 404);
  RawRequest(server_->port(), "junk\r\n\r\n");
  prometheus::TextSerializer ser;
  std::string text = ser.Serialize(server_->MetricsCollectable()->Collect());
  EXPECT_TRUE(absl::StrContains(text, "nodepulse_http_requests_total{code=\"200\"} 1")) << text;
  EXPECT_TRUE(absl::StrContains(text, "nodepulse_http_requests_total{code=\"404\"} 1")) << text;
  EXPECT_TRUE(absl::StrContains(text, "nodepulse_http_rejected_total{reason=\"malformed\"} 1")) << text;
  EXPECT_TRUE(absl::StrContains(text, "nodepulse_http_rejected_total{reason=\"unauthorized\"} 0")) << text;
  EXPECT_TRUE(absl::StrContains(text, "nodepulse_http_open_connections")) << text;
  std::shared_ptr<prometheus::Collectable> m = server_->MetricsCollectable();
  server_.reset();
  EXPECT_TRUE(m->Collect().empty());  // outlives the server safely
}

TEST(HttpServerOptionsTest, BadOptionsAreInvalidArgument) {
  HttpServerOptions o;
  o.listen = "127.0.0.1:0";
  o.tls_cert_file = "/nonexistent.crt";  // without a key
  EXPECT_TRUE(absl::IsInvalidArgument(HttpServer(o).Start()));
  o = HttpServerOptions{};
  o.listen = "127.0.0.1:0";
  o.client_ca_file = "/etc/ssl/certs/ca-certificates.crt";  // mTLS without TLS
  EXPECT_TRUE(absl::IsInvalidArgument(HttpServer(o).Start()));
  o = HttpServerOptions{};
  o.listen = "127.0.0.1:0";
  o.max_connections = 0;
  EXPECT_TRUE(absl::IsInvalidArgument(HttpServer(o).Start()));
}

}  // namespace
}  // namespace nodepulse::exporters
