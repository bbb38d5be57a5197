// `nodepulse health` and `nodepulse top`: thin clients of a running agent's
// health API (/api/v1/health), dispatched from main() before flag parsing.
//
//   nodepulse health [--url=http://127.0.0.1:9779] [--json] [--timeout=5s]
//       One-shot summary (?format=text). Exit 0: healthy (no findings),
//       1: findings, 2: agent unreachable or not answering the health API.
//   nodepulse top [--url=...] [--interval=1s] [--sort=cpu|memory|throttled]
//                 [--rows=N] [--once]
//       A refreshing terminal table (?format=top) of the node and its
//       containers: CPU per second, throttling, memory against the limit,
//       PSI. Keys: q quit, c/m/t sort by CPU/memory/throttling. --once (or a
//       stdout that is not a terminal) prints one frame and exits (0, or 2
//       when unreachable).
//   Both: --token-file=<path> (bearer token, for --auth-token-file agents),
//         --cacert=<pem> and --insecure for https:// URLs.
//
// The agent renders the text; the CLI fetches, sizes it to the terminal and
// refreshes, so the CLI needs no JSON parser and always matches the agent.
//
// Thread-safety: single-threaded; call once from main().
#ifndef NODEPULSE_AGENT_CLI_H_
#define NODEPULSE_AGENT_CLI_H_

#include <string>
#include <vector>

namespace nodepulse::agent {

// True when argv[1] names a subcommand ("health", "top").
bool IsCliCommand(const std::vector<std::string>& args);
// Runs the subcommand in args[1] with the flags after it; returns the exit code.
int RunCli(const std::vector<std::string>& args);

}  // namespace nodepulse::agent

#endif  // NODEPULSE_AGENT_CLI_H_
