#!/bin/bash
# t-enter-stress: many sessions at once on the supervisor's one loop.
#   200 concurrent sessions (stdout, stderr, exit code and, for half of
#   them, stdin each checked); 50 concurrent TTY sessions; idle and
#   half-sent connections do not block anyone; a client that stops reading
#   stalls only its own session, with the supervisor's memory bounded; a
#   process that never reads its stdin while the client pushes 100 MB: the
#   session still ends with the process's status, memory bounded; a burst of
#   garbage connections; 300 sessions in a row leave no descriptor, process
#   or zombie behind.
# shellcheck disable=SC2016,SC2031,SC2119,SC2154,SC2317
# (run VAR sets VAR, VAR_rc and VAR_err through printf -v; lib.sh functions take optional arguments)
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
# shellcheck source=../lib/lib.sh
. "$(dirname "$0")/../lib/lib.sh"
# shellcheck source=enter-helpers.sh
. "$(dirname "$0")/enter-helpers.sh"

box_start_at_rest

# ---- 200 at once -------------------------------------------------------------
echo "# 200 concurrent sessions"
N=200
mkdir -p "$T/c"
t0=$(now)
# Wait for these by pid: a bare `wait` would also wait for the supervisor.
pids=()
for i in $(seq 1 $N); do
	if [ $((i % 2)) = 0 ]; then
		(printf 'in-%s' "$i" | px -i -- sh -c 'echo "out-$1 $(cat)"; echo "err-$1" >&2; exit $(($1 % 100))' sh "$i" \
			>"$T/c/$i.out" 2>"$T/c/$i.err"
		echo $? >"$T/c/$i.rc") &
	else
		(px -- sh -c 'sleep 0.5; echo "out-$1"; echo "err-$1" >&2; exit $(($1 % 100))' sh "$i" \
			>"$T/c/$i.out" 2>"$T/c/$i.err"
		echo $? >"$T/c/$i.rc") &
	fi
	pids+=($!)
done
wait "${pids[@]}"
wrong=()
for i in $(seq 1 $N); do
	want_out="out-$i"
	[ $((i % 2)) = 0 ] && want_out="out-$i in-$i"
	got="$(cat "$T/c/$i.out" 2>/dev/null)|$(cat "$T/c/$i.err" 2>/dev/null)|$(cat "$T/c/$i.rc" 2>/dev/null)"
	[ "$got" = "$want_out|err-$i|$((i % 100))" ] || wrong+=("session $i: $got")
done
check_eq "$N concurrent sessions all correct ($(elapsed_since "$t0") s)" "0 wrong" "${#wrong[@]} wrong"
[ ${#wrong[@]} = 0 ] || printf '#   %s\n' "${wrong[@]:0:10}"
wait_for 10 test "$(sup_fds)" -le "$FDS0"
check_eq "descriptors back to the resting count" "$FDS0" "$(sup_fds)"

echo "# 50 concurrent TTY sessions"
pids=()
for i in $(seq 1 50); do
	(px -t -- sh -c 'echo "tty-$1 $(tty)"' sh "$i" >"$T/c/t$i.out" 2>&1
	echo $? >"$T/c/t$i.rc") &
	pids+=($!)
done
wait "${pids[@]}"
bad=0
for i in $(seq 1 50); do
	[[ $(tr -d '\r' <"$T/c/t$i.out") =~ ^tty-$i\ /dev/pts/[0-9]+$ ]] && [ "$(cat "$T/c/t$i.rc")" = 0 ] || bad=$((bad + 1))
done
check_eq "50 concurrent TTY sessions all correct" 0 "$bad"

# ---- idle and half-sent connections ---------------------------------------------------
echo "# idle connections"
python3 - "$SOCK" >"$T/idle.out" 2>&1 <<'EOF' &
import socket, struct, sys, time
conns = []
for i in range(50):
    c = socket.socket(socket.AF_UNIX)
    c.connect(sys.argv[1])
    if i % 2:
        c.sendall(struct.pack('>IB', 100, 1) + b'\0\1')  # half an EXEC
    conns.append(c)
print('open', flush=True)
time.sleep(8)
EOF
idle=$!
wait_for 10 grep -q open "$T/idle.out"
t0=$(now)
check_eq "a session while 50 connections idle or hang mid-frame" busy-ok "$(px echo busy-ok)"
echo "# ... took $(elapsed_since "$t0") s"
kill "$idle" 2>/dev/null
wait "$idle" 2>/dev/null
check_eq "and after they hang up" after-ok "$(px echo after-ok)"

# ---- a client that stops reading ---------------------------------------------------------
echo "# a client that stops reading"
python3 - "$SOCK" >"$T/slow.out" 2>&1 <<'EOF' &
import socket, struct, sys, time
def s(b): return struct.pack('>I', len(b)) + b
argv = [b'sh', b'-c', b'cat /dev/zero', b'slowreader-marker']
p = struct.pack('>HBHH', 1, 0, 0, 0) + struct.pack('>I', len(argv)) + b''.join(s(a) for a in argv)
p += struct.pack('>I', 0) + s(b'') + s(b'')
c = socket.socket(socket.AF_UNIX)
c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
c.connect(sys.argv[1])
c.sendall(struct.pack('>IB', len(p) + 1, 1) + p)
print('sent', flush=True)
time.sleep(60)
EOF
slow=$!
wait_for 10 grep -q sent "$T/slow.out"
wait_for 10 eval '! no_box_proc slowreader-marker'
sleep 3
rss1=$(sup_rss_kb)
sleep 2
rss2=$(sup_rss_kb)
check_eq "others are served meanwhile" still-ok "$(px echo still-ok)"
echo "# supervisor RSS: rest $RSS0 kB, stalled reader $rss1 kB then $rss2 kB"
check "supervisor memory bounded with a stalled reader (< 16 MiB growth)" test $((rss2 - RSS0)) -lt 16384
check "... and not growing" test $((rss2 - rss1)) -lt 2048
kill "$slow" 2>/dev/null
wait "$slow" 2>/dev/null
check "the stalled session's processes are gone after the hang-up" wait_for 10 no_box_proc slowreader-marker
check "... cat too" wait_for 10 no_box_proc "cat /dev/zero"

# ---- a process that never reads its stdin ---------------------------------------------------
echo "# a process that never reads stdin"
head -c 100M /dev/zero >"$T/zero100"
(px -i -- sh -c 'sleep 3; exit 4' <"$T/zero100" >/dev/null 2>&1
echo $? >"$T/noread.rc") &
nr=$!
sleep 2
rss3=$(sup_rss_kb)
wait "$nr"
check_eq "the session ends with the process's status though stdin was never read" 4 "$(cat "$T/noread.rc")"
echo "# supervisor RSS while 100 MB waited at a closed door: $rss3 kB"
check "supervisor memory bounded with unread stdin (< 16 MiB growth)" test $((rss3 - RSS0)) -lt 16384
rm -f "$T/zero100"

# ---- garbage burst ---------------------------------------------------------------------
echo "# garbage burst"
python3 - "$SOCK" <<'EOF'
import os, socket, struct, sys
for i in range(100):
    c = socket.socket(socket.AF_UNIX)
    c.connect(sys.argv[1])
    c.sendall(os.urandom(64) if i % 2 else struct.pack('>IB', 0xffffffff, 0x01))
    c.close()
EOF
check "supervisor survives 100 garbage connections" sup_running
check_eq "and serves" burst-ok "$(px echo burst-ok)"

# ---- 300 in a row ----------------------------------------------------------------------
echo "# 300 sessions in a row"
t0=$(now)
bad=0
for i in $(seq 1 300); do
	[ "$(px echo "$i")" = "$i" ] || bad=$((bad + 1))
done
check_eq "300 sequential sessions ($(elapsed_since "$t0") s)" 0 "$bad"
wait_for 10 test "$(sup_fds)" -le "$FDS0"
check_eq "no descriptor leaked" "$FDS0" "$(sup_fds)"
run st timeout 10 "$PLANET" status --socket "$SOCK"
check_contains "status: no session left open" "$st" "sessions=0"
wait_for 5 no_zombies
check_eq "no zombies" 0 "$(box_zombies)"
check_eq "no session process left in the box" "" "$(box_pids_matching 'sh -c')"

box_stop
check_eq "supervisor exits 0" 0 "$BOX_STATUS"
assert_nothing_left
finish
