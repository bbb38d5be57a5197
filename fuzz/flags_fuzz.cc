// The agent's command line (agent/config.h ParseFlags): argv is the input
// split at '\n'. The flags are process-global absl flags, so each input runs
// under a FlagSaver and cannot leak values into the next one.
#include <cstdint>
#include <string>
#include <vector>

#include "absl/flags/reflection.h"
#include "config.h"
#include "fuzz_util.h"

using nodepulse::fuzz::AsView;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 4096) return 0;  // argv is short; long inputs only slow the search
  std::vector<std::string> args = {"nodepulse"};
  for (std::string_view a : nodepulse::fuzz::SplitAll(AsView(data, size), '\n')) {
    args.emplace_back(a);
  }
  absl::FlagSaver saver;
  absl::StatusOr<nodepulse::agent::Config> cfg = nodepulse::agent::ParseFlags(args);
  if (cfg.ok() && !cfg->help) {
    // What validation promises main().
    FUZZ_CHECK(cfg->interval >= absl::Milliseconds(100) && cfg->interval <= absl::Hours(1));
    FUZZ_CHECK(cfg->http_threads >= 1 && cfg->http_threads <= 64);
    FUZZ_CHECK(cfg->max_series >= 1);
    FUZZ_CHECK(cfg->cgroup_max_depth >= 0 && cfg->cgroup_max_depth <= 16);
  } else if (!cfg.ok()) {
    FUZZ_CHECK(cfg.status().code() == absl::StatusCode::kInvalidArgument);
  }
  return 0;
}
