#!/bin/bash
# bench/lone-exec.sh — issue 3 "Speed", the quick form: a lone `planet exec`
# (after 0.3 s of quiet, as an operator's single command) and back-to-back
# ones, against nsenter into the same box. Needs hyperfine and a busybox
# rootfs (tests/lib/mkrootfs-busybox.sh builds one; bench/exec.sh is the
# full comparison with lxc-attach, runc exec, throughput and memory).
#
#   sudo PLANET=./planet [ROOTFS=/var/cache/planet-tests/busybox-rootfs] \
#        [RUNS=30] bench/lone-exec.sh
#
# To compare two builds, run it once per PLANET, one after the other.
set -eu
P=$(realpath "${PLANET:-./planet}")
SRC=${ROOTFS:-/var/cache/planet-tests/busybox-rootfs}
command -v hyperfine >/dev/null || { echo "needs hyperfine (apt-get install hyperfine)" >&2; exit 2; }
[ -x "$SRC/bin/busybox" ] || { echo "no busybox rootfs at $SRC (ROOTFS=...)" >&2; exit 2; }
W=$(mktemp -d /var/tmp/planet-bench.XXXXXX)
ST=$(mktemp -d /dev/shm/planet-bench.XXXXXX)
SUP=
cleanup() {
	[ -n "$SUP" ] && { "$P" stop --socket "$ST/enter.sock" >/dev/null 2>&1 || kill -KILL "$SUP"; wait "$SUP" 2>/dev/null; }
	rm -rf "$W" "$ST"
}
trap cleanup EXIT
cp -a "$SRC" "$W/rootfs"
"$P" start --rootfs "$W/rootfs" --state-dir "$ST" --socket "$ST/enter.sock" \
	--init '/bin/sh -c "trap exit USR2 TERM; while :; do sleep 1; done"' >"$W/planet.log" 2>&1 &
SUP=$!
for _ in $(seq 50); do [ -S "$ST/enter.sock" ] && break; sleep 0.1; done
INIT=$(sed -n 's/^init_pid=//p' "$ST/state")
[ -n "$INIT" ] || { cat "$W/planet.log"; exit 1; }
sleep 0.5
echo "# lone: each run after 0.3 s of quiet"
hyperfine -N -w 3 -r "${RUNS:-30}" --prepare 'sleep 0.3' \
	"$P exec --socket $ST/enter.sock -- /bin/true" "nsenter -t $INIT -a /bin/true"
echo "# back to back"
hyperfine -N -w 10 -r 200 "$P exec --socket $ST/enter.sock -- /bin/true" "nsenter -t $INIT -a /bin/true"
