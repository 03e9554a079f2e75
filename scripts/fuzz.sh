#!/bin/bash
# fuzz.sh [SECONDS] — build every tests/fuzz/fuzz_*.c with clang's libFuzzer
# (+ASan+UBSan) and run each for SECONDS (default 60) from its committed
# seeds (tests/fuzz/seeds/NAME). Prints one summary line per target:
#
#   fuzz_proto: 1234567 execs (20576/s), cov 412, ft 1203, corpus 310, 0 crashes, peak 58 MiB
#
# and exits 1 if any target crashed, leaked, timed out or failed to build.
#
# Environment:
#   FUZZ_CC       the compiler (default clang)
#   FUZZ_OUT      where binaries, working corpora, logs and crash inputs go
#                 (default /var/tmp/planet-fuzz; a crash input is kept there
#                 as NAME/crash-*, reproduce with: $FUZZ_OUT/fuzz_NAME FILE)
#   FUZZ_TARGETS  space-separated names to run (default: all, e.g. "proto passwd")
#   FUZZ_KEEP_CORPUS=1  keep the working corpus between runs (default: start
#                 from the seeds each time, so CI runs are reproducible)
#   FUZZ_FLAGS    extra libFuzzer flags (e.g. "-jobs=2 -workers=2")
#
# Every target links the pure modules (base, proto, envfile, config, and
# base's passwd lookup); none needs root or touches the host, except fuzz_passwd
# which writes two small files in a private directory under /dev/shm.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
secs=${1:-60}
cc=${FUZZ_CC:-clang}
out=${FUZZ_OUT:-/var/tmp/planet-fuzz}
case $secs in '' | *[!0-9]*) echo "fuzz.sh: SECONDS must be a number, not \"$secs\"" >&2; exit 2 ;; esac
command -v "$cc" >/dev/null 2>&1 || { echo "fuzz.sh: $cc not found (apt-get install clang libclang-rt-14-dev)" >&2; exit 77; }
mkdir -p "$out"

pc_cflags=$(pkg-config --cflags inih libuv 2>/dev/null)
pc_libs=$(pkg-config --libs inih 2>/dev/null || echo -linih)
# The pure modules, as Makefile.am lists them (so a file split off a module
# is picked up); base/ holds the box's passwd/group lookup too.
mapfile -t srcs < <(awk '/^lib(base|proto|envfile|config)_a_SOURCES[ \t]*=/ { f = 1 }
	f { for (i = 1; i <= NF; i++) if ($i ~ /\.c$/) print $i; if ($0 !~ /\\$/) f = 0 }' \
	"$top/Makefile.am" | sed "s#^#$top/#")

# shellcheck disable=SC2054 # commas inside one compiler flag
flags=(-g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined
	-fno-sanitize-recover=undefined -I"$top" -D_GNU_SOURCE -std=gnu11)

targets=()
if [ -n "${FUZZ_TARGETS:-}" ]; then
	for t in $FUZZ_TARGETS; do targets+=("${t#fuzz_}"); done
else
	for f in "$top"/tests/fuzz/fuzz_*.c; do
		t=${f##*/fuzz_}
		targets+=("${t%.c}")
	done
fi

status=0
summary=()
for t in "${targets[@]}"; do
	src=$top/tests/fuzz/fuzz_$t.c
	bin=$out/fuzz_$t
	if [ ! -f "$src" ]; then
		summary+=("fuzz_$t: no such target ($src)")
		status=1
		continue
	fi
	# shellcheck disable=SC2086
	if ! "$cc" "${flags[@]}" $pc_cflags -o "$bin" "$src" "${srcs[@]}" $pc_libs 2>"$out/fuzz_$t.build.log"; then
		summary+=("fuzz_$t: BUILD FAILED (see $out/fuzz_$t.build.log)")
		cat "$out/fuzz_$t.build.log" >&2
		status=1
		continue
	fi
	work=$out/$t
	[ "${FUZZ_KEEP_CORPUS:-0}" = 1 ] || rm -rf "$work"
	mkdir -p "$work/corpus"
	seeds=$top/tests/fuzz/seeds/$t
	[ -d "$seeds" ] || seeds=
	echo "# fuzz_$t: ${secs}s from ${seeds:-no seeds}"
	# -timeout: one input taking longer is a finding (a hang); rss limit
	# well above what any parser should need.
	# shellcheck disable=SC2086
	(cd "$work" && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
		"$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$work/" ${FUZZ_FLAGS:-} corpus $seeds) >"$out/fuzz_$t.log" 2>&1
	rc=$?
	log=$out/fuzz_$t.log
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
	peak=$(sed -n 's/^stat::peak_rss_mb: *//p' "$log" | tail -n 1)
	last=$(grep -E '^#[0-9]+' "$log" | tail -n 1)
	cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
	ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
	ncorp=$(find "$work/corpus" -type f | wc -l)
	crashes=$(find "$work" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) | wc -l)
	line="fuzz_$t: ${execs:-?} execs (${rate:-?}/s), cov ${cov:-?}, ft ${ft:-?}, corpus $ncorp, $crashes crashes, peak ${peak:-?} MiB"
	if [ $rc != 0 ] || [ "$crashes" != 0 ]; then
		line="$line — FAILED (exit $rc; log $log)"
		grep -E 'ERROR|SUMMARY|runtime error|Test unit written' "$log" | head -n 20 >&2
		status=1
	fi
	summary+=("$line")
	echo "$line"
done
echo "# summary"
printf '%s\n' "${summary[@]}"
exit $status
