// HttpServer: the agent's HTTP(S) listener. Every endpoint - /metrics,
// /healthz, /readyz, /api/* and the status page - is a Handler registered by
// exact path.
//
// Why our own server and not civetweb (which prometheus-cpp's Exposer embeds):
// Debian 12's libcivetweb1 1.15 loads libssl at run time and crashes (a jump
// to a NULL function pointer) on the first TLS handshake with OpenSSL 3, and
// its mg_stop() takes ~2 s. This server is a small HTTP/1.1 implementation:
//   - one event-loop thread (epoll) owns every socket: accept, TLS handshake
//     (OpenSSL 3, non-blocking), reading and parsing request heads, auth, and
//     writing responses, so a slow or hostile client never holds a thread;
//   - `num_threads` workers run the handlers on complete, authorized requests.
//     A connection has at most one request in flight (pipelined requests are
//     answered in order, one after another), so the work queue is bounded by
//     max_connections without a separate cap.
// Limits, each answered with a status and a counter (Stats): connections over
// max_connections are closed at accept (plain HTTP gets a 503 first); a head
// over max_header_bytes gets 431, a request over max_request_bytes 413, a head
// or body not received within request_timeout_ms 408, a malformed request
// 400/501/505, more than max_requests_per_second requests on one connection
// 429; every one of these closes the connection. Idle keep-alive connections
// close after idle_timeout_ms and a response not taken by the client within
// write_timeout_ms is abandoned. Only GET and HEAD reach handlers (others 405).
//
// Security: with tls_cert_file/tls_key_file the listener speaks only TLS 1.2+
// (plain HTTP to it fails the handshake and is closed); with client_ca_file
// the client must present a certificate signed by that CA (mTLS). Certificate
// and key files are re-read when they change (checked at most every 10 s on
// accept), so cert-manager rotation needs no restart. With auth_token_file
// every path except auth_exempt_paths needs "Authorization: Bearer <token>";
// the file is re-read when its mtime/size/inode change (checked at most once a
// second), so a rotated Kubernetes Secret takes effect without a restart. Only
// the token's SHA-256 is kept; presented tokens are hashed and compared with
// CRYPTO_memcmp, so timing does not depend on the token's content or length.
// Neither token nor key material is ever logged.
//
// probe_listen (optional) is a second, plain-HTTP listener that serves only
// auth_exempt_paths, for kubelet probes when the main port requires client
// certificates (Kubernetes httpGet probes cannot present one).
//
// Thread-safety: Handle() before Start(); Start()/Stop() from one thread.
// Handlers run concurrently on the worker threads and must only read published
// state. stats() may be called from any thread.
#ifndef NODEPULSE_EXPORTERS_HTTP_SERVER_H_
#define NODEPULSE_EXPORTERS_HTTP_SERVER_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "prometheus/collectable.h"
#include "prometheus/metric_family.h"  // complete type for MetricsCollectable()->Collect()

namespace nodepulse::exporters {

struct HttpRequest {
  std::string method;
  std::string path;   // percent-decoded, without the query
  std::string query;  // raw, without '?'
  std::map<std::string, std::string> headers;  // lower-case names
  // Value of a query parameter, URL-decoded; empty when absent.
  std::string Param(absl::string_view name) const;
  std::string Header(absl::string_view lower_name) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::map<std::string, std::string> headers;
  // Sent before `body` when set: a large immutable text (the /metrics
  // exposition) served to concurrent clients without a copy per response.
  std::shared_ptr<const std::string> shared_body;
};

using Handler = std::function<HttpResponse(const HttpRequest&)>;

struct HttpServerOptions {
  std::string listen = "127.0.0.1:9779";  // host:port; port 0 picks a free one
  int num_threads = 4;                     // handler workers
  int request_timeout_ms = 10000;          // TLS handshake + head + body of one request
  int max_request_bytes = 16384;           // request line + headers + body
  int max_header_bytes = 8192;             // request line + headers
  int max_connections = 64;                // open connections on `listen`
  int max_requests_per_second = 20;        // per connection (token bucket, burst = rate)
  int idle_timeout_ms = 30000;             // keep-alive connection with no request
  int write_timeout_ms = 30000;            // whole response taken by the client

  // TLS: both or neither. PEM files; the cert file may hold the chain.
  std::string tls_cert_file;
  std::string tls_key_file;
  std::string client_ca_file;  // non-empty: require a client cert signed by it

  // Non-empty: a bearer token (the file's content, surrounding whitespace
  // trimmed) is required on every path but auth_exempt_paths.
  std::string auth_token_file;
  std::vector<std::string> auth_exempt_paths = {"/healthz", "/readyz"};

  std::string probe_listen;  // optional plain-HTTP host:port for auth_exempt_paths
};

// Counters since Start(), readable from any thread.
struct HttpServerStats {
  // Responses by status code (only codes that occurred).
  std::map<int, uint64_t> responses;
  // Requests or connections refused before a handler ran, by reason:
  // max_connections, rate_limited, header_too_large, request_too_large,
  // timeout, malformed, unauthorized, tls_handshake.
  std::map<std::string, uint64_t> rejected;
  uint64_t open_connections = 0;
};

class HttpServer {
 public:
  explicit HttpServer(HttpServerOptions options);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Exact path match; register before Start().
  void Handle(std::string path, Handler handler);
  // Binds, loads TLS material and the token, and starts the threads. Errors:
  // InvalidArgument (bad options or files), Unavailable (cannot bind).
  absl::Status Start();
  // Closes every connection and joins the threads (a running handler is
  // waited for). Idempotent.
  void Stop();
  // The bound port (useful with port 0); probe_port() for probe_listen.
  int port() const { return port_; }
  int probe_port() const { return probe_port_; }

  HttpServerStats stats() const;
  // nodepulse_http_requests_total{code}, nodepulse_http_rejected_total{reason}
  // and nodepulse_http_open_connections, for the /metrics handler's list of
  // collectables. Valid while this server lives (holds a weak reference).
  std::shared_ptr<prometheus::Collectable> MetricsCollectable() const;

  struct Impl;  // event loop, workers and counters (http_server.cc)

 private:
  HttpServerOptions options_;
  std::map<std::string, Handler> handlers_;
  std::shared_ptr<Impl> impl_;
  int port_ = 0;
  int probe_port_ = 0;
};

// Splits "host:port" and checks both parts (host must be an IP literal or
// "localhost"; port 0..65535). Used for flag validation too.
absl::Status ValidateListenAddress(absl::string_view listen);

}  // namespace nodepulse::exporters

#endif  // NODEPULSE_EXPORTERS_HTTP_SERVER_H_
