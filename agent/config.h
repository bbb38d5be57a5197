// Config: the agent's validated settings, parsed from command-line flags.
//
// ParseFlags() never exits or prints; main() turns an error into one line on
// stderr and exit status 2, so every bad value is reported the same way.
#ifndef NODEPULSE_AGENT_CONFIG_H_
#define NODEPULSE_AGENT_CONFIG_H_

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "nodepulse/collectors/kubelet.h"
#include "nodepulse/exporters/remote_write/remote_write.h"
#include "nodepulse/base/log.h"
#include "nodepulse/pipeline/retention.h"

namespace nodepulse::agent {

struct Config {
  std::string listen = "127.0.0.1:9779";
  absl::Duration interval = absl::Seconds(1);
  std::string cgroup_root = "/sys/fs/cgroup";
  std::string proc_root = "/proc";
  size_t max_series = 200000;
  LogLevel log_level = LogLevel::kInfo;
  int cgroup_max_depth = 3;
  absl::Duration rescan_interval = absl::Seconds(5);
  // Cgroup files feeding only /metrics are read this often (cgroup_files.h).
  absl::Duration slow_interval = absl::Seconds(10);
  int http_threads = 4;
  int max_request_bytes = 16384;
  // HTTP endpoint security and limits (see exporters::HttpServerOptions).
  // TLS when both cert and key are set; mTLS with a client CA; a bearer token
  // on everything but /healthz and /readyz with an auth token file.
  std::string tls_cert_file;
  std::string tls_key_file;
  std::string tls_client_ca_file;
  std::string auth_token_file;
  std::string probe_listen;  // optional plain-HTTP port for /healthz and /readyz
  int max_header_bytes = 8192;
  int max_connections = 64;
  int max_requests_per_second = 20;  // per connection
  absl::Duration http_request_timeout = absl::Seconds(10);
  absl::Duration http_idle_timeout = absl::Seconds(30);
  // Resolved from --kubelet-* flags and the pod's environment; unset when not
  // in a cluster and no --kubelet-url was given (cgroup and node metrics only).
  std::optional<collectors::KubeletOptions> kubelet;
  // /readyz waits at most this long after start for the kubelet join; past
  // it the agent is Ready without labels and reports the join as degraded.
  absl::Duration kubelet_ready_grace = absl::Seconds(15);
  // Set when at least one --remote-write-url is given.
  std::optional<exporters::RemoteWriteOptions> remote_write;
  bool mixin_series = false;
  std::vector<std::string> aggregates;  // --aggregates; empty = all
  // --retention: ring tiers, finest first (pipeline::DefaultTiers()).
  std::vector<pipeline::TierSpec> tiers = pipeline::DefaultTiers();
  bool help = false;  // --help: print Usage() and exit 0
  bool version = false;
};

// Parses argv (flags only; argv[0] is skipped). Accepts --name=value,
// --name value, --bool, --nobool; dashes and underscores in names are
// equivalent (--cgroup-root == --cgroup_root). Unknown flags, bad values and
// out-of-range settings are InvalidArgument with a message naming the flag.
absl::StatusOr<Config> ParseFlags(const std::vector<std::string>& args);

std::string Usage();

}  // namespace nodepulse::agent

#endif  // NODEPULSE_AGENT_CONFIG_H_
