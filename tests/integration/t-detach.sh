#!/bin/bash
# t-detach: planet exec -d/--detach.
#   The client returns 0 as soon as the process has started, printing
#   nothing; the process runs on after the client is gone (it waits for a
#   file the test makes only then); stdin, stdout and stderr are the box's
#   /dev/null (what the client's stdin held never reaches it; what it
#   writes reaches neither the client nor the console); status counts it
#   as sessions_detached (and in sessions) until it ends; its audit line
#   comes at the end, with its status and detached=yes; max_sessions
#   counts it; a halt ends it (audited as it ends); a command the
#   box does not have is still 127; -d with -t or -i is refused (exit 2);
#   a server from before the flag is named in one line.
# shellcheck disable=SC2016
# ('...' is for the box's shell)
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
# shellcheck source=../lib/lib.sh
. "$(dirname "$0")/../lib/lib.sh"
# shellcheck source=enter-helpers.sh
. "$(dirname "$0")/enter-helpers.sh"

status_key() {
	"$PLANET" status --socket "$SOCK" | sed -n "s/^$1=//p"
}

detached_is() {
	[ "$(status_key sessions_detached)" = "$1" ]
}

echo "# usage"
run r "$PLANET" exec --socket "$T/none.sock" -d -t -- true
check_eq "-d -t -> 2" 2 "$r_rc"
check_eq "... one line" 1 "$(printf '%s\n' "$r_err" | wc -l)"
check_contains "... naming --tty" "$r_err" "--detach with --tty"
run r "$PLANET" exec --socket "$T/none.sock" --detach -i -- true
check_eq "--detach -i -> 2" 2 "$r_rc"
check_contains "... naming --interactive" "$r_err" "--detach with --interactive"

echo "# a version 3 server from before the flag"
# It refuses the unknown bit as malformed (bad-request), as such a server
# does: the client names the cause in one line.
python3 - "$T/old.sock" <<'PY' &
import socket, struct, sys
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1]); s.listen(1)
c, _ = s.accept()
hdr = c.recv(5); n = struct.unpack(">I", hdr[:4])[0] - 1
got = b""
while len(got) < n:
    got += c.recv(n - len(got))
msg = b"EXEC: unknown flags 0x%02x" % (got[2] & ~3)
p = struct.pack(">IH", 255, 3) + msg
c.sendall(struct.pack(">IB", len(p) + 1, 0x85) + p)
c.close()
PY
OLDPID=$!
wait_for 5 test -S "$T/old.sock"
run r "$PLANET" exec --socket "$T/old.sock" -d -- true
check_eq "exec -d against it -> 255" 255 "$r_rc"
check_eq "... one line naming the cause" \
	"planet: the box's server is older than this client: it cannot run a command detached (EXEC flag 0x04)" "$r_err"
kill "$OLDPID" 2>/dev/null
wait "$OLDPID" 2>/dev/null

box_start --enter-max-sessions 3
wait_for 5 grep -q "box booted" "$BOX_LOG" || fail "box booted" "$(cat "$BOX_LOG")"
check_eq "no detached session at first" 0 "$(status_key sessions_detached)"

echo "# the client returns at once; the process runs on"
t0=$(now)
run r px -d -- sh -c 'echo out-to-nowhere; echo err-to-nowhere >&2
	cat >/tmp/d-stdin
	echo $(readlink /proc/$$/fd/0) $(readlink /proc/$$/fd/1) $(readlink /proc/$$/fd/2) >/tmp/d-fds.new
	mv /tmp/d-fds.new /tmp/d-fds
	while [ ! -e /tmp/d-go ]; do sleep 0.02; done; echo ran >/tmp/d-after; exit 7' <<<"secret-input"
check_eq "exec -d -> 0" 0 "$r_rc"
check_eq "... prints nothing on stdout" "" "$r"
check_eq "... nor on stderr" "" "$r_err"
echo "# returned after $(elapsed_since "$t0") s"
check "the process runs after the client returned" wait_for 5 in_box test -e /tmp/d-fds
check_not "... and has not finished (it waits for us)" in_box test -e /tmp/d-after
check_eq "status: sessions_detached=1" 1 "$(status_key sessions_detached)"
check_eq "status: sessions=1 (the total counts it)" 1 "$(status_key sessions)"
check_eq "stdin, stdout, stderr: the box's /dev/null" "/dev/null /dev/null /dev/null" \
	"$(in_box cat /tmp/d-fds)"
check_eq "nothing of the client's stdin reached it" "" "$(in_box cat /tmp/d-stdin)"
check_not "no audit line while it runs" grep -q 'argv="sh" "-c" "echo out-to-nowhere' "$BOX_LOG"
in_box touch /tmp/d-go
check "it finishes once told to" wait_for 5 in_box test -e /tmp/d-after
check "status: sessions_detached=0 once it ended" wait_for 5 detached_is 0
check_eq "status: sessions=0" 0 "$(status_key sessions)"
check "its audit line, at the end: exit:7, detached=yes" wait_for 5 grep -qE \
	'^planet-audit: enter: uid=0 pid=[0-9]+ user="root" cwd="~" tty=no argv="sh" "-c" "echo out-to-nowhere.* result=exit:7 detached=yes duration_ms=[0-9]+$' "$BOX_LOG"
check_not "its output reached neither the client nor the console" grep -qE '^console: .*to-nowhere' "$BOX_LOG"

echo "# failures still reach the client"
run r px -d -- no-such-command-here
check_eq "a command the box does not have -> 127" 127 "$r_rc"
check_contains "... with the box's word" "$r_err" "no-such-command-here"
check_eq "... and counts nothing" 0 "$(status_key sessions_detached)"

echo "# limits, signals, halt"
check_eq "detached sleep 1" 0 "$(px -d -- sleep 1000; echo $?)"
check_eq "detached sleep 2 (its own signal name in the audit)" 0 \
	"$(px -d -- sh -c 'kill -TERM $$'; echo $?)"
check "... which ended by SIGTERM: audit says so" wait_for 5 grep -qE \
	'argv="sh" "-c" "kill -TERM \$\$" result=signal:SIGTERM detached=yes' "$BOX_LOG"
check_eq "detached sleep 3" 0 "$(px -d -- sleep 1001; echo $?)"
check_eq "status: sessions_detached=2" 2 "$(status_key sessions_detached)"
check_eq "a third next to a plain session: 3 running" 0 "$(px -d -- sleep 1002; echo $?)"
run r px -- true
check_eq "max_sessions 3 counts the detached ones: the fourth is refused -> 255" 255 "$r_rc"
check_contains "... too many sessions" "$r_err" "too many sessions (limit 3)"
pids=$(box_pids_matching "sleep 100")
check_eq "three detached sleeps run in the box" 3 "$(printf '%s\n' $pids | grep -c .)"
box_stop
check_eq "SIGTERM -> 0" 0 "$BOX_STATUS"
# busybox init's SIGTERM to all comes first; the server's kill is for what
# survives that
check_eq "the halt ended them: three audit lines, detached=yes" 3 \
	"$(grep -cE 'argv="sleep" "100[012]" result=(signal:SIGTERM|signal:SIGKILL|killed:box-stopping) detached=yes' "$BOX_LOG")"
assert_nothing_left
finish
