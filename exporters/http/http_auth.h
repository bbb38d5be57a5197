// BearerAuth: the bearer token an HttpServer requires (--auth-token-file).
//
// Only the SHA-256 of the token is kept in memory. A presented token is hashed
// and the two digests are compared with CRYPTO_memcmp, so the time taken does
// not depend on how many leading bytes match nor on the token's length (both
// sides are always 32 bytes). The token is never logged; errors name only the
// file.
//
// The file is re-read when its inode, size or mtime change, checked at most
// once a second on a request: Kubernetes updates a mounted Secret by swapping
// a symlink, which stat() (following links) sees as a new inode. A reload that
// fails (file gone, empty) keeps the previous token and logs a warning once.
//
// Thread-safety: not thread-safe; HttpServer uses it only on its event loop.
#ifndef NODEPULSE_EXPORTERS_HTTP_AUTH_H_
#define NODEPULSE_EXPORTERS_HTTP_AUTH_H_

#include <sys/types.h>

#include <array>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "nodepulse/base/file_stamp.h"

namespace nodepulse::exporters::http_internal {

using Digest = std::array<unsigned char, 32>;

// SHA-256 of `data`.
Digest Sha256(absl::string_view data);

// Constant-time: SHA-256 of `presented` compared with `expected`.
bool TokenMatches(const Digest& expected, absl::string_view presented);

// The token in an Authorization header value ("Bearer <token>", scheme
// case-insensitive per RFC 7235); empty when the header has another scheme.
absl::string_view BearerToken(absl::string_view authorization);

class BearerAuth {
 public:
  // Reads the token file. InvalidArgument when it cannot be read, is empty
  // after trimming whitespace, is longer than 4096 bytes or contains
  // whitespace or control characters (it must fit in one header).
  static absl::StatusOr<std::unique_ptr<BearerAuth>> Load(std::string path);

  enum class Result { kOk, kMissing, kWrong };
  // Checks one request's Authorization header value (empty when absent).
  // now_ms: a monotonic clock, for the reload check.
  Result Check(absl::string_view authorization, int64_t now_ms);

  uint64_t reloads() const { return reloads_; }

 private:
  using Stamp = base::FileStamp;
  explicit BearerAuth(std::string path) : path_(std::move(path)) {}
  absl::Status Read(Stamp* stamp, Digest* digest) const;
  void MaybeReload(int64_t now_ms);

  std::string path_;
  Digest digest_{};
  Stamp stamp_;
  int64_t next_check_ms_ = 0;
  bool reload_failing_ = false;  // logs a failed reload once
  uint64_t reloads_ = 0;
};

}  // namespace nodepulse::exporters::http_internal

#endif  // NODEPULSE_EXPORTERS_HTTP_AUTH_H_
