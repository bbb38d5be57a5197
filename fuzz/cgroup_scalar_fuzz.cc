// Single-value cgroup files: memory.max/current, cpu.cfs_quota_us, pids.max,
// cgroup.procs (line count), v2 cpu.max, and the diskstats line parser the
// cgroup collector uses to name devices.
#include <cstdint>
#include <limits>
#include <string>

#include "cgroup_parsers.h"
#include "fuzz_util.h"

namespace cg = nodepulse::collectors::cgroup_internal;
using nodepulse::fuzz::AsView;
using nodepulse::fuzz::Within;

namespace {

std::string_view Trimmed(std::string_view s) {
  auto space = [](char c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

// A parsed decimal prints back as the input without its leading zeros.
void CheckRoundTrip(std::string_view text, const std::string& printed) {
  std::string_view digits = Trimmed(text);
  bool negative = !digits.empty() && digits.front() == '-';
  if (negative) digits.remove_prefix(1);
  while (digits.size() > 1 && digits.front() == '0') digits.remove_prefix(1);
  std::string expect = (negative && digits != "0" ? "-" : "") + std::string(digits);
  FUZZ_CHECK(printed == expect);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in = AsView(data, size);

  uint64_t u = 0;
  if (cg::ParseU64(in, &u)) CheckRoundTrip(in, std::to_string(u));

  bool is_max = false;
  if (cg::ParseU64OrMax(in, &u, &is_max)) {
    FUZZ_CHECK(!is_max || u == std::numeric_limits<uint64_t>::max());
    if (!is_max) CheckRoundTrip(in, std::to_string(u));
  }

  int64_t i = 0;
  if (cg::ParseI64(in, &i)) CheckRoundTrip(in, std::to_string(i));

  cg::CpuMax cpu_max;
  if (cg::ParseCpuMax(in, &cpu_max)) FUZZ_CHECK(!cpu_max.unlimited || cpu_max.quota_us == 0);

  uint64_t lines = cg::CountLines(in);
  FUZZ_CHECK(lines <= in.size());

  std::string_view rest = in;
  while (!rest.empty()) {
    size_t nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    rest.remove_prefix(nl == std::string_view::npos ? rest.size() : nl + 1);
    uint32_t major = 0, minor = 0;
    std::string_view name;
    if (cg::ParseDiskstatsLine(line, &major, &minor, &name)) {
      FUZZ_CHECK(!name.empty() && Within(name, line));
    }
  }
  return 0;
}
