// Renderers of a HealthReport: JSON (/api/v1/health), a terminal summary
// (?format=text, `nodepulse health`) and the `nodepulse top` table
// (?format=top). All pure functions.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "nodepulse/base/json_writer.h"
#include "nodepulse/exporters/health/health.h"

namespace nodepulse::exporters {

using base::JsonWriter;

namespace {

constexpr const char* kPsiResources[3] = {"cpu", "memory", "io"};
constexpr const char* kPsiKinds[2] = {"some", "full"};
constexpr const char* kPsiWindows[3] = {"avg10", "avg60", "avg300"};

std::string Rfc3339(int64_t ms) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::FromUnixMillis(ms), absl::UTCTimeZone());
}
std::string Clock(int64_t ms) {
  return absl::FormatTime("%H:%M:%S", absl::FromUnixMillis(ms), absl::UTCTimeZone());
}

std::string Fixed(double v, int decimals) {
  if (!std::isfinite(v)) return "-";
  char buf[48];
  std::snprintf(buf, sizeof(buf), "%.*f", decimals, v);
  return buf;
}

void EntityFields(JsonWriter& j, const EntityRef& r) {
  j.Field("id", r.id);
  j.Field("namespace", r.namespace_name);
  j.Field("pod", r.pod);
  j.Field("container", r.container);
  if (!r.workload.empty()) {
    j.Field("workload", r.workload);
    j.Field("workload_kind", r.workload_kind);
  }
}

void ContainerJson(JsonWriter& j, const ContainerHealth& c) {
  j.BeginObject();
  EntityFields(j, c.ref);
  j.Field("cpu_cores", c.cpu_cores);
  j.Field("cpu_cores_now", c.cpu_cores_now);
  j.Field("cpu_limit_cores", c.cpu_limit_cores);
  j.Field("throttled_ratio", c.throttled_ratio);
  j.Field("throttled_ratio_now", c.throttled_ratio_now);
  j.Field("memory_working_set_bytes", c.working_set_bytes);
  j.Field("memory_limit_bytes", c.memory_limit_bytes);
  j.Field("memory_limit_ratio", c.memory_limit_ratio);
  j.Field("memory_rss_bytes", c.rss_bytes);
  j.Key("pressure_some").BeginObject();
  for (int k = 0; k < 3; ++k) j.Field(kPsiResources[k], c.psi_some[k]);
  j.EndObject();
  j.EndObject();
}

void Rows(JsonWriter& j, std::string_view key, const HealthReport& r, const std::vector<uint32_t>& idx) {
  j.Key(key).BeginArray();
  for (uint32_t i : idx) ContainerJson(j, r.containers[i]);
  j.EndArray();
}

void Events(JsonWriter& j, std::string_view key, const std::vector<EventCount>& events) {
  j.Key(key).BeginArray();
  for (const EventCount& e : events) {
    j.BeginObject();
    EntityFields(j, e.ref);
    j.Field("last_window", e.recent);
    j.Field("total", e.total);
    if (e.first_ms) j.Field("first", Rfc3339(e.first_ms));
    if (e.last_ms) j.Field("last", Rfc3339(e.last_ms));
    j.EndObject();
  }
  j.EndArray();
}

std::string Pad(std::string s, size_t w, bool right = false) {
  if (s.size() > w) {
    // Keep the tail: pod and container names differ at the end.
    s = w > 2 ? ".." + s.substr(s.size() - (w - 2)) : s.substr(0, w);
  }
  std::string pad(w - s.size(), ' ');
  return right ? pad + s : s + pad;
}

std::string Cores(double v) { return Fixed(v, 2); }

std::string Since(const HealthReport& r, int64_t since_ms) {
  return absl::StrCat("since ", Clock(since_ms), " UTC (", FormatDurationRounded(r.timestamp_ms - since_ms), ")");
}

}  // namespace

std::string FormatBytes(double b) {
  if (!std::isfinite(b)) return "-";
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  double v = b;
  while (std::fabs(v) >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof(buf), u == 0 ? "%.0f %s" : (v < 10 ? "%.1f %s" : "%.0f %s"), v, units[u]);
  return buf;
}

std::string FormatPercent(double ratio) {
  if (!std::isfinite(ratio)) return "-";
  char buf[32];
  double p = ratio * 100;
  std::snprintf(buf, sizeof(buf), p > 0 && p < 10 ? "%.1f%%" : "%.0f%%", p);
  return buf;
}

std::string FormatDurationRounded(int64_t ms) {
  if (ms < 0) ms = 0;
  int64_t s = ms / 1000;
  if (s < 60) return absl::StrCat(s, "s");
  if (s < 3600) {
    if (s % 60 == 0) return absl::StrCat(s / 60, "m");
    return absl::StrCat(s / 60, "m", s % 60 < 10 ? "0" : "", s % 60, "s");
  }
  if (s < 86400) {
    if (s % 3600 == 0) return absl::StrCat(s / 3600, "h");
    return absl::StrCat(s / 3600, "h", (s % 3600) / 60 < 10 ? "0" : "", (s % 3600) / 60, "m");
  }
  return absl::StrCat(s / 86400, "d", (s % 86400) / 3600, "h");
}

std::string RenderHealthJson(const HealthReport& r) {
  JsonWriter j;
  j.BeginObject();
  j.Field("status", r.Status());
  j.Field("node", r.node_name);
  j.Field("timestamp", Rfc3339(r.timestamp_ms));
  j.FieldInt("timestamp_ms", r.timestamp_ms);
  j.FieldInt("cycle", static_cast<int64_t>(r.cycle));
  j.FieldBool("kubernetes", r.kubernetes);
  j.FieldInt("window_seconds", r.window_ms / 1000);

  j.Key("findings").BeginArray();
  for (const Finding& f : r.findings) {
    j.BeginObject();
    j.Field("severity", SeverityName(f.severity));
    j.Field("kind", f.kind);
    EntityFields(j, f.ref);
    if (!f.resource.empty()) j.Field("resource", f.resource);
    j.Field("value", f.value);
    j.Field("threshold", f.threshold);
    j.Field("summary", f.summary);
    j.Field("since", Rfc3339(f.since_ms));
    j.FieldInt("since_ms", f.since_ms);
    j.FieldInt("for_seconds", (r.timestamp_ms - f.since_ms) / 1000);
    j.EndObject();
  }
  j.EndArray();

  const NodeHealth& n = r.node;
  j.Key("node_stats").BeginObject();
  j.Key("cpu").BeginObject();
  j.Field("cores", n.cpu_count);
  j.Field("busy_cores", n.cpu_busy_cores);
  j.Field("busy_cores_now", n.cpu_busy_cores_now);
  j.Field("busy_ratio", n.cpu_count > 0 ? n.cpu_busy_cores / n.cpu_count : kHealthNaN);
  j.Field("iowait_cores", n.cpu_iowait_cores);
  j.EndObject();
  j.Key("memory").BeginObject();
  j.Field("total_bytes", n.memory_total_bytes);
  j.Field("available_bytes", n.memory_available_bytes);
  j.Field("used_ratio", n.memory_total_bytes > 0 ? 1 - n.memory_available_bytes / n.memory_total_bytes
                                                 : kHealthNaN);
  j.EndObject();
  j.Key("load").BeginObject();
  j.Field("load1", n.load1).Field("load5", n.load5).Field("load15", n.load15);
  j.EndObject();
  j.Key("pressure").BeginObject();
  for (int a = 0; a < 3; ++a) {
    j.Key(kPsiResources[a]).BeginObject();
    for (int b = 0; b < 2; ++b) {
      j.Key(kPsiKinds[b]).BeginObject();
      for (int c = 0; c < 3; ++c) j.Field(kPsiWindows[c], n.psi[a][b][c]);
      j.EndObject();
    }
    j.EndObject();
  }
  j.EndObject();
  j.EndObject();

  j.Key("containers").BeginObject();
  j.FieldInt("count", static_cast<int64_t>(r.containers.size()));
  Rows(j, "top_cpu", r, r.top_cpu);
  Rows(j, "top_memory", r, r.top_memory);
  Rows(j, "top_throttled", r, r.top_throttled);
  Rows(j, "near_memory_limit", r, r.near_limit);
  j.EndObject();

  j.Key("events").BeginObject();
  j.FieldInt("window_seconds", r.events_window_ms / 1000);
  Events(j, "oom_kills", r.oom_kills);
  Events(j, "workload_oom_kills", r.workload_oom_kills);
  Events(j, "restarts", r.restarts);
  j.EndObject();

  const AgentCost& a = r.agent;
  j.Key("agent").BeginObject();
  j.Field("uptime_seconds", a.uptime_seconds);
  j.Field("cycles", a.cycles);
  j.Field("cycle_seconds_avg", a.cycle_seconds_avg);
  j.Field("cycle_seconds_last", a.cycle_seconds_last);
  j.Field("cpu_cores", a.cpu_cores);
  j.Field("rss_bytes", a.rss_bytes);
  j.Field("pipeline_bytes", a.pipeline_bytes);
  j.Field("series", a.series);
  j.Field("entities", a.entities);
  j.Field("series_dropped", a.series_dropped);
  j.Field("read_errors", a.read_errors);
  j.Field("parse_errors", a.parse_errors);
  j.Field("cycle_overruns", a.overruns);
  j.Key("failing_collectors").BeginArray();
  for (const std::string& c : a.failing_collectors) j.String(c);
  j.EndArray();
  j.EndObject();
  j.EndObject();
  std::string out = j.Take();
  out += '\n';
  return out;
}

namespace {

std::string NodeLines(const HealthReport& r) {
  const NodeHealth& n = r.node;
  std::string s;
  absl::StrAppend(&s, "cpu     ", Cores(n.cpu_busy_cores), " of ", Fixed(n.cpu_count, 0), " cores busy (",
                  FormatPercent(n.cpu_count > 0 ? n.cpu_busy_cores / n.cpu_count : NAN), ", 1m avg; now ",
                  Cores(n.cpu_busy_cores_now), ")   iowait ", Cores(n.cpu_iowait_cores), "   load ",
                  Fixed(n.load1, 2), " ", Fixed(n.load5, 2), " ", Fixed(n.load15, 2), "\n");
  double used = n.memory_total_bytes - n.memory_available_bytes;
  absl::StrAppend(&s, "memory  ", FormatBytes(used), " of ", FormatBytes(n.memory_total_bytes), " used (",
                  FormatPercent(used / n.memory_total_bytes), ")   available ",
                  FormatBytes(n.memory_available_bytes), "\n");
  absl::StrAppend(&s, "psi     ");
  for (int k = 0; k < 3; ++k) {
    absl::StrAppend(&s, kPsiResources[k], " some ", FormatPercent(n.psi[k][0][0]), "/",
                    FormatPercent(n.psi[k][0][1]), "/", FormatPercent(n.psi[k][0][2]));
    if (k > 0) absl::StrAppend(&s, " full ", FormatPercent(n.psi[k][1][1]));
    absl::StrAppend(&s, k < 2 ? "   " : "");
  }
  absl::StrAppend(&s, "   (avg10/60/300; full avg60)\n");
  return s;
}

}  // namespace

std::string RenderHealthText(const HealthReport& r) {
  std::string s;
  size_t crit = 0;
  for (const Finding& f : r.findings) crit += f.severity == Severity::kCritical;
  std::string status = r.Status();
  for (char& c : status) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  absl::StrAppend(&s, "nodepulse health: ", status, " - ", r.node_name, " - ", r.findings.size(), " finding",
                  r.findings.size() == 1 ? "" : "s");
  if (crit) absl::StrAppend(&s, " (", crit, " critical)");
  absl::StrAppend(&s, " - ", absl::FormatTime("%Y-%m-%d %H:%M:%S UTC", absl::FromUnixMillis(r.timestamp_ms),
                                               absl::UTCTimeZone()),
                  "\n\n");
  absl::StrAppend(&s, NodeLines(r), "\n");

  if (r.findings.empty()) {
    absl::StrAppend(&s, "No findings: nothing near its memory limit, throttled, OOM-killed or restarting; "
                        "node CPU, memory and pressure within thresholds.\n\n");
  } else {
    absl::StrAppend(&s, "FINDINGS\n");
    for (const Finding& f : r.findings) {
      std::string who = f.ref.DisplayName();
      if (who.empty()) who = f.resource.empty() ? "node" : absl::StrCat("node ", f.resource);
      absl::StrAppend(&s, "  ", f.severity == Severity::kCritical ? "CRIT" : "WARN", "  ", Pad(f.kind, 18), "  ",
                      who, "\n        ", f.summary, ", ", Since(r, f.since_ms), "\n");
    }
    absl::StrAppend(&s, "\n");
  }

  auto table = [&](const char* title, const std::vector<uint32_t>& idx, size_t max_rows) {
    if (idx.empty()) return;
    absl::StrAppend(&s, title, "\n");
    absl::StrAppend(&s, "  ", Pad("CONTAINER", 58), Pad("CPU 1M", 8, true), Pad("NOW", 7, true),
                    Pad("THROTL", 8, true), Pad("MEM WS", 10, true), Pad("LIMIT", 10, true),
                    Pad("%LIM", 6, true), "\n");
    for (size_t k = 0; k < idx.size() && k < max_rows; ++k) {
      const ContainerHealth& c = r.containers[idx[k]];
      absl::StrAppend(&s, "  ", Pad(c.ref.DisplayName(), 58), Pad(Cores(c.cpu_cores), 8, true),
                      Pad(Cores(c.cpu_cores_now), 7, true), Pad(FormatPercent(c.throttled_ratio), 8, true),
                      Pad(FormatBytes(c.working_set_bytes), 10, true), Pad(FormatBytes(c.memory_limit_bytes), 10, true),
                      Pad(FormatPercent(c.memory_limit_ratio), 6, true), "\n");
    }
    absl::StrAppend(&s, "\n");
  };
  table("TOP CPU (cores, 1m avg)", r.top_cpu, 5);
  table("TOP MEMORY (working set)", r.top_memory, 5);
  table("TOP THROTTLED (share of CFS periods, 1m)", r.top_throttled, 5);

  auto events = [&](const char* title, const std::vector<EventCount>& ev) {
    if (ev.empty()) return;
    absl::StrAppend(&s, title, " (last ", FormatDurationRounded(r.events_window_ms), " / total)\n");
    for (const EventCount& e : ev) {
      absl::StrAppend(&s, "  ", Pad(e.ref.DisplayName(), 58), Pad(Fixed(e.recent, 0), 6, true), " / ",
                      Fixed(e.total, 0));
      if (e.last_ms) absl::StrAppend(&s, "   last ", Clock(e.last_ms), " UTC");
      absl::StrAppend(&s, "\n");
    }
    absl::StrAppend(&s, "\n");
  };
  events("OOM KILLS", r.oom_kills);
  events("OOM KILLS BY WORKLOAD", r.workload_oom_kills);
  events("RESTARTS", r.restarts);

  const AgentCost& a = r.agent;
  absl::StrAppend(&s, "agent   up ", FormatDurationRounded(static_cast<int64_t>(a.uptime_seconds * 1000)), ", cycle ",
                  Fixed(a.cycle_seconds_avg * 1000, 2), " ms avg, cpu ", FormatPercent(a.cpu_cores), " of a core, rss ",
                  FormatBytes(a.rss_bytes), ", ", Fixed(a.series, 0), " series, ", Fixed(a.read_errors, 0),
                  " read / ", Fixed(a.parse_errors, 0), " parse errors, ", Fixed(a.overruns, 0), " overruns\n");
  return s;
}

std::string RenderHealthTop(const HealthReport& r, const TopOptions& o) {
  std::string s;
  const NodeHealth& n = r.node;
  std::string status = r.Status();
  for (char& c : status) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  absl::StrAppend(&s, "nodepulse top - ", r.node_name, " - ", Clock(r.timestamp_ms), " UTC - agent up ",
                  FormatDurationRounded(static_cast<int64_t>(r.agent.uptime_seconds * 1000)), " - ", status);
  if (!r.findings.empty()) absl::StrAppend(&s, " (", r.findings.size(), " findings: nodepulse health)");
  absl::StrAppend(&s, "\n");
  absl::StrAppend(&s, "Cpu  ", Cores(n.cpu_busy_cores_now), "/", Fixed(n.cpu_count, 0), " cores busy now, ",
                  Cores(n.cpu_busy_cores), " 1m avg (", FormatPercent(n.cpu_count > 0 ? n.cpu_busy_cores / n.cpu_count : NAN),
                  ")   load ", Fixed(n.load1, 2), " ", Fixed(n.load5, 2), " ", Fixed(n.load15, 2), "\n");
  double used = n.memory_total_bytes - n.memory_available_bytes;
  absl::StrAppend(&s, "Mem  ", FormatBytes(used), " / ", FormatBytes(n.memory_total_bytes), " used (",
                  FormatPercent(used / n.memory_total_bytes), "), ", FormatBytes(n.memory_available_bytes),
                  " available\n");
  absl::StrAppend(&s, "PSI  some avg10: cpu ", FormatPercent(n.psi[0][0][0]), "  memory ", FormatPercent(n.psi[1][0][0]),
                  "  io ", FormatPercent(n.psi[2][0][0]), "    full avg10: memory ", FormatPercent(n.psi[1][1][0]),
                  "  io ", FormatPercent(n.psi[2][1][0]), "\n\n");

  std::vector<uint32_t> idx(r.containers.size());
  for (uint32_t i = 0; i < idx.size(); ++i) idx[i] = i;
  auto key = [&](uint32_t i) {
    const ContainerHealth& c = r.containers[i];
    double k = o.sort == "memory" ? c.working_set_bytes : o.sort == "throttled" ? c.throttled_ratio : c.cpu_cores_now;
    return std::isnan(k) ? -1.0 : k;
  };
  std::sort(idx.begin(), idx.end(), [&](uint32_t a, uint32_t b) {
    double ka = key(a), kb = key(b);
    if (ka != kb) return ka > kb;
    return r.containers[a].ref.id < r.containers[b].ref.id;
  });

  // Fixed numeric columns; the name takes what the terminal has left.
  const size_t numeric = 8 + 8 + 7 + 8 + 8 + 10 + 10 + 6 + 8 + 8 + 8;
  size_t name_w = o.width > numeric + 20 ? o.width - numeric - 1 : 20;
  name_w = std::min<size_t>(name_w, 80);
  absl::StrAppend(&s, Pad(r.kubernetes ? "NAMESPACE/POD/CONTAINER" : "CGROUP", name_w), Pad("CPU NOW", 8, true),
                  Pad("CPU 1M", 8, true), Pad("LIMIT", 7, true), Pad("THR NOW", 8, true), Pad("THR 1M", 8, true),
                  Pad("MEM WS", 10, true), Pad("MEM LIM", 10, true), Pad("%LIM", 6, true), Pad("PSI CPU", 8, true),
                  Pad("PSI MEM", 8, true), Pad("PSI IO", 8, true), "\n");
  for (size_t k = 0; k < idx.size() && k < o.rows; ++k) {
    const ContainerHealth& c = r.containers[idx[k]];
    absl::StrAppend(&s, Pad(c.ref.DisplayName(), name_w), Pad(Cores(c.cpu_cores_now), 8, true),
                    Pad(Cores(c.cpu_cores), 8, true), Pad(Cores(c.cpu_limit_cores), 7, true),
                    Pad(FormatPercent(c.throttled_ratio_now), 8, true), Pad(FormatPercent(c.throttled_ratio), 8, true),
                    Pad(FormatBytes(c.working_set_bytes), 10, true), Pad(FormatBytes(c.memory_limit_bytes), 10, true),
                    Pad(FormatPercent(c.memory_limit_ratio), 6, true), Pad(FormatPercent(c.psi_some[0]), 8, true),
                    Pad(FormatPercent(c.psi_some[1]), 8, true), Pad(FormatPercent(c.psi_some[2]), 8, true), "\n");
  }
  absl::StrAppend(&s, "\n", r.containers.size(), " containers, sorted by ",
                  o.sort == "cpu" ? "CPU now (cores, last interval)" : o.sort == "memory" ? "working set" : "throttled share (1m)",
                  "; PSI = container's some-stall share over 1m (cgroup v2)\n");
  return s;
}

}  // namespace nodepulse::exporters
