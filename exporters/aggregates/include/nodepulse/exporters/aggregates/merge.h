// Cluster-wide aggregates: fetch /api/v1/aggregates from several agents and
// merge them exactly - sum, count, min and max combine exactly; quantiles
// come from the merged sketches (1% relative error) - so an autoscaler gets
// a workload's true cluster-wide p95, which averaging per-node answers
// cannot give. Agents that fail are listed in the answer, never dropped
// silently.
//
// Thread-safety: free functions, callable from any thread; the handlers of
// ClusterAggregatesHandler() fetch from the agents on one thread per agent
// per request and join them before answering.
#ifndef NODEPULSE_EXPORTERS_MERGE_H_
#define NODEPULSE_EXPORTERS_MERGE_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "nodepulse/exporters/http/http_server.h"

namespace nodepulse::api::v1 {
class AggregatesResponse;
}

namespace nodepulse::exporters {

// The query each agent is asked for a cluster answer: the client's, with
// the thresholds replaced by min_coverage=0&max_age=inf, so every agent
// answers with numbers and coverage and the thresholds apply to the merge.
std::string AgentQuery(const std::string& query);

// GETs `base_url` + "/api/v1/aggregates?" + query with Accept: protobuf.
absl::StatusOr<std::string> FetchAggregates(const std::string& base_url, const std::string& query,
                                            absl::Duration timeout);

// Merges serialized AggregatesResponse messages (one per agent) into one,
// recomputing each result's `value` for its `stat`; `errors` lists failures
// and `agents` counts both. Coverage merges pod-weighted (by pods_expected),
// newest_sample_ms takes the newest, oldest_sample_age_ms the oldest.
// Returns the serialized merged response.
std::string MergeAggregates(const std::vector<std::string>& responses,
                            const std::vector<std::pair<std::string, std::string>>& errors);

// The cluster's answer to `req` from the agents' answers (fetched with
// AgentQuery(req.query)): merged, then refused with HTTP 503 and an error
// status when more than max_missing_agents= (default 0) of the agents
// failed or a merged result is below min_coverage= / above max_age= of
// req's query; 400 for a bad threshold. JSON, or protobuf per Accept.
HttpResponse MergedAnswer(const HttpRequest& req, const std::vector<std::string>& responses,
                          const std::vector<std::pair<std::string, std::string>>& errors);

// Renders a (merged) serialized response as the API's JSON.
std::string AggregatesJson(const std::string& serialized_response);

// GET /api/v1/aggregates of the cluster: asks every agent in `agents`
// (base URLs) in parallel (AgentQuery) and answers with MergedAnswer.
Handler ClusterAggregatesHandler(std::vector<std::string> agents, absl::Duration timeout);
// Same, with the agent list found per request (e.g. every address a headless
// Service's DNS name resolves to, so agents on new nodes are included).
Handler ClusterAggregatesHandler(std::function<std::vector<std::string>()> agents,
                                 absl::Duration timeout);

// Every IPv4/IPv6 address `host` resolves to, as "http://addr:port".
std::vector<std::string> ResolveAgents(const std::string& host, int port);

}  // namespace nodepulse::exporters

#endif  // NODEPULSE_EXPORTERS_MERGE_H_
