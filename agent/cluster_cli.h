// `nodepulse merge` and `nodepulse cluster`: the autoscaler side of the
// aggregates API. `merge` asks several agents once and prints the merged
// answer; `cluster` serves /api/v1/aggregates merged across all agents (a
// list, or every address of a headless Service's DNS name) so KEDA can scale
// on a workload's cluster-wide value.
#ifndef NODEPULSE_AGENT_CLUSTER_CLI_H_
#define NODEPULSE_AGENT_CLUSTER_CLI_H_

#include <string>
#include <vector>

namespace nodepulse::agent {

bool IsClusterCommand(const std::vector<std::string>& args);
// Exit status: merge: 0 all agents answered, 1 some did not, 2 none did or
// bad usage; cluster: 0 on SIGTERM/SIGINT, 2 on bad flags.
int RunClusterCommand(const std::vector<std::string>& args);

}  // namespace nodepulse::agent

#endif  // NODEPULSE_AGENT_CLUSTER_CLI_H_
