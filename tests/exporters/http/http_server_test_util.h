// A blocking loopback HTTP/1.1 client for the server tests: one connection,
// several requests on it, responses read by Content-Length (so keep-alive and
// pipelining are observable), and whether the server closed the connection.
#ifndef NODEPULSE_TESTS_EXPORTERS_HTTP_SERVER_TEST_UTIL_H_
#define NODEPULSE_TESTS_EXPORTERS_HTTP_SERVER_TEST_UTIL_H_

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <string>

namespace nodepulse::testing {

class TestClient {
 public:
  explicit TestClient(int port) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<uint16_t>(port));
    connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
  }
  ~TestClient() { ::close(fd_); }
  TestClient(const TestClient&) = delete;
  TestClient& operator=(const TestClient&) = delete;

  bool connected() const { return connected_; }
  bool Send(const std::string& bytes) {
    size_t off = 0;
    while (off < bytes.size()) {
      ssize_t n = send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return false;
      off += static_cast<size_t>(n);
    }
    return true;
  }

  struct Response {
    int status = -1;  // -1: connection closed or timed out before a response
    std::string headers;
    std::string body;
  };
  // Reads one response; `head_only` for answers to HEAD (no body follows).
  Response Read(bool head_only = false, int timeout_ms = 5000) {
    Response r;
    size_t end;
    while ((end = buf_.find("\r\n\r\n")) == std::string::npos) {
      if (!Fill(timeout_ms)) return r;
    }
    r.headers = buf_.substr(0, end);
    size_t len = 0;
    size_t cl = r.headers.find("Content-Length: ");
    if (cl != std::string::npos) len = std::strtoul(r.headers.c_str() + cl + 16, nullptr, 10);
    if (head_only) len = 0;
    while (buf_.size() < end + 4 + len) {
      if (!Fill(timeout_ms)) return r;
    }
    r.body = buf_.substr(end + 4, len);
    buf_.erase(0, end + 4 + len);
    r.status = std::atoi(r.headers.c_str() + 9);
    return r;
  }
  // True when the server closes (EOF or reset) within timeout_ms.
  bool Closed(int timeout_ms = 5000) {
    while (true) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, timeout_ms) <= 0) return false;
      char c[4096];
      ssize_t n = recv(fd_, c, sizeof(c), 0);
      if (n <= 0) return true;
      buf_.append(c, static_cast<size_t>(n));
    }
  }

 private:
  bool Fill(int timeout_ms) {
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, timeout_ms) <= 0) return false;
    char c[65536];
    ssize_t n = recv(fd_, c, sizeof(c), 0);
    if (n <= 0) return false;
    buf_.append(c, static_cast<size_t>(n));
    return true;
  }
  int fd_ = -1;
  bool connected_ = false;
  std::string buf_;
};

}  // namespace nodepulse::testing

#endif  // NODEPULSE_TESTS_EXPORTERS_HTTP_SERVER_TEST_UTIL_H_
