#include "cgroup_watch.h"

#include <errno.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"

namespace nodepulse::collectors::cgroup_internal {

absl::StatusOr<DirWatch> DirWatch::Create() {
  const int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) {
    return absl::UnavailableError(absl::StrCat("inotify_init1: ", strerror(errno)));
  }
  return DirWatch(Fd(fd));
}

bool DirWatch::Add(const std::string& dir) {
  if (!usable_) return false;
  // IN_ONLYDIR: a path that is no longer a directory is not watched.
  // IN_MOVED_*: a rename is a create/remove to discovery.
  const uint32_t mask = IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_ONLYDIR;
  if (::inotify_add_watch(fd_.get(), dir.c_str(), mask) >= 0) return true;
  const int err = errno;
  // Gone while walking: nothing to watch, and its removal is an event on
  // the parent anyway.
  if (err == ENOENT || err == ENOTDIR) return true;
  usable_ = false;
  error_ = absl::StrCat("inotify_add_watch ", dir, ": ", strerror(err));
  return false;
}

void DrainInotify(int fd, absl::FunctionRef<void(const struct inotify_event&)> fn) {
  alignas(struct inotify_event) char buf[16 * 1024];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // EAGAIN: drained
    for (ssize_t off = 0; off < n;) {
      const auto* e = reinterpret_cast<const struct inotify_event*>(buf + off);
      fn(*e);
      off += static_cast<ssize_t>(sizeof(struct inotify_event) + e->len);
    }
  }
}

bool DirWatch::Changed() {
  bool changed = false;
  DrainInotify(fd_.get(), [&](const struct inotify_event& e) {
    // Only directories are cgroups; control files are created by the
    // kernel without events, but a plain filesystem (tests, fixtures)
    // raises them for files too. IN_IGNORED (a watched directory went
    // away) and IN_Q_OVERFLOW (events were lost) both call for a walk.
    if ((e.mask & IN_ISDIR) != 0 || (e.mask & (IN_IGNORED | IN_Q_OVERFLOW)) != 0) {
      changed = true;
    }
  });
  return changed;
}

}  // namespace nodepulse::collectors::cgroup_internal
