#!/usr/bin/env bash
# Runs inside the test VM (run-in-vm.sh): each gtest binary with its filter,
#
#   guest-suite.sh [--allow-skip REGEX] BINARY FILTER [BINARY FILTER ...]
#
# and fails when any test fails, when a filter selects no test, or when a
# test skips: inside the VM every real-cgroup test must really run (a skip
# there means the pure cgroup v2 kernel was not what the test needed). Tests
# whose full name matches REGEX (grep -E) may skip; say why next to the list
# in tests/vm/CMakeLists.txt.
set -uo pipefail

allow_skip='^$'
if [[ "${1:-}" == --allow-skip ]]; then
  allow_skip=$2
  shift 2
fi
if (($# == 0 || $# % 2)); then
  echo "guest-suite: usage: guest-suite.sh [--allow-skip REGEX] BINARY FILTER [BINARY FILTER ...]" >&2
  exit 2
fi
if [[ "${NODEPULSE_IN_VM:-}" != 1 ]]; then
  echo "guest-suite: must run inside the test VM (tests/vm/run-in-vm.sh)" >&2
  exit 2
fi

log=$(mktemp -d /tmp/guest-suite.XXXXXX)
status=0
total_run=0
total_skipped=0
summary=()
start=$(cut -d' ' -f1 /proc/uptime)
n=0
while (($#)); do
  bin=$1 filter=$2
  shift 2
  n=$((n + 1))
  out=$log/$n.log
  echo "guest-suite: === ${bin##*/} --gtest_filter='$filter'"
  t0=$(cut -d' ' -f1 /proc/uptime)
  "$bin" --gtest_filter="$filter" --gtest_color=no 2>&1 | tee "$out"
  rc=${PIPESTATUS[0]}
  t1=$(cut -d' ' -f1 /proc/uptime)
  ran=$(grep -cE '^\[       OK \]|^\[  FAILED  \] [^ ]+\.[^ ]+ \(' "$out")
  skipped=$(grep -E '^\[  SKIPPED \] [^ ]+\.[^ ]+ \(' "$out" | sed -E 's/^\[  SKIPPED \] ([^ ]+) .*/\1/' || true)
  nskipped=$(grep -c . <<<"$skipped")
  total_run=$((total_run + ran))
  total_skipped=$((total_skipped + nskipped))
  line="${bin##*/} '$filter': exit $rc, $ran run, $nskipped skipped, $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", b-a}') s"
  if ((rc != 0)); then
    status=1
    line+="  <- FAILED"
  fi
  if ((ran + nskipped == 0)); then
    status=1
    line+="  <- the filter selected no test"
  fi
  while IFS= read -r t; do
    [[ -z "$t" ]] && continue
    if grep -qE "$allow_skip" <<<"$t"; then
      line+=$'\n'"    skipped (allowed): $t"
    else
      status=1
      line+=$'\n'"    skipped inside the VM (not allowed): $t"
    fi
  done <<<"$skipped"
  summary+=("$line")
done
end=$(cut -d' ' -f1 /proc/uptime)

echo
echo "guest-suite: ===== summary (cgroup v2 VM, kernel $(uname -r)) ====="
printf '  %s\n' "${summary[@]}"
echo "guest-suite: $total_run tests run, $total_skipped skipped, $(awk -v a="$start" -v b="$end" 'BEGIN{printf "%.1f", b-a}') s of guest time: $([[ $status == 0 ]] && echo PASSED || echo FAILED)"
rm -rf "$log"
exit "$status"
