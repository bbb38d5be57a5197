// Runs the real nodepulse binary on loopback for end-to-end tests.
#ifndef NODEPULSE_TESTS_INTEGRATION_AGENT_HARNESS_H_
#define NODEPULSE_TESTS_INTEGRATION_AGENT_HARNESS_H_

#include <cmath>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "process.h"

namespace nodepulse::testing {

class AgentHarness {
 public:
  // Starts nodepulse on a free loopback port with `extra` flags and waits for
  // /readyz; ok() tells whether it came up.
  // wait_path: /readyz normally; /healthz where readiness is expected to fail
  // (e.g. an unreachable kubelet).
  explicit AgentHarness(std::vector<std::string> extra, const std::string& wait_path = "/readyz") {
    port_ = FreeLoopbackPort();
    std::vector<std::string> argv = {NODEPULSE_AGENT_BIN,
                                     "--listen=127.0.0.1:" + std::to_string(port_)};
    argv.insert(argv.end(), extra.begin(), extra.end());
    child_ = std::make_unique<ChildProcess>(argv);
    ready_ = WaitFor([this, &wait_path] { return !child_->Exited() && HttpGet(port_, wait_path).status == 200; },
                     20000, 50);
  }
  bool ok() const { return ready_; }
  int port() const { return port_; }
  ChildProcess& child() { return *child_; }
  std::string Metrics() { return HttpGet(port_, "/metrics").body; }

 private:
  int port_ = 0;
  bool ready_ = false;
  std::unique_ptr<ChildProcess> child_;
};

// The value of the first sample of `name` whose label block contains every
// `needle` (e.g. id="/x"); nullopt when absent.
inline std::optional<double> SampleValue(const std::string& exposition, const std::string& name,
                                         const std::vector<std::string>& needles = {}) {
  for (absl::string_view line : absl::StrSplit(exposition, '\n')) {
    if (line.empty() || line[0] == '#') continue;
    if (line.substr(0, name.size()) != name) continue;
    if (line.size() <= name.size() || (line[name.size()] != '{' && line[name.size()] != ' ')) continue;
    bool all = true;
    for (const std::string& n : needles) all &= line.find(n) != absl::string_view::npos;
    if (!all) continue;
    size_t close = line.rfind('}');
    absl::string_view rest = line.substr(close == absl::string_view::npos ? name.size() : close + 1);
    std::vector<absl::string_view> parts = absl::StrSplit(rest, ' ', absl::SkipEmpty());
    double v;
    if (!parts.empty() && absl::SimpleAtod(parts[0], &v)) return v;
  }
  return std::nullopt;
}

}  // namespace nodepulse::testing

#endif  // NODEPULSE_TESTS_INTEGRATION_AGENT_HARNESS_H_
