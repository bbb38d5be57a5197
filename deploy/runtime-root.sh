#!/bin/sh
# Assembles the runtime image's whole root filesystem (deploy/Dockerfile's
# build stage runs it; the final stage is FROM scratch):
#   runtime-root.sh BINARY OUT_DIR
# OUT_DIR gets the stripped agent, exactly the shared libraries it links as
# resolved by the dynamic loader (ldd, symlinks followed), the loader itself,
# the CA bundle Debian's libcurl reads by default, and passwd/group entries
# naming UID/GID 65532. Nothing else: no shell, no package manager, no
# coreutils, so nothing in the image is there that the agent does not run.
set -eu
bin=$1 out=$2
mkdir -p "$out/usr/bin" "$out/etc/ssl/certs"
install -m 0755 "$bin" "$out/usr/bin/nodepulse"
# "libx.so.N => /lib/x86_64-linux-gnu/libx.so.N (0x...)" and the loader line
# "/lib64/ld-linux-x86-64.so.2 (0x...)". A library ldd cannot find fails here,
# not at the first start of a pod.
ldd "$bin" | awk '/not found/ {print "missing: " $0 > "/dev/stderr"; bad = 1}
                  $2 == "=>" && $3 ~ /^\// {print $3}
                  $1 ~ /^\// {print $1}
                  END {exit bad}' |
  while read -r lib; do cp -L --parents "$lib" "$out"; done
cp -L /etc/ssl/certs/ca-certificates.crt "$out/etc/ssl/certs/"
printf 'root:x:0:0:root:/root:/usr/sbin/nologin\nnodepulse:x:65532:65532:nodepulse:/nonexistent:/usr/sbin/nologin\n' \
  > "$out/etc/passwd"
printf 'root:x:0:\nnodepulse:x:65532:\n' > "$out/etc/group"
# The loader finds the libraries in its built-in multiarch directories
# (/lib/x86_64-linux-gnu): no ld.so.cache is needed. Prove it before the
# image is made: run the binary from the new root only.
chroot "$out" /usr/bin/nodepulse --version >/dev/null
