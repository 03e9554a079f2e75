#!/bin/bash
# t-enter-attacks: root inside a busybox box attacks planet's enter path, and
# every attack must fail (docs/SECURITY.md, "The enter path"):
#   - the pre-exec window: a static in-box program catches each new session
#     process the moment its pid exists and steals its fds, exe, environ and
#     seccomp mode: nothing of the host's (binary, /dev/null, the console
#     log, the supervisor's environment), and the box's filter from the start;
#     the spawner itself runs a sealed memfd, with an empty environment, the
#     box's /dev/null and filter, named `planet-spawner BOXID`;
#   - a forged spawner reply (what a box that stole the spawner's socket can
#     send): the pidfd of a host process, of the box's init, or none: refused,
#     nothing signalled, the box still served;
#   - a frozen spawner (the box writes cgroup.freeze / freezer.state): status
#     answers at once, the exec completes or fails, stop still halts it;
#   - a node planted at /dev/pts/ptmx is never opened by the supervisor;
#   - the notify socket is 0600 under umask 000.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
. "$(dirname "$0")/../lib/lib.sh"
. "$(dirname "$0")/enter-helpers.sh"
command -v gcc >/dev/null || skip "needs gcc to build the in-box probe"
SRC=$(dirname "$0")/attacks
gcc -static -O2 -o "$ROOTFS/probe" "$SRC/probe.c" || skip "cannot build a static probe (libc6-dev?)"
python_forger="$T/forge.py"
cat >"$python_forger" <<'PY'
# forge.py SPAWNER_PID MODE [PID]: steal the spawner's socket (as a box
# process caught in the pre-exec window could) and send a reply.
import ctypes, os, socket, struct, sys
libc = ctypes.CDLL(None, use_errno=True)
sp, mode = int(sys.argv[1]), sys.argv[2]
fd = libc.syscall(438, os.pidfd_open(sp), 3, 0)   # pidfd_getfd
if fd < 0:
    sys.exit("pidfd_getfd: %s" % os.strerror(ctypes.get_errno()))
s = socket.socket(fileno=fd)
reply = struct.pack('=i', 0) + b'\0' * 508
anc = []
if mode == 'pidfd':
    anc = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, struct.pack('=i', os.pidfd_open(int(sys.argv[3]))))]
elif mode == 'pid':  # a bare pid where the err field is
    reply = struct.pack('=i', int(sys.argv[3])) + b'\0' * 508
s.sendmsg([reply], anc)
print("sent")
PY

host_null=$(stat -L -c '%d:%i' /dev/null)
host_planet=$(stat -L -c '%d:%i' "$PLANET")
export ATTACK_MARKER=host-secret-$$
box_start --stop-timeout 3s
unset ATTACK_MARKER
box_log=$(stat -L -c '%d:%i' "$BOX_LOG")

# ---- the spawner itself ---------------------------------------------------
echo "# the spawner"
sp=$(pgrep -P "$SUP_PID" -x planet-spawner)
check_eq "ps shows planet-spawner BOXID" "planet-spawner $BOX_ID" "$(ps -o args= -p "$sp")"
check_contains "its exe is a memfd, not the host's binary" "$(readlink "/proc/$sp/exe")" "memfd:planet"
check_eq "its environment is empty" 0 "$(wc -c <"/proc/$sp/environ")"
check_eq "it runs under the box's seccomp filter" 2 "$(awk '/^Seccomp:/ {print $2}' "/proc/$sp/status")"
check_eq "its bounding set is the box's" "$(awk '/^CapBnd:/ {print $2}' "/proc/$INIT_PID/status")" \
	"$(awk '/^CapBnd:/ {print $2}' "/proc/$sp/status")"
for i in 0 1 2; do
	check_not "its fd $i is not the host's /dev/null" test "$(stat -L -c '%d:%i' "/proc/$sp/fd/$i")" = "$host_null"
done
check_eq "its fd 0 is the box's /dev/null (1:3 on the box's /dev)" "1:3 $(stat -c %d "/proc/$INIT_PID/root/dev")" \
	"$(stat -L -c '%t:%T %d' "/proc/$sp/fd/0")"

# ---- the pre-exec window --------------------------------------------------
echo "# the pre-exec window"
in_box /probe race 12 >"$T/race.out" 2>&1 &
race=$!
sleep 0.5
for i in $(seq 1 200); do px true >/dev/null 2>&1; done
wait "$race"
caught=$(grep -c '^P .* /memfd:planet' "$T/race.out")
echo "# the probe caught $caught session processes before their exec, $(grep -c '^P ' "$T/race.out") in all"
check "the probe caught session processes before their exec" test "$caught" -gt 0
check_not "no caught process runs the host's planet binary" grep -q "^P [0-9]* exe $host_planet " "$T/race.out"
check_not "no stolen fd is the host's /dev/null" grep -q "^F [0-9]* [0-9]* $host_null " "$T/race.out"
check_not "no stolen fd is the supervisor's log" grep -q "^F [0-9]* [0-9]* $box_log " "$T/race.out"
check_not "no caught environment holds the supervisor's" grep -q "host-secret" "$T/race.out"
check_not "no caught process runs without the box's filter" grep -q '^S [0-9]* [01]$' "$T/race.out"

# ---- forged spawner replies -----------------------------------------------
echo "# forged spawner replies"
sleep 1000 &
victim=$!
forge() { # MODE [PID]: with the spawner stopped and a request pending
	local sp
	px true # a spawner (the last one was retired)
	sp=$(pgrep -P "$SUP_PID" -x planet-spawner)
	kill -STOP "$sp"
	pxbg true >"$T/forge.out" 2>&1 &
	local cl=$!
	sleep 0.5
	python3 "$python_forger" "$sp" "$@" >/dev/null
	wait_client "$cl" 20
	kill -CONT "$sp" 2>/dev/null
}
forge pidfd "$victim"
check_eq "a host process's pidfd: the exec fails (255)" 255 "$WC_RC"
check_contains "... refused: not the supervisor's child" "$(cat "$T/forge.out")" "not the supervisor's child"
forge pidfd "$INIT_PID"
check_eq "the box init's pidfd: the exec fails (255)" 255 "$WC_RC"
check_contains "... refused as no new session process" "$(cat "$T/forge.out")" "is not a new session process"
forge pid 1
check_eq "no pidfd: the exec fails (255)" 255 "$WC_RC"
check "the host process is untouched" kill -0 "$victim"
check "the box's init is untouched" kill -0 "$INIT_PID"
check_eq "the box still runs commands" ok "$(px echo ok)"
check "no zombie left" no_zombies
kill "$victim"; wait "$victim" 2>/dev/null

# ---- a frozen spawner, a frozen box ---------------------------------------
echo "# freezing"
leaf=/sys/fs/cgroup/unified/planet-enter/cgroup.freeze
if [ -e "/proc/$INIT_PID/root$leaf" ]; then
	in_box sh -c "echo 1 > $leaf"
	pxbg echo thawed >"$T/freeze.out" 2>&1 &
	cl=$!
	sleep 0.5
	t0=$(now)
	timeout -s KILL 5 "$PLANET" status --socket "$SOCK" >/dev/null
	check_eq "spawner leaf frozen: status still answers" 0 $?
	check "... within 1 s" awk -v e="$(elapsed_since "$t0")" 'BEGIN { exit !(e < 1) }'
	wait_client "$cl" 30
	check_eq "... the exec fails (255)" 255 "$WC_RC"
	check_contains "... saying why" "$(cat "$T/freeze.out")" "no answer within 5 s (is the box frozen?)"
	check_eq "... the next exec gets a new spawner" thawed "$(px echo thawed)"
else
	echo "# no unified hierarchy in the box: the v2 leaf case is not run here"
fi
in_box sh -c 'mkdir -p /tmp/fz && mount -t cgroup -o freezer fz /tmp/fz && echo FROZEN > /tmp/fz/freezer.state'
pxbg true >"$T/freeze.out" 2>&1 &
cl=$!
sleep 0.5
t0=$(now)
timeout -s KILL 5 "$PLANET" status --socket "$SOCK" >/dev/null
check_eq "the whole box frozen (v1 freezer): status still answers" 0 $?
check "... within 1 s" awk -v e="$(elapsed_since "$t0")" 'BEGIN { exit !(e < 1) }'
wait_client "$cl" 30
# wait_client SIGKILLs a client still there after 30 s (137): the exec must
# have ended on its own, answered or failed after the spawner's 5 s.
check "... the exec ends on its own (no hang)" test "$WC_RC" != 137
check "... within the spawner's deadline" awk -v e="$(elapsed_since "$t0")" 'BEGIN { exit !(e < 15) }'
in_box sh -c 'echo FROZEN > /tmp/fz/freezer.state' 2>/dev/null
timeout -s KILL 30 "$PLANET" stop --socket "$SOCK" >/dev/null 2>&1
box_wait 30
check "a frozen box still stops" test "$BOX_STATUS" != timeout
assert_nothing_left "after the frozen box"

# ---- /dev/pts/ptmx planted ------------------------------------------------
echo "# a planted ptmx"
box_start
in_box sh -c 'umount /dev/pts && mknod /dev/pts/ptmx c 5 2'
in_box /probe watch /dev/pts/ptmx 3 >"$T/watch.out" 2>&1 &
w=$!
wait_for 5 grep -q watching "$T/watch.out"
run r timeout -s KILL 10 "$PLANET" exec --socket "$SOCK" -t -- true
wait "$w"
check_eq "a tty session over a non-devpts /dev/pts fails" 255 "$r_rc"
check_contains "... saying why" "$r_err" "is not a devpts"
check_eq "... and the planted node was never opened" not-opened "$(tail -n1 "$T/watch.out")"
box_stop
assert_nothing_left "after the ptmx box"

# ---- the notify socket ----------------------------------------------------
echo "# the notify socket"
old_umask=$(umask)
umask 000
box_start --notify-ready init
umask "$old_umask"
check_eq "notify socket 0600 under umask 000" 600 "$(stat -c %a "$STATE/notify")"
box_stop
assert_nothing_left "after the notify box"
finish
