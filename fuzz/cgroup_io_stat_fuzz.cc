// cgroup v2 io.stat, token by token (devices may run together on one line).
#include <cstdint>

#include "cgroup_parsers.h"
#include "fuzz_util.h"

namespace cg = nodepulse::collectors::cgroup_internal;
using nodepulse::fuzz::AsView;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in = AsView(data, size);
  size_t devices = 0;
  cg::ParseIoStat(in, [&](const cg::IoStatDevice& d) {
    ++devices;
    (void)d;
  });
  // Each reported device needs at least "M:m" and "k=v" in the input.
  FUZZ_CHECK(devices * 6 <= in.size());
  return 0;
}
