#!/usr/bin/env bash
# Quick start, command 2: install what is missing, build everything with
# warnings as errors, and run the whole test suite with CTest.
# Real-cgroup tests need root; as non-root they are skipped with the reason.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${NODEPULSE_BUILD_DIR:-$here/build}
"$here/scripts/deps.sh" test
# The container suite's image (tests/container): its base bootstrap and apt
# steps wait on the network, so they run while the host tree compiles. CTest's
# container.image then runs the same script, which waits on its lock and
# finds every layer built (or shows why the build failed). The script exits
# only after the image build has ended, so nothing is left running.
image_pid=""
if [[ ${NODEPULSE_SKIP_CONTAINER_TESTS:-0} != 1 ]]; then
  mkdir -p "$build"
  "$here/deploy/build-image.sh" > "$build/container-image.log" 2>&1 &
  image_pid=$!
  trap 'wait "$image_pid" 2>/dev/null || true' EXIT
fi
"$here/scripts/build.sh" -DNODEPULSE_WERROR=ON
cd "$build"
ctest --output-on-failure -j"${NODEPULSE_JOBS:-$(nproc)}" --timeout 600 "$@"
