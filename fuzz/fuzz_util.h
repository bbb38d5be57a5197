// Helpers shared by the fuzz targets (fuzz/*_fuzz.cc): the input as a view,
// and FUZZ_CHECK, which aborts - so libFuzzer keeps the input as a crash -
// when a parser breaks a promise its header makes (views into the input,
// counts bounded by the input), not only when it crashes.
#ifndef NODEPULSE_FUZZ_FUZZ_UTIL_H_
#define NODEPULSE_FUZZ_FUZZ_UTIL_H_

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <vector>

#define FUZZ_CHECK(cond)                                                             \
  do {                                                                               \
    if (!(cond)) {                                                                   \
      std::fprintf(stderr, "FUZZ_CHECK failed: %s at %s:%d\n", #cond, __FILE__, __LINE__); \
      std::abort();                                                                  \
    }                                                                                \
  } while (0)

namespace nodepulse::fuzz {

inline std::string_view AsView(const uint8_t* data, size_t size) {
  return std::string_view(reinterpret_cast<const char*>(data), size);
}

// True if `inner` is empty or lies entirely inside `outer`.
inline bool Within(std::string_view inner, std::string_view outer) {
  if (inner.empty()) return true;
  return inner.data() >= outer.data() &&
         inner.data() + inner.size() <= outer.data() + outer.size();
}

// Splits `in` at every occurrence of `sep` (targets that need several inputs,
// e.g. argv, take them separated by a byte the format never contains).
inline std::vector<std::string_view> SplitAll(std::string_view in, char sep) {
  std::vector<std::string_view> out;
  for (;;) {
    size_t at = in.find(sep);
    out.push_back(in.substr(0, at));
    if (at == std::string_view::npos) return out;
    in.remove_prefix(at + 1);
  }
}

}  // namespace nodepulse::fuzz

#endif  // NODEPULSE_FUZZ_FUZZ_UTIL_H_
