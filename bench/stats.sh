#!/bin/bash
# bench/stats.sh — issue 11 "Speed": what a box's figures cost.
#
#   sudo PLANET=/path/to/planet bench/stats.sh
#
# Three idle busybox boxes, as in bench/exec.sh (a planet box, an LXC
# container, a runc container, each on its own copy of the busybox rootfs).
# 1. latency, ONE hyperfine run (-N: no shell), BENCH_STATS_RUNS (200) each:
#      planet stats --json --socket S
#      cat FILES          (the floor: the very cgroup files planet reads for
#                          stats on this host's layout, in one process)
#      lxc-info -P LXCPATH -n NAME -S
#      runc events --stats NAME
#    Target: planet within 3x of the floor.
# 2. the supervisor's CPU per stats request: BENCH_STATS_CPU_N (1000)
#    `planet stats --json` back to back; its utime+stime (/proc/PID/stat,
#    clock ticks) and its on-CPU time (/proc/PID/task/*/schedstat, ns) over
#    them, divided by N.
# 3. wake-ups: the supervisor's voluntary+involuntary context switches
#    (every thread, /proc/PID/task/*/status) over BENCH_IDLE_SEC (10) s with
#    one idle `planet events` listener attached and nothing happening in the
#    box. Target: 0 (no timer, no polling).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
bench_init stats
need_tools hyperfine:hyperfine runc:runc lxc-start:lxc python3:python3-minimal pgrep:procps

RUNS=$(knob BENCH_STATS_RUNS 200 10)
CPU_N=$(knob BENCH_STATS_CPU_N 1000 50)
IDLE_SEC=$(knob BENCH_IDLE_SEC 10 2)

machine_line
echo "planet: $PLANET ($("$PLANET" --version 2>/dev/null))"
echo "runc: $(runc --version | head -n 1); lxc: $(lxc-start --version)"
echo

# ---- the boxes ---------------------------------------------------------------------
R1=$WORK/rootfs-planet
start_planet_busybox "$R1"
out=$("$PLANET" stats --json --socket "$SOCK" 2>&1) || die "planet stats --json failed: $out"
LXCNAME=planetbench
start_lxc_busybox "$LXCNAME"
lxc-info -P "$LXCPATH" -n "$LXCNAME" -S >/dev/null || die "lxc-info -S does not work"
start_runc_busybox planetbench
runc --root "$RR" events --stats planetbench >/dev/null || die "runc events --stats does not work"

# The files cgroupns/stats.c reads, in every cgroup dir of the planet box.
FILES=()
for d in $(sed -n 's/^cgroup=//p' "$ST/state"); do
	for f in cpuacct.usage cpuacct.stat cpu.stat memory.usage_in_bytes memory.max_usage_in_bytes \
		memory.limit_in_bytes memory.oom_control memory.current memory.peak memory.max \
		memory.stat memory.swap.current memory.events pids.current pids.max io.stat \
		blkio.throttle.io_service_bytes_recursive blkio.throttle.io_serviced_recursive; do
		[ -f "$d/$f" ] && FILES+=("$d/$f")
	done
done
[ ${#FILES[@]} -gt 0 ] || die "no cgroup file of the box found"
cat "${FILES[@]}" >/dev/null || die "cat of the cgroup files failed"

# ---- 1. latency ---------------------------------------------------------------------
echo "== the box's figures, once (hyperfine -N, $RUNS runs each; the floor cats ${#FILES[@]} files) =="
wait_cmd hyperfine -N --style basic --warmup 10 --runs "$RUNS" --export-json "$WORK/lat.json" \
	-n "cat FILES (floor)" "cat ${FILES[*]}" \
	-n "planet stats --json" "$PLANET stats --json --socket $SOCK" \
	-n "lxc-info -S" "lxc-info -P $LXCPATH -n $LXCNAME -S" \
	-n "runc events --stats" "runc --root $RR events --stats planetbench" \
	>"$WORK/lat.out" 2>&1 || { cat "$WORK/lat.out"; die "hyperfine failed"; }
hyperfine_table "$WORK/lat.json" "cat FILES (floor)"
echo "(target: planet stats within 3x of the floor)"
echo

# ---- 2. supervisor CPU per request ------------------------------------------------------
oncpu_ns() { cat /proc/"$1"/task/*/schedstat | awk '{ s += $1 } END { print s + 0 }'; }
ticks() { awk '{ print $14 + $15 }' /proc/"$1"/stat; }
echo "== the supervisor's CPU per stats request ($CPU_N requests back to back) =="
t0=$(ticks $SUP); n0=$(oncpu_ns $SUP); w0=$EPOCHREALTIME
for i in $(seq 1 "$CPU_N"); do
	"$PLANET" stats --json --socket "$SOCK" >/dev/null || die "planet stats failed"
done
t1=$(ticks $SUP); n1=$(oncpu_ns $SUP); w1=$EPOCHREALTIME
awk -v t="$((t1 - t0))" -v hz="$(getconf CLK_TCK)" -v ns="$((n1 - n0))" -v n="$CPU_N" \
	-v w="$(awk -v a="$w0" -v b="$w1" 'BEGIN { print b - a }')" 'BEGIN {
	printf "utime+stime: %d ticks over %d requests = %.1f us per request\n", t, n, 1e6 * t / hz / n
	printf "on-CPU (schedstat): %.1f us per request\n", ns / n / 1000
	printf "client loop: %.2f ms per request, wall\n", 1000 * w / n }'
echo

# ---- 3. wake-ups with an idle events listener --------------------------------------------
echo "== the supervisor's wake-ups, ${IDLE_SEC} s, one idle events listener, nothing happening =="
"$PLANET" events --since-start --socket "$SOCK" >"$WORK/events.out" 2>&1 &
EV=$!
on_cleanup "kill $EV"
wait_for 5 grep -q running "$WORK/events.out" || die "the events listener did not attach"
sleep 1 # what the attach itself caused settles
c0=$(ctxsw $SUP); n0=$(oncpu_ns $SUP)
wait_cmd sleep "$IDLE_SEC"
c1=$(ctxsw $SUP); n1=$(oncpu_ns $SUP)
printf 'context switches (voluntary+involuntary, all threads): %d in %s s\n' "$((c1 - c0))" "$IDLE_SEC"
printf 'on-CPU time: %d us in %s s\n' "$(((n1 - n0) / 1000))" "$IDLE_SEC"
printf 'events received meanwhile: %d lines (the attach: %d)\n' "$(grep -c . "$WORK/events.out")" 1
echo "(target: 0 wake-ups while nothing happens)"
kill "$EV" 2>/dev/null
wait "$EV" 2>/dev/null
exit 0
