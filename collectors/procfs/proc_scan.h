// Tokenizing helpers shared by the /proc parsers: split a buffer into lines
// and fields and convert fields to numbers, all on std::string_view so no
// byte of a kernel file is copied or allocated.
//
// Numbers go through std::from_chars: it is locale-independent, does not need
// a NUL terminator (our views point into a pread buffer), and reports
// overflow instead of saturating like strtoull, so a corrupt counter shows up
// as a parse error rather than as 2^64-1.
//
// Thread-safety: stateless free functions.
#ifndef NODEPULSE_COLLECTORS_PROCFS_PROC_SCAN_H_
#define NODEPULSE_COLLECTORS_PROCFS_PROC_SCAN_H_

#include <charconv>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <system_error>

namespace nodepulse::collectors::procfs {

inline bool IsBlank(char c) { return c == ' ' || c == '\t'; }

// Pops the next line (without its '\n') off the front of `*rest`. The last
// line need not end with a newline: fixtures extracted from Go test strings
// do not, and a truncated read must still yield its complete lines.
inline bool NextLine(std::string_view* rest, std::string_view* line) {
  if (rest->empty()) return false;
  const void* nl = std::memchr(rest->data(), '\n', rest->size());
  size_t len = nl == nullptr ? rest->size()
                             : static_cast<size_t>(static_cast<const char*>(nl) - rest->data());
  *line = rest->substr(0, len);
  rest->remove_prefix(nl == nullptr ? len : len + 1);
  return true;
}

// Pops the next blank-separated field; returns an empty view at the end.
inline std::string_view NextField(std::string_view* rest) {
  size_t i = 0;
  while (i < rest->size() && IsBlank((*rest)[i])) ++i;
  size_t j = i;
  while (j < rest->size() && !IsBlank((*rest)[j])) ++j;
  std::string_view field = rest->substr(i, j - i);
  rest->remove_prefix(j);
  return field;
}

// The whole field must be a decimal number; "12abc", "", "-1" and values
// above 2^64-1 are rejected.
inline bool ParseU64(std::string_view field, uint64_t* out) {
  if (field.empty()) return false;
  auto [end, ec] = std::from_chars(field.data(), field.data() + field.size(), *out);
  return ec == std::errc() && end == field.data() + field.size();
}

inline bool ParseDouble(std::string_view field, double* out) {
  if (field.empty()) return false;
  auto [end, ec] = std::from_chars(field.data(), field.data() + field.size(), *out,
                                   std::chars_format::fixed);
  return ec == std::errc() && end == field.data() + field.size();
}

// Parses every remaining field of `rest` as u64 into out[0..max). Returns the
// number parsed, or -1 if any field is not a number. Fields beyond `max` are
// counted but not stored, so callers can tell "too many" from "exactly max".
inline int ParseU64Fields(std::string_view rest, uint64_t* out, int max) {
  int n = 0;
  for (std::string_view f = NextField(&rest); !f.empty(); f = NextField(&rest)) {
    uint64_t v;
    if (!ParseU64(f, &v)) return -1;
    if (n < max) out[n] = v;
    ++n;
  }
  return n;
}

}  // namespace nodepulse::collectors::procfs

#endif  // NODEPULSE_COLLECTORS_PROCFS_PROC_SCAN_H_
