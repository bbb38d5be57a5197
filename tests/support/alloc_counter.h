// Test and benchmark support: counts heap allocations (calls of any global
// operator new) made while an AllocCounter is running, to check and report
// that steady-state paths allocate nothing.
//
// This header REPLACES the global operator new/delete family for the whole
// binary, so it must be included by exactly one .cc file per test or
// benchmark binary (a second one is a duplicate-symbol link error). Binaries
// that don't include it keep the runtime's operators.
//
// Not under sanitizers (kAllocCountingAvailable is false there, nothing is
// replaced and every count is 0): ASan and TSan bring their own operator
// new/delete family, and routing it through malloc/free here would hide the
// new/delete mismatches ASan exists to find. Tests that assert on a count
// skip in that case:
//   if (!testing::kAllocCountingAvailable) GTEST_SKIP() << "...";
//
// Usage:
//   testing::AllocCounter allocs;
//   allocs.Start();
//   ... code under test ...
//   EXPECT_EQ(allocs.Stop(), 0u);   // allocations since Start()
//
// Counting covers every thread of the process while at least one
// AllocCounter is running; counters may overlap (each reports what happened
// between its own Start() and Stop()).
#ifndef NODEPULSE_TESTS_SUPPORT_ALLOC_COUNTER_H_
#define NODEPULSE_TESTS_SUPPORT_ALLOC_COUNTER_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <new>

// The sanitizers replace operator new themselves. gcc says so with
// __SANITIZE_*__; clang 14 defines only __SANITIZE_ADDRESS__ and reports
// TSan through __has_feature.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define NODEPULSE_ALLOC_COUNTING 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define NODEPULSE_ALLOC_COUNTING 0
#endif
#endif
#ifndef NODEPULSE_ALLOC_COUNTING
#define NODEPULSE_ALLOC_COUNTING 1
#endif

namespace nodepulse::testing {

// False in sanitizer builds: operator new is not replaced, counts stay 0.
inline constexpr bool kAllocCountingAvailable = NODEPULSE_ALLOC_COUNTING != 0;

namespace alloc_counter_internal {
// Constant-initialized, so usable from operator new before main().
inline std::atomic<uint32_t> running{0};     // AllocCounters between Start and Stop
inline std::atomic<uint64_t> allocations{0};  // counted so far, monotonic

inline void Count() {
  if (running.load(std::memory_order_relaxed) != 0) {
    allocations.fetch_add(1, std::memory_order_relaxed);
  }
}
}  // namespace alloc_counter_internal

class AllocCounter {
 public:
  AllocCounter() = default;
  ~AllocCounter() {
    if (running_) Stop();
  }
  AllocCounter(const AllocCounter&) = delete;
  AllocCounter& operator=(const AllocCounter&) = delete;

  // Starts counting (again, from 0 if it was stopped or is running).
  void Start() {
    if (!running_) alloc_counter_internal::running.fetch_add(1);
    running_ = true;
    start_ = alloc_counter_internal::allocations.load();
  }
  // Stops counting; returns the allocations (any thread) since Start().
  uint64_t Stop() {
    if (running_) {
      count_ = alloc_counter_internal::allocations.load() - start_;
      alloc_counter_internal::running.fetch_sub(1);
      running_ = false;
    }
    return count_;
  }
  // Allocations since Start(): so far while running, the final count after Stop().
  uint64_t count() const {
    return running_ ? alloc_counter_internal::allocations.load() - start_ : count_;
  }

 private:
  bool running_ = false;
  uint64_t start_ = 0;
  uint64_t count_ = 0;
};

}  // namespace nodepulse::testing

#if NODEPULSE_ALLOC_COUNTING
// The replacement: malloc/free underneath, one count per allocation.
//
// noinline: once GCC inlines these bodies into a caller it sees free() on a
// pointer from operator new and warns (-Wmismatched-new-delete), which is a
// false positive for a replacement pair that uses malloc/free on both sides.
//
// Every form is replaced (plain, array, nothrow, aligned; sized and unsized
// delete), so whatever allocates with one of them (std::stable_sort uses
// nothrow new) frees with a matching free(); never a mix with the runtime's
// own forms.
namespace nodepulse::testing::alloc_counter_internal {
inline void* Allocate(std::size_t n) noexcept {
  Count();
  return std::malloc(n == 0 ? 1 : n);
}
inline void* AllocateAligned(std::size_t n, std::align_val_t a) noexcept {
  Count();
  const std::size_t al = static_cast<std::size_t>(a);
  // aligned_alloc wants a size that is a multiple of the alignment.
  return std::aligned_alloc(al, ((n == 0 ? 1 : n) + al - 1) / al * al);
}
}  // namespace nodepulse::testing::alloc_counter_internal

__attribute__((noinline)) void* operator new(std::size_t n) {
  if (void* p = nodepulse::testing::alloc_counter_internal::Allocate(n)) return p;
  throw std::bad_alloc();
}
__attribute__((noinline)) void* operator new[](std::size_t n) {
  if (void* p = nodepulse::testing::alloc_counter_internal::Allocate(n)) return p;
  throw std::bad_alloc();
}
__attribute__((noinline)) void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  return nodepulse::testing::alloc_counter_internal::Allocate(n);
}
__attribute__((noinline)) void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
  return nodepulse::testing::alloc_counter_internal::Allocate(n);
}
__attribute__((noinline)) void* operator new(std::size_t n, std::align_val_t a) {
  if (void* p = nodepulse::testing::alloc_counter_internal::AllocateAligned(n, a)) return p;
  throw std::bad_alloc();
}
__attribute__((noinline)) void* operator new[](std::size_t n, std::align_val_t a) {
  if (void* p = nodepulse::testing::alloc_counter_internal::AllocateAligned(n, a)) return p;
  throw std::bad_alloc();
}
__attribute__((noinline)) void* operator new(std::size_t n, std::align_val_t a,
                                             const std::nothrow_t&) noexcept {
  return nodepulse::testing::alloc_counter_internal::AllocateAligned(n, a);
}
__attribute__((noinline)) void* operator new[](std::size_t n, std::align_val_t a,
                                               const std::nothrow_t&) noexcept {
  return nodepulse::testing::alloc_counter_internal::AllocateAligned(n, a);
}

__attribute__((noinline)) void operator delete(void* p) noexcept { std::free(p); }
__attribute__((noinline)) void operator delete[](void* p) noexcept { std::free(p); }
__attribute__((noinline)) void operator delete(void* p, std::size_t) noexcept { std::free(p); }
__attribute__((noinline)) void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
__attribute__((noinline)) void operator delete(void* p, const std::nothrow_t&) noexcept {
  std::free(p);
}
__attribute__((noinline)) void operator delete[](void* p, const std::nothrow_t&) noexcept {
  std::free(p);
}
__attribute__((noinline)) void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
__attribute__((noinline)) void operator delete[](void* p, std::align_val_t) noexcept {
  std::free(p);
}
__attribute__((noinline)) void operator delete(void* p, std::size_t, std::align_val_t) noexcept {
  std::free(p);
}
__attribute__((noinline)) void operator delete[](void* p, std::size_t, std::align_val_t) noexcept {
  std::free(p);
}
__attribute__((noinline)) void operator delete(void* p, std::align_val_t,
                                               const std::nothrow_t&) noexcept {
  std::free(p);
}
__attribute__((noinline)) void operator delete[](void* p, std::align_val_t,
                                                 const std::nothrow_t&) noexcept {
  std::free(p);
}
#endif  // NODEPULSE_ALLOC_COUNTING

#endif  // NODEPULSE_TESTS_SUPPORT_ALLOC_COUNTER_H_
