#include "cgroup_events.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "cgroup_watch.h"
#include "nodepulse/base/mutex.h"

namespace nodepulse::collectors::cgroup_internal {

absl::StatusOr<std::unique_ptr<EventsWatch>> EventsWatch::Start() {
  Fd inotify(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
  if (!inotify.valid()) {
    return absl::UnavailableError(absl::StrCat("inotify_init1: ", strerror(errno)));
  }
  Fd stop(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!stop.valid()) return absl::UnavailableError(absl::StrCat("eventfd: ", strerror(errno)));
  return std::unique_ptr<EventsWatch>(new EventsWatch(std::move(inotify), std::move(stop)));
}

EventsWatch::EventsWatch(Fd inotify, Fd stop)
    : inotify_(std::move(inotify)), stop_(std::move(stop)) {
  thread_ = std::thread([this] { Run(); });
}

EventsWatch::~EventsWatch() {
  const uint64_t one = 1;
  // A failed write leaves the thread blocked and join() hanging; eventfd
  // writes of 1 only fail on counter overflow, which one write cannot cause.
  (void)!::write(stop_.get(), &one, sizeof(one));
  thread_.join();
}

int EventsWatch::Add(const std::string& path, uint64_t key) {
  const int wd = ::inotify_add_watch(inotify_.get(), path.c_str(), IN_MODIFY);
  if (wd < 0) return -errno;
  base::MutexLock lock(&mu_);
  watched_[wd] = Watched{path, key};
  return wd;
}

void EventsWatch::Remove(int wd) {
  if (wd < 0) return;
  ::inotify_rm_watch(inotify_.get(), wd);  // EINVAL when the kernel removed it already
  base::MutexLock lock(&mu_);
  watched_.erase(wd);
}

void EventsWatch::Take(std::vector<Capture>* out) {
  base::MutexLock lock(&mu_);
  for (Capture& c : pending_) out->push_back(std::move(c));
  pending_.clear();
}

uint64_t EventsWatch::captures() const {
  base::MutexLock lock(&mu_);
  return captures_;
}

void EventsWatch::Run() {
  std::vector<int> changed;
  for (;;) {
    pollfd fds[2] = {{inotify_.get(), POLLIN, 0}, {stop_.get(), POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents != 0) return;
    changed.clear();
    DrainInotify(inotify_.get(), [&](const struct inotify_event& e) {
      if ((e.mask & IN_MODIFY) != 0) changed.push_back(e.wd);
      if ((e.mask & IN_IGNORED) != 0) {
        base::MutexLock lock(&mu_);
        watched_.erase(e.wd);  // the file is gone
      }
    });
    // A burst of memory.high events modifies the file many times: read once.
    std::sort(changed.begin(), changed.end());
    changed.erase(std::unique(changed.begin(), changed.end()), changed.end());
    ReadChanged(changed);
  }
}

void EventsWatch::ReadChanged(const std::vector<int>& wds) {
  for (int wd : wds) {
    Watched w;
    {
      base::MutexLock lock(&mu_);
      auto it = watched_.find(wd);
      if (it == watched_.end()) continue;
      w = it->second;
    }
    // Gone already (removed faster than we woke): nothing to capture; the
    // collector keeps the last values it read.
    absl::StatusOr<std::string> text = ReadFileToString(w.path);
    if (!text.ok()) continue;
    base::MutexLock lock(&mu_);
    ++captures_;
    // Only the newest text of a file matters (counters only grow): at most
    // one pending capture per file however often it changes between cycles.
    auto same = std::find_if(pending_.begin(), pending_.end(),
                             [&](const Capture& c) { return c.key == w.key; });
    if (same != pending_.end()) {
      same->text = *std::move(text);
    } else {
      pending_.push_back(Capture{w.key, *std::move(text)});
    }
  }
}

}  // namespace nodepulse::collectors::cgroup_internal
