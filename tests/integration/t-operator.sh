#!/bin/bash
# t-operator: what an operator relies on (issue 9).
#   - one box per rootfs: a second start on a busy rootfs with its own state
#     dir exits 1 with one line naming the first box's supervisor pid and
#     state dir, creates nothing and leaves the first box's env file, hosts
#     and resolv.conf as they were; the lock ends with a SIGKILLed
#     supervisor (no child keeps it): the next start on that rootfs works;
#   - an init given as an absolute symlink inside the rootfs boots;
#   - STATUS= lines reach $NOTIFY_SOCKET: booting, running, ready (init's
#     READY=1 with --notify-ready init), stopping, stopped; the warning
#     when stop_timeout is not below the unit's TIMEOUT_STOP_SEC;
#   - planet stop: 0 when the box halted, 4 when it was killed at the
#     deadline; --timeout takes durations (2m), refuses 0 and junk (255)
#     and leaves the box running then;
#   - a session whose box goes away says so in one line; one ended by a
#     signal while the box runs says nothing;
#   - the unit file: RestartPreventExitStatus=2, TasksMax=infinity,
#     TIMEOUT_STOP_SEC equal to TimeoutStopSec.
# shellcheck disable=SC2016
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
# shellcheck source=../lib/lib.sh
. "$(dirname "$0")/../lib/lib.sh"

SRC=${TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
command -v python3 >/dev/null || skip "python3 is needed for the notify listener"
booted() { wait_for "${1:-5}" grep -q "box booted" "$BOX_LOG"; }
# A box file as the box sees it (the rootfs on disk, under the box's mounts).
box_file() { cat "/proc/$INIT_PID/root$1" 2>&1; }

# ---- the unit file ------------------------------------------------------------------
unit=$SRC/etc/planet.service.in
check "unit: RestartPreventExitStatus=2 (a bad configuration is not restarted)" \
	grep -qx 'RestartPreventExitStatus=2' "$unit"
check "unit: TasksMax=infinity (the default cap would apply to the whole box)" \
	grep -qx 'TasksMax=infinity' "$unit"
check_eq "unit: TIMEOUT_STOP_SEC is TimeoutStopSec" "$(sed -n 's/^TimeoutStopSec=//p' "$unit")" \
	"$(sed -n 's/^Environment=TIMEOUT_STOP_SEC=//p' "$unit")"

# ---- one box per rootfs ------------------------------------------------------------
echo "# a second start on a busy rootfs"
box_start --stop-timeout 10
booted
for f in container-environment hosts resolv.conf; do cp "$ROOTFS/etc/$f" "$T/first.$f" 2>/dev/null; done
inner_env=$(box_file /etc/container-environment)
host_snapshot "$T/snap.busy"
timeout -s KILL 10 "${CG_WRAP[@]}" "$PLANET" start --rootfs "$ROOTFS" --state-dir "$T/state2" \
	--socket "$T/state2/s.sock" --init "$BOX_INIT" --env OTHER=box >"$T/busy.out" 2>"$T/busy.err" </dev/null
check_eq "busy rootfs: the second start exits 1" 1 "$?"
err=$(cat "$T/busy.err")
check_eq "busy rootfs: one line on stderr" 1 "$(grep -c '' "$T/busy.err")"
check_contains "busy rootfs: the line names the rootfs" "$err" "rootfs $ROOTFS is in use"
check_contains "busy rootfs: the line names the first supervisor" "$err" "supervisor pid $SUP_PID"
check_contains "busy rootfs: the line names the first state dir" "$err" "state dir $STATE"
check "busy rootfs: no state dir made" test ! -e "$T/state2"
for f in container-environment hosts resolv.conf; do
	check "busy rootfs: the first box's /etc/$f on disk unchanged" cmp -s "$T/first.$f" "$ROOTFS/etc/$f"
done
check_eq "busy rootfs: the first box still sees its own env file" "$inner_env" \
	"$(box_file /etc/container-environment)"
check_eq "busy rootfs: no mount or cgroup made" "" "$(host_diff "$T/snap.busy")"
check "busy rootfs: the first box runs on" sup_running

echo "# the lock ends with a SIGKILLed supervisor"
k_init=$INIT_PID k_start=$INIT_START k_state=$STATE k_sock=$SOCK
kill -KILL "$SUP_PID"
wait "$SUP_PID" 2>/dev/null
wait_for 5 sh -c '! [ -d /proc/$1 ] || grep -q "^State:.*Z" /proc/$1/status' sh "$k_init"
STATE=$T/state3 SOCK=$T/state3/s.sock
if box_try_start --stop-timeout 10; then
	pass "after a SIGKILLed supervisor, a start on the same rootfs (another state dir) works"
	box_stop TERM 20
	check_eq "that box halts: exit 0" 0 "$BOX_STATUS"
else
	fail "after a SIGKILLed supervisor, a start on the same rootfs (another state dir) works" \
		"status ${BOX_STATUS:-none}" "$(cat "$BOX_LOG")"
	box_stop KILL 5
fi
# The killed box's leftovers are cleared by the next start on its state dir.
STATE=$k_state SOCK=$k_sock
box_start --stop-timeout 10
box_stop TERM 20
check_eq "the killed box's state dir starts and halts again: exit 0" 0 "$BOX_STATUS"
assert_nothing_left "after the busy-rootfs cases"

# ---- init as an absolute symlink inside the rootfs ------------------------------------
echo "# init as an absolute symlink"
ln -s "$BOX_INIT" "$ROOTFS/sbin/abs-init"
box_start --init /sbin/abs-init
check "init given as an absolute symlink in the rootfs boots" booted
box_stop TERM 20
check_eq "and halts: exit 0" 0 "$BOX_STATUS"
rm -f "$ROOTFS/sbin/abs-init"

# ---- STATUS= lines and the stop_timeout warning ----------------------------------------
echo "# STATUS= lines"
listen() {
	rm -f "$T/notify.sock" "$T/notify.sock.bound" "$T/notify.log"
	python3 "$SRC/tests/system/notify-listen.py" "$T/notify.sock" "$T/notify.log" &
	LISTENER=$!
	wait_for 5 test -e "$T/notify.sock.bound" || fail "notify listener bound"
}
unlisten() { kill "$LISTENER" 2>/dev/null; wait "$LISTENER" 2>/dev/null; }
notified() { grep -q -- "$1" "$T/notify.log" 2>/dev/null; }
listen
NOTIFY_SOCKET=$T/notify.sock TIMEOUT_STOP_SEC=60 box_start --notify-ready init --stop-timeout 2m
check "STATUS=booting sent" wait_for 5 notified 'STATUS=booting'
check "STATUS=running sent (waiting for init to be ready)" wait_for 5 notified 'STATUS=running: init pid'
check_not "no READY=1 before init says so" notified 'READY=1'
python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX,socket.SOCK_DGRAM); s.sendto(b"READY=1",sys.argv[1])' \
	"$STATE/notify"
check "init's READY=1: READY=1 and STATUS=ready sent" wait_for 5 notified 'READY=1|STATUS=ready'
check_contains "stop_timeout 2m >= TIMEOUT_STOP_SEC 60: one warning" "$(cat "$BOX_LOG")" \
	"warning: stop_timeout 120s is not below the unit's TimeoutStopSec 60s"
box_stop TERM 20
check_eq "the box halts: exit 0" 0 "$BOX_STATUS"
check "STOPPING=1 and STATUS=stopping sent" notified 'STOPPING=1|STATUS=stopping: '
check "STATUS=stopped: the box halted sent" notified 'STATUS=stopped: the box halted'
unlisten
TIMEOUT_STOP_SEC=60 box_start --stop-timeout 30
check_not_contains "stop_timeout 30 < TIMEOUT_STOP_SEC 60: no warning" "$(cat "$BOX_LOG")" "warning"
box_stop TERM 20

# ---- planet stop's statuses and --timeout -----------------------------------------------
echo "# planet stop"
box_start --stop-timeout 10
booted
"$PLANET" stop --socket "$SOCK" --timeout 0 >"$T/stop0.out" 2>"$T/stop0.err"
check_eq "stop --timeout 0 is refused: 255" 255 "$?"
check_contains "stop --timeout 0: the line says what is expected" "$(cat "$T/stop0.err")" "expected a duration from 1s to 24h"
"$PLANET" stop --socket "$SOCK" --timeout 5x >/dev/null 2>"$T/stopx.err"
check_eq "stop --timeout 5x is refused: 255" 255 "$?"
check_eq "stop --timeout 5x: one line" 1 "$(grep -c '' "$T/stopx.err")"
check "the box runs on after the refused stops" sup_running
"$PLANET" stop --socket "$SOCK" --timeout 2m >"$T/stop.out" 2>"$T/stop.err"
check_eq "stop --timeout 2m of a box that halts: 0" 0 "$?"
check_eq "stop --timeout 2m: nothing on stderr" "" "$(cat "$T/stop.err")"
box_wait 20
check_eq "the supervisor exits 0" 0 "$BOX_STATUS"

box_start --init '/bin/sh -c "trap \"\" TERM; echo box booted; while :; do sleep 1; done"' \
	--stop-signal TERM --stop-timeout 1
booted
"$PLANET" stop --socket "$SOCK" >"$T/stopk.out" 2>"$T/stopk.err"
check_eq "stop of a box killed at the deadline: 4" 4 "$?"
check_contains "stop of a box killed at the deadline: says so" "$(cat "$T/stopk.err")" \
	"killed at the deadline"
box_wait 20
check_eq "that supervisor exits 137" 137 "$BOX_STATUS"
check_contains "the deadline message names the timeout of this halt" "$(cat "$BOX_LOG")" \
	"did not halt within 1s"
assert_nothing_left "after the stop cases"

# ---- a session whose box goes away ---------------------------------------------------
echo "# session lost"
box_start --stop-timeout 10
booted
"$PLANET" exec --socket "$SOCK" -- sh -c 'kill -TERM $$' >/dev/null 2>"$T/sig.err"
check_eq "a session killed by a signal while the box runs: 143" 143 "$?"
check_eq "and nothing about the box on stderr" "" "$(cat "$T/sig.err")"
"$PLANET" exec --socket "$SOCK" -- sleep 300 >/dev/null 2>"$T/lost.err" &
client=$!
wait_for 5 in_box pidof sleep >/dev/null
"$PLANET" stop --socket "$SOCK" >/dev/null 2>&1
wait "$client"
rc=$?
check_match "the session ends with the box (SIGTERM or SIGKILL)" '^(143|137|255)$' "$rc"
check_eq "the client says so in one line" 1 "$(grep -c '' "$T/lost.err")"
check_match "the line says the box went away" \
	"^planet: (the box at $SOCK is (stopping|gone): the session ended with it|connection to $SOCK closed before the process exited)" \
	"$(cat "$T/lost.err")"
box_wait 20
assert_nothing_left "after the session-lost case"

finish
