// A minimal streaming JSON writer for the health API: objects, arrays,
// strings (escaped per RFC 8259), numbers (NaN and infinities become null,
// since JSON has no such numbers) and booleans. Commas are placed
// automatically. No dependency beyond the standard library.
//
// Thread-safety: a plain value; one writer per thread.
#ifndef NODEPULSE_EXPORTERS_HEALTH_JSON_H_
#define NODEPULSE_EXPORTERS_HEALTH_JSON_H_

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

namespace nodepulse::exporters {

class HealthJsonWriter {
 public:
  HealthJsonWriter& BeginObject() { Prefix(); out_ += '{'; first_.push_back(true); return *this; }
  HealthJsonWriter& EndObject() { first_.pop_back(); out_ += '}'; return *this; }
  HealthJsonWriter& BeginArray() { Prefix(); out_ += '['; first_.push_back(true); return *this; }
  HealthJsonWriter& EndArray() { first_.pop_back(); out_ += ']'; return *this; }
  // The next value is this object member's.
  HealthJsonWriter& Key(std::string_view key) {
    Prefix();
    AppendString(key);
    out_ += ':';
    after_key_ = true;
    return *this;
  }
  HealthJsonWriter& String(std::string_view s) { Prefix(); AppendString(s); return *this; }
  HealthJsonWriter& Number(double v) {
    Prefix();
    if (!std::isfinite(v)) {
      out_ += "null";
    } else if (v == std::floor(v) && std::fabs(v) < 1e15) {
      out_ += std::to_string(static_cast<int64_t>(v));
    } else {
      char buf[32];
      std::snprintf(buf, sizeof(buf), "%.6g", v);
      out_ += buf;
    }
    return *this;
  }
  HealthJsonWriter& Int(int64_t v) { Prefix(); out_ += std::to_string(v); return *this; }
  HealthJsonWriter& Bool(bool b) { Prefix(); out_ += b ? "true" : "false"; return *this; }
  HealthJsonWriter& Null() { Prefix(); out_ += "null"; return *this; }

  // Shorthands for members.
  HealthJsonWriter& Field(std::string_view k, std::string_view v) { return Key(k).String(v); }
  HealthJsonWriter& Field(std::string_view k, const char* v) { return Key(k).String(v); }
  HealthJsonWriter& Field(std::string_view k, double v) { return Key(k).Number(v); }
  HealthJsonWriter& FieldInt(std::string_view k, int64_t v) { return Key(k).Int(v); }
  HealthJsonWriter& FieldBool(std::string_view k, bool v) { return Key(k).Bool(v); }

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
  void AppendString(std::string_view s) {
    out_ += '"';
    for (unsigned char c : s) {
      switch (c) {
        case '"': out_ += "\\\""; break;
        case '\\': out_ += "\\\\"; break;
        case '\n': out_ += "\\n"; break;
        case '\r': out_ += "\\r"; break;
        case '\t': out_ += "\\t"; break;
        case '\b': out_ += "\\b"; break;
        case '\f': out_ += "\\f"; break;
        default:
          if (c < 0x20 || c == 0x7f) {
            char buf[8];
            std::snprintf(buf, sizeof(buf), "\\u%04x", c);
            out_ += buf;
          } else {
            // UTF-8 passes through: JSON text is UTF-8. Label values come
            // from cgroup paths and the kubelet, both UTF-8 (or ASCII).
            out_ += static_cast<char>(c);
          }
      }
    }
    out_ += '"';
  }

  std::string out_;
  std::vector<bool> first_;
  bool after_key_ = false;
};

}  // namespace nodepulse::exporters

#endif  // NODEPULSE_EXPORTERS_HEALTH_JSON_H_
