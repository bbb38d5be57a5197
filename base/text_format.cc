#include "nodepulse/base/text_format.h"

#include <charconv>
#include <cmath>

namespace nodepulse::base {

void AppendNumber(double v, std::string* out) {
  // to_chars: printf's %.16g digits without printf's locale and parsing
  // (the /metrics body has tens of thousands of numbers per scrape).
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::general, kNumberDigits);
  out->append(buf, r.ptr);
}

void AppendSampleValue(double v, std::string* out) {
  if (std::isnan(v)) {
    out->append("NaN");
  } else if (std::isinf(v)) {
    out->append(v < 0 ? "-Inf" : "+Inf");
  } else {
    AppendNumber(v, out);
  }
}

std::string SampleValue(double v) {
  std::string out;
  AppendSampleValue(v, &out);
  return out;
}

void AppendEscapedLabelValue(std::string_view v, std::string* out) {
  for (char c : v) {
    switch (c) {
      case '\\': out->append("\\\\"); break;
      case '"': out->append("\\\""); break;
      case '\n': out->append("\\n"); break;
      default: out->push_back(c);
    }
  }
}

std::string EscapeLabelValue(std::string_view v) {
  std::string out;
  AppendEscapedLabelValue(v, &out);
  return out;
}

void AppendEscapedHelp(std::string_view help, std::string* out) {
  for (char c : help) {
    if (c == '\\') {
      out->append("\\\\");
    } else if (c == '\n') {
      out->append("\\n");
    } else {
      out->push_back(c);
    }
  }
}

}  // namespace nodepulse::base
