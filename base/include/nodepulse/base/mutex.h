// Scoped absl::Mutex locks that ThreadSanitizer can see, for every room
// (pipeline/, collectors/, exporters/ and agent/ all include this header;
// it is header-only and depends on abseil alone).
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
// No code waits inside abseil while holding one of these (absl::CondVar,
// absl::Mutex::Await): a wait that releases and re-takes the mutex inside
// abseil would hide the other threads' critical sections from TSan, and
// abseil's timed waits run on the wall clock (doorbell.h). Threads wait on
// a Doorbell instead, outside the lock.
//
// Thread-safety: as absl::Mutex. A lock object belongs to the thread that
// made it.
#ifndef NODEPULSE_BASE_MUTEX_H_
#define NODEPULSE_BASE_MUTEX_H_

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

// gcc defines __SANITIZE_THREAD__ under -fsanitize=thread; clang says so
// only through __has_feature.
#if defined(__SANITIZE_THREAD__)
#define NODEPULSE_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define NODEPULSE_TSAN 1
#endif
#endif

#if defined(NODEPULSE_TSAN)
#include <sanitizer/tsan_interface.h>
#endif

namespace nodepulse::base {

inline void TsanAcquire(const absl::Mutex* mu) {
#if defined(NODEPULSE_TSAN)
  __tsan_acquire(const_cast<absl::Mutex*>(mu));
#else
  (void)mu;
#endif
}
inline void TsanRelease(const absl::Mutex* mu) {
#if defined(NODEPULSE_TSAN)
  __tsan_release(const_cast<absl::Mutex*>(mu));
#else
  (void)mu;
#endif
}

// Exclusive lock for the scope; the drop-in for absl::MutexLock.
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

// Shared lock for the scope; the drop-in for absl::ReaderMutexLock.
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

// The name the other rooms use: their locks are all exclusive.
using MutexLock = WriterLock;

}  // namespace nodepulse::base

#endif  // NODEPULSE_BASE_MUTEX_H_
