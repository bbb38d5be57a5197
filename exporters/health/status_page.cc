// The status page (see status_page.h). Layout: a header with the node's
// status, four summary cards with a sparkline each (CPU, memory, pressure,
// the agent itself), the findings table, top containers by CPU, memory and
// throttling with a sparkline per row, and OOM kills / restarts.
#include "status_page.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"

namespace nodepulse::exporters {

namespace {

std::string Clock(int64_t ms) {
  return absl::FormatTime("%H:%M:%S", absl::FromUnixMillis(ms), absl::UTCTimeZone());
}

std::string Fixed(double v, int decimals) {
  if (!std::isfinite(v)) return "&ndash;";
  char buf[48];
  std::snprintf(buf, sizeof(buf), "%.*f", decimals, v);
  return buf;
}

std::string Pct(double ratio) {
  std::string s = FormatPercent(ratio);
  return s == "-" ? "&ndash;" : s;
}
std::string Bytes(double b) {
  std::string s = FormatBytes(b);
  return s == "-" ? "&ndash;" : s;
}

double MaxOf(const std::vector<double>& v) {
  double m = 0;
  for (double x : v) {
    if (std::isfinite(x)) m = std::max(m, x);
  }
  return m;
}

const char* KindTitle(const std::string& kind) {
  if (kind == "memory_near_limit") return "Memory near limit";
  if (kind == "cpu_throttled") return "CPU throttled";
  if (kind == "oom_killed") return "OOM killed";
  if (kind == "restarts") return "Restarting";
  if (kind == "node_cpu") return "Node CPU saturated";
  if (kind == "node_memory") return "Node memory low";
  if (kind == "node_pressure") return "Node pressure";
  if (kind == "collector_failing") return "Collector failing";
  if (kind == "kubelet_degraded") return "Kubelet join degraded";
  return "Finding";
}

// Who: "namespace/pod" over "container", or the cgroup id.
std::string WhoCell(const EntityRef& r, const std::string& fallback) {
  if (!r.pod.empty()) {
    std::string s = absl::StrCat("<div class=\"who\">", HtmlEscape(r.container.empty() ? r.pod : r.container),
                                 "</div><div class=\"sub\">", HtmlEscape(r.namespace_name), "/", HtmlEscape(r.pod));
    if (!r.workload.empty()) absl::StrAppend(&s, " &middot; ", HtmlEscape(r.workload_kind), " ", HtmlEscape(r.workload));
    absl::StrAppend(&s, "</div>");
    return s;
  }
  if (!r.workload.empty()) {
    return absl::StrCat("<div class=\"who\">", HtmlEscape(r.workload), "</div><div class=\"sub\">",
                        HtmlEscape(r.namespace_name), " &middot; ", HtmlEscape(r.workload_kind), "</div>");
  }
  if (!r.id.empty()) {
    size_t slash = r.id.rfind('/');
    std::string leaf = slash == std::string::npos ? r.id : r.id.substr(slash + 1);
    if (leaf.empty()) leaf = r.id;
    return absl::StrCat("<div class=\"who\">", HtmlEscape(leaf), "</div><div class=\"sub mono\">",
                        HtmlEscape(r.id), "</div>");
  }
  return absl::StrCat("<div class=\"who\">", HtmlEscape(fallback), "</div>");
}

constexpr char kCss[] = R"css(
:root{--bg:#f6f7f9;--card:#fff;--ink:#1c2430;--muted:#667085;--line:#e4e7ec;--accent:#2f6fde;
--accent-fill:rgba(47,111,222,.12);--ok:#12805c;--ok-bg:#e3f5ec;--warn:#b54708;--warn-bg:#fef0c7;
--crit:#c01c28;--crit-bg:#fde4e4;--bar:#e9edf3}
@media (prefers-color-scheme:dark){:root{--bg:#0f1318;--card:#171c23;--ink:#e6e9ee;--muted:#8b95a5;
--line:#262d37;--accent:#6ea0ff;--accent-fill:rgba(110,160,255,.16);--ok:#4ccf93;--ok-bg:#113226;
--warn:#f5b14c;--warn-bg:#3a2a0f;--crit:#ff6b6b;--crit-bg:#3d1518;--bar:#262d37}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);font:14px/1.45 system-ui,-apple-system,"Segoe UI",
Roboto,"DejaVu Sans",sans-serif;-webkit-font-smoothing:antialiased}
.mono,td.num,.num{font-variant-numeric:tabular-nums}
.mono{font-family:ui-monospace,"DejaVu Sans Mono",Menlo,monospace;font-size:12px}
header{display:flex;align-items:center;gap:16px;padding:14px 28px;background:var(--card);
border-bottom:1px solid var(--line)}
.brand{font-weight:700;font-size:17px;letter-spacing:-.01em}
.brand span{color:var(--accent)}
.node{font-weight:600;font-size:15px}
.meta{color:var(--muted);font-size:12.5px;margin-left:auto;text-align:right}
.pill{display:inline-block;padding:3px 10px;border-radius:999px;font-weight:700;font-size:12px;
letter-spacing:.04em;text-transform:uppercase}
.pill.ok{color:var(--ok);background:var(--ok-bg)}.pill.warning{color:var(--warn);background:var(--warn-bg)}
.pill.critical{color:var(--crit);background:var(--crit-bg)}
main{padding:20px 28px 32px;max-width:1500px;margin:0 auto}
.cards{display:grid;grid-template-columns:repeat(4,minmax(0,1fr));gap:16px}
.card{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:14px 16px 12px}
.card h3{margin:0 0 6px;font-size:12px;font-weight:600;color:var(--muted);text-transform:uppercase;letter-spacing:.06em}
.big{font-size:24px;font-weight:650;letter-spacing:-.02em}
.big small{font-size:14px;color:var(--muted);font-weight:500}
.sub{color:var(--muted);font-size:12px}
.spark{display:block;width:100%;height:46px;margin-top:8px}
.spark path.l{fill:none;stroke:var(--accent);stroke-width:1.5;vector-effect:non-scaling-stroke}
.spark path.a{fill:var(--accent-fill);stroke:none}
.spark.warn path.l{stroke:var(--warn)}.spark.warn path.a{fill:var(--warn-bg)}
.spark.crit path.l{stroke:var(--crit)}.spark.crit path.a{fill:var(--crit-bg)}
.spark line.base{stroke:var(--line);stroke-width:1;vector-effect:non-scaling-stroke}
.psi{display:grid;grid-template-columns:52px 1fr 112px;align-items:center;gap:6px;margin-top:4px}
.psi .spark{height:22px;margin:0}
.psi .k{font-size:12px;color:var(--muted)}.psi .v{font-size:12px;text-align:right}
.kv{display:grid;grid-template-columns:1fr auto;gap:2px 10px;font-size:13px;margin-top:4px}
.kv span:nth-child(odd){color:var(--muted)}
section{margin-top:22px}
h2{font-size:15px;margin:0 0 10px;font-weight:650;display:flex;align-items:baseline;gap:10px}
h2 .sub{font-weight:400}
.panel{background:var(--card);border:1px solid var(--line);border-radius:10px;overflow:hidden}
table{width:100%;border-collapse:collapse}
th{font-size:11.5px;font-weight:600;color:var(--muted);text-transform:uppercase;letter-spacing:.05em;
text-align:left;padding:8px 12px;border-bottom:1px solid var(--line);white-space:nowrap}
td{padding:8px 12px;border-bottom:1px solid var(--line);vertical-align:middle}
tr:last-child td{border-bottom:0}
th.num,td.num{text-align:right;white-space:nowrap}
td.c{max-width:0;width:100%}
td .who{font-weight:600;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
td .sub{overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
#findings td.c{width:auto;max-width:none}#findings td.c .who,#findings td.c .sub{max-width:320px}
.sev{display:inline-block;min-width:64px;text-align:center;padding:2px 8px;border-radius:6px;font-size:11px;
font-weight:700;text-transform:uppercase;letter-spacing:.04em}
.sev.critical{color:var(--crit);background:var(--crit-bg)}.sev.warning{color:var(--warn);background:var(--warn-bg)}
.empty{padding:18px 16px;color:var(--ok);font-weight:600}
.empty span{color:var(--muted);font-weight:400}
.grid2{display:grid;grid-template-columns:repeat(2,minmax(0,1fr));gap:16px}
td.sp{width:130px;padding-top:4px;padding-bottom:4px}td.sp .spark{height:26px;margin:0}
.bar{height:6px;background:var(--bar);border-radius:3px;overflow:hidden;margin-top:4px;min-width:70px}
.bar i{display:block;height:100%;background:var(--accent)}
.bar.warn i{background:var(--warn)}.bar.crit i{background:var(--crit)}
footer{color:var(--muted);font-size:12px;margin-top:26px;display:flex;gap:16px;flex-wrap:wrap}
footer a{color:var(--accent);text-decoration:none}
@media (max-width:1000px){.cards{grid-template-columns:repeat(2,minmax(0,1fr))}.grid2{grid-template-columns:1fr}}
)css";

// Re-fetch every 5 s and swap <main> and the header, so the page does not
// flash or lose its scroll position; on error keep the last content and mark
// it stale.
constexpr char kScript[] = R"js(
(function(){
  function tick(){
    fetch(location.href,{cache:'no-store'}).then(function(r){return r.text();}).then(function(t){
      var d=new DOMParser().parseFromString(t,'text/html');
      ['hdr','app'].forEach(function(id){var n=d.getElementById(id),o=document.getElementById(id);
        if(n&&o)o.replaceWith(n);});
      document.title=d.title;
    }).catch(function(){var m=document.getElementById('updated');if(m)m.textContent='agent unreachable: showing last data';});
  }
  setInterval(tick,5000);
})();
)js";

std::string Head(const std::string& title, const char* extra_head) {
  return absl::StrCat(
      "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
      "<title>",
      HtmlEscape(title), "</title>",
      extra_head,
      "<style>", kCss, "</style></head>\n<body>\n");
}

std::string SparkClass(double ratio, double warn, double crit) {
  if (ratio >= crit) return "spark crit";
  if (ratio >= warn) return "spark warn";
  return "spark";
}

std::string SeverityBar(double ratio, double warn, double crit) {
  if (!std::isfinite(ratio)) return "";
  const char* cls = ratio >= crit ? "bar crit" : ratio >= warn ? "bar warn" : "bar";
  char w[32];
  std::snprintf(w, sizeof(w), "%.1f", std::clamp(ratio, 0.0, 1.0) * 100);
  return absl::StrCat("<div class=\"", cls, "\"><i style=\"width:", w, "%\"></i></div>");
}

const std::vector<double>& Find(const std::map<std::string, std::vector<double>>& m, const std::string& id) {
  static const std::vector<double> kEmpty;
  auto it = m.find(id);
  return it == m.end() ? kEmpty : it->second;
}

}  // namespace

std::string HtmlEscape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string SparklineSvg(const std::vector<double>& values, double y_max, int width, int height,
                         std::string_view css_class) {
  double top = std::max(y_max, MaxOf(values));
  if (!(top > 0)) top = 1;
  const size_t n = values.size();
  std::string line, area;
  auto xy = [&](size_t i, double v, std::string* out, char cmd) {
    double x = n <= 1 ? width : static_cast<double>(i) * width / static_cast<double>(n - 1);
    // 1 px headroom so a flat line at the top is not clipped.
    double y = height - (std::clamp(v, 0.0, top) / top) * (height - 1.5);
    char buf[64];
    std::snprintf(buf, sizeof(buf), "%c%.1f %.1f", cmd, x, y);
    *out += buf;
  };
  size_t i = 0;
  while (i < n) {
    while (i < n && !std::isfinite(values[i])) ++i;
    if (i >= n) break;
    size_t start = i;
    // A lone sample becomes a tiny horizontal tick so it is visible.
    xy(i, values[i], &line, 'M');
    std::string seg_area;
    xy(i, 0, &seg_area, 'M');
    for (; i < n && std::isfinite(values[i]); ++i) {
      xy(i, values[i], &line, 'L');
      xy(i, values[i], &seg_area, 'L');
    }
    if (i - start == 1) {
      char buf[32];
      std::snprintf(buf, sizeof(buf), "h%.1f", std::max(2.0, static_cast<double>(width) / std::max<size_t>(n, 1)));
      line += buf;
    }
    xy(i - 1, 0, &seg_area, 'L');
    seg_area += "Z";
    area += seg_area;
  }
  char vb[64];
  std::snprintf(vb, sizeof(vb), "0 0 %d %d", width, height);
  return absl::StrCat("<svg class=\"", std::string(css_class), "\" viewBox=\"", vb,
                      "\" preserveAspectRatio=\"none\" role=\"img\" aria-hidden=\"true\">",
                      "<line class=\"base\" x1=\"0\" y1=\"", height, "\" x2=\"", width, "\" y2=\"", height,
                      "\"/>", area.empty() ? "" : absl::StrCat("<path class=\"a\" d=\"", area, "\"/>"),
                      line.empty() ? "" : absl::StrCat("<path class=\"l\" d=\"", line, "\"/>"), "</svg>");
}

std::string RenderStatusPageStarting(const std::string& node_name) {
  return absl::StrCat(Head("nodepulse · " + node_name, "<meta http-equiv=\"refresh\" content=\"2\">"),
                      "<header><div class=\"brand\">node<span>pulse</span></div><div class=\"node\">",
                      HtmlEscape(node_name),
                      "</div></header><main><div class=\"panel\"><div class=\"empty\">Starting: waiting for "
                      "the first collection cycle&hellip;</div></div></main></body></html>\n");
}

namespace {

// The page header: node, status, when, and what the charts span.
void AppendHeader(const HealthReport& r, const PageHistory& h, const std::string& status, std::string& s) {
  std::string span = h.slots > 1 ? FormatDurationRounded(static_cast<int64_t>(h.slots - 1) * h.step_ms) : "0s";
  absl::StrAppend(&s, "<header id=\"hdr\"><div class=\"brand\">node<span>pulse</span></div>",
                  "<div class=\"node\">", HtmlEscape(r.node_name), "</div>", "<span class=\"pill ", status, "\">",
                  status == "ok" ? "healthy" : status, "</span>", "<div class=\"meta\"><div id=\"updated\">updated ",
                  Clock(r.timestamp_ms), " UTC &middot; refreshes every 5 s</div><div>charts: last ", span, " (",
                  h.step_ms / 1000, " s steps) &middot; averages over ", FormatDurationRounded(r.window_ms),
                  " &middot; agent up ", FormatDurationRounded(static_cast<int64_t>(r.agent.uptime_seconds * 1000)),
                  "</div></div></header>\n<main id=\"app\">\n");

}

// CPU, memory, pressure and the agent's own cost.
void AppendCards(const HealthReport& r, const PageHistory& h, std::string& s) {
  const NodeHealth& n = r.node;
  absl::StrAppend(&s, "<div class=\"cards\">");
  double cpu_ratio = n.cpu_count > 0 ? n.cpu_busy_cores / n.cpu_count : NAN;
  absl::StrAppend(&s, "<div class=\"card\"><h3>CPU</h3><div class=\"big\">", Fixed(n.cpu_busy_cores, 2),
                  " <small>of ", Fixed(n.cpu_count, 0), " cores</small></div><div class=\"sub\">", Pct(cpu_ratio),
                  " busy &middot; iowait ", Fixed(n.cpu_iowait_cores, 2), "</div>",
                  SparklineSvg(h.node_cpu_busy, n.cpu_count, 300, 46, SparkClass(cpu_ratio, 0.9, 0.98)),
                  "<div class=\"sub\">peak ", Fixed(MaxOf(h.node_cpu_busy), 2), " cores &middot; load ",
                  Fixed(n.load1, 2), " ", Fixed(n.load5, 2), " ", Fixed(n.load15, 2), "</div></div>");
  double used = n.memory_total_bytes - n.memory_available_bytes;
  double mem_ratio = n.memory_total_bytes > 0 ? used / n.memory_total_bytes : NAN;
  absl::StrAppend(&s, "<div class=\"card\"><h3>Memory</h3><div class=\"big\">", Bytes(used), " <small>of ",
                  Bytes(n.memory_total_bytes), "</small></div><div class=\"sub\">", Pct(mem_ratio), " used &middot; ",
                  Bytes(n.memory_available_bytes), " available</div>",
                  SparklineSvg(h.node_memory_used, n.memory_total_bytes, 300, 46, SparkClass(mem_ratio, 0.9, 0.95)),
                  "<div class=\"sub\">peak ", Bytes(MaxOf(h.node_memory_used)), "</div></div>");
  absl::StrAppend(&s, "<div class=\"card\"><h3>Pressure (PSI some)</h3>");
  const char* res[3] = {"cpu", "memory", "io"};
  for (int k = 0; k < 3; ++k) {
    double a10 = n.psi[k][0][0], a60 = n.psi[k][0][1], a300 = n.psi[k][0][2];
    absl::StrAppend(&s, "<div class=\"psi\"><span class=\"k\">", res[k], "</span>",
                    SparklineSvg(h.node_psi[k], 0.1, 200, 22, SparkClass(a60, 0.25, 0.5)),
                    "<span class=\"v mono\" title=\"avg10 / avg60 / avg300\">", Pct(a10), " ", Pct(a60), " ",
                    Pct(a300), "</span></div>");
  }
  absl::StrAppend(&s, "<div class=\"sub\" style=\"margin-top:6px\">full avg60: memory ", Pct(n.psi[1][1][1]),
                  " &middot; io ", Pct(n.psi[2][1][1]), " &middot; values avg10 / 60 / 300</div></div>");
  const AgentCost& a = r.agent;
  absl::StrAppend(&s, "<div class=\"card\"><h3>This agent</h3><div class=\"big\">", Fixed(a.cycle_seconds_avg * 1000, 2),
                  " <small>ms per cycle</small></div><div class=\"kv\">", "<span>CPU</span><span class=\"num\">",
                  Pct(a.cpu_cores), " of a core</span>", "<span>RSS</span><span class=\"num\">", Bytes(a.rss_bytes),
                  "</span>", "<span>series / containers</span><span class=\"num\">", Fixed(a.series, 0), " / ",
                  r.containers.size(), "</span>", "<span>read / parse errors</span><span class=\"num\">",
                  Fixed(a.read_errors, 0), " / ", Fixed(a.parse_errors, 0), "</span>",
                  "<span>overruns / dropped</span><span class=\"num\">", Fixed(a.overruns, 0), " / ",
                  Fixed(a.series_dropped, 0), "</span></div></div>");
  absl::StrAppend(&s, "</div>\n");

}

void AppendFindings(const HealthReport& r, std::string& s) {
  absl::StrAppend(&s, "<section><h2>Findings <span class=\"sub\">", r.findings.size(),
                  r.findings.size() == 1 ? " finding" : " findings",
                  " &middot; OOM kills and restarts over the last ", FormatDurationRounded(r.events_window_ms),
                  "</span></h2><div class=\"panel\">");
  if (r.findings.empty()) {
    absl::StrAppend(&s, "<div class=\"empty\">&#10003; Nothing to report <span>&mdash; no container near its memory "
                        "limit, throttled, OOM-killed or restarting; node CPU, memory and pressure are within "
                        "thresholds.</span></div>");
  } else {
    absl::StrAppend(&s, "<table id=\"findings\"><thead><tr><th>Severity</th><th>Finding</th><th>Where</th>"
                        "<th>Detail</th><th class=\"num\">Since</th></tr></thead><tbody>");
    for (const Finding& f : r.findings) {
      std::string where = f.resource.empty() ? "node" : absl::StrCat("node &middot; ", HtmlEscape(f.resource));
      absl::StrAppend(&s, "<tr><td><span class=\"sev ", SeverityName(f.severity), "\">", SeverityName(f.severity),
                      "</span></td><td>", KindTitle(f.kind), "</td><td class=\"c\">",
                      f.ref.id.empty() && f.ref.pod.empty() && f.ref.workload.empty()
                          ? absl::StrCat("<div class=\"who\">", where, "</div>")
                          : WhoCell(f.ref, ""),
                      "</td><td>", HtmlEscape(f.summary), "</td><td class=\"num\"><div>", Clock(f.since_ms),
                      " UTC</div><div class=\"sub\">for ", FormatDurationRounded(r.timestamp_ms - f.since_ms),
                      "</div></td></tr>");
    }
    absl::StrAppend(&s, "</tbody></table>");
  }
  absl::StrAppend(&s, "</div></section>\n");

}

std::string TopCpuTable(const HealthReport& r, const PageHistory& h) {
  std::string t = absl::StrCat("<div><h2>Top CPU <span class=\"sub\">cores, ", FormatDurationRounded(r.window_ms),
                               " avg</span></h2><div class=\"panel\">");
  if (r.top_cpu.empty()) return absl::StrCat(t, "<div class=\"empty\"><span>No containers.</span></div></div></div>");
  absl::StrAppend(&t, "<table id=\"top-cpu\"><thead><tr><th>Container</th><th class=\"num\">Avg</th>"
                      "<th class=\"num\">Now</th><th class=\"num\">Limit</th><th>History</th></tr></thead><tbody>");
  for (uint32_t i : r.top_cpu) {
    const ContainerHealth& c = r.containers[i];
    double lim = std::isfinite(c.cpu_limit_cores) ? c.cpu_limit_cores : 0;
    absl::StrAppend(&t, "<tr><td class=\"c\">", WhoCell(c.ref, ""), "</td><td class=\"num\">", Fixed(c.cpu_cores, 2),
                    "</td><td class=\"num\">", Fixed(c.cpu_cores_now, 2), "</td><td class=\"num\">",
                    Fixed(c.cpu_limit_cores, 2), "</td><td class=\"sp\">",
                    SparklineSvg(Find(h.cpu, c.ref.id), lim, 120, 26, "spark"), "</td></tr>");
  }
  return absl::StrCat(t, "</tbody></table></div></div>");
}

std::string TopMemoryTable(const HealthReport& r, const PageHistory& h) {
  std::string t = "<div><h2>Top memory <span class=\"sub\">working set</span></h2><div class=\"panel\">";
  if (r.top_memory.empty()) return absl::StrCat(t, "<div class=\"empty\"><span>No containers.</span></div></div></div>");
  absl::StrAppend(&t, "<table id=\"top-memory\"><thead><tr><th>Container</th><th class=\"num\">Working set</th>"
                      "<th class=\"num\">Limit</th><th>History</th></tr></thead><tbody>");
  for (uint32_t i : r.top_memory) {
    const ContainerHealth& c = r.containers[i];
    double lim = std::isfinite(c.memory_limit_bytes) ? c.memory_limit_bytes : 0;
    absl::StrAppend(&t, "<tr><td class=\"c\">", WhoCell(c.ref, ""), "</td><td class=\"num\">", Bytes(c.working_set_bytes),
                    "</td><td class=\"num\">", Bytes(c.memory_limit_bytes),
                    std::isfinite(c.memory_limit_ratio) ? absl::StrCat(" <span class=\"sub\">(", Pct(c.memory_limit_ratio), ")</span>") : "",
                    SeverityBar(c.memory_limit_ratio, 0.9, 0.97), "</td><td class=\"sp\">",
                    SparklineSvg(Find(h.working_set, c.ref.id), lim, 120, 26,
                                 SparkClass(c.memory_limit_ratio, 0.9, 0.97)),
                    "</td></tr>");
  }
  return absl::StrCat(t, "</tbody></table></div></div>");
}

std::string ThrottledTable(const HealthReport& r, const PageHistory& h) {
  std::string t = absl::StrCat("<div><h2>Throttled <span class=\"sub\">share of CFS periods, ",
                               FormatDurationRounded(r.window_ms), "</span></h2><div class=\"panel\">");
  if (r.top_throttled.empty()) {
    return absl::StrCat(t, "<div class=\"empty\">&#10003; No throttling <span>&mdash; no container hit its CPU "
                           "quota.</span></div></div></div>");
  }
  absl::StrAppend(&t, "<table id=\"top-throttled\"><thead><tr><th>Container</th><th class=\"num\">Throttled</th>"
                      "<th class=\"num\">CPU / limit</th><th>History</th></tr></thead><tbody>");
  for (uint32_t i : r.top_throttled) {
    const ContainerHealth& c = r.containers[i];
    absl::StrAppend(&t, "<tr><td class=\"c\">", WhoCell(c.ref, ""), "</td><td class=\"num\">", Pct(c.throttled_ratio),
                    SeverityBar(c.throttled_ratio, 0.25, 0.75), "</td><td class=\"num\">", Fixed(c.cpu_cores, 2),
                    " / ", Fixed(c.cpu_limit_cores, 2), "</td><td class=\"sp\">",
                    SparklineSvg(Find(h.throttled, c.ref.id), 1.0, 120, 26, SparkClass(c.throttled_ratio, 0.25, 0.75)),
                    "</td></tr>");
  }
  return absl::StrCat(t, "</tbody></table></div></div>");
}

std::string EventsTable(const HealthReport& r) {
  std::string t = absl::StrCat("<div><h2>OOM kills &amp; restarts <span class=\"sub\">last ",
                               FormatDurationRounded(r.events_window_ms), " / total</span></h2><div class=\"panel\">");
  if (r.oom_kills.empty() && r.restarts.empty() && r.workload_oom_kills.empty()) {
    return absl::StrCat(t, "<div class=\"empty\">&#10003; None <span>&mdash; no OOM kill or restart ",
                        r.kubernetes ? "seen" : "seen (without a kubelet: cgroup OOM events only)",
                        ".</span></div></div></div>");
  }
  absl::StrAppend(&t, "<table id=\"events\"><thead><tr><th>Event</th><th>Where</th><th class=\"num\">Recent</th>"
                      "<th class=\"num\">Total</th><th class=\"num\">Last</th></tr></thead><tbody>");
  auto rows = [&](const char* what, const std::vector<EventCount>& ev) {
    for (const EventCount& e : ev) {
      absl::StrAppend(&t, "<tr><td>", what, "</td><td class=\"c\">", WhoCell(e.ref, ""), "</td><td class=\"num\">",
                      Fixed(e.recent, 0), "</td><td class=\"num\">", Fixed(e.total, 0), "</td><td class=\"num\">",
                      e.last_ms ? absl::StrCat(Clock(e.last_ms), " UTC") : "&ndash;", "</td></tr>");
    }
  };
  rows("OOM kill", r.oom_kills);
  rows("OOM kill (workload)", r.workload_oom_kills);
  rows("Restart", r.restarts);
  return absl::StrCat(t, "</tbody></table></div></div>");
}

}  // namespace

std::string RenderStatusPage(const HealthReport& r, const PageHistory& h) {
  const std::string status = r.Status();
  std::string s = Head(absl::StrCat(status == "ok" ? "" : (status == "critical" ? "\xE2\x9C\x96 " : "\xE2\x9A\xA0 "),
                                    r.node_name, " · nodepulse"),
                       "<noscript><meta http-equiv=\"refresh\" content=\"5\"></noscript>");
  AppendHeader(r, h, status, s);
  AppendCards(r, h, s);
  AppendFindings(r, s);
  absl::StrAppend(&s, "<section class=\"grid2\">", TopCpuTable(r, h), TopMemoryTable(r, h), "</section>\n");
  absl::StrAppend(&s, "<section class=\"grid2\">", ThrottledTable(r, h), EventsTable(r), "</section>\n");

  absl::StrAppend(&s, "<footer><span>nodepulse &middot; ", r.containers.size(), " containers &middot; cycle ",
                  r.cycle, "</span><a href=\"/api/v1/health\">/api/v1/health</a>"
                  "<a href=\"/api/v1/health?format=text\">text</a><a href=\"/metrics\">/metrics</a>"
                  "<a href=\"/healthz\">/healthz</a><a href=\"/readyz\">/readyz</a></footer>\n</main>\n");
  absl::StrAppend(&s, "<script>", kScript, "</script>\n</body></html>\n");
  return s;
}

}  // namespace nodepulse::exporters
