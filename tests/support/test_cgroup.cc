#include "test_cgroup.h"

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "process.h"

namespace nodepulse::testing {

namespace {

// The hierarchies nodepulse reads: v1 controllers it collects, plus cgroup2.
std::vector<std::string> FindHierarchies() {
  std::vector<std::string> out;
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    size_t dash = line.find(" - ");
    if (dash == std::string::npos) continue;
    std::istringstream pre(line.substr(0, dash)), post(line.substr(dash + 3));
    std::string id, parent, devno, root, mnt, fstype, src, opts;
    pre >> id >> parent >> devno >> root >> mnt;
    post >> fstype >> src >> opts;
    if (fstype == "cgroup2") {
      out.push_back(mnt);
    } else if (fstype == "cgroup") {
      for (const char* c : {"cpu", "cpuacct", "memory", "pids", "blkio"}) {
        std::string o = "," + opts + ",";
        if (o.find(std::string(",") + c + ",") != std::string::npos) {
          out.push_back(mnt);
          break;
        }
      }
    }
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

bool WriteCgroupFile(const std::string& path, const std::string& value) {
  FILE* f = fopen(path.c_str(), "w");
  if (!f) return false;
  bool ok = fputs(value.c_str(), f) >= 0;
  ok = (fclose(f) == 0) && ok;
  return ok;
}

bool Exists(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0;
}

}  // namespace

std::string TestCgroupTree::Unavailable() {
  if (geteuid() != 0) return "needs root to create cgroups (run the suite as root)";
  if (FindHierarchies().empty()) return "no cgroup hierarchy is mounted";
  return "";
}

TestCgroupTree::TestCgroupTree(const std::string& test_name) {
  std::random_device rd;
  char suffix[16];
  snprintf(suffix, sizeof(suffix), "%06x", rd() & 0xffffff);
  parent_ = "nodepulse-test-" + test_name + "-" + suffix;
  hierarchies_ = FindHierarchies();
  for (const std::string& h : hierarchies_) ::mkdir((h + "/" + parent_).c_str(), 0755);
}

TestCgroupTree::~TestCgroupTree() {
  std::vector<std::string> children = children_;
  for (const std::string& c : children) RemoveChild(c);
  for (const std::string& h : hierarchies_) ::rmdir((h + "/" + parent_).c_str());
}

std::string TestCgroupTree::AddChild(const std::string& child) {
  for (const std::string& h : hierarchies_) {
    std::string dir = h + "/" + parent_ + "/" + child;
    ::mkdir(dir.c_str(), 0755);
    // cgroup2: enable controllers for children where the kernel lets us (on a
    // hybrid host the v2 mount has none, which is fine).
    if (Exists(h + "/cgroup.subtree_control")) {
      WriteCgroupFile(h + "/" + parent_ + "/cgroup.subtree_control", "+cpu +memory +io +pids");
    }
  }
  children_.push_back(child);
  return "/" + parent_ + "/" + child;
}

bool TestCgroupTree::SetCpuLimit(const std::string& child, long quota_us, long period_us) {
  bool any = false;
  for (const std::string& h : hierarchies_) {
    std::string dir = h + "/" + parent_ + "/" + child;
    if (Exists(dir + "/cpu.cfs_quota_us")) {
      any |= WriteCgroupFile(dir + "/cpu.cfs_period_us", std::to_string(period_us)) &&
             WriteCgroupFile(dir + "/cpu.cfs_quota_us", std::to_string(quota_us));
    }
    if (Exists(dir + "/cpu.max")) {
      any |= WriteCgroupFile(dir + "/cpu.max",
                             std::to_string(quota_us) + " " + std::to_string(period_us));
    }
  }
  return any;
}

bool TestCgroupTree::Attach(const std::string& child, pid_t pid) {
  bool all = true;
  for (const std::string& h : hierarchies_) {
    std::string dir = h + "/" + parent_ + "/" + child;
    all &= WriteCgroupFile(dir + "/cgroup.procs", std::to_string(pid));
  }
  return all;
}

pid_t TestCgroupTree::StartProcess(const std::string& child, const std::string& kind,
                                   int max_seconds) {
  int go[2];
  if (pipe(go) != 0) return -1;
  pid_t pid = fork();
  if (pid == 0) {
    // Wait until the parent has moved us into the cgroup, so every CPU
    // cycle and page is charged there.
    char c;
    close(go[1]);
    if (read(go[0], &c, 1) != 1) _exit(1);
    alarm(static_cast<unsigned>(max_seconds));  // backstop: never outlive the test by much
    if (kind == "busy") {
      volatile unsigned long x = 0;
      for (;;) x = x + 1;
    }
    if (kind.rfind("alloc:", 0) == 0) {
      size_t mib = std::strtoul(kind.c_str() + 6, nullptr, 10);
      size_t n = mib << 20;
      char* p = static_cast<char*>(malloc(n));
      if (p == nullptr) _exit(2);
      for (size_t i = 0; i < n; i += 4096) p[i] = static_cast<char>(i);
      for (;;) pause();
    }
    _exit(3);
  }
  close(go[0]);
  if (pid < 0) {
    close(go[1]);
    return -1;
  }
  pids_.push_back({child, pid});
  bool attached = Attach(child, pid);
  char c = 'g';
  ssize_t w = write(go[1], &c, 1);
  (void)w;
  close(go[1]);
  return attached ? pid : -1;
}

void TestCgroupTree::RemoveChild(const std::string& child) {
  for (auto it = pids_.begin(); it != pids_.end();) {
    if (it->first == child) {
      kill(it->second, SIGKILL);
      waitpid(it->second, nullptr, 0);
      it = pids_.erase(it);
    } else {
      ++it;
    }
  }
  for (const std::string& h : hierarchies_) {
    std::string dir = h + "/" + parent_ + "/" + child;
    // A killed task can take a moment to leave the cgroup; retry briefly.
    WaitFor([&] { return ::rmdir(dir.c_str()) == 0 || errno == ENOENT; }, 5000, 20);
  }
  children_.erase(std::remove(children_.begin(), children_.end(), child), children_.end());
}

}  // namespace nodepulse::testing
