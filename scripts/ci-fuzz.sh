#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/) with clang, ASan and UBSan into
# build-fuzz/ (or $NODEPULSE_FUZZ_BUILD_DIR; configured by
# scripts/configure-sanitized.sh exactly as scripts/ci-sanitizers.sh's ASan
# tree, so CI points it at build-asan/ and nothing is compiled twice) and
# runs each for a bounded time
# from its seed corpus (fixtures, built at configure time) plus the corpus it
# grew on earlier runs. Any crash, leak, timeout or out-of-memory fails the
# script; the input is left in build-fuzz/artifacts/<target>/ - fix the
# parser, then copy the input to fuzz/regressions/<target>/ so CTest replays
# it in every build.
#   NODEPULSE_FUZZ_SECONDS  per target (default 25)
#   NODEPULSE_FUZZ_PARALLEL fuzzers run at once (default 2)
#   NODEPULSE_FUZZ_TARGETS  space-separated subset (default: all)
# Prints one line per target with its executions (libFuzzer's
# stat::number_of_executed_units) and writes them to build-fuzz/fuzz-stats.tsv.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${NODEPULSE_FUZZ_BUILD_DIR:-$here/build-fuzz}
seconds=${NODEPULSE_FUZZ_SECONDS:-25}
parallel=${NODEPULSE_FUZZ_PARALLEL:-2}
jobs=${NODEPULSE_JOBS:-2}

"$here/scripts/deps.sh" test
"$here/scripts/configure-sanitized.sh" "$build" address
cmake --build "$build" -j"$jobs" --target nodepulse_fuzzers

read -r -a targets <<<"${NODEPULSE_FUZZ_TARGETS:-$(tr '\n' ' ' <"$build/fuzz/targets.txt")}"
stats="$build/fuzz-stats.tsv"
: >"$stats"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

run_one() {
  local t=$1 corpus="$build/fuzz/corpus/$1" art="$build/artifacts/$1" log="$build/fuzz/logs/$1.log"
  mkdir -p "$corpus" "$art" "$(dirname "$log")"
  local rc=0
  # New inputs go to the first directory (kept between runs); the seeds are
  # read only. -timeout: one input taking 10 s is a hang, reported as a crash.
  "$build/fuzz/fuzz_$t" -max_total_time="$seconds" -print_final_stats=1 -timeout=10 \
    -rss_limit_mb=2048 -artifact_prefix="$art/" "$corpus" "$build/fuzz/seeds/$t" >"$log" 2>&1 || rc=$?
  local execs
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  printf '%s\t%s\t%s\t%s\n' "$t" "${execs:-0}" "$seconds" "$rc" >>"$stats"
  if ((rc != 0)); then
    echo "ci-fuzz: $t FAILED (exit $rc); input in $art/, log $log:" >&2
    grep -E 'ERROR|FUZZ_CHECK|runtime error|SUMMARY|Test unit written' "$log" | head -20 >&2 || true
    return 1
  fi
  echo "ci-fuzz: $t ok: ${execs:-?} execs in ${seconds}s"
}
export -f run_one
export build seconds stats

start=$(date +%s)
failed=0
printf '%s\n' "${targets[@]}" | xargs -P "$parallel" -I{} bash -c 'run_one "$@"' _ {} || failed=1
echo "ci-fuzz: ${#targets[@]} targets, $(( $(date +%s) - start ))s; executions per target in $stats"
sort "$stats" | awk -F'\t' '{printf "  %-18s %12s execs  exit %s\n", $1, $2, $4}'
exit "$failed"
