#!/bin/bash
# bench/systemd.sh — issue 4 "Speed": a Debian systemd boots to running and
# halts, under planet and under systemd-nspawn, side by side.
#
#   sudo PLANET=/path/to/planet bench/systemd.sh
#
# Rootfs: debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus,
# iproute2,procps bookworm — $BENCH_DEBIAN_ROOTFS, else the cached
# /var/cache/planet-tests/debian-probe, else the system tests' cache
# (tests/system/mkrootfs-debian.sh builds it). Never written: each manager gets
# its own `cp -a` copy, booted once untimed (first-boot work), then
# BENCH_SYSTEMD_RUNS (20) times each, alternating planet / nspawn.
#
# Both managers are measured by the same helper (bench/helpers/sdboot), the
# same way:
#   ready = from fork+exec of the manager to the READY=1 it sends on its own
#           $NOTIFY_SOCKET, which both send only once the inner systemd said
#           READY=1 (boot finished):
#             planet start --rootfs COPY --notify-ready init
#             systemd-nspawn --boot -D COPY --notify-ready=yes --register=no
#                            --keep-unit -M NAME -q
#           then (untimed) `nsenter -t INIT -a systemctl is-system-running`
#           must say `running`;
#   halt  = from SIGTERM to the manager until the manager has exited. Both
#           turn SIGTERM into SIGRTMIN+3 for the inner systemd (planet: the
#           staged halt; nspawn: --kill-signal defaults to SIGRTMIN+3 with
#           --boot) and exit once it is gone.
#   planet stop = also measured for planet: from running `planet stop` to the
#           supervisor's exit (needs the enter API; skipped without it).
# --register=no --keep-unit: this host has no systemd/machined (PID 1 is not
# systemd), so nspawn must not try to register or allocate a scope.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
bench_init systemd
need_tools systemd-nspawn:systemd-container nsenter:util-linux pgrep:procps
build_helpers

RUNS=$(knob BENCH_SYSTEMD_RUNS 20 2)
SRC=${BENCH_DEBIAN_ROOTFS:-}
if [ -z "$SRC" ]; then
	if [ -x /var/cache/planet-tests/debian-probe/lib/systemd/systemd ]; then
		SRC=/var/cache/planet-tests/debian-probe
	else
		need_tools debootstrap:debootstrap
		SRC=$(sh "$TOP_SRCDIR/tests/system/mkrootfs-debian.sh") || die "no Debian rootfs (see tests/system/mkrootfs-debian.sh)"
	fi
fi
[ -x "$SRC/lib/systemd/systemd" ] || die "$SRC is not a systemd rootfs"

machine_line
echo "planet: $PLANET ($("$PLANET" --version 2>/dev/null)); $(systemd-nspawn --version | head -n 1)"
echo "rootfs: copies of $SRC"
echo

RP=$WORK/debian-planet
RN=$WORK/debian-nspawn
wait_cmd cp -a "$SRC" "$RP" && wait_cmd cp -a "$SRC" "$RN" || die "cannot copy $SRC"
# A source made by mktemp -d is 0700 (caches built before
# mkrootfs-debian.sh set 0755, a BENCH_DEBIAN_ROOTFS of one's own), and
# `cp -a` keeps that: then only root can search /, dbus and the services
# that run as other users fail, and neither manager ever sees READY=1.
chmod 0755 "$RP" "$RN" || die "cannot chmod the copies of $SRC"
NAME=planetbench$$
ST=$SHM/state
on_cleanup "[ -s '$WORK/pid' ] && stop_pid \$(cat '$WORK/pid') 30"
on_cleanup "rm -rf /run/systemd/nspawn/propagate/$NAME /run/systemd/nspawn/unix-export/$NAME"

HAVE_STOP=0
CHECK='i=""; for p in $(pgrep -P $SUP_PID); do awk "/^NSpid:/ { exit !(\$NF == 1 && NF > 2) }" /proc/$p/status && i=$p; done
       echo "state $(nsenter -t $i -a systemctl is-system-running 2>&1)"'
# For planet, also: does the enter API answer (then `planet stop` is measured too)?
PCHECK="$CHECK; '$PLANET' status --socket '$ST/enter.sock' >/dev/null 2>&1 && echo 'api yes'"

# one TOOL MODE — one boot+halt, appends "ready stop state status" to $WORK/TOOL-MODE
one() {
	local tool=$1 mode=$2 out stop=()
	case $mode in
	term) stop=(-k 15) ;;
	stop) stop=(-s "$PLANET stop --socket $ST/enter.sock") ;;
	esac
	if [ "$tool" = planet ]; then
		wait_cmd "$BIN/sdboot" -t 60 -l "$WORK/$tool.log" -p "$WORK/pid" -c "$PCHECK" "${stop[@]}" -- \
			"$PLANET" start --rootfs "$RP" --state-dir "$ST" --notify-ready init --stop-timeout 30 >"$WORK/one.out"
	else
		wait_cmd "$BIN/sdboot" -t 60 -l "$WORK/$tool.log" -p "$WORK/pid" -c "$CHECK" "${stop[@]}" -- \
			systemd-nspawn --boot -D "$RN" --notify-ready=yes --register=no --keep-unit -M "$NAME" -q >"$WORK/one.out"
	fi
	local rc=$?
	out=$(<"$WORK/one.out")
	: >"$WORK/pid"
	if [ $rc != 0 ]; then
		FAILS=$((FAILS + 1))
		say "$tool ($mode) failed; last lines of its log:"
		tail -n 20 "$WORK/$tool.log" >&2
		return 1
	fi
	grep -q '^api yes' <<<"$out" && HAVE_STOP=1
	awk '/^ready_ms/ { r = $2 } /^stop_ms/ { s = $2 } /^status/ { x = $2 }
	     /^state/ { st = $2 } END { print r, s, (st == "" ? "?" : st), x }' <<<"$out" >>"$WORK/$tool-$mode"
}

FAILS=0
say "warm-up boots (untimed)"
one planet term && one nspawn term || die "warm-up failed"
: >"$WORK/planet-term"; : >"$WORK/nspawn-term"; : >"$WORK/planet-stop"
for i in $(seq 1 "$RUNS"); do
	one planet term
	one nspawn term
	[ $HAVE_STOP = 1 ] && one planet stop
done

col() { cut -d' ' -f"$1" "$2" >"$WORK/col"; stats "$WORK/col"; }
summ() { sort "$1" | uniq -c | awk '{ printf "%s%s x%s", (NR > 1 ? ", " : ""), $2, $1 }'; }
row() { # LABEL FILE COL REFMEDIAN
	local s; s=$(col "$3" "$2")
	set -- "$1" $s "$4"
	printf '%-34s %4s %9s %9s %9s %9s %9s %7s\n' "$1" "$2" "$3" "$4" "$5" "$6" "$7" "$(ratio "$3" "$8")"
}
med() { col "$2" "$1" | cut -d' ' -f2; }
echo "== Debian systemd: boot to running, and halt (ms; $RUNS runs each) =="
printf '%-34s %4s %9s %9s %9s %9s %9s %7s\n' "" n median p90 mean min max ratio
rb=$(med "$WORK/nspawn-term" 1); hb=$(med "$WORK/nspawn-term" 2)
row "planet: start -> READY=1" "$WORK/planet-term" 1 "$rb"
row "nspawn --boot: start -> READY=1" "$WORK/nspawn-term" 1 "$rb"
row "planet: SIGTERM -> exit" "$WORK/planet-term" 2 "$hb"
[ $HAVE_STOP = 1 ] && row "planet stop -> supervisor exit" "$WORK/planet-stop" 2 "$hb"
row "nspawn: SIGTERM -> exit" "$WORK/nspawn-term" 2 "$hb"
echo "(ratio = median / nspawn's median; target <= 1.00)"
cut -d' ' -f3 "$WORK/planet-term" >"$WORK/s1"; cut -d' ' -f4 "$WORK/planet-term" >"$WORK/x1"
cut -d' ' -f3 "$WORK/nspawn-term" >"$WORK/s2"; cut -d' ' -f4 "$WORK/nspawn-term" >"$WORK/x2"
echo "is-system-running after READY=1: planet: $(summ "$WORK/s1"); nspawn: $(summ "$WORK/s2")"
echo "exit status after the halt:       planet: $(summ "$WORK/x1"); nspawn: $(summ "$WORK/x2")"
if [ $HAVE_STOP = 1 ]; then
	cut -d' ' -f3 "$WORK/planet-stop" >"$WORK/s3"
	echo "planet stop runs:                 state $(summ "$WORK/s3")"
else
	echo "(planet stop not measured: this planet has no enter API)"
fi
[ "$FAILS" = 0 ] || die "$FAILS boots failed (above)"
