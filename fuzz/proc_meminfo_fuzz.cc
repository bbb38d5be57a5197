// /proc/meminfo and the Prometheus metric name made from each key.
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_util.h"
#include "proc_parsers.h"

namespace pf = nodepulse::collectors::procfs;
using nodepulse::fuzz::AsView;
using nodepulse::fuzz::Within;

namespace {

// [a-zA-Z_:][a-zA-Z0-9_:]*, the Prometheus metric-name grammar.
bool ValidMetricName(const std::string& s) {
  if (s.empty()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
    if (!alpha && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in = AsView(data, size);
  static std::vector<pf::MeminfoField> fields;
  size_t bad = pf::ParseMeminfo(in, &fields);
  FUZZ_CHECK(bad <= in.size());
  for (const pf::MeminfoField& f : fields) {
    FUZZ_CHECK(!f.name.empty() && Within(f.name, in));
    FUZZ_CHECK(ValidMetricName(pf::MeminfoMetricName(f.name, f.kb)));
  }
  // Any byte string as a key still gives a legal name.
  FUZZ_CHECK(ValidMetricName(pf::MeminfoMetricName(in, false)));
  return 0;
}
