# lib.sh — shared helpers for planet's integration tests (bash; sourced).
#
# A test starts like this (make check runs it with /bin/sh, hence the re-exec):
#
#   #!/bin/bash
#   [ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
#   set -u
#   . "$(dirname "$0")/../lib/lib.sh"     # sets everything below up
#   box_start --hostname demo
#   check_eq "hostname" demo "$(in_box hostname)"
#   box_stop; check_eq "SIGTERM -> exit 0" 0 "$BOX_STATUS"
#   assert_nothing_left
#   finish
#
# Sourcing does the set-up: skips (exit 77, with a reason line) when not root
# or when a needed tool is missing; fails when $PLANET is not executable;
# creates T=$(mktemp -d /tmp/planet-t.XXXXXX) and ROOTFS=$T/rootfs (a busybox
# rootfs from mkrootfs-busybox.sh); sets STATE=$T/state, SOCK=$STATE/enter.sock;
# installs a cleanup trap (EXIT INT TERM); creates the test's own cgroup
# <own cgroup>/planet-t.XXXXXX in every hierarchy (TEST_CGS) in which the
# supervisors are started, so each box's cgroup lands below it (as under a
# systemd unit with Delegate=yes) and nothing else on the host is in the way.
#
# Environment: PLANET (the binary; default $TOP_BUILDDIR/planet),
# TOP_SRCDIR/TOP_BUILDDIR (from make check; optional), KEEP=1 keeps $T,
# BOX_START_TIMEOUT (default 5 s). PLANET_* variables of the caller are unset
# so they cannot leak into the boxes.
#
# Variables:  TEST_NAME T ROOTFS STATE SOCK        (ROOTFS/STATE/SOCK may be
#             changed by the test; box_start uses their current values)
#             SUP_PID INIT_PID BOX_ID BOX_LOG      (set by box_start)
#             BOX_STATUS BOX_ELAPSED              (set by box_wait/box_stop:
#                exit status or "timeout"; seconds, e.g. 1.234)
#             BOX_WRAP=(cmd ...)   optional prefix for the planet command line
#                (e.g. unshare ...); must exec planet so SUP_PID stays right.
#             CG_PATHS=(...)       every cgroup path any box of this test
#                recorded in its state file (kept for assert_nothing_left).
#             BOX_CGROUP=1         start supervisors in TEST_CGS (default); 0:
#                in the test shell's own cgroup (boxes then go to /planet/...)
#             TEST_CGS=(...)  CG_WRAP=(...)   the test cgroup dirs, and a
#                command prefix that moves the process it execs into them.
#
# Box control:
#   box_start ARGS...       `planet start --rootfs $ROOTFS --state-dir $STATE
#                           --socket $SOCK --init $BOX_INIT ARGS` in the
#                           background (ARGS may give another --init), output to
#                           $BOX_LOG; waits until the state file names
#                           init_pid (and our SUP_PID). Fails the test (and
#                           ends it) with the log when the box does not come up.
#   box_try_start ARGS...   same, but returns 1 (BOX_STATUS set) when planet
#                           exited, 2 when it neither came up nor exited.
#   box_wait [SEC]          wait for the supervisor to exit (default 20 s);
#                           sets BOX_STATUS ("timeout" if it did not).
#   box_stop [SIG] [SEC]    signal the supervisor (default TERM) and box_wait.
#   box_refresh             re-read the state file (after a restart in place).
#   state_get KEY [FILE]    first value of KEY in the state file.
#   box_cg_parent MOUNTPOINT  the dir a box cgroup should be created in there.
#   in_box CMD...           run CMD in all of init's namespaces (nsenter -a).
#   box_mnt PATH            "opts|optional-fields|fstype|source|superopts" of
#                           the top mount at PATH as init sees it ("" if none).
# Checks (each prints one "ok - ..." or "FAIL - ..." line; details follow as
# "#   " lines):
#   pass DESC | fail DESC [DETAIL...]
#   check DESC CMD...           CMD exits 0
#   check_not DESC CMD...       CMD exits non-zero
#   check_eq DESC EXPECTED ACTUAL
#   check_contains DESC HAYSTACK NEEDLE     (fixed string)
#   check_not_contains DESC HAYSTACK NEEDLE
#   check_match DESC ERE ACTUAL
#   assert_nothing_left [PREFIX]   no mount mentions $T (except test_mount
#                           ones), no process in a box's namespaces or with
#                           root/cwd in a rootfs, no state/lock/socket file,
#                           every recorded cgroup dir gone, supervisor gone.
#   finish                  print "NAME: N passed, M failed" and exit 0/1.
# Utilities:
#   wait_for SEC CMD...     poll CMD every 20 ms until it succeeds (status 1 on timeout)
#   pid_alive PID [START]   running (not a zombie), same start time if given
#   lib_box_pids [cwd]      pids still belonging to a box of this test (see there)
#   test_mount ARGS...      `mount ARGS` for the test's own use (last arg is the
#                           mount point), remembered for cleanup and ignored
#                           by assert_nothing_left
#   host_snapshot FILE / host_diff FILE   the host's mounts (except other
#                           tests' /tmp/planet-t.*) and every cgroup dir below
#                           TEST_CGS; host_diff prints what changed and returns
#                           1 if anything did.
#   skip REASON             exit 77
#   now                     $EPOCHREALTIME
# shellcheck shell=bash disable=SC2034,SC2086

if [ -z "${BASH_VERSION:-}" ]; then
	echo "lib.sh needs bash" >&2
	exit 99
fi

LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TEST_NAME=${TEST_NAME:-$(basename "$0" .sh)}
PASSED=0
FAILED=0
SUP_PID=
SUP_START=
INIT_PID=
INIT_START=
BOX_ID=
BOX_LOG=
BOX_STATUS=
BOX_ELAPSED=
BOX_N=0
BOX_WRAP=()
# The default init: busybox init through a path that exists only in the test
# rootfs (see mkrootfs-busybox.sh): if planet ever execs init without having
# entered the rootfs, this fails instead of booting the host's systemd on the
# host. A test's own --init comes later on the command line and wins.
BOX_INIT=/sbin/planet-test-init
CG_PATHS=()
SUP_PIDS=()
TRACK_BOXES=()  # "INIT_PID INIT_START PIDNS_INODE" of every box seen
TEST_CGS=()     # the test's own cgroup dir in every hierarchy (see lib_setup)
CG_WRAP=()      # command prefix that moves the next exec into TEST_CGS
ROOTFS_USED=()
TEST_MOUNTS=()
T=

# Never let the caller's PLANET_* configuration leak into a box.
for _v in $(compgen -e); do
	case $_v in PLANET_*) unset "$_v" ;; esac
done
unset _v
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

now() { echo "$EPOCHREALTIME"; }

skip() {
	echo "SKIP: $TEST_NAME: $*"
	echo "$TEST_NAME: skipped ($*)"
	exit 77
}

require_root() {
	[ "$(id -u)" = 0 ] || skip "needs root (boots a real container)"
}

pass() {
	PASSED=$((PASSED + 1))
	echo "ok - $1"
}

fail() {
	FAILED=$((FAILED + 1))
	echo "FAIL - $1"
	shift
	local l
	for l in "$@"; do
		printf '%s\n' "$l" | sed 's/^/#   /'
	done
}

check() {
	local d=$1 out rc
	shift
	out=$("$@" 2>&1)
	rc=$?
	if [ $rc = 0 ]; then pass "$d"; else fail "$d" "command: $* (exit $rc)" "$out"; fi
}

check_not() {
	local d=$1 out rc
	shift
	out=$("$@" 2>&1)
	rc=$?
	if [ $rc != 0 ]; then pass "$d"; else fail "$d" "command unexpectedly succeeded: $*" "$out"; fi
}

check_eq() {
	if [ "$2" = "$3" ]; then pass "$1"; else fail "$1" "expected: $2" "observed: $3"; fi
}

check_contains() {
	case $2 in
	*"$3"*) pass "$1" ;;
	*) fail "$1" "expected to contain: $3" "observed: $2" ;;
	esac
}

check_not_contains() {
	case $2 in
	*"$3"*) fail "$1" "expected NOT to contain: $3" "observed: $2" ;;
	*) pass "$1" ;;
	esac
}

check_match() {
	if [[ $3 =~ $2 ]]; then pass "$1"; else fail "$1" "expected to match: $2" "observed: $3"; fi
}

finish() {
	trap - EXIT
	if [ "$FAILED" != 0 ] && [ -n "$T" ] && [ -d "$T" ]; then
		local f
		for f in "$T"/console-*.log; do
			[ -f "$f" ] || continue
			echo "# --- ${f##*/} (last 15 lines) ---"
			tail -n 15 "$f" | sed 's/^/#   /'
		done
	fi
	lib_cleanup
	echo "$TEST_NAME: $PASSED passed, $FAILED failed"
	[ "$FAILED" = 0 ] && exit 0
	exit 1
}

wait_for() {
	local sec=$1
	shift
	local end=$((${EPOCHREALTIME/./} + sec * 1000000))
	while :; do
		"$@" >/dev/null 2>&1 && return 0
		[ "${EPOCHREALTIME/./}" -ge "$end" ] && return 1
		sleep 0.02
	done
}

# elapsed seconds since a `now` value, e.g. 1.234
elapsed_since() {
	local d=$((${EPOCHREALTIME/./} - ${1/./}))
	printf '%d.%03d' $((d / 1000000)) $((d % 1000000 / 1000))
}

# Start time (clock ticks since boot) of a pid, "" if it does not exist.
pid_start() {
	local s
	s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	s=${s##*) }
	# after "comm) ": field 3 is state ... field 22 is starttime
	set -- $s
	echo "${20}"
}

# pid_alive PID [STARTTIME]: exists, not a zombie, same process if START given.
pid_alive() {
	local s st
	[ -n "${1:-}" ] || return 1
	s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	s=${s##*) }
	# shellcheck disable=SC2086
	set -- "$1" "${2:-}" $s
	st=$3
	[ "$st" = Z ] && return 1
	[ "$st" = X ] && return 1
	if [ -n "$2" ] && [ "$2" != "${22}" ]; then return 1; fi
	return 0
}

state_get() {
	local f=${2:-$STATE/state}
	sed -n "s/^$1=//p" "$f" 2>/dev/null | head -n 1
}

in_box() {
	nsenter -t "$INIT_PID" -a -r -w -- "$@"
}

# box_mnt PATH: the top-most mount at PATH in init's mount table.
box_mnt() {
	awk -v mp="$1" '
	{
		p = $5; gsub(/\\040/, " ", p)
		if (p != mp) next
		opt = ""; i = 7
		while ($i != "-") { opt = opt (opt == "" ? "" : " ") $i; i++ }
		line = $6 "|" opt "|" $(i + 1) "|" $(i + 2) "|" $(i + 3)
	}
	END { print line }' "/proc/${INIT_PID}/mountinfo" 2>/dev/null
}

# test_mount ARGS... (last argument is the mount point)
test_mount() {
	mount "$@" || return 1
	TEST_MOUNTS+=("${!#}")
}

# ---- boxes -----------------------------------------------------------------

# Remember what a running box is made of, so cleanup and assert_nothing_left
# find it even after planet forgot it.
box_track() {
	local p ns c known
	BOX_ID=$(state_get box_id)
	INIT_START=$(pid_start "$INIT_PID")
	p=$(stat -L -c %i "/proc/$INIT_PID/ns/pid" 2>/dev/null)
	[ -n "$p" ] && [ "$p" != "$(stat -L -c %i /proc/self/ns/pid)" ] &&
		TRACK_BOXES+=("$INIT_PID $INIT_START $p")
	while IFS= read -r c; do
		[ -n "$c" ] || continue
		known=0
		for p in "${CG_PATHS[@]}"; do [ "$p" = "$c" ] && known=1; done
		[ $known = 1 ] || CG_PATHS+=("$c")
	done < <(sed -n 's/^cgroup=//p' "$STATE/state" 2>/dev/null)
}

box_refresh() {
	INIT_PID=$(state_get init_pid)
	box_track
}

sup_running() { pid_alive "$SUP_PID" "$SUP_START"; }

box_try_start() {
	local t0 end ip sp
	BOX_N=$((BOX_N + 1))
	BOX_LOG=$T/console-$BOX_N.log
	INIT_PID='' BOX_ID='' BOX_STATUS='' INIT_START=''
	echo "# box $BOX_N: planet start --rootfs $ROOTFS --state-dir $STATE --socket $SOCK --init $BOX_INIT $*" >"$T/cmd-$BOX_N"
	t0=$(now)
	local cgw=()
	[ "${BOX_CGROUP:-1}" = 1 ] && cgw=("${CG_WRAP[@]}")
	"${BOX_WRAP[@]}" "${cgw[@]}" env --default-signal=INT,QUIT,TERM,HUP \
		"$PLANET" start --rootfs "$ROOTFS" --state-dir "$STATE" --socket "$SOCK" \
		--init "$BOX_INIT" "$@" \
		>"$BOX_LOG" 2>&1 </dev/null &
	SUP_PID=$!
	SUP_START=$(pid_start "$SUP_PID")
	SUP_PIDS+=("$SUP_PID")
	ROOTFS_USED+=("$ROOTFS")
	end=$((${EPOCHREALTIME/./} + ${BOX_START_TIMEOUT:-5} * 1000000))
	while :; do
		if [ -r "$STATE/state" ]; then
			sp=$(state_get supervisor_pid)
			ip=$(state_get init_pid)
			if [ "$sp" = "$SUP_PID" ] && [ -n "$ip" ] && pid_alive "$ip"; then
				INIT_PID=$ip
				box_track
				BOX_ELAPSED=$(elapsed_since "$t0")
				return 0
			fi
		fi
		if ! sup_running; then
			wait "$SUP_PID" 2>/dev/null
			BOX_STATUS=$?
			BOX_ELAPSED=$(elapsed_since "$t0")
			return 1
		fi
		[ "${EPOCHREALTIME/./}" -ge "$end" ] && return 2
		sleep 0.01
	done
}

box_start() {
	local rc
	box_try_start "$@"
	rc=$?
	[ $rc = 0 ] && return 0
	if [ $rc = 1 ]; then
		fail "box $BOX_N came up (planet start $*)" "planet exited with status $BOX_STATUS before init_pid was in $STATE/state" "$(cat "$BOX_LOG")"
	else
		fail "box $BOX_N came up (planet start $*)" "no init_pid in $STATE/state after ${BOX_START_TIMEOUT:-5} s" "state: $(cat "$STATE/state" 2>&1)" "$(cat "$BOX_LOG")"
	fi
	finish
}

box_wait() {
	local sec=${1:-20} end
	end=$((${EPOCHREALTIME/./} + sec * 1000000))
	while sup_running; do
		if [ "${EPOCHREALTIME/./}" -ge "$end" ]; then
			BOX_STATUS=timeout
			return 1
		fi
		sleep 0.01
	done
	wait "$SUP_PID" 2>/dev/null
	BOX_STATUS=$?
	return 0
}

box_stop() {
	local sig=${1:-TERM} t0
	t0=$(now)
	kill -s "$sig" "$SUP_PID" 2>/dev/null
	box_wait "${2:-20}"
	local rc=$?
	BOX_ELAPSED=$(elapsed_since "$t0")
	return $rc
}

# ---- what is left ----------------------------------------------------------

# Pids of processes that belong to a box of this test: in the pid namespace
# of a box whose init still runs (a pid namespace dies with its init; checking
# only live ones also keeps a recycled namespace inode from pointing at someone
# else's box), in the test's own cgroups (supervisors and their boxes), or with
# their root (or cwd, with "cwd") inside $T / a rootfs used by a box.
lib_box_pids() {
	local want_cwd=${1:-} pid kind target p r b ip st ns d
	declare -A live=()
	for b in "${TRACK_BOXES[@]}"; do
		read -r ip st ns <<<"$b"
		pid_alive "$ip" "$st" && live[$ns]=1
	done
	{
		if [ ${#live[@]} -gt 0 ]; then
			stat -L -c '%n %i' /proc/[0-9]*/ns/pid 2>/dev/null |
				sed -E 's#^/proc/([0-9]+)/ns/pid #\1 ns #'
		fi
		find /proc/[0-9]*/root /proc/[0-9]*/cwd -maxdepth 0 -printf '%p %l\n' 2>/dev/null |
			sed -E 's#^/proc/([0-9]+)/(root|cwd) #\1 \2 #'
		for d in "${TEST_CGS[@]}"; do
			[ -d "$d" ] && find "$d" -name cgroup.procs -exec cat {} + 2>/dev/null | sed 's/$/ cg x/'
		done
	} | while read -r pid kind target; do
		[ "$pid" = $$ ] && continue
		[ "$pid" = "$BASHPID" ] && continue
		case $kind in
		cg) echo "$pid" ;;
		ns) [ -n "${live[$target]:-}" ] && echo "$pid" ;;
		root | cwd)
			[ "$kind" = cwd ] && [ -z "$want_cwd" ] && continue
			r=0
			if [ "$kind" = root ]; then
				case $target in "$T" | "$T"/*) r=1 ;; esac
			fi
			for p in "${ROOTFS_USED[@]}"; do
				case $target in "$p" | "$p"/*) r=1 ;; esac
			done
			[ $r = 1 ] && echo "$pid"
			;;
		esac
	done | sort -un
}

# Mount points (host view) under $T, deepest last in mount order.
lib_mounts_under_t() {
	[ -n "$T" ] || return 0
	awk -v t="$T" '{ p = $5; gsub(/\\040/, " ", p); if (p == t || index(p, t "/") == 1) print p }' /proc/self/mountinfo
}

# Every cgroup path known: recorded ones plus those in any state file under $T.
lib_all_cgroups() {
	local c
	for c in "${CG_PATHS[@]}"; do echo "$c"; done
	[ -n "$T" ] && [ -d "$T" ] &&
		find "$T" -xdev -maxdepth 3 -name state -type f -exec sed -n 's/^cgroup=//p' {} + 2>/dev/null
}

lib_cleanup() {
	local p c pids i mp
	[ -n "$T" ] || return 0
	[ -d "$T" ] || return 0
	for p in "${SUP_PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
	for i in 1 2 3 4 5; do
		pids=$(
			lib_box_pids
			lib_all_cgroups | sort -u | while read -r c; do
				case $c in /sys/fs/cgroup/*) ;; *) continue ;; esac
				[ -d "$c" ] && find "$c" -name cgroup.procs -exec cat {} + 2>/dev/null
			done
		)
		pids=$(echo "$pids" | grep -vx -e "$$" -e '' | sort -un)
		[ -n "$pids" ] || break
		# shellcheck disable=SC2086
		kill -KILL $pids 2>/dev/null
		sleep 0.1
	done
	for p in "${SUP_PIDS[@]}"; do wait "$p" 2>/dev/null; done
	for i in 1 2 3 4 5; do
		mp=$(lib_mounts_under_t | tac)
		[ -n "$mp" ] || break
		while IFS= read -r p; do umount -l "$p" 2>/dev/null; done <<<"$mp"
	done
	lib_all_cgroups | sort -u | while read -r c; do
		case $c in /sys/fs/cgroup/?*/?*) ;; *) continue ;; esac
		case $c in *..*) continue ;; esac
		[ -d "$c" ] || continue
		for i in 1 2 3 4 5 6 7 8 9 10; do
			find "$c" -depth -type d -exec rmdir {} + 2>/dev/null
			[ -d "$c" ] || break
			sleep 0.1
		done
	done
	for c in "${TEST_CGS[@]}"; do
		[ -d "$c" ] || continue
		for i in 1 2 3 4 5 6 7 8 9 10; do
			find "$c" -depth -type d -exec rmdir {} + 2>/dev/null
			[ -d "$c" ] || break
			# shellcheck disable=SC2038
			find "$c" -name cgroup.procs -exec cat {} + 2>/dev/null | xargs -r kill -KILL 2>/dev/null
			sleep 0.1
		done
	done
	if [ -n "${KEEP:-}" ]; then
		echo "# KEEP set: test directory left at $T"
	elif [ -n "$(lib_mounts_under_t)" ]; then
		echo "# WARNING: mounts remain under $T, not removing it:"
		lib_mounts_under_t | sed 's/^/#   /'
	else
		rm -rf --one-file-system "$T"
	fi
}

assert_nothing_left() {
	local pre=${1:-after the box ended} m left=() mp ok c p gone
	# mounts
	m=$(lib_mounts_under_t)
	if [ -n "$m" ]; then
		while IFS= read -r mp; do
			ok=0
			for p in "${TEST_MOUNTS[@]}"; do [ "$mp" = "$p" ] && ok=1; done
			[ $ok = 1 ] || left+=("$mp")
		done <<<"$m"
	fi
	if [ ${#left[@]} = 0 ]; then
		pass "$pre: no mount under $T left on the host"
	else
		fail "$pre: no mount under $T left on the host" "${left[@]}"
	fi
	# processes
	m=$(lib_box_pids cwd)
	if [ -z "$m" ]; then
		pass "$pre: no process left in a box's namespaces or rootfs"
	else
		fail "$pre: no process left in a box's namespaces or rootfs" \
			"$(for p in $m; do echo "$p: $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)"; done)"
	fi
	gone=1
	for p in "${SUP_PIDS[@]}"; do sup_running_pid "$p" && gone=0; done
	if [ $gone = 1 ]; then pass "$pre: supervisor process gone"; else fail "$pre: supervisor process gone" "still running: ${SUP_PIDS[*]}"; fi
	# state dir
	left=()
	for p in "$STATE/state" "$STATE/lock" "$SOCK"; do
		[ -e "$p" ] || [ -L "$p" ] && left+=("$p")
	done
	if [ -d "$STATE" ]; then
		while IFS= read -r p; do [ -n "$p" ] && left+=("$p"); done < <(find "$STATE" -mindepth 1 \( -type s -o -name 'state*' -o -name '*.lock' -o -name lock \) 2>/dev/null)
	fi
	if [ ${#left[@]} = 0 ]; then
		pass "$pre: no state, lock or socket file left"
	else
		fail "$pre: no state, lock or socket file left" "$(printf '%s\n' "${left[@]}" | sort -u)"
	fi
	# cgroups
	left=()
	for c in "${CG_PATHS[@]}"; do [ -e "$c" ] && left+=("$c"); done
	if [ ${#CG_PATHS[@]} = 0 ]; then
		fail "$pre: every cgroup dir of the box removed" "no cgroup= line was ever seen in a state file"
	elif [ ${#left[@]} = 0 ]; then
		pass "$pre: every cgroup dir of the box removed (${#CG_PATHS[@]} recorded)"
	else
		fail "$pre: every cgroup dir of the box removed" "${left[@]}"
	fi
}

# true while a supervisor pid from this test still runs (not a zombie).
sup_running_pid() {
	local s
	s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	s=${s##*) }
	case $s in Z* | X*) return 1 ;; esac
	# Only ours: its parent is this shell.
	set -- $s
	[ "$2" = $$ ]
}

# ---- host snapshots (for "nothing touched") --------------------------------

# "mountpoint<TAB>own cgroup path" for every cgroup hierarchy this shell is in.
lib_cg_roots() {
	awk '
	FNR == NR {
		# /proc/self/mountinfo
		for (i = 7; $i != "-"; i++) ;
		if ($(i + 1) != "cgroup" && $(i + 1) != "cgroup2") next
		mp[++n] = $5; type[n] = $(i + 1); so[n] = "," $(i + 3) ","
		next
	}
	{
		# /proc/self/cgroup  id:ctrls:path
		split($0, f, ":"); ctrls = f[2]; path = substr($0, length(f[1]) + length(f[2]) + 3)
		for (k = 1; k <= n; k++) {
			if (ctrls == "") { if (type[k] != "cgroup2") continue }
			else {
				if (type[k] != "cgroup") continue
				m = split(ctrls, c, ","); all = 1
				for (j = 1; j <= m; j++) if (index(so[k], "," c[j] ",") == 0) all = 0
				if (!all) continue
			}
			print mp[k] "\t" path
			break
		}
	}' /proc/self/mountinfo /proc/self/cgroup
}

host_snapshot() {
	local f=$1 base
	{
		awk '{ for (i = 7; $i != "-"; i++) ; print "mount " $5 " " $(i + 1) " " $(i + 2) }' /proc/self/mountinfo |
			grep -v -E ' /tmp/planet-t\.' | sort
		grep -E " $T(/| )" /proc/self/mountinfo | awk '{ for (i = 7; $i != "-"; i++) ; print "mount " $5 " " $(i + 1) " " $(i + 2) }' | sort
		for base in "${TEST_CGS[@]}"; do
			[ -d "$base" ] && find "$base" -mindepth 1 -maxdepth 4 -type d 2>/dev/null
		done | sed 's/^/cgroup /' | sort
	} >"$f"
}

host_diff() {
	local f=$1 cur
	cur=$(mktemp "$T/snap.XXXXXX")
	host_snapshot "$cur"
	if diff "$f" "$cur" >"$cur.diff"; then
		rm -f "$cur" "$cur.diff"
		return 0
	fi
	grep -E '^[<>]' "$cur.diff" | sed -e 's/^</gone:/' -e 's/^>/new:/'
	rm -f "$cur" "$cur.diff"
	return 1
}

# ---- set-up ----------------------------------------------------------------

# The test's own cgroup, <own cgroup>/planet-t.XXXXXX in every hierarchy:
# supervisors are started in it (CG_WRAP), so their boxes' cgroups land below
# it, as under a systemd unit with Delegate=yes, away from any other box on
# the host. The test shell itself stays where it is.
lib_make_test_cgroups() {
	local mp own parent d f
	while IFS=$'\t' read -r mp own; do
		parent=$mp${own%/}
		d=$parent/${T##*/}
		mkdir "$d" 2>/dev/null || continue
		for f in cpuset.cpus cpuset.mems; do
			[ -f "$d/$f" ] && cat "$parent/$f" >"$d/$f" 2>/dev/null
		done
		TEST_CGS+=("$d")
	done < <(lib_cg_roots)
	if [ ${#TEST_CGS[@]} -gt 0 ]; then
		# shellcheck disable=SC2016
		CG_WRAP=(sh -c 'while [ "$1" != -- ]; do echo $$ >"$1/cgroup.procs" || exit 125; shift; done; shift; exec "$@"' sh "${TEST_CGS[@]}" --)
	fi
}

# The cgroup a box's cgroup should be created in, for the hierarchy mounted at
# MOUNTPOINT: the test cgroup when the supervisor was started in it
# (BOX_CGROUP=1, the default), else the test shell's own cgroup, or /planet
# below it when that is the root.
box_cg_parent() {
	local mp own d
	if [ "${BOX_CGROUP:-1}" = 1 ]; then
		for d in "${TEST_CGS[@]}"; do
			case $d in "$1"/*) echo "$d"; return ;; esac
		done
	fi
	while IFS=$'\t' read -r mp own; do
		[ "$mp" = "$1" ] || continue
		if [ "$own" = / ]; then echo "$mp/planet"; else echo "$mp$own"; fi
		return
	done < <(lib_cg_roots)
}

lib_setup() {
	local t
	require_root
	for t in nsenter unshare flock find stat awk timeout; do
		command -v "$t" >/dev/null 2>&1 || skip "needs $t"
	done
	[ -x /bin/busybox ] || skip "needs /bin/busybox (apt-get install busybox-static)"
	if [ -z "${PLANET:-}" ]; then
		if [ -n "${TOP_BUILDDIR:-}" ]; then PLANET=$TOP_BUILDDIR/planet; else PLANET=$LIB_DIR/../../planet; fi
	fi
	if [ ! -x "$PLANET" ]; then
		echo "FAIL - planet binary at \$PLANET=$PLANET is not executable"
		echo "$TEST_NAME: 0 passed, 1 failed"
		exit 1
	fi
	T=$(mktemp -d /tmp/planet-t.XXXXXX) || exit 99
	chmod 0755 "$T"
	trap 'lib_cleanup' EXIT
	trap 'echo "# interrupted"; lib_cleanup; trap - EXIT; exit 130' INT
	trap 'echo "# terminated"; lib_cleanup; trap - EXIT; exit 143' TERM
	lib_make_test_cgroups
	ROOTFS=$T/rootfs
	STATE=$T/state
	SOCK=$STATE/enter.sock
	if ! sh "$LIB_DIR/mkrootfs-busybox.sh" "$ROOTFS" >"$T/mkrootfs.log" 2>&1; then
		echo "FAIL - build the busybox rootfs"
		sed 's/^/#   /' "$T/mkrootfs.log"
		echo "$TEST_NAME: 0 passed, 1 failed"
		exit 1
	fi
	echo "# $TEST_NAME: planet=$PLANET dir=$T"
}

lib_setup
