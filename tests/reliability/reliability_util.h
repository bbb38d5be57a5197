// Helpers for the reliability tests: reading the agent's exposition (sums,
// series counts, histogram quantiles), its process (RSS, open fds, log
// lines), a background scraper, and a figure printer. Figures are printed as
// "[figure] <name>=<value>" and recorded as gtest properties, so the README's
// numbers come straight from a test run.
#ifndef NODEPULSE_TESTS_RELIABILITY_RELIABILITY_UTIL_H_
#define NODEPULSE_TESTS_RELIABILITY_RELIABILITY_UTIL_H_

#include <dirent.h>
#include <sys/types.h>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "gtest/gtest.h"
#include "process.h"

namespace nodepulse::testing {

// True in ASan/TSan builds, where timings say nothing about the agent; tests
// then check behaviour but not speed.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
inline constexpr bool kSanitized = true;
#else
inline constexpr bool kSanitized = false;
#endif

inline double MonoNow() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

inline int EnvInt(const char* name, int def) {
  const char* v = std::getenv(name);
  int out;
  return v != nullptr && absl::SimpleAtoi(v, &out) ? out : def;
}

inline void Figure(const std::string& name, double value) {
  std::printf("[figure] %s=%.6g\n", name.c_str(), value);
  std::fflush(stdout);
  ::testing::Test::RecordProperty(name, absl::StrCat(value));
}

// Sample lines of `name` (exact metric name) whose labels contain every needle.
inline std::vector<std::pair<std::string, double>> Samples(
    absl::string_view exposition, absl::string_view name, const std::vector<std::string>& needles = {}) {
  std::vector<std::pair<std::string, double>> out;
  for (absl::string_view line : absl::StrSplit(exposition, '\n')) {
    if (line.empty() || line[0] == '#' || !absl::StartsWith(line, name)) continue;
    if (line.size() <= name.size() || (line[name.size()] != '{' && line[name.size()] != ' ')) continue;
    bool all = true;
    for (const std::string& n : needles) all &= absl::StrContains(line, n);
    if (!all) continue;
    size_t close = line.rfind('}');
    absl::string_view rest = line.substr(close == absl::string_view::npos ? name.size() : close + 1);
    std::vector<absl::string_view> parts = absl::StrSplit(rest, ' ', absl::SkipEmpty());
    double v;
    if (!parts.empty() && absl::SimpleAtod(parts[0], &v)) out.push_back({std::string(line), v});
  }
  return out;
}

inline double Sum(absl::string_view exposition, absl::string_view name,
                  const std::vector<std::string>& needles = {}) {
  double s = 0;
  for (const auto& [line, v] : Samples(exposition, name, needles)) s += v;
  return s;
}

// Sample lines (any metric) containing `needle`, e.g. an id label prefix.
inline size_t CountLinesWith(absl::string_view exposition, absl::string_view needle) {
  size_t n = 0;
  for (absl::string_view line : absl::StrSplit(exposition, '\n')) {
    if (!line.empty() && line[0] != '#' && absl::StrContains(line, needle)) ++n;
  }
  return n;
}

// Cumulative buckets (le -> count) of a histogram without labels.
inline std::map<double, double> Buckets(absl::string_view exposition, const std::string& name) {
  std::map<double, double> b;
  for (const auto& [line, v] : Samples(exposition, name + "_bucket")) {
    size_t at = line.find("le=\"");
    if (at == std::string::npos) continue;
    std::string le = line.substr(at + 4, line.find('"', at + 4) - at - 4);
    double bound = le == "+Inf" ? INFINITY : std::strtod(le.c_str(), nullptr);
    b[bound] = v;
  }
  return b;
}

// Quantile q of the observations made between two scrapes, as PromQL's
// histogram_quantile (linear within the bucket); NaN when none.
inline double QuantileBetween(const std::map<double, double>& before,
                              const std::map<double, double>& after, double q) {
  std::vector<std::pair<double, double>> d;  // (upper bound, cumulative delta)
  for (const auto& [le, c] : after) {
    auto it = before.find(le);
    d.push_back({le, c - (it == before.end() ? 0 : it->second)});
  }
  if (d.empty() || d.back().second <= 0) return NAN;
  double rank = q * d.back().second;
  double lower = 0, below = 0;
  for (const auto& [le, c] : d) {
    if (c >= rank) {
      if (std::isinf(le)) return lower;  // beyond the last finite bound
      return lower + (le - lower) * (c - below > 0 ? (rank - below) / (c - below) : 0);
    }
    lower = le;
    below = c;
  }
  return lower;
}

// A resident-memory line of /proc/PID/status in bytes: "VmRSS" (all of it),
// "RssAnon" (the heap and mappings the process allocated), "RssFile".
inline double RssBytes(pid_t pid, absl::string_view field = "VmRSS") {
  std::string status = ReadFile("/proc/" + std::to_string(pid) + "/status");
  for (absl::string_view line : absl::StrSplit(status, '\n')) {
    if (!absl::StartsWith(line, absl::StrCat(field, ":"))) continue;
    std::vector<absl::string_view> f = absl::StrSplit(line, ' ', absl::SkipEmpty());
    double kb;
    if (f.size() >= 2 && absl::SimpleAtod(f[1], &kb)) return kb * 1024;
  }
  return -1;
}

inline int OpenFds(pid_t pid) {
  std::string dir = "/proc/" + std::to_string(pid) + "/fd";
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return -1;
  int n = 0;
  while (dirent* e = readdir(d)) n += e->d_name[0] != '.';
  closedir(d);
  return n;
}

// Lines of the agent's log at warn or error level ("level=warn").
inline size_t WarnLines(const std::string& log) {
  size_t n = 0;
  for (absl::string_view line : absl::StrSplit(log, '\n')) {
    n += absl::StrContains(line, "level=warn") || absl::StrContains(line, "level=error");
  }
  return n;
}

// Scrapes a path every `period_ms` on its own thread until destroyed,
// counting failures and the slowest scrape.
class Scraper {
 public:
  Scraper(int port, std::string path, int period_ms) : port_(port), path_(std::move(path)) {
    thread_ = std::thread([this, period_ms] {
      while (!stop_.load()) {
        double t0 = MonoNow();
        HttpResult r = HttpGet(port_, path_);
        double took = MonoNow() - t0;
        ++scrapes_;
        if (r.status != 200) {
          ++failures_;
          std::lock_guard<std::mutex> l(mu_);
          last_failure_ = absl::StrCat(r.status, " ", r.body.substr(0, 200));
        }
        {
          std::lock_guard<std::mutex> l(mu_);
          max_seconds_ = std::max(max_seconds_, took);
        }
        for (int i = 0; i < period_ms / 10 && !stop_.load(); ++i) {
          std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
      }
    });
  }
  ~Scraper() { Stop(); }
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  int scrapes() const { return scrapes_.load(); }
  int failures() const { return failures_.load(); }
  double max_seconds() {
    std::lock_guard<std::mutex> l(mu_);
    return max_seconds_;
  }
  std::string last_failure() {
    std::lock_guard<std::mutex> l(mu_);
    return last_failure_;
  }

 private:
  int port_;
  std::string path_;
  std::atomic<bool> stop_{false};
  std::atomic<int> scrapes_{0}, failures_{0};
  std::mutex mu_;
  double max_seconds_ = 0;
  std::string last_failure_;
  std::thread thread_;
};

}  // namespace nodepulse::testing

#endif  // NODEPULSE_TESTS_RELIABILITY_RELIABILITY_UTIL_H_
