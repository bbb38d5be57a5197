// File access for the cgroup collector: an owning fd, whole-file pread into a
// reused buffer (the per-cycle path), and open-read-close for files read only
// at discovery (mountinfo, diskstats, spec files).
#ifndef NODEPULSE_COLLECTORS_CGROUP_CGROUP_FILE_H_
#define NODEPULSE_COLLECTORS_CGROUP_CGROUP_FILE_H_

#include <errno.h>
#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace nodepulse::collectors::cgroup_internal {

// Owns one file descriptor; move-only.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  Fd& operator=(Fd&& other) noexcept;
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd();

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

// open(O_RDONLY|O_CLOEXEC); invalid Fd on failure with errno set.
Fd OpenReadOnly(const std::string& path);

// Reads the whole file from offset 0 into *buf (starting at buf->data()) and
// returns its length, or -errno. cgroup files are generated on each read, so
// one pread from 0 returns a consistent snapshot; the buffer is grown (rare,
// e.g. the root's cgroup.procs) only when a read fills it.
ssize_t PreadAll(int fd, std::vector<char>* buf);

// True for the errors a removed cgroup's open file returns: ENODEV on v1 and
// v2 control files after rmdir (seen on 5.x and 6.x), ENOENT on some paths.
inline bool IsGoneErrno(int err) { return err == ENODEV || err == ENOENT; }

// Whole small file; NotFound for a missing file, other errors with the path.
absl::StatusOr<std::string> ReadFileToString(const std::string& path);

bool IsDirectory(const std::string& path);
bool FileExists(const std::string& path);

}  // namespace nodepulse::collectors::cgroup_internal

#endif  // NODEPULSE_COLLECTORS_CGROUP_CGROUP_FILE_H_
