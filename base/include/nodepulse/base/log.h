// Minimal leveled logging to stderr, one logfmt line per event.
//
// Debian 12's abseil (20220623) predates absl/log, so the agent carries this
// small logger. Lines look like:
//   ts=2026-11-26T01:10:41.123Z level=warn msg="kubelet unreachable: ..."
// Callers log state changes once (kubelet up -> down), not every cycle.
//
// Thread-safety: all functions may be called from any thread; each line is
// written with a single write(2) so lines from threads never interleave.
#ifndef NODEPULSE_BASE_LOG_H_
#define NODEPULSE_BASE_LOG_H_

#include <string_view>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"

namespace nodepulse {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

void SetLogLevel(LogLevel level);
bool LogEnabled(LogLevel level);
// Accepts debug|info|warn|error.
absl::StatusOr<LogLevel> ParseLogLevel(std::string_view text);
void LogLine(LogLevel level, std::string_view message);

// Names the calling thread ("np-collect", ...; the kernel keeps 15 bytes) so
// an SRE's `top -H`, perf and /proc/PID/task/*/comm tell the threads apart.
void NameThisThread(const char* name);

namespace log_internal {
// Debian's abseil is built with its own absl::string_view (not an alias of
// std::string_view), so StrCat cannot take std::string_view directly.
template <typename T>
const T& Adapt(const T& v) {
  return v;
}
inline absl::string_view Adapt(std::string_view v) { return {v.data(), v.size()}; }
}  // namespace log_internal

template <typename... Args>
void LogDebug(const Args&... args) {
  if (LogEnabled(LogLevel::kDebug)) LogLine(LogLevel::kDebug, absl::StrCat(log_internal::Adapt(args)...));
}
template <typename... Args>
void LogInfo(const Args&... args) {
  if (LogEnabled(LogLevel::kInfo)) LogLine(LogLevel::kInfo, absl::StrCat(log_internal::Adapt(args)...));
}
template <typename... Args>
void LogWarn(const Args&... args) {
  if (LogEnabled(LogLevel::kWarn)) LogLine(LogLevel::kWarn, absl::StrCat(log_internal::Adapt(args)...));
}
template <typename... Args>
void LogError(const Args&... args) {
  if (LogEnabled(LogLevel::kError)) LogLine(LogLevel::kError, absl::StrCat(log_internal::Adapt(args)...));
}

}  // namespace nodepulse

#endif  // NODEPULSE_BASE_LOG_H_
