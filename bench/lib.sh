# lib.sh — shared helpers for planet's benchmarks (bash; sourced by bench/*.sh).
#
#   . "$(dirname "$0")/lib.sh"
#   bench_init start            # root check, $PLANET, $WORK, $SHM, cleanup trap
#   need_tools hyperfine:hyperfine runc:runc
#   build_helpers               # $BIN/benchclock (static), $BIN/sdboot
#   on_cleanup "runc --root $RR delete -f x"   # run at exit, last first
#   stats FILE                  # "n median p90 mean min max" of one number per line
#   start_planet_busybox DIR    # a planet box on a busybox rootfs: $SUP, $ST, $SOCK
#   start_lxc_busybox NAME / start_runc_busybox NAME   # a busybox container of each
#   RUNS=$(knob BENCH_X_RUNS 50 5)   # $BENCH_X_RUNS, else 50, or 5 in quick mode
#
# Environment:
#   PLANET      the planet binary (default: ./planet when run from the build
#               directory, as `make bench` does; else planet on PATH)
#   KEEP=1      keep the work directories (for debugging)
#   BENCH_TMP   where the work directory (rootfs copies, bundles) goes
#               (default /var/tmp: on disk, like a real rootfs)
#   BENCH_QUICK=1  quick mode (bench/run.sh --quick; CI): every count and
#               size knob defaults to a small value, so that a whole run
#               proves in a few minutes that every benchmark still works.
#               Its figures are not measurements: never quote them.
# State directories and sockets go to a private directory under /dev/shm
# (tmpfs), as /run would be on a normal Debian host.
# shellcheck shell=bash disable=SC2034

set -u
BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP_SRCDIR=$(cd "$BENCH_DIR/.." && pwd)
CLEANUP_CMDS=()
WORK=
SHM=

say() { printf '%s\n' "$*" >&2; }
die() { say "$BENCH_NAME: $*"; exit 1; }

on_cleanup() { CLEANUP_CMDS+=("$1"); }

# knob VAR FULL QUICK — the value of $VAR if set, else FULL (or QUICK when
# BENCH_QUICK=1).
knob() {
	local v=${!1:-}
	if [ -n "$v" ]; then echo "$v"
	elif [ "${BENCH_QUICK:-0}" = 1 ]; then echo "$3"
	else echo "$2"; fi
}

# wait_cmd CMD... — run CMD and wait for it, interruptibly. bash runs a trap
# only once the foreground child has ended (a whole hyperfine run, a whole
# boot), but a trapped signal does interrupt the `wait` builtin: so long
# commands run through here, and the cleanup stops the one that was running.
FG_PID=
wait_cmd() {
	"$@" &
	FG_PID=$!
	local rc=0
	wait "$FG_PID" || rc=$?
	FG_PID=
	return $rc
}
wait_cmd_stop() {
	[ -n "${FG_PID:-}" ] || return 0
	pkill -TERM -P "$FG_PID" 2>/dev/null
	kill -TERM "$FG_PID" 2>/dev/null
	wait "$FG_PID" 2>/dev/null
	FG_PID=
	sleep 0.5 # let what it ran finish its own teardown
}

bench_cleanup() {
	local rc=$? i
	trap - EXIT INT TERM HUP
	trap '' INT TERM HUP # a second Ctrl-C must not cut the cleanup short
	wait_cmd_stop
	for ((i = ${#CLEANUP_CMDS[@]} - 1; i >= 0; i--)); do
		eval "${CLEANUP_CMDS[i]}" >/dev/null 2>&1 || true
	done
	if [ "${KEEP:-0}" = 1 ]; then
		say "$BENCH_NAME: kept $WORK and $SHM"
	else
		# Never rm through a mount that a container may have left behind.
		[ -n "$WORK" ] && ! grep -q " $WORK/" /proc/self/mountinfo && rm -rf "$WORK"
		[ -n "$SHM" ] && rm -rf "$SHM"
	fi
	exit "$rc"
}

bench_init() {
	BENCH_NAME=$1
	[ "$(id -u)" = 0 ] || { say "$BENCH_NAME: needs root"; exit 1; }
	if [ -z "${PLANET:-}" ]; then
		if [ -x ./planet ] && [ ! -d ./planet ]; then PLANET=$(pwd)/planet
		else PLANET=$(command -v planet || true); fi
	fi
	[ -n "$PLANET" ] && [ -x "$PLANET" ] || die "no planet binary: build it and set PLANET=/path/to/planet"
	case $PLANET in /*) ;; *) PLANET=$(pwd)/$PLANET ;; esac
	unset NOTIFY_SOCKET
	for v in $(env | sed -n 's/^\(PLANET_[A-Z_]*\)=.*/\1/p'); do unset "$v"; done
	WORK=$(mktemp -d "${BENCH_TMP:-/var/tmp}/planet-bench-$BENCH_NAME.XXXXXX")
	SHM=$(mktemp -d "/dev/shm/planet-bench-$BENCH_NAME.XXXXXX")
	BIN=$WORK/bin
	mkdir -p "$BIN"
	trap bench_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	trap 'exit 129' HUP
	[ "${BENCH_QUICK:-0}" = 1 ] && say "$BENCH_NAME: quick mode (BENCH_QUICK=1): a proof that it runs; the figures are not measurements"
	return 0
}

# need_tools CMD:PACKAGE... — apt-get install the packages whose command is missing.
need_tools() {
	local t missing=()
	for t in "$@"; do
		command -v "${t%%:*}" >/dev/null 2>&1 || missing+=("${t#*:}")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	say "$BENCH_NAME: installing ${missing[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >&2 ||
		{ apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >&2; } ||
		die "cannot install ${missing[*]}"
}

build_helpers() {
	need_tools gcc:gcc
	[ -f /usr/lib/x86_64-linux-gnu/libc.a ] || [ -n "$(find /usr/lib -name libc.a -print -quit 2>/dev/null)" ] ||
		need_tools __libc_a__:libc6-dev
	gcc -O2 -static -o "$BIN/benchclock" "$BENCH_DIR/helpers/benchclock.c" || die "cannot build benchclock"
	gcc -O2 -o "$BIN/sdboot" "$BENCH_DIR/helpers/sdboot.c" || die "cannot build sdboot"
}

# mk_busybox DIR — a busybox rootfs (the tests' builder; cached).
mk_busybox() {
	need_tools busybox:busybox-static flock:util-linux
	bash "$TOP_SRCDIR/tests/lib/mkrootfs-busybox.sh" "$1" >/dev/null || die "cannot build the busybox rootfs"
}

# stats FILE — n median p90 mean min max (nearest-rank p90) of a column of numbers.
stats() {
	sort -g "$1" | awk '
	{ v[NR] = $1; s += $1 }
	END {
		n = NR
		if (n == 0) { print "0 - - - - -"; exit }
		med = (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
		k = int(0.9 * n); if (k < 0.9 * n) k++; if (k < 1) k = 1
		printf "%d %.3f %.3f %.3f %.3f %.3f\n", n, med, v[k], s / n, v[1], v[n]
	}'
}

# ratio A B — A/B with 2 decimals
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "-"; else printf "%.2f\n", a / b }'; }

# hyperfine_table JSON — name, mean, median, p90, min, max (ms) and ratio of
# each median to the first command's (or to REF_NAME's when given).
hyperfine_table() {
	local json=$1 ref=${2:-}
	python3 - "$json" "$ref" <<'EOF'
import json, math, sys
res = json.load(open(sys.argv[1]))["results"]
ref = sys.argv[2]
def q(ts, p):
    s = sorted(ts); k = max(1, math.ceil(p * len(s))); return s[k - 1]
def med(ts):
    s = sorted(ts); n = len(s)
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2
base = None
for r in res:
    if (ref and r["command"] == ref) or (not ref and base is None):
        base = med(r["times"])
print("%-28s %5s %9s %9s %9s %9s %9s %8s" % ("command", "runs", "mean", "median", "p90", "min", "max", "ratio"))
for r in res:
    t = r["times"]; m = med(t)
    print("%-28s %5d %9.2f %9.2f %9.2f %9.2f %9.2f %8.2f" % (r["command"][:28], len(t), 1e3 * r["mean"],
          1e3 * m, 1e3 * q(t, 0.9), 1e3 * min(t), 1e3 * max(t), m / base))
print("(times in ms; ratio = median / median of %s)" % (ref or res[0]["command"]))
EOF
}

# supervisor_init_pid SUP_PID — the child of SUP_PID that is PID 1 in its namespace.
supervisor_init_pid() {
	local p
	for p in $(pgrep -P "$1"); do
		if awk '/^NSpid:/ { exit !($NF == 1 && NF > 2) }' "/proc/$p/status" 2>/dev/null; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

# wait_for SEC CMD... — poll every 20 ms
wait_for() {
	local end=$(($(date +%s%N) + $1 * 1000000000))
	shift
	until "$@" >/dev/null 2>&1; do
		[ "$(date +%s%N)" -lt "$end" ] || return 1
		sleep 0.02
	done
}

# stop_pid PID [SEC] — SIGTERM, then SIGKILL after SEC (default 10) seconds.
stop_pid() {
	local pid=$1 n=$((${2:-10} * 50))
	kill -0 "$pid" 2>/dev/null || return 0
	kill -TERM "$pid" 2>/dev/null
	while kill -0 "$pid" 2>/dev/null && [ $n -gt 0 ]; do sleep 0.02; n=$((n - 1)); done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

# ctxsw PID — voluntary + involuntary context switches of every thread of PID.
ctxsw() {
	cat /proc/"$1"/task/*/status 2>/dev/null |
		awk '/^(voluntary|nonvoluntary)_ctxt_switches:/ { s += $2 } END { print s + 0 }'
}

# rss_kib PID [FIELD] — VmRSS (or RssAnon, RssFile...) in KiB.
rss_kib() { awk -v f="${2:-VmRSS}:" '$1 == f { print $2 }' "/proc/$1/status"; }

machine_line() {
	printf 'machine: %s cores, %s, kernel %s, %s; load average at start: %s\n' \
		"$(nproc)" "$(. /etc/os-release && echo "$PRETTY_NAME") ($(cat /etc/debian_version 2>/dev/null))" \
		"$(uname -r)" "$(awk '/MemTotal/ { printf "%.0f GiB RAM", $2 / 1048576 }' /proc/meminfo)" \
		"$(cut -d' ' -f1-3 /proc/loadavg)"
}

# start_planet_busybox DIR — a planet box on a busybox rootfs built in DIR:
# supervisor SUP (log $WORK/planet.log), state dir ST=$SHM/state, enter
# socket SOCK; returns once init runs and SOCK listens; stopped at cleanup.
start_planet_busybox() {
	mk_busybox "$1"
	ST=$SHM/state
	SOCK=$ST/enter.sock
	"$PLANET" start --rootfs "$1" --state-dir "$ST" --socket "$SOCK" --stop-timeout 5 >"$WORK/planet.log" 2>&1 &
	SUP=$!
	on_cleanup "stop_pid $SUP 10"
	wait_for 5 grep -q '^init_pid=' "$ST/state" || { cat "$WORK/planet.log"; die "planet box did not come up"; }
	wait_for 5 test -S "$SOCK" || { cat "$WORK/planet.log"; die "no enter socket $SOCK"; }
}

# start_lxc_busybox NAME — an LXC container NAME on its own copy of the
# busybox rootfs ($WORK/rootfs-lxc), busybox init as PID 1, no network,
# started with lxc-start -d under its own lxcpath LXCPATH=$WORK/lxc;
# stopped and its leftovers removed at cleanup.
start_lxc_busybox() {
	local name=$1 root=$WORK/rootfs-lxc
	LXCPATH=$WORK/lxc
	mk_busybox "$root"
	mkdir -p "$LXCPATH/$name"
	cat >"$LXCPATH/$name/config" <<EOF
lxc.uts.name = $name
lxc.rootfs.path = dir:$root
lxc.init.cmd = /sbin/init
lxc.net.0.type = empty
lxc.mount.auto = proc:mixed sys:mixed cgroup:mixed
lxc.autodev = 1
lxc.tty.max = 0
lxc.pty.max = 16
lxc.console.path = none
lxc.apparmor.profile = unconfined
EOF
	# LXC leaves an empty lxc.pivot cgroup in every hierarchy; remove it if it is ours.
	if ! ls -d /sys/fs/cgroup/*/lxc.pivot /sys/fs/cgroup/lxc.pivot >/dev/null 2>&1; then
		on_cleanup 'for d in /sys/fs/cgroup/*/lxc.pivot /sys/fs/cgroup/lxc.pivot; do [ -d "$d" ] && rmdir "$d"; done'
	fi
	on_cleanup "lxc-stop -P '$LXCPATH' -n $name -k; lxc-stop -P '$LXCPATH' -n $name -k"
	lxc-start -P "$LXCPATH" -n "$name" -d -l INFO -o "$WORK/lxc.log" ||
		{ tail -n 30 "$WORK/lxc.log"; die "lxc-start failed"; }
	lxc-wait -P "$LXCPATH" -n "$name" -s RUNNING -t 10 || die "lxc container not running"
}

# start_runc_busybox NAME — a runc container NAME (`runc run -d` of a
# `runc spec` bundle in $WORK/bundle: root = its own busybox rootfs copy,
# terminal false, /sbin/init, no network namespace) under RR=$SHM/runc-root;
# deleted at cleanup.
start_runc_busybox() {
	local name=$1 b=$WORK/bundle root=$WORK/rootfs-runc
	RR=$SHM/runc-root
	mk_busybox "$root"
	mkdir -p "$RR" "$b"
	(cd "$b" && runc spec) || die "runc spec failed"
	python3 - "$b/config.json" "$root" <<'EOF'
import json, sys
p, root = sys.argv[1], sys.argv[2]
c = json.load(open(p))
c["root"] = {"path": root, "readonly": False}
c["process"]["terminal"] = False
c["process"]["args"] = ["/sbin/init"]
c["linux"]["namespaces"] = [n for n in c["linux"]["namespaces"] if n["type"] != "network"]
json.dump(c, open(p, "w"), indent=1)
EOF
	on_cleanup "runc --root '$RR' delete -f $name"
	runc --root "$RR" run -d -b "$b" "$name" </dev/null >"$WORK/runc.log" 2>&1 ||
		{ cat "$WORK/runc.log"; die "runc run -d failed"; }
}
