// /api/v1/health, `nodepulse health` and `nodepulse top` against the real
// agent: real cgroups with a CFS quota (throttled) and a memory limit nearly
// reached must be findings with the right id and a "since"; the CLI's exit
// codes are 1 with findings, 2 when the agent is unreachable and 0 on a quiet
// fixture tree.
#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "agent_harness.h"
#include "gtest/gtest.h"
#include "process.h"
#include "test_cgroup.h"

namespace nodepulse::testing {
namespace {

namespace fs = std::filesystem;

// Sets the memory limit of a test child in every memory hierarchy we have
// (v1 memory.limit_in_bytes, v2 memory.max).
bool SetMemoryLimit(const TestCgroupTree& tree, const std::string& id, long bytes) {
  bool any = false;
  for (const std::string& h : tree.hierarchies()) {
    for (const char* file : {"/memory.limit_in_bytes", "/memory.max"}) {
      std::string path = h + id + file;
      if (fs::exists(path)) any |= WriteFile(path, std::to_string(bytes));
    }
  }
  return any;
}

std::string Health(int port, const std::string& query = "") {
  return HttpGet(port, "/api/v1/health" + query).body;
}

// The JSON object of the finding of `kind` about `id` (crude but enough:
// findings are flat objects).
std::string FindingJson(const std::string& json, const std::string& kind, const std::string& id) {
  size_t at = 0;
  while ((at = json.find("\"kind\":\"" + kind + "\"", at)) != std::string::npos) {
    size_t begin = json.rfind('{', at), end = json.find('}', at);
    std::string obj = json.substr(begin, end - begin);
    if (absl::StrContains(obj, "\"id\":\"" + id + "\"")) return obj;
    at = end;
  }
  return "";
}

TEST(HealthE2E, ThrottledAndNearLimitCgroupsAreFindings) {
  if (std::string why = TestCgroupTree::Unavailable(); !why.empty()) GTEST_SKIP() << why;
  TestCgroupTree tree("health");
  std::string hot = tree.AddChild("hot");
  std::string mem = tree.AddChild("mem");
  ASSERT_TRUE(tree.SetCpuLimit("hot", 20000, 100000));  // 0.2 CPU: a busy loop is throttled
  ASSERT_TRUE(SetMemoryLimit(tree, mem, 70L << 20)) << "no memory hierarchy";
  ASSERT_GT(tree.StartProcess("hot", "busy"), 0);
  ASSERT_GT(tree.StartProcess("mem", "alloc:64"), 0);  // 64 of 70 MiB: > 90%

  AgentHarness agent({"--interval=500ms", "--rescan-interval=500ms"});
  ASSERT_TRUE(agent.ok()) << agent.child().Output();

  std::string json, thr, near;
  bool found = WaitFor([&] {
    json = Health(agent.port());
    thr = FindingJson(json, "cpu_throttled", hot);
    near = FindingJson(json, "memory_near_limit", mem);
    return !thr.empty() && !near.empty();
  }, 20000, 250);
  ASSERT_TRUE(found) << json;
  EXPECT_TRUE(absl::StrContains(thr, "\"since\":\"20")) << thr;
  EXPECT_TRUE(absl::StrContains(near, "\"since\":\"20")) << near;
  EXPECT_TRUE(absl::StrContains(near, "\"severity\":\"")) << near;
  {
    // Other cgroups on a shared machine may be throttled too; ours must be listed.
    size_t a = json.find("\"top_throttled\":"), b = json.find("\"near_memory_limit\":");
    ASSERT_TRUE(a != std::string::npos && b != std::string::npos && a < b) << json;
    EXPECT_TRUE(absl::StrContains(json.substr(a, b - a), "\"id\":\"" + hot + "\"")) << json;
  }
  EXPECT_TRUE(absl::StrContains(json, "\"agent\":{\"uptime_seconds\":")) << json;
  EXPECT_TRUE(absl::StrContains(json, "\"pressure\":{\"cpu\":{\"some\":{\"avg10\":")) << json;

  // "since" is stable across cycles while the finding holds.
  auto since_of = [](const std::string& obj) {
    size_t at = obj.find("\"since_ms\":");
    return at == std::string::npos ? std::string() : obj.substr(at, obj.find(',', at) - at);
  };
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));
  std::string later = FindingJson(Health(agent.port()), "memory_near_limit", mem);
  EXPECT_EQ(since_of(later), since_of(near));

  HttpResult text = HttpGet(agent.port(), "/api/v1/health?format=text");
  EXPECT_EQ(text.status, 200);
  EXPECT_TRUE(absl::StrContains(text.body, "nodepulse health: ")) << text.body;
  EXPECT_TRUE(absl::StrContains(text.body, mem)) << text.body;
  EXPECT_TRUE(absl::StrContains(text.body, "memory_near_limit")) << text.body;
  EXPECT_TRUE(absl::StrContains(text.body, "since ")) << text.body;
  EXPECT_EQ(HttpGet(agent.port(), "/api/v1/health?format=yaml").status, 400);

  const std::string url = "--url=http://127.0.0.1:" + std::to_string(agent.port());
  RunResult health = RunCommand({NODEPULSE_AGENT_BIN, "health", url}, 20000);
  EXPECT_EQ(health.exit_code, 1) << health.output;
  EXPECT_TRUE(absl::StrContains(health.output, hot)) << health.output;
  EXPECT_TRUE(absl::StrContains(health.output, "cpu_throttled")) << health.output;

  RunResult top = RunCommand({NODEPULSE_AGENT_BIN, "top", url, "--once", "--sort=throttled"}, 20000);
  EXPECT_EQ(top.exit_code, 0) << top.output;
  EXPECT_TRUE(absl::StrContains(top.output, "nodepulse top - ")) << top.output;
  EXPECT_TRUE(absl::StrContains(top.output, hot)) << top.output;
  EXPECT_TRUE(absl::StrContains(top.output, "THR 1M")) << top.output;

  if (const char* docs = std::getenv("NODEPULSE_UPDATE_DOCS"); docs && std::string(docs) == "1") {
    WriteFile(std::string(NODEPULSE_SOURCE_DIR) + "/docs/cli-health.txt", health.output);
    WriteFile(std::string(NODEPULSE_SOURCE_DIR) + "/docs/cli-top.txt",
              RunCommand({NODEPULSE_AGENT_BIN, "top", url, "--once", "--rows=8"}, 20000).output);
  }
}

TEST(HealthE2E, CliExitCodes) {
  // Unreachable: nothing listens on a port that was free a moment ago.
  int port = FreeLoopbackPort();
  RunResult down = RunCommand(
      {NODEPULSE_AGENT_BIN, "health", "--url=http://127.0.0.1:" + std::to_string(port), "--timeout=2s"}, 20000);
  EXPECT_EQ(down.exit_code, 2) << down.output;
  EXPECT_TRUE(absl::StrContains(down.output, "cannot read")) << down.output;
  RunResult top_down =
      RunCommand({NODEPULSE_AGENT_BIN, "top", "--once", "--url=http://127.0.0.1:" + std::to_string(port)}, 20000);
  EXPECT_EQ(top_down.exit_code, 2) << top_down.output;
  RunResult bad = RunCommand({NODEPULSE_AGENT_BIN, "health", "--sort=cpu"}, 20000);
  EXPECT_EQ(bad.exit_code, 2) << bad.output;
  RunResult bad_url = RunCommand({NODEPULSE_AGENT_BIN, "top", "--url=127.0.0.1:1"}, 20000);
  EXPECT_EQ(bad_url.exit_code, 2) << bad_url.output;
  EXPECT_TRUE(absl::StrContains(bad_url.output, "--url must start with http://")) << bad_url.output;

  // Healthy: a quiet fixture node (static files: no CPU use, memory 6% used,
  // no limits reached, PSI under the thresholds).
  const std::string root = std::string(NODEPULSE_FIXTURES) + "/cgroup/v2-systemd-kubepods-debian-6.1-vm";
  AgentHarness agent({"--interval=200ms", "--cgroup-root=" + root + "/sys/fs/cgroup", "--proc-root=" + root + "/proc"});
  ASSERT_TRUE(agent.ok()) << agent.child().Output();
  // Let the reporter see a few cycles (rates need two samples).
  std::this_thread::sleep_for(std::chrono::milliseconds(800));
  const std::string url = "--url=http://127.0.0.1:" + std::to_string(agent.port());
  RunResult ok = RunCommand({NODEPULSE_AGENT_BIN, "health", url}, 20000);
  EXPECT_EQ(ok.exit_code, 0) << ok.output << "\n" << Health(agent.port());
  EXPECT_TRUE(absl::StartsWith(ok.output, "nodepulse health: OK")) << ok.output;
  EXPECT_TRUE(absl::StrContains(ok.output, "No findings")) << ok.output;
  RunResult json = RunCommand({NODEPULSE_AGENT_BIN, "health", url, "--json"}, 20000);
  EXPECT_EQ(json.exit_code, 0);
  EXPECT_TRUE(absl::StartsWith(json.output, "{\"status\":\"ok\"")) << json.output;
}

}  // namespace
}  // namespace nodepulse::testing
