// /proc/stat.
#include <cstdint>

#include "fuzz_util.h"
#include "proc_parsers.h"

namespace pf = nodepulse::collectors::procfs;
using nodepulse::fuzz::AsView;
using nodepulse::fuzz::Within;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in = AsView(data, size);
  static pf::StatData out;  // reused, as the collector does
  size_t bad = pf::ParseStat(in, &out);
  FUZZ_CHECK(bad <= in.size());
  auto check = [&](const pf::CpuLine& c) {
    FUZZ_CHECK(Within(c.name, in) && Within(c.id, in));
    FUZZ_CHECK(c.columns >= 4 && c.columns <= pf::kCpuColumns);
  };
  if (out.total) check(*out.total);
  for (const pf::CpuLine& c : out.cpus) check(c);
  return 0;
}
