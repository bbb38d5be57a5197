#include "proc_parsers.h"

#include <algorithm>

#include "proc_scan.h"

namespace nodepulse::collectors::procfs {
namespace {

bool AllDigits(std::string_view s) {
  return !s.empty() &&
         std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool IsLower(char c) { return c >= 'a' && c <= 'z'; }

bool IsBlankLine(std::string_view line) {
  return std::all_of(line.begin(), line.end(), [](char c) { return IsBlank(c) || c == '\r'; });
}

// Parses the single number after a /proc/stat key, e.g. "ctxt 653627".
bool ParseStatScalar(std::string_view rest, std::optional<uint64_t>* out) {
  uint64_t v;
  if (!ParseU64(NextField(&rest), &v) || !NextField(&rest).empty()) return false;
  *out = v;
  return true;
}

}  // namespace

size_t ParseStat(std::string_view text, StatData* out) {
  out->total.reset();
  out->cpus.clear();
  out->intr.reset();
  out->ctxt.reset();
  out->btime.reset();
  out->processes.reset();
  out->procs_running.reset();
  out->procs_blocked.reset();
  size_t bad = 0;
  std::string_view line;
  while (NextLine(&text, &line)) {
    std::string_view rest = line;
    std::string_view key = NextField(&rest);
    if (key.empty()) continue;
    bool ok = true;
    if (key.substr(0, 3) == "cpu") {
      CpuLine cpu;
      cpu.name = key;
      cpu.id = key.substr(3);
      // The kernel has printed at least user/nice/system/idle since 2.4.
      int n = ParseU64Fields(rest, cpu.ticks, kCpuColumns);
      ok = n >= 4 && (cpu.id.empty() || AllDigits(cpu.id));
      if (ok) {
        cpu.columns = std::min(n, static_cast<int>(kCpuColumns));
        if (cpu.id.empty()) {
          out->total = cpu;
        } else {
          out->cpus.push_back(cpu);
        }
      }
    } else if (key == "intr") {
      // Only the total: on big machines the per-IRQ tail of this line is
      // over 100 KB of mostly zeros, and node_intr_total is all we export.
      uint64_t v;
      ok = ParseU64(NextField(&rest), &v);
      if (ok) out->intr = v;
    } else if (key == "ctxt") {
      ok = ParseStatScalar(rest, &out->ctxt);
    } else if (key == "btime") {
      ok = ParseStatScalar(rest, &out->btime);
    } else if (key == "processes") {
      ok = ParseStatScalar(rest, &out->processes);
    } else if (key == "procs_running") {
      ok = ParseStatScalar(rest, &out->procs_running);
    } else if (key == "procs_blocked") {
      ok = ParseStatScalar(rest, &out->procs_blocked);
    }
    // Other keys (softirq, page, swap on old kernels) are not exported.
    if (!ok) ++bad;
  }
  return bad;
}

size_t ParseMeminfo(std::string_view text, std::vector<MeminfoField>* out) {
  out->clear();
  size_t bad = 0;
  std::string_view line;
  while (NextLine(&text, &line)) {
    if (IsBlankLine(line)) continue;
    std::string_view rest = line;
    std::string_view key = NextField(&rest);
    MeminfoField f;
    std::string_view unit;
    bool ok = key.size() > 1 && key.back() == ':' && ParseU64(NextField(&rest), &f.value);
    if (ok) {
      unit = NextField(&rest);
      // "kB" is the only unit meminfo has ever printed (it means KiB).
      ok = (unit.empty() || unit == "kB") && NextField(&rest).empty();
    }
    if (!ok) {
      ++bad;
      continue;
    }
    f.name = key.substr(0, key.size() - 1);
    f.kb = !unit.empty();
    out->push_back(f);
  }
  return bad;
}

std::string MeminfoMetricName(std::string_view key, bool has_unit) {
  std::string name = "node_memory_";
  name.reserve(name.size() + key.size() + 6);
  for (char c : key) {
    // node_exporter rewrites "(anon)" with \((.*)\) -> _$1: the opening
    // parenthesis becomes '_' and the closing one disappears.
    if (c == ')') continue;
    bool legal = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                 (c >= '0' && c <= '9') || c == '_';
    name.push_back(legal ? c : '_');
  }
  if (has_unit) name += "_bytes";
  return name;
}

size_t ParseLoadavg(std::string_view text, LoadavgData* out) {
  *out = LoadavgData();
  std::string_view line;
  if (!NextLine(&text, &line)) return 1;
  double v[3];
  for (double& d : v) {
    if (!ParseDouble(NextField(&line), &d)) return 1;
  }
  out->load1 = v[0];
  out->load5 = v[1];
  out->load15 = v[2];
  out->valid = true;
  return 0;
}

namespace {

// "avg10=0.10 avg60=2.00 avg300=3.85 total=15", keys in any order, all four
// required.
bool ParsePsiFields(std::string_view rest, PsiLine* psi) {
  int seen = 0;
  for (std::string_view f = NextField(&rest); !f.empty(); f = NextField(&rest)) {
    size_t eq = f.find('=');
    if (eq == std::string_view::npos) return false;
    std::string_view k = f.substr(0, eq), v = f.substr(eq + 1);
    bool ok = true;  // keys added by a future kernel are ignored
    if (k == "avg10") {
      ok = ParseDouble(v, &psi->avg10);
      seen |= 1;
    } else if (k == "avg60") {
      ok = ParseDouble(v, &psi->avg60);
      seen |= 2;
    } else if (k == "avg300") {
      ok = ParseDouble(v, &psi->avg300);
      seen |= 4;
    } else if (k == "total") {
      ok = ParseU64(v, &psi->total_us);
      seen |= 8;
    }
    if (!ok) return false;
  }
  psi->present = seen == 15;
  return psi->present;
}

}  // namespace

size_t ParsePressure(std::string_view text, PressureData* out) {
  *out = PressureData();
  size_t bad = 0;
  std::string_view line;
  while (NextLine(&text, &line)) {
    if (IsBlankLine(line)) continue;
    std::string_view rest = line;
    std::string_view kind = NextField(&rest);
    PsiLine* dst = kind == "some" ? &out->some : kind == "full" ? &out->full : nullptr;
    PsiLine parsed;
    if (dst == nullptr || !ParsePsiFields(rest, &parsed)) {
      ++bad;
      continue;
    }
    *dst = parsed;
  }
  return bad;
}

size_t ParseDiskstats(std::string_view text, std::vector<DiskLine>* out) {
  out->clear();
  size_t bad = 0;
  std::string_view line;
  while (NextLine(&text, &line)) {
    if (IsBlankLine(line)) continue;
    std::string_view rest = line;
    DiskLine d;
    uint64_t major, minor;
    bool ok = ParseU64(NextField(&rest), &major) && ParseU64(NextField(&rest), &minor) &&
              major <= UINT32_MAX && minor <= UINT32_MAX;
    if (ok) {
      d.name = NextField(&rest);
      int n = ParseU64Fields(rest, d.stats, kDiskColumns);
      // Exactly the three layouts kernels print; more than 17 means a newer
      // kernel appended columns, which iostats.rst promises to do only at the
      // end, so the first 17 keep their meaning.
      ok = !d.name.empty() && (n == 11 || n == 15 || n >= 17);
      d.columns = std::min(n, static_cast<int>(kDiskColumns));
    }
    if (!ok) {
      ++bad;
      continue;
    }
    d.major = static_cast<uint32_t>(major);
    d.minor = static_cast<uint32_t>(minor);
    out->push_back(d);
  }
  return bad;
}

bool DefaultDiskExcluded(std::string_view device) {
  // Every alternative of the regex ends in a non-digit and is followed by
  // \d+$, so "strip all trailing digits, then match the prefix" is the same
  // language.
  size_t end = device.size();
  while (end > 0 && device[end - 1] >= '0' && device[end - 1] <= '9') --end;
  if (end == device.size()) return false;
  std::string_view p = device.substr(0, end);
  if (p == "ram" || p == "zram" || p == "loop" || p == "fd") return true;
  // (h|s|v|xv)d[a-z]
  if (p.size() == 3 && (p[0] == 'h' || p[0] == 's' || p[0] == 'v') && p[1] == 'd' &&
      IsLower(p[2])) {
    return true;
  }
  if (p.size() == 4 && p.substr(0, 3) == "xvd" && IsLower(p[3])) return true;
  // nvme\d+n\d+p
  if (p.size() >= 8 && p.substr(0, 4) == "nvme" && p.back() == 'p') {
    std::string_view mid = p.substr(4, p.size() - 5);  // "\d+n\d+"
    size_t n = mid.find('n');
    return n != std::string_view::npos && AllDigits(mid.substr(0, n)) &&
           AllDigits(mid.substr(n + 1));
  }
  return false;
}

size_t ParseNetDev(std::string_view text, std::vector<NetDevLine>* out) {
  out->clear();
  size_t bad = 0;
  std::string_view line;
  while (NextLine(&text, &line)) {
    if (IsBlankLine(line)) continue;
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) {
      // The two header lines ("Inter-|   Receive ..." and " face |bytes ...")
      // are the only colon-less lines the kernel prints.
      if (line.find('|') == std::string_view::npos) ++bad;
      continue;
    }
    std::string_view name_part = line.substr(0, colon);
    NetDevLine d;
    d.name = NextField(&name_part);
    // Old kernels print "eth0:123" with no blank after the colon, so the
    // numbers start right after it either way.
    int n = ParseU64Fields(line.substr(colon + 1), d.stats, kNetColumns);
    if (d.name.empty() || !NextField(&name_part).empty() || n < kNetColumns) {
      ++bad;
      continue;
    }
    out->push_back(d);
  }
  return bad;
}

}  // namespace nodepulse::collectors::procfs
