// JsonReader: a pull parser over one JSON document held in memory, for the
// kubelet's /pods and /stats/summary bodies.
//
// Why not protobuf's JsonStringToMessage: on this machine it parses /pods at
// ~57 MB/s, ~9 ms per 100 pods (bench/kubelet_bench.cc), above the issue's
// 5 ms budget, mostly spent walking managedFields that we throw away. This
// reader skips unwanted values with a byte scan and decodes only the fields
// the caller asks for; json_parsers.cc fills the same protobuf messages, and
// a test checks both parsers agree on every fixture.
//
// Contract: every method returns false once an error is seen and stays
// failed; error() says what and where. null is accepted for any value and
// reads as "absent" (protobuf's JSON parser does the same), so callers treat
// it like a missing key. Nesting deeper than kMaxDepth is an error, so hostile
// input cannot exhaust the stack. Not thread-safe; cheap to construct.
#ifndef NODEPULSE_COLLECTORS_KUBELET_JSON_READER_H_
#define NODEPULSE_COLLECTORS_KUBELET_JSON_READER_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace nodepulse::collectors::kubelet {

class JsonReader {
 public:
  static constexpr int kMaxDepth = 256;

  explicit JsonReader(std::string_view input) : p_(input.data()), end_(input.data() + input.size()), begin_(input.data()) {}

  // Objects: if (r.BeginObject()) while (r.NextKey(&key)) { read or Skip() }.
  // BeginObject returns false for null (no error) or on error; check ok().
  bool BeginObject();
  // Reads the next key and its ':'; false at the closing '}' or on error. The
  // view is valid until the next call.
  bool NextKey(std::string_view* key);

  // Arrays: if (r.BeginArray()) while (r.NextElement()) { read one value }.
  bool BeginArray();
  bool NextElement();

  // Scalars. Each returns true when a value (or null) was consumed; *present
  // says which. Numbers must be integral for the integer readers (1e3 is
  // fine, 1.5 is not) and in range.
  bool ReadString(std::string* out, bool* present = nullptr);
  bool ReadUint64(uint64_t* out, bool* present);
  bool ReadInt32(int32_t* out, bool* present = nullptr);
  bool ReadBool(bool* out, bool* present);

  // Skips one value of any type.
  bool Skip();

  // Succeeds only if nothing but whitespace is left.
  bool Finish();

  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }

 private:
  bool Fail(std::string_view what);
  void SkipSpace() {
    while (p_ < end_ && (*p_ == ' ' || *p_ == '\n' || *p_ == '\r' || *p_ == '\t')) ++p_;
  }
  bool ConsumeNull();  // true (and consumed) if the next value is null
  bool ScanString(std::string_view* raw, bool* escaped);  // p_ at '"'
  bool DecodeString(std::string_view raw, std::string* out);
  bool ReadNumberText(std::string_view* text);

  const char* p_;
  const char* end_;
  const char* begin_;
  int depth_ = 0;
  // After BeginObject/BeginArray: true until the first member is read, so
  // NextKey/NextElement know whether a ',' must come first.
  bool first_ = false;
  std::string scratch_;  // decoded keys with escapes
  std::string error_;
};

}  // namespace nodepulse::collectors::kubelet

#endif  // NODEPULSE_COLLECTORS_KUBELET_JSON_READER_H_
