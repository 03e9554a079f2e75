#!/bin/bash
# t-enter: planet exec / status / stop against a real busybox box, no TTY.
#   exit codes 0/1/42/126/127/137; CMD found on the box's PATH, not the
#   host's; stdout and stderr apart; stdin is /dev/null without -i; -i
#   streams 100 MB through sha256sum and through cat both ways, and EOF
#   reaches the process; users, groups and HOME from the box's own
#   /etc/passwd and /etc/group; cwd; env (request, -e NAME, the proxy env
#   file, nothing leaked from the client); signals forwarded to a trapped
#   handler; a killed client leaves nothing in the box (also when the
#   process ignores SIGHUP); no zombies; hostile frames (garbage, truncated,
#   oversized, unknown, malformed requests, wrong order) are refused with an
#   ERROR and the supervisor keeps serving; status (key=value, --json,
#   sessions); stop halts and returns when the box is gone; after that
#   status says "not running" and exec fails with 255; peer credentials:
#   socket modes, a non-member is refused, group members (primary or
#   supplementary) are let in. The session spawner: one per box, unseen
#   inside, sessions born in the box's cgroups as the supervisor's
#   children, a killed spawner replaced and reaped, none left after stop.
# shellcheck disable=SC2016,SC2031,SC2119,SC2154,SC2317
# (run VAR sets VAR, VAR_rc and VAR_err through printf -v; lib.sh functions take optional arguments)
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
# shellcheck source=../lib/lib.sh
. "$(dirname "$0")/../lib/lib.sh"
# shellcheck source=enter-helpers.sh
. "$(dirname "$0")/enter-helpers.sh"

# A command and a user that exist only in the box.
mkdir -p "$ROOTFS/usr/local/bin"
printf '#!/bin/sh\necho only-in-box "$@"\n' >"$ROOTFS/usr/local/bin/boxonly-cmd"
chmod 0755 "$ROOTFS/usr/local/bin/boxonly-cmd"
echo 'boxonly:x:4321:4322:Box Only:/tmp:/bin/sh' >>"$ROOTFS/etc/passwd"
echo 'boxgrp:x:4322:' >>"$ROOTFS/etc/group"

box_start --env 'HTTP_PROXY=http://proxy.example:3128,NO_PROXY="localhost,.corp"'
wait_for 5 grep -q "box booted" "$BOX_LOG" || fail "box booted" "$(cat "$BOX_LOG")"

# ---- exit codes -----------------------------------------------------------
echo "# exit codes"
rc_of() {
	"$@" >/dev/null 2>&1
	echo $?
}
check_eq "true -> 0" 0 "$(rc_of px true)"
check_eq "false -> 1" 1 "$(rc_of px false)"
check_eq "exit 42 -> 42" 42 "$(rc_of px sh -c 'exit 42')"
check_eq "killed by SIGKILL -> 137" 137 "$(rc_of px sh -c 'kill -9 $$')"
check_eq "killed by SIGTERM -> 143" 143 "$(rc_of px sh -c 'kill -TERM $$')"
run r px /etc/passwd
check_eq "not executable -> 126" 126 "$r_rc"
check_match "not executable: one line on stderr" '^planet: [^
]+$' "$r_err"
check_eq "a directory -> 126" 126 "$(rc_of px /tmp)"
run r px no-such-command-xyz
check_eq "not found -> 127" 127 "$r_rc"
check_contains "not found: the message names the command" "$r_err" "no-such-command-xyz"
check_eq "no such path -> 127" 127 "$(rc_of px /no/such/path)"
run r px boxonly-cmd a b
check_eq "CMD found on the box's PATH" "only-in-box a b" "$r"
check_eq "a host-only command is not found in the box -> 127" 127 "$(rc_of px python3 -c 1)"
# docs/PROTOCOL.md, section 8: a script whose #! interpreter is missing is
# 127, as a missing command (execve says ENOENT for both).
printf '#!/no-such-interpreter\necho ran\n' >"$ROOTFS/tmp/noint"
chmod 0755 "$ROOTFS/tmp/noint"
run r px /tmp/noint
check_eq "a script whose interpreter is missing -> 127, nothing ran" "127 " "$r_rc $r"
check_contains "... the message names the script" "$r_err" "exec /tmp/noint: No such file or directory"
rm -f "$ROOTFS/tmp/noint"
# Section 5: a uid without a passwd entry gets no USER nor LOGNAME.
run r px -u 4242 sh -c 'echo "${USER-unset} ${LOGNAME-unset} $HOME $SHELL $(id -u)"'
check_eq "uid 4242 (no passwd entry): no USER, no LOGNAME, HOME=/, SHELL=/bin/sh" \
	"unset unset / /bin/sh 4242" "$r"

# ---- stdout, stderr, stdin ----------------------------------------------------
echo "# streams"
px sh -c 'echo to-out; echo to-err >&2' >"$T/o" 2>"$T/e"
check_eq "stdout arrives on stdout" to-out "$(cat "$T/o")"
check_eq "stderr arrives on stderr" to-err "$(cat "$T/e")"
px sh -c 'i=0; while [ $i -lt 2000 ]; do echo o$i; echo e$i >&2; i=$((i+1)); done' >"$T/o" 2>"$T/e"
check_eq "2000 interleaved lines: stdout only o-lines" "2000 0" \
	"$(grep -c '^o' "$T/o") $(grep -c '^e' "$T/o")"
check_eq "2000 interleaved lines: stderr only e-lines, in order" "2000 e1999" \
	"$(grep -c '^e' "$T/e") $(tail -n 1 "$T/e")"
run r sh -c "echo typed | timeout -s KILL 20 '$PLANET' exec --socket '$SOCK' -- sh -c 'cat; echo end'"
check_eq "without -i the process reads nothing" end "$r"
check_eq "without -i stdin is /dev/null" /dev/null "$(px readlink /proc/self/fd/0)"
run r sh -c "printf 'a\nb\n' | timeout -s KILL 20 '$PLANET' exec --socket '$SOCK' -i cat"
check_eq "-i: stdin reaches cat" "a
b" "$r"
run r sh -c "timeout -s KILL 20 '$PLANET' exec --socket '$SOCK' -i -- sh -c 'cat >/dev/null; echo eof-seen' </dev/null"
check_eq "-i: EOF reaches the process" eof-seen "$r"

head -c 100M /dev/urandom >"$T/big"
want=$(sha256sum <"$T/big" | cut -d' ' -f1)
t0=$(now)
got=$(px -i sha256sum <"$T/big" | cut -d' ' -f1)
check_eq "-i: 100 MB through sha256sum in the box ($(elapsed_since "$t0") s)" "$want" "$got"
t0=$(now)
got=$(px -i cat <"$T/big" | sha256sum | cut -d' ' -f1)
check_eq "-i: 100 MB through cat, both ways ($(elapsed_since "$t0") s)" "$want" "$got"
check_eq "50 MB of stdout" 52428800 "$(px head -c 52428800 /dev/zero | wc -c)"
rm -f "$T/big"
run r sh -c "timeout -s KILL 20 '$PLANET' exec --socket '$SOCK' -- seq 1 10000000 | head -n 2"
check_eq "a reader that stops early: output up to there" "1
2" "$r"

# ---- user, cwd, env --------------------------------------------------------------
echo "# user, cwd, env"
run r px -u alice id
check_contains "-u alice: uid from the box's passwd" "$r" "uid=1000(alice) gid=1000(alice)"
check_contains "-u alice: supplementary groups from the box's group file" "$r" "50(staff)"
check_eq "-u alice:staff sets the group" 50 "$(px -u alice:staff id -g)"
check_eq "-u 1000 (numeric)" 1000 "$(px -u 1000 id -u)"
check_eq "-u 1000:50 (numeric)" "1000 50" "$(px -u 1000:50 sh -c 'echo $(id -u) $(id -g)')"
check_eq "-u boxonly: a user only the box knows" "4321 4322 /tmp boxonly" \
	"$(px -u boxonly sh -c 'echo $(id -u) $(id -g) $HOME $USER')"
run r px -u no-such-user true
check_eq "unknown user -> 255" 255 "$r_rc"
check_contains "unknown user: the message names it" "$r_err" "no-such-user"
check_eq "root: HOME, USER, cwd" "/root root /root" "$(px sh -c 'echo $HOME $USER $(pwd)')"
check_eq "alice: HOME, USER, cwd" "/home/alice alice /home/alice" \
	"$(px -u alice sh -c 'echo $HOME $USER $(pwd)')"
check_eq "-w /tmp" /tmp "$(px -w /tmp pwd)"
check_eq "-w /nonexistent -> 126" 126 "$(rc_of px -w /nonexistent pwd)"
check_eq "-e NAME=VALUE, with spaces and an empty value" "bar|a b||" \
	"$(px -e FOO=bar -e 'SP=a b' -e EMPTY= sh -c 'echo "$FOO|$SP|$EMPTY|${UNSET:-}"')"
check_eq "the later -e wins" 2 "$(px -e X=1 -e X=2 sh -c 'echo $X')"
check_eq "the client's environment is not passed" unset \
	"$(LEAKME=1 px sh -c 'echo ${LEAKME:-unset}')"
check_eq "-e NAME passes the client's value" yes "$(PASSME=yes px -e PASSME sh -c 'echo $PASSME')"
for bad in '1BAD=x' 'A B=c' '-=x'; do
	run r px -e "$bad" true
	check_eq "-e '$bad': refused as start --env refuses it (255)" 255 "$r_rc"
	check_contains "... one line naming it" "$r_err" "--env '$bad'"
done
printf '%s\n' '# a comment' '' 'PLAIN=a b' 'QUOTED="x y"' "SQ='z'" '  INDENT=i' 'PASSED' 'EQ=a=b' >"$T/envf"
check_eq "--env-file: docker's format (values as written, bare NAME passed, comments skipped)" \
	"a b|\"x y\"|'z'|i|from-client|a=b" \
	"$(PASSED=from-client px --env-file "$T/envf" sh -c 'echo "$PLAIN|$QUOTED|$SQ|$INDENT|$PASSED|$EQ"')"
check_eq "--env-file, then -e: the later wins" later \
	"$(px --env-file "$T/envf" -e PLAIN=later sh -c 'echo "$PLAIN"')"
printf 'OK=1\n9BAD=2\n' >"$T/envbad"
run r px --env-file "$T/envbad" true
check_eq "--env-file with a bad name: 255" 255 "$r_rc"
check_contains "... naming the line" "$r_err" "line 2"
run r px --env-file "$T/no-such-file" true
check_eq "--env-file missing: 255" 255 "$r_rc"
t0=$(now)
run r px --timeout 1 sh -c 'sleep 30 & sleep 31; echo not-reached'
check_eq "--timeout 1 on a sleep: 124, as timeout(1)" 124 "$r_rc"
check_contains "... saying so" "$r_err" "timed out after 1 s"
check "... in about the timeout" awk -v e="$(elapsed_since "$t0")" 'BEGIN { exit !(e < 4) }'
check "... its children are gone too" wait_for 5 no_box_proc "sleep 30"
run r px --timeout 1 sh -c 'trap "" TERM; sleep 32'
check_eq "--timeout: a command that ignores SIGTERM is killed after the grace (124)" 124 "$r_rc"
check "... nothing of it left" wait_for 5 no_box_proc "sleep 32"
check_eq "--timeout not reached: the command's own status" 3 "$(rc_of px --timeout 5 sh -c 'exit 3')"
run r px --timeout 0 true
check_eq "--timeout 0: refused (255)" 255 "$r_rc"
check_contains "PATH default" "$(px sh -c 'echo $PATH')" /usr/bin
check_eq "proxy env file applied" "http://proxy.example:3128|localhost,.corp" \
	"$(px sh -c 'echo "$HTTP_PROXY|$NO_PROXY"')"
check_eq "request env overrides the proxy env file" override \
	"$(px -e HTTP_PROXY=override sh -c 'echo $HTTP_PROXY')"

# ---- signals ---------------------------------------------------------------------
echo "# signals"
# A background job of a non-interactive shell starts with INT and QUIT
# ignored; reset them so the client sees what a terminal would send.
for sig in TERM INT HUP USR1 QUIT; do
	: >"$T/sig.out"
	pxbg -- sh -c "trap 'echo got-$sig; exit 7' $sig; echo ready; while :; do sleep 0.1; done" \
		>"$T/sig.out" 2>&1 &
	cpid=$!
	if wait_for 10 grep -q ready "$T/sig.out"; then
		kill -s "$sig" "$cpid"
		wait_client "$cpid"
		check_eq "SIG$sig reaches a trap in the box (exit 7)" "7 got-$sig" "$WC_RC $(grep got- "$T/sig.out")"
	else
		wait_client "$cpid" 0
		fail "SIG$sig reaches a trap in the box" "session did not start: $(cat "$T/sig.out")"
	fi
done
: >"$T/sig.out"
pxbg sh -c 'echo ready; exec sleep 100' >"$T/sig.out" 2>&1 &
cpid=$!
wait_for 10 grep -q ready "$T/sig.out"
kill -USR2 "$cpid"
wait_client "$cpid"
check_eq "untrapped SIGUSR2 kills the process -> 140" 140 "$WC_RC"

# ---- a client that goes away ------------------------------------------------------
echo "# client killed mid-session"
: >"$T/k.out"
pxbg sh -c 'echo ready; exec sleep 1234' >"$T/k.out" 2>&1 &
cpid=$!
wait_for 10 grep -q ready "$T/k.out"
check_not "the session's process runs" no_box_proc "sleep 1234"
kill -KILL "$cpid"
wait "$cpid" 2>/dev/null
check "client SIGKILLed: its process is gone from the box" wait_for 10 no_box_proc "sleep 1234"
: >"$T/k.out"
pxbg sh -c 'trap "" HUP; echo ready; sleep 1235; sleep 1235' >"$T/k.out" 2>&1 &
cpid=$!
wait_for 10 grep -q ready "$T/k.out"
kill -KILL "$cpid"
wait "$cpid" 2>/dev/null
check "client SIGKILLed, process ignores SIGHUP: killed after the grace" \
	wait_for 15 no_box_proc "sleep 1235"
wait_for 5 no_zombies
check_eq "no zombies (supervisor's children, box)" 0 "$(box_zombies)"

# ---- hostile frames -----------------------------------------------------------------
echo "# hostile frames"
for m in garbage zero oversized unknown server-kind stdin-first badsize argc0 nul count \
	overrun version flags relcwd status-version; do
	r=$(rawframes "$m")
	check_match "$m: refused with ERROR 255, then closed" '^ERROR 255 [^
]+
EOF$' "$r"
done
r=$(rawframes oversized)
check_contains "oversized: the message gives length and limit" "$r" "2147483647"
r=$(rawframes empty-stdin)
check_match "an empty STDIN frame: ERROR 255 (maybe after STARTED)" '^(FRAME 0x81
)?ERROR 255 [^
]+
EOF$' "$r"
r=$(rawframes stdin-unwanted)
check_match "STDIN without stdin wanted: STARTED, then ERROR 255" '^FRAME 0x81
ERROR 255 [^
]+
EOF$' "$r"
check "... and the session's process is gone" wait_for 10 no_box_proc rawframes-unwanted
r=$(rawframes second-exec)
check_match "a second EXEC: STARTED, then ERROR 255" '^FRAME 0x81
ERROR 255 ' "$r"
check "... and the session's process is gone" wait_for 10 no_box_proc rawframes-second
check_eq "truncated frame, then hang-up" SENT "$(rawframes truncated)"
check_eq "a raw well-formed request still works" "FRAME 0x81
STDOUT raw-ok
FRAME 0x84
EOF" "$(rawframes ok)"

# ---- versions 2 and 3 ---------------------------------------------------------------
echo "# version 3 error codes, version 2 unchanged"
check_eq "a version 2 request runs as before" "FRAME 0x81
STDOUT v2-ok
FRAME 0x84
EOF" "$(rawframes v2-ok)"
check_eq "a version 3 request runs" "FRAME 0x81
STDOUT v3-ok
FRAME 0x84
EOF" "$(rawframes v3-ok)"
nl='
'
expect_raw() { # MODE DESCRIPTION REGEX: one ERROR line matching, then EOF
	check_match "$2" "^$3${nl}EOF\$" "$(rawframes "$1")"
}
expect_raw v2-nosuch "v2: not found -> ERROR 127, no code, marked" \
	'ERROR 127 in the box: exec nosuch-cmd: not found in PATH=[^[:cntrl:]]+'
expect_raw v3-nosuch "v3: not found -> 127 [not-found], marked" \
	'ERROR 127 \[not-found\] in the box: exec nosuch-cmd: not found in PATH=[^[:cntrl:]]+'
expect_raw v3-noexec "v3: not executable -> 126 [not-executable]" \
	'ERROR 126 \[not-executable\] in the box: exec /etc/hosts: Permission denied'
expect_raw v3-nocwd "v3: a cwd that cannot be entered -> 126 [not-executable]" \
	'ERROR 126 \[not-executable\] in the box: chdir /nosuch-dir: No such file or directory'
expect_raw v3-nouser "v3: an unknown user -> 255 [exec-failed]" \
	'ERROR 255 \[exec-failed\] in the box: user "nosuch-user" not found in the box'"'"'s /etc/passwd'
expect_raw v3-argc0 "v3: argc 0 -> 255 [bad-request]" \
	'ERROR 255 \[bad-request\] EXEC: argc is 0 \(a command is required\)'
expect_raw v3-relcwd "v3: a relative cwd -> 255 [bad-request]" \
	'ERROR 255 \[bad-request\] EXEC: cwd must be empty or an absolute path'
expect_raw v3-badenv "v3: an env entry without = -> 255 [bad-request]" \
	'ERROR 255 \[bad-request\] EXEC: env entry 0 is not NAME=VALUE'
expect_raw version "version 4 -> 255 [version], in version 3's layout" \
	'ERROR 255 \[version\] EXEC: protocol version 4 is not supported \(this side speaks 1 to 3\)'
expect_raw status-version "STATUS version 9 -> 255 [version]" \
	'ERROR 255 \[version\] STATUS: protocol version 9 is not supported \(this side speaks 1 to 3\)'
check_match "v3: STDIN without stdin wanted -> STARTED, then [bad-request]" \
	"^FRAME 0x81${nl}ERROR 255 \\[bad-request\\] protocol error: STDIN without stdin wanted${nl}EOF\$" \
	"$(rawframes v3-stdin-unwanted)"
check "... and the session's process is gone" wait_for 10 no_box_proc rawframes-v3u
check_eq "v3: STATUS -> STATUS_REPLY, then the close" "FRAME 0x86${nl}EOF" "$(rawframes v3-status)"
check_eq "frames after STATUS are ignored: the reply, the close, no ERROR" \
	"FRAME 0x86${nl}EOF" "$(rawframes v3-status-more)"
# Values the client chose are escaped, C-style, in every version: one line
# of UTF-8, no NUL, no newline.
r=$(rawframes v3-quoted)
check_contains "v3: argv with a newline, ff fe and a backslash, escaped" "$r" \
	'ERROR 127 [not-found] in the box: exec no\nsuch\xff\xfe\\: not found in PATH='
check_not_contains "... one line of UTF-8" "$r" BADTEXT
r=$(rawframes v2-quoted)
check_contains "v2: the same escapes" "$r" 'ERROR 127 in the box: exec no\nsuch\xff\xfe: not found'
r=$(rawframes v3-quoted-user)
check_contains "v3: a user name with a newline and ff, escaped" "$r" \
	'ERROR 255 [exec-failed] in the box: user "a\nb\xff" not found'
check_not_contains "... one line of UTF-8" "$r" BADTEXT
run r px nosuch-cmd
check_eq "planet exec (asks for 3): not found -> 127, the message without its code" \
	"127 planet: in the box: exec nosuch-cmd: not found" "$r_rc ${r_err%% in PATH=*}"

check "the supervisor is still running" sup_running
check_eq "and still serves planet exec" alive "$(px echo alive)"

# ---- the session spawner ------------------------------------------------------------
echo "# session spawner"
spawner_of_sup() { pgrep -P "$SUP_PID" -x planet-spawner; }
sp=$(spawner_of_sup)
check_eq "one session spawner, a child of the supervisor" 1 "$(printf '%s' "$sp" | grep -c .)"
check_not_contains "the box's ps does not see it" "$(px sh -c 'cat /proc/[0-9]*/comm')" planet-spawner
# Sessions are born in the box's cgroups: v1 hierarchies at the box's root,
# the unified one in the planet-enter leaf (docs/CGROUPS.md).
want_cg=$(sed 's|^\(0::/\).*|\1planet-enter|; /^0::/!s|^\([0-9]*:[^:]*:\).*|\1/|' "/proc/$INIT_PID/cgroup")
check_eq "a session's cgroups, seen inside" "$want_cg" "$(px cat /proc/self/cgroup)"
want_cg=$(sed 's|^\(0::.*\)$|\1/planet-enter|' "/proc/$INIT_PID/cgroup")
check_eq "the spawner's cgroups, seen from the host" "$want_cg" "$(cat "/proc/$sp/cgroup")"
: >"$T/sp.out"
pxbg sh -c 'echo ready; exec sleep 1236' >"$T/sp.out" 2>&1 &
cpid=$!
wait_for 10 grep -q ready "$T/sp.out"
hp=$(box_pids_matching "sleep 1236")
check_eq "a session's process is the supervisor's child" "$SUP_PID" "$(ps -o ppid= -p "$hp" | tr -d ' ')"
kill -KILL "$cpid"
wait "$cpid" 2>/dev/null
kill -KILL "$sp"
check "a killed spawner: the next exec still works" test "$(px echo after)" = after
sp2=$(spawner_of_sup)
check "... through a new spawner" test -n "$sp2" -a "$sp2" != "$sp"
check_eq "... and the dead one was reaped" 0 "$(box_zombies)"

# ---- status -------------------------------------------------------------------
echo "# status"
pxbg sh -c 'echo ready; exec sleep 5' >"$T/s.out" 2>&1 &
cpid=$!
wait_for 10 grep -q ready "$T/s.out"
run st timeout 10 "$PLANET" status --socket "$SOCK"
check_eq "status exits 0 while running" 0 "$st_rc"
check_contains "status: running=yes" "$st" "running=yes"
check_contains "status: state=running" "$st" "state=running"
check_contains "status: the box id" "$st" "box_id=$BOX_ID"
check_contains "status: init pid" "$st" "init_pid=$INIT_PID"
check_contains "status: rootfs" "$st" "rootfs=$ROOTFS"
check_contains "status: one open session" "$st" "sessions=1"
check_match "status: uptime" $'(^|\n)uptime_sec=[0-9]+(\n|$)' "$st"
run js timeout 10 "$PLANET" status --socket "$SOCK" --json
check "status --json parses, running true, numbers are numbers" python3 -c '
import json, sys
d = json.loads(sys.argv[1])
assert d["running"] is True, d
assert d["init_pid"] == int(sys.argv[2]), d
assert d["box_id"] == sys.argv[3], d
assert isinstance(d["uptime_sec"], int) and isinstance(d["sessions"], int), d
' "$js" "$INIT_PID" "$BOX_ID"
kill -KILL "$cpid" 2>/dev/null
wait "$cpid" 2>/dev/null

# ---- stop -------------------------------------------------------------------
echo "# stop"
sock_mode=$(stat -c '%a %U:%G' "$SOCK")
check_eq "socket without an enter group: 600 root:root" "600 root:root" "$sock_mode"
t0=$(now)
run r timeout 60 "$PLANET" stop --socket "$SOCK" --timeout 10
check_eq "planet stop exits 0" 0 "$r_rc"
check_not "init is gone when stop returns ($(elapsed_since "$t0") s)" pid_alive "$INIT_PID" "$INIT_START"
box_wait 10
check_eq "supervisor exits 0 after stop" 0 "$BOX_STATUS"
check "the box halted through its init" grep -q "box halting" "$BOX_LOG"
assert_nothing_left "after planet stop"
check_eq "no spawner left after stop" "" "$(pgrep -x planet-spawner | while read -r p; do
	grep -qsF "$ROOTFS" "/proc/$p/cmdline" && echo "$p"; done)"
run r timeout 10 "$PLANET" status --socket "$SOCK"
check_eq "status when not running: exit 3, running=no" "3 running=no" "$r_rc $r"
run r timeout 10 "$PLANET" status --socket "$SOCK" --json
check_eq "status --json when not running" '{"running":false}' "$r"
run r px true
check_eq "exec when not running -> 255" 255 "$r_rc"
check_contains "exec when not running: says so" "$r_err" "(is the box running?)"
run r timeout 10 "$PLANET" stop --socket "$SOCK"
check_eq "stop when not running -> 0" 0 "$r_rc"

# ---- peer credentials ----------------------------------------------------------
echo "# peer credentials"
GROUP=users
GID=$(getent group "$GROUP" | cut -d: -f3)
if [ -z "$GID" ]; then
	fail "host group $GROUP exists (needed for the credentials checks)"
else
	box_start --enter-group "$GROUP"
	check_eq "socket with an enter group: 660 root:$GROUP" "660 root:$GROUP" "$(stat -c '%a %U:%G' "$SOCK")"
	# nobody must be able to run the binary wherever the build dir is.
	mkdir -p "$T/bin"
	cp "$PLANET" "$T/bin/planet"
	chmod 0755 "$T/bin" "$T/bin/planet"
	NPLANET=$T/bin/planet
	as_nobody() {
		timeout -s KILL 30 setpriv --reuid=65534 --regid=65534 "$@"
	}
	run r as_nobody --clear-groups "$NPLANET" exec --socket "$SOCK" true
	check_eq "nobody cannot even open the socket -> 255" 255 "$r_rc"
	check_contains "... Permission denied" "$r_err" "Permission denied"
	# Open the file system's door, so the server's own check is what decides.
	chmod o+x "$STATE"
	chmod 0666 "$SOCK"
	run r as_nobody --clear-groups "$NPLANET" exec --socket "$SOCK" true
	check_eq "nobody, not in $GROUP: refused by the server -> 255" 255 "$r_rc"
	check_contains "... the refusal names the uid" "$r_err" 65534
	refusal="permission denied: uid 65534 is neither root nor in group \"$GROUP\""
	check_eq "nobody, raw version 3 request: ERROR 255 [denied], then the close" \
		"ERROR 255 [denied] $refusal${nl}EOF" "$(rawframes_as 65534 v3-ok)"
	check_eq "nobody, raw version 2 request: ERROR 255 in version 2's layout" \
		"ERROR 255 $refusal${nl}EOF" "$(rawframes_as 65534 v2-ok)"
	check_eq "nobody, version 1 STATUS: version 1's layout" \
		"ERROR 255 $refusal${nl}EOF" "$(rawframes_as 65534 status-v1)"
	check_eq "nobody sending nothing: the refusal all the same (oldest layout)" \
		"ERROR 255 $refusal${nl}EOF" "$(rawframes_as 65534 silent)"
	# Through socat, which writes the request while the server answers: the
	# refusal must arrive every time, not be lost to a reset.
	if command -v socat >/dev/null; then
		python3 -c 'import struct, sys
p = struct.pack(">HBHHI", 3, 0, 0, 0, 1) + struct.pack(">I", 4) + b"true" + struct.pack(">III", 0, 0, 0)
sys.stdout.buffer.write(struct.pack(">IB", len(p) + 1, 1) + p)' >"$T/req.bin"
		chmod 0644 "$T/req.bin"
		got=0
		for _ in $(seq 30); do
			timeout -s KILL 20 setpriv --reuid=65534 --regid=65534 --clear-groups \
				socat -t 5 - "UNIX-CONNECT:$SOCK" <"$T/req.bin" >"$T/socat.out" 2>"$T/socat.err"
			grep -qaF "$refusal" "$T/socat.out" && got=$((got + 1))
		done
		check_eq "nobody through socat, 30 times: the refusal arrives every time" 30 "$got"
	else
		fail "socat is installed (scripts/deps.sh --test)"
	fi
	run r as_nobody --clear-groups "$NPLANET" status --socket "$SOCK"
	check_eq "nobody, not in $GROUP: status refused too" 255 "$r_rc"
	run r as_nobody --clear-groups "$NPLANET" stop --socket "$SOCK"
	check_eq "nobody, not in $GROUP: stop refused" "255 yes" "$r_rc $(sup_running && echo yes)"
	run r as_nobody --groups="$GID" "$NPLANET" exec --socket "$SOCK" id -u
	check_eq "nobody with supplementary group $GROUP: let in (root in the box)" "0 0" "$r_rc $r"
	run r timeout -s KILL 30 setpriv --reuid=65534 --regid="$GID" --clear-groups \
		"$NPLANET" exec --socket "$SOCK" echo in
	check_eq "nobody with primary group $GROUP: let in" "0 in" "$r_rc $r"
	box_stop
	check_eq "supervisor exits 0" 0 "$BOX_STATUS"
	assert_nothing_left "after the credentials box"
fi

finish
