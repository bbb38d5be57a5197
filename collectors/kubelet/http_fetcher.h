// HttpFetcher: GETs kubelet URLs with one reused libcurl easy handle, so
// consecutive polls reuse the TLS connection (kubelets keep it alive).
//
// Ownership: owns the CURL handle; one fetcher per thread (libcurl handles
// must not be shared across threads). Requires base::CurlGlobalInit to have run.
// Thread-compatible, not thread-safe.
#ifndef NODEPULSE_COLLECTORS_KUBELET_HTTP_FETCHER_H_
#define NODEPULSE_COLLECTORS_KUBELET_HTTP_FETCHER_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "nodepulse/base/curl.h"
#include "nodepulse/collectors/kubelet.h"

namespace nodepulse::collectors::kubelet {

class HttpFetcher {
 public:
  static absl::StatusOr<std::unique_ptr<HttpFetcher>> Create(const KubeletOptions& options);
  ~HttpFetcher();
  HttpFetcher(const HttpFetcher&) = delete;
  HttpFetcher& operator=(const HttpFetcher&) = delete;

  // GETs `url` into *body (replaced; its capacity is reused). `token` goes
  // into "Authorization: Bearer"; it never appears in a returned message.
  // On failure *reason classifies it and the status names the URL and the
  // HTTP code or curl error.
  absl::Status Get(const std::string& url, const std::string& token, std::string* body,
                   KubeletError* reason);

  // Who the server at `url` says it is, read with verification off on a
  // connection of its own (TLS handshake only, no request, no token):
  // "subject \"CN=...\" issued by \"CN=...\"", or why it could not be read.
  // For explaining a verification failure once per state change; never on
  // the polling hot path.
  std::string DescribePeerCertificate(const std::string& url) const;

  // TCP connections opened so far (connection reuse shows as 1 for many GETs).
  uint64_t connections_opened() const { return connections_; }

 private:
  explicit HttpFetcher(const KubeletOptions& options);
  static size_t OnData(char* data, size_t size, size_t n, void* self);

  const KubeletOptions options_;
  base::CurlHandle curl_;
  std::string* sink_ = nullptr;  // body of the request in flight
  bool too_large_ = false;
  uint64_t connections_ = 0;
};

}  // namespace nodepulse::collectors::kubelet

#endif  // NODEPULSE_COLLECTORS_KUBELET_HTTP_FETCHER_H_
