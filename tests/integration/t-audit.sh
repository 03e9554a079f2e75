#!/bin/bash
# t-audit: nothing the box writes passes for planet's own lines.
#   Console lines reach the supervisor's stdout as "console: LINE" with the
#   box's control characters escaped (an unfinished line too, as a line of
#   its own); a fake audit line written to /dev/console from inside stays
#   a console line; the real audit line ("planet-audit: enter: ...") is
#   whole, on a line of its own, with argv, user and cwd quoted C-style, so
#   an argv holding a newline gives one line. With a journal socket (a fake
#   one, PLANET_TEST_JOURNAL_SOCKET), planet's lines go there as native
#   journal records: SYSLOG_IDENTIFIER planet or planet-audit, PRIORITY,
#   MESSAGE on one line; not to stderr too when JOURNAL_STREAM says stderr
#   is the journal (as under the unit), to both when it is not.
# shellcheck disable=SC2016,SC2154
# (run VAR sets VAR_rc and VAR_err through printf -v; '$x' is for the box's shell)
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
# shellcheck source=../lib/lib.sh
. "$(dirname "$0")/../lib/lib.sh"
# shellcheck source=enter-helpers.sh
. "$(dirname "$0")/enter-helpers.sh"

AUDIT_RE='^planet-audit: enter: uid=0 pid=[0-9]+ user="root" cwd="~" tty=no'

box_start
wait_for 5 grep -q "box booted" "$BOX_LOG" || fail "box booted" "$(cat "$BOX_LOG")"
check "console lines carry the prefix (console: box booted)" grep -qx "console: box booted" "$BOX_LOG"

echo "# a box process forges an audit line on /dev/console"
FAKE='enter: uid=1000 pid=4242 user="alice" cwd="~" tty=no argv="rm" "-rf" "/var/lib/data" result=exit:0 duration_ms=3'
in_box sh -c 'printf "%s\n" "$1" >/dev/console' sh "$FAKE"
in_box sh -c 'printf "%s\n" "$1" >/dev/console' sh "planet-audit: $FAKE"
in_box sh -c 'printf "bell\007esc\033[2Jback\\\\slash\001end\n" >/dev/console'
check "the forged line arrives, prefixed" wait_for 5 grep -qxF "console: $FAKE" "$BOX_LOG"
check "the forged line with planet's own prefix arrives, prefixed too" \
	wait_for 5 grep -qxF "console: planet-audit: $FAKE" "$BOX_LOG"
check_eq "no line that is not the console's carries the forged text" "" \
	"$(grep -F 'pid=4242' "$BOX_LOG" | grep -v '^console: ')"
check "the box's control characters are escaped C-style" \
	wait_for 5 grep -qxF 'console: bell\x07esc\x1b[2Jback\\slash\x01end' "$BOX_LOG"
check_eq "no raw control character in the supervisor's output" "" \
	"$(LC_ALL=C grep -n '[[:cntrl:]]' "$BOX_LOG" | head -n 3)"

in_box sh -c 'head -c 10000 /dev/zero | tr "\0" y >/dev/console; echo >/dev/console'
check "a 10000-byte console line arrives" wait_for 5 sh -c '[ "$(grep -cE "^console: y+$" "$1")" -ge 3 ]' sh "$BOX_LOG"
check_eq "... in pieces of at most 4096 bytes, each a prefixed line" "4096 4096 1808" \
	"$(grep -E '^console: y+$' "$BOX_LOG" | awk '{ printf "%s%d", (NR > 1 ? " " : ""), length($0) - 9 }')"

echo "# the real audit line"
run r px -- echo hello
check_eq "exec works" hello "$r"
check "the real audit line is whole and marked planet-audit" \
	wait_for 5 grep -qE "$AUDIT_RE"' argv="echo" "hello" result=exit:0 duration_ms=[0-9]+$' "$BOX_LOG"
check_eq "the real and the forged line differ in their first word" "console: enter:" \
	"$(grep -F 'pid=4242' "$BOX_LOG" | head -n 1 | cut -d' ' -f1-2)"

echo "# an argv with a newline gives one audit line"
nl_arg=$'x\nplanet-audit: enter: uid=0 forged=yes'
run r px -- echo "$nl_arg"
check_eq "the newline reaches the process" "$nl_arg" "$r"
check "its audit line keeps the argument on one line, as \\n" \
	wait_for 5 grep -qE "$AUDIT_RE"' argv="echo" "x\\nplanet-audit: enter: uid=0 forged=yes" result=exit:0' "$BOX_LOG"
check_eq "no line starts with the argument's second half" "" "$(grep -n '^planet-audit: enter: uid=0 forged' "$BOX_LOG")"
run r px -w /tmp -- sh -c 'exit 3'
check "cwd is in the audit line, quoted" wait_for 5 grep -qE '^planet-audit: enter: .* cwd="/tmp" .*result=exit:3 ' "$BOX_LOG"

echo "# an unfinished console line, then planet's own line"
in_box sh -c 'printf "login: " >/dev/console'
check "an unfinished line is passed on as a prefixed line of its own" wait_for 5 grep -qx "console: login: " "$BOX_LOG"
run r px -- true
wait_for 5 grep -qE "$AUDIT_RE"' argv="true"' "$BOX_LOG"
check_eq "the audit line after it starts a line of its own (none glued to console text)" \
	"$(grep -c 'argv="true"' "$BOX_LOG")" "$(grep -cE '^planet-audit: enter: .* argv="true" ' "$BOX_LOG")"
box_stop
check_eq "SIGTERM -> 0" 0 "$BOX_STATUS"
check "lifecycle lines are planet's: planet: box halted" grep -qx "planet: box halted" "$BOX_LOG"
check_eq "every line is the console's or planet's" "" \
	"$(grep -vE '^(console|planet|planet-audit): ' "$BOX_LOG" | head -n 3)"
check_eq "every audit line is whole (nothing glued after duration_ms)" "" \
	"$(grep '^planet-audit: ' "$BOX_LOG" | grep -vE ' duration_ms=[0-9]+$' | head -n 3)"
assert_nothing_left

echo "# a journal socket: native records"
JSOCK=$T/journal.sock
JOUT=$T/journal.records
cat >"$T/journal.py" <<'PY'
# A stand-in for journald's native socket: one datagram per record of
# "KEY=VALUE\n" fields; each record is printed as PRIORITY<TAB>IDENT<TAB>MESSAGE
# (a record in another form is printed as BAD<TAB>repr).
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(120)
with open(sys.argv[2], "a") as out:
    while True:
        try:
            d = s.recv(65536)
        except socket.timeout:
            break
        t = d.decode("utf-8", "replace")
        f = {}
        ok = t.endswith("\n")
        for line in t[:-1].split("\n"):
            k, eq, v = line.partition("=")
            ok = ok and eq == "=" and k.isupper()
            f[k] = v
        if ok and set(f) == {"PRIORITY", "SYSLOG_IDENTIFIER", "MESSAGE"}:
            out.write("%s\t%s\t%s\n" % (f["PRIORITY"], f["SYSLOG_IDENTIFIER"], f["MESSAGE"]))
        else:
            out.write("BAD\t%r\n" % d)
        out.flush()
PY
: >"$JOUT"
python3 "$T/journal.py" "$JSOCK" "$JOUT" &
JPID=$!
wait_for 5 test -S "$JSOCK" || fail "fake journal socket bound"
# As under the unit: stderr is the journal's stream (JOURNAL_STREAM names
# it), so planet's lines go to the journal only. box_start truncates the
# log file it is given, keeping its inode.
next_log=$T/console-$((BOX_N + 1)).log
: >"$next_log"
BOX_WRAP=(env "PLANET_TEST_JOURNAL_SOCKET=$JSOCK" "JOURNAL_STREAM=$(stat -c '%d:%i' "$next_log")")
box_start
BOX_WRAP=()
check_eq "the box logs where JOURNAL_STREAM says" "$next_log" "$BOX_LOG"
check "the start record: planet, priority 6 (info)" \
	wait_for 5 grep -qE "^6	planet	box $BOX_ID running, init pid $INIT_PID" "$JOUT"
run r px -- echo "$nl_arg"
check_eq "exec works with a journal" "$nl_arg" "$r"
check "the audit record: planet-audit, priority 5 (notice), the argv on one line" \
	wait_for 5 grep -qE '^5	planet-audit	enter: uid=0 pid=[0-9]+ user="root" cwd="~" tty=no argv="echo" "x\\nplanet-audit: enter: uid=0 forged=yes" result=exit:0 duration_ms=[0-9]+$' "$JOUT"
in_box sh -c 'printf "%s\n" "$1" >/dev/console' sh "$FAKE"
check "console output still goes to stdout, prefixed" wait_for 5 grep -qxF "console: $FAKE" "$BOX_LOG"
box_stop
check_eq "SIGTERM -> 0 (with a journal)" 0 "$BOX_STATUS"
check "the halt records: planet, priority 5" grep -qE '^5	planet	box halted$' "$JOUT"
check_eq "every datagram was a well-formed native record" "" "$(grep '^BAD' "$JOUT" | head -n 3)"
check_eq "no record from the box" "" "$(grep -F 'pid=4242' "$JOUT")"
check_eq "with a journal that has stderr too, planet's lines are not written twice" "" "$(grep -E '^planet(-audit)?: ' "$BOX_LOG")"

echo "# a journal, stderr elsewhere (run by hand): both have planet's lines"
: >"$JOUT"
BOX_WRAP=(env "PLANET_TEST_JOURNAL_SOCKET=$JSOCK")
box_start
BOX_WRAP=()
run r px -- echo both
check "the audit record reaches the journal" wait_for 5 grep -qE '^5	planet-audit	enter: .* argv="echo" "both" ' "$JOUT"
check "... and stderr" wait_for 5 grep -qE '^planet-audit: enter: .* argv="echo" "both" ' "$BOX_LOG"
box_stop
check_eq "SIGTERM -> 0" 0 "$BOX_STATUS"
check "the halt line is in both" sh -c 'grep -qE "^5	planet	box halted$" "$1" && grep -qx "planet: box halted" "$2"' sh "$JOUT" "$BOX_LOG"
kill "$JPID" 2>/dev/null
wait "$JPID" 2>/dev/null
assert_nothing_left
finish
