#include "nodepulse/exporters/http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <civetweb.h>

#include <cstring>
#include <mutex>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "nodepulse/log/log.h"

namespace nodepulse::exporters {

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

const char* StatusText(int status) {
  switch (status) {
    case 200: return "OK";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 413: return "Payload Too Large";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Status";
  }
}

std::once_flag g_civetweb_init;

}  // namespace

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

HttpServer::HttpServer(HttpServerOptions options) : options_(std::move(options)) {}

HttpServer::~HttpServer() { Stop(); }

void HttpServer::Handle(std::string path, Handler handler) {
  handlers_[std::move(path)] = std::move(handler);
}

int HttpServer::Dispatch(mg_connection* conn, void* cbdata) {
  auto* self = static_cast<HttpServer*>(cbdata);
  const mg_request_info* info = mg_get_request_info(conn);
  HttpRequest req;
  req.method = info->request_method ? info->request_method : "";
  req.path = info->local_uri ? info->local_uri : "";
  req.query = info->query_string ? info->query_string : "";
  for (int i = 0; i < info->num_headers; ++i) {
    req.headers[absl::AsciiStrToLower(info->http_headers[i].name)] =
        info->http_headers[i].value ? info->http_headers[i].value : "";
  }
  HttpResponse resp;
  auto it = self->handlers_.find(req.path);
  if (it == self->handlers_.end()) {
    resp.status = 404;
    resp.body = absl::StrCat("not found: ", req.path, "\n");
  } else if (req.method != "GET" && req.method != "HEAD") {
    resp.status = 405;
    resp.headers["Allow"] = "GET, HEAD";
    resp.body = "only GET and HEAD are supported\n";
  } else {
    // Handlers report errors as responses; an exception here would unwind into
    // civetweb's C code, so it is caught and turned into a 500.
    try {
      resp = it->second(req);
    } catch (const std::exception& e) {
      LogError("handler for ", req.path, " threw: ", e.what());
      resp = HttpResponse{500, "text/plain; charset=utf-8", "internal error\n", {}};
    }
  }
  std::string head = absl::StrCat("HTTP/1.1 ", resp.status, " ", StatusText(resp.status),
                                  "\r\nContent-Type: ", resp.content_type,
                                  "\r\nContent-Length: ", resp.body.size(),
                                  "\r\nCache-Control: no-store\r\n");
  for (const auto& [k, v] : resp.headers) absl::StrAppend(&head, k, ": ", v, "\r\n");
  head += "\r\n";
  mg_write(conn, head.data(), head.size());
  if (req.method != "HEAD") mg_write(conn, resp.body.data(), resp.body.size());
  return resp.status;
}

absl::Status HttpServer::Start() {
  if (absl::Status s = ValidateListenAddress(options_.listen); !s.ok()) return s;
  std::call_once(g_civetweb_init, [] { mg_init_library(0); });
  std::string threads = absl::StrCat(options_.num_threads);
  std::string timeout = absl::StrCat(options_.request_timeout_ms);
  std::string max_req = absl::StrCat(options_.max_request_bytes);
  std::string ports = options_.listen;
  if (ports.rfind("localhost:", 0) == 0) ports = "127.0.0.1" + ports.substr(9);
  const char* opts[] = {"listening_ports", ports.c_str(),
                        "num_threads", threads.c_str(),
                        "request_timeout_ms", timeout.c_str(),
                        "max_request_size", max_req.c_str(),
                        "enable_keep_alive", "yes",
                        nullptr};
  mg_callbacks callbacks;
  std::memset(&callbacks, 0, sizeof(callbacks));
  // civetweb logs bind failures through log_message; we report them ourselves.
  callbacks.log_message = [](const mg_connection*, const char* message) {
    LogDebug("civetweb: ", message);
    return 1;
  };
  ctx_ = mg_start(&callbacks, this, opts);
  if (ctx_ == nullptr) {
    return absl::UnavailableError(absl::StrCat(
        "cannot listen on ", options_.listen, " (address in use or not permitted)"));
  }
  // One catch-all handler dispatching on the exact path, so unknown paths get
  // our 404 rather than civetweb's file server.
  mg_set_request_handler(ctx_, "/", &HttpServer::Dispatch, this);
  mg_server_port sp[4];
  int n = mg_get_server_ports(ctx_, 4, sp);
  port_ = n > 0 ? sp[0].port : 0;
  return absl::OkStatus();
}

void HttpServer::Stop() {
  if (ctx_ != nullptr) {
    mg_stop(ctx_);
    ctx_ = nullptr;
  }
}

}  // namespace nodepulse::exporters
