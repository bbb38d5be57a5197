// KubeletClient against a real HTTPS fake kubelet on 127.0.0.1: the happy
// path on every fixture, connection reuse, the thread, and each fault of
// issue #5 (down, slow, garbage, 401/403/5xx, wrong CA, wrong host, too
// large), with the stale-grace and log-once behaviour.
#include <chrono>

#include "absl/strings/match.h"
#include "http_fetcher.h"
#include "https_fixture.h"

namespace nodepulse::collectors {
namespace {

using testing::CountLines;
using testing::FakeKubelet;
using testing::KubeletFixture;
using testing::ReadFile;
using testing::StderrCapture;
using Endpoint = KubeletEndpoint;
using Error = KubeletError;

using KubeletClientTest = testing::KubeletHttpsTest;

TEST_F(KubeletClientTest, FetchesPodsAndSummaryOverHttpsWithOneConnection) {
  KubeletClient client(Options());
  EXPECT_EQ(client.state()->pods.size(), 0u);
  client.PollOnce();
  auto s = client.state();
  EXPECT_TRUE(s->up);
  EXPECT_EQ(TotalErrors(*s), 0u);
  EXPECT_EQ(s->pods.size(), 24u);
  EXPECT_EQ(s->usage.size(), 17u);
  EXPECT_NE(s->pods_fetched, absl::InfinitePast());
  const PodMeta* pod = nullptr;
  const ContainerMeta* c =
      s->FindContainer("77bb57d9a0006a5ac95a6fa541b2f2a646943143fe1d906aaf70a392d9a62b83", &pod);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(pod->namespace_name, "scraper");
  uint64_t version = s->layout_version;
  client.PollOnce();
  client.PollOnce();
  EXPECT_EQ(client.state()->layout_version, version);  // same pods: no re-intern
  EXPECT_EQ(kubelet_->requests("/pods"), 3);
  EXPECT_EQ(kubelet_->requests("/stats/summary"), 3);
  EXPECT_EQ(kubelet_->connections(), 1);  // keep-alive: one TLS handshake for six GETs
}

TEST_F(KubeletClientTest, EveryFixtureVersionParsesOverHttps) {
  struct Pair { const char* pods; const char* summary; size_t npods; size_t nusage; };
  for (const Pair& p : {Pair{"pods.nri-k8s-1.18.json", "stats-summary.nri-k8s-1.18.json", 16, 15},
                        Pair{"pods.nri-k8s-1.24.json", "stats-summary.nri-k8s-1.24.json", 25, 17},
                        Pair{"pods.nri-k8s-1.28.json", "stats-summary.nri-k8s-1.28.json", 23, 18},
                        Pair{"pods.nri-k8s-1.35.json", "stats-summary.nri-k8s-1.35.json", 24, 17},
                        Pair{"pods.datadog-windows.json", "stats-summary.datadog-windows.json", 2, 2},
                        Pair{"pods.datadog-windows.json", "stats-summary.beats-gke-2017.json", 2, 1},
                        Pair{"pods.datadog-windows.json",
                             "stats-summary.beats-gke-2017-multiple-containers.json", 2, 1}}) {
    kubelet_->Serve("/pods", ReadFile(KubeletFixture(p.pods)));
    kubelet_->Serve("/stats/summary", ReadFile(KubeletFixture(p.summary)));
    KubeletClient client(Options());
    client.PollOnce();
    auto s = client.state();
    EXPECT_TRUE(s->up) << p.pods << " " << p.summary;
    EXPECT_EQ(s->pods.size(), p.npods) << p.pods;
    EXPECT_EQ(s->usage.size(), p.nusage) << p.summary;
  }
}

TEST_F(KubeletClientTest, KubeletDownIsConnectAndSkipsTheSummary) {
  KubeletOptions o = Options();
  o.url = "https://127.0.0.1:" + std::to_string(testing::FreeLoopbackPort());
  KubeletClient client(o);
  client.PollOnce();
  auto s = client.state();
  EXPECT_FALSE(s->up);
  EXPECT_EQ(Errors(*s, Endpoint::kPods, Error::kConnect), 1u);
  EXPECT_EQ(TotalErrors(*s), 1u);  // the summary was not tried
}

TEST_F(KubeletClientTest, SlowKubeletTimesOut) {
  KubeletOptions o = Options();
  o.timeout = absl::Milliseconds(500);
  kubelet_->SetFault(FakeKubelet::Fault::kSlow, 3000);
  KubeletClient client(o);
  auto start = std::chrono::steady_clock::now();
  client.PollOnce();
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_LT(took, std::chrono::milliseconds(2000));
  EXPECT_EQ(Errors(*client.state(), Endpoint::kPods, Error::kTimeout), 1u);
  EXPECT_FALSE(client.state()->up);
}

TEST_F(KubeletClientTest, GarbageIsParse) {
  kubelet_->SetFault(FakeKubelet::Fault::kGarbage);
  KubeletClient client(Options());
  client.PollOnce();
  auto s = client.state();
  EXPECT_EQ(Errors(*s, Endpoint::kPods, Error::kParse), 1u);
  EXPECT_EQ(Errors(*s, Endpoint::kSummary, Error::kParse), 1u);
  EXPECT_EQ(s->pods.size(), 0u);
}

TEST_F(KubeletClientTest, HttpStatusesAreClassified) {
  {
    KubeletOptions o = Options();
    o.token_file = *dir_ + "/wrong-token";
    KubeletClient client(o);
    client.PollOnce();
    EXPECT_EQ(Errors(*client.state(), Endpoint::kPods, Error::kHttp401), 1u);
    EXPECT_EQ(Errors(*client.state(), Endpoint::kSummary, Error::kHttp401), 1u);
  }
  for (auto [code, reason] : {std::pair{403, Error::kHttp403}, std::pair{503, Error::kHttp5xx},
                              std::pair{404, Error::kHttp4xx}}) {
    kubelet_->SetFault(FakeKubelet::Fault::kStatus, code);
    KubeletClient client(Options());
    client.PollOnce();
    EXPECT_EQ(Errors(*client.state(), Endpoint::kPods, reason), 1u) << code;
    EXPECT_FALSE(client.state()->up);
  }
}

TEST_F(KubeletClientTest, WrongCaIsTlsAndTheProblemNamesTheCertificateAndTheFix) {
  KubeletOptions o = Options();
  o.ca_file = certs_->other_ca;
  KubeletClient client(o);
  client.PollOnce();
  auto s = client.state();
  EXPECT_EQ(Errors(*s, Endpoint::kPods, Error::kTls), 1u);
  EXPECT_EQ(s->problem_reason, Error::kTls);
  // MakeTestCerts: the server is CN=kubelet-server, signed by CN=nodepulse-test-ca.
  for (const char* want : {"TLS verification failed", "subject \"CN = kubelet-server\"",
                           "issued by \"CN = nodepulse-test-ca\"", "--kubelet-insecure-skip-verify",
                           "--kubelet-ca-file"}) {
    EXPECT_TRUE(absl::StrContains(s->problem, want)) << want << " not in: " << s->problem;
  }
  EXPECT_FALSE(absl::StrContains(s->problem, "not reachable"));
  EXPECT_EQ(kubelet_->requests("/pods"), 0);  // the handshake probe sends no request
}

TEST_F(KubeletClientTest, ProblemFollowsTheReasonAndClearsWhenUp) {
  kubelet_->SetFault(FakeKubelet::Fault::kStatus, 503);
  KubeletClient client(Options());
  client.PollOnce();
  EXPECT_EQ(client.state()->problem_reason, Error::kHttp5xx);
  EXPECT_TRUE(absl::StrContains(client.state()->problem, "HTTP 503")) << client.state()->problem;
  kubelet_->SetFault(FakeKubelet::Fault::kNone);
  client.PollOnce();
  EXPECT_TRUE(client.state()->up);
  EXPECT_TRUE(client.state()->problem.empty()) << client.state()->problem;
}

TEST_F(KubeletClientTest, HostnameMismatchIsTlsUnlessVerificationIsOff) {
  auto wrong = StartKubelet(certs_->wrong_host_cert, certs_->wrong_host_key);
  KubeletOptions o = Options();
  o.url = wrong->url();
  {
    KubeletClient client(o);
    client.PollOnce();
    EXPECT_EQ(Errors(*client.state(), Endpoint::kPods, Error::kTls), 1u);
  }
  o.insecure_skip_verify = true;
  o.ca_file = certs_->other_ca;  // ignored when verification is off
  KubeletClient client(o);
  client.PollOnce();
  EXPECT_TRUE(client.state()->up);
}

TEST_F(KubeletClientTest, OversizedBodiesAreTooLarge) {
  KubeletOptions o = Options();
  o.max_response_bytes = 64 << 10;  // /pods is 128 KB, with Content-Length
  {
    KubeletClient client(o);
    client.PollOnce();
    EXPECT_EQ(Errors(*client.state(), Endpoint::kPods, Error::kTooLarge), 1u);
    EXPECT_EQ(Errors(*client.state(), Endpoint::kSummary, Error::kTooLarge), 1u);  // 93 KB
  }
  // No Content-Length: caught while streaming, long before 16 MB arrive.
  o.max_response_bytes = 1 << 20;
  kubelet_->SetFault(FakeKubelet::Fault::kHugeNoLength, 16 << 20);
  KubeletClient client(o);
  client.PollOnce();
  EXPECT_EQ(Errors(*client.state(), Endpoint::kPods, Error::kTooLarge), 1u);
}

TEST_F(KubeletClientTest, LastGoodMetadataIsKeptForTheGracePeriodThenDropped) {
  KubeletOptions o = Options();
  o.stale_grace = absl::Milliseconds(800);
  KubeletClient client(o);
  client.PollOnce();
  ASSERT_TRUE(client.state()->up);
  for (auto fault : {FakeKubelet::Fault::kGarbage, FakeKubelet::Fault::kClose}) {
    kubelet_->SetFault(fault);
    client.PollOnce();
    auto s = client.state();
    EXPECT_FALSE(s->up);
    EXPECT_EQ(s->pods.size(), 24u);  // stale labels beat no labels
    EXPECT_EQ(s->usage.size(), 17u);
    EXPECT_NE(s->FindPod("3ea3ef66-5f89-43b7-b88b-6ee26f5b18a4"), nullptr);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(900));
  client.PollOnce();
  EXPECT_EQ(client.state()->pods.size(), 0u);
  EXPECT_EQ(client.state()->usage.size(), 0u);
  kubelet_->SetFault(FakeKubelet::Fault::kNone);
  client.PollOnce();
  EXPECT_TRUE(client.state()->up);
  EXPECT_EQ(client.state()->pods.size(), 24u);
}

TEST_F(KubeletClientTest, LogsOncePerStateChangeAndNeverTheToken) {
  KubeletClient client(Options());
  StderrCapture capture;
  client.PollOnce();  // ok: nothing to say
  kubelet_->SetFault(FakeKubelet::Fault::kStatus, 503);
  for (int i = 0; i < 3; ++i) client.PollOnce();
  kubelet_->SetFault(FakeKubelet::Fault::kGarbage);  // a different reason: one more line
  for (int i = 0; i < 3; ++i) client.PollOnce();
  kubelet_->SetFault(FakeKubelet::Fault::kNone);
  client.PollOnce();
  client.PollOnce();
  std::string log = capture.Finish();
  EXPECT_EQ(CountLines(log, "kubelet pods failing (http_5xx)"), 1) << log;
  EXPECT_EQ(CountLines(log, "kubelet pods failing (parse)"), 1) << log;
  EXPECT_EQ(CountLines(log, "kubelet pods recovered after 6 failed polls"), 1) << log;
  EXPECT_EQ(CountLines(log, "kubelet stats/summary recovered"), 1) << log;
  EXPECT_EQ(log.find(testing::kToken), std::string::npos);
  EXPECT_EQ(Errors(*client.state(), Endpoint::kPods, Error::kHttp5xx), 3u);
  EXPECT_EQ(Errors(*client.state(), Endpoint::kPods, Error::kParse), 3u);
}

TEST_F(KubeletClientTest, ThreadPollsAtItsIntervalAndStopsPromptly) {
  KubeletOptions o = Options();
  o.interval = absl::Milliseconds(100);
  KubeletClient client(o);
  ASSERT_TRUE(client.Start().ok());
  EXPECT_FALSE(client.Start().ok());  // already running
  EXPECT_TRUE(testing::WaitFor([&] { return client.state()->polls >= 3; }, 5000));
  EXPECT_TRUE(client.state()->up);
  auto start = std::chrono::steady_clock::now();
  client.Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(500));
  uint64_t polls = client.state()->polls;
  std::this_thread::sleep_for(std::chrono::milliseconds(250));
  EXPECT_EQ(client.state()->polls, polls);
  client.Stop();  // idempotent
}

TEST_F(KubeletClientTest, ThreadBacksOffWhileDownAndRecovers) {
  KubeletOptions o = Options();
  o.interval = absl::Seconds(30);  // only backoff retries can make progress below
  o.backoff_initial = absl::Milliseconds(20);
  o.backoff_max = absl::Milliseconds(80);
  kubelet_->SetFault(FakeKubelet::Fault::kStatus, 500);
  KubeletClient client(o);
  ASSERT_TRUE(client.Start().ok());
  EXPECT_TRUE(testing::WaitFor([&] { return client.state()->polls >= 4; }, 5000));
  EXPECT_FALSE(client.state()->up);
  kubelet_->SetFault(FakeKubelet::Fault::kNone);
  EXPECT_TRUE(testing::WaitFor([&] { return client.state()->up; }, 5000));
  client.Stop();
}

TEST_F(KubeletClientTest, FetcherReusesItsConnection) {
  auto f = kubelet::HttpFetcher::Create(Options());
  ASSERT_TRUE(f.ok());
  std::string body;
  KubeletError reason;
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE((*f)->Get(kubelet_->url() + "/pods", testing::kToken, &body, &reason).ok());
  }
  EXPECT_EQ((*f)->connections_opened(), 1u);
  absl::Status s = (*f)->Get(kubelet_->url() + "/nope", testing::kToken, &body, &reason);
  EXPECT_TRUE(absl::IsFailedPrecondition(s)) << s;
  EXPECT_NE(std::string(s.message()).find("/nope: HTTP 404"), std::string::npos) << s;
}

}  // namespace
}  // namespace nodepulse::collectors
