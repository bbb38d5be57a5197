// cgroup v1 blkio.*io_service_bytes / io_serviced: "MAJ:MIN Op N" lines.
#include <cstdint>

#include "cgroup_parsers.h"
#include "fuzz_util.h"

namespace cg = nodepulse::collectors::cgroup_internal;
using nodepulse::fuzz::AsView;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in = AsView(data, size);
  size_t devices = 0;
  cg::ParseBlkio(in, [&](const cg::BlkioDevice&) { ++devices; });
  // One callback per run of lines of one device; each line is >= "M:m O N".
  FUZZ_CHECK(devices * 7 <= in.size() + 1);
  return 0;
}
