// Query parameters of the HTTP API (HttpRequest::Param, URL-decoding) and
// the --listen address check. Input: "<name>\n<value>\n<raw query>".
//  - the raw query is looked up under the API's parameter names;
//  - name/value are percent-encoded (fully, and only where needed) into a
//    query after the raw one, and Param must give the value back unless the
//    raw part already had that name.
#include <cstdint>
#include <string>

#include "fuzz_util.h"
#include "nodepulse/exporters/http/http_server.h"

namespace ex = nodepulse::exporters;
using nodepulse::fuzz::AsView;

namespace {

std::string Encode(std::string_view s, bool all) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : s) {
    bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '-' || c == '_' || c == '.' || c == '~';
    if (!all && c != '%' && c != '&' && c != '=' && c != '+' && c != '#') plain = true;
    if (plain) {
      out += c;
    } else {
      out += '%';
      out += kHex[static_cast<unsigned char>(c) >> 4];
      out += kHex[static_cast<unsigned char>(c) & 15];
    }
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in = AsView(data, size);
  size_t a = in.find('\n');
  std::string_view name = in.substr(0, a);
  std::string_view value, raw;
  if (a != std::string_view::npos) {
    std::string_view rest = in.substr(a + 1);
    size_t b = rest.find('\n');
    value = rest.substr(0, b);
    if (b != std::string_view::npos) raw = rest.substr(b + 1);
  }

  ex::HttpRequest req;
  req.query = std::string(raw);
  for (const char* p : {"window", "series", "agg", "pod", "namespace", "q", ""}) req.Param(p);
  req.Param(absl::string_view(name.data(), name.size()));
  req.Header("accept");
  absl::Status listen = ex::ValidateListenAddress(absl::string_view(in.data(), in.size()));
  (void)listen;

  // Round trip; skipped when the name is empty (an empty key matches pairs
  // like "&&") or when the raw part could already hold the name.
  if (!name.empty() && raw.empty()) {
    for (bool all : {true, false}) {
      req.query = Encode(name, all) + "=" + Encode(value, all);
      std::string got = req.Param(absl::string_view(name.data(), name.size()));
      FUZZ_CHECK(got == value);
    }
  }
  return 0;
}
