// Scoped absl::Mutex locks that ThreadSanitizer can see.
//
// Debian's libabsl is not built with -fsanitize=thread, so TSan does not
// see absl::Mutex's internal atomics and reports every access it guards as
// a race ("As if synchronized via sleep"). Under TSan these guards add
// __tsan_acquire/__tsan_release on the mutex address; otherwise they are
// exactly absl::MutexLock / absl::ReaderMutexLock. absl::Mutex stays the
// lock in production for its writer priority: a waiting writer blocks new
// readers, which is what bounds the collection thread's wait (history.h).
// (Readers releasing to each other hides nothing: they only read.)
//
// Thread-safety: as absl::Mutex.
#ifndef NODEPULSE_PIPELINE_INTERNAL_MUTEX_H_
#define NODEPULSE_PIPELINE_INTERNAL_MUTEX_H_

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

#if defined(__SANITIZE_THREAD__)
#include <sanitizer/tsan_interface.h>
#endif

namespace nodepulse::pipeline::internal {

inline void TsanAcquire(const absl::Mutex* mu) {
#if defined(__SANITIZE_THREAD__)
  __tsan_acquire(const_cast<absl::Mutex*>(mu));
#else
  (void)mu;
#endif
}
inline void TsanRelease(const absl::Mutex* mu) {
#if defined(__SANITIZE_THREAD__)
  __tsan_release(const_cast<absl::Mutex*>(mu));
#else
  (void)mu;
#endif
}

class ABSL_SCOPED_LOCKABLE WriterLock {
 public:
  explicit WriterLock(absl::Mutex* mu) ABSL_EXCLUSIVE_LOCK_FUNCTION(mu) : mu_(mu) {
    mu_->Lock();
    TsanAcquire(mu_);
  }
  ~WriterLock() ABSL_UNLOCK_FUNCTION() {
    TsanRelease(mu_);
    mu_->Unlock();
  }
  WriterLock(const WriterLock&) = delete;
  WriterLock& operator=(const WriterLock&) = delete;

 private:
  absl::Mutex* const mu_;
};

class ABSL_SCOPED_LOCKABLE ReaderLock {
 public:
  explicit ReaderLock(absl::Mutex* mu) ABSL_SHARED_LOCK_FUNCTION(mu) : mu_(mu) {
    mu_->ReaderLock();
    TsanAcquire(mu_);
  }
  ~ReaderLock() ABSL_UNLOCK_FUNCTION() {
    TsanRelease(mu_);
    mu_->ReaderUnlock();
  }
  ReaderLock(const ReaderLock&) = delete;
  ReaderLock& operator=(const ReaderLock&) = delete;

 private:
  absl::Mutex* const mu_;
};

}  // namespace nodepulse::pipeline::internal

#endif  // NODEPULSE_PIPELINE_INTERNAL_MUTEX_H_
