// The event loop, connection state machine and handler workers of
// HttpServer (design in http_server.h, data in http_server_impl.h).
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "http_server_impl.h"
#include "nodepulse/base/clock.h"
#include "nodepulse/base/log.h"

namespace nodepulse::exporters {

using http_internal::BearerAuth;
using http_internal::ParseResult;
using http_internal::ParseState;
using http_internal::TlsServerContext;
using enum http_internal::Reject;
using http_internal::kFirstConnId;
using http_internal::kFirstListenerId;
using http_internal::kLingerMs;
using http_internal::kReadChunk;
using http_internal::kSweepMs;
using http_internal::kWakeId;

namespace {

// Deadlines are on the monotonic clock: a wall-clock step must not time out
// every connection at once, or none.
int64_t NowMs() { return absl::ToInt64Milliseconds(base::MonotonicNow()); }

// Binds a non-blocking listening socket; *port gets the bound port.
absl::StatusOr<int> Listen(const std::string& listen, int backlog, int* port) {
  if (absl::Status s = ValidateListenAddress(listen); !s.ok()) return s;
  size_t colon = listen.rfind(':');
  std::string host = listen.substr(0, colon);
  std::string port_str = listen.substr(colon + 1);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host == "localhost") host = "127.0.0.1";
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
  addrinfo* res = nullptr;
  if (int rc = getaddrinfo(host.c_str(), port_str.c_str(), &hints, &res); rc != 0 || res == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("listen address ", listen, ": ", gai_strerror(rc)));
  }
  int fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  // SO_REUSEADDR: a restarted agent can bind while old connections sit in
  // TIME_WAIT. (On Linux it does not let two live listeners share a port.)
  if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
      bind(fd, res->ai_addr, res->ai_addrlen) != 0 || ::listen(fd, backlog) != 0) {
    int err = errno;
    freeaddrinfo(res);
    if (fd >= 0) ::close(fd);
    return absl::UnavailableError(absl::StrCat("cannot listen on ", listen, ": ", std::strerror(err)));
  }
  freeaddrinfo(res);
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
  *port = ss.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port)
                                   : ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  return fd;
}

std::string PeerName(const sockaddr_storage& ss) {
  char buf[INET6_ADDRSTRLEN] = "?";
  int port = 0;
  if (ss.ss_family == AF_INET) {
    auto* a = reinterpret_cast<const sockaddr_in*>(&ss);
    inet_ntop(AF_INET, &a->sin_addr, buf, sizeof(buf));
    port = ntohs(a->sin_port);
  } else if (ss.ss_family == AF_INET6) {
    auto* a = reinterpret_cast<const sockaddr_in6*>(&ss);
    inet_ntop(AF_INET6, &a->sin6_addr, buf, sizeof(buf));
    port = ntohs(a->sin6_port);
  }
  return absl::StrCat(buf, ":", port);
}

}  // namespace

absl::Status HttpServer::Impl::Init(int* port, int* probe_port) {
  if (opts.tls_cert_file.empty() != opts.tls_key_file.empty()) {
    return absl::InvalidArgumentError("TLS needs both a certificate file and a key file");
  }
  if (!opts.client_ca_file.empty() && opts.tls_cert_file.empty()) {
    return absl::InvalidArgumentError("a client CA (mTLS) needs a TLS certificate and key");
  }
  // The head is part of the request, so its limit is at most the request's.
  opts.max_header_bytes = std::min(opts.max_header_bytes, opts.max_request_bytes);
  if (opts.num_threads < 1 || opts.max_connections < 1 || opts.max_requests_per_second < 1 ||
      opts.max_header_bytes < 256 || opts.request_timeout_ms < 1 || opts.idle_timeout_ms < 1 ||
      opts.write_timeout_ms < 1) {
    return absl::InvalidArgumentError(
        "HTTP limits: threads, connections, request rate and timeouts must be >= 1 and "
        "request/header bytes >= 256");
  }
  if (!opts.tls_cert_file.empty()) {
    auto t = TlsServerContext::Create(opts.tls_cert_file, opts.tls_key_file, opts.client_ca_file);
    if (!t.ok()) return t.status();
    tls = *std::move(t);
  }
  if (!opts.auth_token_file.empty()) {
    auto a = BearerAuth::Load(opts.auth_token_file);
    if (!a.ok()) return a.status();
    auth = *std::move(a);
  }
  epfd = epoll_create1(EPOLL_CLOEXEC);
  wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (epfd < 0 || wakefd < 0) return absl::InternalError(absl::StrCat("epoll: ", std::strerror(errno)));
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kWakeId;
  epoll_ctl(epfd, EPOLL_CTL_ADD, wakefd, &ev);

  auto add_listener = [&](const std::string& addr, bool use_tls, bool probe_only, int max_conns,
                          int* bound) -> absl::Status {
    absl::StatusOr<int> fd = Listen(addr, std::max(64, max_conns), bound);
    if (!fd.ok()) return fd.status();
    Listener& l = listeners[num_listeners];
    l.fd = *fd;
    l.tls = use_tls;
    l.probe_only = probe_only;
    l.max_connections = max_conns;
    epoll_event lev{};
    lev.events = EPOLLIN;
    lev.data.u64 = kFirstListenerId + num_listeners;
    epoll_ctl(epfd, EPOLL_CTL_ADD, l.fd, &lev);
    ++num_listeners;
    return absl::OkStatus();
  };
  if (absl::Status s = add_listener(opts.listen, tls != nullptr, false, opts.max_connections, port); !s.ok()) {
    return s;
  }
  if (!opts.probe_listen.empty()) {
    // Probes come from the kubelet a few times a period; a small fixed cap
    // keeps a flood on this port from costing more than a few fds.
    if (absl::Status s = add_listener(opts.probe_listen, false, true, 16, probe_port); !s.ok()) return s;
  }
  return absl::OkStatus();
}

void HttpServer::Impl::StartThreads() {
  for (int i = 0; i < opts.num_threads; ++i) {
    workers.emplace_back([this] {
      NameThisThread("np-http-worker");
      Worker();
    });
  }
  loop_thread = std::thread([this] {
    NameThisThread("np-http");
    Loop();
  });
}

void HttpServer::Impl::StopThreads() {
  stop.store(true);
  if (wakefd >= 0) {
    uint64_t one = 1;
    (void)!write(wakefd, &one, sizeof(one));
  }
  if (loop_thread.joinable()) loop_thread.join();
  {
    std::lock_guard<std::mutex> lock(mu);
    workers_stop = true;
  }
  job_cv.notify_all();
  for (std::thread& t : workers) t.join();
  workers.clear();
  CloseAll();
}

void HttpServer::Impl::CloseAll() {
  for (auto& [id, c] : conns) {
    if (c->ssl != nullptr) SSL_free(c->ssl);
    ::close(c->fd);
  }
  conns.clear();
  open_connections.store(0);
  for (int i = 0; i < num_listeners; ++i) {
    if (listeners[i].fd >= 0) ::close(listeners[i].fd);
    listeners[i].fd = -1;
  }
  num_listeners = 0;
  if (epfd >= 0) ::close(epfd);
  if (wakefd >= 0) ::close(wakefd);
  epfd = wakefd = -1;
}

void HttpServer::Impl::Loop() {
  // Nothing may escape a thread's entry function (an exception there calls
  // std::terminate and takes the whole agent down); a failure here is a bug, so it is logged and the listener stops rather than crashing the
  // agent (collection continues; /healthz is then unreachable and the kubelet
  // restarts the pod).
  // SSL_write writes through OpenSSL's socket BIO without MSG_NOSIGNAL: a
  // client that hangs up mid-response would raise SIGPIPE. Blocked in this
  // thread (the one that writes), the write fails with EPIPE instead, even in
  // programs that do not ignore SIGPIPE process-wide.
  sigset_t pipe;
  sigemptyset(&pipe);
  sigaddset(&pipe, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe, nullptr);
  try {
    std::array<epoll_event, 64> events;
    int64_t next_sweep = NowMs() + kSweepMs;
    while (!stop.load()) {
      int n = epoll_wait(epfd, events.data(), static_cast<int>(events.size()), kSweepMs);
      for (int i = 0; i < n; ++i) {
        uint64_t id = events[i].data.u64;
        if (id == kWakeId) {
          uint64_t v;
          (void)!read(wakefd, &v, sizeof(v));
          DrainDone();
        } else if (id < kFirstConnId) {
          Accept(listeners[id - kFirstListenerId]);
        } else if (auto it = conns.find(id); it != conns.end()) {
          Drive(*it->second);
        }
      }
      int64_t now = NowMs();
      if (now >= next_sweep) {
        Sweep(now);
        next_sweep = now + kSweepMs;
      }
    }
  } catch (const std::exception& e) {
    LogError("http: event loop stopped: ", e.what());
  }
}

void HttpServer::Impl::Accept(Listener& l) {
  while (true) {
    sockaddr_storage ss{};
    socklen_t len = sizeof(ss);
    int fd = accept4(l.fd, reinterpret_cast<sockaddr*>(&ss), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        // Level-triggered: leaving the listener armed would spin. Pause it
        // until the next sweep.
        LogWarn("http: accept: ", std::strerror(errno), "; pausing accepts for ", kSweepMs, " ms");
        epoll_ctl(epfd, EPOLL_CTL_DEL, l.fd, nullptr);
        l.paused = true;
      }
      return;
    }
    if (l.open >= l.max_connections) {
      CountReject(kMaxConnections);
      if (!l.tls) {
        static constexpr char k503[] =
            "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 22\r\nConnection: close\r\n\r\n"
            "too many connections\r\n";
        (void)!send(fd, k503, sizeof(k503) - 1, MSG_DONTWAIT | MSG_NOSIGNAL);
      }
      ::close(fd);
      continue;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    auto c = std::make_unique<Conn>();
    c->id = next_id++;
    c->fd = fd;
    c->listener = &l;
    c->peer = PeerName(ss);
    int64_t now = NowMs();
    // The first request (and the TLS handshake) must arrive within the
    // request timeout: an idle fresh connection is a cheap slot-holding attack.
    c->deadline_ms = now + opts.request_timeout_ms;
    c->tokens = opts.max_requests_per_second;
    c->refill_ms = now;
    if (l.tls) {
      ERR_clear_error();
      c->ssl = SSL_new(tls->Current(now));
      if (c->ssl == nullptr || SSL_set_fd(c->ssl, fd) != 1) {
        LogWarn("http: SSL_new failed; closing connection from ", c->peer);
        if (c->ssl != nullptr) SSL_free(c->ssl);
        ::close(fd);
        continue;
      }
      SSL_set_accept_state(c->ssl);
      c->state = State::kHandshake;
    }
    ++l.open;
    open_connections.fetch_add(1);
    Conn& ref = *c;
    conns.emplace(c->id, std::move(c));
    Drive(ref);
  }
}

void HttpServer::Impl::SetInterest(Conn& c, uint32_t events) {
  if (c.registered && c.events == events) return;
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = c.id;
  epoll_ctl(epfd, c.registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, c.fd, &ev);
  c.registered = true;
  c.events = events;
}

void HttpServer::Impl::Unregister(Conn& c) {
  if (!c.registered) return;
  epoll_ctl(epfd, EPOLL_CTL_DEL, c.fd, nullptr);
  c.registered = false;
  c.events = 0;
}

void HttpServer::Impl::Close(Conn& c) {
  Unregister(c);
  if (c.ssl != nullptr) SSL_free(c.ssl);
  ::close(c.fd);
  --c.listener->open;
  open_connections.fetch_sub(1);
  conns.erase(c.id);  // destroys c
}

void HttpServer::Impl::Drive(Conn& c) {
  // Runs the connection's state machine until it must wait for the socket or
  // a worker. Every kContinue consumed input, produced output or changed
  // state, so the loop ends.
  while (true) {
    Step s = StepOnce(c);
    if (s != Step::kContinue) return;
  }
}

// OpenSSL may need the socket readable or writable whatever the caller was
// doing (a handshake, or renegotiation-free reads that still need to write):
// wait for what it asked for.
bool HttpServer::Impl::WaitOnTls(Conn& c, int ssl_error) {
  if (ssl_error != SSL_ERROR_WANT_READ && ssl_error != SSL_ERROR_WANT_WRITE) return false;
  SetInterest(c, ssl_error == SSL_ERROR_WANT_WRITE ? EPOLLOUT : EPOLLIN);
  return true;
}

HttpServer::Impl::Step HttpServer::Impl::StepOnce(Conn& c) {
  switch (c.state) {
    case State::kHandshake: {
      ERR_clear_error();
      int rc = SSL_accept(c.ssl);
      if (rc == 1) {
        c.state = State::kReading;
        return Step::kContinue;
      }
      int err = SSL_get_error(c.ssl, rc);
      if (WaitOnTls(c, err)) return Step::kWait;
      CountReject(kTlsHandshake);
      if (LogEnabled(LogLevel::kDebug)) {
        unsigned long e = ERR_peek_error();
        char buf[256] = "connection closed";
        if (e != 0) ERR_error_string_n(e, buf, sizeof(buf));
        LogDebug("http: TLS handshake with ", c.peer, " failed: ", buf);
      }
      ERR_clear_error();
      Close(c);
      return Step::kClosed;
    }
    case State::kReading:
    case State::kBody:
      if (TryRequest(c)) return Step::kContinue;
      return ReadSome(c);
    case State::kWriting:
      return WriteSome(c);
    case State::kLinger:
      return Linger(c);
    case State::kProcessing:
      return Step::kWait;
  }
  return Step::kWait;
}

HttpServer::Impl::Step HttpServer::Impl::ReadSome(Conn& c) {
  // Never buffer more than one maximal request (plus one byte, to tell
  // "exactly at the limit" from "over it"); pipelined requests beyond that
  // wait in the kernel until this one is answered.
  size_t cap = static_cast<size_t>(opts.max_request_bytes) + 1;
  if (c.in.size() >= cap) return Step::kWait;  // TryRequest already judged it
  char buf[kReadChunk];
  size_t want = std::min(sizeof(buf), cap - c.in.size());
  ssize_t n;
  if (c.ssl != nullptr) {
    ERR_clear_error();
    n = SSL_read(c.ssl, buf, static_cast<int>(want));
    if (n <= 0) {
      int err = SSL_get_error(c.ssl, static_cast<int>(n));
      ERR_clear_error();
      if (WaitOnTls(c, err)) return Step::kWait;
      Close(c);  // close_notify, reset or protocol error
      return Step::kClosed;
    }
  } else {
    n = recv(c.fd, buf, want, 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
      SetInterest(c, EPOLLIN);
      return Step::kWait;
    }
    if (n <= 0) {
      Close(c);
      return Step::kClosed;
    }
  }
  if (!c.request_started) {
    c.request_started = true;
    // The first request keeps the deadline set at accept, so trickling one
    // byte just before it cannot double a connection's lifetime.
    if (c.requests > 0) c.deadline_ms = NowMs() + opts.request_timeout_ms;
  }
  c.in.append(buf, static_cast<size_t>(n));
  return Step::kContinue;
}

bool HttpServer::Impl::TryRequest(Conn& c) {
  if (c.in.empty()) return false;
  if (c.state == State::kReading) {
    ParseResult pr = http_internal::ParseRequestHead(c.in, static_cast<size_t>(opts.max_header_bytes));
    if (pr.state == ParseState::kIncomplete) return false;
    if (pr.state == ParseState::kError) {
      LogDebug("http: ", pr.error_status, " for ", c.peer, ": ", pr.error);
      RejectWith(c, pr.error_status == 431 ? kHeaderTooLarge : kMalformed, pr.error_status, pr.error + "\n");
      return true;
    }
    if (pr.head_bytes + pr.content_length > static_cast<size_t>(opts.max_request_bytes)) {
      RejectWith(c, kRequestTooLarge, 413,
                 absl::StrCat("request larger than ", opts.max_request_bytes, " bytes\n"));
      return true;
    }
    c.pending = std::move(pr);
    c.state = State::kBody;
  }
  // kBody: the head is parsed; wait for the whole body (bounded above).
  size_t total = c.pending.head_bytes + c.pending.content_length;
  if (c.in.size() < total) return false;
  c.in.erase(0, total);  // the body is not used: only GET and HEAD are served
  ++c.requests;
  HttpRequest req = std::move(c.pending.request);
  bool close = !c.pending.keep_alive;
  bool head_only = req.method == "HEAD";
  c.pending = ParseResult{};

  int64_t now = NowMs();
  // Token bucket per connection: `rate` requests a second, bursts of `rate`.
  double rate = opts.max_requests_per_second;
  c.tokens = std::min(rate, c.tokens + static_cast<double>(now - c.refill_ms) * rate / 1000.0);
  c.refill_ms = now;
  if (c.tokens < 1.0) {
    RejectWith(c, kRateLimited, 429,
               absl::StrCat("more than ", opts.max_requests_per_second,
                            " requests per second on one connection\n"),
               {{"Retry-After", "1"}});
    return true;
  }
  c.tokens -= 1.0;

  bool exempt = std::find(opts.auth_exempt_paths.begin(), opts.auth_exempt_paths.end(), req.path) !=
                opts.auth_exempt_paths.end();
  if (c.listener->probe_only && !exempt) {
    Respond(c, HttpResponse{404, "text/plain; charset=utf-8", "this port serves only the probe paths\n", {}, nullptr},
            head_only, close);
    return true;
  }
  if (auth != nullptr && !exempt && !c.listener->probe_only) {
    BearerAuth::Result r = auth->Check(req.Header("authorization"), now);
    if (r != BearerAuth::Result::kOk) {
      // RFC 6750 3: no error code when no credentials were sent.
      bool missing = r == BearerAuth::Result::kMissing;
      LogDebug("http: 401 for ", req.path, " from ", c.peer, missing ? " (no bearer token)" : " (wrong token)");
      CountReject(kUnauthorized);
      Respond(c,
              HttpResponse{401, "text/plain; charset=utf-8", "a valid bearer token is required\n",
                           {{"WWW-Authenticate", missing ? "Bearer realm=\"nodepulse\""
                                                         : "Bearer realm=\"nodepulse\", error=\"invalid_token\""}}, nullptr},
              head_only, close);
      return true;
    }
  }
  auto it = handlers.find(req.path);
  if (it == handlers.end()) {
    Respond(c, HttpResponse{404, "text/plain; charset=utf-8", absl::StrCat("not found: ", req.path, "\n"), {}, nullptr},
            head_only, close);
    return true;
  }
  if (req.method != "GET" && req.method != "HEAD") {
    Respond(c, HttpResponse{405, "text/plain; charset=utf-8", "only GET and HEAD are supported\n",
                            {{"Allow", "GET, HEAD"}}, nullptr},
            head_only, close);
    return true;
  }
  // To a worker. The socket leaves epoll meanwhile: a level-triggered
  // EPOLLHUP from a client that gave up would otherwise spin the loop.
  Unregister(c);
  c.state = State::kProcessing;
  {
    std::lock_guard<std::mutex> lock(mu);
    jobs.push_back(Job{c.id, std::move(req), &it->second, close});
  }
  job_cv.notify_one();
  return true;
}

void HttpServer::Impl::Respond(Conn& c, const HttpResponse& resp, bool head_only, bool close) {
  CountResponse(resp.status);
  c.out = http_internal::SerializeResponse(resp, head_only, close);
  if (resp.shared_body && !head_only) {
    c.out_shared = resp.shared_body;
    c.out_tail = resp.body;
  }
  c.out_off = 0;
  c.close_after_write = close;
  c.state = State::kWriting;
  c.deadline_ms = NowMs() + opts.write_timeout_ms;
}

void HttpServer::Impl::RejectWith(Conn& c, http_internal::Reject reason, int status, std::string body,
                                  std::map<std::string, std::string> headers) {
  CountReject(reason);
  Respond(c, HttpResponse{status, "text/plain; charset=utf-8", std::move(body), std::move(headers), nullptr},
          false, true);
}

namespace {
// The unsent rest of the piece of c's response that byte c.out_off is in.
bool NextPiece(const HttpServer::Impl::Conn& c, const char** p, size_t* left) {
  size_t off = c.out_off;
  const std::string* pieces[3] = {&c.out, c.out_shared.get(), &c.out_tail};
  for (const std::string* s : pieces) {
    if (s == nullptr) continue;
    if (off < s->size()) {
      *p = s->data() + off;
      *left = s->size() - off;
      return true;
    }
    off -= s->size();
  }
  return false;
}
}  // namespace

HttpServer::Impl::Step HttpServer::Impl::WriteSome(Conn& c) {
  const char* p = nullptr;
  size_t left = 0;
  while (NextPiece(c, &p, &left)) {
    ssize_t n;
    if (c.ssl != nullptr) {
      ERR_clear_error();
      n = SSL_write(c.ssl, p, static_cast<int>(std::min<size_t>(left, 1 << 20)));
      if (n <= 0) {
        int err = SSL_get_error(c.ssl, static_cast<int>(n));
        ERR_clear_error();
        if (WaitOnTls(c, err)) return Step::kWait;
        Close(c);
        return Step::kClosed;
      }
    } else {
      n = send(c.fd, p, left, MSG_NOSIGNAL);
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
        SetInterest(c, EPOLLOUT);
        return Step::kWait;
      }
      if (n <= 0) {
        Close(c);
        return Step::kClosed;
      }
    }
    c.out_off += static_cast<size_t>(n);
  }
  std::string().swap(c.out);  // a /metrics body can be megabytes: release it
  c.out_shared.reset();
  std::string().swap(c.out_tail);
  c.out_off = 0;
  if (c.close_after_write) {
    // Lingering close: stop sending, then read and discard what the client
    // still sends for a moment, so our close does not reset the connection
    // and destroy the response (e.g. a 413) before the client reads it.
    if (c.ssl != nullptr) {
      ERR_clear_error();
      SSL_shutdown(c.ssl);  // best effort close_notify
      ERR_clear_error();
    }
    shutdown(c.fd, SHUT_WR);
    c.state = State::kLinger;
    c.deadline_ms = NowMs() + kLingerMs;
    return Step::kContinue;
  }
  c.state = State::kReading;
  // A pipelined request already (partly) buffered is on the request clock.
  c.request_started = !c.in.empty();
  c.deadline_ms = NowMs() + (c.request_started ? opts.request_timeout_ms : opts.idle_timeout_ms);
  return Step::kContinue;
}

HttpServer::Impl::Step HttpServer::Impl::Linger(Conn& c) {
  char buf[kReadChunk];
  while (true) {
    ssize_t n = recv(c.fd, buf, sizeof(buf), 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
      SetInterest(c, EPOLLIN);
      return Step::kWait;
    }
    if (n <= 0) {
      Close(c);
      return Step::kClosed;
    }
  }
}

void HttpServer::Impl::Sweep(int64_t now) {
  for (int i = 0; i < num_listeners; ++i) {
    Listener& l = listeners[i];
    if (!l.paused) continue;
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = kFirstListenerId + i;
    epoll_ctl(epfd, EPOLL_CTL_ADD, l.fd, &ev);
    l.paused = false;
  }
  std::vector<uint64_t> expired;
  for (auto& [id, c] : conns) {
    if (c->state != State::kProcessing && now >= c->deadline_ms) expired.push_back(id);
  }
  for (uint64_t id : expired) {
    auto it = conns.find(id);
    if (it == conns.end()) continue;
    Conn& c = *it->second;
    switch (c.state) {
      case State::kReading:
        if (c.request_started) {
          // Slowloris: a head that never completes.
          c.in.clear();
          RejectWith(c, kTimeout, 408, "request not received in time\n");
          Drive(c);
        } else {
          Close(c);  // idle keep-alive connection, or nothing ever sent
        }
        break;
      case State::kBody:
        c.in.clear();
        RejectWith(c, kTimeout, 408, "request not received in time\n");
        Drive(c);
        break;
      case State::kHandshake:
      case State::kWriting:
        CountReject(kTimeout);
        Close(c);
        break;
      case State::kLinger:
        Close(c);
        break;
      case State::kProcessing:
        break;
    }
  }
}

void HttpServer::Impl::DrainDone() {
  std::vector<Done> ready;
  {
    std::lock_guard<std::mutex> lock(mu);
    ready.swap(done);
  }
  for (Done& d : ready) {
    auto it = conns.find(d.conn_id);
    if (it == conns.end()) continue;
    Conn& c = *it->second;
    c.out = std::move(d.bytes);
    c.out_shared = std::move(d.shared);
    c.out_tail = std::move(d.tail);
    c.out_off = 0;
    c.close_after_write = d.close;
    c.state = State::kWriting;
    c.deadline_ms = NowMs() + opts.write_timeout_ms;
    Drive(c);
  }
}

void HttpServer::Impl::Worker() {
  while (true) {
    Job job;
    {
      std::unique_lock<std::mutex> lock(mu);
      job_cv.wait(lock, [this] { return workers_stop || !jobs.empty(); });
      if (workers_stop) return;
      job = std::move(jobs.front());
      jobs.pop_front();
    }
    HttpResponse resp;
    // Handlers report errors as responses; anything thrown (a bug, or
    // bad_alloc) becomes a 500 here and never leaves the thread.
    try {
      resp = (*job.handler)(job.request);
    } catch (const std::exception& e) {
      LogError("http: handler for ", job.request.path, " threw: ", e.what());
      resp = HttpResponse{500, "text/plain; charset=utf-8", "internal error\n", {}, nullptr};
    } catch (...) {
      LogError("http: handler for ", job.request.path, " threw a non-exception");
      resp = HttpResponse{500, "text/plain; charset=utf-8", "internal error\n", {}, nullptr};
    }
    CountResponse(resp.status);
    Done d{job.conn_id, {}, job.close, nullptr, {}};
    try {
      const bool head = job.request.method == "HEAD";
      d.bytes = http_internal::SerializeResponse(resp, head, job.close);
      if (resp.shared_body && !head) {
        d.shared = std::move(resp.shared_body);
        d.tail = std::move(resp.body);
      }
    } catch (const std::exception&) {  // bad_alloc on a huge body
      d.bytes = http_internal::SerializeResponse(
          HttpResponse{500, "text/plain; charset=utf-8", "internal error\n", {}, nullptr}, false, true);
      d.close = true;
    }
    {
      std::lock_guard<std::mutex> lock(mu);
      done.push_back(std::move(d));
    }
    uint64_t one = 1;
    (void)!write(wakefd, &one, sizeof(one));
  }
}

}  // namespace nodepulse::exporters
