#include "process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

namespace nodepulse::testing {

namespace {

pid_t Spawn(const std::vector<std::string>& argv, const std::string& log_path, int stdin_fd) {
  pid_t pid = fork();
  if (pid != 0) return pid;
  int out = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (out >= 0) {
    dup2(out, 1);
    dup2(out, 2);
  }
  if (stdin_fd >= 0) {
    dup2(stdin_fd, 0);
  } else {
    int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, 0);
  }
  // Our parent's blocked signals would otherwise be inherited.
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  execvp(args[0], args.data());
  _exit(127);
}

}  // namespace

ChildProcess::ChildProcess(std::vector<std::string> argv) {
  char tmpl[] = "/tmp/nodepulse-test-child-XXXXXX";
  int fd = mkstemp(tmpl);
  if (fd >= 0) ::close(fd);
  log_path_ = tmpl;
  pid_ = Spawn(argv, log_path_, -1);
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0 && status_ == -1) Stop(SIGKILL, 5000);
  ::unlink(log_path_.c_str());
}

bool ChildProcess::Exited() {
  if (pid_ <= 0) return true;
  if (status_ != -1) return true;
  int st;
  if (waitpid(pid_, &st, WNOHANG) == pid_) {
    status_ = st;
    return true;
  }
  return false;
}

int ChildProcess::Stop(int sig, int timeout_ms) {
  if (pid_ <= 0) return -1;
  if (Exited()) return status_;
  kill(pid_, sig);
  if (WaitFor([this] { return Exited(); }, timeout_ms, 10)) return status_;
  kill(pid_, SIGKILL);
  int st;
  waitpid(pid_, &st, 0);
  status_ = st;
  return -1;
}

std::string ChildProcess::Output() const { return ReadFile(log_path_); }

RunResult RunCommand(std::vector<std::string> argv, int timeout_ms, const std::string& stdin_data) {
  RunResult r;
  char tmpl[] = "/tmp/nodepulse-test-run-XXXXXX";
  int fd = mkstemp(tmpl);
  if (fd >= 0) ::close(fd);
  std::string in_path;
  int in_fd = -1;
  if (!stdin_data.empty()) {
    char in_tmpl[] = "/tmp/nodepulse-test-in-XXXXXX";
    in_fd = mkstemp(in_tmpl);
    in_path = in_tmpl;
    if (in_fd >= 0) {
      WriteFile(in_path, stdin_data);
      lseek(in_fd, 0, SEEK_SET);
    }
  }
  pid_t pid = Spawn(argv, tmpl, in_fd);
  if (in_fd >= 0) ::close(in_fd);
  int st = 0;
  bool done = WaitFor([&] { return waitpid(pid, &st, WNOHANG) == pid; }, timeout_ms, 5);
  if (!done) {
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
  } else if (WIFEXITED(st)) {
    r.exit_code = WEXITSTATUS(st);
  }
  r.output = ReadFile(tmpl);
  ::unlink(tmpl);
  if (!in_path.empty()) ::unlink(in_path.c_str());
  return r;
}

int FreeLoopbackPort() {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  bind(s, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  socklen_t len = sizeof(a);
  getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
  int port = ntohs(a.sin_port);
  ::close(s);
  return port;
}

std::string RawRequest(int port, const std::string& bytes) {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  timeval tv{10, 0};
  setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  std::string out;
  if (connect(s, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0) {
    size_t off = 0;
    while (off < bytes.size()) {
      ssize_t n = send(s, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
      if (n <= 0) break;
      off += static_cast<size_t>(n);
    }
    char buf[65536];
    while (true) {
      ssize_t n = recv(s, buf, sizeof(buf), 0);
      if (n <= 0) break;
      out.append(buf, static_cast<size_t>(n));
    }
  }
  ::close(s);
  return out;
}

HttpResult HttpGet(int port, const std::string& path_and_query,
                   const std::vector<std::string>& extra_headers) {
  std::string req = "GET " + path_and_query + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
  for (const std::string& h : extra_headers) req += h + "\r\n";
  req += "\r\n";
  std::string raw = RawRequest(port, req);
  HttpResult r;
  size_t sp = raw.find(' ');
  size_t hdr_end = raw.find("\r\n\r\n");
  if (raw.rfind("HTTP/", 0) != 0 || sp == std::string::npos || hdr_end == std::string::npos) return r;
  r.status = std::atoi(raw.c_str() + sp + 1);
  r.headers = raw.substr(0, hdr_end);
  r.body = raw.substr(hdr_end + 4);
  return r;
}

std::string MakeTempDir(const std::string& prefix) {
  std::string tmpl = "/tmp/" + prefix + "-XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  char* d = mkdtemp(buf.data());
  return d ? std::string(d) : std::string();
}

void RemoveTree(const std::string& path) {
  if (path.empty() || path == "/") return;
  nftw(
      path.c_str(),
      [](const char* p, const struct stat*, int, struct FTW*) { return ::remove(p); }, 16,
      FTW_DEPTH | FTW_PHYS);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool WriteFile(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
  return static_cast<bool>(out);
}

}  // namespace nodepulse::testing
