#!/bin/bash
# bench/exec.sh — issue 3 "Speed": entering a running box.
#
#   sudo PLANET=/path/to/planet bench/exec.sh
#
# Three busybox boxes, each on its own copy of the same busybox rootfs, each
# with busybox init as PID 1:
#   - planet start (the box under test)
#   - an LXC container: lxc.rootfs.path = dir:COPY, lxc.init.cmd = /sbin/init,
#     lxc.net.0.type = empty, started with lxc-start -d (own lxcpath, removed
#     afterwards)
#   - a runc container: `runc run -d` of a `runc spec` bundle (root = the copy,
#     terminal false, args /sbin/init, no network namespace)
# 1. memory: the supervisor's VmRSS right after boot, after one exec, with
#    BENCH_SESSIONS (100) open sessions (`planet exec -- sleep 60` each), and
#    after they ended; run first, on a fresh supervisor, so that heap kept
#    from the throughput run cannot hide the per-session cost.
# 2. latency, ONE hyperfine run (-N: no shell), BENCH_EXEC_RUNS (200) each:
#      planet exec --socket S -- /bin/true
#      nsenter -t INITPID -a /bin/true          (the floor: no cgroup, caps,
#                                                seccomp, user, env, pty)
#      lxc-attach -P LXCPATH -n NAME -- /bin/true
#      runc exec NAME /bin/true
#    then the same four, each a lone exec after BENCH_LONE_GAP (0.3) s of
#    quiet, BENCH_LONE_RUNS (30) each, interleaved.
# 3. throughput: a BENCH_BIG_MIB (1024) MiB file of random bytes in the box's
#    /tmp (the rootfs, on disk, in the page cache after a warm-up),
#    BENCH_TP_RUNS (9) runs each, interleaved; wall time and CPU time:
#      planet exec --socket S -- cat /tmp/big | cat >/dev/null
#      nsenter -t INITPID -a cat /tmp/big | cat >/dev/null
#      the same nsenter pipeline with both ends pinned to CPU 0 (taskset): a
#      pipe between two vCPUs of this VM is 5x slower than within one (the
#      wake-ups cross CPUs), and where the scheduler puts the two ends
#      decides which nsenter figure one gets; pinned is its best case
#    then (BENCH_RELAY=1) a model of that path without a box,
#    bench/helpers/relay: plain pipe vs planet-like copy relay vs splice relay.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
bench_init exec
need_tools hyperfine:hyperfine runc:runc lxc-start:lxc python3:python3-minimal nsenter:util-linux taskset:util-linux pgrep:procps
build_helpers

RUNS=$(knob BENCH_EXEC_RUNS 200 10)
BIG_MIB=$(knob BENCH_BIG_MIB 1024 16)
NSESS=$(knob BENCH_SESSIONS 100 10)

machine_line
echo "planet: $PLANET ($("$PLANET" --version 2>/dev/null))"
echo "runc: $(runc --version | head -n 1); lxc: $(lxc-start --version); nsenter: $(nsenter --version)"
echo

# ---- planet box -------------------------------------------------------------
R1=$WORK/rootfs-planet
start_planet_busybox "$R1"
INIT=$(sed -n 's/^init_pid=//p' "$ST/state")
sleep 0.5
RSS_BOOT=$(rss_kib $SUP)
ANON_BOOT=$(rss_kib $SUP RssAnon)
out=$("$PLANET" exec --socket "$SOCK" -- /bin/true 2>&1) || die "planet exec -- /bin/true failed: $out"

# ---- 1. memory (first, on a fresh supervisor) -----------------------------------------
echo "== supervisor memory (KiB), fresh box, $NSESS sessions =="
in_box_sleeps() { # number of `sleep` processes in the planet box's pid namespace
	local ns n=0 p
	ns=$(readlink /proc/$INIT/ns/pid)
	for p in $(pgrep -x sleep); do
		[ "$(readlink /proc/$p/ns/pid 2>/dev/null)" = "$ns" ] && n=$((n + 1))
	done
	echo $n
}
CLIENTS=()
on_cleanup 'kill ${CLIENTS[@]} 2>/dev/null'
RSS0=$(rss_kib $SUP); ANON0=$(rss_kib $SUP RssAnon); FD0=$(ls /proc/$SUP/fd | wc -l)
for i in $(seq 1 "$NSESS"); do
	"$PLANET" exec --socket "$SOCK" -- sleep 60 </dev/null >/dev/null 2>&1 &
	CLIENTS+=($!)
done
sessions_ge() { [ "$(in_box_sleeps)" -ge "$1" ]; }
sessions_none() { [ "$(in_box_sleeps)" -eq 0 ]; }
wait_for 30 sessions_ge "$NSESS" || say "only $(in_box_sleeps) of $NSESS sessions started"
sleep 0.5
OPEN=$(in_box_sleeps)
RSSN=$(rss_kib $SUP); ANONN=$(rss_kib $SUP RssAnon); FDN=$(ls /proc/$SUP/fd | wc -l)
kill "${CLIENTS[@]}" 2>/dev/null
wait "${CLIENTS[@]}" 2>/dev/null
wait_for 20 sessions_none || say "$(in_box_sleeps) session processes left after the clients went away"
sleep 0.5
RSS_END=$(rss_kib $SUP)
printf '%-48s %8s\n' "VmRSS right after boot" "$RSS_BOOT" \
	"RssAnon right after boot" "$ANON_BOOT" \
	"VmRSS after one exec, before the sessions" "$RSS0" \
	"RssAnon after one exec, before the sessions" "$ANON0" \
	"VmRSS with $OPEN open sessions" "$RSSN" \
	"RssAnon with $OPEN open sessions" "$ANONN" \
	"open fds: idle / with sessions" "$FD0 / $FDN" \
	"VmRSS after the sessions ended" "$RSS_END"
awk -v a="$RSS0" -v b="$RSSN" -v n="$OPEN" -v aa="$ANON0" -v ab="$ANONN" 'BEGIN {
	if (n > 0) printf "%-48s %8.1f KiB (RssAnon: %.1f KiB; target < 64 KiB)\n", "per open session (VmRSS delta / sessions)", (b - a) / n, (ab - aa) / n }'
echo "(targets: idle VmRSS < 3072 KiB)"
echo

# ---- LXC and runc containers ----------------------------------------------------
LXCNAME=planetbench
start_lxc_busybox "$LXCNAME"
lxc-attach -P "$LXCPATH" -n "$LXCNAME" -- /bin/true || die "lxc-attach does not work"
start_runc_busybox planetbench
runc --root "$RR" exec planetbench /bin/true || die "runc exec does not work"

# ---- 2. latency -----------------------------------------------------------------
echo "== exec /bin/true into a running busybox box (hyperfine -N, $RUNS runs each) =="
cpu0=$(awk '{ print $14 + $15 }' /proc/$SUP/stat)
wait_cmd hyperfine -N --style basic --warmup 10 --runs "$RUNS" --export-json "$WORK/lat.json" \
	-n "planet exec" "$PLANET exec --socket $SOCK -- /bin/true" \
	-n "nsenter -a (floor)" "nsenter -t $INIT -a /bin/true" \
	-n "lxc-attach" "lxc-attach -P $LXCPATH -n $LXCNAME -- /bin/true" \
	-n "runc exec" "runc --root $RR exec planetbench /bin/true" \
	>"$WORK/lat.out" 2>&1 || { cat "$WORK/lat.out"; die "hyperfine failed"; }
cpu1=$(awk '{ print $14 + $15 }' /proc/$SUP/stat)
hyperfine_table "$WORK/lat.json" "nsenter -a (floor)"
awk -v t="$((cpu1 - cpu0))" -v hz="$(getconf CLK_TCK)" -v n="$((RUNS + 10))" 'BEGIN {
	printf "supervisor CPU time (user+sys) per planet exec: %.3f ms\n", 1000 * t / hz / n }'
echo "(target: planet exec within 1.5x of nsenter)"
echo

# A lone exec, as an operator's single command is: each after LONE_GAP s of
# quiet, interleaved. hyperfine's back-to-back runs keep the kernel's cgroup
# migration fast path warm (see bench/start.sh); planet exec, lxc-attach and
# runc exec move their process into the box's cgroups, nsenter does not.
LONE_RUNS=$(knob BENCH_LONE_RUNS 30 3)
LONE_GAP=${BENCH_LONE_GAP:-0.3}
echo "== a lone exec /bin/true (each after ${LONE_GAP} s of quiet; $LONE_RUNS runs each, interleaved) =="
lone() { # NAME CMD...
	local t0 t1
	wait_cmd sleep "$LONE_GAP"
	t0=$EPOCHREALTIME
	"${@:2}" >/dev/null 2>&1 </dev/null || { say "$1 failed"; return 0; }
	t1=$EPOCHREALTIME
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", (b - a) * 1000 }' >>"$WORK/lone-$1"
}
for i in $(seq 1 "$LONE_RUNS"); do
	lone planet "$PLANET" exec --socket "$SOCK" -- /bin/true
	lone nsenter nsenter -t "$INIT" -a /bin/true
	lone lxc lxc-attach -P "$LXCPATH" -n "$LXCNAME" -- /bin/true
	lone runc runc --root "$RR" exec planetbench /bin/true
done
ref=$(stats "$WORK/lone-nsenter" | cut -d' ' -f2)
printf '%-28s %5s %9s %9s %9s %9s %9s %8s\n' command runs mean median p90 min max ratio
for v in planet nsenter lxc runc; do
	# shellcheck disable=SC2046 # word splitting wanted
	set -- $(stats "$WORK/lone-$v")
	printf '%-28s %5s %9.2f %9.2f %9.2f %9.2f %9.2f %8s\n' \
		"$(case $v in planet) echo "planet exec" ;; nsenter) echo "nsenter -a (floor)" ;; lxc) echo lxc-attach ;; runc) echo "runc exec" ;; esac)" \
		"$1" "$4" "$2" "$3" "$5" "$6" "$(ratio "$2" "$ref")"
done
echo "(times in ms, bash \$EPOCHREALTIME around each command; ratio = median / nsenter's median)"
echo

# ---- 3. throughput -----------------------------------------------------------------
echo "== stdout throughput: cat of a ${BIG_MIB} MiB file in the box, piped to cat >/dev/null =="
wait_cmd dd if=/dev/urandom of="$R1/tmp/big" bs=1M count="$BIG_MIB" status=none
cat "$R1/tmp/big" >/dev/null
wait_cmd sh -c '"$1" exec --socket "$2" -- cat /tmp/big | cmp -s - "$3"' - "$PLANET" "$SOCK" "$R1/tmp/big" ||
	die "planet exec -- cat /tmp/big did not reproduce the file byte for byte"
# Interleaved (planet, nsenter, planet, ...) rather than one hyperfine run
# per command: on this 2-vCPU VM a pipe's speed depends a lot on where the
# scheduler puts the two ends, and that drifts with the machine's load.
# CPU: user+sys of everything the pipeline ran (bash `time`: the shell's
# waited-for children), plus, for planet, the supervisor's own and its reaped
# children's (the session's cat) from /proc/SUP/stat.
sup_cpu() { awk '{ print $14 + $15 + $16 + $17 }' /proc/$SUP/stat; }
HZ=$(getconf CLK_TCK)
tp_once() { # NAME CMD
	local c0 c1 t0 t1
	c0=$(sup_cpu)
	t0=$EPOCHREALTIME
	{ TIMEFORMAT='%U %S'; time wait_cmd sh -c "$2"; } 2>"$WORK/time.out" || return 1
	t1=$EPOCHREALTIME
	c1=$(sup_cpu)
	awk -v t0="$t0" -v t1="$t1" -v c0="$c0" -v c1="$c1" -v hz="$HZ" -v name="$1" -v w="$WORK" '
		{ cpu = ($1 + $2) * 1000 }
		END { printf "%.1f\n", (t1 - t0) * 1000 >>(w "/tp-wall-" name)
		      printf "%.1f\n", cpu + (name == "planet" ? (c1 - c0) * 1000 / hz : 0) >>(w "/tp-cpu-" name) }
	' "$WORK/time.out"
}
TP_RUNS=$(knob BENCH_TP_RUNS 9 2)
tp_once planet "$PLANET exec --socket $SOCK -- cat /tmp/big | cat >/dev/null" # warm-up
tp_once nsenter "nsenter -t $INIT -a cat /tmp/big | cat >/dev/null"
rm -f "$WORK"/tp-*
for i in $(seq 1 "$TP_RUNS"); do
	tp_once planet "$PLANET exec --socket $SOCK -- cat /tmp/big | cat >/dev/null" || die "planet exec cat failed"
	tp_once nsenter "nsenter -t $INIT -a cat /tmp/big | cat >/dev/null" || die "nsenter cat failed"
	tp_once nsenterpin "taskset -c 0 nsenter -t $INIT -a cat /tmp/big | taskset -c 0 cat >/dev/null" ||
		die "pinned nsenter cat failed"
done
printf '%-30s %4s %9s %9s %9s %9s %10s %12s\n' "($TP_RUNS runs each, interleaved)" n median p90 min max "MiB/s(med)" "CPU ms/GiB"
for v in planet nsenter nsenterpin; do
	# shellcheck disable=SC2046 # word splitting wanted
	set -- $(stats "$WORK/tp-wall-$v")
	cpu=$(stats "$WORK/tp-cpu-$v" | cut -d' ' -f2)
	printf '%-30s %4s %9s %9s %9s %9s %10.0f %12.0f\n' "$(case $v in planet) echo "planet exec -- cat" ;;
		nsenter) echo "nsenter -a cat" ;; *) echo "nsenter -a cat, pinned to CPU 0" ;; esac)" \
		"$1" "$2" "$3" "$5" "$6" "$(awk -v m="$BIG_MIB" -v t="$2" 'BEGIN { print m / (t / 1000) }')" \
		"$(awk -v c="$cpu" -v m="$BIG_MIB" 'BEGIN { print c * 1024 / m }')"
done
pm=$(stats "$WORK/tp-wall-planet" | cut -d' ' -f2); nm=$(stats "$WORK/tp-wall-nsenter" | cut -d' ' -f2)
pb=$(stats "$WORK/tp-wall-planet" | cut -d' ' -f5); nb=$(stats "$WORK/tp-wall-nsenter" | cut -d' ' -f5)
qm=$(stats "$WORK/tp-wall-nsenterpin" | cut -d' ' -f2); qb=$(stats "$WORK/tp-wall-nsenterpin" | cut -d' ' -f5)
pct() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f%%", 100 * a / b }'; }
echo "(times in ms) planet / nsenter throughput: $(pct "$nm" "$pm") by medians, $(pct "$nb" "$pb") best vs best;" \
	"planet / pinned nsenter: $(pct "$qm" "$pm") by medians, $(pct "$qb" "$pb") best vs best (target >= 70%)"

# A model of the same stdout path without a box (bench/helpers/relay): where
# planet's cost comes from, and what splice(2) and bigger pipes would save.
if [ "${BENCH_RELAY:-1}" = 1 ]; then
	gcc -O2 -o "$BIN/relay" "$BENCH_DIR/helpers/relay.c" || die "cannot build relay"
	RL_RUNS=$(knob BENCH_RELAY_RUNS 5 1)
	echo "-- model, no box: busybox cat BIG | X | cat >/dev/null ($RL_RUNS runs each, interleaved; medians) --"
	rm -f "$WORK"/rl-*
	for i in $(seq 1 "$RL_RUNS"); do
		for m in "direct:" "copy:$BIN/relay copy" "copy1m:$BIN/relay copy 1048576" \
			"splice:$BIN/relay splice" "splice1m:$BIN/relay splice 1048576"; do
			n=${m%%:*} c=${m#*:}
			t0=$EPOCHREALTIME
			{ TIMEFORMAT='%U %S'; time wait_cmd sh -c "busybox cat '$R1/tmp/big' | ${c:+$c |} cat >/dev/null"; } 2>"$WORK/time.out"
			t1=$EPOCHREALTIME
			awk -v a="$t0" -v b="$t1" '{ printf "%.1f %.1f\n", (b - a) * 1000, ($1 + $2) * 1000 }' "$WORK/time.out" >>"$WORK/rl-$n"
		done
	done
	printf '%-52s %9s %12s\n' "" "wall ms" "CPU ms/GiB"
	for n in direct copy copy1m splice splice1m; do
		cut -d' ' -f1 "$WORK/rl-$n" >"$WORK/c1"; cut -d' ' -f2 "$WORK/rl-$n" >"$WORK/c2"
		printf '%-52s %9s %12.0f\n' "$(case $n in
			direct) echo "plain pipe (as nsenter)" ;;
			copy) echo "relay copy: read/writev + recv/write (as planet)" ;;
			copy1m) echo "relay copy, 1 MiB pipes" ;;
			splice) echo "relay splice: pipe->socket->pipe, no user copy" ;;
			splice1m) echo "relay splice, 1 MiB pipes" ;; esac)" \
			"$(stats "$WORK/c1" | cut -d' ' -f2)" "$(awk -v c="$(stats "$WORK/c2" | cut -d' ' -f2)" -v m="$BIG_MIB" 'BEGIN { print c * 1024 / m }')"
	done
fi
rm -f "$R1/tmp/big"
echo
sleep 0.5
printf '%-48s %8s KiB (RssAnon %s KiB)\n' "supervisor VmRSS after all of the above, idle" "$(rss_kib $SUP)" "$(rss_kib $SUP RssAnon)"

