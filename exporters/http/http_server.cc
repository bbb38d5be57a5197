#include "nodepulse/exporters/http/http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "http_server_impl.h"
#include "nodepulse/base/log.h"
#include "prometheus/metric_family.h"

namespace nodepulse::exporters {

using http_internal::kNumRejects;
using http_internal::kRejectNames;

namespace {

std::string UrlDecode(absl::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '+') {
      out += ' ';
    } else if (c == '%' && i + 2 < in.size() && absl::ascii_isxdigit(in[i + 1]) &&
               absl::ascii_isxdigit(in[i + 2])) {
      auto hex = [](char h) { return absl::ascii_isdigit(h) ? h - '0' : absl::ascii_tolower(h) - 'a' + 10; };
      out += static_cast<char>(hex(in[i + 1]) * 16 + hex(in[i + 2]));
      i += 2;
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

// ---------------------------------------------------------------------------
// Self-metrics.

namespace {

class HttpServerMetrics : public prometheus::Collectable {
 public:
  explicit HttpServerMetrics(std::weak_ptr<HttpServer::Impl> impl) : impl_(std::move(impl)) {}
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  std::weak_ptr<HttpServer::Impl> impl_;
};

}  // namespace

HttpServerStats HttpServer::stats() const {
  HttpServerStats s;
  for (int code = 0; code < 600; ++code) {
    uint64_t v = impl_->responses[code].load(std::memory_order_relaxed);
    if (v != 0) s.responses[code] = v;
  }
  for (int r = 0; r < kNumRejects; ++r) {
    s.rejected[kRejectNames[r]] = impl_->rejected[r].load(std::memory_order_relaxed);
  }
  s.open_connections = impl_->open_connections.load();
  return s;
}

std::vector<prometheus::MetricFamily> HttpServerMetrics::Collect() const {
  std::shared_ptr<HttpServer::Impl> impl = impl_.lock();
  if (!impl) return {};
  prometheus::MetricFamily req{"nodepulse_http_requests_total",
                               "HTTP responses sent by the agent's server, by status code",
                               prometheus::MetricType::Counter, {}};
  for (int code = 100; code < 600; ++code) {
    uint64_t v = impl->responses[code].load(std::memory_order_relaxed);
    if (v == 0) continue;
    prometheus::ClientMetric m;
    m.label.push_back({"code", absl::StrCat(code)});
    m.counter.value = static_cast<double>(v);
    req.metric.push_back(std::move(m));
  }
  prometheus::MetricFamily rej{"nodepulse_http_rejected_total",
                               "HTTP requests or connections refused before a handler ran, by reason",
                               prometheus::MetricType::Counter, {}};
  for (int r = 0; r < kNumRejects; ++r) {
    prometheus::ClientMetric m;
    m.label.push_back({"reason", kRejectNames[r]});
    m.counter.value = static_cast<double>(impl->rejected[r].load(std::memory_order_relaxed));
    rej.metric.push_back(std::move(m));
  }
  prometheus::MetricFamily open{"nodepulse_http_open_connections", "Open HTTP connections",
                                prometheus::MetricType::Gauge, {}};
  prometheus::ClientMetric g;
  g.gauge.value = static_cast<double>(impl->open_connections.load());
  open.metric.push_back(std::move(g));
  std::vector<prometheus::MetricFamily> out;
  if (!req.metric.empty()) out.push_back(std::move(req));
  out.push_back(std::move(rej));
  out.push_back(std::move(open));
  return out;
}

// ---------------------------------------------------------------------------
// Public API.

std::string HttpRequest::Param(absl::string_view name) const {
  for (absl::string_view kv : absl::StrSplit(query, '&')) {
    size_t eq = kv.find('=');
    absl::string_view k = kv.substr(0, eq);
    if (UrlDecode(k) == name) {
      return eq == absl::string_view::npos ? "" : UrlDecode(kv.substr(eq + 1));
    }
  }
  return "";
}

std::string HttpRequest::Header(absl::string_view lower_name) const {
  auto it = headers.find(std::string(lower_name));
  return it == headers.end() ? "" : it->second;
}

absl::Status ValidateListenAddress(absl::string_view listen) {
  size_t colon = listen.rfind(':');
  if (colon == absl::string_view::npos || colon == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("listen address '", listen, "' must be host:port, e.g. 127.0.0.1:9779"));
  }
  absl::string_view host = listen.substr(0, colon);
  int port;
  if (!absl::SimpleAtoi(listen.substr(colon + 1), &port) || port < 0 || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("listen address '", listen, "' has an invalid port (0-65535)"));
  }
  in_addr a4;
  in6_addr a6;
  std::string h(host);
  if (h.size() > 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  if (h != "localhost" && inet_pton(AF_INET, h.c_str(), &a4) != 1 &&
      inet_pton(AF_INET6, h.c_str(), &a6) != 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "listen address '", listen, "': host must be an IP address such as 0.0.0.0 or 127.0.0.1"));
  }
  return absl::OkStatus();
}

HttpServer::HttpServer(HttpServerOptions options)
    : options_(std::move(options)), impl_(std::make_shared<Impl>(options_, handlers_)) {}

HttpServer::~HttpServer() { Stop(); }

void HttpServer::Handle(std::string path, Handler handler) {
  handlers_[std::move(path)] = std::move(handler);
}

absl::Status HttpServer::Start() {
  if (absl::Status s = impl_->Init(&port_, &probe_port_); !s.ok()) {
    impl_->CloseAll();
    return s;
  }
  impl_->StartThreads();
  std::vector<std::string> notes;
  if (impl_->tls) notes.push_back(impl_->tls->mtls() ? "TLS, client certificates required" : "TLS");
  if (impl_->auth) {
    notes.push_back(absl::StrCat("bearer token required except on ",
                                 absl::StrJoin(options_.auth_exempt_paths, " ")));
  }
  LogInfo("http: serving on ", options_.listen, " (port ", port_, ")",
          notes.empty() ? "" : absl::StrCat(": ", absl::StrJoin(notes, "; ")),
          options_.probe_listen.empty()
              ? ""
              : absl::StrCat("; probes on ", options_.probe_listen, " (port ", probe_port_, ")"));
  return absl::OkStatus();
}

void HttpServer::Stop() { impl_->StopThreads(); }

std::shared_ptr<prometheus::Collectable> HttpServer::MetricsCollectable() const {
  return std::make_shared<HttpServerMetrics>(impl_);
}

}  // namespace nodepulse::exporters
