#!/usr/bin/env bash
# CI: the test suite under sanitizers (issue #8: memory errors and undefined
# behaviour under ASan+UBSan, data races separately under TSan). Both trees
# are configured by scripts/configure-sanitized.sh: clang, Ninja, lld, -O1 -gline-tables-only.
#   build-asan/  everything with -DNODEPULSE_SANITIZE=address (ASan + UBSan,
#                UB is fatal) plus the libFuzzer targets (same tree, so
#                scripts/ci-fuzz.sh with NODEPULSE_FUZZ_BUILD_DIR=build-asan
#                builds nothing more), and the whole CTest suite: unit,
#                fixture, real-cgroup, end-to-end, fuzz regressions and
#                reliability.
#   build-tsan/  -DNODEPULSE_SANITIZE=thread, only the test binaries with
#                threads (pipeline, http, remote_write, kubelet collector), and only
#                their concurrent suites (TSAN_REGEX).
# Usage: scripts/ci-sanitizers.sh [asan|tsan|all] [extra ctest args...]
# Build dirs: $NODEPULSE_ASAN_BUILD_DIR, $NODEPULSE_TSAN_BUILD_DIR.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
what=${1:-all}
shift || true
jobs=${NODEPULSE_JOBS:-2}
asan_build=${NODEPULSE_ASAN_BUILD_DIR:-$here/build-asan}
tsan_build=${NODEPULSE_TSAN_BUILD_DIR:-$here/build-tsan}
# Suites that run threads against each other: pipeline snapshot publishing,
# the HTTP server and its limits, the kubelet client's polling thread,
# remote_write's writer and sender threads and its disk queue. Every lock
# they take is visible to TSan: Debian's libabsl is not built with
# -fsanitize=thread, so all absl::Mutex locking goes through
# nodepulse/base/mutex.h, which annotates it.
TSAN_REGEX=${TSAN_REGEX:-'^(Concurrency|HttpServer|HttpServerTest|HttpServerLimitsTest|KubeletClientTest|RemoteWriteHttpTest|RemoteWriteClient|DiskQueueTest)\.'}
# Shorter churn and load phases under ASan: they are there for memory
# errors, not for figures (those come from the Release run).
export NODEPULSE_CHURN_SECONDS=${NODEPULSE_CHURN_SECONDS:-30}
export NODEPULSE_LOAD_SECONDS=${NODEPULSE_LOAD_SECONDS:-5}

"$here/scripts/deps.sh" test
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}

failed=()
# Runs a command, prints how long it took, returns its status (explicitly:
# callers use `|| failed+=(...)`, where set -e does not apply).
timed() {
  local label=$1 start rc=0
  shift
  start=$(date +%s)
  "$@" || rc=$?
  echo "ci-sanitizers: $label took $(( $(date +%s) - start ))s (exit $rc)"
  return "$rc"
}

if [[ $what == asan || $what == all ]]; then
  timed "asan configure" "$here/scripts/configure-sanitized.sh" "$asan_build" address
  timed "asan build" cmake --build "$asan_build" -j"$jobs" --target all nodepulse_fuzzers
  (cd "$asan_build" && timed "asan ctest" ctest --output-on-failure -j"$jobs" --timeout 900 "$@") || failed+=(asan)
fi

if [[ $what == tsan || $what == all ]]; then
  timed "tsan configure" "$here/scripts/configure-sanitized.sh" "$tsan_build" thread
  timed "tsan build" cmake --build "$tsan_build" -j"$jobs" --target pipeline_test http_test remote_write_test collectors_kubelet_test
  # Only the binaries built above have discovered tests; -R picks the
  # concurrent suites among them.
  (cd "$tsan_build" && timed "tsan ctest" ctest --output-on-failure -j"$jobs" --timeout 900 -R "$TSAN_REGEX" "$@") ||
    failed+=(tsan)
fi

# Both suites run even if the first fails; either failing fails the script.
if ((${#failed[@]})); then
  echo "ci-sanitizers: FAILED: ${failed[*]}" >&2
  exit 1
fi
echo "ci-sanitizers: ok"
