#!/bin/bash
# t-live: changing a running busybox box: planet bind / unbind. A host
# directory bound rw is seen by a session that was already open; read-only
# (and recursive with a submount); --mkdir; status lists the binds; unbind
# detaches; refusals in one line: a target through a symbolic link (even one
# pointing inside the box), a path planet did not bind, a missing host path.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
. "$(dirname "$0")/../lib/lib.sh"
. "$(dirname "$0")/enter-helpers.sh"

P() { timeout -s KILL 30 "$PLANET" "$1" --socket "$SOCK" "${@:2}"; }
H=$T/host
mkdir -p "$H/sub"
echo hello >"$H/f"
mount -t tmpfs planet-t-sub "$H/sub"
echo inner >"$H/sub/g"

box_start_at_rest
echo "# bind"
pxbg sh -c 'while [ ! -f /mnt/live/f ]; do sleep 0.05; done; cat /mnt/live/f; echo x >/mnt/live/written' >"$T/sess.out" 2>&1 &
cl=$!
sleep 0.3
run r P bind --mkdir "$H" /mnt/live
check_eq "bind --mkdir: exit 0" "0 bound=/mnt/live" "$r_rc $r"
wait_client "$cl" 10
check_eq "an already-open session sees it, and writes through it" "0 hello" "$WC_RC $(cat "$T/sess.out")"
check_eq "... the write is on the host" x "$(cat "$H/written")"
check_not "without --rec the submount is not there" eval 'px cat /mnt/live/sub/g >/dev/null 2>&1'
run r P bind --ro --rec --mkdir "$H" /mnt/ro
check_eq "bind --ro --rec: exit 0" 0 "$r_rc"
check_eq "--rec: the submount is there" inner "$(px cat /mnt/ro/sub/g)"
check_not "--ro: writing fails" eval 'px touch /mnt/ro/x 2>/dev/null'
check_not "--ro --rec: the submount is read-only too" eval 'px touch /mnt/ro/sub/y 2>/dev/null'
check_contains "status lists the binds" "$(P status)" "bind.2=$H:/mnt/ro:ro:rec"

echo "# refusals"
px ln -s /etc /mnt/esc
run r P bind "$H" /mnt/esc/x
check_eq "a target through a symbolic link: 255" 255 "$r_rc"
check_contains "... one line saying so" "$r_err" "goes through a symbolic link"
check_not "... nothing bound under the box's /etc" test -e "/proc/$INIT_PID/root/etc/x"
run r P unbind /etc
check_eq "unbind of what planet did not bind: 255" 255 "$r_rc"
check_contains "... saying so" "$r_err" "planet bound nothing there"
check "... the box's /etc is still there" test -f "/proc/$INIT_PID/root/etc/passwd"
run r P bind /no/such/path /mnt/q
check_eq "a missing host path: 255" 255 "$r_rc"
check_contains "... naming it" "$r_err" "/no/such/path"
run r P bind relative /mnt/q
check_eq "a relative host path: 255" 255 "$r_rc"

echo "# unbind"
run r P unbind /mnt/live
check_eq "unbind: exit 0" "0 unbound=/mnt/live" "$r_rc $r"
check_not "the files are gone from the box" eval 'px test -f /mnt/live/f'
check "and still on the host" test -f "$H/f"
check_not_contains "status no longer lists it" "$(P status)" ":/mnt/live"
box_stop
check_eq "supervisor exits 0" 0 "$BOX_STATUS"
umount "$H/sub"
assert_nothing_left
finish
