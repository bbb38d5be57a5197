#include "json_reader.h"

#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>

#include "absl/strings/str_cat.h"

namespace nodepulse::collectors::kubelet {
namespace {

absl::string_view AV(std::string_view s) { return {s.data(), s.size()}; }

void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

bool Hex4(const char* p, uint32_t* v) {
  uint32_t r = 0;
  for (int i = 0; i < 4; ++i) {
    char c = p[i];
    r <<= 4;
    if (c >= '0' && c <= '9') r |= c - '0';
    else if (c >= 'a' && c <= 'f') r |= c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') r |= c - 'A' + 10;
    else return false;
  }
  *v = r;
  return true;
}

}  // namespace

bool JsonReader::Fail(std::string_view what) {
  if (error_.empty()) {
    error_ = absl::StrCat(AV(what), " at byte ", p_ - begin_);
    if (error_.empty()) error_ = "error";
  }
  p_ = end_;
  return false;
}

bool JsonReader::ConsumeNull() {
  SkipSpace();
  if (end_ - p_ >= 4 && std::memcmp(p_, "null", 4) == 0) {
    p_ += 4;
    return true;
  }
  return false;
}

bool JsonReader::BeginObject() {
  if (!ok() || ConsumeNull()) return false;
  if (p_ == end_ || *p_ != '{') return Fail("expected object");
  if (++depth_ > kMaxDepth) return Fail("nesting too deep");
  ++p_;
  first_ = true;
  return true;
}

bool JsonReader::NextKey(std::string_view* key) {
  if (!ok()) return false;
  SkipSpace();
  if (p_ == end_) return Fail("unterminated object");
  if (*p_ == '}') {
    ++p_;
    --depth_;
    first_ = false;
    return false;
  }
  if (!first_) {
    if (*p_ != ',') return Fail("expected ',' or '}'");
    ++p_;
    SkipSpace();
  }
  first_ = false;
  if (p_ == end_ || *p_ != '"') return Fail("expected key");
  std::string_view raw;
  bool escaped = false;
  if (!ScanString(&raw, &escaped)) return false;
  if (escaped) {
    scratch_.clear();
    if (!DecodeString(raw, &scratch_)) return false;
    *key = scratch_;
  } else {
    *key = raw;
  }
  SkipSpace();
  if (p_ == end_ || *p_ != ':') return Fail("expected ':'");
  ++p_;
  return true;
}

bool JsonReader::BeginArray() {
  if (!ok() || ConsumeNull()) return false;
  if (p_ == end_ || *p_ != '[') return Fail("expected array");
  if (++depth_ > kMaxDepth) return Fail("nesting too deep");
  ++p_;
  first_ = true;
  return true;
}

bool JsonReader::NextElement() {
  if (!ok()) return false;
  SkipSpace();
  if (p_ == end_) return Fail("unterminated array");
  if (*p_ == ']') {
    ++p_;
    --depth_;
    first_ = false;
    return false;
  }
  if (!first_) {
    if (*p_ != ',') return Fail("expected ',' or ']'");
    ++p_;
  }
  first_ = false;
  return true;
}

bool JsonReader::ScanString(std::string_view* raw, bool* escaped) {
  const char* start = ++p_;  // past the opening quote
  *escaped = false;
  while (true) {
    // memchr is vectorized in glibc; most strings have no escapes.
    const void* q = std::memchr(p_, '"', static_cast<size_t>(end_ - p_));
    if (q == nullptr) return Fail("unterminated string");
    const char* quote = static_cast<const char*>(q);
    // Count the backslashes right before the quote: an odd run escapes it.
    const char* b = quote;
    while (b > start && b[-1] == '\\') --b;
    if (b != quote) *escaped = true;
    if (((quote - b) & 1) == 0) {
      if (!*escaped && std::memchr(start, '\\', static_cast<size_t>(quote - start)) != nullptr) {
        *escaped = true;
      }
      *raw = std::string_view(start, static_cast<size_t>(quote - start));
      p_ = quote + 1;
      return true;
    }
    p_ = quote + 1;
  }
}

bool JsonReader::DecodeString(std::string_view raw, std::string* out) {
  for (size_t i = 0; i < raw.size(); ++i) {
    char c = raw[i];
    if (c != '\\') {
      out->push_back(c);
      continue;
    }
    if (++i == raw.size()) return Fail("bad escape");
    switch (raw[i]) {
      case '"': out->push_back('"'); break;
      case '\\': out->push_back('\\'); break;
      case '/': out->push_back('/'); break;
      case 'b': out->push_back('\b'); break;
      case 'f': out->push_back('\f'); break;
      case 'n': out->push_back('\n'); break;
      case 'r': out->push_back('\r'); break;
      case 't': out->push_back('\t'); break;
      case 'u': {
        uint32_t cp;
        // Needs 4 hex digits at i+1..i+4.
        if (raw.size() - i < 5 || !Hex4(raw.data() + i + 1, &cp)) return Fail("bad \\u escape");
        i += 4;
        // A UTF-16 surrogate pair spans two escapes: \uD83D\uDE00.
        if (cp >= 0xD800 && cp <= 0xDBFF && raw.size() - i >= 7 && raw[i + 1] == '\\' &&
            raw[i + 2] == 'u') {
          uint32_t lo;
          if (Hex4(raw.data() + i + 3, &lo) && lo >= 0xDC00 && lo <= 0xDFFF) {
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            i += 6;
          }
        }
        AppendUtf8(cp, out);
        break;
      }
      default:
        return Fail("bad escape");
    }
  }
  return true;
}

bool JsonReader::ReadString(std::string* out, bool* present) {
  if (present) *present = false;
  if (!ok()) return false;
  if (ConsumeNull()) return true;
  if (p_ == end_ || *p_ != '"') return Fail("expected string");
  std::string_view raw;
  bool escaped = false;
  if (!ScanString(&raw, &escaped)) return false;
  if (escaped) {
    out->clear();
    if (!DecodeString(raw, out)) return false;
  } else {
    out->assign(raw.data(), raw.size());
  }
  if (present) *present = true;
  return true;
}

bool JsonReader::ReadNumberText(std::string_view* text) {
  SkipSpace();
  const char* start = p_;
  while (p_ < end_) {
    char c = *p_;
    if ((c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E') {
      ++p_;
    } else {
      break;
    }
  }
  if (p_ == start) return Fail("expected number");
  *text = std::string_view(start, static_cast<size_t>(p_ - start));
  return true;
}

bool JsonReader::ReadUint64(uint64_t* out, bool* present) {
  *present = false;
  if (!ok()) return false;
  if (ConsumeNull()) return true;
  std::string_view t;
  if (!ReadNumberText(&t)) return false;
  auto [ptr, ec] = std::from_chars(t.data(), t.data() + t.size(), *out);
  if (ec == std::errc() && ptr == t.data() + t.size()) {
    *present = true;
    return true;
  }
  // "1e3" or "5.0": integral values written as floats are allowed.
  double d;
  auto [dptr, dec] = std::from_chars(t.data(), t.data() + t.size(), d);
  if (dec != std::errc() || dptr != t.data() + t.size() || d < 0 || d != std::floor(d) ||
      d >= 18446744073709551616.0) {
    return Fail("expected unsigned integer");
  }
  *out = static_cast<uint64_t>(d);
  *present = true;
  return true;
}

bool JsonReader::ReadInt32(int32_t* out, bool* present) {
  if (present) *present = false;
  if (!ok()) return false;
  if (ConsumeNull()) return true;
  std::string_view t;
  if (!ReadNumberText(&t)) return false;
  double d;
  int64_t v;
  auto [ptr, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (ec != std::errc() || ptr != t.data() + t.size()) {
    auto [dptr, dec] = std::from_chars(t.data(), t.data() + t.size(), d);
    if (dec != std::errc() || dptr != t.data() + t.size() || d != std::floor(d) ||
        std::fabs(d) > 3e9) {
      return Fail("expected integer");
    }
    v = static_cast<int64_t>(d);
  }
  if (v < std::numeric_limits<int32_t>::min() || v > std::numeric_limits<int32_t>::max()) {
    return Fail("int32 out of range");
  }
  *out = static_cast<int32_t>(v);
  if (present) *present = true;
  return true;
}

bool JsonReader::ReadBool(bool* out, bool* present) {
  *present = false;
  if (!ok()) return false;
  if (ConsumeNull()) return true;
  if (end_ - p_ >= 4 && std::memcmp(p_, "true", 4) == 0) {
    p_ += 4;
    *out = true;
  } else if (end_ - p_ >= 5 && std::memcmp(p_, "false", 5) == 0) {
    p_ += 5;
    *out = false;
  } else {
    return Fail("expected boolean");
  }
  *present = true;
  return true;
}

bool JsonReader::Skip() {
  if (!ok()) return false;
  SkipSpace();
  if (p_ == end_) return Fail("expected value");
  char c = *p_;
  if (c == '"') {
    std::string_view raw;
    bool escaped;
    return ScanString(&raw, &escaped);
  }
  if (c != '{' && c != '[') {
    // Number or literal: consume its characters; a stray byte fails at the
    // caller's next ',' check.
    const char* start = p_;
    while (p_ < end_) {
      char d = *p_;
      if (d == ',' || d == '}' || d == ']' || d == ' ' || d == '\n' || d == '\r' || d == '\t') break;
      if (d == '"' || d == '{' || d == '[' || d == ':') return Fail("unexpected character");
      ++p_;
    }
    if (p_ == start) return Fail("expected value");
    return true;
  }
  // Containers: a byte scan with a bracket stack; strings are jumped over
  // with ScanString so brackets inside them do not count.
  char stack[kMaxDepth];
  int top = 0;
  if (depth_ + 1 > kMaxDepth) return Fail("nesting too deep");
  stack[top++] = c;
  ++p_;
  while (top > 0) {
    // Jump to the next structurally interesting byte.
    while (p_ < end_) {
      char d = *p_;
      if (d == '"' || d == '{' || d == '[' || d == '}' || d == ']') break;
      ++p_;
    }
    if (p_ == end_) return Fail("unterminated value");
    char d = *p_;
    if (d == '"') {
      std::string_view raw;
      bool escaped;
      if (!ScanString(&raw, &escaped)) return false;
    } else if (d == '{' || d == '[') {
      if (top + depth_ + 1 > kMaxDepth) return Fail("nesting too deep");
      stack[top++] = d;
      ++p_;
    } else {
      char open = stack[--top];
      if ((open == '{') != (d == '}')) return Fail("mismatched bracket");
      ++p_;
    }
  }
  return true;
}

bool JsonReader::Finish() {
  if (!ok()) return false;
  SkipSpace();
  if (p_ != end_) return Fail("trailing data");
  return true;
}

}  // namespace nodepulse::collectors::kubelet
