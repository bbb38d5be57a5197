// The physical floor of collection, shared by collectors_bench (the floor in
// the same Google Benchmark run) and floor_reader (the floor of the
// end-to-end bench, bench/e2e/run.sh): one pread(2) from offset 0 of every
// file the collectors keep open, into one reused buffer, per cycle - no
// parsing, no pipeline, no allocation.
//
// Header-only: bench/ has no library of its own, and both users are single
// binaries. Not thread-safe: call from one thread.
#ifndef NODEPULSE_BENCH_FLOOR_H_
#define NODEPULSE_BENCH_FLOOR_H_

#include <dirent.h>
#include <stdlib.h>
#include <sys/types.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace nodepulse::bench {

// One open descriptor of this process and what it points at.
struct OpenFd {
  int fd;
  std::string target;  // readlink of /proc/self/fd/<fd>: a path, "pipe:[..]", ...
};

// Every open descriptor of this process whose target is a path (starts with
// '/'): pipes, sockets and anonymous inodes are left out. The fd used to
// list /proc/self/fd itself is gone by the time the list is returned, so it
// is dropped too.
inline std::vector<OpenFd> OpenPathFds() {
  std::vector<OpenFd> out;
  DIR* d = opendir("/proc/self/fd");
  if (d == nullptr) return out;
  const int own = dirfd(d);
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] == '.') continue;
    const int fd = atoi(e->d_name);
    if (fd == own) continue;
    char target[4096];
    std::string link = std::string("/proc/self/fd/") + e->d_name;
    ssize_t n = readlink(link.c_str(), target, sizeof(target) - 1);
    if (n <= 0 || target[0] != '/') continue;
    out.push_back({fd, std::string(target, static_cast<size_t>(n))});
  }
  closedir(d);
  return out;
}

// Descriptors of OpenPathFds() whose target starts with `prefix`.
inline std::vector<int> OpenFdsUnder(const std::string& prefix) {
  std::vector<int> out;
  for (const OpenFd& f : OpenPathFds()) {
    if (f.target.compare(0, prefix.size(), prefix) == 0) out.push_back(f.fd);
  }
  return out;
}

// The floor itself: pread every fd from offset 0 into `buf`. Returns the
// bytes read; a failed read (the cgroup went away) counts 0 and is not an
// error here, as in the collectors.
inline uint64_t PreadAll(const std::vector<int>& fds, char* buf, size_t size) {
  uint64_t bytes = 0;
  for (int fd : fds) {
    ssize_t n = pread(fd, buf, size, 0);
    bytes += n > 0 ? static_cast<uint64_t>(n) : 0;
  }
  return bytes;
}

}  // namespace nodepulse::bench

#endif  // NODEPULSE_BENCH_FLOOR_H_
