// RemoteWriteClient: POSTs remote-write bodies to one URL over one libcurl
// easy handle, so the TCP/TLS connection is kept alive between requests.
//
// curl_global_init() must have been called (once, in main, before threads
// start; tests call it once too). The bearer token is read from its file and
// re-read when the file changes (base::FileStamp: inode, size or mtime) (Kubernetes rotates projected
// service-account tokens); it is never logged, and only the redacted URL
// (no userinfo, no query) appears in messages.
//
// Thread-safety: one thread at a time per client; Post() may be aborted from
// another thread through the `abort` flag.
#ifndef NODEPULSE_EXPORTERS_REMOTE_WRITE_CLIENT_H_
#define NODEPULSE_EXPORTERS_REMOTE_WRITE_CLIENT_H_

#include <atomic>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "nodepulse/base/curl.h"
#include "nodepulse/base/file_stamp.h"


namespace nodepulse::exporters {

// scheme://host[:port]/path, without user:password@ or ?query.
std::string RedactUrl(absl::string_view url);

// Retry-After as delta-seconds or an HTTP-date; nullopt-like -1s if absent
// or unparsable.
absl::Duration ParseRetryAfter(absl::string_view value, absl::Time now);

struct PostResult {
  int http_code = 0;  // 0: no HTTP response (connect error, timeout, abort)
  absl::Duration retry_after = absl::Seconds(-1);  // < 0: none given
  std::string error;  // transport error or the first bytes of the body
  bool aborted = false;
};

class RemoteWriteClient {
 public:
  struct Options {
    std::string url;
    std::string bearer_token_file;
    std::string ca_file;
    absl::Duration timeout = absl::Seconds(30);
    std::string user_agent = "nodepulse";
  };
  static absl::StatusOr<std::unique_ptr<RemoteWriteClient>> Create(Options options);
  ~RemoteWriteClient();
  RemoteWriteClient(const RemoteWriteClient&) = delete;
  RemoteWriteClient& operator=(const RemoteWriteClient&) = delete;

  // One POST of a snappy-compressed WriteRequest.
  PostResult Post(absl::string_view body, const std::atomic<bool>* abort);

  const std::string& redacted_url() const { return redacted_; }

 private:
  explicit RemoteWriteClient(Options options);
  absl::Status RefreshHeaders();
  static size_t OnHeader(char* data, size_t size, size_t n, void* self);
  static size_t OnBody(char* data, size_t size, size_t n, void* self);
  static int OnProgress(void* self, long long, long long, long long, long long);

  Options options_;
  std::string redacted_;
  base::CurlHandle curl_;
  base::CurlHeaders headers_;
  base::FileStamp token_stamp_;  // of the token file headers_ were built from
  bool have_token_ = false;
  char error_buf_[256] = {0};
  // Per-request state filled by the callbacks.
  std::string retry_after_header_;
  std::string body_prefix_;
  const std::atomic<bool>* abort_ = nullptr;
};

}  // namespace nodepulse::exporters

#endif  // NODEPULSE_EXPORTERS_REMOTE_WRITE_CLIENT_H_
