#include "aggregates_coverage.h"

#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "aggregates_json.h"

namespace nodepulse::exporters {

namespace {

using nodepulse::api::v1::Aggregate;
using nodepulse::api::v1::AggregatesResponse;

constexpr int kUnavailable = 14;  // google.rpc.Code UNAVAILABLE: retry later

absl::StatusOr<double> Fraction(const HttpRequest& req, const char* name, double fallback) {
  const std::string text = req.Param(name);
  if (text.empty()) return fallback;
  double v = 0;
  if (!absl::SimpleAtod(text, &v) || !(v >= 0 && v <= 1)) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, "=", text, ": must be a number from 0 to 1"));
  }
  return v;
}

std::string Describe(const Aggregate& a) {
  return absl::StrCat(a.namespace_(), "/", a.workload(), " ", a.metric(), " ", a.window());
}

// The result without its numbers: an error answer must not carry any.
void CopyWithoutNumbers(const Aggregate& a, Aggregate* out) {
  *out = a;
  out->clear_value();
  out->clear_sum();
  out->clear_count();
  out->clear_min();
  out->clear_max();
  out->clear_sketch();
}

}  // namespace

absl::StatusOr<CoverageThresholds> ParseThresholds(const HttpRequest& req) {
  CoverageThresholds t;
  absl::StatusOr<double> cov = Fraction(req, "min_coverage", t.min_coverage);
  if (!cov.ok()) return cov.status();
  t.min_coverage = *cov;
  absl::StatusOr<double> missing = Fraction(req, "max_missing_agents", t.max_missing_agents);
  if (!missing.ok()) return missing.status();
  t.max_missing_agents = *missing;
  if (std::string age = req.Param("max_age"); !age.empty()) {
    absl::Duration d;
    if (!absl::ParseDuration(age, &d) || d < absl::ZeroDuration()) {
      return absl::InvalidArgumentError(
          absl::StrCat("max_age=", age, ": must be a duration such as 10s, 1m or inf"));
    }
    t.max_age_ms = d == absl::InfiniteDuration() ? kNoMaxAge : absl::ToInt64Milliseconds(d);
  }
  return t;
}

std::optional<HttpResponse> RefuseBelowThresholds(const CoverageThresholds& t, const HttpRequest& req,
                                                  const AggregatesResponse& resp) {
  AggregatesResponse refused;
  refused.set_timestamp_ms(resp.timestamp_ms());
  refused.set_node(resp.node());
  refused.set_agents(resp.agents());
  *refused.mutable_errors() = resp.errors();
  std::string reason, message;
  if (resp.agents() > 0 &&
      static_cast<double>(resp.errors_size()) > t.max_missing_agents * resp.agents()) {
    reason = "agents_missing";
    message = absl::StrCat(resp.errors_size(), " of ", resp.agents(),
                           " agents did not answer (max_missing_agents=", t.max_missing_agents, ")");
  }
  for (const Aggregate& a : resp.results()) {
    const bool low = a.coverage() < t.min_coverage;
    const bool stale = t.max_age_ms != kNoMaxAge && a.oldest_sample_age_ms() > t.max_age_ms;
    if (!low && !stale) continue;
    CopyWithoutNumbers(a, refused.add_results());
    if (!reason.empty()) continue;  // the first cause names the answer
    reason = low ? "low_coverage" : "stale";
    message = low ? absl::StrCat(Describe(a), ": coverage ", a.coverage(), " < min_coverage ",
                                 t.min_coverage, " (", a.pods(), " of ", a.pods_expected(),
                                 " pods contributed)")
                  : absl::StrCat(Describe(a), ": oldest sample ", a.oldest_sample_age_ms(),
                                 " ms old > max_age ", t.max_age_ms, " ms");
  }
  if (reason.empty()) return std::nullopt;
  auto* status = refused.mutable_status();
  status->set_code(kUnavailable);
  status->set_reason(reason);
  status->set_message(message);
  return AggregatesAnswer(req, 503, refused);
}

HttpResponse AggregatesAnswer(const HttpRequest& req, int status, const AggregatesResponse& resp) {
  if (req.Header("accept").find("application/x-protobuf") != std::string::npos) {
    return HttpResponse{status, "application/x-protobuf", resp.SerializeAsString(), {}, nullptr};
  }
  return HttpResponse{status, "application/json", ResponseJson(resp), {}, nullptr};
}

}  // namespace nodepulse::exporters
