#!/usr/bin/env bash
# Builds the nodepulse image from deploy/Dockerfile, unchanged, with podman,
# on a machine with or without a registry:
#   deploy/build-image.sh [TAG]          (default localhost/nodepulse:dev)
# The Dockerfile's base (debian:12 for the build stage; the runtime stage is
# FROM scratch) is used from local storage when present, pulled when a
# registry answers, and otherwise bootstrapped from this machine's configured
# apt sources with mmdebstrap and `podman import`ed under the name the
# Dockerfile uses, so `podman build --pull=never` finds it.
# Installs podman/buildah/mmdebstrap/runc with apt-get when missing (root).
# Prints the image size and the build time at the end.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
tag=${1:-${NODEPULSE_IMAGE:-localhost/nodepulse:dev}}
# shellcheck source=deploy/podman-lib.sh
source "$here/deploy/podman-lib.sh"

# One build at a time on a machine (scripts/run-tests.sh starts one early in
# the background; CTest's container.image runs this again and must wait for
# it, then finds every layer cached).
exec 9>"${TMPDIR:-/tmp}/nodepulse-build-image.lock"
flock 9

podman_install

# The Dockerfile's bases: every FROM image but scratch and earlier stages,
# with Docker's short-name expansion (debian:12 -> docker.io/library/debian:12).
dockerfile_bases() {
  awk 'toupper($1) == "FROM" {
         img = $2; if (img ~ /^--/) img = $3
         if (tolower($NF) != img && toupper($(NF-1)) == "AS") stage[tolower($NF)] = 1
         if (img == "scratch" || (tolower(img) in stage)) next
         if (img !~ /\//) img = "library/" img
         if (img !~ /^[^\/]*[.:][^\/]*\//) img = "docker.io/" img
         print img
       }' "$here/deploy/Dockerfile" | sort -u
}

# Debian images bootstrapped from the apt archive. The root is made like the
# official -slim images (no docs, man pages or locales) with apt configured
# from this machine's sources, which is what the build stage's
# `apt-get update && apt-get install` needs; one root serves every missing
# Debian 12 tag.
bootstrap_dir=""
trap 'rm -rf "${bootstrap_dir}"' EXIT

bootstrap_base() {
  local rootfs
  bootstrap_dir=$(mktemp -d /tmp/nodepulse-base.XXXXXX)
  rootfs="$bootstrap_dir/rootfs.tar"
  echo "build-image: bootstrapping Debian 12 from $(apt_sources) with mmdebstrap"
  mmdebstrap --quiet --variant=apt \
    --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' \
    bookworm "$rootfs" "$(apt_sources)"
  for base in "$@"; do
    podman import --quiet "$rootfs" "$base" >/dev/null
    echo "build-image: imported $base"
  done
}

ensure_bases() {
  local missing=()
  for base in $(dockerfile_bases); do
    if podman image exists "$base"; then continue; fi
    # A machine with a registry gets the real images; one without fails fast
    # (DNS or connect error), bounded by the timeout either way.
    if timeout 120 podman pull --quiet "$base" >/dev/null 2>&1; then
      echo "build-image: pulled $base"
    elif [[ $base == docker.io/library/debian:12* || $base == docker.io/library/debian:bookworm* ]]; then
      missing+=("$base")
    else
      echo "build-image: cannot pull $base and can only bootstrap Debian 12" >&2
      return 1
    fi
  done
  if ((${#missing[@]})); then bootstrap_base "${missing[@]}"; fi
}

start=$(date +%s)
ensure_bases
# --pull=never: only the local bases above. The ignore file keeps build trees
# and .git out of the context (podman 4.3 does not look for
# <Dockerfile>.dockerignore on its own).
podman build --quiet --pull=never $(oci_runtime_flag) \
  --ignorefile "$here/deploy/Dockerfile.dockerignore" \
  -f "$here/deploy/Dockerfile" -t "$tag" "$here" >/dev/null
took=$(( $(date +%s) - start ))
size=$(podman image inspect --format '{{.Size}}' "$tag")
echo "build-image: $tag built in ${took}s, $((size / 1024 / 1024)) MiB"
