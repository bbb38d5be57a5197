// FakeKubelet: a real HTTPS server on loopback (OpenSSL, TLS 1.2+) that
// serves fixture bodies by path and requires "Authorization: Bearer <token>",
// with switchable faults: slow, garbage, an HTTP status, an oversized or
// length-less body. Certificates come from the openssl CLI at test time
// (TestCerts). Owns its threads; the destructor stops and joins them.
#ifndef NODEPULSE_TESTS_SUPPORT_FAKE_KUBELET_H_
#define NODEPULSE_TESTS_SUPPORT_FAKE_KUBELET_H_

#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace nodepulse::testing {

// A CA, a server certificate for IP:127.0.0.1 signed by it, one for another
// host signed by it, and an unrelated CA, all PEM files in `dir`.
struct TestCerts {
  std::string dir;
  std::string ca;            // ca.crt
  std::string other_ca;      // other-ca.crt (did not sign anything served)
  std::string server_cert;   // 127.0.0.1
  std::string server_key;
  std::string wrong_host_cert;  // SAN DNS:kubelet.example, IP:10.11.12.13
  std::string wrong_host_key;
  std::string error;  // non-empty when the openssl CLI failed
};
TestCerts MakeTestCerts(const std::string& dir);

// The pieces MakeTestCerts is made of, for tests that need other names or
// addresses: a CA <dir>/<name>.{crt,key} with `subject` ("/CN=..."), and a
// serving certificate <dir>/<name>.{crt,key} for `san` ("IP:127.0.0.1")
// signed by the CA at path `ca` (without .crt/.key). False and *error set
// when the openssl CLI fails.
bool MakeTestCa(const std::string& dir, const std::string& name, const std::string& subject,
                std::string* error);
bool MakeTestLeaf(const std::string& dir, const std::string& name, const std::string& subject,
                  const std::string& san, const std::string& ca, std::string* error);

class FakeKubelet {
 public:
  enum class Fault { kNone, kSlow, kGarbage, kStatus, kHugeNoLength, kClose };

  // Listens on `address` (a 127.0.0.0/8 address) at `port` (0: any free one).
  FakeKubelet(const std::string& cert, const std::string& key, std::string token,
              std::string address = "127.0.0.1", int port = 0);
  ~FakeKubelet();
  FakeKubelet(const FakeKubelet&) = delete;
  FakeKubelet& operator=(const FakeKubelet&) = delete;

  bool ok() const { return port_ > 0; }
  int port() const { return port_; }
  std::string url() const { return "https://" + address_ + ":" + std::to_string(port_); }

  void Serve(const std::string& path, std::string body);
  void SetFault(Fault fault, int arg = 0);  // kSlow: ms; kStatus: code; kHugeNoLength: bytes
  int connections() const { return connections_.load(); }
  int requests(const std::string& path) const;

 private:
  void AcceptLoop();
  void Handle(int fd);

  void* ctx_ = nullptr;  // SSL_CTX
  int listen_fd_ = -1;
  int port_ = -1;
  const std::string address_;
  const std::string token_;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
  std::thread acceptor_;

  mutable std::mutex mu_;
  std::map<std::string, std::string> bodies_;
  std::map<std::string, int> requests_;
  Fault fault_ = Fault::kNone;
  int fault_arg_ = 0;
  std::set<int> open_fds_;
  std::vector<std::thread> workers_;
};

}  // namespace nodepulse::testing

#endif  // NODEPULSE_TESTS_SUPPORT_FAKE_KUBELET_H_
