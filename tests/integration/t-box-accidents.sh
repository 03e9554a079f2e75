#!/bin/bash
# t-box-accidents: what an ordinary box does without malice must not harm a
# neighbour, the host, or its own start (issue 8, items 8-10).
#   twins     two boxes booted from two copies of one image (one
#             /etc/machine-id, so one box id) both run, each in its own
#             cgroup; stopping one leaves the other running.
#   volumes   with --volume V/data:/data and --volume V/data/conf:/etc/app:ro,
#             the box replaces /data/conf by a symlink to a host directory
#             holding a marker and reboots: after the reboot /etc/app is
#             still the original directory (bound from the descriptor opened
#             at start), the marker is not visible; start warned about the
#             nested source; a new `planet start` refuses the planted link.
#   resolv    a rootfs whose /etc/resolv.conf is systemd-resolved's dangling
#             ../run/systemd/resolve/stub-resolv.conf boots with the
#             configured nameservers in resolv.conf, read-only, the link
#             kept, and nothing created in the rootfs on disk; a dangling
#             link to a path off the box's /run is refused, nothing created.
# shellcheck disable=SC2016,SC2317
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
# shellcheck source=../lib/lib.sh
. "$(dirname "$0")/../lib/lib.sh"

booted() { wait_for 5 grep -q "box booted" "$BOX_LOG"; }
cgs_of() { sed -n 's/^cgroup=//p' "$1"; }
# in_cg DIR PID: PID is in the cgroup tree DIR
in_cg() { find "$1" -name cgroup.procs -exec cat {} + 2>/dev/null | grep -qx "$2"; }

ROOTFS_A=$ROOTFS
echo 0123456789abcdef0123456789abcdef >"$ROOTFS_A/etc/machine-id"

# ---- twins: one machine-id, two boxes -------------------------------------------------
echo "# twins: two rootfs copies with one /etc/machine-id"
ROOTFS_B=$T/rootfs-b
cp -a "$ROOTFS_A" "$ROOTFS_B"
STATE=$T/state-a SOCK=$T/state-a/enter.sock
box_start --stop-timeout 5
booted
A_SUP=$SUP_PID A_SUPST=$SUP_START A_INIT=$INIT_PID A_INITST=$INIT_START A_ID=$BOX_ID
A_CGS=$(cgs_of "$STATE/state")
ROOTFS=$ROOTFS_B STATE=$T/state-b SOCK=$T/state-b/enter.sock
if box_try_start --stop-timeout 5; then
	pass "twins: the second box starts"
	booted || true
	B_CGS=$(cgs_of "$STATE/state")
	check_eq "twins: both boxes have the box id of the image's machine-id" "$A_ID" "$BOX_ID"
	check "twins: the first box's init still runs" pid_alive "$A_INIT" "$A_INITST"
	check "twins: the first supervisor still runs" pid_alive "$A_SUP" "$A_SUPST"
	common=$(comm -12 <(sort <<<"$A_CGS") <(sort <<<"$B_CGS"))
	check_eq "twins: no cgroup directory in common" "" "$common"
	check "twins: the first init is in the first box's cgroup" in_cg "$(head -n 1 <<<"$A_CGS")" "$A_INIT"
	check "twins: the second init is in the second box's cgroup" in_cg "$(head -n 1 <<<"$B_CGS")" "$INIT_PID"
	check_match "twins: the cgroup name carries a suffix beyond the id" "/box-01234567-[0-9a-f]{8}$" "$(head -n 1 <<<"$B_CGS")"
	box_stop TERM 20
	check_eq "twins: the second box halts with 0" 0 "$BOX_STATUS"
	check "twins: the first box's init still runs after the second stopped" pid_alive "$A_INIT" "$A_INITST"
	check_eq "twins: the first box still answers" a-ok "$(nsenter -t "$A_INIT" -a -r -w -- echo a-ok 2>&1)"
	left=() gone=()
	while IFS= read -r c; do [ -d "$c" ] && left+=("$c"); done <<<"$B_CGS"
	while IFS= read -r c; do [ -d "$c" ] || gone+=("$c"); done <<<"$A_CGS"
	check_eq "twins: the second box's cgroups are gone" "" "${left[*]}"
	check_eq "twins: the first box's cgroups are all there" "" "${gone[*]}"
else
	fail "twins: the second box starts" "status $BOX_STATUS" "$(cat "$BOX_LOG")"
	check "twins: the first box's init still runs" pid_alive "$A_INIT" "$A_INITST"
fi
ROOTFS=$ROOTFS_A STATE=$T/state-a SOCK=$T/state-a/enter.sock
SUP_PID=$A_SUP SUP_START=$A_SUPST INIT_PID=$A_INIT INIT_START=$A_INITST
box_stop TERM 20
check_eq "twins: the first box halts with 0" 0 "$BOX_STATUS"
assert_nothing_left "twins"

# ---- volumes: a source swapped for a symlink, then a reboot ---------------------------
echo "# volumes: the box swaps a nested volume's source for a symlink and reboots"
V=$T/v SECRET=$T/host-secret
mkdir -p "$V/data/conf" "$SECRET"
echo orig >"$V/data/conf/orig"
echo secret >"$SECRET/marker"
STATE=$T/state-v SOCK=$T/state-v/enter.sock
box_start --stop-timeout 5 --volume "$V/data:/data" --volume "$V/data/conf:/etc/app:ro"
booted
check_eq "volumes: /etc/app is the nested source" orig "$(in_box cat /etc/app/orig 2>&1)"
check_contains "volumes: start warns about a source below a writable one" "$(cat "$BOX_LOG")" \
	"warning: volume source $V/data/conf is below $V/data"
check_eq "volumes: one warning line" 1 "$(grep -c 'warning: volume source' "$BOX_LOG")"
in_box sh -c "mv /data/conf /data/conf.old && ln -s '$SECRET' /data/conf"
check "volumes: the box made $V/data/conf a symlink on the host" test -L "$V/data/conf"
old_init=$INIT_PID
in_box reboot >/dev/null 2>&1
new_init() {
	local p
	p=$(state_get init_pid)
	[ -n "$p" ] && [ "$p" != "$old_init" ] && pid_alive "$p"
}
if wait_for 15 new_init; then
	box_refresh
	wait_for 5 sh -c '[ "$(grep -c "box booted" "$1")" -ge 2 ]' sh "$BOX_LOG" || true
	check_not "volumes: after the reboot the host dir's marker is not visible" in_box test -e /etc/app/marker
	check_eq "volumes: after the reboot /etc/app is still the original dir" orig "$(in_box cat /etc/app/orig 2>&1)"
	check_eq "volumes: the box's view of /data is unchanged" "$SECRET" "$(in_box readlink /data/conf 2>&1)"
else
	fail "volumes: the box rebooted" "$(cat "$BOX_LOG")"
fi
box_stop TERM 20
check_eq "volumes: halts with 0" 0 "$BOX_STATUS"
assert_nothing_left "volumes"
echo "# volumes: a new start with the planted symlink"
if box_try_start --stop-timeout 5 --volume "$V/data:/data" --volume "$V/data/conf:/etc/app:ro"; then
	fail "volumes: a new start refuses the symlink below the writable source" "$(cat "$BOX_LOG")"
	box_stop TERM 20
else
	check_eq "volumes: a new start refuses the symlink below the writable source (exit 2)" 2 "$BOX_STATUS"
	check_contains "volumes: the refusal names the link" "$(cat "$BOX_LOG")" \
		"source $V/data/conf: a symbolic link below $V/data"
fi
check "volumes: the host dir is untouched" test "$(cat "$SECRET/marker")" = secret
rm -f "$V/data/conf"
mv "$V/data/conf.old" "$V/data/conf"
assert_nothing_left "volumes, refused start"

# ---- resolv: systemd-resolved's dangling stub link --------------------------------------
echo "# resolv: /etc/resolv.conf -> ../run/systemd/resolve/stub-resolv.conf"
ROOTFS_R=$T/rootfs-r
cp -a "$ROOTFS_A" "$ROOTFS_R"
rm -f "$ROOTFS_R/etc/resolv.conf"
ln -s ../run/systemd/resolve/stub-resolv.conf "$ROOTFS_R/etc/resolv.conf"
# The rootfs on disk, but for the env file planet writes there by design.
listing() { find "$1" -xdev -printf '%p %y %s %m %l\n' | grep -v '/etc/container-environment ' | sort; }
before=$(listing "$ROOTFS_R")
ROOTFS=$ROOTFS_R STATE=$T/state-r SOCK=$T/state-r/enter.sock
if box_try_start --stop-timeout 5 --dns-zones 'cluster.local/10.100.0.10'; then
	pass "resolv: a rootfs with the dangling stub-resolv.conf link boots"
	booted || true
	rc=$(in_box cat /etc/resolv.conf 2>&1)
	check_eq "resolv: resolv.conf is planet's" "# generated by planet" "$(head -n 1 <<<"$rc")"
	check_eq "resolv: the zone's nameserver comes first" "nameserver 10.100.0.10" "$(sed -n 2p <<<"$rc")"
	check_eq "resolv: /etc/resolv.conf is still the link" ../run/systemd/resolve/stub-resolv.conf \
		"$(in_box readlink /etc/resolv.conf 2>&1)"
	check_not "resolv: resolv.conf is read-only" in_box sh -c 'echo x >>/etc/resolv.conf'
	box_stop TERM 20
	check_eq "resolv: halts with 0" 0 "$BOX_STATUS"
else
	fail "resolv: a rootfs with the dangling stub-resolv.conf link boots" "status $BOX_STATUS" "$(cat "$BOX_LOG")"
fi
check_eq "resolv: nothing created or changed in the rootfs on disk" "$before" "$(listing "$ROOTFS_R")"
assert_nothing_left "resolv"

echo "# resolv: a dangling link off the box's /run is refused"
ln -sfn ../var/lib/resolvconf/missing/resolv.conf "$ROOTFS_R/etc/resolv.conf"
before=$(listing "$ROOTFS_R")
if box_try_start --stop-timeout 5; then
	fail "resolv: a dangling link off /run is refused" "$(cat "$BOX_LOG")"
	box_stop TERM 20
else
	check_contains "resolv: the refusal says why" "$(cat "$BOX_LOG")" "is not on the box's /run"
fi
check_eq "resolv: nothing created in the rootfs for the refused link" "$before" "$(listing "$ROOTFS_R")"
assert_nothing_left "resolv, refused"
finish
