#!/usr/bin/env bash
# Configures a sanitizer build tree the way CI builds it, fast on a 2-core
# machine: clang (the sanitizers' and libFuzzer's compiler), Ninja, lld, and
# the "Sanitize" build type: -O1 -gline-tables-only (file:line in every
# report's stack, without full debug info, whose size made the old gcc
# RelWithDebInfo build mostly debug-info work). Warnings are errors.
#   scripts/configure-sanitized.sh <build-dir> address   ASan + UBSan, and the
#       libFuzzer targets (NODEPULSE_FUZZ=ON) in the same tree, so the
#       libraries are compiled once for the test suite and the fuzzers
#       (scripts/ci-sanitizers.sh asan, scripts/ci-fuzz.sh)
#   scripts/configure-sanitized.sh <build-dir> thread    TSan
# Extra arguments go to cmake. Reconfiguring an existing tree with the same
# arguments rebuilds nothing.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=$1 sanitizer=$2
shift 2
case $sanitizer in
  address) extra=(-DNODEPULSE_FUZZ=ON) ;;
  thread) extra=(-DNODEPULSE_FUZZ=OFF) ;;
  *) echo "configure-sanitized: sanitizer must be address or thread, not '$sanitizer'" >&2; exit 2 ;;
esac
generator=()
# An existing tree keeps its generator (cmake refuses to switch).
if [[ ! -f $build/CMakeCache.txt ]] && command -v ninja >/dev/null; then generator=(-G Ninja); fi
linker=()
if command -v ld.lld >/dev/null; then
  linker=(-DCMAKE_EXE_LINKER_FLAGS=-fuse-ld=lld -DCMAKE_SHARED_LINKER_FLAGS=-fuse-ld=lld)
fi
flags="-O1 -gline-tables-only -DNDEBUG"
CC=clang CXX=clang++ cmake -S "$here" -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Sanitize \
  "-DCMAKE_C_FLAGS_SANITIZE=$flags" "-DCMAKE_CXX_FLAGS_SANITIZE=$flags" "${linker[@]}" \
  -DNODEPULSE_SANITIZE="$sanitizer" -DNODEPULSE_WERROR=ON "${extra[@]}" "$@" >/dev/null
