#!/bin/bash
# bench/start.sh — issue 2 "Speed": planet start -> init exec'd, vs runc.
#
#   sudo PLANET=/path/to/planet bench/start.sh
#
# 1. start -> init exec'd, BENCH_START_RUNS boots (default 50) each of
#    - planet start (fresh --state-dir each time)   planet's own figure
#      ("exec'd X ms after start", measured from its main()) and an external
#      one: a clock read just before execve(planet) vs a clock read by the
#      init itself (bench/helpers/benchclock stamp, a static binary placed in
#      the rootfs copy; CLOCK_MONOTONIC is not namespaced);
#    - runc run      same external measurement, same init, same rootfs;
#    - runc run -d   same, the container deleted afterwards (not timed).
#    The three are interleaved (one of each per round) so background load
#    hits them alike, and each boot is preceded by BENCH_START_GAP seconds
#    (0.3) of quiet: a lone start, as on an appliance. (Back to back, a
#    start is much cheaper: the kernel's cgroup migration only waits for an
#    RCU grace period when no migration happened in the last few tens of ms;
#    so a planet-only back-to-back series is shown too, and
#    bench/helpers/cgmove shows that kernel price on its own.)
# 2. hyperfine, one run, side by side: the whole cycle (start, /bin/true as
#    init, exit, teardown) of `planet start --init /bin/true`, `runc run`
#    and `runc run -d` + `runc delete -f`.
#    Also shown: the same planet boots back to back (no gap), and the
#    kernel's own price for one cgroup migration (bench/helpers/cgmove: a
#    fresh process written to cgroup.procs of every hierarchy, 20 times,
#    after 300 ms of quiet and back to back).
# 3. The supervisor of a busybox box (busybox init, idle): VmRSS/RssAnon/Pss
#    and context switches of all its threads over BENCH_IDLE_SECONDS (10),
#    by /proc/PID/task/*/status and by perf stat -p; then SIGTERM -> gone.
#
# The runc bundle is `runc spec` with root.path = the rootfs, readonly false,
# terminal false, args = the init, and no network namespace (a planet box
# shares the host's network, so runc is not made to pay for one).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
bench_init start
need_tools hyperfine:hyperfine runc:runc python3:python3-minimal nsenter:util-linux pgrep:procps
build_helpers

RUNS=$(knob BENCH_START_RUNS 50 3)
GAP=${BENCH_START_GAP:-0.3}
HF_RUNS=$(knob BENCH_HF_RUNS 40 3)
IDLE=$(knob BENCH_IDLE_SECONDS 10 1)
CG_RUNS=$(knob BENCH_CG_RUNS 20 3)
ROOTFS=$WORK/rootfs
mk_busybox "$ROOTFS"
cp "$BIN/benchclock" "$ROOTFS/benchclock"

RR=$SHM/runc-root   # runc's state (tmpfs, like /run/runc)
mkdir -p "$RR"
on_cleanup "for c in \$(runc --root '$RR' list -q 2>/dev/null); do runc --root '$RR' delete -f \$c; done"

# bundle NAME ARGS_JSON — an OCI bundle over $ROOTFS
bundle() {
	local b=$WORK/$1
	mkdir -p "$b"
	(cd "$b" && runc spec) || die "runc spec failed"
	python3 - "$b/config.json" "$ROOTFS" "$2" <<'EOF'
import json, sys
p, root, args = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
c = json.load(open(p))
c["root"] = {"path": root, "readonly": False}
c["process"]["terminal"] = False
c["process"]["args"] = args
c["linux"]["namespaces"] = [n for n in c["linux"]["namespaces"] if n["type"] != "network"]
json.dump(c, open(p, "w"), indent=1)
EOF
}
bundle b-stamp '["/benchclock", "stamp", "/stamp.out"]'
bundle b-true '["/bin/true"]'

machine_line
echo "planet: $PLANET ($("$PLANET" --version 2>/dev/null))"
echo "runc: $(runc --version | head -n 1)"
echo

# ---- 1. start -> init exec'd --------------------------------------------------
for f in p-self p-ext r-ext rd-ext rd-cmd b-self b-ext; do : >"$WORK/$f"; done
ms_since() { # T0FILE STAMPFILE -> ms
	awk -v a="$(cat "$1")" -v b="$(cat "$2")" 'BEGIN { printf "%.3f\n", (b - a) / 1e6 }'
}
fails=0
for i in $(seq 1 "$RUNS"); do
	# planet
	rm -f "$ROOTFS/stamp.out"
	sleep "$GAP"
	st=$SHM/state-$i
	if wait_cmd "$BIN/benchclock" exec "$SHM/t0" "$PLANET" start --rootfs "$ROOTFS" --state-dir "$st" \
		--init "/benchclock stamp /stamp.out" >"$SHM/out" 2>"$SHM/err" && [ -s "$ROOTFS/stamp.out" ]; then
		sed -n "s/.*exec'd \([0-9.]*\) ms after start.*/\1/p" "$SHM/err" >>"$WORK/p-self"
		ms_since "$SHM/t0" "$ROOTFS/stamp.out" >>"$WORK/p-ext"
	else
		fails=$((fails + 1)); say "planet start failed (run $i):"; cat "$SHM/err" >&2
	fi
	rm -rf "$st"
	# runc run
	rm -f "$ROOTFS/stamp.out"
	sleep "$GAP"
	if wait_cmd "$BIN/benchclock" exec "$SHM/t0" runc --root "$RR" run -b "$WORK/b-stamp" "bench-$i" \
		</dev/null >"$SHM/out" 2>&1 && [ -s "$ROOTFS/stamp.out" ]; then
		ms_since "$SHM/t0" "$ROOTFS/stamp.out" >>"$WORK/r-ext"
	else
		fails=$((fails + 1)); say "runc run failed (run $i):"; cat "$SHM/out" >&2
	fi
	# runc run -d (+ delete, not timed)
	rm -f "$ROOTFS/stamp.out"
	sleep "$GAP"
	t=$("$BIN/benchclock" now)
	if wait_cmd "$BIN/benchclock" exec "$SHM/t0" runc --root "$RR" run -d -b "$WORK/b-stamp" "bench-d-$i" \
		</dev/null >"$SHM/out" 2>&1; then
		t2=$("$BIN/benchclock" now)
		awk -v a="$t" -v b="$t2" 'BEGIN { printf "%.3f\n", (b - a) / 1e6 }' >>"$WORK/rd-cmd"
		wait_for 5 test -s "$ROOTFS/stamp.out" && ms_since "$SHM/t0" "$ROOTFS/stamp.out" >>"$WORK/rd-ext"
	else
		fails=$((fails + 1)); say "runc run -d failed (run $i):"; cat "$SHM/out" >&2
	fi
	wait_cmd runc --root "$RR" delete -f "bench-d-$i" >/dev/null 2>&1
done

# planet back to back (no gap)
for i in $(seq 1 "$RUNS"); do
	rm -f "$ROOTFS/stamp.out"
	wait_cmd "$BIN/benchclock" exec "$SHM/t0" "$PLANET" start --rootfs "$ROOTFS" --state-dir "$SHM/bb-state" \
		--init "/benchclock stamp /stamp.out" >"$SHM/out" 2>"$SHM/err" && [ -s "$ROOTFS/stamp.out" ] ||
		{ fails=$((fails + 1)); say "planet start failed (back to back, run $i):"; cat "$SHM/err" >&2; continue; }
	sed -n "s/.*exec'd \([0-9.]*\) ms after start.*/\1/p" "$SHM/err" >>"$WORK/b-self"
	ms_since "$SHM/t0" "$ROOTFS/stamp.out" >>"$WORK/b-ext"
done

# the kernel's price of one cgroup migration, alone (same hierarchies as a box)
CG_DIRS=()
for h in /sys/fs/cgroup/*/ /sys/fs/cgroup/; do
	[ -f "$h/cgroup.procs" ] || continue
	d=${h%/}/planet-bench-$$
	mkdir -p "$d" && CG_DIRS+=("$d") && on_cleanup "rmdir '$d'"
	[ -f "$h/cpuset.cpus" ] && cat "$h/cpuset.cpus" >"$d/cpuset.cpus" && cat "$h/cpuset.mems" >"$d/cpuset.mems"
done
cgfloor() { # GAP_MS -> stats line of the total
	wait_cmd "$BIN/cgmove" "$CG_RUNS" "$1" "${CG_DIRS[@]}" >"$WORK/cg.raw"
	cut -d' ' -f1 "$WORK/cg.raw" >"$WORK/cg"
	stats "$WORK/cg"
}
gcc -O2 -o "$BIN/cgmove" "$BENCH_DIR/helpers/cgmove.c" || die "cannot build cgmove"
CG_QUIET=$(cgfloor 300)
CG_BUSY=$(cgfloor 0)

row() { # LABEL FILE [REFMEDIAN]
	local s; s=$(stats "$2")
	set -- "$1" $s "${3:-}"
	printf '%-44s %4s %8s %8s %8s %8s %8s %7s\n' "$1" "$2" "$3" "$4" "$5" "$6" "$7" \
		"$([ -n "${8:-}" ] && ratio "$3" "$8" || echo -)"
}
med() { stats "$1" | cut -d' ' -f2; }
echo "== start -> init exec'd (ms; $RUNS boots each, busybox rootfs) =="
printf '%-44s %4s %8s %8s %8s %8s %8s %7s\n' "" n median p90 mean min max "ratio"
ref=$(med "$WORK/p-ext")
row "planet start: planet's own figure" "$WORK/p-self"
row "planet start: exec(planet) -> init runs" "$WORK/p-ext" "$ref"
row "runc run: exec(runc) -> init runs" "$WORK/r-ext" "$ref"
row "runc run -d: exec(runc) -> init runs" "$WORK/rd-ext" "$ref"
row "runc run -d: the command's duration" "$WORK/rd-cmd" "$ref"
row "planet back to back: own figure" "$WORK/b-self"
row "planet back to back: exec -> init runs" "$WORK/b-ext" "$ref"
cgrow() { set -- "$1" $2; printf '%-44s %4s %8s %8s %8s %8s %8s %7s\n' "$1" "$2" "$3" "$4" "$5" "$6" "$7" -; }
cgrow "kernel: cgroup migration after 300 ms quiet" "$CG_QUIET"
cgrow "kernel: cgroup migration back to back" "$CG_BUSY"
echo "(each boot after ${GAP} s of quiet unless 'back to back'; ratio = median / planet's external median;"
echo " failures: $fails; 'kernel' rows: bench/helpers/cgmove writing a fresh pid to cgroup.procs of"
echo " every hierarchy, $CG_RUNS runs)"
echo

# ---- 2. whole cycle, hyperfine --------------------------------------------------
echo "== whole cycle: start, /bin/true as init, exit, teardown (hyperfine) =="
wait_cmd hyperfine --style basic --warmup 3 --runs "$HF_RUNS" --export-json "$WORK/hf.json" \
	-n "planet start --init /bin/true" \
	"$PLANET start --rootfs $ROOTFS --state-dir $SHM/hf-state --init /bin/true" \
	-n "runc run" "runc --root $RR run -b $WORK/b-true hf-run </dev/null" \
	-n "runc run -d + runc delete -f" \
	"runc --root $RR run -d -b $WORK/b-true hf-d </dev/null >/dev/null && runc --root $RR delete -f hf-d" \
	>"$WORK/hf.out" 2>&1 || { cat "$WORK/hf.out"; die "hyperfine failed"; }
hyperfine_table "$WORK/hf.json"
echo

# ---- 3. idle supervisor ------------------------------------------------------
echo "== idle supervisor (busybox init, ${IDLE} s idle) =="
st=$SHM/idle-state
"$PLANET" start --rootfs "$ROOTFS" --state-dir "$st" --stop-timeout 5 >"$WORK/idle.log" 2>&1 &
SUP=$!
on_cleanup "stop_pid $SUP 10"
wait_for 5 grep -q '^init_pid=' "$st/state" || { cat "$WORK/idle.log"; die "box did not come up"; }
wait_for 5 grep -q 'box booted' "$WORK/idle.log" || true
sleep 1 # let rcS finish and the console drain
c0=$(ctxsw $SUP)
perf_out=
if command -v perf >/dev/null 2>&1; then
	wait_cmd perf stat -x, -o "$WORK/perf.csv" -e context-switches,cpu-migrations,page-faults -p "$SUP" -- sleep "$IDLE" >/dev/null 2>&1
	perf_out=$(awk -F, '/context-switches|cpu-migrations|page-faults/ { v = $1; if (v ~ /not counted/) v = "0 (never ran)"; printf "%s=%s  ", $3, v }' "$WORK/perf.csv")
else
	wait_cmd sleep "$IDLE"
fi
c1=$(ctxsw $SUP)
threads=$(ls /proc/$SUP/task | wc -l)
pss=$(awk '/^Pss:/ { print $2 }' /proc/$SUP/smaps_rollup 2>/dev/null)
printf '%-40s %s\n' "VmRSS" "$(rss_kib $SUP) KiB (target < 3072 KiB)"
printf '%-40s %s\n' "RssAnon / RssFile" "$(rss_kib $SUP RssAnon) / $(rss_kib $SUP RssFile) KiB"
printf '%-40s %s\n' "Pss" "${pss:-?} KiB"
printf '%-40s %s\n' "threads" "$threads"
printf '%-40s %s\n' "context switches in ${IDLE} s (/proc)" "$((c1 - c0)) (target 0)"
[ -n "$perf_out" ] && printf '%-40s %s\n' "perf stat -p (same ${IDLE} s)" "$perf_out"
t=$("$BIN/benchclock" now)
stop_pid $SUP 10
printf '%-40s %s\n' "SIGTERM -> supervisor gone (busybox)" \
	"$(awk -v a="$t" -v b="$("$BIN/benchclock" now)" 'BEGIN { printf "%.1f ms", (b - a) / 1e6 }')"
[ "$fails" = 0 ] || die "$fails boots failed (above)"
