# Shared by deploy/build-image.sh and tests/container: what podman needs on
# this kind of machine (measured facts in deploy/README.md, "Building the
# image"). Sourced, not run.

# The container tooling (Debian 12 packages): scripts/deps.sh installs it for
# the test suite, podman_install for deploy/build-image.sh on its own.
# containerd (with ctr) is only for tests/container.
podman_packages=(podman buildah mmdebstrap runc crun uidmap netavark aardvark-dns iptables containerd)

podman_install() {
  local missing=()
  for p in "${podman_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  ((${#missing[@]})) || return 0
  if [[ $(id -u) -ne 0 ]]; then
    echo "podman: missing Debian packages: ${missing[*]}; run as root" >&2
    return 1
  fi
  echo "podman: installing ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# The apt sources the bootstrap uses: the machine's deb822 file when it has
# one, else its sources.list.
apt_sources() {
  if [[ -f /etc/apt/sources.list.d/debian.sources ]]; then
    echo /etc/apt/sources.list.d/debian.sources
  else
    echo /etc/apt/sources.list
  fi
}

# crun refuses a hybrid hierarchy whose cgroup2 mount holds a controller
# ("cgroups in hybrid mode not supported"); runc handles it. Pure v1 or pure
# v2 hosts keep podman's default runtime.
oci_runtime_flag() {
  local v2
  grep -q ' - cgroup ' /proc/self/mountinfo || return 0
  v2=$(awk '$0 ~ / - cgroup2 / {print $5; exit}' /proc/self/mountinfo)
  # cgroup files report size 0: read them to see whether they are empty.
  if [[ -n $v2 ]] && grep -q . "$v2/cgroup.controllers" 2>/dev/null && command -v runc >/dev/null; then
    echo "--runtime=runc"
  fi
}

# podman's default rlimits (nofile 1048576) exceed the hard limits of a
# session without CAP_SYS_RESOURCE, so containers start within ours: half the
# hard nofile limit (the agent keeps an fd per cgroup file open), and an nproc
# of at most 4096 (measured here: runc's setrlimit(RLIMIT_NPROC) was refused
# at 40000 under a hard limit of 96367, accepted at 20000 and below).
ulimit_flags() {
  local nofile nproc
  nofile=$(ulimit -Hn)
  nproc=$(ulimit -Hu)
  [[ $nofile == unlimited ]] && nofile=1048576
  [[ $nproc == unlimited || $nproc -gt 8192 ]] && nproc=8192
  echo "--ulimit=nofile=$((nofile / 2)):$((nofile / 2)) --ulimit=nproc=$((nproc / 2)):$((nproc / 2))"
}
