// PSI files, both readers of the same format: cgroup v2 <ctrl>.pressure
// (cgroup collector) and /proc/pressure/{cpu,memory,io} (procfs collector).
#include <cmath>
#include <cstdint>

#include "cgroup_parsers.h"
#include "fuzz_util.h"
#include "proc_parsers.h"

using nodepulse::fuzz::AsView;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in = AsView(data, size);

  nodepulse::collectors::cgroup_internal::Pressure cg;
  nodepulse::collectors::cgroup_internal::ParsePressure(in, &cg);
  FUZZ_CHECK(cg.has_some || cg.some_total_us == 0);
  FUZZ_CHECK(cg.has_full || cg.full_total_us == 0);

  nodepulse::collectors::procfs::PressureData proc;
  size_t bad = nodepulse::collectors::procfs::ParsePressure(in, &proc);
  FUZZ_CHECK(bad <= in.size());
  for (const auto* line : {&proc.some, &proc.full}) {
    if (!line->present) continue;
    // from_chars(fixed) never yields NaN or infinity.
    FUZZ_CHECK(std::isfinite(line->avg10) && std::isfinite(line->avg60) &&
               std::isfinite(line->avg300));
  }
  return 0;
}
