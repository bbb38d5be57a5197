#include "quantity.h"

#include <cmath>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace nodepulse::collectors::kubelet {
namespace {

absl::Status Bad(std::string_view text, std::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("bad quantity \"", absl::string_view(text.data(), text.size()), "\": ",
                   absl::string_view(why.data(), why.size())));
}

// A suffix as a binary multiplier or a decimal exponent. Decimal suffixes
// fold into the exponent so "100m" is computed as 100 / 10^3, correctly
// rounded, rather than 100 * 0.001, which is not.
struct Suffix {
  bool ok = false;
  double binary = 1;
  int exponent10 = 0;
};

Suffix ParseSuffix(std::string_view s) {
  if (s.empty()) return {true, 1, 0};
  if (s.size() == 2 && s[1] == 'i') {
    switch (s[0]) {
      case 'K': return {true, 0x1p10, 0};
      case 'M': return {true, 0x1p20, 0};
      case 'G': return {true, 0x1p30, 0};
      case 'T': return {true, 0x1p40, 0};
      case 'P': return {true, 0x1p50, 0};
      case 'E': return {true, 0x1p60, 0};
    }
    return {};
  }
  if (s.size() == 1) {
    switch (s[0]) {
      case 'n': return {true, 1, -9};
      case 'u': return {true, 1, -6};
      case 'm': return {true, 1, -3};
      case 'k': return {true, 1, 3};
      case 'M': return {true, 1, 6};
      case 'G': return {true, 1, 9};
      case 'T': return {true, 1, 12};
      case 'P': return {true, 1, 15};
      case 'E': return {true, 1, 18};
    }
  }
  return {};
}

}  // namespace

absl::StatusOr<double> ParseQuantity(std::string_view text) {
  size_t i = 0;
  bool negative = false;
  if (i < text.size() && (text[i] == '+' || text[i] == '-')) negative = text[i++] == '-';
  // Accumulate digits as an integer mantissa and a decimal exponent so "0.1"
  // times 1e9 lands on 100000000 exactly instead of 1.0000000000000001e8.
  uint64_t mantissa = 0;
  int exponent10 = 0;
  int digits = 0;
  bool dot = false;
  for (; i < text.size(); ++i) {
    char c = text[i];
    if (c == '.') {
      if (dot) return Bad(text, "two decimal points");
      dot = true;
      continue;
    }
    if (c < '0' || c > '9') break;
    ++digits;
    if (mantissa < (uint64_t{1} << 59)) {
      mantissa = mantissa * 10 + static_cast<uint64_t>(c - '0');
      if (dot) --exponent10;
    } else if (!dot) {
      ++exponent10;  // beyond 18 significant digits: drop the digit, keep scale
    }
  }
  if (digits == 0) return Bad(text, "no digits");
  std::string_view suffix = text.substr(i);
  double scale = 1;
  if (suffix.size() > 1 && (suffix[0] == 'e' || suffix[0] == 'E') && suffix != "Ei") {
    // Decimal exponent ("1e3"); "E" alone is exa and "Ei" exbi.
    size_t j = 1;
    bool eneg = false;
    if (suffix[j] == '+' || suffix[j] == '-') eneg = suffix[j++] == '-';
    if (j == suffix.size()) return Bad(text, "empty exponent");
    int e = 0;
    for (; j < suffix.size(); ++j) {
      if (suffix[j] < '0' || suffix[j] > '9') return Bad(text, "bad exponent");
      if (e < 1000) e = e * 10 + (suffix[j] - '0');
    }
    exponent10 += eneg ? -e : e;
  } else {
    Suffix parsed = ParseSuffix(suffix);
    if (!parsed.ok) return Bad(text, "unknown suffix");
    scale = parsed.binary;
    exponent10 += parsed.exponent10;
  }
  double value = static_cast<double>(mantissa);
  // Divide for negative powers: 1/10^k is inexact, 10^k is exact up to 1e22.
  if (exponent10 > 0) value *= std::pow(10.0, exponent10);
  if (exponent10 < 0) value /= std::pow(10.0, -exponent10);
  value *= scale;
  if (!std::isfinite(value)) return Bad(text, "out of range");
  return negative ? -value : value;
}

}  // namespace nodepulse::collectors::kubelet
