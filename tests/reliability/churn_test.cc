// Container churn (issue #8, part 3): rounds of 200 real cgroups, each with a
// real process in every hierarchy, created and destroyed while the agent
// collects at 1 s and is scraped every second. Afterwards the agent must be
// where it started: the churned series gone, the same open fds, no scrape
// failed, no storm of warnings, and no memory growth from round to round.
//
// Memory: after the churn the pipeline gives back ring blocks that stayed
// empty for 32 cycles and cuts its id space back (pipeline.h), and the agent
// trims the heap (Agent::MaybeTrimHeap), then trims once more 16 cycles
// later, when the other threads have dropped the pre-release snapshot.
// Asserted: the rings are exactly their pre-churn size, the pipeline's
// bytes within 10% of theirs, RSS no higher than 10% above its high-water
// mark after the first round (no leak from round to round), and, as issue
// #8 asks, RSS within 10% of its pre-churn value, its file-backed pages
// counted at their pre-churn size (see the assertion; the residual is heap,
// RssAnon). Not under sanitizers (see below). The test waits up to 60 s for
// the rings (NODEPULSE_CHURN_SETTLE_SECONDS), then for the follow-up trim.
//
// NODEPULSE_CHURN_SECONDS (default 60) sets the length; the README's figures
// come from NODEPULSE_CHURN_SECONDS=180. NODEPULSE_CHURN_CGROUPS (default
// 200) the cgroups per round.
#include <string>
#include <thread>
#include <vector>

#include "agent_harness.h"
#include "gtest/gtest.h"
#include "process.h"
#include "reliability_util.h"
#include "test_cgroup.h"

namespace nodepulse::testing {
namespace {

TEST(Churn, RealCgroupsComeAndGoWhileCollectedAndScraped) {
  if (std::string why = TestCgroupTree::Unavailable(); !why.empty()) GTEST_SKIP() << why;
  const int seconds = EnvInt("NODEPULSE_CHURN_SECONDS", 60);
  const int per_round = EnvInt("NODEPULSE_CHURN_CGROUPS", 200);
  TestCgroupTree tree("churn");
  const std::string ours = "id=\"/" + tree.parent() + "/";

  AgentHarness agent({"--interval=1s", "--rescan-interval=1s"});
  ASSERT_TRUE(agent.ok()) << agent.child().Output();
  const pid_t pid = agent.child().pid();

  // Pre-churn state at steady state: after the agent's one start-up heap
  // trim (cycle 30, Agent::MaybeTrimHeap) and its buffers' first growth, so
  // "back to the pre-churn RSS" compares like with like.
  std::this_thread::sleep_for(std::chrono::seconds(35));
  std::string m = agent.Metrics();
  const double series0 = SampleValue(m, "nodepulse_series").value_or(-1);
  const size_t ours0 = CountLinesWith(m, ours);
  const double rss0 = RssBytes(pid);
  const double anon0 = RssBytes(pid, "RssAnon");
  const int fds0 = OpenFds(pid);
  const double cycles0 = SampleValue(m, "nodepulse_cycles_total").value_or(0);
  const double read_errors0 = Sum(m, "nodepulse_read_errors_total");
  const double overruns0 = SampleValue(m, "nodepulse_cycle_overruns_total").value_or(0);
  const double pipeline_bytes0 = SampleValue(m, "nodepulse_pipeline_bytes").value_or(0);
  const double history_bytes0 = SampleValue(m, "nodepulse_pipeline_history_bytes").value_or(0);
  const auto cycle_buckets0 = Buckets(m, "nodepulse_cycle_duration_seconds");
  const size_t warn0 = WarnLines(agent.child().Output());
  ASSERT_GT(rss0, 0);
  ASSERT_GT(fds0, 0);

  Scraper scraper(agent.port(), "/metrics", 1000);
  const double start = MonoNow();
  int rounds = 0;
  long created = 0;
  size_t max_seen = 0;
  double rss_first_round = 0;
  while (MonoNow() - start < seconds) {
    std::vector<std::string> children;
    for (int i = 0; i < per_round; ++i) {
      std::string c = "c" + std::to_string(i);
      tree.AddChild(c);
      ASSERT_GT(tree.StartProcess(c, "alloc:1", 120), 0) << "round " << rounds << " child " << c;
      children.push_back(c);
    }
    created += per_round;
    // Let the agent discover them (rescan every 1 s) and read them a few times.
    size_t seen = 0;
    WaitFor([&] {
      seen = Samples(agent.Metrics(), "container_memory_usage_bytes", {ours}).size();
      return seen >= static_cast<size_t>(per_round);
    }, 4000, 250);
    max_seen = std::max(max_seen, seen);
    for (const std::string& c : children) tree.RemoveChild(c);
    ++rounds;
    if (rounds == 1) {
      // Wait until the agent has dropped them, then take the high-water mark.
      WaitFor([&] { return CountLinesWith(agent.Metrics(), ours) == ours0; }, 10000, 250);
      rss_first_round = RssBytes(pid);
    }
    ASSERT_FALSE(agent.child().Exited()) << agent.child().Output();
  }
  const double churn_seconds = MonoNow() - start;
  scraper.Stop();

  // Removed cgroups disappear at their next read or rescan: give it 3 cycles.
  bool drained = WaitFor([&] { return CountLinesWith(agent.Metrics(), ours) == ours0; }, 10000, 250);
  std::this_thread::sleep_for(std::chrono::seconds(2));
  m = agent.Metrics();
  const double series1 = SampleValue(m, "nodepulse_series").value_or(-1);
  const double rss_drained = RssBytes(pid);
  // Empty ring blocks go after 32 cycles, then the heap is trimmed.
  const double settle_start = MonoNow();
  const int settle_limit = EnvInt("NODEPULSE_CHURN_SETTLE_SECONDS", 60);
  WaitFor([&] {
    return SampleValue(agent.Metrics(), "nodepulse_pipeline_history_bytes").value_or(1e18) <=
           history_bytes0 * 1.10;
  }, settle_limit * 1000, 500);
  const double settle_seconds = MonoNow() - settle_start;
  // The trim that the ring release triggers comes in that same cycle; its
  // follow-up 16 cycles later (Agent::MaybeTrimHeap) returns what the other
  // threads freed since. 20 s covers it at --interval=1s.
  std::this_thread::sleep_for(std::chrono::seconds(20));
  const double rss1 = RssBytes(pid);
  const double anon1 = RssBytes(pid, "RssAnon");
  m = agent.Metrics();
  // The HTTP request just made may still hold its socket for a moment
  // after the reply (the server closes it when it reads the client's EOF):
  // a leak stays, that socket goes, so allow it up to 3 s.
  WaitFor([&] { return OpenFds(pid) <= fds0; }, 3000, 100);
  const int fds1 = OpenFds(pid);
  const double cycles = SampleValue(m, "nodepulse_cycles_total").value_or(0) - cycles0;
  const double read_errors = Sum(m, "nodepulse_read_errors_total") - read_errors0;
  const size_t warns = WarnLines(agent.child().Output()) - warn0;
  const double overruns = SampleValue(m, "nodepulse_cycle_overruns_total").value_or(0) - overruns0;
  const double pipeline_bytes1 = SampleValue(m, "nodepulse_pipeline_bytes").value_or(0);
  const double history_bytes1 = SampleValue(m, "nodepulse_pipeline_history_bytes").value_or(0);
  const double blocks_released =
      SampleValue(m, "nodepulse_pipeline_history_blocks_released_total").value_or(0);
  const auto cycle_buckets1 = Buckets(m, "nodepulse_cycle_duration_seconds");

  Figure("churn_seconds", churn_seconds);
  Figure("churn_rounds", rounds);
  Figure("churn_cgroups_created_and_removed", static_cast<double>(created));
  Figure("churn_max_cgroups_seen_in_one_round", static_cast<double>(max_seen));
  Figure("churn_scrapes", scraper.scrapes());
  Figure("churn_scrape_failures", scraper.failures());
  Figure("churn_max_scrape_seconds", scraper.max_seconds());
  Figure("churn_cycles", cycles);
  Figure("churn_read_errors", read_errors);
  Figure("churn_warn_lines", static_cast<double>(warns));
  Figure("churn_series_before", series0);
  Figure("churn_series_after", series1);
  Figure("churn_rss_before_bytes", rss0);
  Figure("churn_rss_when_drained_bytes", rss_drained);
  Figure("churn_rss_after_bytes", rss1);
  Figure("churn_rss_settle_seconds", settle_seconds);
  Figure("churn_rss_anon_before_bytes", anon0);
  Figure("churn_rss_anon_after_bytes", anon1);
  Figure("churn_rss_anon_change_vs_before_ratio", anon1 / anon0 - 1);
  Figure("churn_rss_anon_growth_vs_rss_before_ratio", (anon1 - anon0) / rss0);
  Figure("churn_rss_after_first_round_bytes", rss_first_round);
  Figure("churn_rss_change_vs_before_ratio", rss1 / rss0 - 1);
  Figure("churn_rss_change_vs_first_round_ratio", rss1 / rss_first_round - 1);
  Figure("churn_pipeline_bytes_before", pipeline_bytes0);
  Figure("churn_pipeline_bytes_after", pipeline_bytes1);
  Figure("churn_history_bytes_before", history_bytes0);
  Figure("churn_history_bytes_after", history_bytes1);
  Figure("churn_history_blocks_released", blocks_released);
  Figure("churn_cycle_overruns", overruns);
  Figure("churn_cycle_p50_seconds", QuantileBetween(cycle_buckets0, cycle_buckets1, 0.5));
  Figure("churn_cycle_p99_seconds", QuantileBetween(cycle_buckets0, cycle_buckets1, 0.99));
  Figure("churn_fds_before", fds0);
  Figure("churn_fds_after", fds1);

  EXPECT_FALSE(agent.child().Exited()) << agent.child().Output();
  EXPECT_EQ(HttpGet(agent.port(), "/healthz").status, 200);
  EXPECT_GE(rounds, 1);
  EXPECT_GE(max_seen, static_cast<size_t>(per_round) / 2) << "the agent hardly saw the churn";
  EXPECT_EQ(scraper.failures(), 0) << scraper.last_failure();
  EXPECT_TRUE(drained) << "series of removed cgroups still exported";
  // Other tests on this machine may add or remove cgroups of their own, so
  // the global count only gets a loose check; ours must be exactly back.
  EXPECT_NEAR(series1, series0, 0.05 * series0 + 50);
  // A cgroup removed mid-read is "no data", not an error, and is not logged
  // above debug: a handful of warnings at most, never one per cgroup.
  EXPECT_EQ(read_errors, 0);
  EXPECT_LE(warns, 10u) << agent.child().Output().substr(0, 4000);
  // Loose like the series count: other tests' cgroups may come and go.
  EXPECT_LE(history_bytes1, history_bytes0 * 1.10) << "ring blocks of the churned series not given back";
  EXPECT_LE(pipeline_bytes1, pipeline_bytes0 * 1.10) << "pipeline memory not back after the churn";
  // Under ASan freed memory sits in its quarantine and is never returned,
  // so RSS there says nothing about the agent (measured: 113 MB after round
  // 1, 353 MB at the end); LeakSanitizer covers leaks in that build.
  if (!kSanitized) {
    EXPECT_LE(rss1, rss_first_round * 1.10) << "RSS kept growing after the first round: a leak (before "
                                            << rss0 << ", when drained " << rss_drained << ")";
    // Issue #8: back within 10% of the pre-churn RSS once the churn is over.
    // The file-backed part (the binary's and libraries' pages, about 15 of
    // 20 MB) is counted at its pre-churn size: the kernel maps and evicts it
    // with the machine's page-cache pressure, not with anything the agent
    // holds (seen with other jobs running: 15 MB -> 2.6 MB within one run,
    // and 5 MB in a whole run). What churn can leave behind is RssAnon.
    EXPECT_LE(rss0 + (anon1 - anon0), rss0 * 1.10)
        << "RSS not back after the churn: RssAnon " << anon0 << " -> " << anon1 << " (VmRSS "
        << rss0 << " -> " << rss1 << ", when drained " << rss_drained << ")";
  }
  EXPECT_LE(fds1, fds0) << "fd leak";
  // Cycles go on through the churn; a cycle that opens 200 new cgroups' files
  // may overrun its 1 s tick, which skips that tick (counted as an overrun).
  EXPECT_GE(cycles + overruns, 0.8 * churn_seconds);
}

}  // namespace
}  // namespace nodepulse::testing
