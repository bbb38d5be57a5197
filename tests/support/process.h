// Test support: run a child process we own, capture its output, end it by PID.
#ifndef NODEPULSE_TESTS_SUPPORT_PROCESS_H_
#define NODEPULSE_TESTS_SUPPORT_PROCESS_H_

#include <sys/types.h>

#include <string>
#include <vector>

namespace nodepulse::testing {

// A child started with fork/exec; stdout+stderr go to a temp file we can read.
// The destructor sends SIGKILL to the child (only ours, by PID) and reaps it.
class ChildProcess {
 public:
  explicit ChildProcess(std::vector<std::string> argv);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  bool started() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }
  // Sends `sig` and waits up to timeout_ms; returns the exit status as
  // waitpid's (or -1 on timeout, after which the child is SIGKILLed).
  int Stop(int sig, int timeout_ms);
  // Non-blocking: true if the child has exited (status stored).
  bool Exited();
  int status() const { return status_; }
  std::string Output() const;

 private:
  pid_t pid_ = -1;
  int status_ = -1;
  std::string log_path_;
};

// Runs argv to completion (with a timeout), returning exit code and output.
struct RunResult {
  int exit_code = -1;  // -1: killed or timed out
  std::string output;  // stdout + stderr
};
RunResult RunCommand(std::vector<std::string> argv, int timeout_ms = 60000,
              const std::string& stdin_data = "");

// A TCP port on 127.0.0.1 that was free a moment ago.
int FreeLoopbackPort();

// Minimal HTTP/1.1 GET over loopback; returns status (or -1) and body.
struct HttpResult {
  int status = -1;
  std::string headers;
  std::string body;
};
HttpResult HttpGet(int port, const std::string& path_and_query,
                   const std::vector<std::string>& extra_headers = {});
// Sends raw bytes and returns whatever the server answers before closing.
std::string RawRequest(int port, const std::string& bytes);

// Polls until fn() is true or timeout; returns the last fn() value.
template <typename Fn>
bool WaitFor(Fn fn, int timeout_ms, int step_ms = 50);

std::string MakeTempDir(const std::string& prefix);
void RemoveTree(const std::string& path);
std::string ReadFile(const std::string& path);
bool WriteFile(const std::string& path, const std::string& data);

}  // namespace nodepulse::testing

#include <chrono>
#include <thread>
namespace nodepulse::testing {
template <typename Fn>
bool WaitFor(Fn fn, int timeout_ms, int step_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    if (fn()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(step_ms));
  }
  return fn();
}
}  // namespace nodepulse::testing

#endif  // NODEPULSE_TESTS_SUPPORT_PROCESS_H_
