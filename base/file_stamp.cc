#include "nodepulse/base/file_stamp.h"

#include <sys/stat.h>

#include <cerrno>

namespace nodepulse::base {

FileStamp FileStamp::Of(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    FileStamp s;
    s.error = errno;
    return s;
  }
  return FromStat(st);
}

FileStamp FileStamp::FromStat(const struct stat& st) {
  FileStamp s;
  s.dev = st.st_dev;
  s.ino = st.st_ino;
  s.size = st.st_size;
  s.mtime_ns = int64_t{st.st_mtim.tv_sec} * 1'000'000'000 + st.st_mtim.tv_nsec;
  return s;
}

}  // namespace nodepulse::base
