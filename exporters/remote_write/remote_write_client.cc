#include "remote_write_client.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace nodepulse::exporters {

std::string RedactUrl(absl::string_view url) {
  size_t scheme = url.find("://");
  size_t host_start = scheme == absl::string_view::npos ? 0 : scheme + 3;
  size_t q = url.find_first_of("?#", host_start);
  absl::string_view no_query = url.substr(0, q);
  size_t path = no_query.find('/', host_start);
  absl::string_view authority = no_query.substr(host_start, path == absl::string_view::npos ? absl::string_view::npos : path - host_start);
  size_t at = authority.rfind('@');
  if (at == absl::string_view::npos) return std::string(no_query);
  return absl::StrCat(no_query.substr(0, host_start), authority.substr(at + 1),
                      path == absl::string_view::npos ? "" : no_query.substr(path));
}

absl::Duration ParseRetryAfter(absl::string_view value, absl::Time now) {
  value = absl::StripAsciiWhitespace(value);
  if (value.empty()) return absl::Seconds(-1);
  int64_t secs;
  if (absl::SimpleAtoi(value, &secs)) return secs >= 0 ? absl::Seconds(secs) : absl::Seconds(-1);
  std::string v(value);
  time_t t = curl_getdate(v.c_str(), nullptr);
  if (t < 0) return absl::Seconds(-1);
  return std::max(absl::ZeroDuration(), absl::FromTimeT(t) - now);
}

RemoteWriteClient::RemoteWriteClient(Options options)
    : options_(std::move(options)), redacted_(RedactUrl(options_.url)) {}

RemoteWriteClient::~RemoteWriteClient() = default;

absl::StatusOr<std::unique_ptr<RemoteWriteClient>> RemoteWriteClient::Create(Options options) {
  if (!absl::StartsWith(options.url, "http://") && !absl::StartsWith(options.url, "https://")) {
    return absl::InvalidArgumentError(
        absl::StrCat("remote_write: URL '", RedactUrl(options.url), "' must start with http:// or https://"));
  }
  if (!options.ca_file.empty() && ::access(options.ca_file.c_str(), R_OK) != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("remote_write: CA file ", options.ca_file, ": ", strerror(errno)));
  }
  std::unique_ptr<RemoteWriteClient> c(new RemoteWriteClient(std::move(options)));
  base::CurlOptions curl_options;
  curl_options.timeout = c->options_.timeout;
  curl_options.connect_timeout = std::min(absl::Seconds(10), c->options_.timeout);
  curl_options.ca_file = c->options_.ca_file;
  absl::StatusOr<base::CurlHandle> handle = base::NewCurlHandle(curl_options);
  if (!handle.ok()) return absl::InternalError(absl::StrCat("remote_write: ", handle.status().message()));
  c->curl_ = std::move(*handle);
  CURL* h = c->curl_.get();
  if (absl::Status st = c->RefreshHeaders(); !st.ok()) return st;
  curl_easy_setopt(h, CURLOPT_URL, c->options_.url.c_str());
  curl_easy_setopt(h, CURLOPT_POST, 1L);
  curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(h, CURLOPT_USERAGENT, c->options_.user_agent.c_str());
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, c->error_buf_);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, &RemoteWriteClient::OnHeader);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, c.get());
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &RemoteWriteClient::OnBody);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, c.get());
  curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, &RemoteWriteClient::OnProgress);
  curl_easy_setopt(h, CURLOPT_XFERINFODATA, c.get());
  // Never follow redirects with a bearer token attached.
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  return c;
}

absl::Status RemoteWriteClient::RefreshHeaders() {
  std::string token;
  if (!options_.bearer_token_file.empty()) {
    const base::FileStamp stamp = base::FileStamp::Of(options_.bearer_token_file);
    if (!stamp.ok()) {
      return absl::UnavailableError(
          absl::StrCat("remote_write: bearer token file ", options_.bearer_token_file, ": ", strerror(stamp.error)));
    }
    if (have_token_ && stamp == token_stamp_) return absl::OkStatus();
    int fd = ::open(options_.bearer_token_file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      return absl::UnavailableError(
          absl::StrCat("remote_write: bearer token file ", options_.bearer_token_file, ": ", strerror(errno)));
    }
    char buf[16384];
    ssize_t n = ::read(fd, buf, sizeof(buf));
    ::close(fd);
    if (n < 0) {
      return absl::UnavailableError(absl::StrCat("remote_write: reading ", options_.bearer_token_file));
    }
    token.assign(buf, static_cast<size_t>(n));
    absl::StripAsciiWhitespace(&token);
    if (token.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("remote_write: bearer token file ", options_.bearer_token_file, " is empty"));
    }
    token_stamp_ = stamp;
  } else if (headers_) {
    return absl::OkStatus();
  }
  have_token_ = true;
  curl_slist* h = nullptr;
  h = curl_slist_append(h, "Content-Encoding: snappy");
  h = curl_slist_append(h, "Content-Type: application/x-protobuf");
  h = curl_slist_append(h, "X-Prometheus-Remote-Write-Version: 0.1.0");
  // curl would otherwise wait for "100 Continue" before large bodies.
  h = curl_slist_append(h, "Expect:");
  if (!token.empty()) {
    std::string auth = absl::StrCat("Authorization: Bearer ", token);
    h = curl_slist_append(h, auth.c_str());
    std::fill(auth.begin(), auth.end(), '\0');
  }
  std::fill(token.begin(), token.end(), '\0');
  if (h == nullptr) return absl::ResourceExhaustedError("remote_write: curl_slist_append failed");
  curl_easy_setopt(curl_.get(), CURLOPT_HTTPHEADER, h);
  headers_.reset(h);
  return absl::OkStatus();
}

size_t RemoteWriteClient::OnHeader(char* data, size_t size, size_t n, void* self) {
  auto* c = static_cast<RemoteWriteClient*>(self);
  absl::string_view line(data, size * n);
  if (absl::StartsWithIgnoreCase(line, "retry-after:")) {
    c->retry_after_header_ = std::string(absl::StripAsciiWhitespace(line.substr(12)));
  } else if (absl::StartsWith(line, "HTTP/")) {
    // A new response (e.g. after a 100 Continue): forget the previous one's.
    c->retry_after_header_.clear();
  }
  return size * n;
}

size_t RemoteWriteClient::OnBody(char* data, size_t size, size_t n, void* self) {
  auto* c = static_cast<RemoteWriteClient*>(self);
  const size_t room = c->body_prefix_.size() < 512 ? 512 - c->body_prefix_.size() : 0;
  c->body_prefix_.append(data, std::min(room, size * n));
  return size * n;
}

int RemoteWriteClient::OnProgress(void* self, long long, long long, long long, long long) {
  auto* c = static_cast<RemoteWriteClient*>(self);
  return c->abort_ != nullptr && c->abort_->load(std::memory_order_relaxed) ? 1 : 0;
}

PostResult RemoteWriteClient::Post(absl::string_view body, const std::atomic<bool>* abort) {
  PostResult r;
  if (absl::Status st = RefreshHeaders(); !st.ok()) {
    // Keep the previous token if there was one; a rotation in progress can
    // briefly leave the file missing.
    if (!headers_) {
      r.error = std::string(st.message());
      return r;
    }
  }
  CURL* h = curl_.get();
  retry_after_header_.clear();
  body_prefix_.clear();
  error_buf_[0] = '\0';
  abort_ = abort;
  curl_easy_setopt(h, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  CURLcode rc = curl_easy_perform(h);
  abort_ = nullptr;
  if (rc != CURLE_OK) {
    r.aborted = rc == CURLE_ABORTED_BY_CALLBACK;
    r.error = absl::StrCat(curl_easy_strerror(rc), error_buf_[0] ? ": " : "", error_buf_);
    return r;
  }
  long code = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
  r.http_code = static_cast<int>(code);
  r.retry_after = ParseRetryAfter(retry_after_header_, absl::Now());
  if (code / 100 != 2) r.error = std::string(absl::StripAsciiWhitespace(body_prefix_));
  return r;
}

}  // namespace nodepulse::exporters
