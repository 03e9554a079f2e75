#!/bin/bash
# t-monitor: [enter] monitor_group, the read-only right.
#   Clients run as unprivileged numeric uids/gids (setpriv; no host user or
#   group is created): ADMIN_GID is the enter group, MON_GID the monitor
#   group. The socket stays root:ADMIN_GID 0660, and an ACL entry gives
#   MON_GID rw. A monitor (by its primary or a supplementary group) gets
#   status, stats, ps and events; exec, kill, stop, pause, update, resume
#   and unbind are refused with one line naming the request and the right
#   it needs (ERROR code denied, exit 255), each refusal audited, and the
#   box untouched; a member of neither group cannot even open the socket,
#   and, with the file's door open, is refused by the server; an enter
#   group member still runs exec.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
# shellcheck source=../lib/lib.sh
. "$(dirname "$0")/../lib/lib.sh"
# shellcheck source=enter-helpers.sh
. "$(dirname "$0")/enter-helpers.sh"
command -v setpriv >/dev/null || skip "needs setpriv"

nl=$'\n'
ADMIN_GID=46101
MON_GID=46102
OTHER_GID=46103

# The binary where every uid may run it (the build dir may not be).
mkdir -p "$T/bin"
cp "$PLANET" "$T/bin/planet"
chmod 0755 "$T/bin" "$T/bin/planet"
NPLANET=$T/bin/planet

# as UID GID [--groups LIST | --clear-groups] planet ARGS...
as() {
	local uid=$1 gid=$2 grp=$3
	shift 3
	timeout -s KILL 30 setpriv --reuid="$uid" --regid="$gid" $grp "$NPLANET" "$@"
}
mon() { as 46002 "$MON_GID" --clear-groups "$@"; }

box_start --enter-group "$ADMIN_GID" --enter-monitor-group "$MON_GID"
wait_for 5 grep -q "box booted" "$BOX_LOG" || fail "box booted" "$(cat "$BOX_LOG")"
check_eq "the socket stays root:$ADMIN_GID 0660" "660 0:$ADMIN_GID" "$(stat -c '%a %u:%g' "$SOCK")"
acl=$(python3 -c 'import os, struct, sys
v = os.getxattr(sys.argv[1], "system.posix_acl_access", follow_symlinks=False)
print(" ".join("%x:%o:%d" % (t, p, i if i != 0xffffffff else -1)
               for t, p, i in struct.iter_unpack("<HHI", v[4:])))' "$SOCK")
check_eq "its ACL: owner rw, group rw, group $MON_GID rw, mask rw, other none" \
	"1:6:-1 4:6:-1 8:6:$MON_GID 10:6:-1 20:0:-1" "$acl"

echo "# a monitor reads"
run r mon status --socket "$SOCK"
check_eq "status -> 0" 0 "$r_rc"
check_contains "... state=running" "$r" "state=running"
run r mon stats --socket "$SOCK" --json
check_eq "stats -> 0" 0 "$r_rc"
check_contains "... pids.current" "$r" '"pids":'
run r mon ps --socket "$SOCK"
check_eq "ps -> 0" 0 "$r_rc"
check_match "... init is pid 1" '(^|'$'\n'')[[:space:]]*1[[:space:]]' "$r"
run r as 46002 100 "--groups $MON_GID" status --socket "$SOCK"
check_eq "a monitor by a supplementary group: status -> 0" 0 "$r_rc"
mon events --socket "$SOCK" --since-start >"$T/ev.txt" 2>"$T/ev.err" &
EVPID=$!
check "events -> the box's past state events reach the monitor" wait_for 5 grep -q state "$T/ev.txt"
check_eq "root's exec meanwhile" ok "$(px echo ok)"
check "events -> the session's end reaches the monitor" wait_for 5 grep -q 'session' "$T/ev.txt"
kill "$EVPID" 2>/dev/null
wait "$EVPID" 2>/dev/null
check_eq "... and nothing on its stderr" "" "$(cat "$T/ev.err")"

echo "# a monitor may not act"
denied() { # NAME CMD ARGS...
	local name=$1 cmd=$2
	shift 2
	run r mon "$cmd" --socket "$SOCK" "$@"
	check_eq "$name -> 255" 255 "$r_rc"
	check_eq "... one line: \"$name\" needs the admin right" \
		"planet: permission denied: \"$name\" needs the admin right (root or group \"$ADMIN_GID\"); uid 46002 has the monitor right only (status, stats, metrics, ps, events)" \
		"$(printf '%s\n' "$r_err" | sed -n '1{s/^planet [a-z]*: /planet: /;p}')"
	check_eq "... and nothing else" 1 "$(printf '%s\n' "$r_err" | wc -l)"
}
denied exec exec -- touch /tmp/mon-was-here
check_not "... nothing ran" in_box test -e /tmp/mon-was-here
denied exec exec -d -- touch /tmp/mon-was-here
denied kill kill --all KILL
denied pause pause
check_eq "... the box is not paused" running "$("$PLANET" status --socket "$SOCK" | sed -n 's/^state=//p')"
denied resume resume
denied update update --pids-max 100
denied unbind unbind /mnt
denied cp cp /etc/hostname box:/tmp/mon-cp
check_not "... nothing copied" in_box test -e /tmp/mon-cp
denied device-add device add /dev/null
denied stop stop
check "... the box still runs" pid_alive "$INIT_PID"
check "each refusal is audited" wait_for 5 grep -qE \
	'^planet-audit: enter: denied uid=46002 pid=[0-9]+ request="stop" right=monitor$' "$BOX_LOG"
check_eq "ERROR code denied on the wire" "ERROR 255 [denied] permission denied: \"exec\" needs the admin right (root or group \"$ADMIN_GID\"); uid 46002 has the monitor right only (status, stats, metrics, ps, events)${nl}EOF" \
	"$(timeout -s KILL 30 setpriv --reuid=46002 --regid="$MON_GID" --clear-groups \
		python3 "$T/rawframes.py" "$SOCK" v3-ok 2>&1)"

echo "# neither group"
run r as 46003 "$OTHER_GID" --clear-groups status --socket "$SOCK"
check_not "a member of neither group cannot connect" test "$r_rc" = 0
check_contains "... the file refuses it" "$r_err" "Permission denied"

echo "# the enter group"
run r as 46001 "$ADMIN_GID" --clear-groups exec --socket "$SOCK" -- sh -c 'echo admin-ok'
check_eq "an enter group member still runs exec" "0 admin-ok" "$r_rc $r"
run r as 46001 100 "--groups $ADMIN_GID" exec --socket "$SOCK" -- true
check_eq "... by a supplementary group too" 0 "$r_rc"

# Open the file's door, so that the server's own check is what decides.
chmod 0666 "$SOCK"
run r as 46003 "$OTHER_GID" --clear-groups status --socket "$SOCK"
check_eq "with the file open to all, the server refuses it -> 255" 255 "$r_rc"
check_contains "... naming both groups" "$r_err" \
	"permission denied: uid 46003 is neither root nor in group \"$ADMIN_GID\" or \"$MON_GID\""

box_stop
check_eq "SIGTERM -> 0" 0 "$BOX_STATUS"
assert_nothing_left
finish
