// Scoped absl::Mutex locks that ThreadSanitizer can see, for every folder
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
// A wait that gives the mutex up and takes it back inside abseil
// (absl::CondVar::Wait, absl::Mutex::Await...) must go through the lock's
// Wait/WaitWithTimeout/AwaitWithTimeout below, which tell TSan about the
// release and the re-acquire; calling abseil's directly on a locked mutex
// hides the other threads' critical sections in between from TSan.
//
// Thread-safety: as absl::Mutex. A lock object belongs to the thread that
// made it.
#ifndef NODEPULSE_PIPELINE_MUTEX_H_
#define NODEPULSE_PIPELINE_MUTEX_H_

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

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

namespace nodepulse::pipeline {

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

  // absl::CondVar::Wait / WaitWithTimeout on this lock's mutex. Returns what
  // abseil does (WaitWith*: true on timeout).
  void Wait(absl::CondVar* cv) {
    TsanRelease(mu_);
    cv->Wait(mu_);
    TsanAcquire(mu_);
  }
  bool WaitWithTimeout(absl::CondVar* cv, absl::Duration timeout) {
    TsanRelease(mu_);
    bool timed_out = cv->WaitWithTimeout(mu_, timeout);
    TsanAcquire(mu_);
    return timed_out;
  }
  bool WaitWithDeadline(absl::CondVar* cv, absl::Time deadline) {
    TsanRelease(mu_);
    bool timed_out = cv->WaitWithDeadline(mu_, deadline);
    TsanAcquire(mu_);
    return timed_out;
  }
  // absl::Mutex::AwaitWithTimeout: true when the condition holds.
  bool AwaitWithTimeout(const absl::Condition& cond, absl::Duration timeout) {
    TsanRelease(mu_);
    bool met = mu_->AwaitWithTimeout(cond, timeout);
    TsanAcquire(mu_);
    return met;
  }

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

// The name the other folders use: their locks are all exclusive.
using MutexLock = WriterLock;

}  // namespace nodepulse::pipeline

#endif  // NODEPULSE_PIPELINE_MUTEX_H_
