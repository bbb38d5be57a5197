#!/usr/bin/env bash
# Quick start, command 2: install what is missing, build everything with
# warnings as errors, and run the whole test suite with CTest.
# Real-cgroup tests need root; as non-root they are skipped with the reason.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${NODEPULSE_BUILD_DIR:-$here/build}
"$here/scripts/deps.sh" test
"$here/scripts/build.sh" -DNODEPULSE_WERROR=ON
cd "$build"
ctest --output-on-failure -j"${NODEPULSE_JOBS:-$(nproc)}" --timeout 600 "$@"
