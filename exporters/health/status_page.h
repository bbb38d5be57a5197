// The HTML status page served at "/": one self-contained document (inline
// CSS, server-rendered inline SVG sparklines, a ~20-line inline script that
// re-fetches the page every 5 s and swaps the content; a <noscript> meta
// refresh does the same without JavaScript). No external scripts, fonts or
// stylesheets, so it works on a node without internet access.
//
// Pure functions of their inputs; safe from any thread.
#ifndef NODEPULSE_EXPORTERS_STATUS_PAGE_H_
#define NODEPULSE_EXPORTERS_STATUS_PAGE_H_

#include <string>
#include <string_view>
#include <vector>

#include "nodepulse/exporters/health/health.h"

namespace nodepulse::exporters {

std::string RenderStatusPage(const HealthReport& report, const PageHistory& history);
// Before the first collection cycle: a page that says so and reloads.
std::string RenderStatusPageStarting(const std::string& node_name);

// Exposed for tests.
std::string HtmlEscape(std::string_view s);
// An inline SVG sparkline of `values` (NaN = gap) scaled to [0, max(y_max,
// the data's max)]; width/height are the viewBox, the SVG stretches to its box.
std::string SparklineSvg(const std::vector<double>& values, double y_max, int width, int height,
                         std::string_view css_class);

}  // namespace nodepulse::exporters

#endif  // NODEPULSE_EXPORTERS_STATUS_PAGE_H_
