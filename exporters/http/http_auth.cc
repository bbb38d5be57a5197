#include "http_auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "nodepulse/base/log.h"

namespace nodepulse::exporters::http_internal {

namespace {
constexpr size_t kMaxTokenBytes = 4096;
constexpr int64_t kReloadCheckMs = 1000;
}  // namespace

Digest Sha256(absl::string_view data) {
  Digest d{};
  unsigned int len = 0;
  // EVP_Digest cannot fail for SHA-256 on in-memory input short of OOM; a
  // zero digest then simply matches nothing a client could send.
  EVP_Digest(data.data(), data.size(), d.data(), &len, EVP_sha256(), nullptr);
  return d;
}

bool TokenMatches(const Digest& expected, absl::string_view presented) {
  Digest got = Sha256(presented);
  return CRYPTO_memcmp(expected.data(), got.data(), got.size()) == 0;
}

absl::string_view BearerToken(absl::string_view authorization) {
  absl::string_view v = absl::StripAsciiWhitespace(authorization);
  constexpr absl::string_view kScheme = "bearer";
  if (v.size() <= kScheme.size() || !absl::EqualsIgnoreCase(v.substr(0, kScheme.size()), kScheme) ||
      (v[kScheme.size()] != ' ' && v[kScheme.size()] != '\t')) {
    return {};
  }
  return absl::StripLeadingAsciiWhitespace(v.substr(kScheme.size()));
}

absl::StatusOr<std::unique_ptr<BearerAuth>> BearerAuth::Load(std::string path) {
  std::unique_ptr<BearerAuth> auth(new BearerAuth(std::move(path)));
  if (absl::Status s = auth->Read(&auth->stamp_, &auth->digest_); !s.ok()) return s;
  return auth;
}

absl::Status BearerAuth::Read(Stamp* stamp, Digest* digest) const {
  struct stat st;
  if (::stat(path_.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return absl::InvalidArgumentError(absl::StrCat("auth token file ", path_, ": not a readable file"));
  }
  if (st.st_size > static_cast<off_t>(kMaxTokenBytes + 64)) {
    return absl::InvalidArgumentError(
        absl::StrCat("auth token file ", path_, ": larger than ", kMaxTokenBytes, " bytes"));
  }
  std::ifstream in(path_, std::ios::binary);
  if (!in) {
    return absl::InvalidArgumentError(absl::StrCat("auth token file ", path_, ": cannot open"));
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  std::string raw = ss.str();
  absl::string_view token = absl::StripAsciiWhitespace(raw);
  if (token.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("auth token file ", path_, ": empty"));
  }
  if (token.size() > kMaxTokenBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("auth token file ", path_, ": token longer than ", kMaxTokenBytes, " bytes"));
  }
  for (char c : token) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f) {
      return absl::InvalidArgumentError(absl::StrCat(
          "auth token file ", path_, ": token contains whitespace or control characters"));
    }
  }
  *digest = Sha256(token);
  // Overwrite the plaintext copy so it does not linger in freed heap memory.
  OPENSSL_cleanse(raw.data(), raw.size());
  *stamp = Stamp::FromStat(st);
  return absl::OkStatus();
}

void BearerAuth::MaybeReload(int64_t now_ms) {
  if (now_ms < next_check_ms_) return;
  next_check_ms_ = now_ms + kReloadCheckMs;
  if (Stamp now_stamp = Stamp::Of(path_); now_stamp.ok() && now_stamp == stamp_) return;
  Stamp stamp;
  Digest digest;
  if (absl::Status s = Read(&stamp, &digest); !s.ok()) {
    if (!reload_failing_) LogWarn("http: keeping the previous auth token: ", s.message());
    reload_failing_ = true;
    return;
  }
  reload_failing_ = false;
  stamp_ = stamp;
  if (CRYPTO_memcmp(digest.data(), digest_.data(), digest.size()) != 0) {
    digest_ = digest;
    ++reloads_;
    LogInfo("http: auth token reloaded from ", path_);
  }
}

BearerAuth::Result BearerAuth::Check(absl::string_view authorization, int64_t now_ms) {
  MaybeReload(now_ms);
  absl::string_view token = BearerToken(authorization);
  if (token.empty()) return Result::kMissing;
  return TokenMatches(digest_, token) ? Result::kOk : Result::kWrong;
}

}  // namespace nodepulse::exporters::http_internal
