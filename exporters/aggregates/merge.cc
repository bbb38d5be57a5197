#include "nodepulse/exporters/aggregates/merge.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>

#include <cmath>
#include <map>
#include <thread>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "aggregates.pb.h"
#include "aggregates_coverage.h"
#include "aggregates_json.h"
#include "nodepulse/base/curl.h"
#include "nodepulse/pipeline/aggregate.h"
#include "nodepulse/pipeline/sketch.h"

namespace nodepulse::exporters {

namespace {

using nodepulse::api::v1::Aggregate;
using nodepulse::api::v1::AggregatesResponse;

size_t Append(char* data, size_t size, size_t n, void* out) {
  auto* s = static_cast<std::string*>(out);
  // Refuse absurd answers rather than buffer them (an aggregates answer for
  // a whole node is kilobytes).
  if (s->size() + size * n > (64u << 20)) return 0;
  s->append(data, size * n);
  return size * n;
}

}  // namespace

std::string AgentQuery(const std::string& query) {
  std::vector<std::string> kept;
  for (absl::string_view kv : absl::StrSplit(query, '&', absl::SkipEmpty())) {
    absl::string_view key = kv.substr(0, kv.find('='));
    if (key != "min_coverage" && key != "max_age" && key != "max_missing_agents") kept.emplace_back(kv);
  }
  kept.push_back("min_coverage=0");
  kept.push_back("max_age=inf");
  return absl::StrJoin(kept, "&");
}

absl::StatusOr<std::string> FetchAggregates(const std::string& base_url, const std::string& query,
                                            absl::Duration timeout) {
  base::CurlOptions curl_options;
  curl_options.timeout = timeout;
  absl::StatusOr<base::CurlHandle> curl = base::NewCurlHandle(curl_options);
  if (!curl.ok()) return curl.status();
  std::string url = absl::StrCat(base_url, "/api/v1/aggregates", query.empty() ? "" : "?", query);
  std::string body;
  base::CurlHeaders headers(curl_slist_append(nullptr, "Accept: application/x-protobuf"));
  CURL* c = curl->get();
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &Append);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
  CURLcode rc = curl_easy_perform(c);
  long code = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
  if (rc != CURLE_OK) {
    return absl::UnavailableError(absl::StrCat(url, ": ", curl_easy_strerror(rc)));
  }
  // 404 means "no such workload on this node": an empty, valid answer.
  if (code == 404) return std::string();
  if (code != 200) return absl::UnavailableError(absl::StrCat(url, ": HTTP ", code));
  return body;
}

std::string MergeAggregates(const std::vector<std::string>& responses,
                            const std::vector<std::pair<std::string, std::string>>& errors) {
  struct Acc {
    Aggregate proto;  // identity fields of the first seen
    pipeline::Summary pods;  // sum, count, min, max and sketch; no samples across nodes
    // Coverage is pod-weighted: each node's mean weighs by its expected pods.
    double covered_pods = 0;
    uint32_t expected = 0, without_request = 0;
    int64_t newest_ms = 0, oldest_age_ms = 0;
  };
  std::map<std::tuple<std::string, std::string, std::string, std::string, std::string>, Acc> acc;
  int64_t newest = 0;
  for (const std::string& bytes : responses) {
    AggregatesResponse r;
    if (bytes.empty() || !r.ParseFromString(bytes)) continue;
    newest = std::max(newest, r.timestamp_ms());
    for (const Aggregate& a : r.results()) {
      Acc& x = acc[{a.namespace_(), a.workload_kind(), a.workload(), a.metric(), a.window()}];
      if (x.pods.count == 0) x.proto = a;
      x.pods.sum += a.sum();
      x.pods.count += a.count();
      // fmin/fmax skip NaN, so an agent without pods does not poison them.
      x.pods.min = std::fmin(x.pods.min, a.min());
      x.pods.max = std::fmax(x.pods.max, a.max());
      x.pods.sketch.Merge(SketchFromProto(a.sketch()));
      x.covered_pods += a.coverage() * a.pods_expected();
      x.expected += a.pods_expected();
      x.without_request += a.pods_without_request();
      x.newest_ms = std::max(x.newest_ms, a.newest_sample_ms());
      x.oldest_age_ms = std::max(x.oldest_age_ms, a.oldest_sample_age_ms());
    }
  }
  AggregatesResponse out;
  out.set_timestamp_ms(newest);
  for (auto& [key, x] : acc) {
    Aggregate* a = out.add_results();
    *a = x.proto;
    a->set_sum(x.pods.sum);
    a->set_count(x.pods.count);
    a->set_min(x.pods.min);
    a->set_max(x.pods.max);
    a->set_pods(static_cast<uint32_t>(x.pods.count));
    a->set_pods_expected(x.expected);
    a->set_pods_without_request(x.without_request);
    a->set_coverage(x.expected > 0 ? x.covered_pods / x.expected : 0);
    a->set_newest_sample_ms(x.newest_ms);
    a->set_oldest_sample_age_ms(x.oldest_age_ms);
    SketchToProto(x.pods.sketch, a->mutable_sketch());
    absl::StatusOr<pipeline::Stat> stat = pipeline::ParseStat(a->stat());
    a->set_value(stat.ok() ? x.pods.Value(*stat) : NAN);
  }
  if (out.results_size() == 1) out.set_value(out.results(0).value());
  out.set_agents(static_cast<uint32_t>(responses.size() + errors.size()));
  for (const auto& [url, error] : errors) {
    auto* e = out.add_errors();
    e->set_url(url);
    e->set_error(error);
  }
  return out.SerializeAsString();
}

HttpResponse MergedAnswer(const HttpRequest& req, const std::vector<std::string>& responses,
                          const std::vector<std::pair<std::string, std::string>>& errors) {
  AggregatesResponse merged;
  absl::StatusOr<CoverageThresholds> thresholds = ParseThresholds(req);
  if (!thresholds.ok()) {
    merged.mutable_status()->set_code(3);  // INVALID_ARGUMENT
    merged.mutable_status()->set_reason("bad_request");
    merged.mutable_status()->set_message(std::string(thresholds.status().message()));
    return AggregatesAnswer(req, 400, merged);
  }
  merged.ParseFromString(MergeAggregates(responses, errors));
  if (std::optional<HttpResponse> refused = RefuseBelowThresholds(*thresholds, req, merged)) {
    return *std::move(refused);
  }
  return AggregatesAnswer(req, 200, merged);
}

std::string AggregatesJson(const std::string& serialized_response) {
  AggregatesResponse r;
  r.ParseFromString(serialized_response);
  return ResponseJson(r);
}

Handler ClusterAggregatesHandler(std::vector<std::string> agents, absl::Duration timeout) {
  return ClusterAggregatesHandler([agents] { return agents; }, timeout);
}

std::vector<std::string> ResolveAgents(const std::string& host, int port) {
  std::vector<std::string> out;
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (getaddrinfo(host.c_str(), nullptr, &hints, &res) != 0) return out;
  for (addrinfo* p = res; p != nullptr; p = p->ai_next) {
    char buf[INET6_ADDRSTRLEN] = {0};
    if (p->ai_family == AF_INET) {
      inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(p->ai_addr)->sin_addr, buf, sizeof(buf));
      out.push_back(absl::StrCat("http://", buf, ":", port));
    } else if (p->ai_family == AF_INET6) {
      inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(p->ai_addr)->sin6_addr, buf, sizeof(buf));
      out.push_back(absl::StrCat("http://[", buf, "]:", port));
    }
  }
  freeaddrinfo(res);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

Handler ClusterAggregatesHandler(std::function<std::vector<std::string>()> list_agents,
                                 absl::Duration timeout) {
  // Before the handler ever fans out on threads (the agent's main has
  // usually done it already).
  base::CurlGlobalInit();
  return [list_agents = std::move(list_agents), timeout](const HttpRequest& req) {
    const std::string query = AgentQuery(req.query);
    const std::vector<std::string> agents = list_agents();
    std::vector<absl::StatusOr<std::string>> answers(agents.size(), std::string());
    std::vector<std::thread> threads;
    for (size_t i = 0; i < agents.size(); ++i) {
      threads.emplace_back(
          [&, i] { answers[i] = FetchAggregates(agents[i], query, timeout); });
    }
    for (std::thread& t : threads) t.join();
    std::vector<std::string> ok;
    std::vector<std::pair<std::string, std::string>> errors;
    for (size_t i = 0; i < agents.size(); ++i) {
      if (answers[i].ok()) {
        ok.push_back(*std::move(answers[i]));
      } else {
        errors.push_back({agents[i], std::string(answers[i].status().message())});
      }
    }
    return MergedAnswer(req, ok, errors);
  };
}

}  // namespace nodepulse::exporters
