#include "fake_kubelet.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <csignal>

#include "process.h"

namespace nodepulse::testing {
namespace {

bool RunOpenssl(const std::vector<std::string>& args, std::string* error) {
  std::vector<std::string> argv = {"openssl"};
  argv.insert(argv.end(), args.begin(), args.end());
  RunResult r = RunCommand(argv, 60000);
  if (r.exit_code != 0) {
    *error = "openssl";
    for (const auto& a : args) *error += " " + a;
    *error += ": " + r.output;
    return false;
  }
  return true;
}

bool WriteAll(SSL* ssl, const std::string& data) {
  size_t off = 0;
  while (off < data.size()) {
    int n = SSL_write(ssl, data.data() + off, static_cast<int>(std::min<size_t>(data.size() - off, 1 << 20)));
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

bool MakeTestCa(const std::string& dir, const std::string& name, const std::string& subject,
                std::string* error) {
  // EC P-256 keys: generated in milliseconds, unlike RSA.
  return RunOpenssl({"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                     "-keyout", dir + "/" + name + ".key", "-out", dir + "/" + name + ".crt", "-days", "2",
                     "-subj", subject, "-addext", "basicConstraints=critical,CA:TRUE", "-addext",
                     "keyUsage=critical,keyCertSign,cRLSign"},
                    error);
}

bool MakeTestLeaf(const std::string& dir, const std::string& name, const std::string& subject,
                  const std::string& san, const std::string& ca, std::string* error) {
  WriteFile(dir + "/" + name + ".ext",
            "subjectAltName=" + san + "\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n");
  return RunOpenssl({"req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
                     dir + "/" + name + ".key", "-out", dir + "/" + name + ".csr", "-subj", subject},
                    error) &&
         RunOpenssl({"x509", "-req", "-in", dir + "/" + name + ".csr", "-CA", ca + ".crt", "-CAkey", ca + ".key",
                     "-CAcreateserial", "-out", dir + "/" + name + ".crt", "-days", "2", "-extfile",
                     dir + "/" + name + ".ext"},
                    error);
}

TestCerts MakeTestCerts(const std::string& dir) {
  TestCerts c;
  c.dir = dir;
  c.ca = dir + "/ca.crt";
  c.other_ca = dir + "/other-ca.crt";
  c.server_cert = dir + "/server.crt";
  c.server_key = dir + "/server.key";
  c.wrong_host_cert = dir + "/wrong.crt";
  c.wrong_host_key = dir + "/wrong.key";
  auto ca = [&](const std::string& name) { return MakeTestCa(dir, name, "/CN=nodepulse-test-" + name, &c.error); };
  auto leaf = [&](const std::string& name, const std::string& san) {
    return MakeTestLeaf(dir, name, "/CN=kubelet-" + name, san, dir + "/ca", &c.error);
  };
  if (ca("ca") && ca("other-ca") && leaf("server", "IP:127.0.0.1") &&
      leaf("wrong", "DNS:kubelet.example,IP:10.11.12.13")) {
    c.error.clear();
  }
  return c;
}

FakeKubelet::FakeKubelet(const std::string& cert, const std::string& key, std::string token,
                         std::string address, int port)
    : address_(std::move(address)), token_(std::move(token)) {
  // A client that gives up (timeout tests) makes our next write hit a closed
  // socket; that must be an error return, not a process-killing SIGPIPE.
  std::signal(SIGPIPE, SIG_IGN);
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (ctx == nullptr || SSL_CTX_use_certificate_chain_file(ctx, cert.c_str()) != 1 ||
      SSL_CTX_use_PrivateKey_file(ctx, key.c_str(), SSL_FILETYPE_PEM) != 1) {
    if (ctx) SSL_CTX_free(ctx);
    return;
  }
  ctx_ = ctx;
  listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  // Loopback only (127.0.0.0/8).
  if (inet_pton(AF_INET, address_.c_str(), &a.sin_addr) != 1 || (ntohl(a.sin_addr.s_addr) >> 24) != 127) return;
  if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 || listen(listen_fd_, 16) != 0) {
    return;
  }
  socklen_t len = sizeof(a);
  getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
  port_ = ntohs(a.sin_port);
  acceptor_ = std::thread([this] { AcceptLoop(); });
}

FakeKubelet::~FakeKubelet() {
  stop_ = true;
  if (acceptor_.joinable()) acceptor_.join();
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (int fd : open_fds_) shutdown(fd, SHUT_RDWR);  // wakes blocked SSL_read
  }
  for (auto& t : workers_) t.join();
  if (listen_fd_ >= 0) close(listen_fd_);
  if (ctx_) SSL_CTX_free(static_cast<SSL_CTX*>(ctx_));
}

void FakeKubelet::Serve(const std::string& path, std::string body) {
  std::lock_guard<std::mutex> lock(mu_);
  bodies_[path] = std::move(body);
}

void FakeKubelet::SetFault(Fault fault, int arg) {
  std::lock_guard<std::mutex> lock(mu_);
  fault_ = fault;
  fault_arg_ = arg;
}

int FakeKubelet::requests(const std::string& path) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = requests_.find(path);
  return it == requests_.end() ? 0 : it->second;
}

void FakeKubelet::AcceptLoop() {
  while (!stop_) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (poll(&p, 1, 50) <= 0) continue;
    int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    ++connections_;
    std::lock_guard<std::mutex> lock(mu_);
    open_fds_.insert(fd);
    workers_.emplace_back([this, fd] { Handle(fd); });
  }
}

void FakeKubelet::Handle(int fd) {
  SSL* ssl = SSL_new(static_cast<SSL_CTX*>(ctx_));
  SSL_set_fd(ssl, fd);
  if (SSL_accept(ssl) == 1) {
    std::string buf;
    char chunk[4096];
    while (!stop_) {
      size_t end;
      while ((end = buf.find("\r\n\r\n")) == std::string::npos) {
        int n = SSL_read(ssl, chunk, sizeof(chunk));
        if (n <= 0) goto done;
        buf.append(chunk, static_cast<size_t>(n));
      }
      std::string head = buf.substr(0, end) + "\r\n";  // so every header line ends in CRLF
      buf.erase(0, end + 4);
      size_t sp1 = head.find(' '), sp2 = head.find(' ', sp1 + 1);
      std::string path = head.substr(sp1 + 1, sp2 - sp1 - 1);
      bool authorized = head.find("\r\nAuthorization: Bearer " + token_ + "\r\n") != std::string::npos;

      Fault fault;
      int arg;
      std::string body;
      bool found;
      {
        std::lock_guard<std::mutex> lock(mu_);
        ++requests_[path];
        fault = fault_;
        arg = fault_arg_;
        auto it = bodies_.find(path);
        found = it != bodies_.end();
        if (found) body = it->second;
      }
      if (fault == Fault::kClose) break;
      if (fault == Fault::kSlow) {
        auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(arg);
        while (!stop_ && std::chrono::steady_clock::now() < until) {
          std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
      }
      int status = 200;
      if (!authorized) status = 401;
      else if (fault == Fault::kStatus) status = arg;
      else if (!found) status = 404;
      if (status != 200) body = "{\"kind\":\"Status\",\"code\":" + std::to_string(status) + "}";
      if (fault == Fault::kGarbage && status == 200) body = "<html><body>502 Bad Gateway</body></html>\n\x01\x02";
      if (fault == Fault::kHugeNoLength && status == 200) {
        // No Content-Length: the client can only notice the size while
        // streaming. Send `arg` bytes of a valid-looking prefix, then close.
        std::string head_out = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n";
        if (!WriteAll(ssl, head_out)) break;
        std::string filler(64 * 1024, ' ');
        WriteAll(ssl, "{\"items\":[");
        for (int sent = 0; sent < arg && !stop_; sent += static_cast<int>(filler.size())) {
          if (!WriteAll(ssl, filler)) break;
        }
        break;
      }
      std::string out = "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Type: application/json\r\n" +
                        "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
      if (!WriteAll(ssl, out)) break;
    }
  }
done:
  SSL_shutdown(ssl);
  SSL_free(ssl);
  {
    std::lock_guard<std::mutex> lock(mu_);
    open_fds_.erase(fd);
  }
  close(fd);
}

}  // namespace nodepulse::testing
