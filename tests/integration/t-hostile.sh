#!/bin/bash
# t-hostile: a rootfs whose paths are symlinks pointing out of it (absolute,
# relative with ../../.., looping) must never make planet create, write or
# mount anything outside the rootfs. Each case builds a fresh rootfs, plants
# the links at decoy directories on the host (under $T), starts a box with
# env, dns and a volume, stops it, and compares the decoys (names, types,
# sizes, modes, mtimes, contents) with a snapshot taken before. The box may
# start (then the generated files must be inside the rootfs, as the box sees
# them) or refuse with a clear error; both are fine, a write outside is not.
# shellcheck disable=SC2317
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
# shellcheck source=../lib/lib.sh
. "$(dirname "$0")/../lib/lib.sh"

UP=../../../../../../../../../../../..   # enough ../ to climb to / from anywhere in $T

# decoy_make DIR: a host directory tree with known content
decoy_make() {
	mkdir -p "$1/etc" "$1/dev" "$1/run" "$1/proc" "$1/sys" "$1/voltarget" "$1/envdir"
	echo "DECOY passwd" >"$1/etc/passwd"
	echo "DECOY hosts" >"$1/hosts"
	echo "DECOY resolv" >"$1/resolv.conf"
	echo "DECOY hosts in etc" >"$1/etc/hosts"
	echo "DECOY resolv in etc" >"$1/etc/resolv.conf"
	echo "DECOY hostname" >"$1/hostname"
	echo "DECOY dev file" >"$1/dev/keep"
	echo "DECOY run file" >"$1/run/keep"
	echo "DECOY vol" >"$1/voltarget/keep"
	# mtimes in the past, so that any touch shows
	find "$1" -exec touch -h -d '2001-02-03 04:05:06' {} +
}
decoy_state() {
	(cd "$1" && find . -printf '%p %y %s %m %T@ %l\n' | sort &&
		find . -type f -exec sha256sum {} + | sort)
}

VOLSRC=$T/volsrc
mkdir -p "$VOLSRC"
echo "volume content" >"$VOLSRC/file"

# A shell as init, not busybox init: with /etc broken there is no inittab, and
# busybox init's built-in default would run `swapoff -a` (the host's swap!)
# at shutdown. This init exits 0 on the stop signal.
INIT='/bin/sh -c "trap \"exit 0\" TERM; while :; do sleep 0.1; done"'

N=0
# run_case NAME SETUP-FUNCTION: fresh rootfs + decoy, setup plants the links.
run_case() {
	local name=$1 setup=$2 rc before after m started
	N=$((N + 1))
	echo "# case $N: $name"
	ROOTFS=$T/case$N/rootfs
	STATE=$T/case$N/state
	SOCK=$STATE/enter.sock
	DECOY=$T/case$N/decoy
	sh "$LIB_DIR/mkrootfs-busybox.sh" "$ROOTFS" || {
		fail "$name: build rootfs"
		return
	}
	decoy_make "$DECOY"
	$setup
	before=$(decoy_state "$DECOY")
	host_snapshot "$T/case$N.snap"
	box_try_start --init "$INIT" --stop-signal TERM --stop-timeout 10 --hostname hostile \
		--env 'HOSTILE=1' --dns-hosts 'evil.test/10.6.6.6' --dns-zones 'evil.test/10.6.6.7' \
		--volume "$VOLSRC:/mnt/vol" "${EXTRA[@]}"
	rc=$?
	started=0
	if [ $rc = 0 ]; then
		started=1
		pass "$name: box started"
		# the generated files, as the box sees them, are the generated ones
		m=$(in_box cat /etc/hosts 2>&1)
		check_contains "$name: /etc/hosts inside the box has the dns-hosts entry" "$m" "10.6.6.6"
		m=$(in_box cat /etc/resolv.conf 2>&1)
		check_contains "$name: /etc/resolv.conf inside the box is the generated one" "$m" "10.6.6.7"
		m=$(in_box cat /etc/container-environment 2>&1)
		check_contains "$name: the env file inside the box has HOSTILE" "$m" 'HOSTILE="1"'
		check_eq "$name: the volume is visible inside" "volume content" "$(in_box cat /mnt/vol/file 2>&1)"
		m=$(grep -F "$DECOY" /proc/self/mountinfo)
		check_eq "$name: nothing mounted on the host decoy while the box runs" "" "$m"
		after=$(decoy_state "$DECOY")
		check_eq "$name: host decoy untouched while the box runs" "$before" "$after"
		box_stop TERM 20
		check_eq "$name: SIGTERM -> exit 0" 0 "$BOX_STATUS"
	elif [ $rc = 1 ] && [ "${MUST_START:-0}" = 1 ]; then
		fail "$name: box started (every link resolves inside the rootfs)" "exit $BOX_STATUS, output:" "$(cat "$BOX_LOG")"
	elif [ $rc = 1 ]; then
		if [ "$BOX_STATUS" != 0 ] && [ -s "$BOX_LOG" ]; then
			pass "$name: refused with exit $BOX_STATUS: $(tail -n 1 "$BOX_LOG")"
		else
			fail "$name: refused with a clear error" "exit $BOX_STATUS, output:" "$(cat "$BOX_LOG")"
		fi
	else
		fail "$name: planet neither started nor exited within ${BOX_START_TIMEOUT:-5} s" "$(cat "$BOX_LOG")"
		box_stop KILL 10
	fi
	after=$(decoy_state "$DECOY")
	check_eq "$name: host decoy untouched (names, modes, sizes, mtimes, contents)" "$before" "$after"
	m=$(host_diff "$T/case$N.snap")
	check_eq "$name: no mount or cgroup left on the host" "" "$m"
	if [ $started = 1 ]; then
		assert_nothing_left "$name"
	else
		left=()
		for p in "$STATE/state" "$STATE/lock" "$SOCK"; do [ -e "$p" ] && left+=("$p"); done
		check_eq "$name: no state, lock or socket file left" "" "${left[*]}"
		check_eq "$name: no process left" "" "$(lib_box_pids cwd)"
	fi
	EXTRA=()
	MUST_START=0
}
EXTRA=()
MUST_START=0

# 1. /etc is an absolute symlink to a host directory
case_etc_abs() {
	rm -rf "${ROOTFS:?}/etc"
	ln -s "$DECOY/etc" "$ROOTFS/etc"
}
run_case "/etc -> absolute host path" case_etc_abs

# 2. /etc is a relative symlink climbing out of the rootfs
case_etc_rel() {
	rm -rf "${ROOTFS:?}/etc"
	ln -s "$UP$DECOY/etc" "$ROOTFS/etc"
}
run_case "/etc -> ../../.. out of the rootfs" case_etc_rel

# 3. the generated files themselves are links out
case_files() {
	rm -f "$ROOTFS/etc/hosts" "$ROOTFS/etc/resolv.conf" "$ROOTFS/etc/hostname"
	ln -s "$UP$DECOY/hosts" "$ROOTFS/etc/hosts"
	ln -s "$DECOY/resolv.conf" "$ROOTFS/etc/resolv.conf"
	ln -s "$DECOY/hostname" "$ROOTFS/etc/hostname"
	ln -s "$DECOY/envdir/container-environment" "$ROOTFS/etc/container-environment"
}
run_case "/etc/hosts, resolv.conf, hostname, env file -> host files" case_files

# 4. the env file's directory is a link out (custom --env-file)
case_envdir() {
	ln -s "$UP$DECOY/envdir" "$ROOTFS/etc/planet-env"
	EXTRA=(--env-file /etc/planet-env/environment)
}
run_case "--env-file in a directory that links out" case_envdir

# 5. /dev and /run are links to host directories
case_dev_run() {
	rm -rf "${ROOTFS:?}/dev" "${ROOTFS:?}/run"
	ln -s "$DECOY/dev" "$ROOTFS/dev"
	ln -s "$UP$DECOY/run" "${ROOTFS:?}/run"
}
run_case "/dev and /run -> host directories" case_dev_run

# 6. /proc and /sys are links to host directories
case_proc_sys() {
	rm -rf "${ROOTFS:?}/proc" "${ROOTFS:?}/sys"
	ln -s "$DECOY/proc" "$ROOTFS/proc"
	ln -s "$UP$DECOY/sys" "${ROOTFS:?}/sys"
}
run_case "/proc and /sys -> host directories" case_proc_sys

# 7. a volume target is a link to a host directory
case_voltarget() {
	ln -s "$DECOY/voltarget" "$ROOTFS/mnt/vol"
}
run_case "volume target /mnt/vol -> host directory" case_voltarget

# 8. a volume target's parent is a relative link out, and a device target
case_volparent() {
	rm -rf "${ROOTFS:?}/mnt"
	ln -s "$UP$DECOY" "${ROOTFS:?}/mnt"
	ln -s voltarget "$DECOY/vol"
}
run_case "volume target's parent /mnt -> ../../.. host directory" case_volparent

# 9. looping links
case_loops() {
	rm -f "$ROOTFS/etc/hosts" "$ROOTFS/etc/resolv.conf"
	ln -s hosts2 "$ROOTFS/etc/hosts"
	ln -s hosts "$ROOTFS/etc/hosts2"
	ln -s resolv.conf "$ROOTFS/etc/resolv.conf"
	rm -rf "${ROOTFS:?}/run"
	ln -s run "${ROOTFS:?}/run"
	ln -s loop "$ROOTFS/mnt/loop"
	ln -s loop "$ROOTFS/mnt/vol"
}
run_case "looping links (/etc/hosts, /etc/resolv.conf, /run, volume target)" case_loops

# 10. everything at once, absolute
case_all() {
	rm -rf "${ROOTFS:?}/etc" "${ROOTFS:?}/dev" "${ROOTFS:?}/run" "${ROOTFS:?}/mnt"
	ln -s "$DECOY/etc" "$ROOTFS/etc"
	ln -s "$DECOY/dev" "$ROOTFS/dev"
	ln -s "$DECOY/run" "${ROOTFS:?}/run"
	ln -s "$DECOY" "${ROOTFS:?}/mnt"
}
run_case "/etc, /dev, /run, /mnt all -> host directories" case_all

# 11. links to host paths whose targets also exist inside the rootfs: resolved
# in the rootfs (RESOLVE_IN_ROOT) they are fine, so the box must start, and
# every write must land in the rootfs's copy, never in the host's decoy.
case_inroot() {
	local in=$ROOTFS$DECOY
	mkdir -p "$in/envdir" "$in/voltarget" "$in/dev" "$in/run"
	echo "in-root hosts" >"$in/hosts"
	echo "in-root resolv" >"$in/resolv.conf"
	rm -rf "${ROOTFS:?}/dev" "${ROOTFS:?}/run"
	rm -f "$ROOTFS/etc/hosts" "$ROOTFS/etc/resolv.conf"
	ln -s "$DECOY/hosts" "$ROOTFS/etc/hosts"
	ln -s "$DECOY/resolv.conf" "$ROOTFS/etc/resolv.conf"
	ln -s "$DECOY/envdir/container-environment" "$ROOTFS/etc/container-environment"
	ln -s "$DECOY/voltarget" "$ROOTFS/mnt/vol"
	ln -s "$DECOY/dev" "$ROOTFS/dev"
	ln -s "$UP$DECOY/run" "$ROOTFS/run"
	MUST_START=1
}
run_case "links out whose targets exist inside the rootfs" case_inroot
# (planet may write through the link to the rootfs's copy, or replace the link
# itself with a file: both are inside the rootfs)
check "links resolved in the rootfs: the env file was written inside the rootfs" \
	grep -rqsF 'HOSTILE="1"' "$ROOTFS/etc/container-environment" "$ROOTFS$DECOY/envdir"

finish
