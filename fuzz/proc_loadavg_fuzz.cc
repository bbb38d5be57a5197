// /proc/loadavg.
#include <cmath>
#include <cstdint>

#include "fuzz_util.h"
#include "proc_parsers.h"

namespace pf = nodepulse::collectors::procfs;
using nodepulse::fuzz::AsView;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  pf::LoadavgData out;
  size_t bad = pf::ParseLoadavg(AsView(data, size), &out);
  FUZZ_CHECK(bad <= 1);
  FUZZ_CHECK(out.valid == (bad == 0));
  if (out.valid) {
    FUZZ_CHECK(std::isfinite(out.load1) && std::isfinite(out.load5) && std::isfinite(out.load15));
  }
  return 0;
}
