// The one libcurl helper: every nodepulse HTTP client (kubelet fetcher,
// remote_write client, cluster-aggregates merge, the health/top CLI) gets its
// easy handle here, so the settings they must share are set in one place:
// no signals (all of them run on threads), the total and connect timeouts,
// and the TLS trust (a CA file, or verification off when asked).
//
// Lives in its own target, nodepulse::base_curl, so base users that never
// fetch do not link libcurl.
//
// Thread-safety: CurlGlobalInit() is safe to call from any thread; a
// CurlHandle must be used by one thread at a time (libcurl's rule).
#ifndef NODEPULSE_BASE_CURL_H_
#define NODEPULSE_BASE_CURL_H_

#include <curl/curl.h>

#include <cstddef>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace nodepulse::base {

struct CurlHandleDeleter {
  void operator()(CURL* h) const { curl_easy_cleanup(h); }
};
using CurlHandle = std::unique_ptr<CURL, CurlHandleDeleter>;

struct CurlHeadersDeleter {
  void operator()(curl_slist* h) const { curl_slist_free_all(h); }
};
using CurlHeaders = std::unique_ptr<curl_slist, CurlHeadersDeleter>;

struct CurlOptions {
  absl::Duration timeout = absl::Seconds(10);  // whole transfer
  // Connection phase only; zero keeps libcurl's default (300 s).
  absl::Duration connect_timeout = absl::ZeroDuration();
  std::string ca_file;                // empty: the system trust store
  bool insecure_skip_verify = false;  // no peer or host-name verification
};

// curl_global_init(CURL_GLOBAL_DEFAULT), once per process. libcurl's lazy
// global init inside curl_easy_init is not thread-safe, so anything that
// fans out fetches on threads calls this first. Never cleaned up: the
// process exit does that.
void CurlGlobalInit();

// A new easy handle with `options` applied (CURLOPT_NOSIGNAL, TIMEOUT_MS,
// CONNECTTIMEOUT_MS, CAINFO / SSL_VERIFYPEER+HOST). libcurl copies string
// options, so `options` need not outlive the handle.
// Error: InternalError("curl_easy_init failed").
absl::StatusOr<CurlHandle> NewCurlHandle(const CurlOptions& options);

// CURLOPT_WRITEFUNCTION that appends the body to the std::string* passed as
// CURLOPT_WRITEDATA.
size_t CurlAppendToString(char* data, size_t size, size_t n, void* out);

// A failed transfer's message: libcurl's detailed error buffer when it has
// one (CURLOPT_ERRORBUFFER), else curl_easy_strerror(code).
std::string CurlErrorText(CURLcode code, const char* error_buffer);

}  // namespace nodepulse::base

#endif  // NODEPULSE_BASE_CURL_H_
