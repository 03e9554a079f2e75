#!/bin/bash
# t-lifecycle: how a box ends, and what the supervisor's exit status says.
#   init exits 3 -> 3; init SIGKILLed from the host -> 137; poweroff inside
#   -> 0; reboot inside with --on-reboot exit -> 129, with restart -> a new
#   init and the box still answers; SIGHUP/SIGTERM to the supervisor -> 0;
#   --stop-signal reaches init; an init that ignores the stop signal is
#   killed after --stop-timeout -> 137; `planet status` says state=stopping
#   during a staged halt (planet stop, SIGTERM) and state=running before it;
#   SIGKILL of the supervisor takes init
#   with it and the next start on the same state dir succeeds; a second start
#   while a box runs is refused and harms nothing; 5 kill/restart cycles leave
#   nothing behind. After every scenario: assert_nothing_left.
# shellcheck disable=SC2016,SC2012,SC2013,SC2317
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
# shellcheck source=../lib/lib.sh
. "$(dirname "$0")/../lib/lib.sh"

booted() { wait_for "${1:-5}" grep -q "box booted" "$BOX_LOG"; }

# ---- init exits with a code ---------------------------------------------------
echo "# init exits 3"
box_start --init '/bin/sh -c "sleep 2; exit 3"'
box_wait 15
check_eq "init exited 3 -> supervisor exits 3" 3 "$BOX_STATUS"
assert_nothing_left "init exited 3"

# ---- init killed by a signal from the host ------------------------------------
echo "# init SIGKILLed from the host"
box_start --stop-timeout 5
booted
kill -KILL "$INIT_PID"
box_wait 15
check_eq "init killed by SIGKILL -> supervisor exits 137" 137 "$BOX_STATUS"
assert_nothing_left "init SIGKILLed"

# ---- poweroff inside ------------------------------------------------------------
echo "# poweroff inside"
box_start --stop-timeout 10
booted
in_box poweroff >/dev/null 2>&1
box_wait 15
check_eq "poweroff inside (init ends by SIGINT) -> exit 0" 0 "$BOX_STATUS"
check "poweroff ran the shutdown action" grep -q "box halting" "$BOX_LOG"
assert_nothing_left "poweroff inside"

# ---- reboot inside, --on-reboot exit ------------------------------------------------
echo "# reboot inside, --on-reboot exit"
box_start --stop-timeout 10 --on-reboot exit
booted
in_box reboot >/dev/null 2>&1
box_wait 15
check_eq "reboot inside with --on-reboot exit -> exit 129" 129 "$BOX_STATUS"
assert_nothing_left "reboot with --on-reboot exit"

# ---- reboot inside, restart (the default) -----------------------------------------------
echo "# reboot inside, --on-reboot restart"
box_start --stop-timeout 10 --hostname again
booted
old_init=$INIT_PID old_start=$INIT_START old_sup=$SUP_PID old_id=$BOX_ID
in_box reboot >/dev/null 2>&1
new_init() {
	local p
	p=$(state_get init_pid)
	[ -n "$p" ] && [ "$p" != "$old_init" ] && pid_alive "$p"
}
if wait_for 15 new_init; then
	box_refresh
	pass "reboot inside: a new init appears in the state file ($old_init -> $INIT_PID)"
	check_not "reboot inside: the old init is gone" pid_alive "$old_init" "$old_start"
	check "reboot inside: the same supervisor keeps running" pid_alive "$old_sup" "$SUP_START"
	check_eq "reboot inside: the restarted box answers (hostname)" again "$(in_box hostname 2>&1)"
	check_eq "reboot inside: the new init is PID 1" 1 "$(awk '/^NSpid:/ { print $NF }' "/proc/$INIT_PID/status")"
	if wait_for 5 sh -c '[ "$(grep -c "box booted" "$1")" -ge 2 ]' sh "$BOX_LOG"; then
		pass "reboot inside: init booted a second time (console)"
	else
		fail "reboot inside: init booted a second time (console)" "$(cat "$BOX_LOG")"
	fi
	echo "# box id before/after restart: $old_id / $BOX_ID"
else
	fail "reboot inside: a new init appears in the state file" "state: $(cat "$STATE/state" 2>&1)" \
		"supervisor alive: $(sup_running && echo yes || echo no)" "$(cat "$BOX_LOG")"
fi
box_stop TERM 20
check_eq "restarted box: SIGTERM -> exit 0" 0 "$BOX_STATUS"
assert_nothing_left "reboot with restart"

# ---- SIGHUP to the supervisor halts -------------------------------------------------------
echo "# SIGHUP to the supervisor"
box_start --stop-timeout 10
booted
box_stop HUP 20
check_eq "SIGHUP to the supervisor: staged halt, exit 0" 0 "$BOX_STATUS"
check "SIGHUP: init ran its shutdown action" grep -q "box halting" "$BOX_LOG"
assert_nothing_left "SIGHUP"

# ---- --stop-signal reaches init ---------------------------------------------------------
echo "# --stop-signal USR1"
box_start --init '/bin/sh -c "trap \"exit 7\" USR1; while :; do sleep 0.1; done"' --stop-signal USR1 --stop-timeout 10
sleep 0.3
box_stop TERM 20
check_eq "--stop-signal USR1 reaches init (its trap exits 7)" 7 "$BOX_STATUS"
if awk -v e="$BOX_ELAPSED" 'BEGIN { exit !(e < 5) }'; then
	pass "--stop-signal USR1: no wait for the stop timeout (${BOX_ELAPSED}s)"
else
	fail "--stop-signal USR1: no wait for the stop timeout" "took ${BOX_ELAPSED}s"
fi
assert_nothing_left "--stop-signal USR1"

# ---- stop timeout: init ignores the stop signal -------------------------------------------
echo "# stop timeout"
box_start --init '/bin/sh -c "trap \"\" TERM USR2 USR1 HUP INT; while :; do sleep 1; done"' --stop-signal TERM --stop-timeout 1
sleep 0.3
box_stop TERM 20
check_eq "init ignoring the stop signal is killed at the deadline -> 137" 137 "$BOX_STATUS"
if awk -v e="$BOX_ELAPSED" 'BEGIN { exit !(e >= 0.9 && e < 5) }'; then
	pass "stop timeout 1 s: killed after ${BOX_ELAPSED}s"
else
	fail "stop timeout 1 s: killed after about 1 s" "took ${BOX_ELAPSED}s"
fi
assert_nothing_left "stop timeout"

# ---- planet status during a staged halt -----------------------------------------------------
# init holds the halt until the test releases it (a file in the box's /tmp),
# so the halt lasts exactly as long as the checks need.
echo "# status during a staged halt"
release=$ROOTFS/tmp/release-halt
hold_init='/bin/sh -c "trap \"while [ ! -e /tmp/release-halt ]; do sleep 0.05; done; exit 0\" TERM; while :; do sleep 0.1; done"'
status_state() { timeout 10 "$PLANET" status --socket "$SOCK" 2>&1 | sed -n 's/^state=//p'; }
is_stopping() { [ "$(status_state)" = stopping ]; }
json_stopping() {
	timeout 10 "$PLANET" status --socket "$SOCK" --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["running"] is True and d["state"] == "stopping", d'
}
for how in "planet stop" SIGTERM; do
	rm -f "$release"
	box_start --init "$hold_init" --stop-signal TERM --stop-timeout 30
	sleep 0.3 # the trap is set
	check_eq "$how: before the halt, status says state=running" running "$(status_state)"
	spid=
	if [ "$how" = SIGTERM ]; then
		kill -TERM "$SUP_PID"
	else
		timeout -s KILL 60 "$PLANET" stop --socket "$SOCK" >"$T/stop.out" 2>&1 &
		spid=$!
	fi
	check "$how: during the halt, status says state=stopping" wait_for 5 is_stopping
	check "$how: ... and --json says \"state\": \"stopping\"" json_stopping
	sleep 0.5
	check_eq "$how: ... still, while init holds the halt" stopping "$(status_state)"
	check "$how: ... init is still there" pid_alive "$INIT_PID" "$INIT_START"
	touch "$release"
	box_wait 20
	check_eq "$how: init released: the box halts, exit 0" 0 "$BOX_STATUS"
	if [ -n "$spid" ]; then
		wait "$spid"
		check_eq "planet stop returns 0 once the box is gone" 0 "$?"
	fi
	check_eq "$how: after the halt, status says running=no" "running=no" \
		"$(timeout 10 "$PLANET" status --socket "$SOCK")"
	rm -f "$release"
	assert_nothing_left "status during a halt ($how)"
done

# ---- SIGKILL of the supervisor ---------------------------------------------------------------
echo "# SIGKILL of the supervisor"
box_start --stop-timeout 10
booted
k_init=$INIT_PID k_start=$INIT_START
mapfile -t k_cgs < <(sed -n 's/^cgroup=//p' "$STATE/state")
kill -KILL "$SUP_PID"
wait "$SUP_PID" 2>/dev/null
if wait_for 2 sh -c '! [ -d /proc/$1 ] || grep -q "^State:.*Z" /proc/$1/status' sh "$k_init" ||
	! pid_alive "$k_init" "$k_start"; then
	pass "supervisor SIGKILLed: init dies with it (within 2 s)"
else
	fail "supervisor SIGKILLed: init dies with it (within 2 s)" "init $k_init still running: $(tr '\0' ' ' <"/proc/$k_init/cmdline" 2>/dev/null)"
fi
no_box_pids() { [ -z "$(lib_box_pids)" ]; }
wait_for 2 no_box_pids
leftp=$(lib_box_pids)
check_eq "supervisor SIGKILLed: no process of the box survives (its cgroups are empty)" "" "$leftp"
stale=$(ls "$STATE" 2>/dev/null | tr '\n' ' ')
echo "# left in $STATE after the SIGKILL: ${stale:-nothing}"
box_start --stop-timeout 10
pass "a new start on the same state dir succeeds after the SIGKILL"
check_eq "the new state file names the new supervisor" "$SUP_PID" "$(state_get supervisor_pid)"
booted
check_eq "the new box answers" planet "$(in_box hostname 2>&1)"
mapfile -t n_cgs < <(sed -n 's/^cgroup=//p' "$STATE/state")
stale_cg=()
for c in "${k_cgs[@]}"; do
	reused=0
	for n in "${n_cgs[@]}"; do [ "$n" = "$c" ] && reused=1; done
	if [ $reused = 1 ]; then
		# reused: it must hold only the new box's processes
		for p in $(cat "$c/cgroup.procs" 2>/dev/null); do
			[ "$p" = "$k_init" ] && stale_cg+=("$c holds old init $p")
		done
	elif [ -e "$c" ]; then
		stale_cg+=("$c")
	fi
done
check_eq "the stale cgroup of the killed box is gone (or reused empty)" "" "${stale_cg[*]}"
box_stop TERM 20
check_eq "the box started after the SIGKILL halts cleanly: exit 0" 0 "$BOX_STATUS"
assert_nothing_left "after SIGKILL + restart"

# ---- a second start while a box runs ---------------------------------------------------------
echo "# second start on a running state dir"
box_start --stop-timeout 10
booted
cp "$STATE/state" "$T/state.before"
sock_before=$(stat -c %i "$SOCK" 2>/dev/null)
host_snapshot "$T/snap.second"
timeout -s KILL 10 "${CG_WRAP[@]}" "$PLANET" start --rootfs "$ROOTFS" --state-dir "$STATE" --socket "$SOCK" \
	>"$T/second.out" 2>"$T/second.err" </dev/null
rc=$?
if [ $rc != 0 ] && [ $rc != 137 ]; then
	pass "a second start on the same state dir is refused (exit $rc)"
else
	fail "a second start on the same state dir is refused" "exit status $rc (137 = still running after 10 s)" "$(cat "$T/second.err")"
fi
err=$(cat "$T/second.err")
if [ -n "$err" ]; then
	pass "the refusal says why: $(head -n 1 <<<"$err")"
else
	fail "the refusal says why" "nothing on stderr; stdout: $(cat "$T/second.out")"
fi
check "the running box is unharmed: init alive" pid_alive "$INIT_PID" "$INIT_START"
check "the running box is unharmed: supervisor alive" sup_running
check "the running box is unharmed: state file unchanged" cmp -s "$T/state.before" "$STATE/state"
check_eq "the running box is unharmed: socket unchanged" "$sock_before" "$(stat -c %i "$SOCK" 2>/dev/null)"
check_eq "the running box still answers" planet "$(in_box hostname 2>&1)"
d=$(host_diff "$T/snap.second")
check_eq "the refused start created no mount or cgroup" "" "$d"
box_stop TERM 20
check_eq "the first box still halts cleanly: exit 0" 0 "$BOX_STATUS"
assert_nothing_left "after the refused second start"

# ---- 5 kill/restart cycles: nothing accumulates -----------------------------------------------
echo "# 5 SIGKILL/restart cycles"
host_snapshot "$T/snap.cycles"
ok=1
for i in 1 2 3 4 5; do
	if ! box_try_start --stop-timeout 10; then
		fail "cycle $i: start after a SIGKILLed supervisor" "status ${BOX_STATUS:-none}" "$(cat "$BOX_LOG")"
		ok=0
		break
	fi
	booted 3
	c_init=$INIT_PID c_start=$INIT_START
	kill -KILL "$SUP_PID"
	wait "$SUP_PID" 2>/dev/null
	if ! wait_for 2 sh -c '! [ -d /proc/$1 ] || grep -q "^State:.*Z" /proc/$1/status' sh "$c_init" &&
		pid_alive "$c_init" "$c_start"; then
		fail "cycle $i: init dies with the supervisor" "init $c_init still running"
		ok=0
	fi
done
[ $ok = 1 ] && pass "5 cycles: every start succeeded on the stale state dir and init died with each supervisor"
box_start --stop-timeout 10
booted
box_stop TERM 20
check_eq "after 5 cycles: a last box halts cleanly, exit 0" 0 "$BOX_STATUS"
d=$(host_diff "$T/snap.cycles")
check_eq "after 5 cycles: no mount or cgroup dir accumulated" "" "$d"
leftp=$(lib_box_pids cwd)
check_eq "after 5 cycles: no process of any of the boxes left" "" "$leftp"
assert_nothing_left "after 5 cycles"

finish
