#include "nodepulse/pipeline/retention.h"

#include <limits>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace nodepulse::pipeline {

namespace {
constexpr size_t kMaxTiers = 8;
constexpr uint32_t kMaxSlots = 1u << 20;

struct Unit {
  absl::string_view suffix;
  int64_t ms;
};
// Longest suffix first so "ms" is not read as "m" followed by junk.
constexpr Unit kUnits[] = {
    {"ms", 1}, {"s", 1000}, {"m", 60'000}, {"h", 3'600'000}, {"d", 86'400'000}};
}  // namespace

std::vector<TierSpec> DefaultTiers() { return {{1'000, 360}, {30'000, 120}}; }

absl::StatusOr<int64_t> ParseDuration(std::string_view text_in) {
  // Debian's abseil is built with its own string_view type.
  const absl::string_view text(text_in.data(), text_in.size());
  absl::string_view t = absl::StripAsciiWhitespace(text);
  for (const Unit& u : kUnits) {
    if (t.size() <= u.suffix.size() || !absl::EndsWith(t, u.suffix)) continue;
    absl::string_view digits = t.substr(0, t.size() - u.suffix.size());
    uint64_t n = 0;
    if (digits.empty()) break;
    bool all_digits = true;
    for (char c : digits) all_digits &= absl::ascii_isdigit(static_cast<unsigned char>(c));
    if (!all_digits || !absl::SimpleAtoi(digits, &n) || n == 0 ||
        n > static_cast<uint64_t>(std::numeric_limits<int64_t>::max() / u.ms)) {
      break;
    }
    return static_cast<int64_t>(n) * u.ms;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "bad duration '", text, "': want a positive integer and a unit (ms, s, m, h, d), e.g. 10s"));
}

std::string FormatDurationExact(int64_t ms) {
  for (int i = 4; i >= 1; --i) {
    if (ms != 0 && ms % kUnits[i].ms == 0) return absl::StrCat(ms / kUnits[i].ms, kUnits[i].suffix);
  }
  return absl::StrCat(ms, "ms");
}

absl::Status ValidateTiers(const std::vector<TierSpec>& tiers) {
  if (tiers.empty() || tiers.size() > kMaxTiers) {
    return absl::InvalidArgumentError(
        absl::StrCat("retention: want 1 to ", kMaxTiers, " tiers, got ", tiers.size()));
  }
  for (size_t i = 0; i < tiers.size(); ++i) {
    const TierSpec& t = tiers[i];
    std::string name = absl::StrCat("tier ", i, " (", FormatDurationExact(t.step_ms), ")");
    if (t.step_ms <= 0)
      return absl::InvalidArgumentError(
          absl::StrCat("retention: ", name, ": step must be positive"));
    if (t.slots == 0 || t.slots > kMaxSlots) {
      return absl::InvalidArgumentError(
          absl::StrCat("retention: ", name, ": ", t.slots, " slots; want 1 to ", kMaxSlots));
    }
    if (i == 0) continue;
    const TierSpec& prev = tiers[i - 1];
    if (t.step_ms <= prev.step_ms || t.step_ms % prev.step_ms != 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "retention: ", name, ": step must be a larger multiple of the previous step ",
          FormatDurationExact(prev.step_ms), " (coarse slots are rolled up from whole finer slots)"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<TierSpec>> ParseRetention(std::string_view text_in) {
  const absl::string_view text(text_in.data(), text_in.size());
  std::vector<TierSpec> tiers;
  for (absl::string_view part : absl::StrSplit(text, ',')) {
    std::vector<absl::string_view> kv = absl::StrSplit(part, ':');
    if (kv.size() != 2) {
      return absl::InvalidArgumentError(
          absl::StrCat("retention: bad tier '", part, "': want step:span, e.g. 10s:1h"));
    }
    absl::StatusOr<int64_t> step = ParseDuration(std::string_view(kv[0].data(), kv[0].size()));
    if (!step.ok())
      return absl::InvalidArgumentError(
          absl::StrCat("retention: tier '", part, "': ", step.status().message()));
    absl::StatusOr<int64_t> span = ParseDuration(std::string_view(kv[1].data(), kv[1].size()));
    if (!span.ok())
      return absl::InvalidArgumentError(
          absl::StrCat("retention: tier '", part, "': ", span.status().message()));
    if (*span % *step != 0 || *span / *step > kMaxSlots) {
      return absl::InvalidArgumentError(absl::StrCat(
          "retention: tier '", part, "': span must be 1 to ", kMaxSlots, " whole steps"));
    }
    tiers.push_back({*step, static_cast<uint32_t>(*span / *step)});
  }
  if (absl::Status s = ValidateTiers(tiers); !s.ok()) return s;
  return tiers;
}

}  // namespace nodepulse::pipeline
