#include "nodepulse/exporters/http_server.h"

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "process.h"

namespace nodepulse::exporters {
namespace {

using ::nodepulse::testing::HttpGet;
using ::nodepulse::testing::RawRequest;

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
      return HttpResponse{200, "text/plain", "hi " + req.Param("name") + " " + req.Header("x-test"), {}};
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

}  // namespace
}  // namespace nodepulse::exporters
