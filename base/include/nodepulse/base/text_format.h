// Text formats shared by the rooms: Prometheus text exposition (0.0.4)
// numbers and escaping, and the JSON APIs' numbers.
//
// One precision for every number we print: 16 significant digits
// (%.16g), what prometheus-cpp's TextSerializer prints (an ostream at
// std::numeric_limits<double>::max_digits10 - 1). The agent's self-metrics go
// through TextSerializer, so any other precision would print one /metrics
// body with two; 16 digits also keep 0.1 as "0.1" (17 would print
// 0.10000000000000001) and are more than a double computed from kernel
// counters can honestly claim, so the last digit never hides a real change.
//
// Thread-safety: pure functions.
#ifndef NODEPULSE_BASE_TEXT_FORMAT_H_
#define NODEPULSE_BASE_TEXT_FORMAT_H_

#include <string>
#include <string_view>

#include "absl/strings/string_view.h"

namespace nodepulse::base {

inline constexpr int kNumberDigits = 16;

// A finite double in kNumberDigits significant digits, shortest form
// ("0.25", "180224", "1e+20").
void AppendNumber(double v, std::string* out);

// A Prometheus sample value: AppendNumber, or NaN, +Inf, -Inf.
void AppendSampleValue(double v, std::string* out);
std::string SampleValue(double v);

// A label value between the double quotes: backslash, double quote and
// newline escaped.
void AppendEscapedLabelValue(std::string_view v, std::string* out);
std::string EscapeLabelValue(std::string_view v);
// Debian's abseil has its own absl::string_view (not std's).
inline std::string EscapeLabelValue(absl::string_view v) {
  return EscapeLabelValue(std::string_view(v.data(), v.size()));
}
inline std::string EscapeLabelValue(const std::string& v) { return EscapeLabelValue(std::string_view(v)); }

// HELP text: backslash and newline escaped (double quotes are not).
void AppendEscapedHelp(std::string_view help, std::string* out);

}  // namespace nodepulse::base

#endif  // NODEPULSE_BASE_TEXT_FORMAT_H_
