// HttpServer: the agent's one HTTP(S) listener, on civetweb (the server that
// prometheus-cpp's Exposer embeds). Every endpoint - /metrics, /healthz,
// /readyz, /api/* and the status page - is a Handler registered by path.
//
// Why not prometheus::Exposer itself: it owns its CivetServer privately, so no
// other endpoint could share the --listen port. /metrics is still rendered from
// a prometheus::Collectable with prometheus-cpp's TextSerializer, exactly what
// the Exposer does.
//
// Limits (request size, threads, timeouts) are civetweb options so an
// oversized or slow request is refused by the server before a handler runs.
//
// Thread-safety: Handle() before Start(); handlers run concurrently on
// civetweb's worker threads and must only read published state.
#ifndef NODEPULSE_EXPORTERS_HTTP_SERVER_H_
#define NODEPULSE_EXPORTERS_HTTP_SERVER_H_

#include <functional>
#include <map>
#include <memory>
#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/status.h"
#include "absl/status/statusor.h"

struct mg_context;
struct mg_connection;

namespace nodepulse::exporters {

struct HttpRequest {
  std::string method;
  std::string path;
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
};

using Handler = std::function<HttpResponse(const HttpRequest&)>;

struct HttpServerOptions {
  std::string listen = "127.0.0.1:9779";  // host:port; port 0 picks a free one
  int num_threads = 4;
  int request_timeout_ms = 10000;
  int max_request_bytes = 16384;  // request line + headers + body
};

class HttpServer {
 public:
  explicit HttpServer(HttpServerOptions options);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Exact path match; register before Start().
  void Handle(std::string path, Handler handler);
  absl::Status Start();
  void Stop();
  // The bound port (useful with port 0).
  int port() const { return port_; }

 private:
  static int Dispatch(mg_connection* conn, void* cbdata);
  HttpServerOptions options_;
  std::map<std::string, Handler> handlers_;
  mg_context* ctx_ = nullptr;
  int port_ = 0;
};

// Splits "host:port" and checks both parts (host must be an IP literal or
// "localhost"; port 0..65535). Used for flag validation too.
absl::Status ValidateListenAddress(absl::string_view listen);

}  // namespace nodepulse::exporters

#endif  // NODEPULSE_EXPORTERS_HTTP_SERVER_H_
