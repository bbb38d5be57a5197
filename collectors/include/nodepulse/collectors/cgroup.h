// Cgroup collector: per-container CPU, memory, I/O, pids and PSI from cgroup
// v1, v2 or hybrid hierarchies, with cAdvisor's metric names and labels.
//
// Discovery reads <proc_root>/self/mountinfo to find the hierarchies (or, when
// that file is missing, probes cgroup_root), then walks them for kubepods
// cgroups (systemd and cgroupfs drivers: the kubepods root, QoS parents, pods
// and containers, plus "/") or, with no kubepods, every cgroup down to
// max_depth. Each discovered cgroup becomes one pipeline entity labelled like
// cAdvisor: container, id, image, name, namespace, pod, where id is the path
// relative to the hierarchy root ("/" for the root) and the rest are empty
// unless a labeler supplies them (the kubelet join).
//
// Ownership: the collector owns one open file descriptor per (cgroup, file)
// it samples; they are opened at discovery, re-read with pread(2) at the
// file's cadence (every cycle, or every slow_interval for files that feed
// only /metrics: collectors/cgroup/cgroup_files.h) and closed when the cgroup
// goes away or the collector is destroyed. With 1000 containers that is ~15k
// descriptors, so the agent raises RLIMIT_NOFILE at start-up. A cgroup that
// vanishes (ENODEV/ENOENT on read) loses its series in the same cycle, except
// its event counters, kept for gone_grace; that is normal churn, not an
// error. On cgroup v2 a thread waits on inotify for memory.events changes.
//
// The pipeline passed to NewCgroupCollector must outlive the collector, whose
// destructor removes its entities from it.
//
// Thread-safety: owned and called by the collection thread only, including
// Identities(). The labeler runs on that thread too, inside Collect().
#ifndef NODEPULSE_COLLECTORS_CGROUP_H_
#define NODEPULSE_COLLECTORS_CGROUP_H_

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "nodepulse/collectors/collector.h"

namespace nodepulse::collectors {

// What the path of a cgroup says about it; the kubelet join keys on this.
struct CgroupIdentity {
  std::string id;            // relative to the hierarchy root: "/", "/kubepods/..."
  std::string pod_uid;       // dashes restored; "" outside a pod
  std::string container_id;  // runtime id without prefix/suffix; "" for pods
  bool pod_level = false;    // the pod's own cgroup (cAdvisor's container="")
};

struct CgroupOptions {
  std::string cgroup_root = "/sys/fs/cgroup";  // host path of the cgroup mounts
  std::string proc_root = "/proc";             // for self/mountinfo, diskstats
  // Without kubepods: walk every cgroup to this depth below each root.
  int max_depth = 3;
  // Rescans refresh spec values (quota, period, shares, limits) at this
  // period, and labels unless label_generation is set. New and removed
  // cgroups are found at the next cycle after inotify reports their
  // directory (and by a walk every 5 minutes, and at every rescan where
  // inotify is unavailable); removed ones also at their next read (ENODEV).
  absl::Duration rescan_interval = absl::Seconds(5);
  // The collection period (--interval) and the longest a value of a slow
  // file (one feeding only /metrics; cgroup_files.h) may be at a scrape
  // (--slow-interval): slow files are read every slow_interval - interval.
  absl::Duration interval = absl::Seconds(1);
  absl::Duration slow_interval = absl::Seconds(10);
  // A cgroup that disappears keeps its OOM and limit event counters
  // (memory.events, memory.swap.events, v1 memory.oom_control) exported for
  // this long, so a scrape sees the kill that ended it; 0 drops them at once.
  absl::Duration gone_grace = absl::Minutes(2);
  // CLOCK_MONOTONIC source; tests step it to count cycles, not seconds.
  std::function<std::chrono::steady_clock::time_point()> clock;
  // Entity labels for a cgroup, called at discovery and whenever its answers
  // may have changed (a label change is applied with
  // Pipeline::SetEntityLabels, which keeps the series ids). Must return
  // cAdvisor's full label set (container, id, image, name, namespace, pod).
  // Unset: only id is filled in.
  std::function<pipeline::Labels(const CgroupIdentity&)> labeler;
  // A number that changes whenever the labeler's answers may have (the
  // kubelet's pod metadata: MakeKubeletLabelGeneration). Set: every cgroup
  // is relabelled at the first cycle that sees a new number, and only then,
  // so a pod the kubelet just listed is labelled within one interval, and
  // all cgroups from one metadata version. Unset: at every rescan.
  std::function<uint64_t()> label_generation;
};

// cAdvisor's labels for a cgroup with nothing known beyond its path.
pipeline::Labels DefaultCgroupLabels(const CgroupIdentity& identity);

class CgroupCollector : public Collector {
 public:
  // Every tracked cgroup with its entity, for the health page; a copy, so the
  // caller may keep it past the next Collect().
  virtual std::vector<std::pair<pipeline::EntityId, CgroupIdentity>> Identities()
      const = 0;
};

// Detects the hierarchies, registers the metrics and runs the first discovery.
// Fails (with the path in the message) when no cgroup hierarchy is found under
// cgroup_root or a metric cannot be registered.
absl::StatusOr<std::unique_ptr<CgroupCollector>> NewCgroupCollector(
    const CgroupOptions& options, pipeline::Pipeline& pipeline);

}  // namespace nodepulse::collectors

#endif  // NODEPULSE_COLLECTORS_CGROUP_H_
