// HttpServer over TLS (OpenSSL 3) with certificates made by the openssl CLI
// and the curl CLI as an independent client: HTTPS, plain HTTP refused on the
// TLS port, mTLS, the plain probe listener, keep-alive and large responses
// over TLS, bad key material, and certificate rotation.
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "tls_context.h"
#include "gtest/gtest.h"
#include "nodepulse/exporters/http/http_server.h"
#include "process.h"

namespace nodepulse::exporters {
namespace {

using ::nodepulse::testing::HttpGet;
using ::nodepulse::testing::MakeTempDir;
using ::nodepulse::testing::RawRequest;
using ::nodepulse::testing::RemoveTree;
using ::nodepulse::testing::RunCommand;
using ::nodepulse::testing::RunResult;
using ::nodepulse::testing::WriteFile;

// CA, server leaf for IP:127.0.0.1 (twice, for rotation), a client leaf from
// the same CA and one from an unrelated CA. EC P-256: milliseconds to make.
std::string MakeCerts(const std::string& d) {
  std::string script = absl::StrCat(
      "set -e; cd ", d, "\n",
      "ca() { openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout $1.key "
      "-out $1.crt -days 2 -subj /CN=$1 -addext basicConstraints=critical,CA:TRUE "
      "-addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null; }\n",
      "leaf() { printf 'subjectAltName=IP:127.0.0.1\\nextendedKeyUsage=%s\\nbasicConstraints=CA:FALSE\\n' $3 > $1.ext; "
      "openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout $1.key -out $1.csr "
      "-subj /CN=$1 2>/dev/null; openssl x509 -req -in $1.csr -CA $2.crt -CAkey $2.key -CAcreateserial "
      "-out $1.crt -days 2 -extfile $1.ext 2>/dev/null; }\n",
      "ca ca; ca other-ca; leaf server ca serverAuth; leaf server2 ca serverAuth; "
      "leaf client ca clientAuth; leaf stranger other-ca clientAuth\n");
  RunResult r = RunCommand({"/bin/sh", "-c", script}, 60000);
  return r.exit_code == 0 ? "" : r.output;
}

class TlsServerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(MakeTempDir("nodepulse-tls"));
    cert_error_ = new std::string(MakeCerts(*dir_));
  }
  static void TearDownTestSuite() {
    RemoveTree(*dir_);
    delete dir_;
    delete cert_error_;
  }
  void SetUp() override { ASSERT_EQ(*cert_error_, "") << "openssl CLI failed"; }

  void StartServer(bool mtls, std::string probe = "") {
    HttpServerOptions o;
    o.listen = "127.0.0.1:0";
    o.tls_cert_file = F("server.crt");
    o.tls_key_file = F("server.key");
    if (mtls) o.client_ca_file = F("ca.crt");
    o.probe_listen = std::move(probe);
    server_ = std::make_unique<HttpServer>(o);
    server_->Handle("/hello", [](const HttpRequest&) { return HttpResponse{200, "text/plain", "hello tls", {}, nullptr}; });
    server_->Handle("/healthz", [](const HttpRequest&) { return HttpResponse{200, "text/plain", "ok", {}, nullptr}; });
    server_->Handle("/big", [](const HttpRequest&) {
      return HttpResponse{200, "text/plain", std::string(5 << 20, 'x'), {}, nullptr};
    });
    absl::Status s = server_->Start();
    ASSERT_TRUE(s.ok()) << s;
  }
  static std::string F(const std::string& name) { return *dir_ + "/" + name; }
  std::string Url(const std::string& path) {
    return absl::StrCat("https://127.0.0.1:", server_->port(), path);
  }
  // curl: body then a last line with the status code (000 when TLS failed).
  RunResult Curl(std::vector<std::string> args) {
    std::vector<std::string> argv = {"curl", "-sS", "--max-time", "10", "--cacert", F("ca.crt"),
                                     "-w", "\n%{http_code}"};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunCommand(argv, 20000);
  }

  static std::string* dir_;
  static std::string* cert_error_;
  std::unique_ptr<HttpServer> server_;
};
std::string* TlsServerTest::dir_ = nullptr;
std::string* TlsServerTest::cert_error_ = nullptr;

TEST_F(TlsServerTest, HttpsWithAGeneratedCertificateWorks) {
  StartServer(false);
  RunResult r = Curl({Url("/hello")});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output, "hello tls\n200");
  // TLS 1.2 is the floor and works too.
  r = Curl({"--tlsv1.2", "--tls-max", "1.2", Url("/hello")});
  EXPECT_EQ(r.output, "hello tls\n200");
}

TEST_F(TlsServerTest, PlainHttpToTheTlsPortFailsAndTheServerCarriesOn) {
  StartServer(false);
  std::string raw = RawRequest(server_->port(), "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_FALSE(absl::StrContains(raw, "hello tls")) << raw;
  EXPECT_FALSE(absl::StartsWith(raw, "HTTP/1.1 200")) << raw;
  EXPECT_GE(server_->stats().rejected["tls_handshake"], 1u);
  EXPECT_EQ(Curl({Url("/hello")}).output, "hello tls\n200");
}

TEST_F(TlsServerTest, KeepAliveAndLargeResponsesOverTls) {
  StartServer(false);
  // Two URLs in one curl run reuse the connection.
  RunResult r = Curl({Url("/hello"), Url("/hello")});
  EXPECT_EQ(r.output, "hello tls\n200hello tls\n200") << r.output;
  std::string out = F("big.out");
  r = Curl({"-o", out, Url("/big")});
  EXPECT_EQ(r.output, "\n200");
  EXPECT_EQ(::nodepulse::testing::ReadFile(out).size(), size_t{5} << 20);
}

TEST_F(TlsServerTest, MutualTlsRequiresAClientCertificateFromTheCa) {
  StartServer(true);
  RunResult none = Curl({Url("/hello")});
  EXPECT_NE(none.exit_code, 0) << none.output;
  EXPECT_FALSE(absl::StrContains(none.output, "hello tls"));
  RunResult stranger = Curl({"--cert", F("stranger.crt"), "--key", F("stranger.key"), Url("/hello")});
  EXPECT_FALSE(absl::StrContains(stranger.output, "hello tls")) << stranger.output;
  RunResult ok = Curl({"--cert", F("client.crt"), "--key", F("client.key"), Url("/hello")});
  EXPECT_EQ(ok.output, "hello tls\n200");
}

TEST_F(TlsServerTest, ProbeListenerServesOnlyProbePathsOverPlainHttp) {
  StartServer(true, "127.0.0.1:0");
  ASSERT_GT(server_->probe_port(), 0);
  EXPECT_EQ(HttpGet(server_->probe_port(), "/healthz").status, 200);
  EXPECT_EQ(HttpGet(server_->probe_port(), "/hello").status, 404);
  EXPECT_EQ(HttpGet(server_->probe_port(), "/big").status, 404);
}

TEST_F(TlsServerTest, BadKeyMaterialIsAStartErrorNamingTheFile) {
  HttpServerOptions o;
  o.listen = "127.0.0.1:0";
  o.tls_cert_file = F("server.crt");
  o.tls_key_file = F("client.key");  // does not match
  absl::Status s = HttpServer(o).Start();
  EXPECT_TRUE(absl::IsInvalidArgument(s)) << s;
  EXPECT_TRUE(absl::StrContains(s.message(), "client.key")) << s;
  EXPECT_FALSE(absl::StrContains(s.message(), "PRIVATE KEY")) << s;
  WriteFile(F("garbage.crt"), "not a certificate\n");
  o.tls_cert_file = F("garbage.crt");
  o.tls_key_file = F("server.key");
  s = HttpServer(o).Start();
  EXPECT_TRUE(absl::IsInvalidArgument(s)) << s;
  EXPECT_TRUE(absl::StrContains(s.message(), "garbage.crt")) << s;
}

TEST_F(TlsServerTest, ContextReloadsRotatedFilesAndKeepsTheOldOnAHalfRotation) {
  std::string d = MakeTempDir("nodepulse-tls-rot");
  ASSERT_EQ(RunCommand({"cp", F("server.crt"), F("server.key"), d}).exit_code, 0);
  auto ctx = http_internal::TlsServerContext::Create(d + "/server.crt", d + "/server.key", "");
  ASSERT_TRUE(ctx.ok()) << ctx.status();
  SSL_CTX* first = (*ctx)->Current(0);
  // Half a rotation: new cert, old key - mismatched, so the old context stays.
  ASSERT_EQ(RunCommand({"cp", F("server2.crt"), d + "/server.crt"}).exit_code, 0);
  EXPECT_EQ((*ctx)->Current(20000), first);
  EXPECT_EQ((*ctx)->reloads(), 0u);
  ASSERT_EQ(RunCommand({"cp", F("server2.key"), d + "/server.key"}).exit_code, 0);
  EXPECT_EQ((*ctx)->Current(25000), first) << "checked at most every 10 s";
  SSL_CTX* second = (*ctx)->Current(40000);
  EXPECT_NE(second, first);
  EXPECT_EQ((*ctx)->reloads(), 1u);
  RemoveTree(d);
}

}  // namespace
}  // namespace nodepulse::exporters
