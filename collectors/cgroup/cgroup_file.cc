#include "cgroup_file.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace nodepulse::collectors::cgroup_internal {

Fd& Fd::operator=(Fd&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

Fd::~Fd() {
  if (fd_ >= 0) ::close(fd_);
}

Fd OpenReadOnly(const std::string& path) {
  int fd;
  do {
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  return Fd(fd);
}

ssize_t PreadAll(int fd, std::vector<char>* buf) {
  if (buf->empty()) buf->resize(4096);
  size_t len = 0;
  for (;;) {
    ssize_t n = ::pread(fd, buf->data() + len, buf->size() - len, static_cast<off_t>(len));
    if (n < 0) {
      if (errno == EINTR) continue;
      return -errno;
    }
    len += static_cast<size_t>(n);
    if (n == 0 || len < buf->size()) return static_cast<ssize_t>(len);
    buf->resize(buf->size() * 2);
  }
}

absl::StatusOr<std::string> ReadFileToString(const std::string& path) {
  Fd fd = OpenReadOnly(path);
  if (!fd.valid()) {
    int err = errno;
    if (err == ENOENT) return absl::NotFoundError(absl::StrCat(path, ": not found"));
    return absl::UnavailableError(absl::StrCat("open ", path, ": ", strerror(err)));
  }
  std::vector<char> buf(4096);
  ssize_t n = PreadAll(fd.get(), &buf);
  if (n < 0) {
    if (IsGoneErrno(static_cast<int>(-n))) {
      return absl::NotFoundError(absl::StrCat(path, ": gone"));
    }
    return absl::UnavailableError(
        absl::StrCat("read ", path, ": ", strerror(static_cast<int>(-n))));
  }
  return std::string(buf.data(), static_cast<size_t>(n));
}

bool IsDirectory(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool FileExists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

}  // namespace nodepulse::collectors::cgroup_internal
