// remote_write faults against the real agent (issue #8, part 5):
//  - the disk queue's filesystem fills up (a 512 KiB tmpfs): samples are
//    dropped and counted, logged once, collection goes on, and appending
//    resumes once there is space;
//  - SIGKILL at random moments, then restart on the same --state-dir: the
//    queue comes back intact (pending never shrinks across a kill), and once
//    a receiver is up everything is delivered in well-formed requests.
// The receiver is a loopback HTTP server in this test that decodes every
// body (snappy, then prometheus.WriteRequest) and counts samples.
#ifdef NODEPULSE_HAVE_REMOTE_WRITE

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "agent_harness.h"
#include "gtest/gtest.h"
#include "process.h"
#include "reliability_util.h"
#include "remote.pb.h"
#include "snappy.h"

namespace nodepulse::testing {
namespace {

class Receiver {
 public:
  explicit Receiver(int port) {
    // The agent may hang up before the reply is written (its request timed
    // out on a slow, e.g. sanitized, run); that must be an error return of
    // send(), not a SIGPIPE that kills the whole test binary.
    signal(SIGPIPE, SIG_IGN);
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ok_ = bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0 && listen(fd_, 16) == 0;
    if (ok_) accept_ = std::thread([this] { AcceptLoop(); });
  }
  ~Receiver() {
    stop_ = true;
    shutdown(fd_, SHUT_RDWR);
    close(fd_);
    if (accept_.joinable()) accept_.join();
    std::lock_guard<std::mutex> l(mu_);
    for (int c : conns_) shutdown(c, SHUT_RDWR);
    for (std::thread& t : workers_) t.join();
  }
  bool ok() const { return ok_; }
  uint64_t samples() const { return samples_.load(); }
  int requests() const { return requests_.load(); }
  int bad() const { return bad_.load(); }

 private:
  void AcceptLoop() {
    while (!stop_) {
      int c = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) return;
      std::lock_guard<std::mutex> l(mu_);
      conns_.push_back(c);
      workers_.emplace_back([this, c] {
        Serve(c);
        close(c);
      });
    }
  }
  // HTTP/1.1 keep-alive: requests with Content-Length, one after another.
  void Serve(int c) {
    std::string buf;
    char tmp[65536];
    for (;;) {
      size_t end;
      while ((end = buf.find("\r\n\r\n")) == std::string::npos) {
        ssize_t n = read(c, tmp, sizeof(tmp));
        if (n <= 0) return;
        buf.append(tmp, static_cast<size_t>(n));
      }
      std::string head = absl::AsciiStrToLower(buf.substr(0, end));
      size_t at = head.find("content-length:");
      size_t len = 0;
      if (at != std::string::npos) {
        std::string v = head.substr(at + 15, head.find("\r\n", at) - at - 15);
        if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(v), &len)) len = 0;
      }
      while (buf.size() < end + 4 + len) {
        ssize_t n = read(c, tmp, sizeof(tmp));
        if (n <= 0) return;
        buf.append(tmp, static_cast<size_t>(n));
      }
      std::string body = buf.substr(end + 4, len);
      buf.erase(0, end + 4 + len);
      std::string raw;
      prometheus::WriteRequest req;
      if (snappy::Uncompress(body.data(), body.size(), &raw) && req.ParseFromString(raw)) {
        uint64_t n = 0;
        for (const auto& ts : req.timeseries()) n += static_cast<uint64_t>(ts.samples_size());
        samples_ += n;
      } else {
        ++bad_;
      }
      ++requests_;
      const char resp[] = "HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n";
      if (write(c, resp, sizeof(resp) - 1) < 0) return;
    }
  }

  int fd_ = -1;
  bool ok_ = false;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> samples_{0};
  std::atomic<int> requests_{0}, bad_{0};
  std::mutex mu_;
  std::vector<int> conns_;
  std::vector<std::thread> workers_;
  std::thread accept_;
};

std::vector<std::string> RemoteWriteFlags(int port, const std::string& state_dir) {
  return {"--interval=200ms", "--remote-write-url=http://127.0.0.1:" + std::to_string(port) + "/api/v1/write",
          "--state-dir=" + state_dir};
}

double Pending(const std::string& m) { return Sum(m, "nodepulse_remote_write_samples_pending"); }

TEST(RemoteWriteFaults, FullDiskDropsAndCountsThenResumes) {
  if (geteuid() != 0) GTEST_SKIP() << "mounting a tmpfs needs root";
  std::string dir = MakeTempDir("nodepulse-test-fulldisk");
  ASSERT_EQ(mount("tmpfs", dir.c_str(), "tmpfs", 0, "size=512k"), 0) << strerror(errno);
  struct Unmount {
    std::string d;
    ~Unmount() {
      umount2(d.c_str(), MNT_DETACH);
      RemoveTree(d);
    }
  } unmount{dir};
  const int port = FreeLoopbackPort();  // nothing listens: connection refused

  AgentHarness agent(RemoteWriteFlags(port, dir));
  ASSERT_TRUE(agent.ok()) << agent.child().Output();
  std::string m;
  ASSERT_TRUE(WaitFor([&] {
    m = agent.Metrics();
    return Sum(m, "nodepulse_remote_write_samples_dropped_total") > 0;
  }, 60000, 200)) << "queue never hit the full disk\n" << agent.child().Output();
  const double c0 = SampleValue(m, "nodepulse_cycles_total").value_or(0);
  const double dropped0 = Sum(m, "nodepulse_remote_write_samples_dropped_total");
  const double t0 = MonoNow();
  std::this_thread::sleep_for(std::chrono::seconds(3));
  m = agent.Metrics();
  const double rate = (SampleValue(m, "nodepulse_cycles_total").value_or(0) - c0) / (MonoNow() - t0);
  const double dropped_full = Sum(m, "nodepulse_remote_write_samples_dropped_total") - dropped0;
  std::string log = agent.child().Output();
  size_t append_errors = 0;
  for (absl::string_view line : absl::StrSplit(log, '\n')) append_errors += absl::StrContains(line, "cannot append");
  Figure("fulldisk_cycles_per_second", rate);
  Figure("fulldisk_samples_dropped_in_3s", dropped_full);
  Figure("fulldisk_append_error_log_lines", static_cast<double>(append_errors));
  EXPECT_NEAR(rate, 5.0, 1.0) << "collection must go on at its 200 ms interval";
  EXPECT_GT(dropped_full, 0) << "drops on a full disk must be counted";
  EXPECT_EQ(append_errors, 1u) << "logged once, not per snapshot:\n" << log;
  EXPECT_EQ(HttpGet(agent.port(), "/healthz").status, 200);

  // Space again: appending resumes.
  ASSERT_EQ(mount("tmpfs", dir.c_str(), "tmpfs", MS_REMOUNT, "size=64m"), 0) << strerror(errno);
  const double enq0 = Sum(agent.Metrics(), "nodepulse_remote_write_samples_enqueued_total");
  EXPECT_TRUE(WaitFor([&] { return absl::StrContains(agent.child().Output(), "writable again"); }, 10000, 100));
  EXPECT_TRUE(WaitFor([&] {
    return Sum(agent.Metrics(), "nodepulse_remote_write_samples_enqueued_total") > enq0;
  }, 10000, 100));

  // And a receiver: what is queued is delivered, in well-formed requests.
  Receiver rx(port);
  ASSERT_TRUE(rx.ok());
  EXPECT_TRUE(WaitFor([&] { return rx.samples() > 0 && Pending(agent.Metrics()) < 5000; }, 30000, 200));
  EXPECT_EQ(rx.bad(), 0);
  EXPECT_FALSE(agent.child().Exited()) << agent.child().Output();
}

TEST(RemoteWriteFaults, SigkillAtRandomMomentsLosesNothing) {
  const int kills = EnvInt("NODEPULSE_SIGKILL_ROUNDS", 5);
  std::string dir = MakeTempDir("nodepulse-test-sigkill");
  const int port = FreeLoopbackPort();
  std::mt19937 rng(424242);
  double pending_before = 0;
  double pending_max = 0;
  for (int i = 0; i < kills; ++i) {
    AgentHarness agent(RemoteWriteFlags(port, dir));
    ASSERT_TRUE(agent.ok()) << "restart " << i << " failed:\n" << agent.child().Output();
    // Recovery: nothing the previous run had queued is gone.
    double pending = 0;
    bool intact = WaitFor([&] {
      pending = Pending(agent.Metrics());
      return pending >= pending_before;
    }, 5000, 50);
    EXPECT_TRUE(intact) << "restart " << i << ": pending " << pending << " < " << pending_before
                        << " before the kill\n" << agent.child().Output();
    EXPECT_EQ(Sum(agent.Metrics(), "nodepulse_remote_write_samples_dropped_total"), 0) << "restart " << i;
    std::this_thread::sleep_for(std::chrono::milliseconds(500 + rng() % 2000));
    pending_before = Pending(agent.Metrics());
    pending_max = std::max(pending_max, pending_before);
    // Kill at a random moment relative to appends, fsyncs and rotations.
    std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 300));
    agent.child().Stop(SIGKILL, 5000);
  }

  // Last start, with a receiver: everything queued across the kills arrives.
  Receiver rx(port);
  ASSERT_TRUE(rx.ok());
  AgentHarness agent(RemoteWriteFlags(port, dir));
  ASSERT_TRUE(agent.ok()) << agent.child().Output();
  bool drained = WaitFor([&] { return rx.samples() >= static_cast<uint64_t>(pending_before); }, 60000, 200);
  std::string m = agent.Metrics();
  Figure("sigkill_restarts", kills);
  Figure("sigkill_pending_before_last_kill", pending_before);
  Figure("sigkill_samples_delivered_after", static_cast<double>(rx.samples()));
  Figure("sigkill_requests", rx.requests());
  Figure("sigkill_malformed_requests", rx.bad());
  Figure("sigkill_samples_dropped", Sum(m, "nodepulse_remote_write_samples_dropped_total"));
  EXPECT_TRUE(drained) << "delivered " << rx.samples() << " of " << pending_before;
  EXPECT_EQ(rx.bad(), 0) << "a request was not valid snappy + WriteRequest";
  EXPECT_EQ(Sum(m, "nodepulse_remote_write_samples_dropped_total"), 0);
  EXPECT_EQ(Sum(m, "nodepulse_remote_write_samples_failed_total"), 0);
  agent.child().Stop(SIGTERM, 15000);
  RemoveTree(dir);
}

}  // namespace
}  // namespace nodepulse::testing

#endif  // NODEPULSE_HAVE_REMOTE_WRITE
