#!/bin/busybox sh
# /init of the test VM's initramfs (busybox sh, PID 1). Built into the
# initramfs by run-in-vm.sh; nothing here runs on the host.
#
# Loads the virtio/9p/virtio-blk modules listed in /modules.order, mounts the
# host's root read-only over 9p at /newroot, puts fresh tmpfs on /tmp and /run,
# the guest's own proc/sys/dev, a pure cgroup2 hierarchy at /sys/fs/cgroup with
# cpu, memory, io and pids enabled for children (as systemd does), brings up
# loopback, then runs /run/nodepulse-vm/cmd (written by the runner into the job
# share) chrooted into /newroot. Its exit status goes to /run/nodepulse-vm/rc;
# then the VM powers off (qemu runs with -no-reboot, so a reboot ends it).
/bin/busybox --install -s /bin
export PATH=/bin

say() { echo "nodepulse-vm: [$(cut -d" " -f1 /proc/uptime 2>/dev/null)] $*" > /dev/console; }
die() {
  say "FATAL: $*"
  echo 0 > /proc/sys/kernel/printk 2>/dev/null
  reboot -f
  sleep 10
}

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev

for m in $(cat /modules.order); do
  insmod "/modules/$m" || die "insmod $m failed"
done

say "modules loaded"
mkdir -p /newroot
# cache=loose: the host tree is read-only for the guest and does not change
# under a test run; caching makes exec of the big test binaries much faster.
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=512000,cache=loose hostroot /newroot \
  || die "mounting the host root over 9p failed"
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /newroot/tmp || die "tmpfs /tmp"
mount -t tmpfs -o mode=755,nosuid,nodev tmpfs /newroot/run || die "tmpfs /run"
# The checkout may live under the host's /tmp (CI clones into mktemp -d): the
# runner then shares that one directory read-only and names it on the
# kernel command line.
for arg in $(cat /proc/cmdline); do
  case "$arg" in
    nodepulse.hosttmp=*)
      d=${arg#nodepulse.hosttmp=}
      mkdir -p "/newroot$d"
      mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=512000,cache=loose hosttmp "/newroot$d" \
        || die "mounting the shared $d failed" ;;
  esac
done
mkdir -p /newroot/run/nodepulse-vm
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 job /newroot/run/nodepulse-vm \
  || die "mounting the job share failed"
mount -t proc proc /newroot/proc
mount -t sysfs sysfs /newroot/sys
mount -t devtmpfs devtmpfs /newroot/dev
mkdir -p /newroot/dev/pts /newroot/dev/shm
mount -t devpts devpts /newroot/dev/pts
mount -t tmpfs -o mode=1777 tmpfs /newroot/dev/shm
# Pure cgroup v2, mounted with systemd's options; no v1 hierarchy exists.
mount -t cgroup2 -o nosuid,nodev,noexec,nsdelegate,memory_recursiveprot cgroup2 \
  /newroot/sys/fs/cgroup || die "mounting cgroup2 failed"
echo "+cpu +memory +io +pids" > /newroot/sys/fs/cgroup/cgroup.subtree_control \
  || die "enabling cpu/memory/io/pids in the root cgroup failed"
ip link set lo up || die "loopback"
hostname nodepulse-vm
# Plain \n line ends on the serial console (the runner's stdout).
stty -F /dev/console -onlcr 2>/dev/null

say "up: kernel $(uname -r), cgroup2 controllers: $(cat /newroot/sys/fs/cgroup/cgroup.subtree_control)"
chroot /newroot /bin/bash /run/nodepulse-vm/cmd < /dev/console > /dev/console 2>&1
rc=$?
say "command exited $rc"
echo "$rc" > /newroot/run/nodepulse-vm/rc
sync
umount /newroot/run/nodepulse-vm
echo 0 > /proc/sys/kernel/printk
reboot -f
sleep 10
