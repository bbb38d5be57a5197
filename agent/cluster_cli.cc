#include "cluster_cli.h"

#include <signal.h>

#include <cstdio>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "nodepulse/exporters/http/http_server.h"
#include "nodepulse/exporters/aggregates/merge.h"
#include "nodepulse/base/log.h"

namespace nodepulse::agent {

namespace {

constexpr char kUsage[] =
    "usage: nodepulse merge [--query=Q] [--timeout=2s] URL...\n"
    "         ask each agent's /api/v1/aggregates?Q and print the merged JSON;\n"
    "         exit 1 when Q's min_coverage/max_age/max_missing_agents refuse it\n"
    "       nodepulse cluster (--agents=URL,URL... | --agents-dns=HOST:PORT) [--listen=H:P]\n"
    "         serve /api/v1/aggregates merged across every agent\n";

int Usage(const std::string& error) {
  std::fprintf(stderr, "nodepulse: %s\n%s", error.c_str(), kUsage);
  return 2;
}

// --name=value; returns false when `arg` is not that flag.
bool FlagValue(const std::string& arg, const std::string& name, std::string* value) {
  std::string prefix = "--" + name + "=";
  if (arg.rfind(prefix, 0) != 0) return false;
  *value = arg.substr(prefix.size());
  return true;
}

int Merge(const std::vector<std::string>& args) {
  std::string query, timeout_text = "2s";
  std::vector<std::string> urls;
  for (size_t i = 2; i < args.size(); ++i) {
    std::string v;
    if (FlagValue(args[i], "query", &v)) {
      query = v;
    } else if (FlagValue(args[i], "timeout", &v)) {
      timeout_text = v;
    } else if (args[i].rfind("--", 0) == 0) {
      return Usage("unknown flag " + args[i]);
    } else {
      urls.push_back(args[i]);
    }
  }
  absl::Duration timeout;
  if (!absl::ParseDuration(timeout_text, &timeout) || timeout <= absl::ZeroDuration()) {
    return Usage("--timeout=" + timeout_text + ": not a duration such as 2s");
  }
  if (urls.empty()) return Usage("merge needs at least one agent URL");
  std::vector<std::string> ok;
  std::vector<std::pair<std::string, std::string>> errors;
  for (const std::string& u : urls) {
    absl::StatusOr<std::string> r = exporters::FetchAggregates(u, exporters::AgentQuery(query), timeout);
    if (r.ok()) {
      ok.push_back(*std::move(r));
    } else {
      errors.push_back({u, std::string(r.status().message())});
    }
  }
  exporters::HttpRequest req;
  req.query = query;
  exporters::HttpResponse answer = exporters::MergedAnswer(req, ok, errors);
  std::fputs(answer.body.c_str(), stdout);
  if (ok.empty() || answer.status == 400) return 2;
  // 503: missing agents, coverage or freshness below the thresholds.
  return answer.status == 200 ? 0 : 1;
}

int Cluster(const std::vector<std::string>& args) {
  std::string listen = "127.0.0.1:9780", agents_text, dns;
  for (size_t i = 2; i < args.size(); ++i) {
    std::string v;
    if (FlagValue(args[i], "listen", &v)) {
      listen = v;
    } else if (FlagValue(args[i], "agents", &v)) {
      agents_text = v;
    } else if (FlagValue(args[i], "agents-dns", &v)) {
      dns = v;
    } else {
      return Usage("unknown argument " + args[i]);
    }
  }
  if (absl::Status s = exporters::ValidateListenAddress(listen); !s.ok()) {
    return Usage(absl::StrCat("--listen: ", s.message()));
  }
  exporters::Handler handler;
  if (!agents_text.empty()) {
    std::vector<std::string> agents = absl::StrSplit(agents_text, ',', absl::SkipEmpty());
    handler = exporters::ClusterAggregatesHandler(agents, absl::Seconds(2));
  } else if (!dns.empty()) {
    size_t colon = dns.rfind(':');
    int port = 0;
    if (colon == std::string::npos || !absl::SimpleAtoi(dns.substr(colon + 1), &port)) {
      return Usage("--agents-dns=" + dns + ": must be HOST:PORT");
    }
    std::string host = dns.substr(0, colon);
    handler = exporters::ClusterAggregatesHandler(
        [host, port] { return exporters::ResolveAgents(host, port); }, absl::Seconds(2));
  } else {
    return Usage("cluster needs --agents or --agents-dns");
  }
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  exporters::HttpServerOptions o;
  o.listen = listen;
  exporters::HttpServer server(o);
  server.Handle("/api/v1/aggregates", handler);
  server.Handle("/healthz", [](const exporters::HttpRequest&) {
    return exporters::HttpResponse{200, "text/plain; charset=utf-8", "ok\n", {}, nullptr};
  });
  if (absl::Status s = server.Start(); !s.ok()) {
    LogError("cannot start: ", s.ToString());
    return 1;
  }
  LogInfo("nodepulse cluster: serving merged aggregates on ", listen);
  int sig = 0;
  sigwait(&stop, &sig);
  server.Stop();
  return 0;
}

}  // namespace

bool IsClusterCommand(const std::vector<std::string>& args) {
  return args.size() >= 2 && (args[1] == "merge" || args[1] == "cluster");
}

int RunClusterCommand(const std::vector<std::string>& args) {
  return args[1] == "merge" ? Merge(args) : Cluster(args);
}

}  // namespace nodepulse::agent
