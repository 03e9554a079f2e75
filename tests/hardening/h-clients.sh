#!/bin/bash
# shellcheck disable=SC2034,SC2154,SC2120 # variables lib.sh and run() read or set
# h-clients: hostile clients of the enter socket (python3 raw sockets,
# tests/hardening/hostile_client.py), against one busybox box whose
# supervisor runs with the descriptor limit systemd gives a unit
# (LimitNOFILE=1024:524288):
#   1,000 connect-and-close (half with a reset); a connection that sends
#   nothing, half a header, half a frame, or a frame one byte per second:
#   others are served meanwhile and the documented 10 s deadline closes each
#   (ERROR 255, not later for the trickler); a session written one byte at
#   a time works; oversized lengths as the first frame (refused from the
#   header, at once) and inside a session, a data frame over 64 KiB, unknown
#   kinds, STDIN after STDIN_EOF, STDIN_EOF twice, a second EXEC, STOP inside
#   a session (must not halt the box), signal numbers 0 and 65: ERROR 255
#   and the session's process is gone; 100,000 RESIZE and 100,000 SIGNAL
#   frames at a TTY session: it ends normally with the last size applied;
#   200 clients that send EXEC and vanish, a reset while output streams: no
#   process left; 1,000 sessions at once: max_sessions run, every other
#   client gets a clear ERROR, none is dropped silently, none hangs.
#   Afterwards: the supervisor's descriptors are back to the resting count,
#   no zombie, `status` shows 0 sessions, SIGTERM -> 0, nothing left, and
#   (sanitizer build) no sanitizer report in its output.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
# shellcheck source=../lib/lib.sh
. "$(dirname "$0")/../lib/lib.sh"
# shellcheck source=../integration/enter-helpers.sh
. "$(dirname "$0")/../integration/enter-helpers.sh"
command -v prlimit >/dev/null || skip "needs prlimit (util-linux)"
HC="python3 $(cd "$(dirname "$0")" && pwd)/hostile_client.py"
hc() { timeout -s KILL 120 $HC "$SOCK" "$@" 2>&1; }

# systemd's default soft limit for a service is 1024 (hard 524288; here
# the hard limit stays what this shell has).
BOX_WRAP=(prlimit --nofile=1024:"$(ulimit -Hn)" --)
box_start
wait_for 5 grep -q "box booted" "$BOX_LOG" || fail "box booted" "$(cat "$BOX_LOG")"
check_eq "warm-up session" ok "$(px echo ok)"
lim=$(awk '/Max open files/ { print $4 "/" $5 }' "/proc/$SUP_PID/limits")
check_eq "the supervisor raised its soft descriptor limit to the hard one" "${lim#*/}/${lim#*/}" "$lim"
check_eq "... and a session's process has the unit's own (1024)" 1024 "$(px sh -c 'ulimit -n')"
FDS0=$(sup_fds)
RSS0=$(sup_rss_kb)
echo "# supervisor at rest: $FDS0 fds, $RSS0 kB"

# no_marker STR: no process of the box has STR in its command line.
gone() { wait_for "${2:-10}" no_box_proc "$1"; }

# ---- connect and close -------------------------------------------------------
r=$(hc connect-close 1000)
check_eq "1000 connect-and-close (half reset)" "DONE 1000" "$r"
check "supervisor alive" sup_running
check_eq "... and serving" cc-ok "$(px echo cc-ok)"

# ---- silence and the 10 s deadline --------------------------------------------
echo "# four silent clients (nothing, half a header, half a frame, 1 byte/s)"
declare -A silent=()
for m in idle half-header half-frame slowloris; do
	hc "$m" >"$T/$m.out" &
	silent[$m]=$!
done
sleep 1
t0=$(now)
check_eq "a session is served while they hang" quiet-ok "$(px echo quiet-ok)"
el=$(elapsed_since "$t0")
check "... promptly (${el} s < 1 s)" test "${el%.*}" -lt 1
for m in idle half-header half-frame slowloris; do
	wait "${silent[$m]}"
	out=$(cat "$T/$m.out")
	secs=$(sed -n 's/.* closed after \([0-9]*\)\.[0-9] s$/\1/p' <<<"$out")
	check_match "$m: ERROR 255 at the deadline, then EOF" \
		$'ERROR 255 no complete request within 10 s\n(.*closed after[^\n]*\n)?EOF$' "$out"
	check "$m: closed 9-12 s after connecting (${secs:-?} s)" test "${secs:-99}" -ge 9 -a "${secs:-99}" -le 12
done

# ---- framing -------------------------------------------------------------------
r=$(hc bytewise)
check_eq "a session written one byte at a time" $'STARTED\nSTDOUT got bytewise\nEXIT 0 7\nEOF' "$r"
for len in 0x100001 0x80000000 0xffffffff; do
	r=$(hc oversized-first "$len")
	check_match "first frame of length $len: refused from the header" \
		$'^answered after 0\.[0-9] s\nERROR 255 [^\n]*exceeds limit 1048576\nEOF$' "$r"
done
r=$(hc oversized-in-session 0x7fffffff)
check_match "an oversized frame inside a session: STARTED, ERROR 255" $'^STARTED\nERROR 255 [^\n]*exceeds limit[^\n]*\nEOF$' "$r"
check "... and its process is gone" gone h-clients-marker
r=$(hc big-stdin)
check_match "a STDIN frame of 65537 bytes: ERROR 255" $'^STARTED\nERROR 255 [^\n]*65536[^\n]*\nEOF$' "$r"
check "... and its process is gone" gone h-clients-marker
for k in 0x00 0x08 0x7f 0x80 0x88 0xff; do
	r=$(hc unknown-in-session "$k")
	check_match "kind $k inside a session: STARTED, ERROR 255" $'^STARTED\nERROR 255 [^\n]+\nEOF$' "$r"
done
check "... and their processes are gone" gone h-clients-marker
r=$(hc stdin-after-eof)
check_match "STDIN after STDIN_EOF: ERROR 255 last" $'^STARTED\n(STDOUT a\n)?ERROR 255 [^\n]*STDIN after STDIN_EOF[^\n]*\nEOF$' "$r"
r=$(hc eof-twice)
check_match "STDIN_EOF twice: ERROR 255" $'^STARTED\nERROR 255 [^\n]+\nEOF$' "$r"
r=$(hc exec-in-session)
check_match "a second EXEC: ERROR 255" $'^STARTED\nERROR 255 [^\n]+\nEOF$' "$r"
r=$(hc stop-in-session)
check_match "STOP inside a session: ERROR 255" $'^STARTED\nERROR 255 [^\n]+\nEOF$' "$r"
check "... and the box keeps running" sup_running
for sig in 0 65; do
	r=$(hc bad-signal "$sig")
	check_match "SIGNAL $sig: ERROR 255" $'^STARTED\nERROR 255 [^\n]*out of range[^\n]*\nEOF$' "$r"
done
check "... and their processes are gone" gone h-clients-marker
check_eq "still serving" framing-ok "$(px echo framing-ok)"

# ---- floods ---------------------------------------------------------------------
for kind in resize signal; do
	r=$(hc flood 100000 "$kind")
	want="24 80"
	[ "$kind" = resize ] && want="33 99"
	check_contains "100,000 $kind frames: the session ends normally" "$r" $'EXIT 0 0\nEOF'
	out=$(sed -n 's/^STDOUT //p' <<<"$r" | tr -d '\r' | tr '|' '\n')
	check_eq "... its output is intact (the last size applied: $want)" "$want"$'\nflood-done' "$out"
	secs=$(sed -n 's/.*; ended \([0-9]*\)\.[0-9] s later$/\1/p' <<<"$r")
	check "... in good time (${secs:-?} s after the last frame; the process sleeps 2 s)" test "${secs:-99}" -le 10
done
rss=$(sup_rss_kb)
echo "# supervisor RSS after the floods: $rss kB (rest $RSS0 kB)"
check "supervisor memory after the floods within 4 MiB of rest" test $((rss - RSS0)) -lt 4096

# ---- vanishing clients -------------------------------------------------------------
r=$(hc exec-and-vanish 200)
check_eq "200 clients send EXEC and vanish" "DONE 200" "$r"
check "... none of their processes remains (after the 2 s hang-up grace)" gone h-clients-vanish 15
r=$(hc reset-during-output)
check_eq "a reset while 1 MiB of output streams" "READ 1048576" "$(sed 's/READ [0-9]*/READ 1048576/' <<<"$r" | grep READ)"
check "... cat is gone" gone h-clients-zero
check_eq "still serving" vanish-ok "$(px echo vanish-ok)"

# ---- 1,000 at once --------------------------------------------------------------------
# An abandoned session keeps its slot for the 2 s hang-up grace
# (docs/PROTOCOL.md, "Client disconnect"), even once its processes are gone.
sleep 2.5
echo "# 1000 sessions at once (max_sessions 256, connection slack 32, LimitNOFILE 1024); before: $(sup_fds) fds, $(timeout 10 "$PLANET" status --socket "$SOCK" | grep sessions)"
hc many 1000 'sleep 5' 60 >"$T/many.out"
sed 's/^/#   /' "$T/many.out"
n_ok=$(awk '$2 == "SESSION" && $3 == "EXIT" && $4 == 0 && $5 == 0 { n += $1 } END { print n + 0 }' "$T/many.out")
n_err=$(awk '$2 == "ERROR" && $3 == 255 && /too many (sessions|connections)/ { n += $1 } END { print n + 0 }' "$T/many.out")
check "1000 at once: max_sessions (256) sessions ran to completion ($n_ok; >= 200 allowed for timing)" \
	test "$n_ok" -ge 200 -a "$n_ok" -le 256
check_eq "... every other client got ERROR 255 'too many sessions/connections'" 1000 $((n_ok + n_err))
check_not_contains "... no session failed for lack of descriptors" "$(cat "$T/many.out")" "Too many open files"
check_not_contains "... none was dropped without a word" "$(cat "$T/many.out")" EOF_WITHOUT_FRAME
check_not_contains "... none was left hanging" "$(cat "$T/many.out")" OPEN
check "supervisor alive" sup_running
check "... no session process remains" gone h-clients-many 15
check_eq "... and it serves" many-ok "$(px echo many-ok)"

# ---- after all that --------------------------------------------------------------------
wait_for 10 test "$(sup_fds)" -le "$FDS0"
check_eq "descriptors back to the resting count" "$FDS0" "$(sup_fds)"
wait_for 5 no_zombies
check_eq "no zombies" 0 "$(box_zombies)"
run st timeout 10 "$PLANET" status --socket "$SOCK"
check_contains "status: no session left open" "$st" "sessions=0"
echo "# supervisor RSS at the end: $(sup_rss_kb) kB (rest $RSS0 kB)"
box_stop
check_eq "SIGTERM -> exit 0" 0 "$BOX_STATUS"
check_not_contains "no sanitizer report in the supervisor's output" "$(cat "$BOX_LOG")" "Sanitizer"
check_not_contains "no UBSan report in the supervisor's output" "$(cat "$BOX_LOG")" "runtime error:"
assert_nothing_left
finish
