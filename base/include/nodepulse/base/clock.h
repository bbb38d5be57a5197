// The one monotonic clock for intervals, timeouts and deadlines.
//
// CLOCK_MONOTONIC as a duration since boot: a wall-clock step (NTP, `date`)
// must not stretch, cut, stall or burst an interval; absl::Now() is
// CLOCK_REALTIME and is only for timestamps.
//
// Thread-safety: a pure read of the kernel clock.
#ifndef NODEPULSE_BASE_CLOCK_H_
#define NODEPULSE_BASE_CLOCK_H_

#include <time.h>

#include "absl/time/time.h"

namespace nodepulse::base {

inline absl::Duration MonotonicNow() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return absl::DurationFromTimespec(ts);
}

}  // namespace nodepulse::base

#endif  // NODEPULSE_BASE_CLOCK_H_
