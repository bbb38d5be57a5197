// Retention tiers and the duration syntax of --retention.
//
// A tier is (step, slots): one ring row per `step`, `slots` rows kept, so it
// spans step * slots. Tier 0 holds raw samples (one per collection cycle, so
// its step should equal --interval); every later tier holds min, max, sum and
// count per slot, rolled up from the tier before it, so its step must be a
// whole multiple of the previous step.
//
// Everything here is a plain value type or a pure function: safe to use from
// any thread.
#ifndef NODEPULSE_PIPELINE_RETENTION_H_
#define NODEPULSE_PIPELINE_RETENTION_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace nodepulse::pipeline {

struct TierSpec {
  int64_t step_ms = 0;
  uint32_t slots = 0;
  int64_t span_ms() const { return step_ms * static_cast<int64_t>(slots); }
  bool operator==(const TierSpec&) const = default;
};

// raw 1s x 360 (6m), 30s x 120 (1h): what the 1m/5m/15m/1h aggregates and
// the status page's hour of sparklines read, in ~3.4 KB per history series,
// so a 1000-container node (~10k history series) keeps history in ~35 MB.
// Longer history is one more tier away (e.g. ",10m:24h", +2.3 KB per series);
// a 10s:1h,60s:24h history (the first design) costs 28.8 KB per series more.
std::vector<TierSpec> DefaultTiers();

// "1500ms", "1s", "10s", "5m", "1h", "7d": a positive integer and one unit
// (ms, s, m, h, d). Returns milliseconds. No fractions, no sums ("1h30m"):
// the flag is short and an exact integer is easier to reason about.
absl::StatusOr<int64_t> ParseDuration(std::string_view text);
// The exact inverse of ParseDuration, for messages and metric names: the
// largest unit that divides evenly ("60000" -> "1m", "1500" -> "1500ms"), so
// ParseDuration(FormatDurationExact(ms)) == ms. Not the health pages' rounded
// human form (FormatDurationRounded in exporters/health).
std::string FormatDurationExact(int64_t ms);

// "1s:6m,30s:1h,10m:24h": comma-separated step:span pairs, finest first.
// Errors (InvalidArgument) name the offending part and the rule it breaks.
absl::StatusOr<std::vector<TierSpec>> ParseRetention(std::string_view text);

// The rules ParseRetention enforces, for tiers built in code: 1..8 tiers,
// steps strictly increasing and each a multiple of the previous one, 1 to
// 2^20 slots per tier.
absl::Status ValidateTiers(const std::vector<TierSpec>& tiers);

}  // namespace nodepulse::pipeline

#endif  // NODEPULSE_PIPELINE_RETENTION_H_
