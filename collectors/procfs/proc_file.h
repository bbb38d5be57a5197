// ProcFile: one /proc file opened once and re-read every cycle with
// pread(fd, buf, n, 0) into a buffer it keeps, so a steady-state read is one
// syscall and no allocation.
//
// Why pread at offset 0 instead of lseek+read or reopening: open(2) costs a
// path walk and an fd per cycle; pread is a single syscall that seq_file
// (every file we read) answers with a fresh snapshot of the whole file when
// the buffer is large enough. The buffer starts at 4 KiB and doubles when a
// read fills it (a big machine's /proc/stat is over 100 KiB because of the
// intr line), so it settles after the first cycle.
//
// Ownership: owns the fd (closed in the destructor) and the buffer; movable,
// not copyable. Thread-safety: none; the collection thread owns it.
#ifndef NODEPULSE_COLLECTORS_PROCFS_PROC_FILE_H_
#define NODEPULSE_COLLECTORS_PROCFS_PROC_FILE_H_

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace nodepulse::collectors::procfs {

class ProcFile {
 public:
  // NotFound when the file does not exist (e.g. /proc/pressure before Linux
  // 4.20 or with psi=0), another canonical code for other open(2) errors.
  static absl::StatusOr<ProcFile> Open(std::string path);

  ProcFile(ProcFile&& other) noexcept;
  ProcFile& operator=(ProcFile&& other) noexcept;
  ProcFile(const ProcFile&) = delete;
  ProcFile& operator=(const ProcFile&) = delete;
  ~ProcFile();

  // Re-reads the whole file. The view points into this object's buffer and
  // is valid until the next Read(). Unimplemented for EOPNOTSUPP, which PSI
  // files return when the kernel was built with PSI but booted with psi=0.
  absl::StatusOr<std::string_view> Read();

  const std::string& path() const { return path_; }
  size_t buffer_size() const { return capacity_; }

 private:
  ProcFile(int fd, std::string path);

  // Files larger than this are refused rather than grown into: no /proc file
  // we read comes close, so it would mean a bug or a hostile mount.
  static constexpr size_t kMaxBuffer = 64u << 20;

  int fd_ = -1;
  std::string path_;
  std::unique_ptr<char[]> buf_;  // not a vector: growing need not zero-fill
  size_t capacity_ = 0;
};

}  // namespace nodepulse::collectors::procfs

#endif  // NODEPULSE_COLLECTORS_PROCFS_PROC_FILE_H_
