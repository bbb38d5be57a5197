#!/usr/bin/env bash
# End-to-end cost of nodepulse on real cgroups, against the floor and two
# peers from Debian (issue #9). Run by hand, as root, on an otherwise quiet
# machine; not part of CI or CTest. See bench/RESULTS.md for a run.
#
# For each N in $NODEPULSE_E2E_N (default "100 500 1000") it creates N
# container cgroups in kubepods layout (cgroupfs driver: kubepods/<qos>/
# pod<uid>/<id>; a pod is a pause container and three apps) below a test parent
# nodepulse-e2e-<pid> in every hierarchy the subjects read, starts one process
# in each container (idle, light CPU loop or 16 MiB held), and then runs, one
# after another on the same cgroups:
#   floor          bench/floor_reader: preads the agent's files once a second
#   nodepulse      --interval=1s, scraped every 15 s by a real Prometheus,
#                  /api/v1/aggregates polled every second, pod metadata from a
#                  fake kubelet on loopback (so the per-pod and per-workload
#                  rollups and their labels are computed, as on a node)
#   netdata        the Debian package, its cgroups plugin at 1 s on the same
#                  cgroups, every other plugin off
#   node_exporter  prometheus-node-exporter scraped every 15 s by Prometheus:
#                  node-level only, a reference for scrape cost
# Each subject gets $NODEPULSE_E2E_WARMUP s (default 10) to settle, then
# $NODEPULSE_E2E_SECONDS s (default 60) are measured: CPU (user+sys of the
# process and all its descendants, threads included, from /proc/PID/stat),
# peak RSS (VmHWM) and steady RSS (VmRSS averaged over the last 20 s), summed
# over the process tree. The driver processes (Prometheus, the pollers, the
# fake kubelet, this script) are not charged to any subject.
#
# Output: a markdown table on stdout and in $NODEPULSE_E2E_OUT (default
# <build>/e2e-results/<date>/results.md), with results.jsonl and the logs.
#
# Environment: NODEPULSE_BUILD_DIR (default <repo>/build: agent/nodepulse,
# bench/floor_reader, bench/e2e_load), NODEPULSE_E2E_N, NODEPULSE_E2E_SECONDS,
# NODEPULSE_E2E_WARMUP, NODEPULSE_E2E_SUBJECTS (default "floor nodepulse
# netdata node_exporter"), NODEPULSE_E2E_BUSY_CORES (CPU budget shared by the
# busy containers, default 0.3).
#
# More subjects and modes (issue #17):
#   nodepulse_before   the agent of another build on the same cgroups in the
#                      same run: NODEPULSE_E2E_BASELINE=<that build dir>
#   NODEPULSE_E2E_LAYOUT=flat   generic (non-Kubernetes) mode: N cgroups side
#                      by side, 5% with a process, no kubelet
#   soak               the agent for NODEPULSE_E2E_SOAK_SECONDS (default 3600)
#                      with Prometheus, the aggregates poller, the fake
#                      kubelet and churn: NODEPULSE_E2E_CHURN_PER_MIN app
#                      containers replaced a minute (default 5% of N); CPU,
#                      RSS, fds and series sampled every 10 s into
#                      soak-<N>.csv, summarized in soak-<N>.json and plotted
#                      with gnuplot (installed with apt-get if missing) into
#                      soak-<N>.png
#
# Everything it creates is removed and everything it starts is stopped, by
# PID, also on error or Ctrl-C: the cgroups (their processes killed first,
# then rmdir deepest first) and the temporary directory. Only 127.0.0.1 is
# used. If netdata is not installed it is installed with apt-get, and a
# netdata service the package may start is stopped and disabled.
set -Eeuo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
build=${NODEPULSE_BUILD_DIR:-$repo/build}
NS=${NODEPULSE_E2E_N:-"100 500 1000"}
SECS=${NODEPULSE_E2E_SECONDS:-60}
WARMUP=${NODEPULSE_E2E_WARMUP:-10}
SUBJECTS=${NODEPULSE_E2E_SUBJECTS:-"floor nodepulse netdata node_exporter"}
OUT=${NODEPULSE_E2E_OUT:-$build/e2e-results/$(date +%Y%m%d-%H%M%S)}
SCRAPE_INTERVAL=15s
LAYOUT_KIND=${NODEPULSE_E2E_LAYOUT:-kubepods}
BASELINE_BIN=${NODEPULSE_E2E_BASELINE:+$NODEPULSE_E2E_BASELINE/agent/nodepulse}
SOAK_SECONDS=${NODEPULSE_E2E_SOAK_SECONDS:-3600}

NODEPULSE=$build/agent/nodepulse
FLOOR=$build/bench/floor_reader
LOAD=$build/bench/e2e_load
E2E="python3 $here/e2e.py"
PROMETHEUS=/usr/bin/prometheus
NODE_EXPORTER=/usr/bin/prometheus-node-exporter
NETDATA=/usr/sbin/netdata

PARENT=nodepulse-e2e-$$      # the test parent in every hierarchy
TMP=""                       # temporary directory, removed at exit
FARM=""                      # the agent's --cgroup-root (see make_farm)
declare -a HIERARCHIES=()    # test parents: /sys/fs/cgroup/<h>/$PARENT
declare -A MOUNT=()          # controller (or "unified") -> mount point
declare -a STARTED=()        # PIDs this script started and has not reaped
LAST_PID=""
LOAD_PID=""                  # the e2e_load spawner of the current N
LAYOUT=""                    # e2e.py layout output of the current N

log() { printf '[e2e %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# --- processes: started in the background, stopped by PID only ---------------

# start_bg NAME CMD...: runs CMD with output in $OUT/logs/NAME.log; LAST_PID.
start_bg() {
  local name=$1; shift
  "$@" >"$OUT/logs/$name.log" 2>&1 &
  LAST_PID=$!
  STARTED+=("$LAST_PID")
}

# stop_pid PID: SIGTERM, up to 20 s for a clean exit (netdata saves its
# database), then SIGKILL; reaps it and forgets it.
stop_pid() {
  local pid=$1 i
  [[ -n $pid ]] || return 0
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 200; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      # A zombie (exited, not yet reaped) still answers kill -0.
      [[ $(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) == Z ]] && break
      sleep 0.1
    done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
  local keep=() p
  for p in "${STARTED[@]}"; do [[ $p == "$pid" ]] || keep+=("$p"); done
  STARTED=("${keep[@]}")
}

# wait_http URL SECONDS: until URL answers 2xx.
wait_http() {
  local url=$1 deadline=$((SECONDS + $2))
  until curl -fsS -o /dev/null --max-time 2 "$url" 2>/dev/null; do
    ((SECONDS < deadline)) || return 1
    sleep 0.2
  done
}

freeport() { $E2E freeport; }
load1() { cut -d' ' -f1 /proc/loadavg; }

# --- cgroups ------------------------------------------------------------------

# The mount points of the hierarchies a subject reads: the v1 controllers
# nodepulse and netdata read (devices: netdata discovers cgroups there too)
# and the cgroup2 mount (on a hybrid host: PSI and cpu.stat only).
find_mounts() {
  local fstype mnt opts c
  while read -r mnt fstype opts; do
    if [[ $fstype == cgroup2 ]]; then
      MOUNT[unified]=$mnt
    elif [[ $fstype == cgroup ]]; then
      for c in cpu cpuacct memory blkio pids devices; do
        [[ ",$opts," == *",$c,"* ]] && MOUNT[$c]=$mnt
      done
    fi
  done < <(awk '{for (i = 7; $i != "-"; i++); print $5, $(i + 1), $(i + 3)}' /proc/self/mountinfo)
  [[ -n ${MOUNT[unified]:-} || -n ${MOUNT[memory]:-} ]] || die "no cgroup hierarchy mounted"
}

# The agent's --cgroup-root must be a directory holding the hierarchies (it
# maps each mount point below /sys/fs/cgroup to <root>/<rest>). A "farm" of
# symlinks <root>/<rest> -> <mount>/$PARENT makes the test parent look like
# the root of every hierarchy, so the agent (and the floor, which uses the
# agent's discovery) sees exactly the kubepods tree of this run, with
# cAdvisor's ids (/kubepods/...), and nothing else of the host: no other
# engineer's test cgroups. On a pure v2 host the test parent itself is the
# root (as in tests/integration/cgroup_v2_test.cc).
make_farm() {
  if [[ ${MOUNT[unified]:-} == /sys/fs/cgroup && -z ${MOUNT[memory]:-} ]]; then
    FARM=/sys/fs/cgroup/$PARENT
    return
  fi
  FARM=$TMP/cgroup-root
  mkdir -p "$FARM"
  local h
  for h in "${HIERARCHIES[@]}"; do
    local mnt=${h%/"$PARENT"}
    ln -s "$h" "$FARM/${mnt#/sys/fs/cgroup/}"
  done
}

# setup_cgroups N: the tree, limits and processes for N containers.
setup_cgroups() {
  local n=$1 h
  LAYOUT=$TMP/layout-$n
  $E2E layout "$n" "$LAYOUT" >"$LAYOUT.json"
  log "N=$n: $(cat "$LAYOUT.json")"
  # The agent and the floor keep ~15 files open per cgroup; more than the
  # hard RLIMIT_NOFILE and they cannot cover every cgroup (said in the notes).
  local need=$(($(wc -l <"$LAYOUT/dirs.txt") * 15 + 200))
  if ((need > $(ulimit -Hn))); then
    log "warning: N=$n needs ~$need open files, the hard limit is $(ulimit -Hn): some cgroups will be missed"
  fi
  HIERARCHIES=()
  for h in $(printf '%s\n' "${MOUNT[@]}" | sort -u); do
    mkdir "$h/$PARENT"
    HIERARCHIES+=("$h/$PARENT")
    # mkdir takes the paths in order, parents first.
    sed "s|^|$h/$PARENT|" "$LAYOUT/dirs.txt" | xargs mkdir
  done
  # Container limits as the kubelet sets them (Guaranteed/Burstable apps):
  # memory.limit_in_bytes and a CFS quota, so throttling files move too.
  local cg mem quota
  while read -r cg mem quota; do
    [[ -n ${MOUNT[memory]:-} ]] && echo "$mem" >"${MOUNT[memory]}/$PARENT$cg/memory.limit_in_bytes"
    [[ -n ${MOUNT[cpu]:-} ]] && echo "$quota" >"${MOUNT[cpu]}/$PARENT$cg/cpu.cfs_quota_us"
  done <"$LAYOUT/limits.txt"
  make_farm
  local list
  list=$(IFS=,; echo "${HIERARCHIES[*]}")
  start_bg "load-$n" "$LOAD" --hierarchies="$list" --plan="$LAYOUT/plan.txt" \
    --pids="$TMP/load-$n.pids" --lifetime=$((4 * (SECS + WARMUP) + 1800 + SOAK_SECONDS))
  LOAD_PID=$LAST_PID
  local i
  for ((i = 0; i < 600; i++)); do
    grep -q '^ready' "$OUT/logs/load-$n.log" 2>/dev/null && break
    kill -0 "$LOAD_PID" 2>/dev/null || die "e2e_load failed: $(cat "$OUT/logs/load-$n.log")"
    sleep 0.1
  done
  log "N=$n: $(cat "$OUT/logs/load-$n.log"); cgroups in ${#HIERARCHIES[@]} hierarchies, agent root $FARM"
  sleep 2  # let the memory holders finish touching their pages
}

# teardown_cgroups: stop the load (it kills and reaps its children), kill by
# PID anything still inside our cgroups (only our processes can be there),
# then rmdir deepest first.
teardown_cgroups() {
  [[ -n ${LOAD_PID:-} ]] && stop_pid "$LOAD_PID"
  LOAD_PID=""
  local h pid i
  for h in "${HIERARCHIES[@]}"; do
    [[ $h == */nodepulse-e2e-[0-9]* && -d $h ]] || continue
    for pid in $(find "$h" -name cgroup.procs -exec cat {} + 2>/dev/null); do
      kill -KILL "$pid" 2>/dev/null || true
    done
  done
  for h in "${HIERARCHIES[@]}"; do
    [[ $h == */nodepulse-e2e-[0-9]* ]] || continue
    # A killed task can take a moment to leave its cgroup: retry for 10 s.
    for ((i = 0; i < 50; i++)); do
      [[ -d $h ]] || break
      find "$h" -depth -type d -exec rmdir {} + 2>/dev/null || sleep 0.2
    done
    [[ -d $h ]] && log "warning: could not remove $h"
  done
  HIERARCHIES=()
  if [[ -n $FARM && $FARM == "$TMP"/* ]]; then rm -rf "$FARM"; fi
  FARM=""
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM ERR
  set +eu  # best effort from here: every step must get its chance
  local i
  for ((i = ${#STARTED[@]} - 1; i >= 0; i--)); do
    [[ -n ${STARTED[i]:-} && ${STARTED[i]} != "${LOAD_PID:-}" ]] && stop_pid "${STARTED[i]}"
  done
  teardown_cgroups
  for ((i = ${#STARTED[@]} - 1; i >= 0; i--)); do stop_pid "${STARTED[i]}"; done
  [[ -n $TMP && $TMP == /tmp/nodepulse-e2e.* ]] && rm -rf "$TMP"
  local left
  left=$(find /sys/fs/cgroup -maxdepth 4 -iname "*$PARENT*" 2>/dev/null)
  if [[ -n $left ]]; then
    log "warning: cgroups left behind: $left"
  else
    log "cleanup: no cgroup of this run left (find /sys/fs/cgroup -maxdepth 4 -iname '*e2e*':" \
      "$(find /sys/fs/cgroup -maxdepth 4 -iname '*e2e*' 2>/dev/null | wc -l) entries, none ours)"
  fi
  exit "$rc"
}

# --- Prometheus ---------------------------------------------------------------

# start_prometheus JOB TARGET: a Prometheus of our own (temp config and TSDB,
# loopback only) scraping TARGET every 15 s; sets PROM_URL and PROM_PID.
start_prometheus() {
  local job=$1 target=$2 port dir
  port=$(freeport)
  dir=$TMP/prometheus-$job
  mkdir -p "$dir/data"
  cat >"$dir/prometheus.yml" <<EOF
global:
  scrape_interval: $SCRAPE_INTERVAL
  scrape_timeout: 10s
scrape_configs:
  - job_name: $job
    static_configs:
      - targets: ['$target']
EOF
  start_bg "prometheus-$job-$N" "$PROMETHEUS" --config.file="$dir/prometheus.yml" \
    --storage.tsdb.path="$dir/data" --web.listen-address=127.0.0.1:"$port" --log.level=warn
  PROM_PID=$LAST_PID
  PROM_URL=http://127.0.0.1:$port
  wait_http "$PROM_URL/-/ready" 60 || die "prometheus did not start"
}

# prom_scrape_stats JOB: "avg_ms max_ms samples scrapes" of the measured window.
prom_scrape_stats() {
  local job=$1 w=${SECS}s
  printf '%s %s %s %s\n' \
    "$($E2E prom "$PROM_URL" "1000 * avg_over_time(scrape_duration_seconds{job=\"$job\"}[$w])")" \
    "$($E2E prom "$PROM_URL" "1000 * max_over_time(scrape_duration_seconds{job=\"$job\"}[$w])")" \
    "$($E2E prom "$PROM_URL" "scrape_samples_scraped{job=\"$job\"}")" \
    "$($E2E prom "$PROM_URL" "count_over_time(up{job=\"$job\"}[$w])")"
}

# --- measurement ----------------------------------------------------------------

# sample SUBJECT PID: the measured window, after the warm-up already spent.
sample() {
  local subject=$1 pid=$2
  SAMPLE_LOAD1=$(load1)
  # The machine is shared: say if another run of this bench (someone else's
  # nodepulse-e2e-* parent) is loading it at the same time.
  SAMPLE_OTHERS=$(find /sys/fs/cgroup/memory /sys/fs/cgroup/unified -maxdepth 1 -name 'nodepulse-e2e-*' \
    ! -name "$PARENT" 2>/dev/null | wc -l)
  log "N=$N $subject: measuring $SECS s (pid $pid, load1 $SAMPLE_LOAD1)"
  $E2E sample "$pid" "$SECS" >"$TMP/sample.json"
  kill -0 "$pid" 2>/dev/null || die "$subject (pid $pid) exited during the window: see $OUT/logs"
}

result() {
  local subject=$1; shift
  $E2E result "$OUT/results.jsonl" "$N" "$subject" "$TMP/sample.json" "load1=$SAMPLE_LOAD1" \
    "concurrent_e2e_parents=$SAMPLE_OTHERS" "$@"
  log "N=$N $subject: $(tail -1 "$OUT/results.jsonl")"
}

# --- subjects ---------------------------------------------------------------------

run_floor() {
  start_bg "floor-$N" "$FLOOR" --cgroup-root="$FARM" --proc-root=/proc
  local pid=$LAST_PID i
  for ((i = 0; i < 300; i++)); do
    grep -q '^floor_reader: [0-9]* files' "$OUT/logs/floor-$N.log" 2>/dev/null && break
    kill -0 "$pid" 2>/dev/null || die "floor_reader failed: $(tail -3 "$OUT/logs/floor-$N.log")"
    sleep 0.1
  done
  sleep "$WARMUP"
  sample floor "$pid"
  stop_pid "$pid"
  local files p50 p99
  files=$(grep -o '^floor_reader: [0-9]* files' "$OUT/logs/floor-$N.log" | awk '{print $2}')
  p50=$(grep -o 'cycle_us_p50=[0-9.]*' "$OUT/logs/floor-$N.log" | cut -d= -f2)
  p99=$(grep -o 'cycle_us_p99=[0-9.]*' "$OUT/logs/floor-$N.log" | cut -d= -f2)
  result floor "files=$files" "cycle_p50_ms=$(awk "BEGIN{print ${p50:-0}/1000}")" \
    "cycle_p99_ms=$(awk "BEGIN{print ${p99:-0}/1000}")" "notes=$files files pread/s"
}

# start_nodepulse SUBJECT BINARY: the agent as on a node, with its drivers:
# sets NP_PID, NP_PORT, KUBELET_PID (empty in the flat layout), PROM_PID and
# POLL_PID.
start_nodepulse() {
  local subject=$1 binary=$2 kport
  NP_PORT=$(freeport)
  KUBELET_PID=""
  local kubelet_flags=()
  if [[ $LAYOUT_KIND == kubepods ]]; then
    # The fake kubelet gives the agent pod metadata for our pods (namespace,
    # pod, container, image, workload), so labels and rollups are real work.
    kport=$(freeport)
    start_bg "kubelet-$subject-$N" $E2E kubelet "$kport" "$LAYOUT"
    KUBELET_PID=$LAST_PID
    wait_http "http://127.0.0.1:$kport/pods" 30 || die "fake kubelet did not start"
    kubelet_flags=(--kubelet-url="http://127.0.0.1:$kport" --kubelet-node-name=e2e-node)
  fi
  # Generic mode: no kubelet, every cgroup of the tree (depth 1 here).
  start_bg "$subject-$N" "$binary" --listen=127.0.0.1:"$NP_PORT" --interval=1s \
    --cgroup-root="$FARM" --proc-root=/proc "${kubelet_flags[@]}" --log-level=warn
  NP_PID=$LAST_PID
  wait_http "http://127.0.0.1:$NP_PORT/readyz" 60 || die "$subject not ready: $(tail -5 "$OUT/logs/$subject-$N.log")"
  start_prometheus "$subject" "127.0.0.1:$NP_PORT"
  # KEDA's metrics-api scaler polls; the unfiltered document (every
  # workload, metric, window and stat) is the most expensive query. Coverage
  # checks off: a fresh agent's 5m/15m windows would answer 503 (issue #18)
  # and the bench would time a short error instead of the document.
  start_bg "poll-$subject-$N" $E2E poll \
    "http://127.0.0.1:$NP_PORT/api/v1/aggregates?min_coverage=0&max_age=inf" "$TMP/poll.json"
  POLL_PID=$LAST_PID
}

stop_nodepulse() {
  stop_pid "$POLL_PID"
  stop_pid "$PROM_PID"
  stop_pid "$NP_PID"
  stop_pid "$KUBELET_PID"
}

run_nodepulse() { measure_nodepulse nodepulse "$NODEPULSE"; }

# The agent of another build (NODEPULSE_E2E_BASELINE=<its build dir>) on the
# same cgroups in the same run: before/after comparisons of one change.
run_nodepulse_before() {
  [[ -x ${BASELINE_BIN:-} ]] || die "nodepulse_before needs NODEPULSE_E2E_BASELINE=<build dir with agent/nodepulse>"
  measure_nodepulse nodepulse_before "$BASELINE_BIN"
}

# count_containers METRICS: "<containers with series> <of them with pod labels>".
count_containers() {
  local ids='id="/kubepods/[^"]*/[0-9a-f]\{64\}"'
  [[ $LAYOUT_KIND == flat ]] && ids='id="/svc-[0-9]*"'
  printf '%s %s\n' "$(grep -c "^container_memory_usage_bytes{.*$ids" "$1" || true)" \
    "$(grep "^container_memory_usage_bytes{.*$ids" "$1" | grep -c 'pod="app-' || true)"
}

measure_nodepulse() {
  local subject=$1 binary=$2
  start_nodepulse "$subject" "$binary"
  local port=$NP_PORT pid=$NP_PID
  sleep "$WARMUP"
  curl -fsS "http://127.0.0.1:$port/metrics" >"$TMP/metrics-before"
  sample "$subject" "$pid"
  curl -fsS "http://127.0.0.1:$port/metrics" >"$TMP/metrics-after"
  # The files the agent holds open, to compare with the floor's count.
  local files
  files=$(find "/proc/$pid/fd" \( -lname '/sys/fs/cgroup/*' -o -lname '/proc/*' \) 2>/dev/null | wc -l)
  cp "$TMP/metrics-after" "$OUT/logs/$subject-$N.metrics"
  local c50 c99 cmean ccount series containers labelled
  read -r c50 c99 cmean ccount <<<"$($E2E cycle "$TMP/metrics-before" "$TMP/metrics-after" nodepulse_cycle_duration_seconds)"
  read -r s_avg s_max s_samples s_count <<<"$(prom_scrape_stats "$subject")"
  series=$(awk '/^nodepulse_series /{print $2}' "$TMP/metrics-after")
  read -r containers labelled <<<"$(count_containers "$TMP/metrics-after")"
  stop_nodepulse
  local emfile
  emfile=$(grep -c 'Too many open files' "$OUT/logs/$subject-$N.log" || true)
  local polls
  polls=$(python3 -c "import json;d=json.load(open('$TMP/poll.json'));print(d['polls'],d['failures'],d['bytes'],d['mean_ms'])")
  read -r p_n p_fail p_bytes p_ms <<<"$polls"
  result "$subject" \
    "cycle_p50_ms=$c50" "cycle_p99_ms=$c99" "cycle_mean_ms=$cmean" "cycles=$ccount" \
    "scrape_avg_ms=$s_avg" "scrape_max_ms=$s_max" "scrape_samples=$s_samples" "scrapes=$s_count" \
    "series=$series" "containers_seen=$containers" "containers_labelled=$labelled" \
    "aggregates_polls=$p_n" "aggregates_failures=$p_fail" "aggregates_bytes=$p_bytes" "aggregates_ms=$p_ms" \
    "files=$files" "emfile_warnings=$emfile" "notes=$files files open ($emfile EMFILE warnings); $containers containers seen, $labelled with pod labels; $s_count scrapes, $s_samples samples/scrape; $p_n aggregates polls (${p_bytes} B, $p_fail failed)"
}

# soak: the agent under churn for SOAK_SECONDS, sampled every 10 s.
run_soak() {
  [[ $LAYOUT_KIND == kubepods ]] || die "soak needs the kubepods layout (churn replaces pod containers)"
  local per_min=${NODEPULSE_E2E_CHURN_PER_MIN:-$(((N + 19) / 20))}
  start_nodepulse soak "$NODEPULSE"
  local list
  list=$(IFS=,; echo "${HIERARCHIES[*]}")
  start_bg "churn-$N" $E2E churn "$LAYOUT" "$list" "$LOAD" "$per_min" "$OUT/soak-$N.churn.jsonl"
  local churn_pid=$LAST_PID
  log "N=$N soak: $SOAK_SECONDS s, $per_min containers replaced a minute, agent pid $NP_PID"
  $E2E soak-sample "$NP_PID" "$PROM_URL" "$SOAK_SECONDS" "$OUT/soak-$N.csv" ||
    die "soak sampling failed: see $OUT/logs/soak-$N.log"
  kill -0 "$churn_pid" 2>/dev/null || die "churn stopped early: $(tail -3 "$OUT/logs/churn-$N.log")"
  stop_pid "$churn_pid"
  # After churn stopped and one kubelet poll and rescan later: every
  # container (the replacements too) must have series with pod labels.
  sleep 12
  curl -fsS "http://127.0.0.1:$NP_PORT/metrics" >"$OUT/logs/soak-$N.metrics"
  local containers labelled
  read -r containers labelled <<<"$(count_containers "$OUT/logs/soak-$N.metrics")"
  local warnings
  warnings=$(grep -c '^[WE]' "$OUT/logs/soak-$N.log" || true)
  read -r s_avg s_max s_samples s_count <<<"$(prom_scrape_stats soak)"
  stop_nodepulse
  $E2E soak-report "$OUT/soak-$N.csv" "$OUT/soak-$N.png" >"$OUT/soak-$N.json"
  python3 - "$OUT/soak-$N.json" "$OUT/soak-$N.churn.jsonl" "$warnings" "$s_count" "$containers" "$labelled" <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))
ev = [json.loads(l) for l in open(sys.argv[2]) if l.strip()]
s.update({"churn_events": len(ev), "churn_not_ready": sum(1 for e in ev if not e["ready"]),
          "churn_not_removed": sum(1 for e in ev if not e["removed"]),
          "agent_warning_or_error_lines": int(sys.argv[3]), "scrapes_in_last_window": sys.argv[4],
          "containers_at_end": int(sys.argv[5]), "containers_labelled_at_end": int(sys.argv[6])})
json.dump(s, open(sys.argv[1], "w"))
EOF
  log "N=$N soak: $(cat "$OUT/soak-$N.json"); plot $OUT/soak-$N.png"
}

ensure_gnuplot() {
  command -v gnuplot >/dev/null && return
  log "installing gnuplot-nox (apt-get install --no-install-recommends gnuplot-nox)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends gnuplot-nox >"$OUT/logs/apt-gnuplot.log" 2>&1 ||
    die "apt-get install gnuplot-nox failed: see $OUT/logs/apt-gnuplot.log"
}

# netdata: our own instance in the foreground, temp config/cache/lib/log,
# web on 127.0.0.1 only, every plugin but cgroups off, health off, no
# anonymous statistics (DO_NOT_TRACK and the opt-out file). Three settings
# are needed on this kind of host:
#  - use unified cgroups = no: its auto-detection asks `systemd --version`
#    (default-hierarchy=unified on Debian 12) when systemd is not PID 1 and
#    then reads only the controller-less cgroup2 mount of a hybrid host;
#  - path to /sys/fs/cgroup/<controller> = the test parent, so it sees our
#    tree as the root (ids /kubepods/...) and nothing else of the host;
#  - max cgroups to allow: 1000 by default counts every directory found
#    (QoS and pod cgroups too), which N=1000 containers exceed.
# Its rename script (cgroup-name.sh) would ask the GCE metadata server for a
# cluster name (http://metadata/, not loopback) for kubepods cgroups, so it
# is replaced by one giving the name netdata falls back to (k8s_<id>).
run_netdata() {
  local port dir
  port=$(freeport)
  dir=$TMP/netdata
  mkdir -p "$dir"/{etc,cache,lib,log}
  touch "$dir/etc/.opt-out-from-anonymous-statistics"
  cat >"$dir/cgroup-name.sh" <<'EOF'
#!/bin/sh
# netdata calls this with the cgroup path and its chart id; print the name.
echo "k8s_$2"
EOF
  chmod +x "$dir/cgroup-name.sh"
  local max=$(($(wc -l <"$LAYOUT/dirs.txt") + 100))
  cat >"$dir/etc/netdata.conf" <<EOF
[global]
	run as user = root
	hostname = nodepulse-e2e
[directories]
	config = $dir/etc
	cache = $dir/cache
	lib = $dir/lib
	log = $dir/log
	home = $dir/cache
[logs]
	debug = $dir/log/debug.log
	error = $dir/log/error.log
	access = none
[web]
	bind to = 127.0.0.1:$port
[health]
	enabled = no
[registry]
	enabled = no
[plugins]
	enable running new plugins = no
	proc = no
	diskspace = no
	tc = no
	idlejitter = no
	timex = no
	statsd = no
	checks = no
	apps = no
	python.d = no
	charts.d = no
	go.d = no
	node.d = no
	perf = no
	slabinfo = no
	fping = no
	ioping = no
	nfacct = no
	cups = no
	ebpf = no
	cgroups = yes
[plugin:cgroups]
	update every = 1
	check for new cgroups every = 10
	use unified cgroups = no
	path to /sys/fs/cgroup/cpuacct = ${MOUNT[cpuacct]:-/sys/fs/cgroup/cpuacct}/$PARENT
	path to /sys/fs/cgroup/memory = ${MOUNT[memory]:-/sys/fs/cgroup/memory}/$PARENT
	path to /sys/fs/cgroup/blkio = ${MOUNT[blkio]:-/sys/fs/cgroup/blkio}/$PARENT
	path to /sys/fs/cgroup/devices = ${MOUNT[devices]:-/sys/fs/cgroup/devices}/$PARENT
	path to unified cgroups = ${MOUNT[unified]:-/sys/fs/cgroup}/$PARENT
	max cgroups to allow = $max
	enable by default cgroups matching = $([[ $LAYOUT_KIND == flat ]] && echo '/svc-* !*' || echo '*/kubepods/pod*/* */kubepods/*/pod*/* !*')
	search for cgroups in subpaths matching = *
	script to get cgroup names = $dir/cgroup-name.sh
EOF
  if [[ -z ${MOUNT[memory]:-} ]]; then  # pure v2 host
    sed -i 's/use unified cgroups = no/use unified cgroups = yes/' "$dir/etc/netdata.conf"
  fi
  start_bg "netdata-$N" env DO_NOT_TRACK=1 "$NETDATA" -D -c "$dir/etc/netdata.conf"
  local pid=$LAST_PID url=http://127.0.0.1:$port
  wait_http "$url/api/v1/info" 60 || die "netdata did not start: $(tail -5 "$OUT/logs/netdata-$N.log")"
  # Discovery (every 10 s, renames and network detection per cgroup) must be
  # done before the window: wait until it found all N containers, or until
  # its count has not moved for 30 s.
  local start=$SECONDS charts=0 found=0 last=-1 stable=0
  while ((SECONDS - start < 600)); do
    read -r charts found <<<"$($E2E netdata-charts "$url")"
    ((found >= N)) && break
    if ((found == last && found > 0)); then ((++stable >= 6)) && break; else stable=0; fi
    last=$found
    sleep 5
  done
  local discovery=$((SECONDS - start))
  log "N=$N netdata: $found cgroups, $charts cgroup charts after ${discovery} s"
  ((found > 0)) || die "netdata found none of our cgroups: see $dir/log/error.log"
  sleep "$WARMUP"
  sample netdata "$pid"
  read -r charts found <<<"$($E2E netdata-charts "$url")"
  cp "$dir/log/error.log" "$OUT/logs/netdata-$N.error.log" 2>/dev/null || true
  stop_pid "$pid"
  result netdata "series=$charts" "cgroups_found=$found" "discovery_s=$discovery" \
    "notes=$found cgroups found, $charts cgroup charts (series column = charts); discovery ${discovery} s; process tree summed"
}

run_node_exporter() {
  local port
  port=$(freeport)
  start_bg "node_exporter-$N" "$NODE_EXPORTER" --web.listen-address=127.0.0.1:"$port"
  local pid=$LAST_PID
  wait_http "http://127.0.0.1:$port/metrics" 30 || die "node_exporter did not start"
  start_prometheus node "127.0.0.1:$port"
  sleep "$WARMUP"
  sample node_exporter "$pid"
  read -r s_avg s_max s_samples s_count <<<"$(prom_scrape_stats node)"
  stop_pid "$PROM_PID"
  stop_pid "$pid"
  result node_exporter "scrape_avg_ms=$s_avg" "scrape_max_ms=$s_max" "series=$s_samples" \
    "scrapes=$s_count" "notes=node-level only; $s_count scrapes"
}

# --- setup --------------------------------------------------------------------------

ensure_netdata() {
  if [[ ! -x $NETDATA ]]; then
    log "installing netdata (apt-get install --no-install-recommends netdata)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends netdata >"$OUT/logs/apt.log" 2>&1 ||
      die "apt-get install netdata failed: see $OUT/logs/apt.log"
  fi
  # The package may start and enable a system service; we run our own
  # instance, so stop and disable it through the service manager.
  if [[ -d /run/systemd/system ]]; then
    if systemctl is-active --quiet netdata 2>/dev/null || systemctl is-enabled --quiet netdata 2>/dev/null; then
      log "stopping and disabling the system netdata service"
      systemctl disable --now netdata >/dev/null 2>&1 || true
    fi
  elif [[ -f /run/netdata/netdata.pid ]] && kill -0 "$(cat /run/netdata/netdata.pid)" 2>/dev/null; then
    log "stopping the system netdata service"
    service netdata stop >/dev/null 2>&1 || true
    command -v update-rc.d >/dev/null && update-rc.d netdata disable >/dev/null 2>&1 || true
  fi
}

machine_facts() {
  python3 - "$OUT/machine.json" "$SECS" "$WARMUP" "$(ulimit -n)" <<'EOF'
import json, os, platform, subprocess, sys, time
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
cores = sum(1 for l in open("/proc/cpuinfo") if l.startswith("processor"))
mem = next(int(l.split()[1]) for l in open("/proc/meminfo") if l.startswith("MemTotal"))
osr = dict(l.rstrip().split("=", 1) for l in open("/etc/os-release") if "=" in l)
mounts = [l.split(" - ")[1].split()[0] for l in open("/proc/self/mountinfo") if " - cgroup" in l]
mode = "hybrid (v1 controllers + cgroup2)" if "cgroup" in mounts and "cgroup2" in mounts else ("v2" if "cgroup2" in mounts else "v1")
json.dump({"cpu_model": cpu, "cores": cores, "nproc": subprocess.check_output(["nproc"]).decode().strip(),
           "mem_gib": round(mem / 1024 / 1024, 1), "kernel": platform.release(),
           "os": osr.get("PRETTY_NAME", "?").strip('"'), "cgroups": mode,
           "loadavg": " ".join(open("/proc/loadavg").read().split()[:3]),
           "date": time.strftime("%Y-%m-%d %H:%M %Z"), "seconds": int(sys.argv[2]), "warmup_s": int(sys.argv[3]), "nofile": sys.argv[4]},
          open(sys.argv[1], "w"))
EOF
}

main() {
  [[ $(id -u) == 0 ]] || die "run as root: it creates cgroups"
  for b in "$NODEPULSE" "$FLOOR" "$LOAD"; do
    [[ -x $b ]] || die "$b missing: NODEPULSE_BUILD_DIR=$build $repo/scripts/build.sh (targets nodepulse floor_reader e2e_load)"
  done
  local needs=("$PROMETHEUS" curl python3)
  [[ " $SUBJECTS " == *" node_exporter "* ]] && needs+=("$NODE_EXPORTER")
  for b in "${needs[@]}"; do
    command -v "$b" >/dev/null || die "$b missing (apt-get install prometheus prometheus-node-exporter curl python3)"
  done
  mkdir -p "$OUT/logs"
  : >"$OUT/results.jsonl"
  TMP=$(mktemp -d /tmp/nodepulse-e2e.XXXXXX)
  trap cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  trap 'log "failed at line $LINENO: $BASH_COMMAND"' ERR
  [[ " $SUBJECTS " == *" netdata "* ]] && ensure_netdata
  [[ " $SUBJECTS " == *" soak "* ]] && ensure_gnuplot
  # ~15 open files per cgroup for the agent and the floor: lift the soft
  # limit to the hard one, and the hard one too where we may (not in every
  # sandbox: this machine's hard limit is 20000).
  ulimit -n 1048576 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
  find_mounts
  machine_facts
  log "machine: $(cat "$OUT/machine.json"); open files limit $(ulimit -n)"
  log "N in ($NS), subjects ($SUBJECTS), warm-up $WARMUP s, window $SECS s; results in $OUT"
  local subject
  for N in $NS; do
    setup_cgroups "$N"
    for subject in $SUBJECTS; do "run_$subject"; done
    teardown_cgroups
  done
  $E2E report "$OUT/results.jsonl" "$OUT/machine.json" | tee "$OUT/results.md"
  log "results: $OUT/results.md"
}

main "$@"
