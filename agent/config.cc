#include "config.h"

#include <sys/stat.h>

#include <cstdio>

#include <map>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/reflection.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "nodepulse/exporters/aggregates/aggregates.h"
#include "nodepulse/exporters/http/http_server.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:9779",
          "host:port for /metrics, /healthz, /readyz and the APIs (0.0.0.0:9779 in a pod)");
ABSL_FLAG(absl::Duration, interval, absl::Seconds(1),
          "collection period for cgroups and /proc (100ms..1h)");
ABSL_FLAG(std::string, cgroup_root, "/sys/fs/cgroup", "where the host's cgroup hierarchies are mounted");
ABSL_FLAG(std::string, proc_root, "/proc", "the host's /proc (for mountinfo and node metrics)");
ABSL_FLAG(int64_t, max_series, 200000,
          "hard cap on live series; new series beyond it are dropped and counted");
ABSL_FLAG(std::string, log_level, "info", "debug, info, warn or error");
ABSL_FLAG(int, cgroup_max_depth, 3,
          "without kubepods, watch every cgroup down to this depth below the root (0..16)");
ABSL_FLAG(absl::Duration, rescan_interval, absl::Seconds(5),
          "how often container labels and limits are refreshed (new containers are found at "
          "the next --interval through inotify)");
ABSL_FLAG(absl::Duration, slow_interval, absl::Seconds(10),
          "oldest a value read only for /metrics may be (--interval..1h): cgroup files that "
          "feed no history (threads, processes, memory events...) are read this often, files "
          "behind the 1 s aggregates and health every --interval");
ABSL_FLAG(int, http_threads, 4, "HTTP worker threads (1..64)");
ABSL_FLAG(int, max_request_bytes, 16384, "largest HTTP request accepted (1024..1048576)");
ABSL_FLAG(int, max_header_bytes, 8192,
          "largest HTTP request line + headers (1024..65536, capped at --max-request-bytes); bigger get 431");
ABSL_FLAG(int, max_connections, 64,
          "open HTTP connections on --listen (1..10000); more are closed at accept (plain HTTP gets 503)");
ABSL_FLAG(int, max_requests_per_second, 20,
          "requests per second on one HTTP connection (1..10000, bursts of as many); more get 429 and a close");
ABSL_FLAG(absl::Duration, http_request_timeout, absl::Seconds(10),
          "time to receive one request, TLS handshake included (100ms..5m); slower clients get 408");
ABSL_FLAG(absl::Duration, http_idle_timeout, absl::Seconds(30),
          "keep-alive connections idle this long are closed (1s..1h)");
ABSL_FLAG(std::string, tls_cert_file, "",
          "PEM certificate (chain) for HTTPS on --listen; with --tls-key-file. Re-read when it changes");
ABSL_FLAG(std::string, tls_key_file, "", "PEM private key for --tls-cert-file");
ABSL_FLAG(std::string, tls_client_ca_file, "",
          "PEM CA bundle: require client certificates signed by it (mTLS; needs --tls-cert-file)");
ABSL_FLAG(std::string, auth_token_file, "",
          "file holding a bearer token required on every path but /healthz and /readyz "
          "(re-read when it changes; never logged)");
ABSL_FLAG(std::string, probe_listen, "",
          "optional host:port serving only /healthz and /readyz over plain HTTP, for kubelet probes "
          "when --listen requires client certificates");
ABSL_FLAG(bool, version, false, "print the version and exit");
ABSL_FLAG(std::string, kubelet_url, "",
          "kubelet base URL, e.g. https://10.0.0.5:10250 (default in a pod: https://$NODE_IP:10250)");
ABSL_FLAG(std::string, kubelet_token_file, "",
          "bearer token file (default in a pod: the service-account token)");
ABSL_FLAG(std::string, kubelet_ca_file, "",
          "CA bundle for the kubelet's serving certificate (default in a pod: the service-account ca.crt)");
ABSL_FLAG(bool, kubelet_insecure_skip_verify, false,
          "do not verify the kubelet's certificate (kubelets with self-signed serving certs)");
ABSL_FLAG(bool, kubelet_apiserver_proxy, false,
          "reach the kubelet through the API server's node proxy instead of port 10250");
ABSL_FLAG(std::string, kubelet_node_name, "", "this node's name (default: $NODE_NAME)");
ABSL_FLAG(absl::Duration, kubelet_interval, absl::Seconds(10), "how often /pods and /stats/summary are fetched");
ABSL_FLAG(absl::Duration, kubelet_timeout, absl::Seconds(5), "timeout of one kubelet request");
ABSL_FLAG(int64_t, kubelet_max_response_bytes, int64_t{64} << 20,
          "largest kubelet response accepted; bigger ones are refused and counted");
ABSL_FLAG(std::vector<std::string>, remote_write_url, {},
          "Prometheus remote-write receiver, e.g. http://prometheus:9090/api/v1/write "
          "(repeatable; each receiver has its own cursor in the queue)");
ABSL_FLAG(std::string, remote_write_bearer_token_file, "", "bearer token file for the receivers");
ABSL_FLAG(std::string, remote_write_ca_file, "", "CA bundle for https receivers");
ABSL_FLAG(std::string, state_dir, "",
          "directory for the on-disk remote_write queue (required with --remote-write-url; "
          "a hostPath in Kubernetes so restarts lose nothing)");
ABSL_FLAG(int64_t, remote_write_max_queue_bytes, int64_t{256} << 20,
          "bound of the on-disk queue; the oldest samples beyond it are dropped and counted");
ABSL_FLAG(std::string, remote_write_send, "both", "which series to send: raw, aggregates or both");
ABSL_FLAG(std::vector<std::string>, remote_write_external_label, {},
          "name=value label added to every sent series (repeatable), e.g. node=$NODE_NAME");
ABSL_FLAG(std::string, retention, "1s:6m,30s:1h",
          "history tiers as step:span,... finest first; the first step should equal --interval");
ABSL_FLAG(std::string, aggregates, "all",
          "which per-pod/per-workload aggregates to compute and export (comma-separated names, "
          "or all)");
ABSL_FLAG(bool, mixin_series, false,
          "also emit kubernetes-mixin's node-local recording-rule series (off when the cluster "
          "runs kube-prometheus's rules, so no series exists twice)");
ABSL_FLAG(absl::Duration, kubelet_stale_grace, absl::Minutes(2),
          "how long the last good pod metadata is kept while the kubelet is unreachable");
ABSL_FLAG(absl::Duration, kubelet_ready_grace, absl::Seconds(15),
          "how long /readyz waits after start for the kubelet join; then the agent is ready "
          "without pod labels and reports the join as degraded (0: never wait)");

namespace nodepulse::agent {

namespace {

// The flags this binary owns, in the order --help lists them.
constexpr const char* kFlags[] = {"listen",          "interval",      "cgroup_root",
                                  "proc_root",       "max_series",    "log_level",
                                  "cgroup_max_depth", "rescan_interval", "slow_interval",
                                  "http_threads",
                                  "max_request_bytes", "max_header_bytes",
                                  "max_connections", "max_requests_per_second",
                                  "http_request_timeout", "http_idle_timeout", "tls_cert_file",
                                  "tls_key_file", "tls_client_ca_file", "auth_token_file",
                                  "probe_listen", "version",
                                  "kubelet_url", "kubelet_token_file", "kubelet_ca_file",
                                  "kubelet_insecure_skip_verify", "kubelet_apiserver_proxy",
                                  "kubelet_node_name", "kubelet_interval", "kubelet_timeout",
                                  "kubelet_max_response_bytes", "kubelet_stale_grace",
                                  "kubelet_ready_grace",
                                  "remote_write_url", "remote_write_bearer_token_file",
                                  "remote_write_ca_file", "state_dir",
                                  "remote_write_max_queue_bytes", "remote_write_send",
                                  "remote_write_external_label", "mixin_series", "retention",
                                  "aggregates"};

// Flags that may be given several times; their values accumulate.
bool Repeatable(absl::string_view name) {
  return name == "remote_write_url" || name == "remote_write_external_label";
}

bool Known(absl::string_view name) {
  for (const char* f : kFlags) {
    if (name == f) return true;
  }
  return false;
}

absl::Status CheckDir(absl::string_view flag, const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", flag, "=", path, ": not a readable directory"));
  }
  return absl::OkStatus();
}

absl::Status ParseRemoteWrite(Config& cfg) {
  std::vector<std::string> urls = absl::GetFlag(FLAGS_remote_write_url);
  if (urls.empty()) return absl::OkStatus();
  exporters::RemoteWriteOptions rw;
  for (const std::string& u : urls) {
    if (u.rfind("http://", 0) != 0 && u.rfind("https://", 0) != 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("--remote-write-url=", u, ": must start with http:// or https://"));
    }
    rw.urls.push_back(u);
  }
  rw.bearer_token_file = absl::GetFlag(FLAGS_remote_write_bearer_token_file);
  rw.ca_file = absl::GetFlag(FLAGS_remote_write_ca_file);
  rw.state_dir = absl::GetFlag(FLAGS_state_dir);
  if (rw.state_dir.empty()) {
    return absl::InvalidArgumentError(
        "--state-dir is required with --remote-write-url (the queue must survive restarts)");
  }
  if (absl::Status s = CheckDir("state-dir", rw.state_dir); !s.ok()) return s;
  int64_t max_queue = absl::GetFlag(FLAGS_remote_write_max_queue_bytes);
  if (max_queue < (int64_t{16} << 20)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--remote-write-max-queue-bytes=", max_queue, ": must be at least 16777216 (16 MiB)"));
  }
  rw.max_queue_bytes = static_cast<uint64_t>(max_queue);
  rw.segment_bytes = std::min<uint64_t>(rw.segment_bytes, rw.max_queue_bytes / 4);
  std::string send = absl::GetFlag(FLAGS_remote_write_send);
  if (send == "raw") {
    rw.send_aggregates = false;
  } else if (send == "aggregates") {
    rw.send_raw = false;
  } else if (send != "both") {
    return absl::InvalidArgumentError(
        absl::StrCat("--remote-write-send=", send, ": must be raw, aggregates or both"));
  }
  for (const std::string& kv : absl::GetFlag(FLAGS_remote_write_external_label)) {
    size_t eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("--remote-write-external-label=", kv, ": must be name=value"));
    }
    rw.external_labels.push_back({kv.substr(0, eq), kv.substr(eq + 1)});
  }
  cfg.remote_write = std::move(rw);
  return absl::OkStatus();
}

}  // namespace

namespace {

absl::Status CheckReadableFile(absl::string_view flag, const std::string& path) {
  struct stat st;
  FILE* f = std::fopen(path.c_str(), "rb");
  bool ok = f != nullptr && ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
  if (f != nullptr) std::fclose(f);
  if (!ok) {
    return absl::InvalidArgumentError(absl::StrCat("--", flag, "=", path, ": not a readable file"));
  }
  return absl::OkStatus();
}

// --tls-*, --auth-token-file, --probe-listen and the HTTP limits. Files are
// checked for readability here; their content (PEM, token) is validated by
// the HTTP server at start, with errors that name the file, never its content.
absl::Status ParseHttpSecurity(Config& cfg) {
  cfg.max_header_bytes = absl::GetFlag(FLAGS_max_header_bytes);
  // Not required to be <= --max-request-bytes: the server caps the head at
  // the request limit, so lowering only --max-request-bytes stays valid.
  if (cfg.max_header_bytes < 1024 || cfg.max_header_bytes > 65536) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--max-header-bytes=", cfg.max_header_bytes, ": must be between 1024 and 65536"));
  }
  cfg.max_connections = absl::GetFlag(FLAGS_max_connections);
  if (cfg.max_connections < 1 || cfg.max_connections > 10000) {
    return absl::InvalidArgumentError(
        absl::StrCat("--max-connections=", cfg.max_connections, ": must be between 1 and 10000"));
  }
  cfg.max_requests_per_second = absl::GetFlag(FLAGS_max_requests_per_second);
  if (cfg.max_requests_per_second < 1 || cfg.max_requests_per_second > 10000) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--max-requests-per-second=", cfg.max_requests_per_second, ": must be between 1 and 10000"));
  }
  cfg.http_request_timeout = absl::GetFlag(FLAGS_http_request_timeout);
  if (cfg.http_request_timeout < absl::Milliseconds(100) || cfg.http_request_timeout > absl::Minutes(5)) {
    return absl::InvalidArgumentError(absl::StrCat("--http-request-timeout=",
                                                   absl::FormatDuration(cfg.http_request_timeout),
                                                   ": must be between 100ms and 5m"));
  }
  cfg.http_idle_timeout = absl::GetFlag(FLAGS_http_idle_timeout);
  if (cfg.http_idle_timeout < absl::Seconds(1) || cfg.http_idle_timeout > absl::Hours(1)) {
    return absl::InvalidArgumentError(absl::StrCat("--http-idle-timeout=",
                                                   absl::FormatDuration(cfg.http_idle_timeout),
                                                   ": must be between 1s and 1h"));
  }
  cfg.tls_cert_file = absl::GetFlag(FLAGS_tls_cert_file);
  cfg.tls_key_file = absl::GetFlag(FLAGS_tls_key_file);
  cfg.tls_client_ca_file = absl::GetFlag(FLAGS_tls_client_ca_file);
  if (cfg.tls_cert_file.empty() != cfg.tls_key_file.empty()) {
    return absl::InvalidArgumentError("--tls-cert-file and --tls-key-file must be given together");
  }
  if (!cfg.tls_client_ca_file.empty() && cfg.tls_cert_file.empty()) {
    return absl::InvalidArgumentError(
        "--tls-client-ca-file needs --tls-cert-file and --tls-key-file (mTLS is on top of HTTPS)");
  }
  for (auto [flag, path] : {std::pair<const char*, const std::string*>{"tls-cert-file", &cfg.tls_cert_file},
                            {"tls-key-file", &cfg.tls_key_file},
                            {"tls-client-ca-file", &cfg.tls_client_ca_file}}) {
    if (path->empty()) continue;
    if (absl::Status s = CheckReadableFile(flag, *path); !s.ok()) return s;
  }
  cfg.auth_token_file = absl::GetFlag(FLAGS_auth_token_file);
  if (!cfg.auth_token_file.empty()) {
    if (absl::Status s = CheckReadableFile("auth-token-file", cfg.auth_token_file); !s.ok()) return s;
  }
  cfg.probe_listen = absl::GetFlag(FLAGS_probe_listen);
  if (!cfg.probe_listen.empty()) {
    if (absl::Status s = exporters::ValidateListenAddress(cfg.probe_listen); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("--probe-listen: ", s.message()));
    }
    if (cfg.probe_listen == cfg.listen) {
      return absl::InvalidArgumentError("--probe-listen must differ from --listen");
    }
  }
  return absl::OkStatus();
}

}  // namespace

std::string Usage() {
  std::string out =
      "usage: nodepulse [flags]   run the agent\n\n"
      "flags:\n";
  for (const char* f : kFlags) {
    absl::CommandLineFlag* flag = absl::FindCommandLineFlag(f);
    if (flag == nullptr) continue;
    absl::StrAppend(&out, "  --", absl::StrReplaceAll(f, {{"_", "-"}}), " (default ",
                    flag->DefaultValue(), ")\n      ", flag->Help(), "\n");
  }
  return out;
}

namespace {

// Sets the absl flags from `args` (--name=value, --name value, --noflag,
// repeatable flags accumulated comma-separated); true when --help was asked.
absl::StatusOr<bool> SetFlagsFrom(const std::vector<std::string>& args) {
  std::map<std::string, std::string> repeated;
  for (size_t i = 1; i < args.size(); ++i) {
    absl::string_view arg = args[i];
    if (arg == "--") break;
    if (arg.size() < 2 || arg[0] != '-') {
      return absl::InvalidArgumentError(absl::StrCat("unexpected argument '", arg, "' (see --help)"));
    }
    arg.remove_prefix(arg[1] == '-' ? 2 : 1);
    std::string name(arg.substr(0, arg.find('=')));
    name = absl::StrReplaceAll(name, {{"-", "_"}});
    bool has_value = arg.find('=') != absl::string_view::npos;
    std::string value = has_value ? std::string(arg.substr(arg.find('=') + 1)) : "";
    if (name == "help" || name == "h") return true;
    absl::CommandLineFlag* flag = Known(name) ? absl::FindCommandLineFlag(name) : nullptr;
    if (flag == nullptr && name.rfind("no", 0) == 0 && Known(name.substr(2)) && !has_value) {
      flag = absl::FindCommandLineFlag(name.substr(2));
      if (flag != nullptr && flag->IsOfType<bool>()) {
        has_value = true;
        value = "false";
      } else {
        flag = nullptr;
      }
    }
    std::string shown = absl::StrReplaceAll(name, {{"_", "-"}});
    if (flag == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("unknown flag --", shown, " (see --help)"));
    }
    if (!has_value) {
      if (flag->IsOfType<bool>()) {
        value = "true";
      } else if (i + 1 < args.size()) {
        value = args[++i];
      } else {
        return absl::InvalidArgumentError(absl::StrCat("--", shown, " needs a value"));
      }
    }
    if (Repeatable(name)) {
      std::string& acc = repeated[name];
      if (!acc.empty()) acc += ",";
      acc += value;
      value = acc;
    }
    std::string error;
    if (!flag->ParseFrom(value, &error)) {
      return absl::InvalidArgumentError(absl::StrCat("--", shown, "=", value, ": ", error));
    }
  }

  return false;
}

// --listen, --interval, the roots, limits and the HTTP server's flags.
absl::Status ParseCollectionFlags(Config& cfg) {
  cfg.listen = absl::GetFlag(FLAGS_listen);
  if (absl::Status s = exporters::ValidateListenAddress(cfg.listen); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("--listen: ", s.message()));
  }
  cfg.interval = absl::GetFlag(FLAGS_interval);
  if (cfg.interval < absl::Milliseconds(100) || cfg.interval > absl::Hours(1)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--interval=", absl::FormatDuration(cfg.interval), ": must be between 100ms and 1h"));
  }
  cfg.cgroup_root = absl::GetFlag(FLAGS_cgroup_root);
  if (absl::Status s = CheckDir("cgroup-root", cfg.cgroup_root); !s.ok()) return s;
  cfg.proc_root = absl::GetFlag(FLAGS_proc_root);
  if (absl::Status s = CheckDir("proc-root", cfg.proc_root); !s.ok()) return s;
  int64_t max_series = absl::GetFlag(FLAGS_max_series);
  if (max_series < 1 || max_series > 50'000'000) {
    return absl::InvalidArgumentError(
        absl::StrCat("--max-series=", max_series, ": must be between 1 and 50000000"));
  }
  cfg.max_series = static_cast<size_t>(max_series);
  absl::StatusOr<LogLevel> level = ParseLogLevel(absl::GetFlag(FLAGS_log_level));
  if (!level.ok()) return absl::InvalidArgumentError(absl::StrCat("--log-level: ", level.status().message()));
  cfg.log_level = *level;
  cfg.cgroup_max_depth = absl::GetFlag(FLAGS_cgroup_max_depth);
  if (cfg.cgroup_max_depth < 0 || cfg.cgroup_max_depth > 16) {
    return absl::InvalidArgumentError(
        absl::StrCat("--cgroup-max-depth=", cfg.cgroup_max_depth, ": must be between 0 and 16"));
  }
  cfg.rescan_interval = absl::GetFlag(FLAGS_rescan_interval);
  if (cfg.rescan_interval < absl::Milliseconds(100) || cfg.rescan_interval > absl::Hours(1)) {
    return absl::InvalidArgumentError(absl::StrCat("--rescan-interval=",
                                                   absl::FormatDuration(cfg.rescan_interval),
                                                   ": must be between 100ms and 1h"));
  }
  cfg.slow_interval = absl::GetFlag(FLAGS_slow_interval);
  if (cfg.slow_interval < cfg.interval || cfg.slow_interval > absl::Hours(1)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--slow-interval=", absl::FormatDuration(cfg.slow_interval),
        ": must be between --interval (", absl::FormatDuration(cfg.interval), ") and 1h"));
  }
  cfg.http_threads = absl::GetFlag(FLAGS_http_threads);
  if (cfg.http_threads < 1 || cfg.http_threads > 64) {
    return absl::InvalidArgumentError(
        absl::StrCat("--http-threads=", cfg.http_threads, ": must be between 1 and 64"));
  }
  cfg.max_request_bytes = absl::GetFlag(FLAGS_max_request_bytes);
  if (cfg.max_request_bytes < 1024 || cfg.max_request_bytes > (1 << 20)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--max-request-bytes=", cfg.max_request_bytes, ": must be between 1024 and 1048576"));
  }
  if (absl::Status s = ParseHttpSecurity(cfg); !s.ok()) return s;

  return absl::OkStatus();
}

// The --kubelet-* flags into `k` (resolved against the environment later)
// and --kubelet-ready-grace.
absl::Status ParseKubeletFlags(Config& cfg, collectors::KubeletOptions& k) {
  k.url = absl::GetFlag(FLAGS_kubelet_url);
  k.token_file = absl::GetFlag(FLAGS_kubelet_token_file);
  k.ca_file = absl::GetFlag(FLAGS_kubelet_ca_file);
  k.insecure_skip_verify = absl::GetFlag(FLAGS_kubelet_insecure_skip_verify);
  k.apiserver_proxy = absl::GetFlag(FLAGS_kubelet_apiserver_proxy);
  k.node_name = absl::GetFlag(FLAGS_kubelet_node_name);
  k.interval = absl::GetFlag(FLAGS_kubelet_interval);
  k.timeout = absl::GetFlag(FLAGS_kubelet_timeout);
  k.stale_grace = absl::GetFlag(FLAGS_kubelet_stale_grace);
  if (k.interval < absl::Seconds(1) || k.interval > absl::Hours(1)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--kubelet-interval=", absl::FormatDuration(k.interval), ": must be between 1s and 1h"));
  }
  if (k.timeout < absl::Milliseconds(100) || k.timeout > absl::Minutes(5)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--kubelet-timeout=", absl::FormatDuration(k.timeout), ": must be between 100ms and 5m"));
  }
  if (k.stale_grace < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--kubelet-stale-grace must not be negative");
  }
  cfg.kubelet_ready_grace = absl::GetFlag(FLAGS_kubelet_ready_grace);
  if (cfg.kubelet_ready_grace < absl::ZeroDuration() || cfg.kubelet_ready_grace > absl::Hours(1)) {
    return absl::InvalidArgumentError(absl::StrCat("--kubelet-ready-grace=",
                                                   absl::FormatDuration(cfg.kubelet_ready_grace),
                                                   ": must be between 0s and 1h"));
  }
  int64_t max_resp = absl::GetFlag(FLAGS_kubelet_max_response_bytes);
  if (max_resp < 4096 || max_resp > (int64_t{1} << 32)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--kubelet-max-response-bytes=", max_resp, ": must be between 4096 and 4294967296"));
  }
  k.max_response_bytes = static_cast<size_t>(max_resp);
  return absl::OkStatus();
}

// --mixin-series, --aggregates and --retention.
absl::Status ParseAggregationFlags(Config& cfg) {
  cfg.mixin_series = absl::GetFlag(FLAGS_mixin_series);
  absl::StatusOr<std::vector<std::string>> aggs =
      exporters::ParseAggregateMetrics(absl::GetFlag(FLAGS_aggregates));
  if (!aggs.ok()) return absl::InvalidArgumentError(absl::StrCat("--aggregates: ", aggs.status().message()));
  cfg.aggregates = *std::move(aggs);
  std::string r = absl::GetFlag(FLAGS_retention);
  absl::StatusOr<std::vector<pipeline::TierSpec>> tiers =
      pipeline::ParseRetention(std::string_view(r.data(), r.size()));
  if (!tiers.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("--retention=", r, ": ", tiers.status().message()));
  }
  cfg.tiers = *std::move(tiers);

  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Config> ParseFlags(const std::vector<std::string>& args) {
  Config cfg;
  absl::StatusOr<bool> help = SetFlagsFrom(args);
  if (!help.ok()) return help.status();
  if (*help) {
    cfg.help = true;
    return cfg;
  }
  cfg.version = absl::GetFlag(FLAGS_version);
  // Like --help: answers anywhere, before any flag is checked against this
  // machine (the image build runs it in a root without /sys/fs/cgroup).
  if (cfg.version) return cfg;
  if (absl::Status s = ParseCollectionFlags(cfg); !s.ok()) return s;
  collectors::KubeletOptions k;
  if (absl::Status s = ParseKubeletFlags(cfg, k); !s.ok()) return s;
  if (absl::Status s = ParseRemoteWrite(cfg); !s.ok()) return s;
  if (absl::Status s = ParseAggregationFlags(cfg); !s.ok()) return s;
  absl::StatusOr<collectors::KubeletOptions> resolved = collectors::KubeletOptionsFromEnvironment(k);
  if (resolved.ok()) {
    cfg.kubelet = *std::move(resolved);
  } else if (!absl::IsNotFound(resolved.status())) {
    return absl::InvalidArgumentError(absl::StrCat("kubelet: ", resolved.status().message()));
  }
  return cfg;
}

}  // namespace nodepulse::agent
