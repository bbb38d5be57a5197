// /metrics content negotiation and the text-to-protobuf path. Input:
// "<Accept header>\n<text exposition>".
//  - PrefersProtobufExposition takes any Accept header (a scrape's, so
//    untrusted) without crashing;
//  - ParseTextExposition either rejects the text or gives families that
//    AppendProtobufFamilies encodes; every sample it accepted is in them.
#include <cstdint>
#include <string>

#include "fuzz_util.h"
#include "nodepulse/exporters/prometheus/protobuf_exposition.h"

namespace ex = nodepulse::exporters;
using nodepulse::fuzz::AsView;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // absl::string_view is not std::string_view in Debian's abseil.
  const std::string_view std_in = AsView(data, size);
  const absl::string_view in(std_in.data(), std_in.size());
  const size_t nl = in.find('\n');
  const absl::string_view accept = in.substr(0, nl);
  (void)ex::PrefersProtobufExposition(accept);
  if (nl == absl::string_view::npos) return 0;
  auto fams = ex::ParseTextExposition(in.substr(nl + 1));
  if (!fams.ok()) return 0;
  std::string out;
  ex::AppendProtobufFamilies(*fams, &out);
  size_t metrics = 0;
  for (const auto& f : *fams) metrics += f.metric.size();
  if (metrics > 0 && out.empty()) __builtin_trap();
  return 0;
}
