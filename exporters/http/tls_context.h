// TlsServerContext: the OpenSSL 3 server context behind HttpServer's TLS
// listener - TLS 1.2+, no renegotiation, optional client-certificate
// verification (mTLS) against a CA bundle.
//
// Current() rebuilds the context when the certificate, key or CA file changed
// (inode/size/mtime, checked at most every 10 s), so a rotated cert-manager or
// Kubernetes Secret certificate is served to new connections without a
// restart. A rebuild that fails keeps the previous context and logs once.
// Connections keep a reference to the context they were accepted with (SSL_new
// takes one), so freeing the old context here is safe.
//
// Thread-safety: not thread-safe; used only on HttpServer's event loop.
#ifndef NODEPULSE_EXPORTERS_TLS_CONTEXT_H_
#define NODEPULSE_EXPORTERS_TLS_CONTEXT_H_

#include <array>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "nodepulse/base/file_stamp.h"

typedef struct ssl_ctx_st SSL_CTX;

namespace nodepulse::exporters::http_internal {

class TlsServerContext {
 public:
  // InvalidArgument naming the file and OpenSSL's reason when a file cannot
  // be loaded or the key does not match the certificate.
  static absl::StatusOr<std::unique_ptr<TlsServerContext>> Create(std::string cert_file,
                                                                  std::string key_file,
                                                                  std::string client_ca_file);
  ~TlsServerContext();
  TlsServerContext(const TlsServerContext&) = delete;
  TlsServerContext& operator=(const TlsServerContext&) = delete;

  // The context for a new connection; now_ms is a monotonic clock.
  SSL_CTX* Current(int64_t now_ms);
  bool mtls() const { return !client_ca_file_.empty(); }
  uint64_t reloads() const { return reloads_; }

 private:
  TlsServerContext(std::string cert, std::string key, std::string ca)
      : cert_file_(std::move(cert)), key_file_(std::move(key)), client_ca_file_(std::move(ca)) {}
  absl::StatusOr<SSL_CTX*> Build() const;
  // The stamps of the certificate, key and client-CA files: a change in any
  // of them rebuilds the context.
  using Stamps = std::array<base::FileStamp, 3>;
  Stamps Stamp() const;

  std::string cert_file_, key_file_, client_ca_file_;
  SSL_CTX* ctx_ = nullptr;
  Stamps stamp_;
  int64_t next_check_ms_ = 0;
  bool reload_failing_ = false;
  uint64_t reloads_ = 0;
};

}  // namespace nodepulse::exporters::http_internal

#endif  // NODEPULSE_EXPORTERS_TLS_CONTEXT_H_
