// Coverage and staleness thresholds of an aggregates answer, shared by the
// node handler (aggregates.cc) and the cluster merge (merge.cc): below them
// the answer is an error status, never a number, so an autoscaler's
// fallback fires (KEDA's metrics-api scaler treats any non-200 as an error;
// a number read as "no load" would scale a workload down).
#ifndef NODEPULSE_EXPORTERS_AGGREGATES_COVERAGE_H_
#define NODEPULSE_EXPORTERS_AGGREGATES_COVERAGE_H_

#include <cstdint>
#include <limits>
#include <optional>

#include "absl/status/statusor.h"
#include "aggregates.pb.h"
#include "nodepulse/exporters/http/http_server.h"

namespace nodepulse::exporters {

struct CoverageThresholds {
  // min_coverage=: each result's coverage must be at least this (0..1).
  double min_coverage = 0.8;
  // max_age=: each result's oldest_sample_age_ms must be at most this
  // ("inf" turns the check off). Ten 1 s cycles: a stall shows within ten.
  int64_t max_age_ms = 10'000;
  // max_missing_agents= (cluster): the fraction of agents that may fail.
  double max_missing_agents = 0;
};
inline constexpr int64_t kNoMaxAge = std::numeric_limits<int64_t>::max();

// From the query; InvalidArgument names the parameter and what is allowed.
absl::StatusOr<CoverageThresholds> ParseThresholds(const HttpRequest& req);

// The 503 answer when a result of `resp` (or the share of missing agents)
// is below the thresholds; nullopt when `resp` may be served as it is.
std::optional<HttpResponse> RefuseBelowThresholds(const CoverageThresholds& t, const HttpRequest& req,
                                                  const nodepulse::api::v1::AggregatesResponse& resp);

// `resp` as JSON, or as protobuf when the request accepts it.
HttpResponse AggregatesAnswer(const HttpRequest& req, int status,
                              const nodepulse::api::v1::AggregatesResponse& resp);

}  // namespace nodepulse::exporters

#endif  // NODEPULSE_EXPORTERS_AGGREGATES_COVERAGE_H_
