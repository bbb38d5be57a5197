// Test support: real cgroups on this machine, created under a parent named
// for the test (nodepulse-test-<name>-<random>) in every mounted hierarchy
// (each cgroup v1 controller we collect plus the cgroup2 mount), with real
// processes in them. Everything is removed in the destructor, deepest first,
// after killing only the PIDs this object started - also when a test fails.
#ifndef NODEPULSE_TESTS_SUPPORT_TEST_CGROUP_H_
#define NODEPULSE_TESTS_SUPPORT_TEST_CGROUP_H_

#include <sys/types.h>

#include <string>
#include <vector>

namespace nodepulse::testing {

class TestCgroupTree {
 public:
  // Why root is needed: creating cgroups and moving tasks needs CAP_SYS_ADMIN.
  // Returns "" if usable, else the reason (for GTEST_SKIP).
  static std::string Unavailable();

  explicit TestCgroupTree(const std::string& test_name);
  ~TestCgroupTree();
  TestCgroupTree(const TestCgroupTree&) = delete;
  TestCgroupTree& operator=(const TestCgroupTree&) = delete;

  // The parent's name, e.g. nodepulse-test-e2e-1a2b3c (one path component).
  const std::string& parent() const { return parent_; }
  // Creates <parent>/<child> in every hierarchy; returns the relative cgroup
  // path ("/nodepulse-test-.../child"), as cAdvisor's id label shows it.
  std::string AddChild(const std::string& child);
  // v1 cpu.cfs_quota_us/cfs_period_us and v2 cpu.max where writable.
  bool SetCpuLimit(const std::string& child, long quota_us, long period_us);
  // Starts a process inside the child: "busy" spins, "alloc:<MiB>" allocates
  // and touches that much memory then sleeps. Each exits by itself after
  // max_seconds as a backstop. Returns its PID or -1.
  pid_t StartProcess(const std::string& child, const std::string& kind, int max_seconds = 60);
  // Kills (by PID) and reaps the processes in `child`, then removes it.
  void RemoveChild(const std::string& child);
  // Mount points of the hierarchies in use (for diagnostics).
  const std::vector<std::string>& hierarchies() const { return hierarchies_; }

 private:
  bool Attach(const std::string& child, pid_t pid);
  std::string parent_;
  std::vector<std::string> hierarchies_;  // e.g. /sys/fs/cgroup/cpu
  std::vector<std::string> children_;
  std::vector<std::pair<std::string, pid_t>> pids_;
};

}  // namespace nodepulse::testing

#endif  // NODEPULSE_TESTS_SUPPORT_TEST_CGROUP_H_
