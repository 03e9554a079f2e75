#!/bin/bash
# t-devices: planet device add / remove on a running busybox box, with a
# loop device of the test's own (a small file, detached at the end even on
# failure). On the host's hybrid layout (v1 devices controller) and on pure
# cgroup v2 (a private mount namespace with only cgroup2, as t-debian's v2
# box; the BPF device program attaches to any cgroup2 directory): the node
# inside has the host node's type, major and minor, mode and owner; an
# already-open session and a new one read a byte from it; status lists it;
# after remove it is gone and a node made again with mknod in the box cannot
# be opened (EPERM). Refusals, one line each and nothing changed: a bad spec,
# a glob matching nothing, a host path that is not a device, a node whose
# directory in the box is a symbolic link, remove of a device planet did not
# add.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
. "$(dirname "$0")/../lib/lib.sh"
. "$(dirname "$0")/enter-helpers.sh"
command -v losetup >/dev/null 2>&1 || skip "needs losetup"

P() { timeout -s KILL 30 "$PLANET" "$1" --socket "$SOCK" "${@:2}"; }

# The loop device goes with the test's own clean-up, however it ends.
LOOP=
eval "$(declare -f lib_cleanup | sed '1s/lib_cleanup/lib_cleanup_base/')"
lib_cleanup() {
	[ -n "$LOOP" ] && losetup -d "$LOOP" 2>/dev/null
	LOOP=
	lib_cleanup_base
}
printf 'P%.0s' $(seq 4096) >"$T/disk.img"
LOOP=$(losetup -f --show "$T/disk.img") || skip "no free loop device"
MAJ=$(stat -c %t "$LOOP") MIN=$(stat -c %T "$LOOP")
NUMS="$((16#$MAJ)):$((16#$MIN))"
echo "# $LOOP is b $NUMS"

# add_remove TAG SPEC MODE UID:GID: the whole add / remove cycle on the running box.
add_remove() {
	local tag=$1 spec=$2 want_mode=$3 want_own=$4 cl node=/proc/$INIT_PID/root$LOOP
	pxbg sh -c "echo ready; while [ ! -b $LOOP ]; do sleep 0.02; done; head -c 1 $LOOP" >"$T/sess.out" 2>&1 &
	cl=$!
	wait_for 5 grep -q ready "$T/sess.out"
	run r P device add "$spec"
	check_eq "[$tag] device add: exit 0, the node listed" "0 added=$LOOP b $NUMS rwm" "$r_rc $r"
	check_eq "[$tag] the node in the box: block, $NUMS, mode, owner" \
		"block special file $MAJ:$MIN $want_mode $want_own" "$(stat -c '%F %t:%T %a %u:%g' "$node" 2>&1)"
	wait_client "$cl" 10
	check_eq "[$tag] an already-open session reads a byte of it" "0 ready P" "$WC_RC $(tr "\n" " " <"$T/sess.out")"
	check_eq "[$tag] a new session reads a byte of it" P "$(px head -c 1 "$LOOP" 2>&1)"
	check_contains "[$tag] status lists it" "$(P status)" "=$LOOP b $NUMS rwm"
	run r P device add "$LOOP"
	check_eq "[$tag] adding it again: 255" 255 "$r_rc"
	check_contains "[$tag] ... saying so" "$r_err" "was added already"

	run r P device remove "$LOOP"
	check_eq "[$tag] device remove: exit 0" "0 removed=$LOOP" "$r_rc $r"
	check_not "[$tag] the node is gone from the box" test -e "$node"
	check_not_contains "[$tag] status no longer lists it" "$(P status)" "$LOOP"
	run r px sh -c "mknod $LOOP b $((16#$MAJ)) $((16#$MIN)) && head -c 1 $LOOP"
	check "[$tag] mknod in the box still works (the node is harmless)" test -b "$node"
	check_eq "[$tag] ... but it cannot be opened" 1 "$r_rc"
	check_contains "[$tag] ... EPERM" "$r_err" "Operation not permitted"
	px rm -f "$LOOP"
	run r P device remove "$LOOP"
	check_eq "[$tag] removing it twice: 255" 255 "$r_rc"
}

# refusal TAG DESC NEEDLE ARGS...: 255, one line naming the problem.
refusal() {
	local tag=$1 what=$2 needle=$3
	shift 3
	run r P device "$@"
	check_eq "[$tag] $what: 255, one line" "255 1" "$r_rc $(wc -l <<<"$r_err")"
	check_contains "[$tag] ... saying so" "$r_err" "$needle"
}

# ---- v1: the host's hybrid layout --------------------------------------------------
box_start_at_rest
v1dir=$(sed -n 's/^cgroup=\(.*\/devices\/.*\)/\1/p' "$STATE/state")
add_remove v1 "path=$LOOP;fileMode=0640;uid=0;gid=6" 640 0:6
if [ -n "$v1dir" ]; then
	check_not_contains "[v1] devices.list no longer allows it" "$(cat "$v1dir/devices.list")" "b $NUMS"
	check_contains "[v1] ... and still allows /dev/null" "$(cat "$v1dir/devices.list")" "c 1:3 rwm"
fi

echo "# refusals"
rules() { [ -z "$v1dir" ] || cat "$v1dir/devices.list"; P status | grep '^device'; }
before=$(rules)
refusal v1 "a bad spec" 'permissions "q"' add "path=$LOOP;permissions=q"
refusal v1 "a path outside /dev" "must be a path under /dev/" add /etc/passwd
refusal v1 "a glob matching nothing" "no character or block device matches" add '/dev/planet-nosuch*'
refusal v1 "a host path that is not a device" "/dev/shm is not a character or block device" add /dev/shm
px ln -s /tmp /dev/net
refusal v1 "a node whose directory in the box is a symbolic link" "goes through a symbolic link" add /dev/net/tun
check_not "[v1] ... nothing made where the link points" test -e "/proc/$INIT_PID/root/tmp/tun"
refusal v1 "remove of a device planet did not add" "added nothing there" remove /dev/null
check "[v1] ... the box's /dev/null is still there" test -c "/proc/$INIT_PID/root/dev/null"
refusal v1 "remove of a path through the link" "added nothing there" remove /dev/net/tun
refusal v1 "no subcommand" "expected add SPEC or remove BOXPATH" frob /dev/null
check_eq "[v1] nothing changed: rules and status" "$before" "$(rules)"
if [ -n "$v1dir" ]; then
	check_not_contains "[v1] ... tun (c 10:200) never allowed" "$(cat "$v1dir/devices.list")" "c 10:200"
fi
box_stop
check_eq "[v1] supervisor exits 0" 0 "$BOX_STATUS"
assert_nothing_left "[v1]"

# ---- pure cgroup v2: the BPF device program --------------------------------------
cat >"$T/v2-wrap.sh" <<'EOF'
umount -R /sys/fs/cgroup 2>/dev/null
mount -t cgroup2 cgroup2 /sys/fs/cgroup || { echo "v2-wrap: cannot mount cgroup2" >&2; exit 99; }
exec "$@"
EOF
BOX_WRAP=("${CG_WRAP[@]}" unshare -m --propagation private sh "$T/v2-wrap.sh")
BOX_CGROUP=0 box_start_at_rest
BOX_WRAP=()
check_eq "[v2] one cgroup: pure v2" 1 "$(grep -c '^cgroup=' "$STATE/state")"
add_remove v2 "$LOOP" "$(stat -c %a "$LOOP")" 0:0
# The box's cgroup as the host sees it: the host's own cgroup2 mount.
cg2=$(awk '{ for (i = 7; $i != "-"; i++) ; if ($(i + 1) == "cgroup2") { print $5; exit } }' /proc/self/mountinfo)
v2cg=$(sed -n 's/^cgroup=//p' "$STATE/state")
check_eq "[v2] one device program on the box's cgroup after add and remove (replaced in place)" \
	1 "$(python3 "$(dirname "$0")/../system/bpf-devprogs.py" "$cg2${v2cg#/sys/fs/cgroup}" 2>&1)"
box_stop
check_eq "[v2] supervisor exits 0" 0 "$BOX_STATUS"
assert_nothing_left "[v2]"
finish
