// KubeletClient: the polling thread, backoff, stale-grace and log-once
// bookkeeping. Fetching is http_fetcher.cc, parsing json_parsers.cc, state
// building state_builder.cc.
#include <algorithm>
#include <cmath>
#include <exception>
#include <fstream>
#include <sstream>

#include <time.h>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "http_fetcher.h"
#include "json_parsers.h"
#include "nodepulse/collectors/kubelet.h"
#include "nodepulse/base/clock.h"
#include "nodepulse/base/log.h"
#include "nodepulse/base/mutex.h"
#include "state_builder.h"

namespace nodepulse::collectors {

using kubelet::HttpFetcher;

using base::MonotonicNow;

// Everything the polling thread owns. Lives as long as the client so
// PollOnce() (tests) and the thread share one curl handle and one history.
class KubeletClient::Poller {
 public:
  explicit Poller(const KubeletOptions& options) : options_(options) {}

  absl::Status Init() {
    if (fetcher_ != nullptr) return absl::OkStatus();
    auto f = HttpFetcher::Create(options_);
    if (!f.ok()) return f.status();
    fetcher_ = std::move(*f);
    return absl::OkStatus();
  }

  // One round; returns the new state, and whether every endpoint succeeded.
  std::shared_ptr<const KubeletState> Poll(const KubeletState& prev, bool* all_ok);

  uint32_t failures() const { return failures_; }

 private:
  struct EndpointLog {
    bool failing = false;
    KubeletError reason = KubeletError::kOther;
    uint64_t failed_polls = 0;
    bool expired_logged = false;
    std::string problem;  // Explain() at the last state change
  };

  // Fetches and parses one endpoint; false on failure (counted and logged).
  template <typename Msg>
  bool FetchInto(KubeletEndpoint endpoint, const std::string& token, Msg* msg,
                 KubeletState* next, KubeletError* reason);
  void NoteSuccess(KubeletEndpoint endpoint);
  void NoteFailure(KubeletEndpoint endpoint, KubeletError reason, const absl::Status& status);
  std::string Explain(KubeletError reason, const absl::Status& status) const;
  // The first failing endpoint's problem, or none when all answered.
  void PublishProblem(KubeletState* next) const;
  std::string ReadToken();

  const KubeletOptions options_;
  std::unique_ptr<HttpFetcher> fetcher_;
  std::string body_;  // reused across requests; /pods can be megabytes
  kubelet::api::PodList pods_msg_;
  kubelet::api::Summary summary_msg_;
  EndpointLog log_[kKubeletEndpoints];
  bool token_warned_ = false;
  std::string signature_;
  uint32_t failures_ = 0;  // consecutive rounds with any failure
};

std::string KubeletClient::Poller::ReadToken() {
  if (options_.token_file.empty()) return {};
  std::ifstream f(options_.token_file);
  std::stringstream ss;
  ss << f.rdbuf();
  if (!f.good() && !f.eof()) {
    if (!token_warned_) LogWarn("kubelet: cannot read token file ", options_.token_file, "; sending no token");
    token_warned_ = true;
    return {};
  }
  token_warned_ = false;
  std::string token = ss.str();
  absl::string_view t = absl::StripAsciiWhitespace(token);  // files often end in "\n"
  return std::string(t);
}

void KubeletClient::Poller::NoteSuccess(KubeletEndpoint endpoint) {
  EndpointLog& l = log_[static_cast<int>(endpoint)];
  if (l.failing) {
    LogInfo("kubelet ", KubeletEndpointName(endpoint), " recovered after ", l.failed_polls,
            " failed polls");
  }
  l = EndpointLog{};
}

// The failure in words, with the fix where there is one. A TLS failure
// names the certificate the kubelet presented (one extra handshake, made
// only here, i.e. once per state change) and the two flags that fix it.
std::string KubeletClient::Poller::Explain(KubeletError reason, const absl::Status& status) const {
  if (reason == KubeletError::kTls && !options_.insecure_skip_verify) {
    std::string trust = options_.ca_file.empty() ? std::string("the system trust store")
                                                 : absl::StrCat("--kubelet-ca-file=", options_.ca_file);
    return absl::StrCat("TLS verification failed: ", status.message(), "; the kubelet presents ",
                        fetcher_->DescribePeerCertificate(options_.url), ", which ", trust,
                        " does not verify. Self-signed kubelet certificates (kind, minikube, kubeadm "
                        "default): pass --kubelet-insecure-skip-verify, or --kubelet-ca-file=<the CA that "
                        "signed it>");
  }
  if (reason == KubeletError::kHttp401 || reason == KubeletError::kHttp403) {
    return absl::StrCat(status.message(), "; the service account needs get on nodes/proxy and nodes/stats");
  }
  return std::string(status.message());
}

void KubeletClient::Poller::NoteFailure(KubeletEndpoint endpoint, KubeletError reason,
                                        const absl::Status& status) {
  EndpointLog& l = log_[static_cast<int>(endpoint)];
  ++l.failed_polls;
  // Once per state change: ok -> failing, or a different failure reason.
  if (!l.failing || l.reason != reason) {
    l.problem = Explain(reason, status);
    LogWarn("kubelet ", KubeletEndpointName(endpoint), " failing (", KubeletErrorName(reason),
            "): ", l.problem, "; keeping last good data for up to ",
            absl::FormatDuration(options_.stale_grace));
  }
  l.failing = true;
  l.reason = reason;
}

void KubeletClient::Poller::PublishProblem(KubeletState* next) const {
  for (const EndpointLog& l : log_) {
    if (!l.failing) continue;
    next->problem_reason = l.reason;
    next->problem = l.problem;
    return;
  }
}

template <typename Msg>
bool KubeletClient::Poller::FetchInto(KubeletEndpoint endpoint, const std::string& token, Msg* msg,
                                      KubeletState* next, KubeletError* reason) {
  std::string_view name = KubeletEndpointName(endpoint);
  std::string url = absl::StrCat(options_.url, "/", absl::string_view(name.data(), name.size()));
  absl::Status status = fetcher_->Get(url, token, &body_, reason);
  if (status.ok()) {
    if constexpr (std::is_same_v<Msg, kubelet::api::PodList>) {
      status = kubelet::ParsePodList(body_, msg);
    } else {
      status = kubelet::ParseSummary(body_, msg);
    }
    if (!status.ok()) {
      *reason = KubeletError::kParse;
      status = absl::InvalidArgumentError(absl::StrCat("GET ", url, ": ", status.message()));
    }
  }
  if (!status.ok()) {
    ++next->errors[static_cast<int>(endpoint)][static_cast<int>(*reason)];
    NoteFailure(endpoint, *reason, status);
    return false;
  }
  NoteSuccess(endpoint);
  return true;
}

std::shared_ptr<const KubeletState> KubeletClient::Poller::Poll(const KubeletState& prev,
                                                                bool* all_ok) {
  const absl::Time now = absl::Now();  // timestamps only
  const absl::Duration now_mono = MonotonicNow();  // the stale grace
  auto next = std::make_shared<KubeletState>();
  next->errors = prev.errors;
  next->polls = prev.polls + 1;
  next->layout_version = prev.layout_version;

  const std::string token = ReadToken();
  KubeletError reason = KubeletError::kOther;
  bool pods_ok = FetchInto(KubeletEndpoint::kPods, token, &pods_msg_, next.get(), &reason);
  // A transport failure (down, slow, TLS) would only repeat for the summary
  // and double the time this round blocks; skip it, uncounted.
  bool transport_down = !pods_ok && (reason == KubeletError::kConnect ||
                                     reason == KubeletError::kTimeout || reason == KubeletError::kTls);
  bool summary_ok = !transport_down &&
                    FetchInto(KubeletEndpoint::kSummary, token, &summary_msg_, next.get(), &reason);

  if (pods_ok) {
    next->pods = kubelet::BuildPods(pods_msg_, prev);
    next->pods_fetched = now;
    next->pods_fetched_mono = now_mono;
  } else if (now_mono - prev.pods_fetched_mono <= options_.stale_grace) {
    next->pods = prev.pods;  // stale labels beat no labels, for a while
    next->pods_fetched = prev.pods_fetched;
    next->pods_fetched_mono = prev.pods_fetched_mono;
  } else if (!prev.pods.empty()) {
    LogWarn("kubelet pods metadata older than ", absl::FormatDuration(options_.stale_grace),
            "; dropping namespace/pod labels until the kubelet answers");
  }
  if (summary_ok) {
    next->usage = kubelet::BuildUsage(summary_msg_);
    next->summary_fetched = now;
    next->summary_fetched_mono = now_mono;
  } else if (now_mono - prev.summary_fetched_mono <= options_.stale_grace) {
    next->usage = prev.usage;
    next->summary_fetched = prev.summary_fetched;
    next->summary_fetched_mono = prev.summary_fetched_mono;
  }
  kubelet::IndexState(prev, next.get());
  next->up = pods_ok && summary_ok;
  if (!next->up) PublishProblem(next.get());

  std::string signature = kubelet::LayoutSignature(*next);
  if (signature != signature_) {
    ++next->layout_version;
    signature_ = std::move(signature);
  }
  *all_ok = next->up;
  failures_ = next->up ? 0 : failures_ + 1;
  return next;
}

KubeletClient::KubeletClient(KubeletOptions options)
    : options_(std::move(options)),
      poller_(std::make_unique<Poller>(options_)),
      state_(std::make_shared<const KubeletState>()) {}

KubeletClient::~KubeletClient() { Stop(); }

absl::Status KubeletClient::Start() {
  if (thread_.joinable()) return absl::FailedPreconditionError("kubelet client already started");
  if (options_.url.empty()) return absl::InvalidArgumentError("kubelet client: no URL");
  if (absl::Status s = poller_->Init(); !s.ok()) return s;
  {
    std::lock_guard<std::mutex> lock(stop_mu_);
    stop_ = false;
  }
  LogInfo("kubelet client polling ", options_.url, " every ", absl::FormatDuration(options_.interval),
          options_.insecure_skip_verify ? " (TLS verification off)" : "");
  thread_ = std::thread([this] {
    NameThisThread("np-kubelet");
    Run();
  });
  return absl::OkStatus();
}

void KubeletClient::Stop() {
  {
    std::lock_guard<std::mutex> lock(stop_mu_);
    stop_ = true;
  }
  stop_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void KubeletClient::PollOnce() {
  if (absl::Status s = poller_->Init(); !s.ok()) {
    LogError("kubelet client: ", s.message());
    return;
  }
  bool ok = false;
  auto prev = state();
  Publish(poller_->Poll(*prev, &ok));
}

void KubeletClient::Run() {
  absl::BitGen rng;
  while (true) {
    bool ok = false;
    // Nothing may escape the thread: curl and protobuf are C/C++ boundaries
    // whose only exception is std::bad_alloc, but one escaping would kill
    // the agent.
    try {
      auto prev = state();
      Publish(poller_->Poll(*prev, &ok));
    } catch (const std::exception& e) {
      LogError("kubelet poll failed: ", e.what());
    } catch (...) {
      LogError("kubelet poll failed: unknown exception");
    }
    absl::Duration delay = options_.interval;
    if (!ok) {
      // Capped exponential backoff with jitter: 1s, 2s, 4s ... backoff_max,
      // each scaled by a random 50-100%.
      uint32_t n = std::min<uint32_t>(poller_->failures(), 30);
      absl::Duration d = options_.backoff_initial * std::pow(2.0, n > 0 ? n - 1 : 0);
      d = std::min(d, options_.backoff_max);
      delay = d * absl::Uniform(rng, 0.5, 1.0);
    }
    // Monotonic: see stop_cv_ in kubelet.h.
    std::unique_lock<std::mutex> lock(stop_mu_);
    if (stop_cv_.wait_for(lock, absl::ToChronoNanoseconds(delay), [this] { return stop_; })) return;
  }
}

void KubeletClient::Publish(std::shared_ptr<const KubeletState> state) {
  base::MutexLock lock(&mu_);
  state_ = std::move(state);
}

std::shared_ptr<const KubeletState> KubeletClient::state() const {
  base::MutexLock lock(&mu_);
  return state_;
}

}  // namespace nodepulse::collectors
