#!/bin/bash
# shellcheck disable=SC2034,SC2154,SC2120 # variables lib.sh and run() read or set
# h-valgrind: the supervisor under valgrind memcheck through VG_SEQ (default
# 1,000) sequential exec sessions and VG_CONC (default 100) concurrent ones,
# plus the error paths (command not found, unknown user, a refused frame,
# STDIN after STDIN_EOF, clients that vanish or reset mid-output, bulk
# output into a stalled pipe, a client killed while stalled, a TTY
# session with resizes, a half frame left to the 10 s deadline, status
# requests), then a clean `planet stop`:
#   - the supervisor exits 0 (valgrind's --error-exitcode=99 otherwise),
#   - no definite or indirect leak, no memory error in the supervisor,
#   - only the standard descriptors open at its exit (--track-fds),
#   - no memory error in any of its forked children before they exec
#     (the box's child building the rootfs, the session spawner until it
#     re-executes its sealed memfd copy of planet). Session children are
#     cloned by that copy, which runs natively (--trace-children=no): their
#     code before exec is checked by the sanitizer build instead.
# Debian 12's valgrind (3.19) predates clone3, openat2 and the new mount
# API: tests/hardening/vg-shim.c (LD_PRELOAD) maps clone3 to clone(2) and
# issues the others natively; see there. valgrind.supp lists the
# suppressions, each with its reason.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../lib/lib.sh
. "$HERE/../lib/lib.sh"
# shellcheck source=../integration/enter-helpers.sh
. "$HERE/../integration/enter-helpers.sh"
command -v valgrind >/dev/null || skip "needs valgrind (apt-get install valgrind)"
[ -f /usr/include/valgrind/valgrind.h ] || skip "needs valgrind.h (apt-get install valgrind)"
command -v cc >/dev/null || skip "needs a C compiler for the valgrind shim"
grep -q -a __asan_init "$PLANET" 2>/dev/null && skip "an ASan build cannot run under valgrind (run it on the normal build)"
VG_SEQ=${VG_SEQ:-1000}
VG_CONC=${VG_CONC:-100}
HC="python3 $HERE/hostile_client.py"

cc -shared -fPIC -O1 -Wall -o "$T/vg-shim.so" "$HERE/vg-shim.c" -ldl || {
	fail "build the valgrind shim"
	finish
}
# The clients stay native; only the supervisor runs under valgrind.
CLIENT=$PLANET
px() { timeout -s KILL "$PX_TIMEOUT" "$CLIENT" exec --socket "$SOCK" "$@"; }
cat >"$T/planet-vg" <<EOF
#!/bin/sh
exec env LD_PRELOAD="$T/vg-shim.so" valgrind --tool=memcheck --leak-check=full \\
	--show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect \\
	--error-exitcode=99 --trace-children=no --track-fds=yes --num-callers=30 \\
	--suppressions="$HERE/valgrind.supp" --log-file="$T/vg.%p.log" "$CLIENT" "\$@"
EOF
chmod +x "$T/planet-vg"
PLANET=$T/planet-vg
BOX_START_TIMEOUT=120

# Session processes are cloned by the box's spawner, which already lives in
# the box's mount namespace: valgrind opens their logs at the same path as
# seen from there, i.e. below the rootfs. The directory must exist there.
mkdir -p "$ROOTFS$T"
box_start
wait_for 60 grep -q "box booted" "$BOX_LOG" || fail "box booted" "$(cat "$BOX_LOG")"
VGLOG=$T/vg.$SUP_PID.log
check "the supervisor runs under memcheck" grep -q "Memcheck, a memory error detector" "$VGLOG"
check_eq "warm-up session" ok "$(px echo ok)"

# ---- error paths, and a half frame left to its deadline ---------------------
$HC "$SOCK" half-frame >"$T/half.out" 2>&1 &
half=$!
run r px nosuch-command
check_eq "command not found -> 127" 127 "$r_rc"
run r px -u nosuchuser true
check_eq "unknown user -> 255" 255 "$r_rc"
run r px -u alice:staff -w /tmp -e K=V sh -c 'echo $K; id -u; exit 3'
check_eq "user, cwd, env, exit code" "V 1000 3" "$(echo $r) $r_rc"
check_eq "stdin stream" "$(seq 1 20000 | sha256sum)" "$(seq 1 20000 | px -i cat | sha256sum)"
# Output spliced both ways into a reader that stalls first, so the socket
# fills and the relay waits on its dup of it; then a client killed while
# its socket is full.
check_eq "16 MiB of stdout into a stalled pipe" "$(head -c 16M /dev/zero | sha256sum)" \
	"$(px head -c 16777216 /dev/zero | { sleep 2; sha256sum; })"
mkfifo "$T/fifo"
exec 7<>"$T/fifo"
"$CLIENT" exec --socket "$SOCK" -- cat /dev/zero >"$T/fifo" 2>/dev/null &
cpid=$!
sleep 2
kill -KILL "$cpid"
wait "$cpid" 2>/dev/null
exec 7<&-
for m in bytewise stdin-after-eof eof-twice exec-in-session big-stdin reset-during-output; do
	$HC "$SOCK" "$m" >"$T/hc-$m.out" 2>&1
done
check_contains "a session written byte by byte" "$(cat "$T/hc-bytewise.out")" "EXIT 0 7"
check_contains "STDIN after STDIN_EOF refused" "$(cat "$T/hc-stdin-after-eof.out")" "ERROR 255"
$HC "$SOCK" unknown-in-session 0x42 >/dev/null 2>&1
$HC "$SOCK" oversized-first 0xffffffff >/dev/null 2>&1
$HC "$SOCK" connect-close 50 >/dev/null 2>&1
$HC "$SOCK" exec-and-vanish 20 >/dev/null 2>&1
r=$($HC "$SOCK" flood 200 resize 2>&1)
check_contains "a TTY session with 200 resizes" "$r" "EXIT 0 0"
check_contains "status" "$(timeout 30 "$CLIENT" status --socket "$SOCK")" "state=running"
# planet cp: the supervisor's COPY sessions, and the client's half (copy/,
# client/cp.c) under memcheck as well.
mkdir -p "$T/cpsrc/d"
head -c 3M /dev/urandom >"$T/cpsrc/d/f"
ln -s d/f "$T/cpsrc/l"
VGC=(valgrind --tool=memcheck --leak-check=full --errors-for-leak-kinds=definite,indirect
	--error-exitcode=99 --log-file="$T/vgc.%p.log")
run r timeout -s KILL 120 "${VGC[@]}" "$CLIENT" cp --socket "$SOCK" "$T/cpsrc" box:/tmp
check_eq "planet cp into the box (its client under memcheck too)" "0 same" \
	"$r_rc $(cmp -s "$T/cpsrc/d/f" "$ROOTFS/tmp/cpsrc/d/f" && echo same)"
run r timeout -s KILL 120 "${VGC[@]}" "$CLIENT" cp -a --socket "$SOCK" box:/tmp/cpsrc "$T/cpout"
check_eq "planet cp -a out of the box" "0 same d/f" \
	"$r_rc $(cmp -s "$T/cpsrc/d/f" "$T/cpout/d/f" && echo same) $(readlink "$T/cpout/l")"
run r timeout -s KILL 120 "${VGC[@]}" "$CLIENT" cp --socket "$SOCK" box:/tmp/nosuch "$T/cpx"
check_eq "a failed planet cp: 1" 1 "$r_rc"
wait "$half"
check_contains "half a frame: closed at the deadline" "$(cat "$T/half.out")" "no complete request within 10 s"

# ---- sequential ----------------------------------------------------------------
echo "# $VG_SEQ sequential sessions under memcheck"
t0=$(now)
bad=0
for i in $(seq 1 "$VG_SEQ"); do
	[ "$(px echo "s$i")" = "s$i" ] || bad=$((bad + 1))
done
check_eq "$VG_SEQ sequential sessions ($(elapsed_since "$t0") s)" 0 "$bad"

# ---- concurrent ----------------------------------------------------------------
echo "# $VG_CONC concurrent sessions under memcheck"
mkdir -p "$T/c"
t0=$(now)
pids=()
for i in $(seq 1 "$VG_CONC"); do
	(px sh -c 'echo "c$1"; echo "e$1" >&2; exit $(($1 % 7))' sh "$i" >"$T/c/$i.out" 2>"$T/c/$i.err"
	echo $? >"$T/c/$i.rc") &
	pids+=($!)
done
wait "${pids[@]}"
bad=0
for i in $(seq 1 "$VG_CONC"); do
	[ "$(cat "$T/c/$i.out")|$(cat "$T/c/$i.err")|$(cat "$T/c/$i.rc")" = "c$i|e$i|$((i % 7))" ] || bad=$((bad + 1))
done
check_eq "$VG_CONC concurrent sessions all correct ($(elapsed_since "$t0") s)" 0 "$bad"

# ---- clean stop ------------------------------------------------------------------
run r timeout 120 "$CLIENT" stop --socket "$SOCK"
check_eq "planet stop -> 0" 0 "$r_rc"
box_wait 120
check_eq "the supervisor under memcheck exits 0 (99 = memcheck found errors)" 0 "$BOX_STATUS"
sum=$(sed -n 's/^==[0-9]*== //p' "$VGLOG" | grep -E 'definitely lost|indirectly lost|possibly lost|still reachable|ERROR SUMMARY|All heap blocks|FILE DESCRIPTORS')
echo "$sum" | sed 's/^/# supervisor: /'
if grep -q "All heap blocks were freed" "$VGLOG"; then
	pass "no definite or indirect leak (all heap blocks freed)"
else
	check_match "no definitely lost bytes" 'definitely lost: 0 bytes in 0 blocks' "$sum"
	check_match "no indirectly lost bytes" 'indirectly lost: 0 bytes in 0 blocks' "$sum"
fi
check_match "no memory error in the supervisor" 'ERROR SUMMARY: 0 errors' "$sum"
# Descriptors open at exit that the supervisor opened itself (not inherited
# from the test), except the connection of the `planet stop` client, which
# the server holds on purpose until the supervisor exits (its EOF is the
# client's "halted").
own=$(python3 - "$VGLOG" <<'PY'
import re, sys
cur, out = None, []
for line in open(sys.argv[1], errors='replace'):
    line = re.sub(r'^==\d+== ?', '', line.rstrip('\n'))
    m = re.match(r'Open (.*?) ?(\d+):(.*)$', line)
    if m:
        cur = {'what': line, 'stack': []}
        out.append(cur)
        continue
    if cur is not None:
        if line.strip():
            cur['stack'].append(line.strip())
        else:
            cur = None
for o in out:
    st = ' '.join(o['stack'])
    if '<inherited from parent>' in st or 'hold_until_exit' in st:
        continue
    print(o['what'], '|', ' / '.join(o['stack'][:4]))
PY
)
check_eq "no descriptor of its own left open at exit (but the stop client's)" "" "$own"
children=$(find "$T" "$ROOTFS$T" -maxdepth 1 -name 'vg.*.log' ! -path "$T/vg.$SUP_PID.log" | wc -l)
errs=$(find "$T" "$ROOTFS$T" -maxdepth 1 -name 'vg.*.log' ! -path "$T/vg.$SUP_PID.log" -exec grep -l -E \
	'Invalid (read|write|free)|uninitialised|Syscall param|Mismatched free|overlap|Jump to the invalid|unhandled .* syscall' {} + 2>/dev/null)
check_eq "no memory error in any of the $children forked children before exec" "" "$errs"
check "the box's child and the spawner ran under memcheck until their exec ($children logs)" \
	test "$children" -ge 2
[ -z "$errs" ] || for f in $errs; do sed -n '1,60p' "$f" | sed 's/^/#   /'; done
if [ "$FAILED" != 0 ]; then
	echo "# --- supervisor's valgrind log (errors and leaks) ---"
	grep -v -E '^--|^==[0-9]+== *$' "$VGLOG" | tail -n 120 | sed 's/^/#   /'
fi
assert_nothing_left
finish
