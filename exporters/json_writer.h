// JsonWriter: a minimal streaming JSON writer (objects, arrays, strings with
// RFC 8259 escaping, numbers with NaN/Inf written as null), so the HTTP APIs
// need no JSON dependency. Not thread-safe; one writer per response.
#ifndef NODEPULSE_EXPORTERS_JSON_WRITER_H_
#define NODEPULSE_EXPORTERS_JSON_WRITER_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace nodepulse::exporters {

class JsonWriter {
 public:
  void BeginObject() { Open('{'); }
  void EndObject() { Close('}'); }
  void BeginArray() { Open('['); }
  void EndArray() { Close(']'); }
  void Key(absl::string_view key);
  void String(absl::string_view value);
  void Number(double value);  // NaN and infinities become null (JSON has none)
  void Bool(bool value);
  void Null();
  std::string Take() { return std::move(out_); }

 private:
  void Open(char c);
  void Close(char c);
  void Separate();
  std::string out_;
  std::vector<bool> first_{true};  // per nesting level: next item is first
  bool after_key_ = false;
};

}  // namespace nodepulse::exporters

#endif  // NODEPULSE_EXPORTERS_JSON_WRITER_H_
