#!/bin/bash
# t-badinput: every bad value given to `planet start` (flag, PLANET_* variable
# or config file) ends with exit 2 and exactly one line on stderr that names
# the offending value, before anything on the host is touched: the state dir
# is not created, no mount and no cgroup dir appears, the rootfs is not
# modified (names, sizes, mtimes), /run/planet is not created. planet runs in
# the test's own cgroup (lib.sh), so a box cgroup it created would be below it.
# Every run gets --init /bin/true, so a value wrongly accepted boots a box that
# ends at once (and the check for exit 2 fails) instead of hanging the test.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
# shellcheck source=../lib/lib.sh
. "$(dirname "$0")/../lib/lib.sh"

BAD_STATE=$T/bad-state
V=$T/v
mkdir -p "$V"
echo x >"$T/afile"
run_planet_existed=0
[ -e /run/planet ] && run_planet_existed=1

rootfs_listing() { find "$ROOTFS" -printf '%p %y %s %m %T@ %l\n' | sort; }

CASE=0
# try DESC NEEDLE [VAR=VALUE...] -- ARGS...
#   runs: env VARS planet start ARGS (from the directory $RUN_DIR, default /)
try() {
	local desc=$1 needle=$2 vars=() rc out err nl problems=()
	shift 2
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		vars+=("$1")
		shift
	done
	shift
	CASE=$((CASE + 1))
	host_snapshot "$T/snap.$CASE"
	ROOTFS_BEFORE=$(rootfs_listing)
	(cd "${RUN_DIR:-/}" && timeout -s KILL 10 "${CG_WRAP[@]}" env "${vars[@]}" "$PLANET" start "$@" \
		>"$T/out.$CASE" 2>"$T/err.$CASE" </dev/null)
	rc=$?
	err=$(cat "$T/err.$CASE")
	nl=$(grep -c '' "$T/err.$CASE")
	check_eq "$desc: exit 2" 2 "$rc"
	if [ "$nl" = 1 ] && [[ $err == *"$needle"* ]]; then
		pass "$desc: one line naming $needle: $err"
	else
		fail "$desc: exactly one line on stderr naming $needle" "$nl line(s):" "$err"
	fi
	[ -e "$BAD_STATE" ] && problems+=("state dir $BAD_STATE created: $(ls -la "$BAD_STATE" 2>&1)")
	[ $run_planet_existed = 0 ] && [ -e /run/planet ] && problems+=("/run/planet created")
	out=$(host_diff "$T/snap.$CASE") || problems+=("$out")
	out=$(rootfs_listing)
	[ "$out" = "$ROOTFS_BEFORE" ] || problems+=("rootfs modified:" "$(diff <(echo "$ROOTFS_BEFORE") <(echo "$out") | grep '^[<>]')")
	if [ ${#problems[@]} = 0 ]; then
		pass "$desc: host untouched"
	else
		fail "$desc: host untouched" "${problems[@]}"
	fi
	# if planet wrongly started something, do not let it leak into the next case
	if [ -e "$BAD_STATE" ]; then
		while read -r c; do CG_PATHS+=("$c"); done < <(sed -n 's/^cgroup=//p' "$BAD_STATE/state" 2>/dev/null)
		lib_cleanup_partial
	fi
}
lib_cleanup_partial() {
	local c
	for c in "${CG_PATHS[@]}"; do
		# shellcheck disable=SC2038
		[ -d "$c" ] && find "$c" -name cgroup.procs -exec cat {} + 2>/dev/null | xargs -r kill -KILL 2>/dev/null
		sleep 0.2
		[ -d "$c" ] && find "$c" -depth -type d -exec rmdir {} + 2>/dev/null
	done
	rm -rf "$BAD_STATE"
	[ $run_planet_existed = 0 ] && rmdir /run/planet 2>/dev/null
}

# the valid base every case starts from
B=(--rootfs "$ROOTFS" --state-dir "$BAD_STATE" --socket "$BAD_STATE/enter.sock" --init /bin/true)

# ---- rootfs --------------------------------------------------------------------
try "no rootfs" rootfs -- --state-dir "$BAD_STATE" --init /bin/true
# A relative rootfs is resolved against the working directory (docs/CONFIG.md):
# one that does not exist there is an error.
try "relative rootfs that does not exist" "no/such/relative/rootfs" -- --state-dir "$BAD_STATE" --init /bin/true --rootfs no/such/relative/rootfs
try "nonexistent rootfs" "$T/no-such-rootfs" -- "${B[@]}" --rootfs "$T/no-such-rootfs"
try "rootfs is a file" "$T/afile" -- "${B[@]}" --rootfs "$T/afile"

# ---- a directory that is no rootfs (nothing written into it) -----------------------
# try compares $ROOTFS before and after; these rootfses are checked here.
listing_of() { find "$1" -printf '%p %y %s %m %T@ %l\n' | sort; }
mkdir "$T/empty"
try "empty directory as rootfs" "$T/empty has no init /sbin/init" -- "${B[@]}" --rootfs "$T/empty" --init /sbin/init
check_eq "empty directory as rootfs: still empty" "" "$(find "$T/empty" -mindepth 1)"
# An init that exists on the host but not in the rootfs (an absolute symlink
# resolved inside the rootfs, as the box would): no init.
mkdir -p "$T/hostlink/sbin" "$T/hostlink/etc"
printf '#!/bin/sh\n' >"$T/hostinit" && chmod 755 "$T/hostinit"
ln -s "$T/hostinit" "$T/hostlink/sbin/init"
before=$(listing_of "$T/hostlink")
try "init symlink to a path only the host has" "no init /sbin/init" -- "${B[@]}" --rootfs "$T/hostlink" --init /sbin/init
check_eq "init symlink to a host path: rootfs unchanged" "$before" "$(listing_of "$T/hostlink")"
# An init that is not executable, and a mount point that is not a directory.
cp -a "$ROOTFS" "$T/rootfs-noexec"
chmod 644 "$T/rootfs-noexec/sbin/planet-test-init"
before=$(listing_of "$T/rootfs-noexec")
try "init not executable" "init /sbin/planet-test-init is not an executable file" -- "${B[@]}" \
	--rootfs "$T/rootfs-noexec" --init /sbin/planet-test-init
check_eq "init not executable: rootfs unchanged" "$before" "$(listing_of "$T/rootfs-noexec")"
cp -a "$ROOTFS" "$T/rootfs-procfile"
rmdir "$T/rootfs-procfile/proc" && echo x >"$T/rootfs-procfile/proc"
before=$(listing_of "$T/rootfs-procfile")
try "/proc in the rootfs is a file" "/proc is not a directory" -- "${B[@]}" --rootfs "$T/rootfs-procfile"
check_eq "/proc is a file: rootfs unchanged" "$before" "$(listing_of "$T/rootfs-procfile")"

# ---- the enter group is resolved before anything happens -----------------------------
try "enter group that does not exist" "planet-no-such-group" -- "${B[@]}" --enter-group planet-no-such-group
try "monitor group that does not exist" "monitor group \"planet-no-such-group\"" -- "${B[@]}" --enter-monitor-group planet-no-such-group
printf '[box]\nrootfs = %s\n[enter]\ngroup = planet-no-such-group2\n' "$ROOTFS" >"$T/bad-group.conf"
try "enter group in the config file that does not exist" "planet-no-such-group2" -- "${B[@]}" --config "$T/bad-group.conf"

# ---- volumes ---------------------------------------------------------------------
try "volume with an empty field" "$V::ro" -- "${B[@]}" --volume "$V::ro"
try "volume with a relative destination" "relative/dst" -- "${B[@]}" --volume "$V:relative/dst"
try "volume with a relative source" "rel/src" -- "${B[@]}" --volume "rel/src:/mnt/v"
try "volume with an unknown option" "bogusopt" -- "${B[@]}" --volume "$V:/mnt/v:bogusopt"
try "volume with ro and rw" "$V:/mnt/v:ro:rw" -- "${B[@]}" --volume "$V:/mnt/v:ro:rw"
try "volume with a missing source (no skip)" "$T/no-such-src" -- "${B[@]}" --volume "$T/no-such-src:/mnt/v"
try "volume: second entry of a list bad" "bad2opt" -- "${B[@]}" --volume "$V:/mnt/a,$V:/mnt/b:bad2opt"

# ---- devices ---------------------------------------------------------------------
try "device with bad permissions" "rwx" -- "${B[@]}" --device 'path=/dev/null;permissions=rwx'
try "device with a bad fileMode" "0999" -- "${B[@]}" --device 'path=/dev/null;fileMode=0999'
try "device without path" "permissions=rw;uid=0" -- "${B[@]}" --device 'permissions=rw;uid=0'
try "device glob matching nothing (not optional)" "/dev/planet-no-such-dev*" -- "${B[@]}" --device 'path=/dev/planet-no-such-dev*'
try "device with an unknown key" "colour" -- "${B[@]}" --device 'path=/dev/null;colour=blue'
try "device with a bad uid" "uid-abc" -- "${B[@]}" --device 'path=/dev/null;uid=uid-abc'

# ---- env -------------------------------------------------------------------------
try "env list with an unterminated quote" "unterminated123" -- "${B[@]}" --env 'K="unterminated123'
try "env list with a bad key" "1BADKEY" -- "${B[@]}" --env 'GOOD=1,1BADKEY=x'
try "env list entry without =" "JUSTAKEY" -- "${B[@]}" --env 'JUSTAKEY'
try "relative env file" "etc/relative-env" -- "${B[@]}" --env-file etc/relative-env

# ---- dns ---------------------------------------------------------------------------
try "dns host with a bad ip" "999.1.1.1" -- "${B[@]}" --dns-hosts 'ok.test/10.0.0.1,host.test/999.1.1.1'
try "dns host without /ip" "hostonly.test" -- "${B[@]}" --dns-hosts 'hostonly.test'
try "dns zone with a bad nameserver" "not-an-ip" -- "${B[@]}" --dns-zones 'zone.test/not-an-ip'
try "dns zone with a bad zone name" "bad_zone!" -- "${B[@]}" --dns-zones 'bad_zone!/10.0.0.1'

# ---- scalars -----------------------------------------------------------------------
try "bad hostname" "bad_host!" -- "${B[@]}" --hostname 'bad_host!'
long=$(printf 'a%.0s' $(seq 70))
try "hostname longer than 64" "$long" -- "${B[@]}" --hostname "$long"
try "unknown stop signal" "SIGBOGUS" -- "${B[@]}" --stop-signal SIGBOGUS
try "stop signal number out of range" "99" -- "${B[@]}" --stop-signal 99
try "stop timeout not a number" "abc" -- "${B[@]}" --stop-timeout abc
try "negative stop timeout" "-5" -- "${B[@]}" --stop-timeout -5
try "bad on-reboot" "sometimes" -- "${B[@]}" --on-reboot sometimes
try "bad seccomp value" "bogus-seccomp" -- "${B[@]}" --seccomp bogus-seccomp
try "seccomp file that does not exist" "/nonexistent/planet-seccomp.list" -- "${B[@]}" --seccomp /nonexistent/planet-seccomp.list
try "unknown capability" "cap_bogus" -- "${B[@]}" --capabilities 'cap_sys_admin,cap_bogus'
try "bad boolean" "maybe" -- "${B[@]}" --writable-sys=maybe
try "relative init command" "sbin/init" -- "${B[@]}" --init 'sbin/init'
try "init with an unterminated quote" "unterminatedinit" -- "${B[@]}" --init '/bin/sh -c "unterminatedinit'
sockpath=$BAD_STATE/$(printf 's%.0s' $(seq 110)).sock
try "socket path longer than 107 bytes" "$sockpath" -- "${B[@]}" --socket "$sockpath"
try "relative socket path" "rel.sock" -- "${B[@]}" --socket rel.sock
try "relative state dir" "rel-state" -- "${B[@]}" --state-dir rel-state

# ---- command line ------------------------------------------------------------------
try "unknown flag" "--bogus-flag" -- "${B[@]}" --bogus-flag
try "abbreviated flag" "--hostn" -- "${B[@]}" --hostn=x
try "stray argument" "stray-arg" -- "${B[@]}" stray-arg

# ---- PLANET_* variables ------------------------------------------------------------
try "PLANET_HOSTNAME bad" "bad host" PLANET_HOSTNAME='bad host' -- "${B[@]}"
try "PLANET_VOLUME bad" "relative-from-env" PLANET_VOLUME="$V:relative-from-env" -- "${B[@]}"
try "PLANET_ROOTFS nonexistent (no --rootfs)" "$T/env-rootfs-missing" PLANET_ROOTFS="$T/env-rootfs-missing" -- \
	--state-dir "$BAD_STATE" --init /bin/true

# ---- config file -------------------------------------------------------------------
printf '[box]\nrootfs = %s\nbogus_key = 1\n' "$ROOTFS" >"$T/unknown-key.conf"
try "unknown key in the config file" "bogus_key" -- "${B[@]}" --config "$T/unknown-key.conf"
printf '[box]\nhostname = conf_bad!\n' >"$T/bad-value.conf"
try "bad value in the config file" "conf_bad!" -- "${B[@]}" --config "$T/bad-value.conf"
printf '[nosuchsection]\nrootfs = /\n' >"$T/bad-section.conf"
try "unknown section in the config file" "nosuchsection" -- "${B[@]}" --config "$T/bad-section.conf"
printf '[box]\nthis is not ini\n' >"$T/syntax.conf"
try "syntax error in the config file" "$T/syntax.conf" -- "${B[@]}" --config "$T/syntax.conf"
try "config file that does not exist" "$T/no-such.conf" -- "${B[@]}" --config "$T/no-such.conf"
try "PLANET_CONFIG naming a missing file" "$T/no-such-env.conf" PLANET_CONFIG="$T/no-such-env.conf" -- "${B[@]}"

# ---- not bad input, but worth a warning ---------------------------------------------
# A 0700 rootfs (mktemp -d makes them) boots, but no user but root inside can
# reach a file: planet says so before it starts. This init is a script whose
# interpreter does not exist, so the box ends at exec (exit 1) and nothing runs.
mkdir -m 0700 "$T/rootfs-0700"
printf '#!/no/such/interpreter\n' >"$T/rootfs-0700/init" && chmod 755 "$T/rootfs-0700/init"
(timeout -s KILL 10 "${CG_WRAP[@]}" "$PLANET" start --rootfs "$T/rootfs-0700" --state-dir "$T/state-0700" \
	--socket "$T/state-0700/s.sock" --init /init >"$T/out.0700" 2>"$T/err.0700" </dev/null)
check_eq "a 0700 rootfs: the start fails only at exec init (exit 1)" 1 "$?"
check_contains "a 0700 rootfs: a warning naming the mode and the fix" "$(cat "$T/err.0700")" \
	"warning: rootfs $T/rootfs-0700 is mode 0700"
check "a 0700 rootfs: no state dir left" test ! -e "$T/state-0700/state"

finish
