#!/bin/bash
# t-remote: planet -H ssh:// against a real sshd (tests/lib/sshd.sh: its own
# keys and config on 127.0.0.1, stopped by the test however it ends), the
# client's ssh given by PLANET_SSH_COMMAND.
#   Over ssh as locally: the exit code, 20,000 lines of stdin whole (count
#   and checksum), stderr apart from stdout, a TTY's size and a resize,
#   SIGTERM to the client and Ctrl-C (SIGINT to its process group: ssh has
#   a group of its own) reach the process, status and ps, stop. -H after the command;
#   PLANET_HOST, and -H winning over it; -H unix://; -H with --socket and
#   bad URLs refused (exit 2, one line). Failures, one line each and exit
#   255: a port nothing listens on, a key sshd refuses, a remote without
#   planet on its PATH, a socket missing there. planet dial-stdio on its
#   own. No ssh and no dial-stdio left running after any of it.
# shellcheck disable=SC2016,SC2031,SC2034,SC2154
# (run VAR sets VAR, VAR_rc and VAR_err through printf -v)
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
# shellcheck source=../lib/lib.sh
. "$(dirname "$0")/../lib/lib.sh"
# shellcheck source=enter-helpers.sh
. "$(dirname "$0")/enter-helpers.sh"
# shellcheck source=../lib/sshd.sh
. "$(dirname "$0")/../lib/sshd.sh"
[ -x /usr/sbin/sshd ] || skip "needs openssh-server (scripts/deps.sh --test)"
command -v ssh >/dev/null || skip "needs openssh-client"
command -v script >/dev/null || skip "needs script (util-linux)"

# sshd goes with everything else, also when the test fails or is killed.
eval "lib_cleanup_box() $(declare -f lib_cleanup | tail -n +2)"
lib_cleanup() {
	sshd_stop
	lib_cleanup_box
}

box_start
sshd_start "$T/ssh" "$PLANET" || {
	fail "sshd started"
	finish
}
export PLANET_SSH_COMMAND="$SSHD_SSH"
URL="ssh://root@127.0.0.1:$SSHD_PORT$SOCK"

rx() {
	timeout -s KILL 60 "$PLANET" -H "$URL" "$@"
}

# Nothing of ssh's left on this side (the clients' command lines name the
# test's keys) nor dial-stdio on the other.
no_ssh_left() {
	! pgrep -f -- "-i $T/ssh/" >/dev/null && ! pgrep -f -- "dial-stdio --socket $T" >/dev/null
}
check_no_ssh_left() {
	if wait_for 5 no_ssh_left; then
		pass "$1: no ssh or dial-stdio left"
	else
		fail "$1: no ssh or dial-stdio left" "$(pgrep -af -- "$T" | grep -v sshd_config)"
	fi
}

# ---- sessions over ssh ---------------------------------------------------------
echo "# sessions"
rx exec -- sh -c 'exit 7'
check_eq "exec -- sh -c 'exit 7' over ssh gives 7" 7 "$?"
timeout -s KILL 60 "$PLANET" exec -H "$URL" -- sh -c 'exit 9'
check_eq "-H after the command" 9 "$?"
rx exec -- sh -c 'kill -TERM $$'
check_eq "killed by SIGTERM -> 143" 143 "$?"

run r rx exec -- sh -c 'echo to-out; echo to-err >&2'
check_eq "stdout apart" to-out "$r"
check_eq "stderr apart (and nothing of ssh in it)" to-err "$r_err"

seq 1 20000 >"$T/lines"
check_eq "20,000 lines of stdin arrive (wc -l in the box)" 20000 \
	"$(rx exec -i -- wc -l <"$T/lines" | tr -d ' ')"
check_eq "... whole (their checksum, sent back by cat)" "$(md5sum <"$T/lines")" \
	"$(rx exec -i -- cat <"$T/lines" | md5sum)"

# A terminal of 33 x 101 for the client (script's pty); the process's own
# terminal in the box gets that size.
out=$(script -qec "stty rows 33 cols 101; timeout -s KILL 60 '$PLANET' -H '$URL' exec -t -- stty size" \
	/dev/null </dev/null | tr -d '\r')
check_eq "TTY session: the client's window size inside (stty size)" "33 101" "$out"
check_eq "... and tty names the box's pty" yes \
	"$(script -qec "timeout -s KILL 60 '$PLANET' -H '$URL' exec -t -- tty" /dev/null </dev/null |
		grep -q '^/dev/pts/' && echo yes)"

# A resize mid-session: the client on a pty of 20 x 50 (its controlling
# terminal); once the process is up, the pty becomes 30 x 90 (the kernel
# sends the client SIGWINCH) and the process's trap prints its new size.
cat >"$T/resize.py" <<'EOF2'
import fcntl, os, pty, select, struct, sys, termios, time
pid, m = pty.fork()
if pid == 0:
    fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 20, 50, 0, 0))
    os.execvp(sys.argv[1], sys.argv[1:])
out, end, resized = b"", time.time() + 30, False
while time.time() < end:
    if not resized and b"ready" in out:
        fcntl.ioctl(m, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 90, 0, 0))
        resized = True
    r, _, _ = select.select([m], [], [], 0.5)
    if r:
        try:
            b = os.read(m, 4096)
        except OSError:
            break
        if not b:
            break
        out += b
os.waitpid(pid, 0)
sys.stdout.write(out.decode(errors="replace").replace("\r", ""))
EOF2
out=$(timeout -s KILL 60 python3 "$T/resize.py" "$PLANET" -H "$URL" exec -t -- \
	sh -c 'trap "stty size; exit 0" WINCH; stty size; echo ready; while :; do sleep 0.1; done')
check_eq "TTY resize mid-session reaches the process over ssh" "20 50 ready 30 90" "$(tr -s "\n" " " <<<"$out" | sed "s/ $//")"

# Signals to the client: forwarded as locally (t-enter's check).
# signal_reaches SIG CODE DESC [setsid]: a trap for SIG in the box exits
# CODE; SIG goes to the client (or, with setsid, to its process group).
signal_reaches() {
	local sig=$1 code=$2 desc=$3 group=${4:-} out=$T/sig-$1.out target
	: >"$out"
	${group:+setsid} env --default-signal=INT,QUIT "$PLANET" -H "$URL" exec -- \
		sh -c "trap 'echo got-$sig; exit $code' $sig; echo ready; while :; do sleep 0.1; done" >"$out" 2>&1 &
	cpid=$!
	target=$cpid
	[ -n "$group" ] && target=-$cpid
	if wait_for 20 grep -q ready "$out"; then
		kill -"$sig" -- "$target"
		wait_client "$cpid"
		check_eq "$desc" "$code got-$sig" "$WC_RC $(grep got- "$out")"
	else
		wait_client "$cpid" 0
		fail "$desc" "session did not start: $(cat "$out")"
	fi
}
signal_reaches TERM 7 "SIGTERM to the client reaches a trap in the box (exit 7)"
# Ctrl-C: SIGINT to the whole foreground process group. ssh is not in it,
# so the session goes on and the process gets the forwarded signal.
signal_reaches INT 5 "SIGINT to the client's process group reaches the box, ssh survives it" setsid
check_no_ssh_left "sessions"

# ---- the other commands, PLANET_HOST, unix:// --------------------------------------
echo "# commands and URLs"
run r env PLANET_HOST="$URL" timeout -s KILL 60 "$PLANET" status
check_eq "PLANET_HOST=ssh://... planet status: exit 0" 0 "$r_rc"
check_contains "... running=yes" "$r" "running=yes"
check_contains "... the box's id" "$r" "$BOX_ID"
run r env PLANET_HOST="ssh://127.0.0.1:1" "$PLANET" -H "unix://$SOCK" status
check_eq "-H unix://SOCK wins over PLANET_HOST" "0" "$r_rc"
run r env PLANET_HOST="unix://$SOCK" "$PLANET" status --json
check_contains "PLANET_HOST=unix://SOCK" "$r" '"running":true'
run r env PLANET_HOST="ssh://127.0.0.1:1" "$PLANET" status --socket "$SOCK"
check_eq "--socket wins over PLANET_HOST" 0 "$r_rc"
check_match "planet -H ssh:// ps lists the box's init (pid 1)" $'\n +1 +[0-9]+ root ' "$(rx ps)"

run r "$PLANET" -H "unix://$SOCK" status --socket "$SOCK"
check_eq "-H with --socket: exit 2" 2 "$r_rc"
check_eq "... one line" 1 "$(printf '%s\n' "$r_err" | wc -l)"
for bad in "tcp://127.0.0.1:22" "ssh://-oProxyCommand=x" "ssh://h:99999" "unix://relative.sock" "box1"; do
	run r "$PLANET" -H "$bad" status
	check_eq "-H '$bad': exit 2" 2 "$r_rc"
	check_eq "... one line naming it and what was expected" 1 \
		"$(printf '%s\n' "$r_err" | grep -cF "\"$bad\": expected unix:///PATH or ssh://")"
done
run r env PLANET_HOST=nope "$PLANET" exec -- true
check_eq "PLANET_HOST=nope: exit 2" 2 "$r_rc"
check_contains "... named" "$r_err" 'PLANET_HOST "nope"'
run r "$PLANET" -H "unix://$SOCK" start
check_eq "-H with start: exit 2" 2 "$r_rc"

# ---- failures: one line each -------------------------------------------------------
echo "# failures"
one_line_failure() { # DESC EXPECTED-TEXT CMD...
	local desc=$1 want=$2
	shift 2
	run r timeout -s KILL 60 "$@"
	check_eq "$desc: exit 255" 255 "$r_rc"
	check_eq "$desc: one line on stderr" 1 "$(printf '%s\n' "$r_err" | wc -l)"
	check_contains "$desc: says why" "$r_err" "$want"
	check_eq "$desc: nothing on stdout" "" "$r"
	check_no_ssh_left "$desc"
}
dead_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
one_line_failure "unreachable port" "Connection refused" \
	"$PLANET" -H "ssh://127.0.0.1:$dead_port" exec -- true
one_line_failure "a key sshd refuses" "Permission denied" \
	env PLANET_SSH_COMMAND="$SSHD_SSH_BADKEY" "$PLANET" -H "$URL" status
one_line_failure "no planet on the remote's PATH" "no planet command on 127.0.0.1" \
	env PLANET_SSH_COMMAND="$SSHD_SSH_NOPLANET" "$PLANET" -H "$URL" exec -- true
one_line_failure "no socket on the remote" "cannot connect to $T/nothere.sock" \
	"$PLANET" -H "ssh://root@127.0.0.1:$SSHD_PORT$T/nothere.sock" exec -- true

# No box at the remote socket is an answer for status and stop, as locally.
NOBOX="ssh://root@127.0.0.1:$SSHD_PORT$T/nothere.sock"
run r timeout -s KILL 60 "$PLANET" -H "$NOBOX" status
check_eq "status, no box at the remote socket: running=no, exit 3, stderr empty" "running=no 3 " \
	"$r $r_rc $r_err"
run r timeout -s KILL 60 "$PLANET" -H "$NOBOX" stop
check_eq "stop, no box there: exit 0" 0 "$r_rc"
check_contains "... saying so" "$r_err" "no box is running at $NOBOX"
check_no_ssh_left "no box at the remote socket"

# ---- dial-stdio by itself ----------------------------------------------------------
echo "# dial-stdio"
run r "$PLANET" dial-stdio --socket "$T/nothere.sock"
check_eq "dial-stdio, no socket: exit 3" 3 "$r_rc"
check_eq "... one line" 1 "$(printf '%s\n' "$r_err" | wc -l)"
run r "$PLANET" dial-stdio --bogus
check_eq "dial-stdio --bogus: exit 2" 2 "$r_rc"
# A STATUS request (PROTOCOL.md): dial-stdio relays it and the reply, then
# stdin's end reaches the server as the client's, which closes; exit 0.
printf '\0\0\0\3\7\0\3' >"$T/status.req"
run r sh -c "'$PLANET' dial-stdio --socket '$SOCK' <'$T/status.req' | od -An -c | tr -d ' \n'"
check_contains "dial-stdio relays a request and its answer, ends with the socket" "$r" "box_id="

# ---- stop over ssh -------------------------------------------------------------------
echo "# stop"
rx stop
check_eq "planet -H ssh:// stop: exit 0" 0 "$?"
box_wait 10
check_eq "... the box halted" 0 "$BOX_STATUS"
check_no_ssh_left "stop"
sshd_stop
if pgrep -f -- "-f $T/ssh/sshd_config" >/dev/null; then fail "sshd stopped"; else pass "sshd stopped"; fi
assert_nothing_left
finish
