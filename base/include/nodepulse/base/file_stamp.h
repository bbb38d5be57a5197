// FileStamp: "has this credential file changed?" for the files nodepulse
// re-reads while running (bearer tokens, TLS certificates, keys and CAs).
//
// A stamp is what stat(2) says about a path: device, inode, size and mtime,
// or the errno of a failed stat. Kubernetes replaces mounted Secrets by
// swapping a symlink (new inode, possibly the same mtime); an editor or
// `kubectl cp` rewrites in place (same inode, new size or mtime). Comparing
// all four catches both. Two stamps of a file that did not change compare
// equal; a missing file has a stable stamp too (its errno), so a file that
// stays missing is not "changed" on every check.
//
// Thread-safety: a value type; Of() only calls stat(2).
#ifndef NODEPULSE_BASE_FILE_STAMP_H_
#define NODEPULSE_BASE_FILE_STAMP_H_

#include <sys/stat.h>
#include <sys/types.h>

#include <cstdint>
#include <string>

namespace nodepulse::base {

struct FileStamp {
  dev_t dev = 0;
  ino_t ino = 0;
  off_t size = -1;
  int64_t mtime_ns = 0;
  int error = 0;  // errno of the failed stat(2); 0 when the stat worked

  // Stats `path` (following symlinks). Never fails: a failed stat is a stamp
  // with `error` set.
  static FileStamp Of(const std::string& path);
  // The stamp of a stat(2) result the caller already has (and checks more
  // of, e.g. S_ISREG), so file and stamp come from the same look.
  static FileStamp FromStat(const struct stat& st);

  bool ok() const { return error == 0; }
  bool operator==(const FileStamp&) const = default;
};

}  // namespace nodepulse::base

#endif  // NODEPULSE_BASE_FILE_STAMP_H_
