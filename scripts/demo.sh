#!/bin/bash
# Boot the demo box and enter it, as root: installs what the demo needs (the
# build dependencies and busybox-static; not the test tools), builds planet,
# builds a busybox rootfs from Debian's busybox-static in
# /var/lib/planet/demo-rootfs, starts the box in the background and opens a
# shell in it. Leaving the shell halts the box. `scripts/demo.sh --clean`
# removes the rootfs (and the state dir, if a crash left it).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
rootfs=/var/lib/planet/demo-rootfs
state=/run/planet-demo
[ "$(id -u)" = 0 ] || { echo "demo: run it as root (or: sudo $0)" >&2; exit 1; }
if [ "${1:-}" = --clean ]; then
	rm -rf "$rootfs" "$state"
	rmdir /var/lib/planet 2>/dev/null || true
	echo "demo: removed $rootfs"
	exit 0
fi
bash "$top/scripts/deps.sh" --demo
bash "$top/scripts/build.sh" >/dev/null
planet=$top/build/planet
echo "demo: building the busybox rootfs in $rootfs"
bash "$top/tests/lib/mkrootfs-busybox.sh" "$rootfs"
log=$(mktemp /tmp/planet-demo.XXXXXX.log)
"$planet" start --rootfs "$rootfs" --state-dir "$state" --hostname demo >"$log" 2>&1 &
sup=$!
stop_box() {
	"$planet" stop --socket "$state/enter.sock" >/dev/null 2>&1 || kill "$sup" 2>/dev/null || true
	wait "$sup" 2>/dev/null || true
	echo "demo: box halted; its console log is in $log"
	echo "demo: its rootfs stays in $rootfs (remove it: $0 --clean)"
}
trap stop_box EXIT
for _ in $(seq 100); do
	[ -S "$state/enter.sock" ] && break
	kill -0 "$sup" 2>/dev/null || { cat "$log"; exit 1; }
	sleep 0.05
done
echo "demo: box running (supervisor pid $sup, rootfs $rootfs). You are inside; exit the shell to halt it."
"$planet" enter --socket "$state/enter.sock"
