#!/usr/bin/env bash
# Installs the Debian 12 packages nodepulse needs, only those missing, so it is
# idempotent and quick on a machine that already has them.
#   scripts/deps.sh build   - compiler and libraries to build the agent
#   scripts/deps.sh test    - build + what the test suite runs (prometheus, promtool,
#                             clang/libFuzzer, wrk, faketime)
set -euo pipefail

build_pkgs=(
  g++ cmake make pkg-config git ca-certificates
  libabsl-dev prometheus-cpp-dev libcivetweb-dev libprotobuf-dev protobuf-compiler
  libcurl4-openssl-dev libsnappy-dev zlib1g-dev libssl-dev
  libgtest-dev libgmock-dev libbenchmark-dev
)
# clang + libclang-rt-14-dev: libFuzzer and the sanitizer runtimes
# (scripts/ci-fuzz.sh); wrk and faketime (libfaketime): tests/reliability.
# chromium + fonts-dejavu-core: the status page browser test (headless screenshot).
test_pkgs=(prometheus openssl procps iproute2 curl clang libclang-rt-14-dev wrk faketime python3 python3-yaml chromium fonts-dejavu-core)
# ninja-build + lld: the sanitizer and fuzz trees (scripts/configure-sanitized.sh).
test_pkgs+=(ninja-build lld)
# tests/vm: the cgroup v2 VM suite (qemu TCG, busybox initramfs, depmod -b).
test_pkgs+=(qemu-system-x86 busybox-static cpio kmod)
# tests/container: podman, runc, mmdebstrap (the image without a registry).
# shellcheck source=deploy/podman-lib.sh
source "$(dirname "$0")/../deploy/podman-lib.sh"
test_pkgs+=("${podman_packages[@]}")

want=("${build_pkgs[@]}")
if [[ "${1:-build}" == "test" ]]; then want+=("${test_pkgs[@]}"); fi

missing=()
for p in "${want[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "deps: missing Debian packages: ${missing[*]}; run as root (or apt-get install them)" >&2
    exit 1
  fi
  echo "deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # --no-install-recommends: the prometheus package would otherwise pull in
  # node-exporter and friends that the tests do not use.
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
