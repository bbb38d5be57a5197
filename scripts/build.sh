#!/usr/bin/env bash
# Configures and builds nodepulse into build/ (or $NODEPULSE_BUILD_DIR).
# Extra arguments go to cmake's configure step, e.g. -DNODEPULSE_WERROR=ON.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${NODEPULSE_BUILD_DIR:-$here/build}
jobs=${NODEPULSE_JOBS:-$(nproc)}
cmake -S "$here" -B "$build" -DCMAKE_BUILD_TYPE=${NODEPULSE_BUILD_TYPE:-Release} "$@" >/dev/null
cmake --build "$build" -j"$jobs" ${NODEPULSE_TARGETS:+--target $NODEPULSE_TARGETS}
