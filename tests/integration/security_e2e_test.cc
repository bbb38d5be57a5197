// End-to-end endpoint security of the nodepulse binary on loopback: HTTPS
// with a generated certificate, plain HTTP refused on the TLS port, bearer
// token on /metrics and /api/* with open probes, oversized and flooding
// clients refused while collection keeps running, bad security flags, and no
// secret in the logs.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "agent_harness.h"
#include "fake_kubelet.h"
#include "gtest/gtest.h"
#include "process.h"

namespace nodepulse::testing {
namespace {

constexpr char kToken[] = "e2e-Secret-Token-4f9a1c";

class SecureAgent : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir("nodepulse-sec-e2e");
    certs_ = MakeTestCerts(dir_);
    ASSERT_EQ(certs_.error, "");
    token_file_ = dir_ + "/token";
    ASSERT_TRUE(WriteFile(token_file_, std::string(kToken) + "\n"));
  }
  void TearDown() override {
    agent_.reset();
    RemoveTree(dir_);
  }
  // Starts the agent with TLS + token on `port_`, probes on `probe_port_`.
  bool Start(std::vector<std::string> extra = {}) {
    port_ = FreeLoopbackPort();
    probe_port_ = FreeLoopbackPort();
    std::vector<std::string> argv = {NODEPULSE_AGENT_BIN,
                                     absl::StrCat("--listen=127.0.0.1:", port_),
                                     absl::StrCat("--probe-listen=127.0.0.1:", probe_port_),
                                     "--tls-cert-file=" + certs_.server_cert,
                                     "--tls-key-file=" + certs_.server_key,
                                     "--auth-token-file=" + token_file_,
                                     "--interval=200ms"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    agent_ = std::make_unique<ChildProcess>(argv);
    return WaitFor([&] { return !agent_->Exited() && HttpGet(probe_port_, "/readyz").status == 200; }, 20000);
  }
  // curl over HTTPS, trusting the test CA; output ends with the status code.
  RunResult Curl(const std::string& path, std::vector<std::string> extra = {}) {
    std::vector<std::string> argv = {"curl", "-sS", "--max-time", "10", "--cacert", certs_.ca,
                                     "-w", "\n%{http_code}"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    argv.push_back(absl::StrCat("https://127.0.0.1:", port_, path));
    return RunCommand(argv, 20000);
  }
  static std::string Code(const RunResult& r) { return r.output.substr(r.output.rfind('\n') + 1); }
  double Cycles() {
    RunResult r = Curl("/metrics", {"-H", std::string("Authorization: Bearer ") + kToken});
    return SampleValue(r.output, "nodepulse_cycles_total").value_or(-1);
  }

  std::string dir_, token_file_;
  TestCerts certs_;
  int port_ = 0, probe_port_ = 0;
  std::unique_ptr<ChildProcess> agent_;
};

TEST_F(SecureAgent, HttpsWithTokenServesMetricsAndProbesStayOpen) {
  ASSERT_TRUE(Start()) << agent_->Output();
  RunResult ok = Curl("/metrics", {"-H", std::string("Authorization: Bearer ") + kToken});
  EXPECT_EQ(Code(ok), "200");
  EXPECT_TRUE(absl::StrContains(ok.output, "container_cpu_usage_seconds_total")) << ok.output.substr(0, 300);
  EXPECT_EQ(Code(Curl("/metrics")), "401");
  EXPECT_EQ(Code(Curl("/metrics", {"-H", "Authorization: Bearer wrong"})), "401");
  EXPECT_EQ(Code(Curl("/api/v1/anything")), "401");
  // Probes: open over HTTPS on the main port and over plain HTTP on the probe port.
  EXPECT_EQ(Code(Curl("/healthz")), "200");
  EXPECT_EQ(Code(Curl("/readyz")), "200");
  EXPECT_EQ(HttpGet(probe_port_, "/healthz").status, 200);
  EXPECT_EQ(HttpGet(probe_port_, "/metrics").status, 404);
}

TEST_F(SecureAgent, PlainHttpToTheTlsPortFails) {
  ASSERT_TRUE(Start()) << agent_->Output();
  HttpResult plain = HttpGet(port_, "/healthz");
  EXPECT_NE(plain.status, 200);
  std::string raw = RawRequest(port_, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_FALSE(absl::StrContains(raw, "container_")) << raw.substr(0, 200);
  EXPECT_EQ(Code(Curl("/healthz")), "200");
}

TEST_F(SecureAgent, OversizedRequestsAre4xxAndTheAgentStaysHealthy) {
  ASSERT_TRUE(Start({"--max-header-bytes=2048", "--max-request-bytes=4096"})) << agent_->Output();
  std::string big_header(8000, 'h');
  RunResult r = Curl("/metrics", {"-H", "X-Pad: " + big_header});
  EXPECT_EQ(Code(r), "431") << r.output;
  // A huge URL is over the header limit too.
  r = Curl("/metrics?" + std::string(6000, 'q'));
  EXPECT_EQ(Code(r), "431") << r.output;
  r = Curl("/metrics", {"-X", "POST", "--data-binary", std::string(10000, 'b'), "-H",
                        std::string("Authorization: Bearer ") + kToken});
  EXPECT_EQ(Code(r), "413") << r.output;
  EXPECT_EQ(Code(Curl("/healthz")), "200");
  EXPECT_EQ(HttpGet(probe_port_, "/healthz").status, 200);
  EXPECT_FALSE(agent_->Exited());
}

TEST_F(SecureAgent, AFloodNeverStallsCollection) {
  // Plain HTTP for the flood: cheaper to generate, same limits and loop.
  int port = FreeLoopbackPort();
  agent_ = std::make_unique<ChildProcess>(std::vector<std::string>{
      NODEPULSE_AGENT_BIN, absl::StrCat("--listen=127.0.0.1:", port), "--interval=200ms",
      "--max-connections=16", "--max-requests-per-second=5", "--http-request-timeout=1s"});
  ASSERT_TRUE(WaitFor([&] { return HttpGet(port, "/readyz").status == 200; }, 20000)) << agent_->Output();
  auto cycles = [&] { return SampleValue(HttpGet(port, "/metrics").body, "nodepulse_cycles_total").value_or(-1); };
  double before = cycles();
  auto t0 = std::chrono::steady_clock::now();

  // For 2 s: 100 connections that never send (holding slots until the 1 s
  // request timeout), and 4 threads sending 200 pipelined scrapes per
  // connection, again and again (each gets 5 answers, then 429 and a close).
  std::vector<int> held;
  for (int i = 0; i < 100; ++i) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<uint16_t>(port));
    if (connect(s, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0) held.push_back(s);
  }
  std::string flood;
  for (int i = 0; i < 200; ++i) flood += "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
  std::atomic<int> answered{0};
  std::vector<std::thread> flooders;
  for (int t = 0; t < 4; ++t) {
    flooders.emplace_back([&] {
      while (std::chrono::steady_clock::now() - t0 < std::chrono::seconds(2)) {
        if (absl::StrContains(RawRequest(port, flood), "HTTP/1.1 ")) ++answered;
      }
    });
  }
  for (auto& t : flooders) t.join();
  for (int s : held) ::close(s);
  ASSERT_TRUE(WaitFor([&] { return HttpGet(port, "/healthz").status == 200; }, 10000)) << agent_->Output();
  double after = cycles();
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_GT(answered.load(), 0);
  // At 200 ms a cycle, `secs` allows secs/0.2 cycles; demand at least half
  // of them (the machine is shared), which a stalled loop cannot reach.
  EXPECT_GE(after - before, secs / 0.2 / 2) << "collection stalled during the flood (" << secs << " s)";
  EXPECT_FALSE(agent_->Exited());
}

TEST_F(SecureAgent, TheTokenIsNeverLogged) {
  ASSERT_TRUE(Start({"--log-level=debug"})) << agent_->Output();
  Curl("/metrics", {"-H", std::string("Authorization: Bearer ") + kToken + "x"});
  Curl("/metrics", {"-H", std::string("Authorization: Bearer ") + kToken});
  Curl("/metrics");
  agent_->Stop(SIGTERM, 5000);
  std::string out = agent_->Output();
  EXPECT_TRUE(absl::StrContains(out, "401")) << out;
  EXPECT_FALSE(absl::StrContains(out, kToken)) << out;
}

TEST_F(SecureAgent, BadSecurityFlagsExitTwoWithOneLine) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--tls-cert-file=" + certs_.server_cert}, "--tls-key-file"},
      {{"--tls-cert-file=/nope.crt", "--tls-key-file=" + certs_.server_key}, "--tls-cert-file"},
      {{"--tls-client-ca-file=" + certs_.ca}, "--tls-client-ca-file"},
      {{"--auth-token-file=/does/not/exist"}, "--auth-token-file"},
      {{"--max-connections=0"}, "--max-connections"},
      {{"--max-header-bytes=100"}, "--max-header-bytes"},
      {{"--max-requests-per-second=0"}, "--max-requests-per-second"},
      {{"--probe-listen=nonsense"}, "--probe-listen"},
  };
  for (const auto& [args, flag] : cases) {
    std::vector<std::string> argv = {NODEPULSE_AGENT_BIN};
    argv.insert(argv.end(), args.begin(), args.end());
    RunResult r = RunCommand(argv, 10000);
    EXPECT_EQ(r.exit_code, 2) << args[0] << ": " << r.output;
    EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
    EXPECT_TRUE(absl::StrContains(r.output, flag)) << r.output;
  }
  // A key that does not match the certificate passes flag checks (files are
  // readable) but the server refuses to start: exit 1, file named.
  RunResult r = RunCommand({NODEPULSE_AGENT_BIN, "--listen=127.0.0.1:0",
                            "--tls-cert-file=" + certs_.server_cert,
                            "--tls-key-file=" + certs_.wrong_host_key},
                           20000);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(absl::StrContains(r.output, certs_.wrong_host_key)) << r.output;
}

}  // namespace
}  // namespace nodepulse::testing
