// /proc/diskstats: the procfs parser, node_exporter's default device filter
// on every name, and the cgroup collector's device-name line parser.
#include <cstdint>
#include <vector>

#include "cgroup_parsers.h"
#include "fuzz_util.h"
#include "proc_parsers.h"

namespace pf = nodepulse::collectors::procfs;
using nodepulse::fuzz::AsView;
using nodepulse::fuzz::Within;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in = AsView(data, size);
  static std::vector<pf::DiskLine> disks;
  size_t bad = pf::ParseDiskstats(in, &disks);
  FUZZ_CHECK(bad <= in.size());
  for (const pf::DiskLine& d : disks) {
    FUZZ_CHECK(!d.name.empty() && Within(d.name, in));
    FUZZ_CHECK(d.columns == 11 || d.columns == 15 || d.columns == 17);
    pf::DefaultDiskExcluded(d.name);
  }
  pf::DefaultDiskExcluded(in);
  uint32_t major, minor;
  std::string_view name;
  if (nodepulse::collectors::cgroup_internal::ParseDiskstatsLine(in, &major, &minor, &name)) {
    FUZZ_CHECK(Within(name, in));
  }
  return 0;
}
