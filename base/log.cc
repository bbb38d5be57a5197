#include "nodepulse/base/log.h"

#include <pthread.h>
#include <unistd.h>

#include <atomic>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace nodepulse {
namespace {
std::atomic<int> g_level{static_cast<int>(LogLevel::kInfo)};
const char* Name(LogLevel l) {
  switch (l) {
    case LogLevel::kDebug: return "debug";
    case LogLevel::kInfo: return "info";
    case LogLevel::kWarn: return "warn";
    case LogLevel::kError: return "error";
  }
  return "info";
}
}  // namespace

void NameThisThread(const char* name) {
  char buf[16] = {};
  for (size_t i = 0; i + 1 < sizeof(buf) && name[i] != '\0'; ++i) buf[i] = name[i];
  pthread_setname_np(pthread_self(), buf);  // best effort: a name is cosmetic
}

void SetLogLevel(LogLevel level) { g_level.store(static_cast<int>(level)); }
bool LogEnabled(LogLevel level) { return static_cast<int>(level) >= g_level.load(std::memory_order_relaxed); }

absl::StatusOr<LogLevel> ParseLogLevel(std::string_view text) {
  std::string t = absl::AsciiStrToLower(absl::string_view(text.data(), text.size()));
  if (t == "debug") return LogLevel::kDebug;
  if (t == "info") return LogLevel::kInfo;
  if (t == "warn" || t == "warning") return LogLevel::kWarn;
  if (t == "error") return LogLevel::kError;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown log level '", std::string(text), "' (allowed: debug, info, warn, error)"));
}

void LogLine(LogLevel level, std::string_view message) {
  std::string line = absl::StrCat(
      "ts=", absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone()),
      " level=", Name(level), " msg=\"");
  for (char c : message) {
    if (c == '"' || c == '\\') line += '\\';
    if (c == '\n') { line += "\\n"; continue; }
    line += c;
  }
  line += "\"\n";
  // One write(2) per line: lines from different threads never interleave.
  ssize_t ignored = ::write(2, line.data(), line.size());
  (void)ignored;
}

}  // namespace nodepulse
