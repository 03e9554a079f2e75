#!/bin/bash
# bench/cp.sh — planet cp of one big file into and out of a running busybox
# box, against the floor (cp(1) straight into or out of the rootfs
# directory, which is what a copy through the box can at best approach) and
# against what an operator would type without planet cp:
# `tar c | planet exec -i -- tar x` (and `planet exec -- tar c | tar x`).
#
#   sudo PLANET=build/planet bench/cp.sh      (or bench/run.sh cp)
#
# Knobs: BENCH_CP_MIB (the file, default 1024; 16 with --quick),
# BENCH_CP_RUNS (each copy, default 5; 1 with --quick). The file is real
# data from /dev/urandom; every copy is checked against its checksum once.
# The rootfs and the files are on BENCH_TMP (default /var/tmp); the targets
# are removed and everything synced between runs; every copy ends with its
# data in the page cache (no fsync in any of them), so all three are
# measured alike.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
bench_init cp
need_tools tar:tar md5sum:coreutils

MIB=$(knob BENCH_CP_MIB 1024 16)
RUNS=$(knob BENCH_CP_RUNS 5 1)

machine_line
echo "planet: $PLANET ($("$PLANET" --version 2>/dev/null))"
echo

R=$WORK/rootfs
start_planet_busybox "$R"
"$PLANET" exec --socket "$SOCK" -- /bin/true || die "planet exec does not work"

H=$WORK/host
mkdir -p "$H/out"
head -c $((MIB * 1048576)) /dev/urandom >"$H/big" || die "cannot write $H/big"
SUM=$(md5sum <"$H/big")

P() { "$PLANET" "$1" --socket "$SOCK" "${@:2}"; }
# The copies: NAME and the command (through bash -c, in $H).
in_floor() { cp big "$R/tmp/big"; }
in_cp() { P cp big box:/tmp/big; }
in_tar() { tar -cf - big | P exec -i -- tar -xf - -C /tmp; }
out_floor() { cp "$R/tmp/big" out/big; }
out_cp() { P cp box:/tmp/big out/big; }
out_tar() { P exec -- tar -cf - -C /tmp big | tar -xf - -C out; }

# The CPU time (ticks) the supervisor and its reaped children (the box's
# session processes) have used.
sup_ticks() { awk '{ print $14 + $15 + $16 + $17 }' "/proc/$SUP/stat"; }
# run FN: one run; "WALL CPU" seconds (CPU: the client side's processes,
# from bash's times, plus the supervisor's and its children's).
run() {
	local t0 t1 k0 k1 f=$R/tmp/big tms
	rm -f "$R/tmp/big" "$H/out/big"
	case $1 in out_*) cp "$H/big" "$R/tmp/big"; f=$H/out/big ;; esac
	sync # no run pays for the previous one's writeback
	k0=$(sup_ticks)
	t0=$(date +%s%N)
	tms=$(cd "$H" && "$1" && times | tail -n 1) || die "$1 failed"
	t1=$(date +%s%N)
	k1=$(sup_ticks)
	[ "$(md5sum <"$f")" = "$SUM" ] || die "$1: the copy differs from the source"
	awk -v a="$t0" -v b="$t1" -v k="$((k1 - k0))" -v hz="$(getconf CLK_TCK)" -v t="$tms" 'BEGIN {
		split(t, c, " "); cpu = 0
		for (i = 1; i <= 2; i++) { split(c[i], m, "m"); cpu += m[1] * 60 + m[2] }
		printf "%.3f %.2f\n", (b - a) / 1e9, cpu + k / hz }'
}

declare -A MED CPU
measure() {
	local fn=$1 i
	: >"$WORK/$fn.txt"
	for i in $(seq 1 "$RUNS"); do run "$fn" >>"$WORK/$fn.txt"; done
	MED[$fn]=$(sort -n "$WORK/$fn.txt" | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
	CPU[$fn]=$(sort -n -k2 "$WORK/$fn.txt" | awk '{ v[NR] = $2 } END { print v[int((NR + 1) / 2)] }')
}

echo "== one ${MIB} MiB file, median of $RUNS runs (wall, MiB/s, ratio to the floor; CPU s) =="
for dir in in out; do
	for how in floor cp tar; do measure "${dir}_$how"; done
	for how in floor cp tar; do
		awk -v n="${dir}_$how" -v s="${MED[${dir}_$how]}" -v f="${MED[${dir}_floor]}" -v m="$MIB" \
			-v c="${CPU[${dir}_$how]}" \
			'BEGIN { printf "%-10s %8.3f s %9.1f MiB/s %6.2fx %7.2f s CPU\n", n, s, m / s, f / s, c }'
	done
done
echo "(in_floor/out_floor: cp(1) into/out of the rootfs directory; in_cp/out_cp:"
echo " planet cp; in_tar/out_tar: tar c | planet exec -i -- tar x, and back."
echo " CPU: every process of the copy (client side, supervisor, the box's side)."
echo " The issue's target: planet cp at least 0.7x the floor.) load: $(cut -d' ' -f1-3 /proc/loadavg)"
rm -f "$H/big" "$R/tmp/big" "$H/out/big"
