// Doorbell: a wake-up whose timed waits run on CLOCK_MONOTONIC.
//
// Debian 12's abseil (20220623) turns every CondVar timeout into an absolute
// CLOCK_REALTIME futex deadline, so a wall clock stepped back by an hour
// (NTP, `date`) stretches a 100 ms wait by that hour. libstdc++'s
// condition_variable waits on steady_clock with CLOCK_MONOTONIC. Classes that
// keep their state under an absl::Mutex (with its thread annotations) ring
// this for "something changed" instead of signalling an absl::CondVar:
//
//   const uint64_t seen = bell.Epoch();       // before looking
//   { MutexLock l(&mu_); if (ready) return; } // look under the state's lock
//   bell.WaitFor(seen, timeout);              // returns at once if rung since
//
// so no wake-up is lost between looking and waiting. Thread-safe.
#ifndef NODEPULSE_BASE_DOORBELL_H_
#define NODEPULSE_BASE_DOORBELL_H_

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>

#include "absl/time/time.h"

namespace nodepulse::base {

class Doorbell {
 public:
  uint64_t Epoch() const {
    std::lock_guard<std::mutex> lock(mu_);
    return epoch_;
  }
  void Ring() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++epoch_;
    }
    cv_.notify_all();
  }
  // Until rung after `seen` was read (true) or the deadline passes (false).
  bool WaitUntil(uint64_t seen, std::chrono::steady_clock::time_point deadline) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_until(lock, deadline, [&] { return epoch_ != seen; });
  }
  bool WaitFor(uint64_t seen, absl::Duration timeout) {
    return WaitUntil(seen, std::chrono::steady_clock::now() + absl::ToChronoNanoseconds(timeout));
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  uint64_t epoch_ = 0;  // guarded by mu_
};

}  // namespace nodepulse::base

#endif  // NODEPULSE_BASE_DOORBELL_H_
