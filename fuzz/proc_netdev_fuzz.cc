// /proc/net/dev.
#include <cstdint>
#include <vector>

#include "fuzz_util.h"
#include "proc_parsers.h"

namespace pf = nodepulse::collectors::procfs;
using nodepulse::fuzz::AsView;
using nodepulse::fuzz::Within;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in = AsView(data, size);
  static std::vector<pf::NetDevLine> devs;
  size_t bad = pf::ParseNetDev(in, &devs);
  FUZZ_CHECK(bad <= in.size());
  for (const pf::NetDevLine& d : devs) {
    FUZZ_CHECK(!d.name.empty() && Within(d.name, in));
    FUZZ_CHECK(d.name.find(':') == std::string_view::npos);
  }
  return 0;
}
