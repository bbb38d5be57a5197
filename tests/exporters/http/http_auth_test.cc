// Bearer-token auth: header parsing, constant-time matching, token-file
// loading and reload, and the server's 401/200 behaviour and exempt paths.
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>

#include "absl/strings/match.h"
#include "http_auth.h"
#include "gtest/gtest.h"
#include "http_server_test_util.h"
#include "nodepulse/exporters/http/http_server.h"
#include "nodepulse/base/log.h"
#include "process.h"

namespace nodepulse::exporters {
namespace {

using http_internal::BearerAuth;
using http_internal::BearerToken;
using http_internal::Sha256;
using http_internal::TokenMatches;
using ::nodepulse::testing::HttpGet;
using ::nodepulse::testing::MakeTempDir;
using ::nodepulse::testing::ReadFile;
using ::nodepulse::testing::RemoveTree;
using ::nodepulse::testing::TestClient;
using ::nodepulse::testing::WriteFile;

constexpr char kToken[] = "s3cr3t-Token_value.with~chars+/=";

TEST(BearerToken, ParsesSchemeCaseInsensitively) {
  EXPECT_EQ(BearerToken("Bearer abc"), "abc");
  EXPECT_EQ(BearerToken("bearer   abc "), "abc");
  EXPECT_EQ(BearerToken("BEARER\tabc"), "abc");
  EXPECT_EQ(BearerToken("Basic YWJjOmRlZg=="), "");
  EXPECT_EQ(BearerToken("Bearer"), "");
  EXPECT_EQ(BearerToken("Bearerabc"), "");
  EXPECT_EQ(BearerToken(""), "");
}

TEST(TokenMatches, ExactMatchOnly) {
  auto d = Sha256("abc");
  EXPECT_TRUE(TokenMatches(d, "abc"));
  EXPECT_FALSE(TokenMatches(d, "abd"));
  EXPECT_FALSE(TokenMatches(d, "ab"));
  EXPECT_FALSE(TokenMatches(d, "abcd"));
  EXPECT_FALSE(TokenMatches(d, ""));
}

class TokenFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir("nodepulse-auth");
    path_ = dir_ + "/token";
  }
  void TearDown() override { RemoveTree(dir_); }
  std::string dir_, path_;
};

TEST_F(TokenFileTest, LoadRejectsMissingEmptyAndMultiWordFiles) {
  EXPECT_TRUE(absl::IsInvalidArgument(BearerAuth::Load(path_).status()));
  WriteFile(path_, " \n\t\n");
  EXPECT_TRUE(absl::IsInvalidArgument(BearerAuth::Load(path_).status()));
  WriteFile(path_, "two words\n");
  auto s = BearerAuth::Load(path_).status();
  EXPECT_TRUE(absl::IsInvalidArgument(s));
  EXPECT_FALSE(absl::StrContains(s.message(), "two words")) << "error must not echo the token";
  WriteFile(path_, std::string(5000, 'a'));
  EXPECT_TRUE(absl::IsInvalidArgument(BearerAuth::Load(path_).status()));
}

TEST_F(TokenFileTest, TrimsWhitespaceAndChecksHeaders) {
  WriteFile(path_, std::string("\n  ") + kToken + "\r\n");
  auto auth = BearerAuth::Load(path_);
  ASSERT_TRUE(auth.ok()) << auth.status();
  EXPECT_EQ((*auth)->Check(std::string("Bearer ") + kToken, 0), BearerAuth::Result::kOk);
  EXPECT_EQ((*auth)->Check("Bearer nope", 0), BearerAuth::Result::kWrong);
  EXPECT_EQ((*auth)->Check("", 0), BearerAuth::Result::kMissing);
  EXPECT_EQ((*auth)->Check(std::string("Basic ") + kToken, 0), BearerAuth::Result::kMissing);
}

TEST_F(TokenFileTest, ReloadsWhenTheFileChangesAndKeepsTheOldTokenOnFailure) {
  WriteFile(path_, "old-token");
  auto loaded = BearerAuth::Load(path_);
  ASSERT_TRUE(loaded.ok());
  BearerAuth& auth = **loaded;
  // Kubernetes swaps a Secret's files through a symlink: a new inode.
  WriteFile(dir_ + "/token.new", "new-token");
  ASSERT_EQ(::rename((dir_ + "/token.new").c_str(), path_.c_str()), 0);
  EXPECT_EQ(auth.Check("Bearer new-token", 2000), BearerAuth::Result::kOk);
  EXPECT_EQ(auth.Check("Bearer old-token", 2001), BearerAuth::Result::kWrong);
  EXPECT_EQ(auth.reloads(), 1u);
  // The file is looked at most once a second: a change is seen after that.
  WriteFile(path_, "newer-token");
  EXPECT_EQ(auth.Check("Bearer new-token", 2500), BearerAuth::Result::kOk);
  EXPECT_EQ(auth.Check("Bearer newer-token", 3100), BearerAuth::Result::kOk);
  EXPECT_EQ(auth.reloads(), 2u);
  // A broken rotation (empty file) keeps the last good token.
  WriteFile(path_, "");
  EXPECT_EQ(auth.Check("Bearer newer-token", 4200), BearerAuth::Result::kOk);
  ::unlink(path_.c_str());
  EXPECT_EQ(auth.Check("Bearer newer-token", 6000), BearerAuth::Result::kOk);
}

class AuthServerTest : public TokenFileTest {
 protected:
  void SetUp() override {
    TokenFileTest::SetUp();
    WriteFile(path_, std::string(kToken) + "\n");
    HttpServerOptions o;
    o.listen = "127.0.0.1:0";
    o.auth_token_file = path_;
    server_ = std::make_unique<HttpServer>(o);
    for (const char* p : {"/metrics", "/healthz", "/readyz", "/api/v1/aggregates", "/"}) {
      server_->Handle(p, [](const HttpRequest& r) { return HttpResponse{200, "text/plain", "ok " + r.path, {}, nullptr}; });
    }
    ASSERT_TRUE(server_->Start().ok());
  }
  std::unique_ptr<HttpServer> server_;
};

TEST_F(AuthServerTest, MissingOrWrongTokenIs401AndTheRightOneIs200) {
  auto none = HttpGet(server_->port(), "/metrics");
  EXPECT_EQ(none.status, 401);
  EXPECT_TRUE(absl::StrContains(none.headers, "WWW-Authenticate: Bearer realm=\"nodepulse\"")) << none.headers;
  auto wrong = HttpGet(server_->port(), "/metrics", {"Authorization: Bearer wrong"});
  EXPECT_EQ(wrong.status, 401);
  EXPECT_TRUE(absl::StrContains(wrong.headers, "error=\"invalid_token\"")) << wrong.headers;
  // A prefix of the right token is still wrong.
  EXPECT_EQ(HttpGet(server_->port(), "/metrics", {"Authorization: Bearer s3cr3t"}).status, 401);
  EXPECT_EQ(HttpGet(server_->port(), "/metrics", {std::string("Authorization: Basic ") + kToken}).status, 401);
  auto ok = HttpGet(server_->port(), "/metrics", {std::string("Authorization: Bearer ") + kToken});
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(ok.body, "ok /metrics");
  EXPECT_EQ(HttpGet(server_->port(), "/api/v1/aggregates?x=1", {std::string("authorization: bearer ") + kToken}).status,
            200);
  EXPECT_EQ(server_->stats().rejected["unauthorized"], 4u);
}

TEST_F(AuthServerTest, ProbesStayOpenAndEverythingElseIsProtected) {
  EXPECT_EQ(HttpGet(server_->port(), "/healthz").status, 200);
  EXPECT_EQ(HttpGet(server_->port(), "/readyz").status, 200);
  EXPECT_EQ(HttpGet(server_->port(), "/").status, 401);
  EXPECT_EQ(HttpGet(server_->port(), "/api/v1/aggregates").status, 401);
  // Unknown paths are 401 too, so the set of endpoints is not disclosed.
  EXPECT_EQ(HttpGet(server_->port(), "/no/such/path").status, 401);
  EXPECT_EQ(HttpGet(server_->port(), "/no/such/path", {std::string("Authorization: Bearer ") + kToken}).status, 404);
}

TEST_F(AuthServerTest, A401KeepsTheConnectionUsable) {
  TestClient c(server_->port());
  ASSERT_TRUE(c.Send("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_EQ(c.Read().status, 401);
  ASSERT_TRUE(c.Send(std::string("GET /metrics HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ") + kToken + "\r\n\r\n"));
  EXPECT_EQ(c.Read().status, 200);
}

TEST_F(AuthServerTest, TheTokenNeverAppearsInLogsEvenAtDebug) {
  std::string log_path = dir_ + "/stderr.log";
  fflush(stderr);
  int saved = dup(2);
  int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  ASSERT_GE(fd, 0);
  dup2(fd, 2);
  ::close(fd);
  SetLogLevel(LogLevel::kDebug);
  HttpGet(server_->port(), "/metrics", {std::string("Authorization: Bearer ") + kToken + "x"});
  HttpGet(server_->port(), "/metrics", {std::string("Authorization: Bearer ") + kToken});
  HttpGet(server_->port(), "/metrics");
  server_->Stop();
  // Restart with the token file: the start-up line is logged too.
  HttpServerOptions o;
  o.listen = "127.0.0.1:0";
  o.auth_token_file = path_;
  HttpServer again(o);
  ASSERT_TRUE(again.Start().ok());
  again.Stop();
  SetLogLevel(LogLevel::kInfo);
  fflush(stderr);
  dup2(saved, 2);
  ::close(saved);
  std::string logged = ReadFile(log_path);
  EXPECT_TRUE(absl::StrContains(logged, "401")) << "debug logging of auth failures expected:\n" << logged;
  EXPECT_FALSE(absl::StrContains(logged, "s3cr3t")) << logged;
}

TEST_F(TokenFileTest, ServerRefusesToStartWithABadTokenFile) {
  HttpServerOptions o;
  o.listen = "127.0.0.1:0";
  o.auth_token_file = path_;  // does not exist
  HttpServer s(o);
  absl::Status st = s.Start();
  EXPECT_TRUE(absl::IsInvalidArgument(st)) << st;
  EXPECT_TRUE(absl::StrContains(st.message(), path_));
}

}  // namespace
}  // namespace nodepulse::exporters
