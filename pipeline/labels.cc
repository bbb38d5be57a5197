#include "internal/labels.h"

#include "nodepulse/base/text_format.h"

namespace nodepulse::pipeline::internal {

namespace {
bool NameChar(char c, bool first, bool colon_ok) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_') return true;
  if (colon_ok && c == ':') return true;
  return !first && c >= '0' && c <= '9';
}
bool ValidName(std::string_view name, bool colon_ok) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    if (!NameChar(name[i], i == 0, colon_ok)) return false;
  }
  return true;
}
}  // namespace

bool ValidMetricName(std::string_view name) { return ValidName(name, true); }
bool ValidLabelName(std::string_view name) { return ValidName(name, false); }

std::string RenderLabels(const Labels& labels) {
  std::string out;
  for (const Label& l : labels) {
    if (!out.empty()) out += ',';
    out += l.name;
    out += "=\"";
    base::AppendEscapedLabelValue(l.value, &out);
    out += '"';
  }
  return out;
}

}  // namespace nodepulse::pipeline::internal
