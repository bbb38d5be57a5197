// "key value" cgroup files: cpu.stat, memory.stat, memory.events,
// cpuacct.stat, memory.oom_control, with the key sets the collector asks for
// and with the 64-key maximum the found-bitmask allows.
#include <cstdint>
#include <string>
#include <vector>

#include "absl/types/span.h"
#include "cgroup_parsers.h"
#include "fuzz_util.h"

namespace cg = nodepulse::collectors::cgroup_internal;
using nodepulse::fuzz::AsView;

namespace {

constexpr std::string_view kCollectorKeys[] = {
    "usage_usec", "user_usec", "system_usec", "nr_periods", "nr_throttled", "throttled_usec",
    "throttled_time", "anon", "file", "inactive_file", "active_file", "rss", "cache", "swap",
    "total_rss", "total_cache", "total_inactive_file", "total_swap", "oom", "oom_kill",
    "under_oom", "user", "system", "max", "high", "low"};

void Run(std::string_view in, absl::Span<const std::string_view> keys) {
  std::vector<uint64_t> values(keys.size(), 0);
  uint64_t found = ~uint64_t{0};
  cg::ParseKeyedU64(in, keys, values.data(), &found);
  if (keys.size() < 64) FUZZ_CHECK((found >> keys.size()) == 0);
  for (size_t i = 0; i < keys.size(); ++i) {
    // A found key's line exists in the input: "<key> ".
    if (found & (uint64_t{1} << i)) {
      FUZZ_CHECK(in.find(std::string(keys[i]) + " ") != std::string_view::npos);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in = AsView(data, size);
  Run(in, kCollectorKeys);
  Run(in, absl::Span<const std::string_view>(kCollectorKeys, 1));
  // 64 keys (the most ParseKeyedU64 takes); the names k0..k63 are generated once.
  static const std::vector<std::string>* names = [] {
    auto* v = new std::vector<std::string>();
    for (int i = 0; i < 64; ++i) v->push_back("k" + std::to_string(i));
    return v;
  }();
  static const std::vector<std::string_view>* views = [] {
    auto* v = new std::vector<std::string_view>(names->begin(), names->end());
    return v;
  }();
  Run(in, *views);
  return 0;
}
