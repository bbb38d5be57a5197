// HttpServer::Impl - the event loop and workers behind HttpServer
// (http_server.h explains the design). Internal to exporters/: shared by
// http_event_loop.cc (the loop, connections, workers) and http_server.cc
// (public API, self-metrics).
//
// Thread-safety: loop-only members are touched only by the loop thread (and
// by Init/CloseAll before it starts or after it is joined); the job and done
// queues are guarded by `mu`; counters are atomics.
#ifndef NODEPULSE_EXPORTERS_HTTP_SERVER_IMPL_H_
#define NODEPULSE_EXPORTERS_HTTP_SERVER_IMPL_H_

#include <openssl/ssl.h>

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "absl/status/status.h"
#include "http_auth.h"
#include "http_parser.h"
#include "nodepulse/exporters/http/http_server.h"
#include "tls_context.h"

namespace nodepulse::exporters {

namespace http_internal {

// Rejection reasons, in the order Stats and the metric list them.
enum Reject : int {
  kMaxConnections,
  kRateLimited,
  kHeaderTooLarge,
  kRequestTooLarge,
  kTimeout,
  kMalformed,
  kUnauthorized,
  kTlsHandshake,
  kNumRejects
};
constexpr const char* kRejectNames[kNumRejects] = {
    "max_connections", "rate_limited", "header_too_large", "request_too_large",
    "timeout",         "malformed",    "unauthorized",     "tls_handshake"};

// epoll user data: small values are the wake-up eventfd and the listeners,
// anything above is a connection id (never reused within a server's life).
constexpr uint64_t kWakeId = 0;
constexpr uint64_t kFirstListenerId = 1;
constexpr uint64_t kFirstConnId = 16;
constexpr int kLingerMs = 1000;
constexpr int kSweepMs = 100;
constexpr size_t kReadChunk = 16384;
}  // namespace http_internal

// ---------------------------------------------------------------------------
// Impl: the event loop (one thread, owns every socket and SSL object) and the
// handler workers. Loop-only members carry no lock; the job and done queues
// are the only state shared with workers, under mu.
struct HttpServer::Impl {
  struct Listener {
    int fd = -1;
    bool tls = false;
    bool probe_only = false;
    int max_connections = 0;
    int open = 0;
    bool paused = false;  // EMFILE: out of epoll until the next sweep
  };
  enum class State { kHandshake, kReading, kBody, kProcessing, kWriting, kLinger };
  struct Conn {
    uint64_t id = 0;
    int fd = -1;
    SSL* ssl = nullptr;
    Listener* listener = nullptr;
    std::string peer;
    State state = State::kReading;
    uint32_t events = 0;
    bool registered = false;
    std::string in;
    http_internal::ParseResult pending;     // head parsed, waiting for the body (kBody)
    bool request_started = false;  // bytes of the next request have arrived
    uint64_t requests = 0;         // complete requests on this connection
    int64_t deadline_ms = 0;
    // The response in up to three pieces, sent in order: out (the head, and
    // the body unless it is shared), *out_shared, out_tail. out_off counts
    // bytes sent across all three.
    std::string out;
    std::shared_ptr<const std::string> out_shared;
    std::string out_tail;
    size_t out_off = 0;
    bool close_after_write = false;
    double tokens = 0;  // rate limit bucket
    int64_t refill_ms = 0;
  };
  struct Job {
    uint64_t conn_id;
    HttpRequest request;
    const Handler* handler;
    bool close;
  };
  struct Done {
    uint64_t conn_id;
    std::string bytes;
    bool close;
    std::shared_ptr<const std::string> shared;  // HttpResponse::shared_body
    std::string tail;                           // its body, sent after shared
  };

  Impl(const HttpServerOptions& o, const std::map<std::string, Handler>& h) : opts(o), handlers(h) {}
  ~Impl() { CloseAll(); }

  // --- setup / teardown (caller's thread) ---
  absl::Status Init(int* port, int* probe_port);
  void StartThreads();
  void StopThreads();
  void CloseAll();

  // --- event loop ---
  void Loop();
  void Accept(Listener& l);
  void Drive(Conn& c);
  enum class Step { kContinue, kWait, kClosed };
  Step StepOnce(Conn& c);
  Step ReadSome(Conn& c);
  Step WriteSome(Conn& c);
  Step Linger(Conn& c);
  bool TryRequest(Conn& c);  // true when the state changed
  void Respond(Conn& c, const HttpResponse& resp, bool head_only, bool close);
  void RejectWith(Conn& c, http_internal::Reject reason, int status, std::string body,
                  std::map<std::string, std::string> headers = {});
  void SetInterest(Conn& c, uint32_t events);
  // True (and the wanted epoll interest set) for SSL_ERROR_WANT_READ/WRITE.
  bool WaitOnTls(Conn& c, int ssl_error);
  void Unregister(Conn& c);
  void Close(Conn& c);
  void Sweep(int64_t now);
  void DrainDone();

  // --- workers ---
  void Worker();

  void CountResponse(int status) {
    if (status >= 100 && status < 600) responses[status].fetch_add(1, std::memory_order_relaxed);
  }
  void CountReject(http_internal::Reject r) { rejected[r].fetch_add(1, std::memory_order_relaxed); }

  HttpServerOptions opts;  // written only in Init()
  const std::map<std::string, Handler>& handlers;
  std::unique_ptr<http_internal::TlsServerContext> tls;
  std::unique_ptr<http_internal::BearerAuth> auth;

  int epfd = -1;
  int wakefd = -1;
  std::array<Listener, 2> listeners;
  int num_listeners = 0;
  std::unordered_map<uint64_t, std::unique_ptr<Conn>> conns;
  uint64_t next_id = http_internal::kFirstConnId;
  std::atomic<bool> stop{false};
  std::thread loop_thread;
  std::vector<std::thread> workers;

  std::mutex mu;
  std::condition_variable job_cv;
  std::deque<Job> jobs;    // guarded by mu
  std::vector<Done> done;  // guarded by mu
  bool workers_stop = false;  // guarded by mu

  std::array<std::atomic<uint64_t>, 600> responses{};
  std::array<std::atomic<uint64_t>, http_internal::kNumRejects> rejected{};
  std::atomic<uint64_t> open_connections{0};
};

}  // namespace nodepulse::exporters

#endif  // NODEPULSE_EXPORTERS_HTTP_SERVER_IMPL_H_
