#!/bin/bash
# t-client-lookup: the client commands find the box the way `planet start`
#   places its socket. A box whose state dir comes from an INI file is
#   reached by status, exec, enter and stop through --config, PLANET_CONFIG,
#   --state-dir and PLANET_STATE_DIR; precedence is start's (file <
#   PLANET_* < flags; an explicit socket beats a state dir); bad values get
#   one line naming them and exit 255; after a SIGKILL of the supervisor,
#   status names the leftovers and what removes them, and says nothing of
#   the kind once the next start has cleaned up.
# shellcheck disable=SC2154
# (run VAR sets VAR_rc and VAR_err through printf -v)
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
# shellcheck source=../lib/lib.sh
. "$(dirname "$0")/../lib/lib.sh"
# shellcheck source=enter-helpers.sh
. "$(dirname "$0")/enter-helpers.sh"

# The box's state dir is set in its config file only; the socket is the
# default one below it. (box_start passes the same values as flags too.)
STATE=$T/cfgstate
SOCK=$STATE/enter.sock
CONF=$T/planet.conf
printf '[box]\nstate_dir = %s\n' "$STATE" >"$CONF"
OTHER=$T/elsewhere
mkdir -p "$OTHER"

box_start
wait_for 5 grep -q "box booted" "$BOX_LOG" || fail "box booted" "$(cat "$BOX_LOG")"

P() { timeout -s KILL 30 env -u PLANET_SOCKET -u PLANET_STATE_DIR -u PLANET_CONFIG "$@"; }

echo "# each command, each way of naming the box"
run r P PLANET_STATE_DIR="$STATE" "$PLANET" status
check_eq "PLANET_STATE_DIR: status finds the box (exit 0)" 0 "$r_rc"
check_contains "PLANET_STATE_DIR: status says running=yes" "$r" "running=yes"
run r P "$PLANET" status --state-dir "$STATE"
check_eq "--state-dir: status exit 0" 0 "$r_rc"
run r P "$PLANET" status --config "$CONF" --json
check_eq "--config: status --json exit 0" 0 "$r_rc"
check_contains "--config: status --json running" "$r" '"running":true'
run r P PLANET_CONFIG="$CONF" "$PLANET" status
check_eq "PLANET_CONFIG: status exit 0" 0 "$r_rc"
run r P PLANET_CONFIG="$CONF" "$PLANET" exec -- echo via-env-config
check_eq "PLANET_CONFIG: exec runs in the box" "via-env-config" "$r"
run r P "$PLANET" exec --config "$CONF" -- echo via-config
check_eq "--config: exec runs in the box" "via-config" "$r"
run r P "$PLANET" exec --state-dir "$STATE" -- hostname
check_eq "--state-dir: exec runs in the box" "planet" "$r"
run r P PLANET_STATE_DIR="$STATE" "$PLANET" exec -- echo via-env-state
check_eq "PLANET_STATE_DIR: exec runs in the box" "via-env-state" "$r"
run r P PLANET_STATE_DIR="$STATE" "$PLANET" enter -- /bin/echo via-enter </dev/null
check_match "PLANET_STATE_DIR: enter runs in the box" "^via-enter" "$r"

echo "# precedence: defaults < file < PLANET_* < flags; an explicit socket wins"
run r P PLANET_STATE_DIR="$OTHER" "$PLANET" status --state-dir "$STATE"
check_eq "--state-dir beats PLANET_STATE_DIR" 0 "$r_rc"
run r P PLANET_CONFIG="$CONF" PLANET_STATE_DIR="$OTHER" "$PLANET" status
check_eq "PLANET_STATE_DIR beats the file's state_dir (no box there: exit 3)" 3 "$r_rc"
run r P "$PLANET" status --config "$CONF" --state-dir "$OTHER"
check_eq "--state-dir beats --config's state_dir (exit 3)" 3 "$r_rc"
run r P "$PLANET" status --state-dir "$OTHER" --socket "$SOCK"
check_eq "--socket beats --state-dir" 0 "$r_rc"
run r P PLANET_SOCKET="$SOCK" "$PLANET" status --state-dir "$OTHER"
check_eq "PLANET_SOCKET beats a state dir given as a flag (as for start)" 0 "$r_rc"
run r P PLANET_SOCKET="$OTHER/enter.sock" "$PLANET" status --state-dir "$STATE"
check_eq "PLANET_SOCKET elsewhere: no box (exit 3)" 3 "$r_rc"

echo "# bad values: one line naming the value, exit 255"
bad() { # DESC NEEDLE CMD...
	local desc=$1 needle=$2
	shift 2
	run r P "$@"
	check_eq "$desc: exit 255" 255 "$r_rc"
	check_eq "$desc: one line on stderr" 1 "$(printf '%s\n' "$r_err" | grep -c .)"
	check_contains "$desc: names the value" "$r_err" "$needle"
}
bad "relative --state-dir" '"rel/dir"' "$PLANET" status --state-dir rel/dir
bad "relative PLANET_STATE_DIR" '"rel/env"' env PLANET_STATE_DIR=rel/env "$PLANET" exec -- true
bad "missing --config" "$T/missing.conf" "$PLANET" stop --config "$T/missing.conf"
bad "missing PLANET_CONFIG" "$T/nope.conf" env PLANET_CONFIG="$T/nope.conf" "$PLANET" status
printf '[box]\nstate_dir = %s\nno_such_key = 1\n' "$STATE" >"$T/bad.conf"
bad "config with an unknown key" "no_such_key" "$PLANET" enter --config "$T/bad.conf"
check "the box still runs after the bad lookups" pid_alive "$SUP_PID"

echo "# stop through the config; then status says not running, no leftovers"
run r P "$PLANET" stop --config "$CONF"
check_eq "--config: stop exit 0" 0 "$r_rc"
box_wait 10
check_eq "the supervisor exited 0 after stop" 0 "$BOX_STATUS"
run r P "$PLANET" status --config "$CONF"
check_eq "after stop: status exit 3" 3 "$r_rc"
check_eq "after stop: status prints running=no" "running=no" "$r"
check_eq "after a clean stop: nothing said of leftovers" "" "$r_err"

echo "# a killed supervisor's leftovers"
box_start
box_stop KILL
check_eq "SIGKILL of the supervisor" 137 "$BOX_STATUS"
check "its state file is left" test -f "$STATE/state"
run r P "$PLANET" status --state-dir "$STATE"
check_eq "leftovers: status exit 3" 3 "$r_rc"
check_eq "leftovers: status prints running=no" "running=no" "$r"
check_eq "leftovers: one line on stderr" 1 "$(printf '%s\n' "$r_err" | grep -c .)"
check_contains "leftovers: the line names the state dir" "$r_err" "leftovers of a box that did not stop cleanly in $STATE"
check_contains "leftovers: ... and the gone supervisor" "$r_err" "pid $SUP_PID"
check_contains "leftovers: ... and what removes them" "$r_err" "the next planet start on that state dir removes them"
run r P "$PLANET" status --state-dir "$STATE" --json
check_eq "leftovers: status --json stdout stays JSON" '{"running":false}' "$r"
run r P "$PLANET" status --state-dir "$STATE" --socket "$OTHER/enter.sock"
check_eq "leftovers of another socket's box are not this one's" "" "$r_err"
box_start
box_stop
check_eq "the next start cleaned up and halted with 0" 0 "$BOX_STATUS"
run r P "$PLANET" status --state-dir "$STATE"
check_eq "after the next start's clean stop: nothing said of leftovers" "" "$r_err"
assert_nothing_left
finish
