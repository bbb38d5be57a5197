#include "cgroup_parsers.h"

#include <charconv>
#include <limits>

namespace nodepulse::collectors::cgroup_internal {

namespace {

constexpr bool IsSpace(char c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r'; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

// Whole-token decimal; from_chars rejects signs, overflow and empty input.
bool TokenU64(std::string_view tok, uint64_t* out) {
  if (tok.empty()) return false;
  auto [p, ec] = std::from_chars(tok.data(), tok.data() + tok.size(), *out);
  return ec == std::errc() && p == tok.data() + tok.size();
}

bool TokenU32(std::string_view tok, uint32_t* out) {
  if (tok.empty()) return false;
  auto [p, ec] = std::from_chars(tok.data(), tok.data() + tok.size(), *out);
  return ec == std::errc() && p == tok.data() + tok.size();
}

// "MAJ:MIN" exactly.
bool TokenDevice(std::string_view tok, uint32_t* major, uint32_t* minor) {
  size_t colon = tok.find(':');
  if (colon == std::string_view::npos) return false;
  return TokenU32(tok.substr(0, colon), major) && TokenU32(tok.substr(colon + 1), minor);
}

// Splits off the next line (without '\n'); the last line may lack one.
std::string_view NextLine(std::string_view* rest) {
  size_t nl = rest->find('\n');
  std::string_view line;
  if (nl == std::string_view::npos) {
    line = *rest;
    *rest = {};
  } else {
    line = rest->substr(0, nl);
    rest->remove_prefix(nl + 1);
  }
  return line;
}

// Next whitespace-separated token; empty at the end.
std::string_view NextToken(std::string_view* rest) {
  size_t i = 0;
  while (i < rest->size() && IsSpace((*rest)[i])) ++i;
  size_t j = i;
  while (j < rest->size() && !IsSpace((*rest)[j])) ++j;
  std::string_view tok = rest->substr(i, j - i);
  rest->remove_prefix(j);
  return tok;
}

}  // namespace

bool ParseU64(std::string_view text, uint64_t* out) { return TokenU64(Trim(text), out); }

bool ParseU64OrMax(std::string_view text, uint64_t* out, bool* is_max) {
  text = Trim(text);
  if (text == "max") {
    *is_max = true;
    *out = std::numeric_limits<uint64_t>::max();
    return true;
  }
  *is_max = false;
  return TokenU64(text, out);
}

bool ParseI64(std::string_view text, int64_t* out) {
  text = Trim(text);
  if (text.empty()) return false;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && p == text.data() + text.size();
}

bool ParseKeyedU64(std::string_view text, absl::Span<const std::string_view> keys,
                   uint64_t* values, uint64_t* found) {
  bool ok = true;
  *found = 0;
  const uint64_t all = keys.size() >= 64 ? ~uint64_t{0} : (uint64_t{1} << keys.size()) - 1;
  while (!text.empty() && *found != all) {
    std::string_view line = NextLine(&text);
    if (line.empty()) continue;
    size_t sp = line.find(' ');
    if (sp == std::string_view::npos) {
      ok = false;  // a key with no value: truncated or not this format
      continue;
    }
    std::string_view key = line.substr(0, sp);
    for (size_t i = 0; i < keys.size(); ++i) {
      if (key.size() != keys[i].size() || key != keys[i]) continue;
      if (TokenU64(Trim(line.substr(sp + 1)), &values[i])) {
        *found |= uint64_t{1} << i;
      } else {
        ok = false;
      }
      break;
    }
  }
  return ok;
}

bool ParseCpuMax(std::string_view text, CpuMax* out) {
  std::string_view quota = NextToken(&text);
  std::string_view period = NextToken(&text);
  if (!Trim(text).empty()) return false;
  if (!TokenU64(period, &out->period_us)) return false;
  if (quota == "max") {
    out->unlimited = true;
    out->quota_us = 0;
    return true;
  }
  out->unlimited = false;
  return TokenU64(quota, &out->quota_us);
}

bool ParsePressure(std::string_view text, Pressure* out) {
  *out = Pressure{};
  bool ok = true;
  while (!text.empty()) {
    std::string_view line = NextLine(&text);
    if (line.empty()) continue;
    std::string_view kind = NextToken(&line);
    bool some = kind == "some";
    if (!some && kind != "full") {
      ok = false;
      continue;
    }
    bool have_total = false;
    for (std::string_view tok = NextToken(&line); !tok.empty(); tok = NextToken(&line)) {
      if (tok.substr(0, 6) != "total=") continue;
      uint64_t v;
      if (!TokenU64(tok.substr(6), &v)) break;
      have_total = true;
      if (some) {
        out->some_total_us = v;
        out->has_some = true;
      } else {
        out->full_total_us = v;
        out->has_full = true;
      }
    }
    if (!have_total) ok = false;
  }
  return ok;
}

bool ParseIoStat(std::string_view text, absl::FunctionRef<void(const IoStatDevice&)> fn) {
  bool ok = true;
  IoStatDevice dev;
  bool have_dev = false;
  bool have_stats = false;
  auto flush = [&] {
    if (have_dev && have_stats) fn(dev);
    have_stats = false;
  };
  for (std::string_view tok = NextToken(&text); !tok.empty(); tok = NextToken(&text)) {
    size_t eq = tok.find('=');
    if (eq == std::string_view::npos) {
      flush();
      uint32_t major, minor;
      have_dev = TokenDevice(tok, &major, &minor);
      if (!have_dev) {
        ok = false;
        continue;
      }
      dev = IoStatDevice{};
      dev.major = major;
      dev.minor = minor;
      continue;
    }
    if (!have_dev) {
      ok = false;
      continue;
    }
    std::string_view key = tok.substr(0, eq);
    uint64_t* slot = nullptr;
    if (key == "rbytes") slot = &dev.rbytes;
    else if (key == "wbytes") slot = &dev.wbytes;
    else if (key == "rios") slot = &dev.rios;
    else if (key == "wios") slot = &dev.wios;
    if (slot == nullptr) continue;
    if (TokenU64(tok.substr(eq + 1), slot)) {
      have_stats = true;
    } else {
      ok = false;
    }
  }
  flush();
  return ok;
}

bool ParseBlkio(std::string_view text, absl::FunctionRef<void(const BlkioDevice&)> fn) {
  bool ok = true;
  BlkioDevice dev;
  bool have_dev = false;
  while (!text.empty()) {
    std::string_view line = NextLine(&text);
    std::string_view first = NextToken(&line);
    if (first.empty()) continue;
    std::string_view op = NextToken(&line);
    std::string_view value = NextToken(&line);
    if (first == "Total") continue;  // device-less grand total
    uint32_t major, minor;
    uint64_t v;
    if (!TokenDevice(first, &major, &minor) || op.empty() || !TokenU64(value, &v)) {
      ok = false;
      continue;
    }
    if (have_dev && (major != dev.major || minor != dev.minor)) {
      fn(dev);
      have_dev = false;
    }
    if (!have_dev) {
      dev = BlkioDevice{};
      dev.major = major;
      dev.minor = minor;
      have_dev = true;
    }
    if (op == "Read") dev.read = v;
    else if (op == "Write") dev.write = v;
  }
  if (have_dev) fn(dev);
  return ok;
}

uint64_t CountLines(std::string_view text) {
  uint64_t n = 0;
  bool in_line = false;
  for (char c : text) {
    if (c == '\n') {
      n += in_line;
      in_line = false;
    } else {
      in_line = true;
    }
  }
  return n + in_line;
}

bool ParseMountInfoLine(std::string_view line, MountInfo* out) {
  // Fields 1-3 (ids, major:minor), 4 root, 5 mount point, 6 options, then
  // optional fields up to "-", then fs type, source, super options.
  for (int i = 0; i < 3; ++i) {
    if (NextToken(&line).empty()) return false;
  }
  out->root = NextToken(&line);
  out->mount_point = NextToken(&line);
  if (NextToken(&line).empty()) return false;  // mount options
  for (;;) {
    std::string_view tok = NextToken(&line);
    if (tok.empty()) return false;
    if (tok == "-") break;
  }
  out->fs_type = NextToken(&line);
  std::string_view source = NextToken(&line);
  out->super_options = NextToken(&line);
  return !out->mount_point.empty() && !out->fs_type.empty() && !source.empty();
}

bool ParseDiskstatsLine(std::string_view line, uint32_t* major, uint32_t* minor,
                        std::string_view* name) {
  if (!TokenU32(NextToken(&line), major)) return false;
  if (!TokenU32(NextToken(&line), minor)) return false;
  *name = NextToken(&line);
  return !name->empty();
}

}  // namespace nodepulse::collectors::cgroup_internal
