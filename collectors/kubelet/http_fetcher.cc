#include "http_fetcher.h"

#include <curl/curl.h>

#include <algorithm>
#include <memory>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "nodepulse/base/curl.h"

namespace nodepulse::collectors::kubelet {
namespace {

KubeletError Classify(CURLcode code) {
  switch (code) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_GOT_NOTHING:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_PARTIAL_FILE:
      return KubeletError::kConnect;
    case CURLE_OPERATION_TIMEDOUT:
      return KubeletError::kTimeout;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_USE_SSL_FAILED:
      return KubeletError::kTls;
    case CURLE_FILESIZE_EXCEEDED:
      return KubeletError::kTooLarge;
    case CURLE_BAD_CONTENT_ENCODING:
      return KubeletError::kParse;
    default:
      return KubeletError::kOther;
  }
}

absl::Status StatusFor(KubeletError reason, std::string message) {
  switch (reason) {
    case KubeletError::kTimeout: return absl::DeadlineExceededError(message);
    case KubeletError::kHttp401: return absl::UnauthenticatedError(message);
    case KubeletError::kHttp403: return absl::PermissionDeniedError(message);
    case KubeletError::kHttp4xx: return absl::FailedPreconditionError(message);
    case KubeletError::kTooLarge: return absl::ResourceExhaustedError(message);
    case KubeletError::kOther: return absl::UnknownError(message);
    default: return absl::UnavailableError(message);
  }
}

// "Subject:" or "Issuer:" of the first (leaf) certificate curl lists.
std::string CertField(const curl_certinfo* info, std::string_view key) {
  if (info == nullptr || info->num_of_certs < 1) return {};
  for (const curl_slist* f = info->certinfo[0]; f != nullptr; f = f->next) {
    std::string_view line(f->data);
    if (line.size() > key.size() && line.substr(0, key.size()) == key && line[key.size()] == ':') {
      return std::string(line.substr(key.size() + 1));
    }
  }
  return {};
}

}  // namespace

HttpFetcher::HttpFetcher(const KubeletOptions& options) : options_(options) {}

HttpFetcher::~HttpFetcher() = default;

absl::StatusOr<std::unique_ptr<HttpFetcher>> HttpFetcher::Create(const KubeletOptions& options) {
  std::unique_ptr<HttpFetcher> f(new HttpFetcher(options));
  absl::StatusOr<base::CurlHandle> handle = base::NewCurlHandle({.timeout = options.timeout,
                                                                 .connect_timeout = options.timeout,
                                                                 .ca_file = options.ca_file,
                                                                 .insecure_skip_verify = options.insecure_skip_verify});
  if (!handle.ok()) return handle.status();
  f->curl_ = std::move(*handle);
  CURL* c = f->curl_.get();
  // Options that do not change between requests are set once; curl keeps
  // them across curl_easy_perform calls.
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https,http");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);  // a redirect would resend the token
  curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");  // gzip if the server offers it
  // The size cap is enforced twice: up front from Content-Length, and while
  // streaming (chunked or compressed bodies have no useful length).
  curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(options.max_response_bytes));
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &HttpFetcher::OnData);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, f.get());
  return f;
}

std::string HttpFetcher::DescribePeerCertificate(const std::string& url) const {
  // Verification off: the point is to describe a certificate that failed it.
  base::CurlOptions curl_options;
  curl_options.timeout = options_.timeout;
  curl_options.insecure_skip_verify = true;
  absl::StatusOr<base::CurlHandle> c = base::NewCurlHandle(curl_options);
  if (!c.ok()) return "its certificate could not be read (curl_easy_init failed)";
  curl_easy_setopt(c->get(), CURLOPT_URL, url.c_str());
  curl_easy_setopt(c->get(), CURLOPT_PROTOCOLS_STR, "https");
  // Handshake only: nothing is sent, so no token reaches an unverified peer.
  curl_easy_setopt(c->get(), CURLOPT_CONNECT_ONLY, 1L);
  curl_easy_setopt(c->get(), CURLOPT_CERTINFO, 1L);
  CURLcode code = curl_easy_perform(c->get());
  if (code != CURLE_OK) return absl::StrCat("its certificate could not be read (", curl_easy_strerror(code), ")");
  curl_certinfo* info = nullptr;
  curl_easy_getinfo(c->get(), CURLINFO_CERTINFO, &info);
  std::string subject = CertField(info, "Subject"), issuer = CertField(info, "Issuer");
  if (subject.empty() && issuer.empty()) return "its certificate could not be read (no certinfo)";
  return absl::StrCat("subject \"", subject, "\" issued by \"", issuer, "\"");
}

size_t HttpFetcher::OnData(char* data, size_t size, size_t n, void* self) {
  auto* f = static_cast<HttpFetcher*>(self);
  size_t bytes = size * n;
  if (f->sink_->size() + bytes > f->options_.max_response_bytes) {
    f->too_large_ = true;
    return 0;  // aborts the transfer with CURLE_WRITE_ERROR
  }
  f->sink_->append(data, bytes);
  return bytes;
}

absl::Status HttpFetcher::Get(const std::string& url, const std::string& token, std::string* body,
                              KubeletError* reason) {
  body->clear();
  sink_ = body;
  too_large_ = false;
  char error[CURL_ERROR_SIZE] = {0};
  base::CurlHeaders headers(curl_slist_append(nullptr, "Accept: application/json"));
  if (!token.empty()) {
    std::string auth = absl::StrCat("Authorization: Bearer ", token);
    headers.reset(curl_slist_append(headers.release(), auth.c_str()));
    // Overwrite our copy; curl keeps its own until curl_slist_free_all.
    std::fill(auth.begin(), auth.end(), '\0');
  }
  curl_easy_setopt(curl_.get(), CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl_.get(), CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(curl_.get(), CURLOPT_ERRORBUFFER, error);
  CURLcode code = curl_easy_perform(curl_.get());
  curl_easy_setopt(curl_.get(), CURLOPT_HTTPHEADER, nullptr);
  curl_easy_setopt(curl_.get(), CURLOPT_ERRORBUFFER, nullptr);
  headers.reset();
  sink_ = nullptr;

  long connects = 0;
  if (curl_easy_getinfo(curl_.get(), CURLINFO_NUM_CONNECTS, &connects) == CURLE_OK && connects > 0) {
    connections_ += static_cast<uint64_t>(connects);
  }
  if (code != CURLE_OK) {
    *reason = too_large_ ? KubeletError::kTooLarge : Classify(code);
    body->clear();
    std::string detail = base::CurlErrorText(code, error);
    if (*reason == KubeletError::kTooLarge) {
      detail = absl::StrCat("response over ", options_.max_response_bytes, " bytes",
                            too_large_ ? "" : " (by Content-Length)");
    }
    return StatusFor(*reason, absl::StrCat("GET ", url, ": ", detail));
  }
  long http = 0;
  curl_easy_getinfo(curl_.get(), CURLINFO_RESPONSE_CODE, &http);
  if (http >= 200 && http < 300) return absl::OkStatus();
  if (http == 401) *reason = KubeletError::kHttp401;
  else if (http == 403) *reason = KubeletError::kHttp403;
  else if (http >= 500) *reason = KubeletError::kHttp5xx;
  else *reason = KubeletError::kHttp4xx;
  body->clear();
  return StatusFor(*reason, absl::StrCat("GET ", url, ": HTTP ", http));
}

}  // namespace nodepulse::collectors::kubelet
