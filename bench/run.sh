#!/bin/bash
# bench/run.sh — run every planet benchmark, one after the other (as root).
#
#   sudo PLANET=/path/to/planet bench/run.sh [--quick] [start|exec|systemd|stats|remote|cp]...
#   make bench            (from the build directory: PLANET defaults to ./planet)
#
# Each benchmark prints its own tables and cleans up after itself, even when
# interrupted. The whole run takes about 5 minutes on a 2-core machine.
# --quick (BENCH_QUICK=1): few runs, a 16 MiB file, 2 systemd boots each;
# about a minute once the tools and the Debian rootfs are there. CI runs it
# on every landing to prove that every benchmark still works; its figures
# are not measurements. The exit status is non-zero when any benchmark
# failed (a boot, an exec, a byte-for-byte check).
# BENCH_OUT=FILE also appends everything to FILE. See docs/BENCHMARKS.md for
# what is measured, how, and the knobs (BENCH_* variables) of each script.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
dir=$(cd "$(dirname "$0")" && pwd)
if [ -z "${PLANET:-}" ] && [ -x ./planet ] && [ ! -d ./planet ]; then
	PLANET=$(pwd)/planet
	export PLANET
fi
if [ "${1:-}" = --quick ]; then
	BENCH_QUICK=1
	export BENCH_QUICK
	shift
fi
[ $# -gt 0 ] || set -- start exec systemd stats remote cp
rc=0
trap 'exit 130' INT
trap 'exit 143' TERM
for b in "$@"; do
	[ -x "$dir/$b.sh" ] || { echo "run.sh: no benchmark $b" >&2; rc=1; continue; }
	echo "######## bench/$b.sh ($(date -u '+%Y-%m-%d %H:%M:%S UTC'))"
	if [ -n "${BENCH_OUT:-}" ]; then
		"$dir/$b.sh" 2>&1 | tee -a "$BENCH_OUT"
		r=${PIPESTATUS[0]}
	else
		"$dir/$b.sh"
		r=$?
	fi
	[ "$r" = 0 ] || { echo "run.sh: bench/$b.sh failed (status $r)" >&2; rc=1; }
	echo
done
exit $rc
