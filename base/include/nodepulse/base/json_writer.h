// JsonWriter: a minimal streaming JSON writer for the HTTP APIs (objects,
// arrays, RFC 8259 string escaping, numbers with NaN/Inf written as null,
// since JSON has neither), so they need no JSON dependency. Calls chain:
//   j.BeginObject().Field("value", 1.5).Key("results").BeginArray()...
// Not thread-safe; one writer per response.
#ifndef NODEPULSE_BASE_JSON_WRITER_H_
#define NODEPULSE_BASE_JSON_WRITER_H_

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/string_view.h"
#include "nodepulse/base/text_format.h"

namespace nodepulse::base {

class JsonWriter {
 public:
  JsonWriter& BeginObject() { Prefix(); out_ += '{'; first_.push_back(true); return *this; }
  JsonWriter& EndObject() { first_.pop_back(); out_ += '}'; return *this; }
  JsonWriter& BeginArray() { Prefix(); out_ += '['; first_.push_back(true); return *this; }
  JsonWriter& EndArray() { first_.pop_back(); out_ += ']'; return *this; }
  // The next value is this object member's.
  JsonWriter& Key(std::string_view key) {
    Prefix();
    AppendString(key);
    out_ += ':';
    after_key_ = true;
    return *this;
  }
  JsonWriter& String(std::string_view s) { Prefix(); AppendString(s); return *this; }
  // Debian's abseil has its own string_view type.
  JsonWriter& Key(absl::string_view key) { return Key(std::string_view(key.data(), key.size())); }
  JsonWriter& Key(const char* key) { return Key(std::string_view(key)); }
  JsonWriter& Key(const std::string& key) { return Key(std::string_view(key)); }
  JsonWriter& String(absl::string_view s) { return String(std::string_view(s.data(), s.size())); }
  JsonWriter& String(const std::string& s) { return String(std::string_view(s)); }
  JsonWriter& String(const char* s) { return String(std::string_view(s)); }
  JsonWriter& Number(double v) {
    Prefix();
    if (!std::isfinite(v)) {
      out_ += "null";
    } else if (v == std::floor(v) && std::fabs(v) < 1e15) {
      AppendInt(static_cast<int64_t>(v));
    } else {
      // The same digits as /metrics (text_format.h has the precision).
      AppendNumber(v, &out_);
    }
    return *this;
  }
  JsonWriter& Int(int64_t v) { Prefix(); AppendInt(v); return *this; }
  JsonWriter& Bool(bool b) { Prefix(); out_ += b ? "true" : "false"; return *this; }
  JsonWriter& Null() { Prefix(); out_ += "null"; return *this; }

  // Shorthands for members.
  JsonWriter& Field(std::string_view k, std::string_view v) { return Key(k).String(v); }
  JsonWriter& Field(std::string_view k, const char* v) { return Key(k).String(v); }
  JsonWriter& Field(std::string_view k, double v) { return Key(k).Number(v); }
  JsonWriter& FieldInt(std::string_view k, int64_t v) { return Key(k).Int(v); }
  JsonWriter& FieldBool(std::string_view k, bool v) { return Key(k).Bool(v); }

  const std::string& str() const { return out_; }
  std::string Take() { return std::move(out_); }

 private:
  void Prefix() {
    if (after_key_) {
      after_key_ = false;
      return;
    }
    if (!first_.empty()) {
      if (!first_.back()) out_ += ',';
      first_.back() = false;
    }
  }
  void AppendInt(int64_t v) {
    char buf[24];
    auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
    out_.append(buf, static_cast<size_t>(end - buf));
  }
  static bool NeedsEscape(unsigned char c) { return c < 0x20 || c == '"' || c == '\\' || c == 0x7f; }
  // Runs of characters that need no escape (all of them, in label values and
  // names) are appended at once; the 500 KB aggregates answer is mostly such
  // runs.
  void AppendString(std::string_view s) {
    out_ += '"';
    size_t run = 0;
    for (size_t i = 0; i < s.size(); ++i) {
      const unsigned char c = static_cast<unsigned char>(s[i]);
      if (!NeedsEscape(c)) continue;
      out_.append(s.data() + run, i - run);
      run = i + 1;
      AppendEscaped(c);
    }
    out_.append(s.data() + run, s.size() - run);
    out_ += '"';
  }
  // UTF-8 passes through unescaped: JSON text is UTF-8, and label values
  // come from cgroup paths and the kubelet, both UTF-8 (or ASCII).
  void AppendEscaped(unsigned char c) {
    switch (c) {
      case '"': out_ += "\\\""; break;
      case '\\': out_ += "\\\\"; break;
      case '\n': out_ += "\\n"; break;
      case '\r': out_ += "\\r"; break;
      case '\t': out_ += "\\t"; break;
      case '\b': out_ += "\\b"; break;
      case '\f': out_ += "\\f"; break;
      default: {
        char buf[8];
        std::snprintf(buf, sizeof(buf), "\\u%04x", c);
        out_ += buf;
      }
    }
  }

  std::string out_;
  std::vector<bool> first_;
  bool after_key_ = false;
};

}  // namespace nodepulse::base

#endif  // NODEPULSE_BASE_JSON_WRITER_H_
