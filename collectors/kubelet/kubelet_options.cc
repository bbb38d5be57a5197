// KubeletOptionsFromEnvironment: --kubelet-* flags completed with the
// in-cluster defaults a DaemonSet pod sees.
#include <cstdlib>
#include <fstream>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "nodepulse/collectors/kubelet.h"

namespace nodepulse::collectors {
namespace {

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? std::string() : std::string(v);
}

bool Readable(const std::string& path) {
  std::ifstream f(path);
  return f.good();
}

// IPv6 literals need brackets in a URL.
std::string HostForUrl(const std::string& host) {
  if (host.find(':') != std::string::npos && host.front() != '[') return absl::StrCat("[", host, "]");
  return host;
}

}  // namespace

KubeletEnvironment KubeletEnvironment::FromProcess() {
  KubeletEnvironment env;
  env.kubernetes_service_host = Env("KUBERNETES_SERVICE_HOST");
  env.kubernetes_service_port = Env("KUBERNETES_SERVICE_PORT");
  env.node_ip = Env("NODE_IP");
  env.node_name = Env("NODE_NAME");
  // Tests (and unusual mounts) point the in-pod defaults elsewhere; a pod
  // never sets it.
  if (std::string dir = Env("NODEPULSE_SERVICEACCOUNT_DIR"); !dir.empty()) env.serviceaccount_dir = dir;
  return env;
}

absl::StatusOr<KubeletOptions> KubeletOptionsFromEnvironment(const KubeletOptions& flags,
                                                             const KubeletEnvironment& env) {
  KubeletOptions o = flags;
  const bool in_cluster = !env.kubernetes_service_host.empty();
  if (o.node_name.empty()) o.node_name = env.node_name;

  if (o.url.empty()) {
    if (o.apiserver_proxy) {
      if (!in_cluster) {
        return absl::FailedPreconditionError(
            "--kubelet-apiserver-proxy needs KUBERNETES_SERVICE_HOST (run in a pod) or --kubelet-url");
      }
      if (o.node_name.empty()) {
        return absl::FailedPreconditionError(
            "--kubelet-apiserver-proxy needs the node name: set NODE_NAME from spec.nodeName");
      }
      std::string port = env.kubernetes_service_port.empty() ? "443" : env.kubernetes_service_port;
      o.url = absl::StrCat("https://", HostForUrl(env.kubernetes_service_host), ":", port,
                           "/api/v1/nodes/", o.node_name, "/proxy");
    } else if (!env.node_ip.empty()) {
      o.url = absl::StrCat("https://", HostForUrl(env.node_ip), ":10250");
    } else if (in_cluster) {
      return absl::FailedPreconditionError(
          "running in a cluster but the kubelet address is unknown: set NODE_IP from "
          "status.hostIP, or pass --kubelet-url or --kubelet-apiserver-proxy");
    } else {
      return absl::NotFoundError("no kubelet configured (no --kubelet-url, not in a cluster)");
    }
  }
  while (absl::EndsWith(o.url, "/")) o.url.pop_back();
  if (!absl::StartsWith(o.url, "https://") && !absl::StartsWith(o.url, "http://")) {
    return absl::InvalidArgumentError(
        absl::StrCat("--kubelet-url=", o.url, ": must start with https:// (or http://)"));
  }

  // The service account's files are the default only in a cluster, so a
  // developer's --kubelet-url on a laptop does not pick up stray files.
  if (in_cluster) {
    if (o.token_file.empty() && Readable(env.serviceaccount_dir + "/token")) {
      o.token_file = env.serviceaccount_dir + "/token";
    }
    // ca.crt is the cluster CA. It verifies the API server, and the kubelet
    // only when its serving certificate is cluster-signed (serverTLSBootstrap);
    // a self-signed kubelet fails with reason="tls" and the log says to use
    // --kubelet-insecure-skip-verify or --kubelet-ca-file.
    if (o.ca_file.empty() && !o.insecure_skip_verify && Readable(env.serviceaccount_dir + "/ca.crt")) {
      o.ca_file = env.serviceaccount_dir + "/ca.crt";
    }
  }
  if (!o.token_file.empty() && !Readable(o.token_file)) {
    return absl::InvalidArgumentError(absl::StrCat("--kubelet-token-file=", o.token_file, ": not readable"));
  }
  if (!o.ca_file.empty() && !Readable(o.ca_file)) {
    return absl::InvalidArgumentError(absl::StrCat("--kubelet-ca-file=", o.ca_file, ": not readable"));
  }
  if (o.interval <= absl::ZeroDuration() || o.timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--kubelet-interval and the timeout must be positive");
  }
  if (o.max_response_bytes == 0) return absl::InvalidArgumentError("max_response_bytes must be positive");
  return o;
}

}  // namespace nodepulse::collectors
