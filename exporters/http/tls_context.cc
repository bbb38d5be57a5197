#include "tls_context.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "absl/strings/str_cat.h"
#include "nodepulse/base/log.h"

namespace nodepulse::exporters::http_internal {

namespace {

constexpr int64_t kReloadCheckMs = 10000;

// OpenSSL's reasons for the last failure (file names and library reasons
// only; OpenSSL never puts key material in its error queue).
std::string OpenSslErrors() {
  std::string out;
  unsigned long e;
  while ((e = ERR_get_error()) != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    absl::StrAppend(&out, out.empty() ? "" : "; ", buf);
  }
  return out.empty() ? "unknown error" : out;
}

}  // namespace

absl::StatusOr<std::unique_ptr<TlsServerContext>> TlsServerContext::Create(std::string cert_file,
                                                                           std::string key_file,
                                                                           std::string client_ca_file) {
  if (cert_file.empty() || key_file.empty()) {
    return absl::InvalidArgumentError("TLS needs both a certificate file and a key file");
  }
  std::unique_ptr<TlsServerContext> t(
      new TlsServerContext(std::move(cert_file), std::move(key_file), std::move(client_ca_file)));
  t->stamp_ = t->Stamp();
  absl::StatusOr<SSL_CTX*> ctx = t->Build();
  if (!ctx.ok()) return ctx.status();
  t->ctx_ = *ctx;
  return t;
}

TlsServerContext::~TlsServerContext() { SSL_CTX_free(ctx_); }

TlsServerContext::Stamps TlsServerContext::Stamp() const {
  return {base::FileStamp::Of(cert_file_), base::FileStamp::Of(key_file_), base::FileStamp::Of(client_ca_file_)};
}

absl::StatusOr<SSL_CTX*> TlsServerContext::Build() const {
  ERR_clear_error();
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (ctx == nullptr) return absl::InternalError(absl::StrCat("SSL_CTX_new: ", OpenSslErrors()));
  auto fail = [ctx](std::string what) -> absl::Status {
    std::string why = OpenSslErrors();
    SSL_CTX_free(ctx);
    return absl::InvalidArgumentError(absl::StrCat(what, ": ", why));
  };
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  // Renegotiation is a client-triggered CPU sink and useless for scrapes.
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
                               SSL_OP_NO_COMPRESSION);
  // Non-blocking writes of one response buffer: accept partial progress.
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  if (SSL_CTX_use_certificate_chain_file(ctx, cert_file_.c_str()) != 1) {
    return fail(absl::StrCat("TLS certificate ", cert_file_));
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, key_file_.c_str(), SSL_FILETYPE_PEM) != 1) {
    return fail(absl::StrCat("TLS key ", key_file_));
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    return fail(absl::StrCat("TLS key ", key_file_, " does not match certificate ", cert_file_));
  }
  static constexpr unsigned char kSessionContext[] = "nodepulse";
  SSL_CTX_set_session_id_context(ctx, kSessionContext, sizeof(kSessionContext) - 1);
  if (!client_ca_file_.empty()) {
    if (SSL_CTX_load_verify_locations(ctx, client_ca_file_.c_str(), nullptr) != 1) {
      return fail(absl::StrCat("TLS client CA ", client_ca_file_));
    }
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(client_ca_file_.c_str());
    if (names == nullptr) return fail(absl::StrCat("TLS client CA ", client_ca_file_));
    SSL_CTX_set_client_CA_list(ctx, names);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  }
  return ctx;
}

SSL_CTX* TlsServerContext::Current(int64_t now_ms) {
  if (now_ms < next_check_ms_) return ctx_;
  next_check_ms_ = now_ms + kReloadCheckMs;
  Stamps stamp = Stamp();
  if (stamp == stamp_) return ctx_;
  absl::StatusOr<SSL_CTX*> ctx = Build();
  if (!ctx.ok()) {
    // A half-written rotation (cert replaced, key not yet) also lands here;
    // the stamp is not updated, so the next check retries.
    if (!reload_failing_) LogWarn("http: keeping the previous TLS certificate: ", ctx.status().message());
    reload_failing_ = true;
    return ctx_;
  }
  reload_failing_ = false;
  stamp_ = stamp;
  SSL_CTX_free(ctx_);
  ctx_ = *ctx;
  ++reloads_;
  LogInfo("http: TLS certificate reloaded from ", cert_file_);
  return ctx_;
}

}  // namespace nodepulse::exporters::http_internal
