#!/usr/bin/env bash
# Runs one command inside a throwaway pure cgroup v2 VM and returns its exit
# status; its output is streamed to our stdout.
#
#   tests/vm/run-in-vm.sh [--cache DIR] [--timeout SECONDS] [--mem MIB] [--smp N] -- CMD [ARGS...]
#
# The VM is Debian's own kernel (the linux-image-<version>-amd64 that Debian's
# linux-image-amd64 depends on; apt-get download + dpkg-deb -x into the cache,
# nothing is installed) booted by qemu's software emulation (no KVM needed) with
# a busybox initramfs (init.sh beside this script). The guest sees this
# machine's whole root read-only over 9p and chroots into it, so binaries built
# here run unchanged; /tmp and /run are fresh tmpfs, /sys/fs/cgroup is a pure
# cgroup2 hierarchy with cpu, memory, io and pids enabled, and a 64 MiB scratch
# disk (virtio-blk, serial "nodepulse-scratch") is attached for I/O tests. CMD
# runs as root in the current directory with NODEPULSE_IN_VM=1 and
# NODEPULSE_VM_SCRATCH_DISK=/dev/<disk> in its environment; GTEST_* and
# NODEPULSE_* variables are passed through.
#
# The kernel and initramfs are built once into the cache (default:
# ./vm-cache) and reused. Exit status: CMD's, or 1 (with the reason) when the
# VM cannot be built, qemu cannot start, or the guest never reports a status
# (crash, timeout). The only way to skip is NODEPULSE_SKIP_VM=1, which exits
# 77 (CTest's SKIP_RETURN_CODE for the VM tests).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cache=$PWD/vm-cache
timeout_s=280
mem_mib=1536
smp=2
while (($#)); do
  case "$1" in
    --cache) cache=$2; shift 2 ;;
    --timeout) timeout_s=$2; shift 2 ;;
    --mem) mem_mib=$2; shift 2 ;;
    --smp) smp=$2; shift 2 ;;
    --) shift; break ;;
    -h|--help) sed -n '2,24p' "$0"; exit 0 ;;
    *) echo "run-in-vm: unknown option $1 (usage: see --help)" >&2; exit 2 ;;
  esac
done
if (($# == 0)); then
  echo "run-in-vm: no command given (usage: see --help)" >&2
  exit 2
fi

if [[ "${NODEPULSE_SKIP_VM:-}" == 1 ]]; then
  echo "run-in-vm: SKIPPED: NODEPULSE_SKIP_VM=1 is set; the cgroup v2 VM suite did not run"
  exit 77
fi

fail() {
  echo "run-in-vm: FAILED: $*" >&2
  echo "run-in-vm: (to skip the VM suite on a machine that cannot run it, set NODEPULSE_SKIP_VM=1; see README)" >&2
  exit 1
}

for tool in qemu-system-x86_64 busybox cpio depmod dpkg-deb apt-get apt-cache gzip flock readelf timeout; do
  command -v "$tool" >/dev/null ||
    fail "$tool not found (scripts/deps.sh test installs qemu-system-x86, busybox-static, cpio, kmod)"
done
# The initramfs has no libc: only a statically linked busybox works there.
busybox_bin=
for b in /bin/busybox "$(command -v busybox)"; do
  if [[ -x "$b" ]] && ! LC_ALL=C readelf -d "$b" 2>/dev/null | grep -q NEEDED; then
    busybox_bin=$b
    break
  fi
done
[[ -n "$busybox_bin" ]] || fail "no statically linked busybox (install busybox-static)"

# The guest mounts fresh tmpfs over /tmp and /run: what lives there on the
# host is not visible inside, except one directory directly under /tmp that
# holds the checkout (CI clones into mktemp -d): it is shared read-only at the
# same path, so a build tree there runs unchanged.
host_tmp_dir=
for path in "$PWD" "$@"; do
  case "$path" in
    /tmp/*)
      rel=${path#/tmp/}
      top=/tmp/${rel%%/*}
      if [[ -n "$host_tmp_dir" && "$host_tmp_dir" != "$top" ]]; then
        fail "$path: only one directory under /tmp can be shared with the VM (already $host_tmp_dir)"
      fi
      host_tmp_dir=$top ;;
    /tmp|/run|/run/*)
      fail "$path is under /run (or is /tmp), which the VM does not share; use a build directory elsewhere" ;;
  esac
done

mkdir -p "$cache"
cache=$(cd "$cache" && pwd)

# ---------------------------------------------------------------- kernel ----
# One run at a time builds the cache; others wait on the lock.
exec 9>"$cache/.lock"
flock 9

kernel_pkg() {
  apt-cache depends linux-image-amd64 2>/dev/null |
    awk '/Depends: linux-image-[0-9]/ {print $2; exit}'
}
pkg=$(kernel_pkg || true)
if [[ -z "$pkg" && $(id -u) -eq 0 ]]; then
  echo "run-in-vm: apt has no linux-image-amd64; running apt-get update" >&2
  apt-get update -qq >&2 || true
  pkg=$(kernel_pkg || true)
fi
if [[ -z "$pkg" ]]; then
  # Offline with a cache from an earlier run: use the newest kernel there.
  pkg=$(ls -1 "$cache" 2>/dev/null | sed -n 's/^\(linux-image-[0-9].*-amd64\)\.deb$/\1/p' | sort -V | tail -n1 || true)
  [[ -n "$pkg" ]] || fail "cannot find the kernel package: 'apt-cache depends linux-image-amd64' names none"
  echo "run-in-vm: apt does not know linux-image-amd64; using cached $pkg" >&2
fi
kver=${pkg#linux-image-}
deb=$cache/$pkg.deb
vmlinuz=$cache/vmlinuz-$kver
# The modules the initramfs loads (each after its dependencies, found with
# depmod -b): virtio PCI transport, 9p over virtio, virtio-blk.
want_modules=(virtio_pci 9pnet_virtio 9p virtio_blk)
key=$( { echo "$pkg ${want_modules[*]}"; cat "$here/init.sh"; sha256sum <"$busybox_bin"; } |
        sha256sum | cut -c1-16)
initrd=$cache/initramfs-$kver-$key.cpio.gz

if [[ ! -s "$deb" ]]; then
  echo "run-in-vm: fetching $pkg into $cache (once)" >&2
  dl=$(mktemp -d "$cache/dl.XXXXXX")
  # As root, apt-get download would drop to the _apt user, who cannot write here.
  (cd "$dl" && apt-get download -o APT::Sandbox::User=root "$pkg" >&2) ||
    { rm -rf "$dl"; fail "apt-get download $pkg failed (needs Debian's archive)"; }
  mv "$dl"/"$pkg"_*.deb "$deb.tmp" && mv "$deb.tmp" "$deb"
  rm -rf "$dl"
  # Kernels and images of earlier runs are no longer wanted.
  find "$cache" -maxdepth 1 \( -name 'linux-image-*.deb' -o -name 'vmlinuz-*' -o -name 'initramfs-*' \) \
    ! -name "${deb##*/}" -delete
fi

if [[ ! -s "$vmlinuz" || ! -s "$initrd" ]]; then
  echo "run-in-vm: building $initrd" >&2
  work=$(mktemp -d "$cache/build.XXXXXX")
  kdir=$work/kernel
  dpkg-deb -x "$deb" "$kdir" || { rm -rf "$work"; fail "dpkg-deb -x $deb failed"; }
  [[ -f "$kdir/boot/vmlinuz-$kver" ]] || { rm -rf "$work"; fail "$deb has no boot/vmlinuz-$kver"; }
  depmod -b "$kdir" "$kver" || { rm -rf "$work"; fail "depmod -b $kdir $kver failed"; }
  moddir=$kdir/lib/modules/$kver

  declare -A mod_line=() added=()
  order=()
  while IFS= read -r line; do
    name=${line%%:*}
    name=${name##*/}
    mod_line[${name%%.ko*}]=$line
  done <"$moddir/modules.dep"
  add_module() {
    local name=${1//-/_} line dep
    [[ -n "${added[$name]:-}" ]] && return 0
    added[$name]=1
    line=${mod_line[$name]:-}
    if [[ -z "$line" ]]; then
      # Built into this kernel: nothing to load.
      grep -qE "/$name\.ko" "$moddir/modules.builtin" 2>/dev/null && return 0
      rm -rf "$work"
      fail "kernel module $name not found in $pkg"
    fi
    for dep in ${line#*:}; do
      dep=${dep##*/}
      add_module "${dep%%.ko*}"
    done
    order+=("${line%%:*}")
  }
  for m in "${want_modules[@]}"; do add_module "$m"; done

  stage=$work/initramfs
  mkdir -p "$stage"/{bin,dev,proc,sys,modules,newroot}
  cp "$busybox_bin" "$stage/bin/busybox"
  cp "$here/init.sh" "$stage/init"
  chmod 755 "$stage/init" "$stage/bin/busybox"
  : >"$stage/modules.order"
  for p in "${order[@]}"; do
    f=${p##*/}
    case "$f" in
      *.ko) cp "$moddir/$p" "$stage/modules/$f" ;;
      *.ko.xz) xz -dc "$moddir/$p" >"$stage/modules/${f%.xz}"; f=${f%.xz} ;;
      *.ko.zst) zstd -qdc "$moddir/$p" >"$stage/modules/${f%.zst}"; f=${f%.zst} ;;
      *.ko.gz) gzip -dc "$moddir/$p" >"$stage/modules/${f%.gz}"; f=${f%.gz} ;;
    esac
    echo "$f" >>"$stage/modules.order"
  done
  (cd "$stage" && find . -print0 | cpio --null -o -H newc --quiet | gzip -1) >"$work/initrd" ||
    { rm -rf "$work"; fail "building the initramfs failed"; }
  cp "$kdir/boot/vmlinuz-$kver" "$vmlinuz.tmp" && mv "$vmlinuz.tmp" "$vmlinuz"
  mv "$work/initrd" "$initrd"
  echo "run-in-vm: initramfs loads: $(tr '\n' ' ' <"$stage/modules.order")" >&2
  rm -rf "$work"
  # Images built from other init.sh versions.
  find "$cache" -maxdepth 1 -name 'initramfs-*.cpio.gz' ! -name "${initrd##*/}" -delete
fi
flock -u 9

# ------------------------------------------------------------------- run ----
job=$(mktemp -d "${TMPDIR:-/tmp}/nodepulse-vm-job.XXXXXX")
qemu_pid=
cleanup() {
  if [[ -n "$qemu_pid" ]] && kill -0 "$qemu_pid" 2>/dev/null; then
    kill "$qemu_pid" 2>/dev/null || true
    sleep 1
    kill -9 "$qemu_pid" 2>/dev/null || true
  fi
  rm -rf "$job"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

truncate -s 64M "$job/scratch.img"
{
  echo "# written by run-in-vm.sh; run by the guest's init inside the chroot"
  echo "export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
  echo "export HOME=/root TMPDIR=/tmp LANG=C.UTF-8 NODEPULSE_IN_VM=1"
  echo "for d in /sys/block/vd*; do [[ \$(cat \$d/serial 2>/dev/null) == nodepulse-scratch ]] &&" \
       "export NODEPULSE_VM_SCRATCH_DISK=/dev/\${d##*/}; done"
  while IFS='=' read -r -d '' name value; do
    case "$name" in
      GTEST_*|NODEPULSE_*) [[ "$name" == NODEPULSE_SKIP_VM ]] || printf 'export %s=%q\n' "$name" "$value" ;;
    esac
  done < <(env -0)
  printf 'cd %q || exit 125\n' "$PWD"
  printf 'exec'
  printf ' %q' "$@"
  printf '\n'
} >"$job/cmd"

echo "run-in-vm: booting $pkg (qemu TCG, $smp vCPUs, $mem_mib MiB) to run: $*" >&2
start=$(date +%s)
# timeout(1) ends only our qemu (by PID) when the run takes too long.
timeout --kill-after=10 "$timeout_s" qemu-system-x86_64 \
  -machine q35,accel=tcg -cpu max -smp "$smp" -m "$mem_mib" \
  -nodefaults -no-user-config -display none -no-reboot \
  -serial stdio -monitor none \
  -kernel "$vmlinuz" -initrd "$initrd" \
  -append "console=ttyS0 loglevel=3 panic=-1 oops=panic rdinit=/init psi=1${host_tmp_dir:+ nodepulse.hosttmp=$host_tmp_dir}" \
  -virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
  -virtfs local,path="$job",mount_tag=job,security_model=none,multidevs=remap \
  ${host_tmp_dir:+-virtfs local,path="$host_tmp_dir",mount_tag=hosttmp,security_model=none,readonly=on,multidevs=remap} \
  -drive file="$job/scratch.img",format=raw,if=none,id=scratch,cache=unsafe \
  -device virtio-blk-pci,drive=scratch,serial=nodepulse-scratch \
  </dev/null &
qemu_pid=$!
qemu_status=0
wait "$qemu_pid" || qemu_status=$?
qemu_pid=
elapsed=$(($(date +%s) - start))

if [[ ! -s "$job/rc" ]]; then
  if ((qemu_status == 124 || qemu_status == 137)); then
    fail "the VM did not finish within ${timeout_s}s (killed); output above"
  fi
  fail "qemu exited with status $qemu_status after ${elapsed}s without the guest reporting an exit status (qemu could not start, or the guest crashed; output above)"
fi
rc=$(tr -dc '0-9' <"$job/rc")
echo "run-in-vm: guest command exited $rc after ${elapsed}s in the VM" >&2
exit "$rc"
