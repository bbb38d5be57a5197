#include "proc_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

#include "absl/strings/str_cat.h"

namespace nodepulse::collectors::procfs {
namespace {
constexpr size_t kInitialBuffer = 4096;
}  // namespace

absl::StatusOr<ProcFile> ProcFile::Open(std::string path) {
  int fd;
  do {
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) {
    int err = errno;
    return absl::ErrnoToStatus(err, absl::StrCat("open ", path));
  }
  return ProcFile(fd, std::move(path));
}

ProcFile::ProcFile(int fd, std::string path)
    : fd_(fd), path_(std::move(path)), buf_(new char[kInitialBuffer]), capacity_(kInitialBuffer) {}

ProcFile::ProcFile(ProcFile&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      path_(std::move(other.path_)),
      buf_(std::move(other.buf_)),
      capacity_(std::exchange(other.capacity_, 0)) {}

ProcFile& ProcFile::operator=(ProcFile&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    path_ = std::move(other.path_);
    buf_ = std::move(other.buf_);
    capacity_ = std::exchange(other.capacity_, 0);
  }
  return *this;
}

ProcFile::~ProcFile() {
  if (fd_ >= 0) ::close(fd_);
}

absl::StatusOr<std::string_view> ProcFile::Read() {
  if (fd_ < 0) return absl::FailedPreconditionError(absl::StrCat(path_, " is not open"));
  for (;;) {
    ssize_t n = ::pread(fd_, buf_.get(), capacity_, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      return absl::ErrnoToStatus(err, absl::StrCat("pread ", path_));
    }
    // A read that fills the buffer may have been cut short: grow and re-read
    // from offset 0 so the parser always sees one consistent snapshot rather
    // than two reads stitched together.
    if (static_cast<size_t>(n) < capacity_) {
      return std::string_view(buf_.get(), static_cast<size_t>(n));
    }
    if (capacity_ >= kMaxBuffer) {
      return absl::ResourceExhaustedError(
          absl::StrCat(path_, " is larger than ", kMaxBuffer, " bytes"));
    }
    capacity_ *= 2;
    buf_.reset(new char[capacity_]);
  }
}

}  // namespace nodepulse::collectors::procfs
