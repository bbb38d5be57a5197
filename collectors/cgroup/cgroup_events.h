// EventsWatch: reads a notify file (memory.events, memory.swap.events; see
// cgroup_files.h) the moment the kernel reports that it changed.
//
// Why a thread: an OOM kill ends the container's last process, and the
// runtime removes its cgroup milliseconds later. A read at the next cycle
// (up to --interval later) finds the cgroup gone and the kill is lost, as it
// is in collectors that poll (netdata notes this for oom_kill). The kernel
// raises IN_MODIFY on these files when a counter moves (cgroup_file_notify),
// so a thread blocked on the inotify fd reads the file right away and hands
// the text to the collection thread, which applies it at its next cycle.
//
// Thread-safety: Add/Remove/Take are for the collection thread; the watch's
// own thread only reads files and appends captures under a mutex.
#ifndef NODEPULSE_COLLECTORS_CGROUP_CGROUP_EVENTS_H_
#define NODEPULSE_COLLECTORS_CGROUP_CGROUP_EVENTS_H_

#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "cgroup_file.h"

namespace nodepulse::collectors::cgroup_internal {

class EventsWatch {
 public:
  // Unavailable when inotify or eventfd is (no fds left): the files are then
  // read at their cadence only.
  static absl::StatusOr<std::unique_ptr<EventsWatch>> Start();
  ~EventsWatch();
  EventsWatch(const EventsWatch&) = delete;
  EventsWatch& operator=(const EventsWatch&) = delete;

  // Watches `path` for changes; `key` comes back with each capture. Returns
  // the watch descriptor, or -errno (ENOSPC: fs.inotify.max_user_watches).
  int Add(const std::string& path, uint64_t key);
  // Stops watching (the cgroup is dropped). A wd the kernel already removed
  // (its file is gone) is fine.
  void Remove(int wd);

  struct Capture {
    uint64_t key;
    std::string text;
  };
  // Moves the captures made since the last call into *out: the newest text
  // of each file that changed.
  void Take(std::vector<Capture>* out);

  uint64_t captures() const;  // total, for tests and self-metrics

 private:
  EventsWatch(Fd inotify, Fd stop);
  void Run();
  void ReadChanged(const std::vector<int>& wds);

  Fd inotify_;
  Fd stop_;  // eventfd: the destructor wakes the thread with it
  mutable absl::Mutex mu_;
  struct Watched {
    std::string path;
    uint64_t key;
  };
  absl::flat_hash_map<int, Watched> watched_ ABSL_GUARDED_BY(mu_);
  std::vector<Capture> pending_ ABSL_GUARDED_BY(mu_);
  uint64_t captures_ ABSL_GUARDED_BY(mu_) = 0;
  std::thread thread_;
};

}  // namespace nodepulse::collectors::cgroup_internal

#endif  // NODEPULSE_COLLECTORS_CGROUP_CGROUP_EVENTS_H_
