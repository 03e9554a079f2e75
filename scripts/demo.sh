#!/bin/bash
# Boot the demo box and enter it: installs the build dependencies, builds
# planet, builds a busybox rootfs from Debian's busybox-static, starts the box
# in the background and opens a shell in it. Leaving the shell halts the box.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
[ "$(id -u)" = 0 ] || { echo "demo: run as root (sudo $0)" >&2; exit 1; }
bash "$top/scripts/deps.sh"
bash "$top/scripts/build.sh" >/dev/null
planet=$top/build/planet
rootfs=/var/lib/planet/demo-rootfs
state=/run/planet-demo
bash "$top/tests/lib/mkrootfs-busybox.sh" "$rootfs"
log=$(mktemp /tmp/planet-demo.XXXXXX.log)
"$planet" start --rootfs "$rootfs" --state-dir "$state" --hostname demo >"$log" 2>&1 &
sup=$!
stop_box() {
	"$planet" stop --socket "$state/enter.sock" >/dev/null 2>&1 || kill "$sup" 2>/dev/null || true
	wait "$sup" 2>/dev/null || true
	echo "demo: box halted; its console log is in $log"
}
trap stop_box EXIT
for _ in $(seq 100); do
	[ -S "$state/enter.sock" ] && break
	kill -0 "$sup" 2>/dev/null || { cat "$log"; exit 1; }
	sleep 0.05
done
echo "demo: box running (supervisor pid $sup). You are inside; exit the shell to halt it."
"$planet" enter --socket "$state/enter.sock"
