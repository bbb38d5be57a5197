// Collector: one source of samples (cgroups, /proc, the kubelet), run once per
// cycle on the collection thread.
//
// The node_exporter pattern: one method per cycle; a failing collector never
// fails the cycle - the agent records success=0 and its duration and the tick
// goes on. A vanished cgroup is "no data", not an error.
//
// Thread-safety: a Collector is owned and called by the collection thread only.
#ifndef NODEPULSE_COLLECTORS_COLLECTOR_H_
#define NODEPULSE_COLLECTORS_COLLECTOR_H_

#include <cstdint>
#include <string_view>

#include "absl/status/status.h"
#include "nodepulse/pipeline/pipeline.h"

namespace nodepulse::collectors {

// Counters a collector adds to during Collect(); the agent exports them as
// nodepulse_* self-metrics labelled by collector.
struct CollectStats {
  uint64_t files_read = 0;
  uint64_t read_errors = 0;   // open/pread failures other than "cgroup gone"
  uint64_t parse_errors = 0;  // malformed kernel file contents
  uint64_t containers = 0;    // entities currently tracked (gauge)
  uint64_t discovery_walks = 0;  // walks of the cgroup hierarchies (counter)
  // Part of files_read that was read at the --slow-interval cadence.
  uint64_t slow_files_read = 0;
  // Files not read this cycle because their cgroup was idle (the `active`
  // cadence, cgroup_files.h): their last values were exported instead.
  uint64_t idle_files_skipped = 0;
  // Rescans run at a cycle because inotify saw a cgroup directory come or go.
  uint64_t discovery_events = 0;
  // Notify files (memory.events) read the moment the kernel changed them.
  uint64_t event_reads = 0;
};

class Collector {
 public:
  virtual ~Collector() = default;
  virtual std::string_view name() const = 0;
  // Called between Pipeline::BeginCycle() and EndCycle() of the pipeline the
  // collector was created for (its New*Collector() registered the families
  // there). Writes values with Pipeline::Set(); may add/remove entities and
  // series (discovery). Returns non-OK only when the whole source is
  // unusable this cycle.
  virtual absl::Status Collect(CollectStats& stats) = 0;
};

}  // namespace nodepulse::collectors

#endif  // NODEPULSE_COLLECTORS_COLLECTOR_H_
